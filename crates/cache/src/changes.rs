//! How ElastiCache applies each change to a replication group, from its API's rules: in place
//! now, in place with a brief failover (deferrable to the maintenance window), by adding or
//! removing replicas, or by replacing the group.

use skyforge_core::window::ApplyMode;

/// How a change to one field of a replication group is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Now, without interruption.
    Immediate,
    /// Honours `ApplyImmediately`: now when set, else at the next maintenance window; with a
    /// brief interruption while a node fails over.
    Deferrable,
    /// Now, one node at a time (`IncreaseReplicaCount` / `DecreaseReplicaCount`).
    Replicas,
    /// Now, the AUTH token replaced (strategy `SET`): clients with the old token are refused.
    Token,
    /// Only by a new replication group.
    Replace,
}

/// The effect of changing `field` of a replication group.
pub fn effect(field: &str) -> Effect {
    match field {
        "identifier" | "engine" | "port" | "subnet_group" | "at_rest_encryption" | "kms_key_id"
        | "transit_encryption" | "auth" | "cluster_mode" => Effect::Replace,
        "node_type" | "engine_version" => Effect::Deferrable,
        "replicas" | "shards" => Effect::Replicas,
        "auth_token" => Effect::Token,
        _ => Effect::Immediate,
    }
}

/// The plan's note on a change: when it happens and what it costs.
pub fn describe(field: &str, mode: ApplyMode, maintenance_window: Option<&str>) -> Option<String> {
    match effect(field) {
        Effect::Immediate => None,
        Effect::Replace => Some("only by replacing the replication group".into()),
        Effect::Replicas => Some("now, nodes added or removed online".into()),
        Effect::Token => Some("now; clients must use the new token (strategy SET)".into()),
        Effect::Deferrable => Some(match mode {
            ApplyMode::Immediately => "now, with a brief failover".into(),
            ApplyMode::MaintenanceWindow => format!(
                "{}, with a brief failover",
                pending_note(maintenance_window)
            ),
        }),
    }
}

/// When a deferred change applies.
pub fn pending_note(maintenance_window: Option<&str>) -> String {
    match maintenance_window {
        Some(w) => format!("at the next maintenance window ({w})"),
        None => "at the next maintenance window".into(),
    }
}
