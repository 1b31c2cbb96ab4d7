//! A replication group's fields: what the spec wants, what ElastiCache shows (the group and its
//! first member cluster), and the diff under ElastiCache's rules.

use std::collections::BTreeMap;

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use skyforge_core::plan::{Action, FieldDiff};
use skyforge_core::resource::{diff_fields, is_older_version, refine, same_kms_key};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Environment, Field, Fields, Inputs, Observed, Pending, Value};

use crate::changes;
use crate::group::GroupNode;

/// Tag recording which AUTH token the group was given: a digest of the rotation token and the
/// token secret's version (never the token).
pub const TOKEN_TAG: &str = "skyforge:auth-token";

fn major_minor(v: &str) -> String {
    v.split('.').take(2).collect::<Vec<_>>().join(".")
}

impl GroupNode {
    pub(crate) fn desired_tags(&self, env: &Environment, token: Option<&str>) -> Tags {
        let mut t = tags::resource_tags(env, &self.spec.logical_id);
        if let Some(d) = token {
            t.insert(TOKEN_TAG.into(), d.to_string());
        }
        t
    }

    /// The token tag's value for the current inputs; `None` while the token secret's version
    /// is unknown, or when the group has no token.
    pub(crate) fn token_digest(&self, inputs: &Inputs) -> Option<String> {
        let version = inputs.get(self.wiring.token_version.as_ref()?)?;
        Some(skyforge_core::naming::short_hash(&[
            &self.spec.token_rotation,
            &version,
        ]))
    }

    pub(crate) fn desired_fields(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let s = &self.spec;
        let mut f = Fields::new();
        let mut put = |k: &str, v: Value| {
            f.insert(k.to_string(), Field::new(v));
        };
        put("engine_version", Value::str(&s.version));
        put("node_type", Value::str(&s.node_type));
        put("replicas", Value::of(s.replicas));
        if let Some(n) = s.shards {
            put("shards", Value::of(n));
        }
        put("automatic_failover", Value::of(s.failover()));
        put("multi_az", Value::of(s.multi_az_in(env)));
        put(
            "security_groups",
            self.wiring
                .security_group
                .resolve(inputs)
                .map(|g| Value::of(vec![g]))
                .unwrap_or(Value::Unknown),
        );
        put(
            "parameter_group",
            self.wiring.parameter_group.plan_value(inputs),
        );
        put("snapshot_retention_days", Value::of(s.snapshots_in(env)));
        put("slow_log", Value::of(self.wiring.slow_log.clone()));
        put("auto_minor_version_upgrade", Value::of(true));
        if s.authenticated() {
            put(
                "auth_token",
                self.token_digest(inputs)
                    .map(|d| Value::sensitive(&d))
                    .unwrap_or(Value::Unknown),
            );
        }
        put(
            "tags",
            Value::of(self.desired_tags(env, self.token_digest(inputs).as_deref())),
        );
        if let Some(w) = &s.snapshot_window {
            put("snapshot_window", Value::str(w));
        }
        if let Some(w) = &s.maintenance_window {
            put("maintenance_window", Value::str(w.to_ascii_lowercase()));
        }
        for (k, v) in [
            ("identifier", Value::str(self.identifier(env))),
            ("engine", Value::str(s.engine.as_str())),
            ("port", Value::of(s.port)),
            ("subnet_group", self.wiring.subnet_group.plan_value(inputs)),
            ("at_rest_encryption", Value::of(s.at_rest_encryption)),
            ("transit_encryption", Value::of(s.transit_encryption)),
            ("auth", Value::of(s.authenticated())),
            ("cluster_mode", Value::of(s.shards.is_some())),
        ] {
            f.insert(k.into(), Field::new(v).force_new());
        }
        if let Some(k) = &s.kms_key_id {
            f.insert("kms_key_id".into(), Field::new(Value::str(k)).force_new());
        }
        f
    }

    /// Compare under ElastiCache's rules: an older engine version replaces, a key id matches its
    /// ARN, and every change says when it applies.
    pub(crate) fn diff_group(&self, desired: &Fields, o: &Observed) -> Action {
        let window = o
            .fields
            .get("maintenance_window")
            .and_then(Value::known)
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let rule = |mut d: FieldDiff| {
            match d.field.as_str() {
                "kms_key_id" if same_kms_key(&d) => return None,
                // The port is only described with an endpoint (not while `creating`).
                "port" if d.old.is_none() => return None,
                "engine_version" => d.forces_replacement = is_older_version(&d),
                _ => {}
            }
            d.note = changes::describe(&d.field, self.mode, window.as_deref());
            Some(d)
        };
        refine(diff_fields(desired, o), rule, |forcing| {
            format!(
                "{} cannot change in place on ElastiCache",
                forcing.join(", ")
            )
        })
    }
}

/// The fields of a group as ElastiCache describes it (the group, and its first member for the
/// settings only members carry).
pub(crate) fn observed_fields(
    g: &ReplicationGroup,
    member: Option<&CacheCluster>,
    desired_tags: &Tags,
    found: &Tags,
) -> BTreeMap<String, Value> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: Value| {
        f.insert(k.to_string(), v);
    };
    let enabled = |s: Option<&str>| matches!(s, Some("enabled") | Some("enabling"));
    put(
        "identifier",
        Value::str(g.replication_group_id().unwrap_or_default()),
    );
    put("engine", Value::str(g.engine().unwrap_or("redis")));
    put(
        "node_type",
        Value::str(g.cache_node_type().unwrap_or_default()),
    );
    let shards = g.node_groups().len().max(1);
    let cluster = g.cluster_enabled().unwrap_or(false);
    put("cluster_mode", Value::of(cluster));
    if cluster {
        put("shards", Value::of(shards));
    }
    put(
        "replicas",
        Value::of((g.member_clusters().len() / shards).saturating_sub(1)),
    );
    put(
        "automatic_failover",
        Value::of(enabled(g.automatic_failover().map(|s| s.as_str()))),
    );
    put(
        "multi_az",
        Value::of(enabled(g.multi_az().map(|s| s.as_str()))),
    );
    put(
        "snapshot_retention_days",
        Value::of(g.snapshot_retention_limit().unwrap_or(0)),
    );
    if let Some(w) = g.snapshot_window() {
        put("snapshot_window", Value::str(w));
    }
    put(
        "at_rest_encryption",
        Value::of(g.at_rest_encryption_enabled().unwrap_or(false)),
    );
    put(
        "transit_encryption",
        Value::of(g.transit_encryption_enabled().unwrap_or(false)),
    );
    put("auth", Value::of(g.auth_token_enabled().unwrap_or(false)));
    put("kms_key_id", Value::of(g.kms_key_id()));
    put(
        "auto_minor_version_upgrade",
        Value::of(g.auto_minor_version_upgrade().unwrap_or(false)),
    );
    let slow = g.log_delivery_configurations().iter().find_map(|l| {
        (l.log_type().map(|t| t.as_str()) == Some("slow-log"))
            .then(|| {
                l.destination_details()
                    .and_then(|d| d.cloud_watch_logs_details())
                    .and_then(|c| c.log_group())
                    .map(str::to_string)
            })
            .flatten()
    });
    put("slow_log", Value::of(slow));
    let port = crate::status::endpoint(g)
        .and_then(|e| e.port())
        .or_else(|| {
            member
                .and_then(|m| m.cache_nodes().first())
                .and_then(|n| n.endpoint())
                .and_then(|e| e.port())
        });
    if let Some(p) = port {
        put("port", Value::of(p));
    }
    if let Some(m) = member {
        put(
            "engine_version",
            Value::str(major_minor(m.engine_version().unwrap_or_default())),
        );
        put(
            "subnet_group",
            Value::str(m.cache_subnet_group_name().unwrap_or_default()),
        );
        put(
            "security_groups",
            Value::of(
                m.security_groups()
                    .iter()
                    .filter_map(|s| s.security_group_id().map(str::to_string))
                    .collect::<Vec<_>>(),
            ),
        );
        put(
            "parameter_group",
            Value::str(
                m.cache_parameter_group()
                    .and_then(|p| p.cache_parameter_group_name())
                    .unwrap_or_default(),
            ),
        );
        if let Some(w) = m.preferred_maintenance_window() {
            put("maintenance_window", Value::str(w.to_ascii_lowercase()));
        }
    }
    if let Some(d) = found.get(TOKEN_TAG) {
        put("auth_token", Value::sensitive(d));
    }
    put("tags", Value::of(tags::managed_view(desired_tags, found)));
    f
}

/// Node-type and engine changes ElastiCache holds for the maintenance window.
pub(crate) fn pending(
    member: Option<&CacheCluster>,
    window: Option<&str>,
    modifying: bool,
) -> BTreeMap<String, Pending> {
    let mut out = BTreeMap::new();
    let applies = if modifying {
        "now (the group is modifying)".to_string()
    } else {
        changes::pending_note(window)
    };
    if let Some(p) = member.and_then(|m| m.pending_modified_values()) {
        if let Some(t) = p.cache_node_type() {
            out.insert(
                "node_type".into(),
                Pending {
                    value: Value::str(t),
                    applies: applies.clone(),
                },
            );
        }
        if let Some(v) = p.engine_version() {
            out.insert(
                "engine_version".into(),
                Pending {
                    value: Value::str(major_minor(v)),
                    applies,
                },
            );
        }
    }
    out
}
