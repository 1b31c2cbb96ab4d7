//! An instance's fields: what the spec wants, what DescribeDBInstances shows, and the diff
//! between them under RDS's rules (major versions only, storage as a floor, notes on when each
//! change applies, pending values).

use std::collections::BTreeMap;

use aws_sdk_rds::types::DbInstance;
use skyforge_core::plan::{Action, FieldDiff};
use skyforge_core::resource::{diff_fields, is_older_version, refine, same_kms_key};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Environment, Field, Fields, Inputs, Observed, Pending, Value};

use crate::changes;
use crate::instance::InstanceNode;

/// Tag recording which password the instance was given: a digest of the rotation token and the
/// credentials secret's version (never the password).
pub const PASSWORD_TAG: &str = "skyforge:password";

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

impl InstanceNode {
    pub(crate) fn desired_tags(&self, env: &Environment, password: Option<&str>) -> Tags {
        let mut t = tags::resource_tags(env, &self.spec.logical_id);
        if let Some(p) = password {
            t.insert(PASSWORD_TAG.into(), p.to_string());
        }
        t
    }

    /// The password tag's value for the current inputs, or `None` while the credentials
    /// secret's version is unknown.
    pub(crate) fn password_digest(&self, inputs: &Inputs) -> Option<String> {
        let version = inputs.get(&self.wiring.credentials_version)?;
        Some(skyforge_core::naming::short_hash(&[
            &self.spec.password_rotation,
            &version,
        ]))
    }

    pub(crate) fn desired_fields(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let s = &self.spec;
        let mut f = Fields::new();
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_string(), Field::new(v));
        };
        put("engine_version", Value::str(s.major().to_string()));
        put("class", Value::str(&s.class));
        put("storage_type", Value::str(s.storage.kind.as_str()));
        put("storage_gib", Value::of(s.storage.size_gib));
        put("max_storage_gib", Value::of(s.storage.max_gib));
        put("iops", Value::of(s.storage.iops));
        put("throughput_mibps", Value::of(s.storage.throughput_mibps));
        put("multi_az", Value::of(s.multi_az_in(env)));
        put("backup_retention_days", Value::of(s.backup_retention_days));
        put("publicly_accessible", Value::of(false));
        put("deletion_protection", Value::of(s.protected_in(env)));
        put(
            "performance_insights_days",
            Value::of(s.performance_insights_days),
        );
        put("log_exports", Value::of(sorted(s.log_exports.clone())));
        put("iam_authentication", Value::of(s.iam_authentication));
        put(
            "auto_minor_version_upgrade",
            Value::of(s.auto_minor_version_upgrade),
        );
        put("copy_tags_to_snapshot", Value::of(true));
        put("port", Value::of(s.port));
        put("parameter_status", Value::str("in-sync"));
        put(
            "parameter_group",
            self.wiring.parameter_group.plan_value(inputs),
        );
        put("subnet_group", self.wiring.subnet_group.plan_value(inputs));
        put(
            "security_groups",
            self.wiring
                .security_group
                .resolve(inputs)
                .map(|g| Value::of(vec![g]))
                .unwrap_or(Value::Unknown),
        );
        put(
            "password",
            self.password_digest(inputs)
                .map(|d| Value::sensitive(&d))
                .unwrap_or(Value::Unknown),
        );
        put(
            "tags",
            Value::of(self.desired_tags(env, self.password_digest(inputs).as_deref())),
        );
        if let Some(w) = &s.backup_window {
            put("backup_window", Value::str(w));
        }
        if let Some(w) = &s.maintenance_window {
            put("maintenance_window", Value::str(window_norm(w)));
        }
        for (k, v) in [
            ("identifier", Value::str(self.identifier(env))),
            ("engine", Value::str("postgres")),
            ("database_name", Value::str(&s.database_name)),
            ("username", Value::str(&s.username)),
            ("encrypted", Value::of(s.encrypted)),
        ] {
            f.insert(k.into(), Field::new(v).force_new());
        }
        if let Some(k) = &s.kms_key_id {
            f.insert("kms_key_id".into(), Field::new(Value::str(k)).force_new());
        }
        f
    }

    /// Compare under RDS's rules; see the module documentation.
    pub(crate) fn diff_instance(&self, desired: &Fields, o: &Observed) -> Action {
        let window = o
            .fields
            .get("maintenance_window")
            .and_then(Value::known)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let rule = |mut d: FieldDiff| {
            match d.field.as_str() {
                "storage_gib" if storage_at_least(&d) => return None,
                "kms_key_id" if same_kms_key(&d) => return None,
                "engine_version" => d.forces_replacement = is_older_version(&d),
                _ => {}
            }
            d.note = changes::describe(&d.field, self.mode, window.as_deref());
            Some(d)
        };
        refine(diff_fields(desired, o), rule, |forcing| {
            format!(
                "{} cannot change in place on RDS (only a new instance restored from a snapshot)",
                forcing.join(", ")
            )
        })
    }
}

fn number(v: &Option<Value>) -> Option<u64> {
    v.as_ref()?.known()?.as_u64()
}

/// Storage never shrinks, and under autoscaling it grows: a larger size is not drift.
fn storage_at_least(d: &FieldDiff) -> bool {
    matches!((number(&d.old), number(&d.new)), (Some(old), Some(new)) if old >= new)
}

pub(crate) fn window_norm(w: &str) -> String {
    skyforge_core::window::normalise(w)
}

/// The fields of an instance as RDS describes it.
pub(crate) fn observed_fields(i: &DbInstance, desired_tags: &Tags) -> BTreeMap<String, Value> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_string(), v);
    };
    let major = i
        .engine_version()
        .and_then(|v| v.split('.').next())
        .unwrap_or_default();
    put(
        "identifier",
        Value::str(i.db_instance_identifier().unwrap_or_default()),
    );
    put("engine", Value::str(i.engine().unwrap_or_default()));
    put("engine_version", Value::str(major));
    put(
        "class",
        Value::str(i.db_instance_class().unwrap_or_default()),
    );
    put(
        "storage_type",
        Value::str(i.storage_type().unwrap_or_default()),
    );
    put("storage_gib", Value::of(i.allocated_storage()));
    put("max_storage_gib", Value::of(i.max_allocated_storage()));
    let gp3_base = i.storage_type() == Some("gp3") && i.allocated_storage().unwrap_or(0) < 400;
    let provisioned = |v: Option<i32>| if gp3_base { None } else { v };
    put("iops", Value::of(provisioned(i.iops())));
    put(
        "throughput_mibps",
        Value::of(provisioned(i.storage_throughput())),
    );
    put("multi_az", Value::of(i.multi_az().unwrap_or(false)));
    put(
        "backup_retention_days",
        Value::of(i.backup_retention_period().unwrap_or(0)),
    );
    put(
        "publicly_accessible",
        Value::of(i.publicly_accessible().unwrap_or(false)),
    );
    put(
        "deletion_protection",
        Value::of(i.deletion_protection().unwrap_or(false)),
    );
    let pi = if i.performance_insights_enabled().unwrap_or(false) {
        i.performance_insights_retention_period()
    } else {
        None
    };
    put("performance_insights_days", Value::of(pi));
    put(
        "log_exports",
        Value::of(sorted(i.enabled_cloudwatch_logs_exports().to_vec())),
    );
    put(
        "iam_authentication",
        Value::of(i.iam_database_authentication_enabled().unwrap_or(false)),
    );
    put(
        "auto_minor_version_upgrade",
        Value::of(i.auto_minor_version_upgrade().unwrap_or(false)),
    );
    put(
        "copy_tags_to_snapshot",
        Value::of(i.copy_tags_to_snapshot().unwrap_or(false)),
    );
    put(
        "port",
        Value::of(
            i.db_instance_port()
                .or(i.endpoint().and_then(|e| e.port()))
                .unwrap_or(0),
        ),
    );
    let pg = i.db_parameter_groups().first();
    put(
        "parameter_group",
        Value::str(
            pg.and_then(|g| g.db_parameter_group_name())
                .unwrap_or_default(),
        ),
    );
    put(
        "parameter_status",
        Value::str(
            pg.and_then(|g| g.parameter_apply_status())
                .unwrap_or("in-sync"),
        ),
    );
    put(
        "subnet_group",
        Value::str(
            i.db_subnet_group()
                .and_then(|g| g.db_subnet_group_name())
                .unwrap_or_default(),
        ),
    );
    put(
        "security_groups",
        Value::of(sorted(
            i.vpc_security_groups()
                .iter()
                .filter_map(|g| g.vpc_security_group_id().map(str::to_string))
                .collect(),
        )),
    );
    put("database_name", Value::str(i.db_name().unwrap_or_default()));
    put(
        "username",
        Value::str(i.master_username().unwrap_or_default()),
    );
    put(
        "encrypted",
        Value::of(i.storage_encrypted().unwrap_or(false)),
    );
    put("kms_key_id", Value::of(i.kms_key_id()));
    if let Some(w) = i.preferred_backup_window() {
        put("backup_window", Value::str(w));
    }
    if let Some(w) = i.preferred_maintenance_window() {
        put("maintenance_window", Value::str(window_norm(w)));
    }
    let found = instance_tags(i);
    if let Some(p) = found.get(PASSWORD_TAG) {
        put("password", Value::sensitive(p));
    }
    put("tags", Value::of(tags::managed_view(desired_tags, &found)));
    f
}

pub(crate) fn instance_tags(i: &DbInstance) -> Tags {
    i.tag_list()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// Changes RDS accepted but applies later (`PendingModifiedValues`), and parameters waiting for
/// a reboot.
pub(crate) fn pending(i: &DbInstance, window: Option<&str>) -> BTreeMap<String, Pending> {
    let mut out = BTreeMap::new();
    let at_window = changes::pending_note(window);
    let mut put = |k: &str, v: Value| {
        out.insert(
            k.to_string(),
            Pending {
                value: v,
                applies: at_window.clone(),
            },
        );
    };
    if let Some(p) = i.pending_modified_values() {
        if let Some(c) = p.db_instance_class() {
            put("class", Value::str(c));
        }
        if let Some(s) = p.allocated_storage() {
            put("storage_gib", Value::of(s));
        }
        if let Some(m) = p.multi_az() {
            put("multi_az", Value::of(m));
        }
        if let Some(v) = p.engine_version() {
            put(
                "engine_version",
                Value::str(v.split('.').next().unwrap_or(v)),
            );
        }
        if let Some(b) = p.backup_retention_period() {
            put("backup_retention_days", Value::of(b));
        }
        if let Some(t) = p.storage_type() {
            put("storage_type", Value::str(t));
        }
        if let Some(n) = p.iops() {
            put("iops", Value::of(Some(n)));
        }
        if let Some(n) = p.storage_throughput() {
            put("throughput_mibps", Value::of(Some(n)));
        }
        if let Some(g) = p.db_subnet_group_name() {
            put("subnet_group", Value::str(g));
        }
        if let Some(a) = p.iam_database_authentication_enabled() {
            put("iam_authentication", Value::of(a));
        }
    }
    let reboot = i
        .db_parameter_groups()
        .iter()
        .any(|g| g.parameter_apply_status() == Some("pending-reboot"));
    if reboot {
        out.insert(
            "parameter_status".into(),
            Pending {
                value: Value::str("in-sync"),
                applies: "after the next reboot (static parameters)".into(),
            },
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(field: &str, old: Value, new: Value) -> FieldDiff {
        FieldDiff {
            field: field.into(),
            old: Some(old),
            new: Some(new),
            forces_replacement: false,
            note: None,
        }
    }

    #[test]
    fn storage_is_a_floor() {
        assert!(storage_at_least(&diff(
            "storage_gib",
            Value::of(120),
            Value::of(100)
        )));
        assert!(storage_at_least(&diff(
            "storage_gib",
            Value::of(100),
            Value::of(100)
        )));
        assert!(!storage_at_least(&diff(
            "storage_gib",
            Value::of(100),
            Value::of(120)
        )));
    }

    #[test]
    fn only_an_older_major_is_a_downgrade() {
        assert!(is_older_version(&diff(
            "engine_version",
            Value::str("16"),
            Value::str("15")
        )));
        assert!(!is_older_version(&diff(
            "engine_version",
            Value::str("15"),
            Value::str("16")
        )));
    }

    #[test]
    fn a_key_id_matches_its_arn() {
        let arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd";
        assert!(same_kms_key(&diff(
            "kms_key_id",
            Value::str(arn),
            Value::str("1234abcd")
        )));
        assert!(same_kms_key(&diff(
            "kms_key_id",
            Value::str(arn),
            Value::str(arn)
        )));
        assert!(!same_kms_key(&diff(
            "kms_key_id",
            Value::str(arn),
            Value::str("other")
        )));
    }

    #[test]
    fn notes_say_when_a_change_applies() {
        use crate::spec::ApplyMode;
        let w = Some("sun:02:00-sun:04:00");
        assert_eq!(
            changes::describe("class", ApplyMode::MaintenanceWindow, w).as_deref(),
            Some(
                "at the next maintenance window (sun:02:00-sun:04:00), with downtime (a failover under Multi-AZ)"
            )
        );
        assert_eq!(
            changes::describe("multi_az", ApplyMode::Immediately, w).as_deref(),
            Some("now")
        );
        assert_eq!(
            changes::describe("port", ApplyMode::MaintenanceWindow, w).as_deref(),
            Some("now, with a reboot")
        );
        assert_eq!(
            changes::describe("deletion_protection", ApplyMode::Immediately, w),
            None
        );
        assert_eq!(
            changes::describe("encrypted", ApplyMode::Immediately, w).as_deref(),
            Some("only by replacing the instance")
        );
    }
}
