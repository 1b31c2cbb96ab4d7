//! Security downgrades and risky choices, shown with the plan.

use skyforge_core::Environment;

use crate::spec::RedisSpec;

/// The warnings of `spec` in `env`.
pub(crate) fn of(s: &RedisSpec, env: &Environment) -> Vec<String> {
    let prod = env.stage().is_prod();
    let mut w = Vec::new();
    let mut warn = |cond: bool, msg: String| {
        if cond {
            w.push(format!("cache {}: {msg}", s.logical_id));
        }
    };
    warn(
        !s.at_rest_encryption,
        "not encrypted at rest (turning it on later replaces the group)".into(),
    );
    warn(
        !s.transit_encryption,
        "no TLS between clients and the cache, so no AUTH token either".into(),
    );
    warn(
        s.transit_encryption && !s.auth,
        "no AUTH token: any client in the allowed groups connects without a password".into(),
    );
    warn(
        prod && s.replicas == 0,
        "no replica in prod: a node failure loses the cache and its data".into(),
    );
    warn(
        prod && s.failover() && !s.multi_az_in(env),
        "replicas in prod but not Multi-AZ: a zone failure takes every node".into(),
    );
    warn(
        !s.final_snapshot_in(env) && !env.is_ephemeral(),
        "no final snapshot is taken on deletion".into(),
    );
    warn(
        s.allow_from.is_empty(),
        "no security group may connect (allow_from is empty)".into(),
    );
    w
}
