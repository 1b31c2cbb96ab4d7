"""ECS services as AWS runs them. moto creates no tasks, no ENIs and no deployments, and never
reaches a steady state; this overlay keeps, per service, its deployments and tasks and advances
them with time (scaled by the app's latency setting; at scale 0 every step is immediate):

- a task goes PROVISIONING -> PENDING -> RUNNING, with a requester-managed ENI in one of the
  service's subnets (so subnet and security-group deletion waits for it);
- a task whose image matches a scripted fault (control endpoint `ecs-task-faults`) stops with
  that stop code, reason and exit code, and the scheduler launches a replacement;
- a new task definition (or forceNewDeployment) adds a PRIMARY deployment; once it runs the
  desired count, the old deployment's tasks stop and it is `COMPLETED`;
- the circuit breaker marks a deployment FAILED after clamp(ceil(desired / 2), 10, 200) failed
  tasks and, with rollback, goes back to the previous task definition;
- DeleteService answers DRAINING; tasks stop, then the service is INACTIVE (and leaves
  ListServices); DeleteCluster is refused while services are ACTIVE or DRAINING.
"""

import math
import time
import uuid

from localstack.aws.api import CommonServiceException
from localstack.services.moto import call_moto

from . import state

START_SECONDS = 40.0  # PROVISIONING -> RUNNING
STOP_SECONDS = 30.0  # DEACTIVATING/STOPPING -> STOPPED
DRAIN_SECONDS = 20.0  # DRAINING -> INACTIVE once its tasks stopped
DEFAULT_CONFIG = {
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "deploymentCircuitBreaker": {"enable": False, "rollback": False},
}

_SVC: dict = {}  # service ARN -> overlay
FAULTS: list = []  # {app, image, stopCode, reason, exitCode, seconds, remaining}


def _backend(context):
    from moto.ecs.models import ecs_backends

    return ecs_backends[context.account_id][context.region]


def _ec2(context):
    from moto.ec2.models import ec2_backends

    return ec2_backends[context.account_id][context.region]


def mine(context, record):
    """Whether a service or one-off task record is in the caller's account and region: ECS is
    regional, and a record advanced with another region's context released its interface from
    the wrong EC2 backend (the interface stayed `in-use` for ever; the crash test, in us-east-1,
    met it while spendsense ran in us-west-1 beside it)."""
    return record["account"] == context.account_id and record["region"] == context.region


def add_faults(spec: dict) -> None:
    with state.LOCK:
        for f in spec.get("faults", []):
            FAULTS.append(
                {
                    "app": f.get("app"),
                    "image": f["image"],
                    "stopCode": f.get("stopCode", "TaskFailedToStart"),
                    "reason": f.get(
                        "reason", "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
                    ),
                    "exitCode": f.get("exitCode"),
                    "seconds": float(f.get("seconds", 5)),
                    "remaining": int(f.get("count", 1_000_000)),
                    # "service" or "run-task" tasks only; both when absent.
                    "kind": f.get("kind"),
                    "logs": list(f.get("logs") or []),
                }
            )


def _fault_for(app, images, kind="service"):
    for f in FAULTS:
        if f["kind"] not in (None, kind):
            continue
        if f["remaining"] > 0 and f["app"] in (None, app) and any(f["image"] in i for _, i in images):
            f["remaining"] -= 1
            return dict(f)
    return None


def _images(context, task_definition):
    """(container name, image) of each container of the task definition."""
    try:
        td = _backend(context).describe_task_definition(task_definition)
    except Exception:
        return []
    return [(c.get("name", ""), c.get("image", "")) for c in td.container_definitions]


# ---------------------------------------------------------------- tasks


def _scale(svc):
    """The app's latency scale now (a test may change it between apply and deploy)."""
    return state.scale_for(svc["app"])


def _task_status(t, now):
    if t["stopped_at"] is not None and now >= t["stopped_at"]:
        return "STOPPED"
    if t["stop_at"] is not None and now >= t["stop_at"]:
        third = (t["stopped_at"] - t["stop_at"]) / 3
        if now < t["stop_at"] + third:
            return "DEACTIVATING" if t["running_at"] is not None else "STOPPING"
        return "STOPPING" if now < t["stop_at"] + 2 * third else "DEPROVISIONING"
    if t["running_at"] is not None and now >= t["running_at"]:
        return "RUNNING"
    if now < t["t0"] + (t["start"] * 0.3):
        return "PROVISIONING"
    return "PENDING"


def _launch(context, svc, dep, now):
    s = _scale(svc)
    images = _images(context, dep["taskDefinition"])
    fault = _fault_for(svc["app"], images)
    subnets = svc["subnets"] or [None]
    subnet_id = subnets[len(svc["tasks"]) % len(subnets)]
    tid = uuid.uuid4().hex
    task = {
        "arn": f"arn:aws:ecs:{context.region}:{context.account_id}:task/{svc['cluster']}/{tid}",
        "deployment": dep["id"],
        "taskDefinition": dep["taskDefinition"],
        "t0": now,
        "start": START_SECONDS * s,
        "running_at": now + START_SECONDS * s,
        "stop_at": None,
        "stopped_at": None,
        "stopCode": None,
        "stoppedReason": None,
        "exitCode": None,
        "eni": None,
        "subnet": subnet_id,
        "containers": list(images),
        "startedBy": None,
        "counted": False,
    }
    if fault:
        fail_at = now + (START_SECONDS + fault["seconds"]) * s
        if fault["stopCode"] == "TaskFailedToStart":
            task["running_at"] = None
        _stop(task, fail_at, fault["stopCode"], fault["reason"], s, fault["exitCode"])
        task["fault"] = True
    if subnet_id:
        task["eni"] = _create_eni(context, subnet_id, svc["groups"])
    svc["tasks"].append(task)
    svc["events"].insert(0, _event(now, f"(service {svc['name']}) has started 1 tasks: (task {tid})."))


def _stop(task, at, code, reason, scale, exit_code=None):
    if task["stop_at"] is not None:
        return
    task["stop_at"] = at
    task["stopped_at"] = at + STOP_SECONDS * scale
    task["stopCode"] = code
    task["stoppedReason"] = reason
    task["exitCode"] = exit_code


def _create_eni(context, subnet_id, groups):
    backend = _ec2(context)
    if any(backend.get_security_group_from_id(g) is None for g in groups or []):
        # moto would make a group of that ID on the spot; AWS cannot attach a missing group.
        return None
    try:
        subnet = backend.get_subnet(subnet_id)
        eni = backend.create_network_interface(
            subnet,
            None,
            group_ids=list(groups or []),
            description=f"arn:aws:ecs:{context.region}:{context.account_id}:attachment/{uuid.uuid4()}",
        )
    except Exception:
        return None
    eni.requester_managed = True
    eni.status = "in-use"
    return eni.id


def _release_eni(owner, task):
    """The task's interface goes, from the EC2 backend of its owner's (its service's or its one-off
    record's) account and region, whoever asks."""
    from moto.ec2.models import ec2_backends

    if task["eni"]:
        ec2_backends[owner["account"]][owner["region"]].enis.pop(task["eni"], None)
        task["eni"] = None


# ---------------------------------------------------------------- services


def _event(now, message):
    return {"id": uuid.uuid4().hex, "createdAt": time.time(), "message": message}


def _new_deployment(svc, task_definition, now):
    dep = {
        "id": f"ecs-svc/{uuid.uuid4().int % 10**19}",
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
        "createdAt": time.time(),
        "updatedAt": time.time(),
        "failedTasks": 0,
    }
    for d in svc["deployments"]:
        d["status"] = "ACTIVE"
    svc["deployments"].insert(0, dep)
    return dep


def _threshold(desired):
    return min(max(math.ceil(desired / 2), 10), 200)


def _live(svc, dep, now):
    return [t for t in svc["tasks"] if t["deployment"] == dep["id"] and (t["stop_at"] is None or now < t["stop_at"])]


def _reconcile(context, svc, now):
    for _ in range(6):
        if not _step(context, svc, now):
            break


def _step(context, svc, now):
    """One scheduler pass; whether it changed anything."""
    changed = False
    for t in svc["tasks"]:
        if _task_status(t, now) == "STOPPED" and t["eni"]:
            _release_eni(svc, t)
        if t.get("fault") and t["stop_at"] is not None and now >= t["stop_at"] and not t["counted"]:
            t["counted"] = True
            dep = next((d for d in svc["deployments"] if d["id"] == t["deployment"]), None)
            if dep:
                dep["failedTasks"] += 1
            svc["events"].insert(
                0,
                _event(
                    now, f"(service {svc['name']}) task {t['arn'].rsplit('/', 1)[-1]} stopped: {t['stoppedReason']}"
                ),
            )
            changed = True
    if svc["deleted_at"] is not None:
        for t in svc["tasks"]:
            if t["stop_at"] is None:
                _stop(t, now, "ServiceSchedulerInitiated", "Service deletion", _scale(svc))
                changed = True
        return changed
    primary = svc["deployments"][0]
    changed |= _circuit_breaker(svc, primary, now)
    primary = svc["deployments"][0]
    live = _live(svc, primary, now)
    if len(live) < svc["desired"] and primary["rolloutState"] != "FAILED":
        _launch(context, svc, primary, now)
        return True
    for extra in live[svc["desired"] :]:
        _stop(extra, now, "ServiceSchedulerInitiated", "Scaling activity initiated by deployment", _scale(svc))
        changed = True
    running = [t for t in live if _task_status(t, now) == "RUNNING"]
    if len(running) >= svc["desired"]:
        changed |= _finish_rollout(svc, primary, now)
    return changed


def _circuit_breaker(svc, primary, now):
    cb = svc["config"].get("deploymentCircuitBreaker") or {}
    if not cb.get("enable") or primary["rolloutState"] != "IN_PROGRESS":
        return False
    if primary["failedTasks"] < _threshold(svc["desired"]):
        return False
    primary["rolloutState"] = "FAILED"
    primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
    svc["events"].insert(
        0,
        _event(now, f"(service {svc['name']}) (deployment {primary['id']}) deployment failed: tasks failed to start."),
    )
    previous = next((d for d in svc["deployments"][1:]), None)
    if cb.get("rollback") and previous:
        for t in _live(svc, primary, now):
            _stop(t, now, "ServiceSchedulerInitiated", "Deployment rolled back", _scale(svc))
        dep = _new_deployment(svc, previous["taskDefinition"], now)
        dep["rolloutStateReason"] = f"ECS deployment circuit breaker: rolling back to deployment {previous['id']}."
    return True


def _finish_rollout(svc, primary, now):
    changed = False
    for d in svc["deployments"][1:]:
        for t in _live(svc, d, now):
            _stop(t, now, "ServiceSchedulerInitiated", "Task stopped by deployment", _scale(svc))
            changed = True
    gone = [
        d
        for d in svc["deployments"][1:]
        if all(_task_status(t, now) == "STOPPED" for t in svc["tasks"] if t["deployment"] == d["id"])
    ]
    if gone:
        svc["deployments"] = [d for d in svc["deployments"] if d not in gone]
        changed = True
    if len(svc["deployments"]) == 1 and primary["rolloutState"] == "IN_PROGRESS":
        primary["rolloutState"] = "COMPLETED"
        primary["rolloutStateReason"] = "ECS deployment completed."
        primary["updatedAt"] = time.time()
        svc["events"].insert(0, _event(now, f"(service {svc['name']}) has reached a steady state."))
        changed = True
    return changed


def _counts(tasks, now):
    statuses = [_task_status(t, now) for t in tasks]
    running = sum(1 for s in statuses if s == "RUNNING")
    pending = sum(1 for s in statuses if s in ("PROVISIONING", "PENDING"))
    return running, pending


def _inject(svc, resp_svc, now):
    running, pending = _counts(svc["tasks"], now)
    resp_svc["runningCount"] = running
    resp_svc["pendingCount"] = pending
    resp_svc["desiredCount"] = svc["desired"]
    resp_svc["deploymentConfiguration"] = svc["config"]
    resp_svc.update(svc["extra"])
    deps = []
    for d in svc["deployments"]:
        r, p = _counts([t for t in svc["tasks"] if t["deployment"] == d["id"]], now)
        out = {k: v for k, v in d.items() if k != "failedTasks"}
        out.update(
            {
                "desiredCount": svc["desired"] if d["status"] == "PRIMARY" else 0,
                "runningCount": r,
                "pendingCount": p,
                "failedTasks": d["failedTasks"],
            }
        )
        out["launchType"] = resp_svc.get("launchType")
        out["networkConfiguration"] = resp_svc.get("networkConfiguration")
        deps.append(out)
    resp_svc["deployments"] = deps
    resp_svc["events"] = svc["events"][:100]
    resp_svc["taskDefinition"] = svc["deployments"][0]["taskDefinition"]
    resp_svc["status"] = _status(svc, now)
    if "capacityProviderStrategy" in svc["extra"]:
        resp_svc.pop("launchType", None)


def _status(svc, now):
    """ACTIVE; DRAINING after DeleteService until its tasks stopped and the drain window passed;
    then INACTIVE."""
    if svc["deleted_at"] is None:
        return "ACTIVE"
    if not all(_task_status(t, now) == "STOPPED" for t in svc["tasks"]):
        return "DRAINING"
    svc.setdefault("drained_at", now + DRAIN_SECONDS * _scale(svc))
    svc["inactive"] = now >= svc["drained_at"]
    return "INACTIVE" if svc["inactive"] else "DRAINING"


# ---------------------------------------------------------------- wrappers


def _config(request, previous=None):
    cfg = dict(previous or DEFAULT_CONFIG)
    given = request.get("deploymentConfiguration")
    if given:
        cfg.update(given)
        cfg.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
    return cfg


_EXTRA_KEYS = (
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "capacityProviderStrategy",
    "enableECSManagedTags",
)


def _extra(request, previous=None):
    out = dict(previous or {"enableExecuteCommand": False, "enableECSManagedTags": False})
    for k in _EXTRA_KEYS:
        if k in request and request[k] is not None:
            out[k] = request[k]
    return out


def create_service(context, request):
    name = request.get("serviceName")
    cluster = (request.get("cluster") or "default").split("/")[-1]
    with state.LOCK:
        for svc in _SVC.values():
            if svc["cluster"] == cluster and svc["name"] == name and not svc.get("inactive") and mine(context, svc):
                if svc["deleted_at"] is not None:
                    raise CommonServiceException(
                        "InvalidParameterException", "Creation of service was not idempotent.", 400
                    )
    resp = call_moto(context)
    out = resp.get("service") or {}
    awsvpc = (request.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    now = state.now()
    svc = {
        "app": state.app_of(context.request.headers),
        "account": context.account_id,
        "region": context.region,
        "cluster": cluster,
        "name": name,
        "desired": int(request.get("desiredCount") or 0),
        "subnets": list(awsvpc.get("subnets") or []),
        "groups": list(awsvpc.get("securityGroups") or []),
        "config": _config(request),
        "extra": _extra(request),
        "deployments": [],
        "tasks": [],
        "events": [],
        "deleted_at": None,
    }
    _new_deployment(svc, out.get("taskDefinition"), now)
    with state.LOCK:
        # A service made again under its old name (the old one INACTIVE) replaces the old record:
        # its stopped tasks' interfaces go first, as AWS releases them. Overwritten with the
        # record, they stayed `in-use` and held their subnet and group for ever (found by the
        # crash test, whose cycles make the same services again and again).
        old = _SVC.get(out.get("serviceArn"))
        for t in old["tasks"] if old else []:
            _release_eni(old, t)
        _SVC[out.get("serviceArn")] = svc
        _inject(svc, out, now)
    return resp


def update_service(context, request):
    with state.LOCK:
        svc = _find(context, request.get("cluster"), request.get("service"))
        if svc is not None and svc["deleted_at"] is not None:
            raise CommonServiceException("ServiceNotActiveException", "Service was not ACTIVE.", 400)
    resp = call_moto(context)
    out = resp.get("service") or {}
    now = state.now()
    with state.LOCK:
        svc = _SVC.get(out.get("serviceArn"))
        if svc is None:
            return resp
        _reconcile(context, svc, now)
        if request.get("desiredCount") is not None:
            svc["desired"] = int(request["desiredCount"])
        svc["config"] = _config(request, svc["config"])
        svc["extra"] = _extra(request, svc["extra"])
        awsvpc = (request.get("networkConfiguration") or {}).get("awsvpcConfiguration")
        td = request.get("taskDefinition")
        current = svc["deployments"][0]["taskDefinition"]
        if (
            td
            and _backend(context).describe_task_definition(td).arn != current
            or request.get("forceNewDeployment")
            or awsvpc
        ):
            if awsvpc:
                svc["subnets"] = list(awsvpc.get("subnets") or svc["subnets"])
                svc["groups"] = list(awsvpc.get("securityGroups") or svc["groups"])
            target = _backend(context).describe_task_definition(td).arn if td else current
            _new_deployment(svc, target, now)
        _reconcile(context, svc, now)
        _inject(svc, out, now)
    return resp


def _find(context, cluster, service):
    cluster = (cluster or "default").split("/")[-1]
    name = (service or "").split("/")[-1]
    live = [s for s in _SVC.values() if s["cluster"] == cluster and s["name"] == name and mine(context, s)]
    return live[-1] if live else None


def describe_services(context, request):
    resp = call_moto(context)
    now = state.now()
    with state.LOCK:
        for out in resp.get("services", []):
            svc = _SVC.get(out.get("serviceArn"))
            if svc is None:
                continue
            _reconcile(context, svc, now)
            _inject(svc, out, now)
    return resp


def delete_service(context, request):
    with state.LOCK:
        svc = _find(context, request.get("cluster"), request.get("service"))
        if svc is not None and svc["desired"] > 0 and not request.get("force"):
            raise CommonServiceException(
                "InvalidParameterException", "The service cannot be stopped while it is scaled above 0.", 400
            )
    resp = call_moto(context)
    out = resp.get("service") or {}
    now = state.now()
    with state.LOCK:
        svc = _SVC.get(out.get("serviceArn"))
        if svc is not None:
            svc["desired"] = 0
            svc["deleted_at"] = now
            _reconcile(context, svc, now)
            _inject(svc, out, now)
    return resp


def list_services(context, request):
    resp = call_moto(context)
    keep = []
    with state.LOCK:
        for arn in resp.get("serviceArns", []):
            svc = _SVC.get(arn)
            if svc is not None and svc["deleted_at"] is not None:
                continue
            keep.append(arn)
    resp["serviceArns"] = keep
    return resp


def delete_cluster(context, request):
    cluster = (request.get("cluster") or "default").split("/")[-1]
    now = state.now()
    with state.LOCK:
        for svc in _SVC.values():
            if svc["cluster"] != cluster or not mine(context, svc):
                continue
            _reconcile(context, svc, now)
            if _status(svc, now) != "INACTIVE":
                raise CommonServiceException(
                    "ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.", 400
                )
    return call_moto(context)


def task_view(context, owner, t, now):
    """A task as DescribeTasks shows it; `owner` is its service (or a one-off task's record)."""
    status = _task_status(t, now)
    out = {
        "taskArn": t["arn"],
        "clusterArn": f"arn:aws:ecs:{context.region}:{owner['account']}:cluster/{owner['cluster']}",
        "taskDefinitionArn": t["taskDefinition"],
        "group": owner.get("group") or f"service:{owner['name']}",
        "startedBy": t.get("startedBy") or t["deployment"],
        "lastStatus": status,
        "desiredStatus": "STOPPED" if t["stop_at"] is not None else "RUNNING",
        "launchType": "FARGATE",
        "containers": [
            {
                "name": name,
                "image": img,
                "lastStatus": status if status in ("RUNNING", "STOPPED") else "PENDING",
                **({"exitCode": t["exitCode"]} if status == "STOPPED" and t["exitCode"] is not None else {}),
            }
            for name, img in t["containers"]
        ],
        "attachments": [
            {
                "type": "ElasticNetworkInterface",
                "status": "ATTACHED" if t["eni"] else "DELETED",
                "details": [
                    {"name": "subnetId", "value": t["subnet"]},
                    {"name": "networkInterfaceId", "value": t["eni"] or ""},
                ],
            }
        ],
    }
    if status == "STOPPED" or t["stop_at"] is not None and now >= t["stop_at"]:
        out["stopCode"] = t["stopCode"]
        out["stoppedReason"] = t["stoppedReason"]
        if status == "STOPPED":
            out["stoppedAt"] = time.time()
    return out


def _service_tasks(context, cluster):
    """(owner, task) of the cluster's service tasks and one-off tasks."""
    from . import ecs_runtask

    cluster = (cluster or "default").split("/")[-1]
    found = [(s, t) for s in _SVC.values() if s["cluster"] == cluster and mine(context, s) for t in s["tasks"]]
    return found + ecs_runtask.tasks_of(context, cluster)


def list_tasks(context, request):
    now = state.now()
    want = request.get("desiredStatus") or "RUNNING"
    name = request.get("serviceName")
    from . import ecs_runtask

    with state.LOCK:
        for s in _SVC.values():
            if mine(context, s):
                _reconcile(context, s, now)
        ecs_runtask.release_enis(context, now)
        arns = []
        for s, t in _service_tasks(context, request.get("cluster")):
            if name and s.get("name") != name.split("/")[-1]:
                continue
            if request.get("startedBy") and (t.get("startedBy") or t["deployment"]) != request["startedBy"]:
                continue
            if request.get("family") and s.get("family") != request["family"]:
                continue
            desired = "STOPPED" if t["stop_at"] is not None else "RUNNING"
            if desired == want:
                arns.append(t["arn"])
    if name or request.get("startedBy") or request.get("family"):
        return {"taskArns": arns}
    other = call_moto(context).get("taskArns", [])
    return {"taskArns": arns + other}


def describe_tasks(context, request):
    now = state.now()
    wanted = request.get("tasks") or []
    found = []
    from . import ecs_runtask

    with state.LOCK:
        ecs_runtask.release_enis(context, now)
        index = {t["arn"]: (s, t) for s, t in _service_tasks(context, request.get("cluster"))}
        rest = []
        for arn in wanted:
            if arn in index:
                s, t = index[arn]
                found.append(task_view(context, s, t, now))
            else:
                rest.append(arn)
    if not rest:
        return {"tasks": found, "failures": []}
    resp = call_moto(context)
    shown = {t["taskArn"] for t in found}
    resp["tasks"] = found + resp.get("tasks", [])
    resp["failures"] = [f for f in resp.get("failures", []) if f.get("arn") not in shown]
    return resp


WRAPPERS = {
    "CreateService": create_service,
    "UpdateService": update_service,
    "DescribeServices": describe_services,
    "DeleteService": delete_service,
    "ListServices": list_services,
    "DeleteCluster": delete_cluster,
    "ListTasks": list_tasks,
    "DescribeTasks": describe_tasks,
}


def sweep(context):
    """Advance every service and one-off task of the caller's account and region (their stopped
    tasks' network interfaces go): called before EC2 looks at interfaces, so a subnet or group
    waits for the tasks and no longer than them."""
    from . import ecs_runtask

    now = state.now()
    with state.LOCK:
        for svc in _SVC.values():
            if mine(context, svc):
                _reconcile(context, svc, now)
        ecs_runtask.release_enis(context, now)


def _patch_family_lookup():
    """A family without a revision names its newest ACTIVE revision (AWS); moto took the newest
    of all, deregistered or not."""
    from moto.ecs.exceptions import TaskDefinitionNotFoundException
    from moto.ecs.models import EC2ContainerServiceBackend

    inner = EC2ContainerServiceBackend.describe_task_definition

    def describe_task_definition(self, task_definition_str):
        name = task_definition_str.split("/")[-1]
        if ":" in name:
            return inner(self, task_definition_str)
        revisions = self.task_definitions.get(name) or {}
        active = [r for r, td in revisions.items() if getattr(td, "status", "ACTIVE") == "ACTIVE"]
        if not active:
            raise TaskDefinitionNotFoundException()
        return revisions[max(active)]

    EC2ContainerServiceBackend.describe_task_definition = describe_task_definition


_patch_family_lookup()


def _late_wrappers():
    from . import ecs_runtask

    WRAPPERS.update({"RunTask": ecs_runtask.run_task, "StopTask": ecs_runtask.stop_task})


_late_wrappers()
