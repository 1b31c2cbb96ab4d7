//! # skyforge-logs
//!
//! CloudWatch Logs groups that a service writes into under a name of its own
//! (`/aws/rds/instance/<id>/postgresql`, `/aws/elasticache/<id>/slow-log`), created by skyforge
//! first so that they have a retention (the service would create them with none: logs kept
//! forever), tagged for ownership, and listed as orphans by name prefix.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_logs::LogGroup;
//! let mut stack = Stack::new(Environment::new("shop", Stage::Prod));
//! skyforge_logs::register_prefix(&mut stack, "db_log_group", |env| {
//!     format!("/aws/rds/instance/{}", env.prefix())
//! });
//! let node = stack.add(LogGroup::new(
//!     "db_log_group",
//!     "db-postgresql",
//!     "/aws/rds/instance/shop-prod-db/postgresql",
//!     30,
//! ));
//! # let _ = node;
//! ```
#![warn(missing_docs)]

mod group;

/// A log group's IAM names: the group (its ARN ends in `:*` as CloudWatch Logs reports it)
/// and its streams.
pub fn arn_names(group: &str) -> Vec<skyforge_core::ArnName> {
    vec![
        skyforge_core::ArnName::new("logs:log-group", format!("{group}*")),
        skyforge_core::ArnName::new("logs:log-stream", format!("{group}:log-stream:*")),
    ]
}

#[cfg(test)]
mod mock_tests;

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::{
    Component, Context, Environment, Guard, NodeId, Owned, OwnedKind, ResourceId, Result, Stack,
    tags,
};

use group::LogGroupNode;

/// Retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A log group with an exact name and a retention, under a resource kind of the caller's
/// (`db_log_group`), so plans say whose logs they are.
#[derive(Debug, Clone)]
pub struct LogGroup {
    kind: &'static str,
    logical: String,
    name: String,
    retention_days: u32,
    kms_key: Option<String>,
}

impl LogGroup {
    /// A group of `kind` with logical id `logical`, named `name`, keeping events
    /// `retention_days` (one of [`RETENTION_DAYS`]; checked with the stack, before any call).
    pub fn new(
        kind: &'static str,
        logical: impl Into<String>,
        name: impl Into<String>,
        retention_days: u32,
    ) -> LogGroup {
        LogGroup {
            kind,
            logical: logical.into(),
            name: name.into(),
            retention_days,
            kms_key: None,
        }
    }
    /// Encrypt the events with this KMS key (its ARN; the key policy must let the
    /// `logs.<region>.amazonaws.com` principal use it).
    pub fn kms_key(mut self, arn: impl Into<String>) -> LogGroup {
        self.kms_key = Some(arn.into());
        self
    }
}

impl Component for LogGroup {
    type Handle = NodeId;
    fn add_to(self, stack: &mut Stack) -> NodeId {
        stack.add_resource(LogGroupNode {
            kind: self.kind,
            logical: self.logical,
            name: self.name,
            retention_days: self.retention_days,
            kms_key: self.kms_key,
        })
    }
}

/// List the log groups of `kind` as orphans: those under `prefix(env)` carrying the stack's
/// ownership tags (every page).
pub fn register_prefix(stack: &mut Stack, kind: &'static str, prefix: fn(&Environment) -> String) {
    stack.own_kind(PrefixKind { kind, prefix });
}

struct PrefixKind {
    kind: &'static str,
    prefix: fn(&Environment) -> String,
}

#[async_trait]
impl OwnedKind for PrefixKind {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(group::LOG_GROUP_PERMISSIONS.for_orphans())
    }
    fn service(&self) -> &'static str {
        "logs"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let prefix = (self.prefix)(ctx.env());
        let rid = ResourceId::new(self.kind, "*");
        let mut found = Vec::new();
        for g in group::listed(ctx, &rid, &prefix).await?.iter() {
            let (Some(name), Some(arn)) = (g.log_group_name(), g.arn()) else {
                continue;
            };
            let arn = arn.trim_end_matches(":*");
            let Some(t) = group::tags_of(ctx, &rid, arn).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        group::delete(ctx, guard, &owned.physical_id).await
    }
}

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
