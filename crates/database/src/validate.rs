//! Every rule checked before any API call, each failing with the field, the value and the rule.

use skyforge_core::naming::{self, NameKind};
use skyforge_core::{Error, Result};

use crate::spec::{PostgresSpec, StorageType};
use skyforge_core::window;

/// PostgreSQL majors RDS offers in standard support (and 13, still in extended support).
pub const SUPPORTED_MAJORS: [u32; 6] = [13, 14, 15, 16, 17, 18];

/// Instance class families RDS for PostgreSQL runs on.
const FAMILIES: [&str; 16] = [
    "t3", "t4g", "m5", "m5d", "m6g", "m6gd", "m6i", "m6id", "m7g", "m7i", "r5", "r6g", "r6gd",
    "r6i", "r7g", "r7i",
];
const SIZES: [&str; 12] = [
    "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge",
    "16xlarge", "24xlarge", "32xlarge",
];

/// Retention periods CloudWatch Logs accepts, in days.
pub const LOG_RETENTION_DAYS: [u32; 22] = skyforge_logs::RETENTION_DAYS;

/// Log types RDS for PostgreSQL exports.
pub const LOG_TYPES: [&str; 3] = ["postgresql", "upgrade", "iam-db-auth-error"];

/// Names PostgreSQL or RDS reserve (not usable as the master user or the database).
const RESERVED: [&str; 12] = [
    "rdsadmin",
    "rdsrepladmin",
    "rds_superuser",
    "template0",
    "template1",
    "public",
    "user",
    "select",
    "all",
    "table",
    "column",
    "order",
];

pub(crate) fn major_of(version: &str) -> Option<u32> {
    let major = version.split('.').next()?;
    let n: u32 = major.parse().ok()?;
    let rest_ok = version
        .split('.')
        .skip(1)
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    (rest_ok && version.split('.').count() <= 2).then_some(n)
}

fn field(spec: &PostgresSpec, name: &str) -> String {
    format!("database.{}.{name}", spec.logical_id)
}

fn class(spec: &PostgresSpec) -> Result<()> {
    let parts: Vec<&str> = spec.class.split('.').collect();
    let ok = match parts.as_slice() {
        ["db", family, size] if FAMILIES.contains(family) => {
            // Burstable classes run micro to 2xlarge; the others large and up.
            let burstable = family.starts_with('t');
            let at = SIZES.iter().position(|s| s == size);
            matches!(at, Some(i) if (burstable && i <= 5) || (!burstable && i >= 3))
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(Error::validation(
        field(spec, "class"),
        &spec.class,
        format!(
            "an RDS for PostgreSQL class is db.<family>.<size> with family one of {FAMILIES:?} (t2 and older generations are not offered)"
        ),
    ))
}

fn version(spec: &PostgresSpec) -> Result<()> {
    match major_of(&spec.version) {
        Some(m) if SUPPORTED_MAJORS.contains(&m) => Ok(()),
        Some(_) => Err(Error::validation(
            field(spec, "version"),
            &spec.version,
            format!("RDS for PostgreSQL supports the majors {SUPPORTED_MAJORS:?}"),
        )),
        None => Err(Error::validation(
            field(spec, "version"),
            &spec.version,
            "a version is a major (\"16\") or major.minor (\"16.10\")",
        )),
    }
}

fn storage(spec: &PostgresSpec) -> Result<()> {
    let s = &spec.storage;
    let f = |n: &str| field(spec, &format!("storage.{n}"));
    let min = match s.kind {
        StorageType::Gp2 | StorageType::Gp3 => 20,
        StorageType::Io1 | StorageType::Io2 => 100,
    };
    if s.size_gib < min || s.size_gib > 65_536 {
        return Err(Error::validation(
            f("size_gib"),
            s.size_gib.to_string(),
            format!(
                "{} storage for PostgreSQL is {min} to 65536 GiB",
                s.kind.as_str()
            ),
        ));
    }
    if let Some(max) = s.max_gib {
        let floor = s.size_gib + s.size_gib.div_ceil(10);
        if max < floor || max > 65_536 {
            return Err(Error::validation(
                f("max_gib"),
                max.to_string(),
                format!(
                    "the autoscaling ceiling is at least 10% above the allocated {} GiB ({floor}) and at most 65536",
                    s.size_gib
                ),
            ));
        }
    }
    match s.kind {
        StorageType::Gp2 => {
            if s.iops.is_some() || s.throughput_mibps.is_some() {
                return Err(Error::validation(
                    f("iops"),
                    format!("{:?}/{:?}", s.iops, s.throughput_mibps),
                    "gp2 has no provisioned IOPS or throughput: use gp3 or io1",
                ));
            }
        }
        StorageType::Gp3 => gp3(spec)?,
        StorageType::Io1 | StorageType::Io2 => {
            let iops = s.iops.unwrap_or(0);
            if !(1000..=256_000).contains(&iops) || iops > s.size_gib * 1000 {
                return Err(Error::validation(
                    f("iops"),
                    iops.to_string(),
                    "io1/io2 need 1000 to 256000 provisioned IOPS, at most 1000 per GiB",
                ));
            }
        }
    }
    Ok(())
}

fn gp3(spec: &PostgresSpec) -> Result<()> {
    let s = &spec.storage;
    let f = |n: &str| field(spec, &format!("storage.{n}"));
    if s.size_gib < 400 {
        if let Some(i) = s.iops {
            return Err(Error::validation(
                f("iops"),
                i.to_string(),
                "gp3 below 400 GiB has a fixed 3000 IOPS baseline; IOPS can be set from 400 GiB",
            ));
        }
        if let Some(t) = s.throughput_mibps {
            return Err(Error::validation(
                f("throughput_mibps"),
                t.to_string(),
                "gp3 below 400 GiB has a fixed 125 MiB/s baseline; throughput can be set from 400 GiB",
            ));
        }
        return Ok(());
    }
    if let Some(i) = s.iops
        && !(12_000..=64_000).contains(&i)
    {
        return Err(Error::validation(
            f("iops"),
            i.to_string(),
            "gp3 from 400 GiB has a 12000 IOPS baseline and accepts 12000 to 64000",
        ));
    }
    if let Some(t) = s.throughput_mibps
        && !(500..=4000).contains(&t)
    {
        return Err(Error::validation(
            f("throughput_mibps"),
            t.to_string(),
            "gp3 from 400 GiB accepts 500 to 4000 MiB/s",
        ));
    }
    Ok(())
}

fn windows(spec: &PostgresSpec) -> Result<()> {
    if spec.backup_retention_days > 35 {
        return Err(Error::validation(
            field(spec, "backup_retention_days"),
            spec.backup_retention_days.to_string(),
            "RDS keeps automated backups 0 to 35 days",
        ));
    }
    let backup = spec
        .backup_window
        .as_deref()
        .map(|w| window::daily(&field(spec, "backup_window"), w))
        .transpose()?;
    let maint = spec
        .maintenance_window
        .as_deref()
        .map(|w| window::weekly(&field(spec, "maintenance_window"), w))
        .transpose()?;
    if let (Some(b), Some(m)) = (backup, maint)
        && b.overlaps(&m)
    {
        return Err(Error::validation(
            field(spec, "backup_window"),
            spec.backup_window.clone().unwrap_or_default(),
            format!(
                "the backup window must not overlap the maintenance window {}",
                spec.maintenance_window.clone().unwrap_or_default()
            ),
        ));
    }
    Ok(())
}

fn pg_identifier(spec: &PostgresSpec, name: &str, value: &str) -> Result<()> {
    let ok = !value.is_empty()
        && value.len() <= 63
        && value.starts_with(|c: char| c.is_ascii_alphabetic())
        && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&value.to_ascii_lowercase().as_str());
    if ok {
        return Ok(());
    }
    Err(Error::validation(
        field(spec, name),
        value,
        "1 to 63 letters, digits and _, starting with a letter, not a reserved word (rdsadmin, template0, user, ...)",
    ))
}

fn names(spec: &PostgresSpec) -> Result<()> {
    naming::validate_logical_id("database.logical_id", &spec.logical_id)?;
    pg_identifier(spec, "database_name", &spec.database_name)?;
    pg_identifier(spec, "username", &spec.username)?;
    if let Some(id) = &spec.identifier
        && !naming::is_valid(NameKind::DbInstance, id)
    {
        return Err(Error::validation(
            field(spec, "identifier"),
            id,
            "an RDS identifier is 1 to 63 lowercase letters, digits and single hyphens, starting with a letter",
        ));
    }
    if let Some(n) = &spec.url_secret_name
        && !skyforge_secrets::valid_secret_name(n)
    {
        return Err(Error::validation(
            field(spec, "url_secret_name"),
            n,
            skyforge_secrets::SECRET_NAME_RULE,
        ));
    }
    if let Some(p) = &spec.url_parameter {
        let ok = p.starts_with('/')
            && p.len() <= 1011
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/_.-".contains(c));
        if !ok {
            return Err(Error::validation(
                field(spec, "url_parameter"),
                p,
                "an SSM parameter path starts with / and holds letters, digits and /_.-",
            ));
        }
    }
    if !(1150..=65_535).contains(&spec.port) {
        return Err(Error::validation(
            field(spec, "port"),
            spec.port.to_string(),
            "RDS for PostgreSQL listens on a port from 1150 to 65535",
        ));
    }
    Ok(())
}

fn network(spec: &PostgresSpec) -> Result<()> {
    let subnets = &spec.subnets.0;
    let mut zones: Vec<usize> = subnets.iter().map(|s| s.index).collect();
    zones.sort_unstable();
    zones.dedup();
    if zones.len() < 2 {
        return Err(Error::validation(
            field(spec, "subnets"),
            format!("{} subnet(s) in {} zone(s)", subnets.len(), zones.len()),
            "a DB subnet group needs subnets in at least two availability zones",
        ));
    }
    Ok(())
}

fn observability(spec: &PostgresSpec) -> Result<()> {
    for t in &spec.log_exports {
        if !LOG_TYPES.contains(&t.as_str()) {
            return Err(Error::validation(
                field(spec, "log_exports"),
                t,
                format!("RDS for PostgreSQL exports {LOG_TYPES:?}"),
            ));
        }
    }
    if !LOG_RETENTION_DAYS.contains(&spec.log_retention_days) {
        return Err(Error::validation(
            field(spec, "log_retention_days"),
            spec.log_retention_days.to_string(),
            format!("CloudWatch Logs accepts {LOG_RETENTION_DAYS:?}"),
        ));
    }
    if let Some(d) = spec.performance_insights_days {
        let ok = d == 7 || (d % 31 == 0 && (31..=713).contains(&d)) || d == 731;
        if !ok {
            return Err(Error::validation(
                field(spec, "performance_insights_days"),
                d.to_string(),
                "Performance Insights keeps 7 days, a number of months (31 x 1..23) or 731 days",
            ));
        }
    }
    Ok(())
}

fn parameters(spec: &PostgresSpec) -> Result<()> {
    for (name, p) in &spec.parameters {
        let ok_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._".contains(c));
        if !ok_name || name == "rds.force_ssl" {
            return Err(Error::validation(
                field(spec, &format!("parameters.{name}")),
                &p.value,
                "a parameter name is letters, digits, . and _ (rds.force_ssl is set by force_ssl)",
            ));
        }
    }
    if spec.kms_key_id.is_some() && !spec.encrypted {
        return Err(Error::validation(
            field(spec, "kms_key_id"),
            spec.kms_key_id.clone().unwrap_or_default(),
            "a KMS key encrypts storage: it needs encrypted(true)",
        ));
    }
    Ok(())
}

/// Check the whole spec.
pub(crate) fn spec(spec: &PostgresSpec) -> Result<()> {
    names(spec)?;
    version(spec)?;
    class(spec)?;
    storage(spec)?;
    windows(spec)?;
    network(spec)?;
    observability(spec)?;
    parameters(spec)
}
