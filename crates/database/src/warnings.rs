//! Security downgrades and risky choices, shown with the plan.

use skyforge_core::Environment;

use crate::spec::PostgresSpec;

/// The warnings of `spec` in `env`.
pub(crate) fn of(s: &PostgresSpec, env: &Environment) -> Vec<String> {
    let prod = env.stage().is_prod();
    let mut w = Vec::new();
    let mut warn = |cond: bool, msg: String| {
        if cond {
            w.push(format!("database {}: {msg}", s.logical_id));
        }
    };
    warn(
        !s.encrypted,
        "storage is not encrypted at rest (turning it on later replaces the instance)".into(),
    );
    warn(
        !s.force_ssl,
        "rds.force_ssl is off: clients may connect without TLS".into(),
    );
    warn(
        s.backup_retention_days == 0 && !env.is_ephemeral(),
        "automated backups are off (backup_retention_days = 0): no point-in-time recovery".into(),
    );
    warn(
        prod && (1..7).contains(&s.backup_retention_days),
        format!(
            "backups are kept {} days in prod (at least 7 recommended)",
            s.backup_retention_days
        ),
    );
    warn(
        prod && !s.multi_az_in(env),
        "single-AZ in prod: a zone failure or a class change takes the database down".into(),
    );
    warn(
        !s.protected_in(env) && !env.is_ephemeral(),
        "deletion protection is off".into(),
    );
    warn(
        !s.snapshot_in(env) && !env.is_ephemeral(),
        "no final snapshot is taken on deletion".into(),
    );
    warn(
        s.allow_from.is_empty(),
        "no security group may connect (allow_from is empty)".into(),
    );
    warn(
        s.class.starts_with("db.t") && prod,
        format!(
            "{} is burstable: sustained load exhausts its CPU credits",
            s.class
        ),
    );
    w
}
