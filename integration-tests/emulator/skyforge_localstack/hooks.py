"""on_infra_start hook: request accounting and fault injection in the handler chain, and the
control API under /_localstack/skyforge/."""

import json

from localstack.runtime import hooks

from . import state


def _handler(chain, context, response):
    if context.service is None or context.operation is None:
        return
    from localstack.aws.api import CommonServiceException

    app = state.app_of(context.request.headers)
    service, op = context.service.service_name, context.operation.name
    state.count(app, service, op)
    fault = state.take_fault(app, service, op)
    if fault:
        code, status = fault
        raise CommonServiceException(
            code, f"skyforge harness: injected {code}", status_code=status, sender_fault=status < 500
        )


class _Calls:
    def on_get(self, request):
        from localstack.http import Response

        return Response(json.dumps(state.calls_of(request.args.get("app"))), mimetype="application/json")


class _Faults:
    def on_post(self, request):
        from localstack.http import Response

        spec = json.loads(request.data or b"{}")
        with state.LOCK:
            if "rates" in spec:
                rates = {k: float(v) for k, v in spec["rates"].items()}
                if spec.get("app"):
                    state.APP_RATES[spec["app"]] = rates
                else:
                    state.RATES.clear()
                    state.RATES.update(rates)
            for f in spec.get("faults", []):
                state.FAULTS.append(
                    {
                        "app": f.get("app"),
                        "service": f.get("service"),
                        "operation": f.get("operation"),
                        "code": f.get("code", "Throttling"),
                        "status": int(f.get("status", 400)),
                        "remaining": int(f.get("count", 1)),
                    }
                )
        return Response(json.dumps({"ok": True}), mimetype="application/json")

    def on_get(self, request):
        from localstack.http import Response

        with state.LOCK:
            body = {
                "rates": state.RATES,
                "app_rates": state.APP_RATES,
                "injected": state.INJECTED,
                "faults": state.FAULTS,
            }
            return Response(json.dumps(body), mimetype="application/json")


class _Latency:
    def on_post(self, request):
        from localstack.http import Response

        spec = json.loads(request.data or b"{}")
        with state.LOCK:
            state.APP_LATENCY[spec["app"]] = float(spec.get("scale", 0))
        return Response(json.dumps({"ok": True}), mimetype="application/json")


class _Tagging:
    """POST {"app", "lag": seconds} sets how old the app's tagging-API snapshot may get;
    POST {"app", "catch_up": true} makes its next answer fresh (see tagging.py)."""

    def on_post(self, request):
        from localstack.http import Response

        from . import tagging

        spec = json.loads(request.data or b"{}")
        tagging.control(spec["app"], spec.get("lag"), bool(spec.get("catch_up")))
        return Response(json.dumps({"ok": True}), mimetype="application/json")


class _TaskFaults:
    """POST {"faults": [{"app", "image", "stopCode", "reason", "exitCode", "seconds", "count"}]}:
    tasks whose image contains `image` stop that way (see ecs.py)."""

    def on_post(self, request):
        from localstack.http import Response

        from . import ecs

        ecs.add_faults(json.loads(request.data or b"{}"))
        return Response(json.dumps({"ok": True}), mimetype="application/json")


class _SnsConfirm:
    """POST {"endpoint": "oncall@example.com"}: a person confirms the subscriptions of that
    endpoint (AWS sent them a link; the emulator sends nothing)."""

    def on_post(self, request):
        from localstack.http import Response

        from .providers import confirm_subscriptions

        spec = json.loads(request.data or b"{}")
        n = confirm_subscriptions(spec["endpoint"])
        return Response(json.dumps({"confirmed": n}), mimetype="application/json")


def _patch_cbor_unknown_members():
    """LocalStack 4.9.2's CBOR serializer fails on members its shape does not declare (the Tags of
    a CloudWatch MetricAlarm); the other serializers drop them. Drop them here too."""
    from localstack.aws.protocol import serializer as ser

    orig = ser.BaseCBORResponseSerializer._serialize_type_structure

    def patched(self, serialized, value, shape, name=None, shape_members=None):
        members = shape_members or (shape.members if shape is not None else None)
        if members is not None and isinstance(value, dict):
            value = {k: v for k, v in value.items() if k in members}
        return orig(self, serialized, value, shape, name, shape_members)

    ser.BaseCBORResponseSerializer._serialize_type_structure = patched


def _patch_rule_descriptions():
    """Moto reports a rule's description only for CIDR peers; AWS also returns it for rules
    that reference another security group."""
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self):
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    SecurityGroupRule.description = property(description)


# Moto's backends behind the services skyforge calls (module names under moto/).
MOTO_BACKENDS = (
    "applicationautoscaling cloudwatch dynamodb ec2 ecr ecs elasticache elbv2 iam kms logs rds s3 "
    "secretsmanager servicediscovery sns ssm sts"
).split()


def _preload_moto():
    """Import moto's backends once, in this thread, before the first request: imported lazily by
    concurrent first calls (moto.logs imports moto.s3), two threads can each hold a module lock
    the other needs, and Python fails one import with "deadlock detected by _ModuleLock", which
    LocalStack answers as InternalError."""
    import importlib

    for name in MOTO_BACKENDS:
        importlib.import_module(f"moto.{name}.models")


@hooks.on_infra_start()
def install_skyforge_harness():
    from localstack.aws import handlers
    from localstack.http import Resource
    from localstack.services.internal import get_internal_apis

    from .server import _no_s3_dns_lookup

    _no_s3_dns_lookup()
    _preload_moto()
    _patch_cbor_unknown_members()
    _patch_rule_descriptions()
    handlers.serve_custom_service_request_handlers.append(_handler)
    apis = get_internal_apis()
    apis.add(Resource("/_localstack/skyforge/calls", _Calls()))
    apis.add(Resource("/_localstack/skyforge/sns-confirm", _SnsConfirm()))
    apis.add(Resource("/_localstack/skyforge/faults", _Faults()))
    apis.add(Resource("/_localstack/skyforge/latency", _Latency()))
    apis.add(Resource("/_localstack/skyforge/tagging", _Tagging()))
    apis.add(Resource("/_localstack/skyforge/ecs-task-faults", _TaskFaults()))
