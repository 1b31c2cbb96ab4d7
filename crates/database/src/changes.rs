//! How RDS applies each change to an instance, from the RDS API's rules (not CloudFormation's):
//! in place now, in place with a reboot or downtime, deferred to the maintenance window unless
//! applied immediately, only after a reboot, or by replacing the instance.

use crate::spec::ApplyMode;

/// How a change to one field of an instance is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Now, whatever `ApplyImmediately` says, without downtime.
    Immediate,
    /// Now, with a reboot (the port).
    ImmediateReboot,
    /// Honours `ApplyImmediately`: now when set, else at the next maintenance window; with
    /// downtime (Multi-AZ: a failover) when `downtime`.
    Deferrable {
        /// Whether the change takes the instance down for a while.
        downtime: bool,
    },
    /// Only by a new instance (and the data copied by a snapshot restore).
    Replace,
}

/// The effect of changing `field` of an instance.
pub fn effect(field: &str) -> Effect {
    match field {
        "identifier" | "engine" | "database_name" | "username" | "encrypted" | "kms_key_id" => {
            Effect::Replace
        }
        "port" => Effect::ImmediateReboot,
        "class" | "engine_version" | "subnet_group" => Effect::Deferrable { downtime: true },
        "storage_type"
        | "storage_gib"
        | "iops"
        | "throughput_mibps"
        | "multi_az"
        | "iam_authentication"
        | "backup_retention_days" => Effect::Deferrable { downtime: false },
        _ => Effect::Immediate,
    }
}

/// The plan's note on a change: when it happens and what it costs.
pub fn describe(field: &str, mode: ApplyMode, maintenance_window: Option<&str>) -> Option<String> {
    let window = match maintenance_window {
        Some(w) => format!("at the next maintenance window ({w})"),
        None => "at the next maintenance window".to_string(),
    };
    match effect(field) {
        Effect::Immediate => None,
        Effect::ImmediateReboot => Some("now, with a reboot".into()),
        Effect::Replace => Some("only by replacing the instance".into()),
        Effect::Deferrable { downtime } => {
            let when = match mode {
                ApplyMode::Immediately => "now".to_string(),
                ApplyMode::MaintenanceWindow => window,
            };
            Some(if downtime {
                format!("{when}, with downtime (a failover under Multi-AZ)")
            } else {
                when
            })
        }
    }
}

/// When a deferred change shows up as pending (`PendingModifiedValues`).
pub fn pending_note(maintenance_window: Option<&str>) -> String {
    match maintenance_window {
        Some(w) => format!("at the next maintenance window ({w})"),
        None => "at the next maintenance window".into(),
    }
}
