"""The Resource Groups Tagging API's GetResources for the resource types skyforge's plans read
through it (CloudWatch alarms, log groups, SSM parameters, ECR repositories, SNS topics, KMS keys,
ElastiCache's groups), answered from the services' own stores. Moto's implementation reads
stores LocalStack and this harness no longer keep those tags in, and has no SSM parameters,
ECR repositories or ElastiCache parameter groups.

AWS's index is eventually consistent: a resource created or retagged a moment ago can be missing
or show its old tags. The harness models that: an answer comes from a snapshot of every covered
resource and its tags, one per caller (the harness's app), taken again only when the last one is
older than the app's lag: `LAG_SECONDS` (environment `SKYFORGE_TAGGING_LAG_SECONDS`, default 2)
unless the control API set another (`/_localstack/skyforge/tagging`)."""

import os

from localstack.aws.api import CommonServiceException
from localstack.services.moto import call_moto

from . import state

LAG_SECONDS = float(os.environ.get("SKYFORGE_TAGGING_LAG_SECONDS", "2"))

_SNAPSHOTS: dict = {}  # (app, account, region) -> (taken, {type: [(arn, tags)]})
_LAGS: dict = {}  # app -> seconds


def control(app, lag=None, catch_up=False):
    with state.LOCK:
        if lag is not None:
            _LAGS[app] = float(lag)
        if catch_up:
            for key in [k for k in _SNAPSHOTS if k[0] == app]:
                del _SNAPSHOTS[key]


def _alarms(account, region):
    from localstack.services.cloudwatch.models import cloudwatch_stores

    store = cloudwatch_stores[account][region]
    out = []
    for arn in list(store.alarms):
        tags = store.TAGS.list_tags_for_resource(arn)["Tags"]
        out.append((arn, {t["Key"]: t["Value"] for t in tags}))
    return out


def _log_groups(account, region):
    from localstack.services.logs.models import get_moto_logs_backend, logs_stores
    from localstack.utils.aws import arns

    store = logs_stores[account][region]
    out = []
    for name in list(get_moto_logs_backend(account, region).groups):
        arn = arns.log_group_arn(group_name=name, account_id=account, region_name=region)
        out.append((arn, dict(store.TAGS.get(arn, {}))))
    return out


def _parameters(account, region):
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[account][region]
    tags = backend._resource_tags.get("Parameter", {})
    out = []
    for name in list(backend._parameters):
        path = name if name.startswith("/") else f"/{name}"
        out.append((f"arn:aws:ssm:{region}:{account}:parameter{path}", dict(tags.get(name, {}))))
    return out


def _pairs(tags):
    return {t["Key"]: t.get("Value", "") for t in tags or []}


def _repositories(account, region):
    from moto.ecr.models import ecr_backends

    backend = ecr_backends[account][region]
    out = []
    for repo in list(backend.repositories.values()):
        out.append((repo.arn, dict(backend.tagger.get_tag_dict_for_resource(repo.arn))))
    return out


def _topics(account, region):
    from localstack.services.sns.models import sns_stores
    from moto.sns import sns_backends

    tags = sns_stores[account][region].sns_tags
    return [(arn, _pairs(tags.get(arn))) for arn in list(sns_backends[account][region].topics)]


def _keys(account, region):
    from localstack.services.kms.models import kms_stores

    keys = kms_stores[account][region].keys
    return [(key.metadata["Arn"], dict(key.tags)) for key in list(keys.values())]


def _elasticache(account, region):
    """Replication groups, clusters and subnet groups (moto's objects, whose tags the harness's
    tag calls keep spelled `Key`/`Value` or moto's `key`/`value`), and parameter groups (the
    harness's own)."""
    from moto.elasticache.models import elasticache_backends

    from . import elasticache

    backend = elasticache_backends[account][region]
    out = []
    holders = {
        "replicationgroup": backend.replication_groups,
        "cluster": backend.cache_clusters,
        "subnetgroup": backend.cache_subnet_groups,
    }
    for kind, holder in holders.items():
        for name, obj in list(holder.items()):
            tags = {t.get("Key", t.get("key")): t.get("Value", t.get("value", "")) for t in obj.tags or []}
            out.append((f"arn:aws:elasticache:{region}:{account}:{kind}:{name}", tags))
    for (acct, reg, arn), tags in list(elasticache._TAGS.items()):
        if (acct, reg) == (account, region):
            out.append((arn, _pairs(tags)))
    return out


_READERS = {
    "cloudwatch:alarm": _alarms,
    "logs:log-group": _log_groups,
    "ssm:parameter": _parameters,
    "ecr:repository": _repositories,
    "sns": _topics,
    "kms:key": _keys,
    "elasticache": _elasticache,
}


def _snapshot(app, account, region):
    """Every covered resource with its tags, as of at most the app's lag ago."""
    key = (app, account, region)
    with state.LOCK:
        taken = _SNAPSHOTS.get(key)
        lag = _LAGS.get(app, LAG_SECONDS)
    if taken and state.now() - taken[0] < lag:
        return taken[1]
    found = {t: read(account, region) for t, read in _READERS.items()}
    with state.LOCK:
        _SNAPSHOTS[key] = (state.now(), found)
    return found


def _matches(tags, filters):
    for f in filters:
        if f.get("Key") not in tags:
            return False
        if f.get("Values") and tags[f["Key"]] not in f["Values"]:
            return False
    return True


def _invalid(message):
    return CommonServiceException("InvalidParameterException", message, 400)


def get_resources(context, request):
    types = request.get("ResourceTypeFilters") or []
    if not types or any(t not in _READERS for t in types):
        return call_moto(context)
    if request.get("ResourceARNList"):
        raise _invalid("ResourceARNList cannot be used with ResourceTypeFilters or TagFilters")
    per_page = request.get("ResourcesPerPage") or 100
    if not 1 <= per_page <= 100:
        raise _invalid(f"ResourcesPerPage {per_page} must be between 1 and 100")
    filters = request.get("TagFilters") or []
    if len(filters) > 50:
        raise _invalid("at most 50 TagFilters")
    snapshot = _snapshot(state.app_of(context.request.headers), context.account_id, context.region)
    found = sorted((arn, tags) for t in types for arn, tags in snapshot[t] if tags and _matches(tags, filters))
    token = request.get("PaginationToken") or "0"
    if not token.isdigit():
        raise _invalid(f"PaginationToken {token} is not one this API gave")
    start = int(token)
    page = found[start : start + per_page]
    following = start + per_page if start + per_page < len(found) else None
    return {
        "ResourceTagMappingList": [
            {"ResourceARN": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}
            for arn, tags in page
        ],
        "PaginationToken": str(following) if following is not None else "",
    }
