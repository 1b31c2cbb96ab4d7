//! Security downgrades and slow choices, shown with the plan.

use skyforge_core::Environment;

use crate::spec::LoadBalancerSpec;

/// The warnings of `spec` in `env`.
pub(crate) fn of(s: &LoadBalancerSpec, env: &Environment) -> Vec<String> {
    let mut w = Vec::new();
    let id = &s.logical_id;
    if !s.https() {
        w.push(format!(
            "load balancer {id}: no certificate, so HTTP only: traffic is not encrypted"
        ));
    }
    if !s.drop_invalid_header_fields {
        w.push(format!(
            "load balancer {id}: requests with invalid header fields reach the targets"
        ));
    }
    if env.stage().is_prod() && s.access_log_days.is_none() {
        w.push(format!(
            "load balancer {id}: no access logs in prod (access_log_days)"
        ));
    }
    if env.stage().is_prod() && !s.protected_in(env) {
        w.push(format!(
            "load balancer {id}: deletion protection is off in prod"
        ));
    }
    for r in &s.routes {
        if r.deregistration_delay_secs > 60 {
            w.push(format!(
                "route {}: a deregistration delay of {} s slows every rollout (30 s is the default)",
                r.name, r.deregistration_delay_secs
            ));
        }
        if r.health.healthy_threshold * r.health.interval_secs > 60 {
            w.push(format!(
                "route {}: a new target needs {} s of healthy checks before it takes traffic",
                r.name,
                r.health.healthy_threshold * r.health.interval_secs
            ));
        }
    }
    w
}
