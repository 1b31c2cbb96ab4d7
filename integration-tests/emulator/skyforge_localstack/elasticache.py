"""ElastiCache replication groups as AWS behaves, on top of moto's model (docs/testing.md).

- CreateReplicationGroup checks what AWS checks (an AUTH token needs in-transit encryption and
  16-128 allowed characters; automatic failover needs two nodes; Multi-AZ needs failover; node
  types, subnet groups, security groups and parameter groups must exist and match) and makes
  one member cache cluster per node (moto makes one at most), answering `creating`.
- ModifyReplicationGroup, IncreaseReplicaCount and DecreaseReplicaCount (not in moto) change the
  model: deferred node-type and engine changes show in the members' PendingModifiedValues;
  immediate ones pass through `modifying` in latency mode; a busy group refuses them.
- Cache parameter groups (not in moto): families, values, in-use groups refused on delete.
- AddTagsToResource / RemoveTagsFromResource (not in moto) and ListTagsForResource for every
  kind; ModifyCacheSubnetGroup (not in moto); a subnet group in use cannot be deleted.
"""

import copy

from localstack.aws.api import CommonServiceException, ServiceException
from localstack.services.moto import call_moto

from . import latency, state

KIND = "replication-group"
FAMILIES = {"redis6.x", "redis7", "valkey7", "valkey8", "memcached1.6"}
NODE_FAMILIES = {"t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r7g"}
TOKEN_SPECIALS = set("!&#$^<>-")

_PARAM_GROUPS: dict = {}  # (account, region, name) -> {"family", "description", "values", "tags"}
_TAGS: dict = {}  # (account, region, arn) -> [{"Key", "Value"}] for harness-made kinds
_PENDING: dict = {}  # (account, region, rg id) -> {"CacheNodeType": ..., "EngineVersion": ...}
_SNAPSHOTS: dict = {}  # (account, region, name) -> snapshot (final snapshots of deleted groups)


def _app(context) -> str:
    return state.app_of(context.request.headers)


def _backend(context):
    from moto.elasticache.models import elasticache_backends

    return elasticache_backends[context.account_id][context.region]


def _key(context, name):
    return (context.account_id, context.region, name)


def _fail(code, message, status=400):
    raise CommonServiceException(code, message, status)


def family_of(engine, version):
    version = str(version or "7.1")
    major = version.split(".")[0]
    if engine == "valkey":
        return f"valkey{major}"
    return "redis6.x" if major == "6" else f"redis{major}"


def _busy(rid):
    for kind in (KIND, "replication-group-modify"):
        phase, _ = latency.create_phase(kind, rid)
        if phase:
            return phase
    return None


def _check_token(token, transit):
    if token is None:
        return
    if not transit:
        _fail("InvalidParameterValue", "The AUTH token is only supported when encryption-in-transit is enabled.")
    ok = 16 <= len(token) <= 128 and all(c.isalnum() or c in TOKEN_SPECIALS for c in token)
    if not ok:
        _fail(
            "InvalidParameterValue",
            "The AUTH token must be 16 to 128 printable characters; the only special characters allowed are !&#$^<>-.",
        )


def _check_node_type(node_type):
    parts = (node_type or "").split(".")
    if len(parts) != 3 or parts[0] != "cache" or parts[1] not in NODE_FAMILIES:
        _fail("InvalidParameterValue", f"Invalid Cache Node Type: {node_type}")


def _check_parameter_group(context, name, engine, version):
    if not name or name.startswith("default."):
        return
    group = _PARAM_GROUPS.get(_key(context, name))
    if group is None:
        _fail("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    want = family_of(engine, version)
    if group["family"] != want:
        _fail(
            "InvalidParameterCombination", f"Expected a parameter group of family {want} but found {group['family']}."
        )


def _domain(rg):
    return f"{rg.replication_group_id}.harness.use1.cache.amazonaws.com"


def _cluster_member(context, rg, cid, az, template):
    from moto.elasticache.models import CacheCluster

    c = CacheCluster(
        account_id=context.account_id,
        region_name=context.region,
        cache_cluster_id=cid,
        replication_group_id=rg.replication_group_id,
        az_mode="single-az",
        preferred_availability_zone=az,
        num_cache_nodes=1,
        cache_node_type=template["node_type"],
        engine=rg.engine,
        engine_version=template["engine_version"],
        cache_parameter_group_name=template["parameter_group"],
        cache_subnet_group_name=template["subnet_group"],
        transit_encryption_enabled=rg.transit_encryption_enabled,
        network_type="ipv4",
        ip_discovery="ipv4",
        snapshot_name=None,
        preferred_maintenance_window=template["maintenance_window"],
        port=rg.port,
        notification_topic_arn=None,
        auto_minor_version_upgrade=rg.auto_minor_version_upgrade,
        snapshot_retention_limit=rg.snapshot_retention_limit,
        snapshot_window=rg.snapshot_window,
        auth_token=None,
        outpost_mode=None,
        preferred_outpost_arn=None,
        preferred_availability_zones=None,
        cache_security_group_names=None,
        security_group_ids=template["security_groups"],
        tags=[],
        snapshot_arns=None,
        preferred_outpost_arns=None,
        log_delivery_configurations=[],
        cache_node_ids_to_remove=None,
        cache_node_ids_to_reboot=None,
    )
    c.auth_token_enabled = rg.auth_token_enabled
    return c


def _set_members(context, rg, shards, per_shard, template):
    """Give the group `shards` node groups of `per_shard` nodes, each node a member cache cluster
    in moto: `<id>-001`.. with cluster mode disabled, `<id>-0001-001`.. with it enabled."""
    backend = _backend(context)
    azs = ["us-east-1a", "us-east-1b", "us-east-1c"]
    enabled = rg.cluster_mode == "enabled"
    groups, ids = [], []
    for g in range(1, shards + 1):
        members = []
        for n in range(1, per_shard + 1):
            cid = f"{rg.replication_group_id}-{g:04}-{n:03}" if enabled else f"{rg.replication_group_id}-{n:03}"
            ids.append(cid)
            member = {"cache_cluster_id": cid, "cache_node_id": "0001", "preferred_availability_zone": azs[(n - 1) % 3]}
            if not enabled:
                member["read_endpoint"] = {"address": f"{cid}.{_domain(rg)}", "port": rg.port}
                member["current_role"] = "primary" if n == 1 else "replica"
            members.append(member)
        group = {"node_group_id": f"{g:04}", "status": "available", "node_group_members": members}
        if enabled:
            span = 16384 // shards
            group["slots"] = f"{(g - 1) * span}-{16383 if g == shards else g * span - 1}"
        else:
            group["primary_endpoint"] = {"address": f"master.{_domain(rg)}", "port": rg.port}
            group["reader_endpoint"] = {"address": f"replica.{_domain(rg)}", "port": rg.port}
            group["primary_endpoint_address"] = group["primary_endpoint"]["address"]
            group["reader_endpoint_address"] = group["reader_endpoint"]["address"]
            group["port"] = rg.port
        groups.append(group)
    for cid in rg.member_clusters:
        if cid not in ids:
            backend.cache_clusters.pop(cid, None)
    for i, cid in enumerate(ids):
        if cid not in backend.cache_clusters:
            backend.cache_clusters[cid] = _cluster_member(context, rg, cid, azs[i % 3], template)
    rg.member_clusters = ids
    rg.node_groups = groups
    if enabled:
        rg.configuration_endpoint = {"address": f"clustercfg.{_domain(rg)}", "port": rg.port}


def _shape(rg):
    """(shards, nodes per shard) of a group."""
    shards = max(len(rg.node_groups), 1)
    return shards, max(len(rg.member_clusters) // shards, 1)


def _template(context, rg):
    first = next(
        (c for cid in rg.member_clusters if (c := _backend(context).cache_clusters.get(cid)) is not None),
        None,
    )
    return {
        "node_type": rg.cache_node_type,
        "engine_version": first.engine_version if first else rg.engine_version,
        "parameter_group": first.cache_parameter_group_name if first else rg.cache_parameter_group_name,
        "subnet_group": first.cache_subnet_group_name if first else rg.cache_subnet_group_name,
        "maintenance_window": first.preferred_maintenance_window if first else rg.preferred_maintenance_window,
        "security_groups": list(first.security_group_ids) if first else list(rg.security_group_ids or []),
    }


def create(context, request, check_subnets_sgs):
    enabled = request.get("ClusterMode") == "enabled" or bool(request.get("NumNodeGroups"))
    shards = int(request.get("NumNodeGroups") or 1) if enabled else 1
    nodes = int(request.get("ReplicasPerNodeGroup") or 0) + 1 if enabled else int(request.get("NumCacheClusters") or 1)
    failover = bool(request.get("AutomaticFailoverEnabled"))
    if enabled and not failover:
        _fail(
            "InvalidParameterCombination", "Redis with cluster mode enabled requires automatic failover to be enabled."
        )
    _check_cluster_parameter(context, request.get("CacheParameterGroupName"), enabled)
    transit = bool(request.get("TransitEncryptionEnabled"))
    _check_token(request.get("AuthToken"), transit)
    if failover and nodes < 2 and not enabled:
        _fail("InvalidParameterValue", "Automatic failover requires at least 2 cache clusters (NumCacheClusters >= 2).")
    if request.get("MultiAZEnabled") and not failover:
        _fail("InvalidParameterCombination", "Multi-AZ requires automatic failover to be enabled.")
    _check_node_type(request.get("CacheNodeType"))
    subnet_group = request.get("CacheSubnetGroupName")
    if subnet_group and subnet_group not in _backend(context).cache_subnet_groups:
        _fail("CacheSubnetGroupNotFoundFault", f"Cache subnet group {subnet_group} not found.", 404)
    check_subnets_sgs(context, request.get("SecurityGroupIds"))
    engine = request.get("Engine") or "redis"
    _check_parameter_group(context, request.get("CacheParameterGroupName"), engine, request.get("EngineVersion"))
    resp = call_moto(context)
    rid = request.get("ReplicationGroupId")
    rg = _backend(context).replication_groups[rid]
    rg.engine_version = request.get("EngineVersion") or "7.1"
    rg.cluster_mode = "enabled" if enabled else "disabled"
    rg.cluster_enabled = enabled
    _set_members(
        context,
        rg,
        shards,
        nodes,
        {
            "node_type": rg.cache_node_type,
            "engine_version": rg.engine_version,
            "parameter_group": request.get("CacheParameterGroupName")
            or f"default.{family_of(engine, rg.engine_version)}",
            "subnet_group": subnet_group,
            "maintenance_window": (request.get("PreferredMaintenanceWindow") or "sun:05:00-sun:06:00").lower(),
            "security_groups": request.get("SecurityGroupIds") or [],
        },
    )
    latency.born(KIND, rid, _app(context))
    item = resp.get("ReplicationGroup") or {}
    item["Status"] = "creating"
    item["MemberClusters"] = list(rg.member_clusters)
    item.pop("ConfigurationEndpoint", None)
    for ng in item.get("NodeGroups", []):
        ng["Status"] = "creating"
        ng.pop("PrimaryEndpoint", None)
        ng.pop("ReaderEndpoint", None)
    return resp


def _check_cluster_parameter(context, name, enabled):
    if not name:
        return
    if name.startswith("default."):
        if enabled != name.endswith(".cluster.on"):
            _fail(
                "InvalidParameterCombination",
                f"Cluster mode {'enabled' if enabled else 'disabled'} does not match parameter group {name}.",
            )
        return
    group = _PARAM_GROUPS.get(_key(context, name))
    if group is not None and (group["values"].get("cluster-enabled") == "yes") != enabled:
        _fail(
            "InvalidParameterCombination",
            f"Cluster mode {'enabled' if enabled else 'disabled'} needs a parameter group "
            f"with cluster-enabled {'yes' if enabled else 'no'} ({name}).",
        )


def describe(context, request):
    rid = request.get("ReplicationGroupId")
    dying = latency.still_dying(KIND)
    backend = _backend(context)
    for k in [k for k, v in backend.replication_groups.items() if getattr(v, "status", "") == "deleting"]:
        if k not in dying:
            del backend.replication_groups[k]
    try:
        resp = call_moto(context)
    except ServiceException:
        if rid and rid in dying:
            return {"ReplicationGroups": [dying[rid]]}
        raise
    for item in resp.get("ReplicationGroups", []):
        gid = item.get("ReplicationGroupId")
        if gid in dying:
            item["Status"] = "deleting"
            continue
        phase = _busy(gid)
        if phase:
            item["Status"] = phase
        if phase == "creating":
            item.pop("ConfigurationEndpoint", None)
            for ng in item.get("NodeGroups", []):
                ng["Status"] = "creating"
                ng.pop("PrimaryEndpoint", None)
                ng.pop("ReaderEndpoint", None)
    return resp


def delete(context, request):
    rid = request.get("ReplicationGroupId")
    backend = _backend(context)
    rg = backend.replication_groups.get(rid)
    snap_id = request.get("FinalSnapshotIdentifier")
    if snap_id and _key(context, snap_id) in _SNAPSHOTS:
        _fail("SnapshotAlreadyExistsFault", f"Snapshot {snap_id} already exists.")
    if rg is not None and _busy(rid) not in (None,) and _busy(rid) != "creating":
        _fail("InvalidReplicationGroupState", f"Replication group {rid} is {_busy(rid)}.")
    resp = call_moto(context)
    item = resp.get("ReplicationGroup") or {}
    members = list(rg.member_clusters) if rg else []
    subnet = _template(context, rg)["subnet_group"] if rg else None
    for cid in members:
        backend.cache_clusters.pop(cid, None)
    _PENDING.pop(_key(context, rid), None)
    snap = copy.deepcopy(item)
    snap["Status"] = "deleting"
    snap["_SubnetGroup"] = subnet
    if snap_id:
        _SNAPSHOTS[_key(context, snap_id)] = {
            "SnapshotName": snap_id,
            "ReplicationGroupId": rid,
            "SnapshotStatus": "available",
            "SnapshotSource": "manual",
        }
    if not latency.dying(KIND, rid, _app(context), snap):
        backend.replication_groups.pop(rid, None)
    return resp


def decorate_clusters(context, resp):
    """Member clusters share their group's state, and show its deferred changes; every cluster
    shows its security groups and parameter group (moto stores them but does not describe them)."""
    backend = _backend(context)
    for c in resp.get("CacheClusters", []):
        model = backend.cache_clusters.get(c.get("CacheClusterId"))
        if model is not None:
            c["SecurityGroups"] = [{"SecurityGroupId": g, "Status": "active"} for g in model.security_group_ids or []]
            if model.cache_parameter_group_name:
                c["CacheParameterGroup"] = {
                    "CacheParameterGroupName": model.cache_parameter_group_name,
                    "ParameterApplyStatus": "in-sync",
                }
            if model.preferred_maintenance_window:
                c["PreferredMaintenanceWindow"] = model.preferred_maintenance_window
        gid = c.get("ReplicationGroupId")
        if not gid:
            continue
        phase = _busy(gid)
        if phase:
            c["CacheClusterStatus"] = phase
        pending = _PENDING.get(_key(context, gid))
        if pending:
            c["PendingModifiedValues"] = dict(pending)
    return resp


def _apply_engine(context, rg, request):
    new = request.get("EngineVersion")
    if not new:
        return
    old = _template(context, rg)["engine_version"]
    as_tuple = lambda v: tuple(int(p) for p in str(v).split(".") if p.isdigit())  # noqa: E731
    if as_tuple(new) < as_tuple(old):
        _fail("InvalidParameterCombination", f"Cannot downgrade the engine from {old} to {new}.")
    group = request.get("CacheParameterGroupName") or _template(context, rg)["parameter_group"]
    if new.split(".")[0] != str(old).split(".")[0]:
        _check_parameter_group(context, group, rg.engine, new)


def _check_modify(context, rg, request):
    phase = _busy(rg.replication_group_id)
    if phase:
        _fail(
            "InvalidReplicationGroupState", f"Replication group must be in available state to modify (it is {phase})."
        )
    if "AuthToken" in request:
        _check_token(request["AuthToken"], rg.transit_encryption_enabled)
        strategy = request.get("AuthTokenUpdateStrategy")
        if strategy not in ("SET", "ROTATE"):
            _fail("InvalidParameterValue", "AuthTokenUpdateStrategy must be SET or ROTATE when an AuthToken is given.")
    if "CacheNodeType" in request:
        _check_node_type(request["CacheNodeType"])
    failover = request.get("AutomaticFailoverEnabled", rg.automatic_failover == "enabled")
    if rg.cluster_mode == "enabled" and not failover:
        _fail(
            "InvalidParameterCombination", "Redis with cluster mode enabled requires automatic failover to be enabled."
        )
    if failover and len(rg.member_clusters) < 2 and rg.cluster_mode != "enabled":
        _fail("InvalidParameterCombination", "Automatic failover requires at least 1 replica.")
    multi_az = request.get("MultiAZEnabled", rg.multi_az == "enabled")
    if multi_az and not failover:
        _fail("InvalidParameterCombination", "Multi-AZ requires automatic failover to be enabled.")
    if "CacheParameterGroupName" in request and "EngineVersion" not in request:
        _check_parameter_group(
            context, request["CacheParameterGroupName"], rg.engine, _template(context, rg)["engine_version"]
        )
    _apply_engine(context, rg, request)


def _set_on_members(context, rg, attr, value):
    for cid in rg.member_clusters:
        c = _backend(context).cache_clusters.get(cid)
        if c is not None:
            setattr(c, attr, value)


def modify(context, request, check_sgs):
    rid = request.get("ReplicationGroupId")
    rg = _backend(context).replication_groups.get(rid)
    if rg is None:
        _fail("ReplicationGroupNotFoundFault", f"Replication group {rid} not found.", 404)
    check_sgs(context, request.get("SecurityGroupIds"))
    _check_modify(context, rg, request)
    now = bool(request.get("ApplyImmediately"))
    deferred = {}
    for key, attr in (("CacheNodeType", "cache_node_type"), ("EngineVersion", "engine_version")):
        if (
            key in request
            and request[key]
            != _template(context, rg)[{"CacheNodeType": "node_type", "EngineVersion": "engine_version"}[key]]
        ):
            if now:
                if key == "CacheNodeType":
                    rg.cache_node_type = request[key]
                _set_on_members(context, rg, attr, request[key])
            else:
                deferred[key] = request[key]
    if deferred:
        _PENDING.setdefault(_key(context, rid), {}).update(deferred)
    simple = {
        "AutomaticFailoverEnabled": lambda v: setattr(rg, "automatic_failover", "enabled" if v else "disabled"),
        "MultiAZEnabled": lambda v: setattr(rg, "multi_az", "enabled" if v else "disabled"),
        "SnapshotRetentionLimit": lambda v: setattr(rg, "snapshot_retention_limit", int(v)),
        "SnapshotWindow": lambda v: setattr(rg, "snapshot_window", v),
        "ReplicationGroupDescription": lambda v: setattr(rg, "description", v),
        "AutoMinorVersionUpgrade": lambda v: setattr(rg, "auto_minor_version_upgrade", v),
        "PreferredMaintenanceWindow": lambda v: _set_on_members(context, rg, "preferred_maintenance_window", v.lower()),
        "SecurityGroupIds": lambda v: _set_on_members(context, rg, "security_group_ids", list(v)),
        "CacheParameterGroupName": lambda v: _set_on_members(context, rg, "cache_parameter_group_name", v),
        "LogDeliveryConfigurations": lambda v: setattr(
            rg, "log_delivery_configurations", rg._get_log_delivery_configurations(v)
        ),
    }
    for key, put in simple.items():
        if key in request:
            put(request[key])
    if "AuthToken" in request:
        rg.auth_token_enabled = True
        _set_on_members(context, rg, "auth_token_enabled", True)
    if now and any(k in request for k in ("CacheNodeType", "EngineVersion", "AuthToken")):
        latency.born("replication-group-modify", rid, _app(context))
    status = "modifying" if _busy(rid) else "available"
    return {
        "ReplicationGroup": {
            "ReplicationGroupId": rid,
            "Status": status,
            "CacheNodeType": rg.cache_node_type,
            "MemberClusters": list(rg.member_clusters),
        }
    }


def _replicas(context, request, grow):
    rid = request.get("ReplicationGroupId")
    rg = _backend(context).replication_groups.get(rid)
    if rg is None:
        _fail("ReplicationGroupNotFoundFault", f"Replication group {rid} not found.", 404)
    phase = _busy(rid)
    if phase:
        _fail(
            "InvalidReplicationGroupState", f"Replication group must be in available state to modify (it is {phase})."
        )
    if not request.get("ApplyImmediately"):
        _fail("InvalidParameterValue", "ApplyImmediately must be true for a replica count change.")
    count = int(request.get("NewReplicaCount", -1))
    shards, per_shard = _shape(rg)
    now = per_shard - 1
    if (grow and count <= now) or (not grow and count >= now) or not 0 <= count <= 5:
        _fail(
            "InvalidParameterValue",
            f"NewReplicaCount {count} must be {'above' if grow else 'below'} the current {now} and within 0-5.",
        )
    if count < 1 and rg.automatic_failover == "enabled" and rg.cluster_mode != "enabled":
        _fail("InvalidParameterCombination", "Cannot have less than 1 replica with automatic failover enabled.")
    _set_members(context, rg, shards, count + 1, _template(context, rg))
    latency.born("replication-group-modify", rid, _app(context))
    return {
        "ReplicationGroup": {
            "ReplicationGroupId": rid,
            "Status": "modifying" if _busy(rid) else "available",
            "MemberClusters": list(rg.member_clusters),
        }
    }


def increase_replicas(context, request):
    return _replicas(context, request, True)


def decrease_replicas(context, request):
    return _replicas(context, request, False)


# ------------------------------------------------------------ parameter groups


def _group_arn(context, name):
    return f"arn:aws:elasticache:{context.region}:{context.account_id}:parametergroup:{name}"


def _group_out(context, name, g):
    return {
        "CacheParameterGroupName": name,
        "CacheParameterGroupFamily": g["family"],
        "Description": g["description"],
        "IsGlobal": False,
        "ARN": _group_arn(context, name),
    }


def create_parameter_group(context, request):
    name = request.get("CacheParameterGroupName")
    family = request.get("CacheParameterGroupFamily")
    if family not in FAMILIES:
        _fail("InvalidParameterValue", f"The parameter CacheParameterGroupFamily {family} is not a valid family.")
    if _key(context, name) in _PARAM_GROUPS:
        _fail("CacheParameterGroupAlreadyExists", f"Parameter group {name} already exists.")
    g = {"family": family, "description": request.get("Description", ""), "values": {}}
    _PARAM_GROUPS[_key(context, name)] = g
    _TAGS[_key(context, _group_arn(context, name))] = list(request.get("Tags") or [])
    return {"CacheParameterGroup": _group_out(context, name, g)}


def describe_parameter_groups(context, request):
    name = request.get("CacheParameterGroupName")
    mine = [(k[2], g) for k, g in _PARAM_GROUPS.items() if k[:2] == (context.account_id, context.region)]
    if name:
        mine = [(n, g) for n, g in mine if n == name]
        if not mine:
            _fail("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    return {"CacheParameterGroups": [_group_out(context, n, g) for n, g in sorted(mine)]}


def modify_parameter_group(context, request):
    name = request.get("CacheParameterGroupName")
    g = _PARAM_GROUPS.get(_key(context, name))
    if g is None:
        _fail("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    for p in request.get("ParameterNameValues", []):
        g["values"][p["ParameterName"]] = p["ParameterValue"]
    return {"CacheParameterGroupName": name}


def describe_parameters(context, request):
    name = request.get("CacheParameterGroupName")
    g = _PARAM_GROUPS.get(_key(context, name))
    if g is None:
        _fail("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    return {
        "Parameters": [
            {"ParameterName": k, "ParameterValue": v, "Source": "user", "IsModifiable": True}
            for k, v in sorted(g["values"].items())
        ]
    }


def delete_parameter_group(context, request):
    name = request.get("CacheParameterGroupName")
    if _key(context, name) not in _PARAM_GROUPS:
        _fail("CacheParameterGroupNotFound", f"CacheParameterGroup {name} not found.", 404)
    users = [
        c.cache_cluster_id for c in _backend(context).cache_clusters.values() if c.cache_parameter_group_name == name
    ]
    if users:
        _fail(
            "InvalidCacheParameterGroupState",
            f"One or more cache clusters are still members of this parameter group {name}, "
            "so the group cannot be deleted.",
        )
    del _PARAM_GROUPS[_key(context, name)]
    _TAGS.pop(_key(context, _group_arn(context, name)), None)
    return {}


# ------------------------------------------------------------ tags and subnet groups


def _tag_list(context, arn):
    """The live tag list of `arn` (moto's objects, or the harness's store)."""
    backend = _backend(context)
    kind, name = arn.split(":")[-2], arn.split(":")[-1]
    holders = {
        "cluster": backend.cache_clusters,
        "subnetgroup": backend.cache_subnet_groups,
        "replicationgroup": backend.replication_groups,
        "user": backend.users,
    }
    missing = {
        "cluster": "CacheClusterNotFound",
        "subnetgroup": "CacheSubnetGroupNotFoundFault",
        "replicationgroup": "ReplicationGroupNotFoundFault",
        "user": "UserNotFound",
        "parametergroup": "CacheParameterGroupNotFound",
    }
    if kind in holders:
        obj = holders[kind].get(name)
        if obj is None:
            # AWS names the missing resource's kind (ListTagsForResource errors).
            _fail(missing[kind], f"{arn} not found.", 404)
        # moto keeps tags as it parsed them ({"key", "value"}); keep one spelling.
        obj.tags = [
            {"Key": t.get("Key", t.get("key")), "Value": t.get("Value", t.get("value", ""))} for t in (obj.tags or [])
        ]
        return obj.tags
    if (context.account_id, context.region, arn) in _TAGS:
        return _TAGS[(context.account_id, context.region, arn)]
    _fail(missing.get(kind, "InvalidARN"), f"{arn} not found.", 404)


def list_tags(context, request):
    return {"TagList": list(_tag_list(context, request.get("ResourceName")))}


def add_tags(context, request):
    tags = _tag_list(context, request.get("ResourceName"))
    for t in request.get("Tags", []):
        tags[:] = [x for x in tags if x.get("Key") != t["Key"]] + [{"Key": t["Key"], "Value": t.get("Value", "")}]
    return {"TagList": list(tags)}


def remove_tags(context, request):
    tags = _tag_list(context, request.get("ResourceName"))
    drop = set(request.get("TagKeys", []))
    tags[:] = [x for x in tags if x.get("Key") not in drop]
    return {"TagList": list(tags)}


def subnet_group_users(context, name):
    users = [c.cache_cluster_id for c in _backend(context).cache_clusters.values() if c.cache_subnet_group_name == name]
    users += [rid for rid, snap in latency.still_dying(KIND).items() if snap.get("_SubnetGroup") == name]
    return users


def modify_subnet_group(context, request, check_subnets):
    name = request.get("CacheSubnetGroupName")
    g = _backend(context).cache_subnet_groups.get(name)
    if g is None:
        _fail("CacheSubnetGroupNotFoundFault", f"Cache subnet group {name} not found.", 404)
    if "SubnetIds" in request:
        check_subnets(context, request["SubnetIds"])
        from moto.ec2.models import ec2_backends

        ec2 = ec2_backends[context.account_id][context.region]
        g.subnet_ids = list(request["SubnetIds"])
        g.subnets = [
            {
                "subnet_identifier": sn.id,
                "subnet_availability_zone": sn.availability_zone,
                "supported_network_types": ["ipv4"],
            }
            for sn in ec2.describe_subnets(subnet_ids=g.subnet_ids)
        ]
    return {"CacheSubnetGroup": {"CacheSubnetGroupName": name, "ARN": g.arn}}


def describe_snapshots(context, request):
    name = request.get("SnapshotName")
    rid = request.get("ReplicationGroupId")
    out = [s for k, s in _SNAPSHOTS.items() if k[:2] == (context.account_id, context.region)]
    if name:
        out = [s for s in out if s["SnapshotName"] == name]
    if rid:
        out = [s for s in out if s["ReplicationGroupId"] == rid]
    return {"Snapshots": out}


def delete_snapshot(context, request):
    name = request.get("SnapshotName")
    snap = _SNAPSHOTS.pop(_key(context, name), None)
    if snap is None:
        _fail("SnapshotNotFoundFault", f"Snapshot {name} not found.", 404)
    return {"Snapshot": snap}


def reshard(context, request):
    """ModifyReplicationGroupShardConfiguration (not in moto): a new shard count, now."""
    rid = request.get("ReplicationGroupId")
    rg = _backend(context).replication_groups.get(rid)
    if rg is None:
        _fail("ReplicationGroupNotFoundFault", f"Replication group {rid} not found.", 404)
    if rg.cluster_mode != "enabled":
        _fail("InvalidParameterValue", "Resharding needs a replication group with cluster mode enabled.")
    phase = _busy(rid)
    if phase:
        _fail(
            "InvalidReplicationGroupState", f"Replication group must be in available state to modify (it is {phase})."
        )
    if not request.get("ApplyImmediately"):
        _fail("InvalidParameterValue", "ApplyImmediately must be true for a shard configuration change.")
    count = int(request.get("NodeGroupCount", 0))
    shards, per_shard = _shape(rg)
    if count < 1 or count > 500 or count == shards:
        _fail("InvalidParameterValue", f"NodeGroupCount {count} must differ from {shards} and be 1 to 500.")
    if count < shards and not (request.get("NodeGroupsToRemove") or request.get("NodeGroupsToRetain")):
        _fail(
            "InvalidParameterValue",
            "NodeGroupsToRemove or NodeGroupsToRetain is required when reducing the number of shards.",
        )
    _set_members(context, rg, count, per_shard, _template(context, rg))
    latency.born("replication-group-modify", rid, _app(context))
    return {"ReplicationGroup": {"ReplicationGroupId": rid, "Status": "modifying" if _busy(rid) else "available"}}
