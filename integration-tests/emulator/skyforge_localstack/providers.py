"""Service providers: moto-backed ECS, ECR, RDS, ElastiCache, ELBv2, Application Auto Scaling,
Cloud Map and DynamoDB, plus an EC2 provider that wraps LocalStack's own. All share LocalStack's
in-process moto backends, so they validate against the same EC2 state."""

import copy
import threading

from localstack.aws.api import CommonServiceException, ServiceException
from localstack.aws.skeleton import Skeleton
from localstack.aws.spec import load_service
from localstack.services.moto import MotoFallbackDispatcher, call_moto
from localstack.services.plugins import Service, aws_provider

from . import ecs as ecs_model
from . import elasticache as ec_model
from . import elbv2 as elb_model
from . import latency, state, tagging
from . import rds as rds_model


def _app(context) -> str:
    return state.app_of(context.request.headers)


def _moto(context, request):
    return call_moto(context)


def _service(api: str, wrappers: dict | None = None) -> Service:
    model = load_service(api)
    table = {op: _moto for op in model.operation_names}
    table.update(wrappers or {})
    return Service(name=api, skeleton=Skeleton(model, table))


def _ec2_backend(context):
    from moto.ec2.models import ec2_backends

    return ec2_backends[context.account_id][context.region]


def _check_subnets(context, subnet_ids, code, status=400):
    backend = _ec2_backend(context)
    for sid in subnet_ids or []:
        try:
            backend.get_subnet(sid)
        except Exception as e:
            raise CommonServiceException(code, f"The subnet ID '{sid}' is not valid", status) from e


def _check_security_groups(context, group_ids, code, status=400):
    backend = _ec2_backend(context)
    for gid in group_ids or []:
        if backend.get_security_group_from_id(gid) is None:
            raise CommonServiceException(code, f"The security group '{gid}' does not exist", status)


# ---------------------------------------------------------------- RDS


def _rds_create_subnet_group(context, request):
    _check_subnets(context, request.get("SubnetIds"), "InvalidSubnet")
    return call_moto(context)


@aws_provider(api="rds", name="default")
def rds():
    return _service(
        "rds",
        {
            "CreateDBSubnetGroup": _rds_create_subnet_group,
            "DeleteDBSubnetGroup": rds_model.delete_subnet_group,
            "CreateDBInstance": lambda c, r: rds_model.create(c, r, _check_security_groups),
            "ModifyDBInstance": lambda c, r: rds_model.modify(c, r, _check_security_groups),
            "DescribeDBInstances": rds_model.describe,
            "DeleteDBInstance": rds_model.delete,
            "RebootDBInstance": rds_model.reboot,
            "CreateDBParameterGroup": rds_model.create_parameter_group,
            "ModifyDBParameterGroup": rds_model.modify_parameter_group,
            "DeleteDBParameterGroup": rds_model.delete_parameter_group,
        },
    )


# ---------------------------------------------------------------- ElastiCache


def _ec_backend(context):
    from moto.elasticache.models import elasticache_backends

    return elasticache_backends[context.account_id][context.region]


def _ec_create_subnet_group(context, request):
    _check_subnets(context, request.get("SubnetIds"), "InvalidSubnet")
    return call_moto(context)


def _ec_check_subnets(context, subnet_ids):
    _check_subnets(context, subnet_ids, "InvalidSubnet")


def _ec_check_sgs(context, group_ids):
    _check_security_groups(context, group_ids, "InvalidParameterValue")


def _ec_delete_subnet_group(context, request):
    name = request.get("CacheSubnetGroupName")
    backend = _ec_backend(context)
    if name not in backend.cache_subnet_groups:
        raise CommonServiceException("CacheSubnetGroupNotFoundFault", f"Cache subnet group {name} not found.", 404)
    users = ec_model.subnet_group_users(context, name)
    if users:
        raise CommonServiceException(
            "CacheSubnetGroupInUse",
            f"Cache subnet group {name} is currently in use by a cache cluster ({users[0]}).",
            400,
        )
    del backend.cache_subnet_groups[name]
    return {}


def _ec_lifecycle(kind, id_key, list_key, item_key, status_key, store):
    def create(context, request):
        resp = call_moto(context)
        item = resp.get(item_key) or {}
        rid = item.get(id_key) or request.get(id_key)
        latency.born(kind, rid, _app(context))
        phase, _ = latency.create_phase(kind, rid)
        if phase:
            item[status_key] = phase
        return resp

    def describe(context, request):
        rid = request.get(id_key)
        dying = latency.still_dying(kind)
        backend_items = getattr(_ec_backend(context), store)
        # Resources moto leaves in `deleting` forever are removed once their window is over.
        for k in [k for k, v in backend_items.items() if getattr(v, "status", "") == "deleting"]:
            if k not in dying:
                del backend_items[k]
        try:
            resp = call_moto(context)
        except ServiceException:
            if rid and rid in dying:
                return {list_key: [dying[rid]]}
            raise
        for item in resp.get(list_key, []):
            phase, _ = latency.create_phase(kind, item.get(id_key))
            if phase:
                item[status_key] = phase
            if item.get(id_key) in dying:
                item[status_key] = "deleting"
        return resp

    def delete(context, request):
        resp = call_moto(context)
        item = resp.get(item_key) or {}
        rid = item.get(id_key) or request.get(id_key)
        snap = copy.deepcopy(item)
        snap[status_key] = "deleting"
        if not latency.dying(kind, rid, _app(context), snap):
            getattr(_ec_backend(context), store).pop(rid, None)
        return resp

    return create, describe, delete


@aws_provider(api="elasticache", name="default")
def elasticache():
    cc = _ec_lifecycle(
        "cache-cluster", "CacheClusterId", "CacheClusters", "CacheCluster", "CacheClusterStatus", "cache_clusters"
    )
    return _service(
        "elasticache",
        {
            "CreateCacheSubnetGroup": _ec_create_subnet_group,
            "DeleteCacheSubnetGroup": _ec_delete_subnet_group,
            "ModifyCacheSubnetGroup": lambda c, r: ec_model.modify_subnet_group(c, r, _ec_check_subnets),
            "CreateCacheCluster": cc[0],
            "DescribeCacheClusters": lambda c, r: ec_model.decorate_clusters(c, cc[1](c, r)),
            "DeleteCacheCluster": cc[2],
            "CreateReplicationGroup": lambda c, r: ec_model.create(c, r, _ec_check_sgs),
            "DescribeReplicationGroups": ec_model.describe,
            "ModifyReplicationGroup": lambda c, r: ec_model.modify(c, r, _ec_check_sgs),
            "IncreaseReplicaCount": ec_model.increase_replicas,
            "DecreaseReplicaCount": ec_model.decrease_replicas,
            "ModifyReplicationGroupShardConfiguration": ec_model.reshard,
            "DeleteReplicationGroup": ec_model.delete,
            "CreateCacheParameterGroup": ec_model.create_parameter_group,
            "DescribeCacheParameterGroups": ec_model.describe_parameter_groups,
            "ModifyCacheParameterGroup": ec_model.modify_parameter_group,
            "DescribeCacheParameters": ec_model.describe_parameters,
            "DeleteCacheParameterGroup": ec_model.delete_parameter_group,
            "ListTagsForResource": ec_model.list_tags,
            "AddTagsToResource": ec_model.add_tags,
            "RemoveTagsFromResource": ec_model.remove_tags,
            "DescribeSnapshots": ec_model.describe_snapshots,
            "DeleteSnapshot": ec_model.delete_snapshot,
        },
    )


# ---------------------------------------------------------------- ELBv2


def _elb_create(context, request):
    subnets = list(request.get("Subnets") or [])
    subnets += [m.get("SubnetId") for m in request.get("SubnetMappings") or [] if m.get("SubnetId")]
    _check_subnets(context, subnets, "SubnetNotFound")
    _check_security_groups(context, request.get("SecurityGroups"), "InvalidSecurityGroup")
    resp = call_moto(context)
    for lb in resp.get("LoadBalancers", []):
        latency.born("alb", lb.get("LoadBalancerArn"), _app(context))
        phase, _ = latency.create_phase("alb", lb.get("LoadBalancerArn"))
        if phase:
            lb["State"] = {"Code": phase}
    return resp


def _elb_describe(context, request):
    resp = call_moto(context)
    for lb in resp.get("LoadBalancers", []):
        phase, _ = latency.create_phase("alb", lb.get("LoadBalancerArn"))
        if phase:
            lb["State"] = {"Code": phase}
    return resp


@aws_provider(api="elbv2", name="default")
def elbv2():
    return _service(
        "elbv2",
        {
            "CreateLoadBalancer": _elb_create,
            "DescribeLoadBalancers": _elb_describe,
            "DescribeLoadBalancerAttributes": elb_model.describe_attributes,
            "ModifyLoadBalancerAttributes": elb_model.modify_attributes,
            "DeleteLoadBalancer": elb_model.delete_load_balancer,
            "CreateListener": elb_model.create_listener,
            "CreateRule": elb_model.create_rule,
            "SetRulePriorities": elb_model.set_rule_priorities,
        },
    )


# ---------------------------------------------------------------- ECS


@aws_provider(api="ecs", name="default")
def ecs():
    return _service("ecs", ecs_model.WRAPPERS)


@aws_provider(api="ecr", name="default")
def ecr():
    return _service("ecr")


_AAS_TAGS: dict = {}  # scalable target ARN -> tags (moto keeps none)
_AAS_ARNS: dict = {}  # (namespace, resource id, dimension) -> ARN


def _aas_key(request):
    return (request.get("ServiceNamespace"), request.get("ResourceId"), request.get("ScalableDimension"))


def _aas_register(context, request):
    resp = call_moto(context)
    arn = resp.get("ScalableTargetARN")
    if arn:
        with state.LOCK:
            _AAS_ARNS[_aas_key(request)] = arn
            _AAS_TAGS.setdefault(arn, {}).update(request.get("Tags") or {})
    return resp


def _aas_deregister(context, request):
    resp = call_moto(context)
    with state.LOCK:
        arn = _AAS_ARNS.pop(_aas_key(request), None)
        _AAS_TAGS.pop(arn, None)
    return resp


def _aas_known(arn):
    if arn not in _AAS_TAGS:
        raise CommonServiceException("ResourceNotFoundException", f"No scalable target {arn}", 400)


def _aas_list_tags(context, request):
    with state.LOCK:
        _aas_known(request.get("ResourceARN"))
        return {"Tags": dict(_AAS_TAGS[request.get("ResourceARN")])}


def _aas_tag(context, request):
    with state.LOCK:
        _aas_known(request.get("ResourceARN"))
        _AAS_TAGS[request.get("ResourceARN")].update(request.get("Tags") or {})
    return {}


def _aas_untag(context, request):
    with state.LOCK:
        _aas_known(request.get("ResourceARN"))
        for k in request.get("TagKeys") or []:
            _AAS_TAGS[request.get("ResourceARN")].pop(k, None)
    return {}


_AAS_ALARMS: dict = {}  # (namespace, resource id, dimension, policy) -> alarm names
_ECS_METRICS = {
    "ECSServiceAverageCPUUtilization": ("AWS/ECS", "CPUUtilization"),
    "ECSServiceAverageMemoryUtilization": ("AWS/ECS", "MemoryUtilization"),
    "ALBRequestCountPerTarget": ("AWS/ApplicationELB", "RequestCountPerTarget"),
}


def _cloudwatch(context):
    from localstack.aws.connect import connect_to

    return connect_to(region_name=context.region).cloudwatch


def _tt_alarms(context, names, request):
    """The two alarms target tracking makes (AWS creates them in CloudWatch; moto only in its
    own CloudWatch backend, which LocalStack's CloudWatch does not read)."""
    cfg = request.get("TargetTrackingScalingPolicyConfiguration") or {}
    metric = (cfg.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
    namespace, name = _ECS_METRICS.get(metric, ("AWS/ECS", "CPUUtilization"))
    parts = (request.get("ResourceId") or "").split("/")
    dims = (
        [{"Name": "ClusterName", "Value": parts[1]}, {"Name": "ServiceName", "Value": parts[-1]}]
        if len(parts) == 3
        else []
    )
    target = float(cfg.get("TargetValue") or 0)
    cw = _cloudwatch(context)
    for n in names:
        high = "AlarmHigh" in n
        cw.put_metric_alarm(
            AlarmName=n,
            Namespace=namespace,
            MetricName=name,
            Dimensions=dims,
            Statistic="Average",
            Period=60,
            EvaluationPeriods=3 if high else 15,
            Threshold=target if high else target * 0.9,
            ComparisonOperator="GreaterThanThreshold" if high else "LessThanThreshold",
        )


def _aas_put_policy(context, request):
    key = _aas_key(request)
    policy = request.get("PolicyName")
    with state.LOCK:
        if key not in _AAS_ARNS:
            raise CommonServiceException(
                "ObjectNotFoundException",
                f"No scalable target registered for service namespace: {key[0]}, "
                f"resource ID: {key[1]}, scalable dimension: {key[2]}",
                400,
            )
    cfg = request.get("TargetTrackingScalingPolicyConfiguration") or {}
    spec = cfg.get("PredefinedMetricSpecification") or {}
    metric = spec.get("PredefinedMetricType")
    if key[0] == "ecs" and metric and metric not in _ECS_METRICS:
        raise CommonServiceException(
            "ValidationException", f"Unsupported metric type {metric} for service namespace ecs", 400
        )
    if metric == "ALBRequestCountPerTarget" and not spec.get("ResourceLabel"):
        raise CommonServiceException(
            "ValidationException", "ResourceLabel is required for ALBRequestCountPerTarget", 400
        )
    resp = call_moto(context)
    names = [a.get("AlarmName") for a in resp.get("Alarms", []) if a.get("AlarmName")]
    with state.LOCK:
        old = _AAS_ALARMS.pop(key + (policy,), [])
        _AAS_ALARMS[key + (policy,)] = names
    if old:
        _cloudwatch(context).delete_alarms(AlarmNames=old)
    if names:
        _tt_alarms(context, names, request)
    return resp


def _aas_delete_policy(context, request):
    resp = call_moto(context)
    with state.LOCK:
        names = _AAS_ALARMS.pop(_aas_key(request) + (request.get("PolicyName"),), [])
    if names:
        _cloudwatch(context).delete_alarms(AlarmNames=names)
    return resp


def _aas_deregister_with_policies(context, request):
    """AWS deletes a target's policies (and their alarms) with it; moto kept them."""
    from moto.applicationautoscaling.models import applicationautoscaling_backends

    key = _aas_key(request)
    backend = applicationautoscaling_backends[context.account_id][context.region]
    for pkey, p in list(backend.policies.items()):
        if (p.service_namespace, p.resource_id, p.scalable_dimension) == key:
            del backend.policies[pkey]
    with state.LOCK:
        names = [n for k, v in list(_AAS_ALARMS.items()) if k[:3] == key for n in _AAS_ALARMS.pop(k)]
    if names:
        _cloudwatch(context).delete_alarms(AlarmNames=names)
    return _aas_deregister(context, request)


@aws_provider(api="application-autoscaling", name="default")
def application_autoscaling():
    return _service(
        "application-autoscaling",
        {
            "RegisterScalableTarget": _aas_register,
            "DeregisterScalableTarget": _aas_deregister_with_policies,
            "PutScalingPolicy": _aas_put_policy,
            "DeleteScalingPolicy": _aas_delete_policy,
            "ListTagsForResource": _aas_list_tags,
            "TagResource": _aas_tag,
            "UntagResource": _aas_untag,
        },
    )


def _sd_list_services(context, request):
    """Moto ignores ListServices filters; AWS honours NAMESPACE_ID."""
    from moto.servicediscovery.models import servicediscovery_backends

    resp = call_moto(context)
    wanted = None
    for f in request.get("Filters") or []:
        if f.get("Name") == "NAMESPACE_ID":
            wanted = set(f.get("Values") or [])
    if wanted is None:
        return resp
    backend = servicediscovery_backends[context.account_id][context.region]
    keep = []
    for s in resp.get("Services", []):
        model = backend.services.get(s.get("Id"))
        if model is not None and getattr(model, "namespace_id", None) in wanted:
            keep.append(s)
    resp["Services"] = keep
    return resp


def _sd_create_namespace(context, request):
    """A namespace's operation passes through SUBMITTED and PENDING (a Route 53 private zone is
    made and associated with the VPC); moto answers SUCCESS at once."""
    resp = call_moto(context)
    op = resp.get("OperationId")
    if op:
        latency.born("sd-namespace", op, _app(context))
    return resp


def _sd_get_operation(context, request):
    resp = call_moto(context)
    operation = resp.get("Operation") or {}
    phase, _ = latency.create_phase("sd-namespace", request.get("OperationId"))
    if phase:
        operation["Status"] = phase
    return resp


@aws_provider(api="servicediscovery", name="default")
def servicediscovery():
    return _service(
        "servicediscovery",
        {
            "ListServices": _sd_list_services,
            "CreatePrivateDnsNamespace": _sd_create_namespace,
            "GetOperation": _sd_get_operation,
        },
    )


_DDB_WRITES = threading.Lock()


def _ddb_atomic(context, request):
    # AWS applies a conditional write atomically; moto checks then writes, so two concurrent
    # conditional puts could both pass. One write at a time restores the guarantee.
    with _DDB_WRITES:
        return call_moto(context)


@aws_provider(api="resourcegroupstaggingapi", name="skyforge")
def resourcegroupstaggingapi():
    return _service("resourcegroupstaggingapi", {"GetResources": tagging.get_resources})


@aws_provider(api="dynamodb", name="skyforge")
def dynamodb():
    """Moto-backed DynamoDB: the stock provider downloads DynamoDB Local and a JRE."""
    writes = ("PutItem", "DeleteItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem")
    return _service("dynamodb", {op: _ddb_atomic for op in writes})


@aws_provider(api="s3", name="skyforge")
def s3():
    """LocalStack's S3 with conditional writes made atomic: its `If-None-Match` check runs under
    a lock that is released before the object becomes visible, so two concurrent creates of the
    same key could both succeed; AWS lets exactly one through."""
    from localstack.aws.api import handler
    from localstack.services.s3.provider import S3Provider

    conditional = threading.Lock()

    class AtomicConditionalS3(S3Provider):
        @handler("PutObject", expand=False)
        def put_object(self, context, request):
            if request.get("IfNoneMatch") or request.get("IfMatch"):
                with conditional:
                    return super().put_object(context, request)
            return super().put_object(context, request)

    return Service.for_provider(AtomicConditionalS3())


# ---------------------------------------------------------------- EC2 (LocalStack's provider, wrapped)


def _tag_filters(request):
    out = []
    for f in request.get("Filter") or request.get("Filters") or []:
        name, values = f.get("Name", ""), f.get("Values") or []
        if name.startswith("tag:") or name in ("tag-key", "tag-value"):
            out.append((name, set(values)))
    return out


def _matches(tags, filters):
    tags = {t.get("Key"): t.get("Value") for t in tags or []}
    for name, values in filters:
        if name == "tag-key" and not values & set(tags):
            return False
        if name == "tag-value" and not values & set(tags.values()):
            return False
        if name.startswith("tag:") and tags.get(name[4:]) not in values:
            return False
    return True


def _groups_referencing(backend, gid):
    """The other security groups with an ingress or egress rule that references group `gid`."""
    found = set()
    for groups in backend.groups.values():
        for group in groups.values():
            if group.id == gid:
                continue
            for rule in list(group.ingress_rules) + list(group.egress_rules):
                if (rule.source_group or {}).get("GroupId") == gid:
                    found.add(group.id)
    return found


@aws_provider(api="ec2", name="skyforge")
def ec2():
    from localstack.services.ec2.provider import Ec2Provider

    table = MotoFallbackDispatcher(Ec2Provider())
    inner_describe = table["DescribeNatGateways"]
    inner_create = table["CreateNatGateway"]
    inner_delete = table["DeleteNatGateway"]

    def describe_nat(context, request):
        resp = inner_describe(context, request)
        filters = _tag_filters(request)
        gws = [g for g in resp.get("NatGateways", []) if _matches(g.get("Tags"), filters)]
        dying = latency.still_dying("nat")
        for g in gws:
            # Moto leaves ConnectivityType unset (rendered "None"); AWS defaults to public.
            if g.get("ConnectivityType") in (None, "None"):
                g["ConnectivityType"] = "public"
            gid = g.get("NatGatewayId")
            phase, _ = latency.create_phase("nat", gid)
            if phase:
                g["State"] = phase
            if gid in dying:
                g["State"] = "deleting"
        resp["NatGateways"] = gws
        return resp

    def create_nat(context, request):
        resp = inner_create(context, request)
        gw = resp.get("NatGateway") or {}
        # AWS: the gateway's interface is managed by the service.
        model = _ec2_backend(context).nat_gateways.get(gw.get("NatGatewayId"))
        eni = getattr(model, "_eni", None)
        if eni is not None:
            eni.requester_managed = True
            eni.interface_type = "nat_gateway"
            eni.description = f"Interface for NAT Gateway {gw.get('NatGatewayId')}"
        if gw.get("ConnectivityType") in (None, "None"):
            gw["ConnectivityType"] = request.get("ConnectivityType") or "public"
        latency.born("nat", gw.get("NatGatewayId"), _app(context))
        if latency.create_phase("nat", gw.get("NatGatewayId"))[0]:
            gw["State"] = "pending"
        return resp

    def delete_nat(context, request):
        resp = inner_delete(context, request)
        # AWS removes the gateway's interface and disassociates its address; moto keeps both.
        backend = _ec2_backend(context)
        model = backend.nat_gateways.get(request.get("NatGatewayId"))
        eni = getattr(model, "_eni", None)
        if eni is not None:
            for addr in backend.addresses:
                if addr.eni is eni:
                    addr.eni = None
                    addr.association_id = None
            backend.enis.pop(eni.id, None)
            model._eni = None
        latency.dying("nat", request.get("NatGatewayId"), _app(context), None)
        return resp

    inner_delete_subnet = table["DeleteSubnet"]
    inner_delete_group = table["DeleteSecurityGroup"]

    def delete_subnet(context, request):
        # AWS refuses while network interfaces live in the subnet; moto deletes anyway.
        ecs_model.sweep(context)
        sid = request.get("SubnetId")
        if any(getattr(e.subnet, "id", None) == sid for e in _ec2_backend(context).enis.values()):
            raise CommonServiceException(
                "DependencyViolation",
                f"The subnet '{sid}' has dependencies and cannot be deleted.",
                400,
            )
        return inner_delete_subnet(context, request)

    def delete_group(context, request):
        ecs_model.sweep(context)
        gid = request.get("GroupId")
        backend = _ec2_backend(context)
        for e in backend.enis.values():
            ids = {getattr(g, "id", g) for g in e.group_set}
            if gid in ids:
                raise CommonServiceException("DependencyViolation", f"resource {gid} has a dependent object", 400)
        # AWS also refuses while a rule of another group references this one; moto deletes it.
        referencing = _groups_referencing(backend, gid)
        if referencing:
            raise CommonServiceException(
                "DependencyViolation",
                f"resource {gid} has a dependent object (referenced by {', '.join(sorted(referencing))})",
                400,
            )
        return inner_delete_group(context, request)

    inner_describe_enis = table["DescribeNetworkInterfaces"]

    def describe_enis(context, request):
        ecs_model.sweep(context)
        return inner_describe_enis(context, request)

    table["DescribeNetworkInterfaces"] = describe_enis
    table["DeleteSubnet"] = delete_subnet
    table["DeleteSecurityGroup"] = delete_group
    table["DescribeNatGateways"] = describe_nat
    table["CreateNatGateway"] = create_nat
    table["DeleteNatGateway"] = delete_nat
    service = Service(name="ec2", skeleton=Skeleton(load_service("ec2"), table))
    return service


# ---------------------------------------------------------------- CloudWatch and SNS (LocalStack's, wrapped)


@aws_provider(api="cloudwatch", name="skyforge")
def cloudwatch():
    """LocalStack's CloudWatch keeping the tags given to PutMetricAlarm (AWS applies them when the
    alarm is created and ignores them when it is updated; LocalStack dropped them), and answering
    GetDashboard on a missing dashboard with AWS's `ResourceNotFound`."""
    from localstack.aws.api import handler
    from localstack.services.cloudwatch.provider_v2 import CloudwatchProvider
    from localstack.utils.aws import arns

    class TaggedAlarms(CloudwatchProvider):
        @handler("PutMetricAlarm", expand=False)
        def put_metric_alarm(self, context, request):
            arn = arns.cloudwatch_alarm_arn(
                request["AlarmName"], account_id=context.account_id, region_name=context.region
            )
            existed = arn in self.get_store(context.account_id, context.region).alarms
            super().put_metric_alarm(context, request)
            if not existed and request.get("Tags"):
                self.tag_resource(context, arn, request["Tags"])

        @handler("GetDashboard", expand=False)
        def get_dashboard(self, context, request):
            # AWS: 404 ResourceNotFound; LocalStack answered InvalidParameterValue.
            name = request["DashboardName"]
            if name not in self.get_store(context.account_id, context.region).dashboards:
                raise CommonServiceException("ResourceNotFound", f"Dashboard {name} does not exist", 404)
            return super().get_dashboard(context, name)

    return Service.for_provider(TaggedAlarms())


def _pending_hidden(subs):
    """AWS lists a subscription nobody confirmed yet with the ARN `PendingConfirmation`."""
    from localstack.services.sns.models import sns_stores

    for sub in subs:
        arn = sub.get("SubscriptionArn", "")
        parts = arn.split(":")
        if len(parts) < 6:
            continue
        stored = sns_stores[parts[4]][parts[3]].subscriptions.get(arn) or {}
        if stored.get("PendingConfirmation") == "true":
            sub["SubscriptionArn"] = "PendingConfirmation"
    return subs


def confirm_subscriptions(endpoint):
    """What a person following the confirmation link does: every pending subscription of
    `endpoint` becomes confirmed. Returns how many."""
    from localstack.services.sns.models import sns_stores

    n = 0
    for _, _, store in sns_stores.iter_stores():
        for sub in store.subscriptions.values():
            if sub.get("Endpoint") == endpoint and sub.get("PendingConfirmation") == "true":
                sub["PendingConfirmation"] = "false"
                n += 1
    return n


@aws_provider(api="sns", name="skyforge")
def sns():
    """LocalStack's SNS as AWS answers it: CreateTopic naming an existing topic with other
    attributes is refused (`InvalidParameter`), where LocalStack returned the old topic; email and
    HTTPS subscriptions stay pending until confirmed and are listed as `PendingConfirmation`, where
    LocalStack listed them with their ARN as if confirmed."""
    from localstack.aws.api import handler
    from localstack.services.sns.provider import SnsProvider
    from moto.sns.models import sns_backends

    class StrictTopics(SnsProvider):
        @handler("CreateTopic", expand=False)
        def create_topic(self, context, request):
            arn = f"arn:aws:sns:{context.region}:{context.account_id}:{request['Name']}"
            topic = sns_backends[context.account_id][context.region].topics.get(arn)
            wanted = request.get("Attributes") or {}
            if topic is not None:
                current = {
                    "KmsMasterKeyId": getattr(topic, "kms_master_key_id", "") or "",
                    "DisplayName": getattr(topic, "display_name", "") or "",
                }
                if any(k in wanted and str(wanted[k]) != str(v) for k, v in current.items()):
                    raise CommonServiceException(
                        "InvalidParameter",
                        "Invalid parameter: Attributes Reason: Topic already exists with different attributes",
                        400,
                    )
            return super().create_topic(
                context,
                request["Name"],
                request.get("Attributes"),
                request.get("Tags"),
                request.get("DataProtectionPolicy"),
            )

        @handler("ListSubscriptionsByTopic", expand=False)
        def list_subscriptions_by_topic(self, context, request):
            resp = super().list_subscriptions_by_topic(context, request["TopicArn"], request.get("NextToken"))
            _pending_hidden(resp.get("Subscriptions", []))
            return resp

    return Service.for_provider(StrictTopics(), dispatch_table_factory=MotoFallbackDispatcher)
