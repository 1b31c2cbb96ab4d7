//! Every rule checked before any API call, each failing with the field, the value and the rule.

use skyforge_core::naming::{self, NameKind};
use skyforge_core::{Error, Result, window};

use crate::spec::{Engine, RedisSpec};

/// Versions ElastiCache offers, by engine.
pub const REDIS_VERSIONS: [&str; 4] = ["6.0", "6.2", "7.0", "7.1"];
/// Valkey versions ElastiCache offers.
pub const VALKEY_VERSIONS: [&str; 3] = ["7.2", "8.0", "8.1"];

const FAMILIES: [&str; 8] = ["t3", "t4g", "m5", "m6g", "m7g", "r5", "r6g", "r7g"];
const SIZES: [&str; 9] = [
    "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge",
];

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = skyforge_logs::RETENTION_DAYS;

/// The parameter group family of `engine` at `version`.
pub fn family(engine: Engine, version: &str) -> String {
    let major = version.split('.').next().unwrap_or("7");
    match (engine, major) {
        (Engine::Redis, "6") => "redis6.x".into(),
        (Engine::Redis, m) => format!("redis{m}"),
        (Engine::Valkey, m) => format!("valkey{m}"),
    }
}

fn field(spec: &RedisSpec, name: &str) -> String {
    format!("cache.{}.{name}", spec.logical_id)
}

fn fail(spec: &RedisSpec, name: &str, value: impl ToString, rule: impl Into<String>) -> Error {
    Error::validation(field(spec, name), value.to_string(), rule.into())
}

fn node(spec: &RedisSpec) -> Result<()> {
    let parts: Vec<&str> = spec.node_type.split('.').collect();
    let ok = match parts.as_slice() {
        ["cache", family, size] if FAMILIES.contains(family) => {
            let at = SIZES.iter().position(|s| s == size);
            let burstable = family.starts_with('t');
            matches!(at, Some(i) if (burstable && i <= 2) || (!burstable && i >= 3))
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(fail(
        spec,
        "node_type",
        &spec.node_type,
        format!(
            "a node type is cache.<family>.<size> with family one of {FAMILIES:?} (t2 and older generations are not offered)"
        ),
    ))
}

fn version(spec: &RedisSpec) -> Result<()> {
    let known: &[&str] = match spec.engine {
        Engine::Redis => &REDIS_VERSIONS,
        Engine::Valkey => &VALKEY_VERSIONS,
    };
    if known.contains(&spec.version.as_str()) {
        return Ok(());
    }
    Err(fail(
        spec,
        "version",
        &spec.version,
        format!(
            "{} versions are {known:?} (major.minor)",
            spec.engine.as_str()
        ),
    ))
}

fn availability(spec: &RedisSpec) -> Result<()> {
    if spec.replicas > 5 {
        return Err(fail(
            spec,
            "replicas",
            spec.replicas,
            "a shard has at most 5 replicas",
        ));
    }
    if let Some(n) = spec.shards
        && !(1..=500).contains(&n)
    {
        return Err(fail(spec, "shards", n, "cluster mode has 1 to 500 shards"));
    }
    if spec.shards.is_some() && !spec.failover() {
        return Err(fail(
            spec,
            "automatic_failover",
            "false",
            "cluster mode enabled needs automatic failover",
        ));
    }
    if spec.failover() && spec.replicas == 0 && spec.shards.is_none() {
        return Err(fail(
            spec,
            "automatic_failover",
            "true",
            "automatic failover needs at least one replica",
        ));
    }
    if spec.multi_az == Some(true) && !spec.failover() {
        return Err(fail(
            spec,
            "multi_az",
            "true",
            "Multi-AZ needs automatic failover",
        ));
    }
    let mut zones: Vec<usize> = spec.subnets.0.iter().map(|s| s.index).collect();
    zones.sort_unstable();
    zones.dedup();
    if zones.is_empty() || (spec.multi_az == Some(true) && zones.len() < 2) {
        return Err(fail(
            spec,
            "subnets",
            format!(
                "{} subnet(s) in {} zone(s)",
                spec.subnets.0.len(),
                zones.len()
            ),
            "a cache subnet group needs a subnet, and Multi-AZ subnets in two zones",
        ));
    }
    Ok(())
}

fn security(spec: &RedisSpec) -> Result<()> {
    if spec.auth && !spec.transit_encryption {
        return Err(fail(
            spec,
            "auth",
            "true",
            "an AUTH token needs encryption in transit (transit_encryption(true))",
        ));
    }
    if !(16..=128).contains(&spec.token_length) {
        return Err(fail(
            spec,
            "token_length",
            spec.token_length,
            "an AUTH token is 16 to 128 characters",
        ));
    }
    if spec.kms_key_id.is_some() && !spec.at_rest_encryption {
        return Err(fail(
            spec,
            "kms_key_id",
            spec.kms_key_id.clone().unwrap_or_default(),
            "a KMS key encrypts at rest: it needs at_rest_encryption(true)",
        ));
    }
    if !(1024..=65_535).contains(&spec.port) {
        return Err(fail(spec, "port", spec.port, "a port from 1024 to 65535"));
    }
    Ok(())
}

fn windows(spec: &RedisSpec) -> Result<()> {
    if spec.snapshot_retention_days.is_some_and(|d| d > 35) {
        return Err(fail(
            spec,
            "snapshot_retention_days",
            spec.snapshot_retention_days.unwrap_or_default(),
            "ElastiCache keeps automatic snapshots 0 to 35 days",
        ));
    }
    let snap = spec
        .snapshot_window
        .as_deref()
        .map(|w| window::daily(&field(spec, "snapshot_window"), w))
        .transpose()?;
    let maint = spec
        .maintenance_window
        .as_deref()
        .map(|w| window::weekly(&field(spec, "maintenance_window"), w))
        .transpose()?;
    if let (Some(s), Some(m)) = (snap, maint)
        && s.overlaps(&m)
    {
        return Err(fail(
            spec,
            "snapshot_window",
            spec.snapshot_window.clone().unwrap_or_default(),
            format!(
                "the snapshot window must not overlap the maintenance window {}",
                spec.maintenance_window.clone().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

fn names(spec: &RedisSpec) -> Result<()> {
    naming::validate_logical_id("cache.logical_id", &spec.logical_id)?;
    if let Some(id) = &spec.identifier
        && !naming::is_valid(NameKind::CacheCluster, id)
    {
        return Err(fail(
            spec,
            "identifier",
            id,
            "a replication group id is 1 to 40 lowercase letters, digits and single hyphens, starting with a letter",
        ));
    }
    if let Some(n) = &spec.url_secret_name
        && !skyforge_secrets::valid_secret_name(n)
    {
        return Err(fail(
            spec,
            "url_secret_name",
            n,
            skyforge_secrets::SECRET_NAME_RULE,
        ));
    }
    if !LOG_RETENTION_DAYS.contains(&spec.log_retention_days) {
        return Err(fail(
            spec,
            "log_retention_days",
            spec.log_retention_days,
            format!("CloudWatch Logs accepts {LOG_RETENTION_DAYS:?}"),
        ));
    }
    for (name, value) in &spec.parameters {
        let ok = name != "cluster-enabled"
            && !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !ok || value.is_empty() {
            return Err(fail(
                spec,
                &format!("parameters.{name}"),
                value,
                "a parameter is a lowercase name (maxmemory-policy) with a value; cluster-enabled follows shards",
            ));
        }
    }
    Ok(())
}

/// Check the whole spec.
pub(crate) fn spec(spec: &RedisSpec) -> Result<()> {
    names(spec)?;
    version(spec)?;
    node(spec)?;
    availability(spec)?;
    security(spec)?;
    windows(spec)
}
