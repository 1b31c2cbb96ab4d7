"""ELBv2 as AWS behaves where moto is lenient (docs/testing.md; FIDELITY rows 13 and 15).

- SetRulePriorities: the new order as a whole must be free of conflicts (a swap in one call
  is allowed, moto refused it); the default rule cannot move (`OperationNotPermitted`); 1-50000.
- CreateRule: priorities 1-50000.
- Load balancer attributes: the full default set of an ALB is described; boolean and integer
  values are checked; a load balancer with deletion protection cannot be deleted.
- CreateListener: HTTPS needs a certificate.
"""

from localstack.aws.api import CommonServiceException
from localstack.services.moto import call_moto

ALB_DEFAULTS = {
    "access_logs.s3.enabled": "false",
    "access_logs.s3.bucket": "",
    "access_logs.s3.prefix": "",
    "deletion_protection.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.preserve_host_header.enabled": "false",
    "routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
    "routing.http.xff_client_port.enabled": "false",
    "routing.http.xff_header_processing.mode": "append",
    "routing.http2.enabled": "true",
    "waf.fail_open.enabled": "false",
    "load_balancing.cross_zone.enabled": "true",
}
BOOLEAN = {k for k, v in ALB_DEFAULTS.items() if v in ("true", "false")}


def _fail(code, message, status=400):
    raise CommonServiceException(code, message, status)


def _backend(context):
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[context.account_id][context.region]


def _attrs(lb):
    merged = dict(ALB_DEFAULTS)
    merged.update(lb.attrs)
    return merged


def describe_attributes(context, request):
    lb = _backend(context).load_balancers.get(request.get("LoadBalancerArn"))
    if lb is None:
        return call_moto(context)
    return {"Attributes": [{"Key": k, "Value": v} for k, v in sorted(_attrs(lb).items())]}


def modify_attributes(context, request):
    lb = _backend(context).load_balancers.get(request.get("LoadBalancerArn"))
    if lb is None:
        return call_moto(context)
    for a in request.get("Attributes", []):
        key, value = a.get("Key"), a.get("Value", "")
        if key not in ALB_DEFAULTS:
            _fail("ValidationError", f"Load balancer attribute key '{key}' is not recognized")
        if key in BOOLEAN and value not in ("true", "false"):
            _fail("ValidationError", f"Load balancer attribute value '{value}' of '{key}' must be true or false")
        if key == "idle_timeout.timeout_seconds" and not (value.isdigit() and 1 <= int(value) <= 4000):
            _fail("ValidationError", f"Idle timeout '{value}' must be 1 to 4000 seconds")
        lb.attrs[key] = value
    return {"Attributes": [{"Key": k, "Value": v} for k, v in sorted(_attrs(lb).items())]}


def delete_load_balancer(context, request):
    lb = _backend(context).load_balancers.get(request.get("LoadBalancerArn"))
    if lb is not None and lb.attrs.get("deletion_protection.enabled") == "true":
        _fail(
            "OperationNotPermitted",
            f"Load balancer '{lb.arn}' cannot be deleted because deletion protection is enabled",
        )
    return call_moto(context)


def create_listener(context, request):
    if request.get("Protocol") == "HTTPS" and not request.get("Certificates"):
        _fail("CertificateNotFound", "A certificate must be specified for HTTPS listeners")
    return call_moto(context)


def create_rule(context, request):
    p = int(request.get("Priority", 0))
    if not 1 <= p <= 50000:
        _fail("ValidationError", f"Priority '{p}' must be between 1 and 50000")
    return call_moto(context)


def set_rule_priorities(context, request):
    backend = _backend(context)
    pairs = request.get("RulePriorities", [])
    wanted = {}
    for pair in pairs:
        p = int(pair.get("Priority", 0))
        if not 1 <= p <= 50000:
            _fail("ValidationError", f"Priority '{p}' must be between 1 and 50000")
        if p in wanted.values():
            _fail("PriorityInUse", f"Priority '{p}' is given to two rules")
        wanted[pair.get("RuleArn")] = p
    rules = {}
    for arn in wanted:
        found = backend.describe_rules(listener_arn=None, rule_arns=[arn])
        if not found:
            _fail("RuleNotFound", f"Rule '{arn}' not found", 400)
        rule = found[0]
        if rule.is_default:
            _fail("OperationNotPermitted", "The default rule's priority cannot be changed")
        rules[arn] = rule
    for arn, p in wanted.items():
        listener = backend.describe_listeners(None, [rules[arn].listener_arn])[0]
        for other in listener.rules.values():
            if other.arn not in wanted and str(other.priority) == str(p):
                _fail("PriorityInUse", f"Priority '{p}' is currently in use")
    for arn, p in wanted.items():
        rules[arn].priority = p
    return {"Rules": [{"RuleArn": arn, "Priority": str(p), "IsDefault": False} for arn, p in wanted.items()]}
