"""RDS as AWS behaves, on top of moto's model (docs/testing.md lists what is modelled).

- Create answers `creating` with no endpoint; latency mode passes through `creating` and
  `backing-up`. Delete needs a final snapshot or SkipFinalSnapshot; latency mode shows `deleting`;
  automated backups it keeps are retained apart, so the name can be created again at once.
- ModifyDBInstance honours ApplyImmediately: deferrable settings stay pending
  (`PendingModifiedValues`) and the model keeps the old values; applied now, they take the
  instance through `modifying` in latency mode. A busy instance refuses modifications. A major
  upgrade needs AllowMajorVersionUpgrade and a parameter group of the new family; a downgrade has
  no upgrade path.
- Parameter groups: families are checked, `default.*` groups cannot be modified, static
  parameters cannot apply immediately, and instances wait in `pending-reboot` for them until
  RebootDBInstance. Subnet and parameter groups in use (by a live or a deleting instance) cannot
  be deleted. Security groups and the password argument are checked on create.
"""

import copy

from localstack.aws.api import CommonServiceException, ServiceException
from localstack.services.moto import call_moto

from . import latency, state

# Request key -> (moto attribute, PendingModifiedValues key) of settings that honour
# ApplyImmediately.
DEFERRABLE = {
    "DBInstanceClass": ("db_instance_class", "DBInstanceClass"),
    "AllocatedStorage": ("allocated_storage", "AllocatedStorage"),
    "MultiAZ": ("multi_az", "MultiAZ"),
    "EngineVersion": ("engine_version", "EngineVersion"),
    "StorageType": ("storage_type", "StorageType"),
    "Iops": ("iops", "Iops"),
    "StorageThroughput": ("storage_throughput", "StorageThroughput"),
    "DBSubnetGroupName": ("db_subnet_group_name", "DBSubnetGroupName"),
    "EnableIAMDatabaseAuthentication": (
        "enable_iam_database_authentication",
        "IAMDatabaseAuthenticationEnabled",
    ),
}
# Request key -> DBInstance member, for the deferred settings Describe shows directly.
DESCRIBED_AS = {
    "DBInstanceClass": "DBInstanceClass",
    "AllocatedStorage": "AllocatedStorage",
    "MultiAZ": "MultiAZ",
    "EngineVersion": "EngineVersion",
    "StorageType": "StorageType",
    "Iops": "Iops",
    "StorageThroughput": "StorageThroughput",
    "EnableIAMDatabaseAuthentication": "IAMDatabaseAuthenticationEnabled",
}
FAMILIES = (
    {f"postgres{v}" for v in range(11, 19)}
    | {f"aurora-postgresql{v}" for v in range(11, 18)}
    | {"mysql5.7", "mysql8.0", "mysql8.4", "aurora-mysql5.7", "aurora-mysql8.0"}
    | {"mariadb10.5", "mariadb10.6", "mariadb10.11", "mariadb11.4"}
)
# PostgreSQL parameters that only take effect after a restart.
STATIC = {
    "shared_buffers",
    "max_connections",
    "shared_preload_libraries",
    "wal_buffers",
    "max_wal_senders",
    "max_worker_processes",
    "max_locks_per_transaction",
    "max_prepared_transactions",
    "rds.logical_replication",
    "huge_pages",
    "track_activity_query_size",
}

_PENDING: dict = {}  # (account, region, id) -> PendingModifiedValues
_REBOOT: set = set()  # (account, region, id) waiting for a reboot (static parameters)
_RETAINED: dict = {}  # snapshot id -> retained automated backup of a deleted instance


def _app(context) -> str:
    return state.app_of(context.request.headers)


def _backend(context):
    from moto.rds.models import rds_backends

    return rds_backends[context.account_id][context.region]


def _key(context, rid):
    return (context.account_id, context.region, (rid or "").lower())


def _fail(code, message, status=400):
    raise CommonServiceException(code, message, status)


def _major(version) -> str:
    return str(version or "").split(".")[0]


def _get(model, attr):
    """An attribute of moto's instance model (some are write-only properties)."""
    if attr == "db_subnet_group_name":
        return getattr(model, "_db_subnet_group_name", None)
    return getattr(model, attr, None)


def _busy(rid):
    for kind in ("rds", "rds-modify"):
        phase, _ = latency.create_phase(kind, rid)
        if phase:
            return phase
    return None


def _users_of(context, attr, name):
    """Ids of live and deleting instances whose `attr` is `name`."""
    # moto keeps the subnet group name behind a write-only property.
    field = "_db_subnet_group_name" if attr == "db_subnet_group_name" else attr
    users = [i for i, db in _backend(context).databases.items() if getattr(db, field, None) == name]
    for rid, snap in latency.still_dying("rds").items():
        groups = [g.get("DBParameterGroupName") for g in snap.get("DBParameterGroups", [])]
        subnet = (snap.get("DBSubnetGroup") or {}).get("DBSubnetGroupName")
        if (attr == "db_parameter_group_name" and name in groups) or (
            attr == "db_subnet_group_name" and name == subnet
        ):
            users.append(rid)
    return users


def _check_family(context, group_name, engine_version):
    if not group_name or group_name.startswith("default."):
        return
    group = _backend(context).db_parameter_groups.get(group_name)
    if group is None:
        _fail("DBParameterGroupNotFound", f"DBParameterGroup not found: {group_name}", 404)
    want = f"postgres{_major(engine_version)}"
    if group.family.startswith("postgres") and group.family != want:
        _fail(
            "InvalidParameterCombination",
            f"The parameter group {group_name} with DBParameterGroupFamily {group.family} "
            f"can't be used for this instance. Use a parameter group with DBParameterGroupFamily {want}.",
        )


def _fix_model(inst, request):
    """Settings moto stores under other names than it describes."""
    if "EnablePerformanceInsights" in request:
        inst.performance_insights_enabled = bool(request["EnablePerformanceInsights"])
        inst.performance_insights_retention_period = (
            request.get("PerformanceInsightsRetentionPeriod", 7) if inst.performance_insights_enabled else None
        )
    elif "PerformanceInsightsRetentionPeriod" in request:
        inst.performance_insights_retention_period = request["PerformanceInsightsRetentionPeriod"]
    if "DBPortNumber" in request:
        inst.port = int(request["DBPortNumber"])


def create(context, request, check_security_groups):
    check_security_groups(context, request.get("VpcSecurityGroupIds"), "InvalidParameterValue")
    if not request.get("MasterUserPassword") and not request.get("ManageMasterUserPassword"):
        _fail("InvalidParameterValue", "The parameter MasterUserPassword must be provided and must not be blank.")
    if request.get("MasterUserPassword") and request.get("ManageMasterUserPassword"):
        _fail("InvalidParameterCombination", "You can't specify MasterUserPassword with ManageMasterUserPassword.")
    _check_family(context, request.get("DBParameterGroupName"), request.get("EngineVersion"))
    resp = call_moto(context)
    inst = resp.get("DBInstance") or {}
    rid = inst.get("DBInstanceIdentifier") or request.get("DBInstanceIdentifier")
    model = _backend(context).databases.get(rid)
    if model is not None:
        _fix_model(model, request)
    latency.born("rds", rid, _app(context))
    # AWS never answers a create with an available instance.
    inst["DBInstanceStatus"] = "creating"
    inst.pop("Endpoint", None)
    return resp


def _defer(context, request, model, before):
    """Put deferred settings back on the model and record them as pending."""
    pending = _PENDING.setdefault(_key(context, model.db_instance_identifier), {})
    for req_key, (attr, pending_key) in DEFERRABLE.items():
        if req_key in before and _get(model, attr) != before[req_key]:
            pending[pending_key] = _get(model, attr)
            setattr(model, attr, before[req_key])
    return pending


def _check_engine(context, request, model):
    new = request.get("EngineVersion")
    if not new or _major(new) == _major(model.engine_version):
        return
    if int(_major(new) or 0) < int(_major(model.engine_version) or 0):
        _fail(
            "InvalidParameterCombination",
            f"Cannot upgrade postgres from {model.engine_version} to {new}: no upgrade path.",
        )
    if not request.get("AllowMajorVersionUpgrade"):
        _fail(
            "InvalidParameterCombination",
            "The AllowMajorVersionUpgrade flag must be present when upgrading to a new major version.",
        )
    _check_family(context, request.get("DBParameterGroupName") or model.db_parameter_group_name, new)


def modify(context, request, check_security_groups):
    rid = request.get("DBInstanceIdentifier")
    model = _backend(context).databases.get((rid or "").lower())
    if model is None:
        return call_moto(context)
    phase = _busy(model.db_instance_identifier)
    if phase:
        _fail("InvalidDBInstanceState", f"Database instance is not in available state (it is {phase}).")
    check_security_groups(context, request.get("VpcSecurityGroupIds"), "InvalidParameterValue")
    _check_engine(context, request, model)
    if "DBParameterGroupName" in request and "EngineVersion" not in request:
        _check_family(context, request["DBParameterGroupName"], model.engine_version)
    before = {k: _get(model, attr) for k, (attr, _) in DEFERRABLE.items() if k in request}
    old_group = model.db_parameter_group_name
    resp = call_moto(context)
    _fix_model(model, request)
    if request.get("DBParameterGroupName") not in (None, old_group) and "EngineVersion" not in request:
        _REBOOT.add(_key(context, model.db_instance_identifier))
    changed = [k for k in before if _get(model, DEFERRABLE[k][0]) != before[k]]
    inst = resp.get("DBInstance") or {}
    if not request.get("ApplyImmediately"):
        pending = _defer(context, request, model, before)
        for req_key in changed:
            if req_key in DESCRIBED_AS:
                inst[DESCRIBED_AS[req_key]] = before[req_key]
        if pending:
            inst["PendingModifiedValues"] = dict(pending)
    elif changed:
        latency.born("rds-modify", model.db_instance_identifier, _app(context))
        for req_key in changed:
            _PENDING.get(_key(context, model.db_instance_identifier), {}).pop(DEFERRABLE[req_key][1], None)
    return resp


def describe(context, request):
    rid = request.get("DBInstanceIdentifier")
    dying = latency.still_dying("rds")
    try:
        resp = call_moto(context)
    except ServiceException:
        if rid and rid.lower() in dying:
            return {"DBInstances": [dying[rid.lower()]]}
        raise
    for inst in resp.get("DBInstances", []):
        iid = inst.get("DBInstanceIdentifier")
        phase = _busy(iid)
        if phase:
            inst["DBInstanceStatus"] = phase
            if phase in ("creating",):
                inst.pop("Endpoint", None)
        pending = _PENDING.get(_key(context, iid))
        if pending:
            inst["PendingModifiedValues"] = dict(pending)
        if _key(context, iid) in _REBOOT:
            for g in inst.get("DBParameterGroups", []):
                g["ParameterApplyStatus"] = "pending-reboot"
    if not rid:
        present = {i.get("DBInstanceIdentifier") for i in resp.get("DBInstances", [])}
        resp.setdefault("DBInstances", []).extend(s for k, s in dying.items() if k not in present)
    return resp


def delete(context, request):
    if not request.get("SkipFinalSnapshot") and not request.get("FinalDBSnapshotIdentifier"):
        _fail(
            "InvalidParameterCombination",
            "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
        )
    snap_id = request.get("FinalDBSnapshotIdentifier")
    if snap_id and not request.get("SkipFinalSnapshot") and snap_id in _backend(context).database_snapshots:
        _fail(
            "DBSnapshotAlreadyExists",
            f"Cannot create the snapshot because a snapshot with the identifier {snap_id} already exists.",
        )
    resp = call_moto(context)
    inst = resp.get("DBInstance") or {}
    rid = inst.get("DBInstanceIdentifier") or request.get("DBInstanceIdentifier")
    _PENDING.pop(_key(context, rid), None)
    _REBOOT.discard(_key(context, rid))
    _retain_automated_backups(context, rid)
    snap = copy.deepcopy(inst)
    snap["DBInstanceStatus"] = "deleting"
    snap.pop("Endpoint", None)
    latency.dying("rds", (rid or "").lower(), _app(context), snap)
    return resp


def _retain_automated_backups(context, rid):
    """A deletion that keeps its automated backups (DeleteAutomatedBackups=false) leaves them
    as retained backups, apart from the snapshots: moto keeps them as snapshots named
    `rds:<id>-<minute>`, so an instance created again under the same name within the minute
    was refused with DBSnapshotAlreadyExists, which AWS never answers to a create."""
    snapshots = _backend(context).database_snapshots
    for sid in [k for k in snapshots if k.startswith(f"rds:{rid}-")]:
        _RETAINED[sid] = snapshots.pop(sid)


def reboot(context, request):
    rid = request.get("DBInstanceIdentifier")
    phase = _busy(rid)
    if phase:
        _fail("InvalidDBInstanceState", f"Database instance is not in available state (it is {phase}).")
    resp = call_moto(context)
    _REBOOT.discard(_key(context, rid))
    return resp


def create_parameter_group(context, request):
    family = request.get("DBParameterGroupFamily")
    if family not in FAMILIES:
        _fail("InvalidParameterValue", f"ParameterGroupFamily {family} is not a valid parameter group family")
    return call_moto(context)


def modify_parameter_group(context, request):
    name = request.get("DBParameterGroupName") or ""
    if name.startswith("default."):
        _fail("InvalidParameterValue", f"Default parameter groups cannot be modified: {name}")
    reboot_needed = False
    for p in request.get("Parameters", []):
        static = p.get("ParameterName") in STATIC
        if static and p.get("ApplyMethod") == "immediate":
            _fail(
                "InvalidParameterCombination",
                f"cannot use immediate apply method for static parameter {p.get('ParameterName')}",
            )
        reboot_needed |= p.get("ApplyMethod") == "pending-reboot"
    resp = call_moto(context)
    if reboot_needed:
        for rid in _users_of(context, "db_parameter_group_name", name):
            _REBOOT.add(_key(context, rid))
    return resp


def delete_parameter_group(context, request):
    name = request.get("DBParameterGroupName")
    users = _users_of(context, "db_parameter_group_name", name)
    if users:
        _fail(
            "InvalidDBParameterGroupState",
            f"One or more database instances are still members of this parameter group {name}, "
            "so the group cannot be deleted",
        )
    return call_moto(context)


def delete_subnet_group(context, request):
    name = request.get("DBSubnetGroupName")
    users = _users_of(context, "db_subnet_group_name", name)
    if users:
        _fail(
            "InvalidDBSubnetGroupStateFault",
            f"Cannot delete the subnet group '{name}' because at least one database instance: "
            f"{users[0]} is still using it.",
        )
    return call_moto(context)
