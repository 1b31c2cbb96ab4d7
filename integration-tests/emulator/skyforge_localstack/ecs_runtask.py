"""One-off ECS tasks (RunTask), as AWS runs them; moto answers 500 without DNS hostnames or
container memory, leaves ENIs behind, and never reports an exit code (FIDELITY row 17).

A task goes PROVISIONING -> PENDING -> RUNNING (40 s at scale 1), runs RUN_SECONDS, then
DEACTIVATING -> STOPPING -> DEPROVISIONING -> STOPPED with `EssentialContainerExited`, reason
"Essential container in task exited" and exit code 0; its ENI is released at STOPPED. A scripted
fault (`ecs-task-faults` with `"kind": "run-task"`) gives another exit code, stop code or
reason, and log lines. Log lines are written to the container's awslogs group and stream
(`<prefix>/<container>/<task id>`) when the task is started, as the application would write them.
"""

import time
import uuid

from localstack.aws.api import CommonServiceException

from . import ecs, state

RUN_SECONDS = 10.0
DEFAULT_LOGS = ["migration: connected", "migration: 0 pending migrations", "migration: done"]

_RUN: dict = {}  # task ARN -> (owner record, task)


def tasks_of(context, cluster):
    return [(o, t) for o, t in _RUN.values() if o["cluster"] == cluster and ecs.mine(context, o)]


def _log_config(td):
    out = []
    for c in td.container_definitions:
        opts = (c.get("logConfiguration") or {}).get("options") or {}
        if opts.get("awslogs-group"):
            out.append((c.get("name"), opts["awslogs-group"], opts.get("awslogs-stream-prefix", "ecs")))
    return out


def _write_logs(region, td, tid, lines):
    """The task's output, in its awslogs stream (first container with a log configuration)."""
    from localstack.aws.connect import connect_to

    logs = connect_to(region_name=region).logs
    for name, group, prefix in _log_config(td)[:1]:
        stream = f"{prefix}/{name}/{tid}"
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
            base = int(time.time() * 1000)
            events = [{"timestamp": base + i, "message": m} for i, m in enumerate(lines)]
            if events:
                logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        except Exception:
            # A missing group: ECS would fail the task (ResourceInitializationError); the
            # harness only loses the lines.
            pass


def _one(context, request, td, cluster, now, scale, app):
    images = [(c.get("name", ""), c.get("image", "")) for c in td.container_definitions]
    fault = ecs._fault_for(app, images, kind="run-task")
    awsvpc = (request.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    subnets = awsvpc.get("subnets") or []
    if not subnets:
        raise CommonServiceException(
            "InvalidParameterException",
            "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            400,
        )
    tid = uuid.uuid4().hex
    start = ecs.START_SECONDS * scale
    task = {
        "arn": f"arn:aws:ecs:{context.region}:{context.account_id}:task/{cluster}/{tid}",
        "deployment": None,
        "startedBy": request.get("startedBy"),
        "taskDefinition": td.arn,
        "t0": now,
        "start": start,
        "running_at": now + start,
        "stop_at": None,
        "stopped_at": None,
        "stopCode": None,
        "stoppedReason": None,
        "exitCode": None,
        "eni": ecs._create_eni(context, subnets[0], awsvpc.get("securityGroups") or []),
        "subnet": subnets[0],
        "containers": images,
        "counted": True,
    }
    if task["eni"] is None:
        raise CommonServiceException(
            "InvalidParameterException", f"Error retrieving subnet information for [{subnets[0]}]", 400
        )
    if fault:
        if fault["stopCode"] == "TaskFailedToStart":
            task["running_at"] = None
        ecs._stop(
            task, now + start + fault["seconds"] * scale, fault["stopCode"], fault["reason"], scale, fault["exitCode"]
        )
        lines = fault["logs"]
    else:
        ecs._stop(
            task,
            now + start + RUN_SECONDS * scale,
            "EssentialContainerExited",
            "Essential container in task exited",
            scale,
            0,
        )
        lines = DEFAULT_LOGS
    owner = {
        "account": context.account_id,
        "region": context.region,
        "cluster": cluster,
        "group": request.get("group") or f"family:{td.family}",
        "family": td.family,
    }
    return owner, task, lines


def run_task(context, request):
    cluster = (request.get("cluster") or "default").split("/")[-1]
    try:
        td = ecs._backend(context).describe_task_definition(request.get("taskDefinition"))
    except Exception as e:
        raise CommonServiceException("InvalidParameterException", "TaskDefinition not found.", 400) from e
    if cluster not in ecs._backend(context).clusters:
        raise CommonServiceException("ClusterNotFoundException", "Cluster not found.", 400)
    app = state.app_of(context.request.headers)
    scale = state.scale_for(app)
    now = state.now()
    made = []
    with state.LOCK:
        for _ in range(int(request.get("count") or 1)):
            owner, task, lines = _one(context, request, td, cluster, now, scale, app)
            _RUN[task["arn"]] = (owner, task)
            made.append((owner, task, lines))
    for _, task, lines in made:
        _write_logs(context.region, td, task["arn"].rsplit("/", 1)[-1], lines)
    with state.LOCK:
        views = [ecs.task_view(context, o, t, now) for o, t, _ in made]
    return {"tasks": views, "failures": []}


def stop_task(context, request):
    now = state.now()
    arn = request.get("task") or ""
    with state.LOCK:
        hit = _RUN.get(arn) or next(
            (v for k, v in _RUN.items() if k.endswith("/" + arn) and ecs.mine(context, v[0])), None
        )
        if hit is None:
            for svc in ecs._SVC.values():
                for t in svc["tasks"] if ecs.mine(context, svc) else []:
                    if t["arn"] == arn or t["arn"].endswith("/" + arn):
                        hit = (svc, t)
        if hit is None:
            raise CommonServiceException("InvalidParameterException", "The referenced task was not found.", 400)
        owner, task = hit
        if task["stop_at"] is None or task["stop_at"] > now:
            task["stop_at"] = None
            task["stopped_at"] = None
            ecs._stop(
                task,
                now,
                "UserInitiated",
                request.get("reason") or "Task stopped by user",
                owner.get("scale", state.scale_for(state.app_of(context.request.headers))),
                None,
            )
        return {"task": ecs.task_view(context, owner, task, now)}


def release_enis(context, now):
    """Network interfaces of stopped one-off tasks go (called on every listing)."""
    for owner, t in _RUN.values():
        if ecs.mine(context, owner) and ecs._task_status(t, now) == "STOPPED" and t["eni"]:
            ecs._release_eni(owner, t)
