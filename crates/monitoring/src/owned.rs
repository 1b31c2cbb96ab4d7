//! Orphan listing: alarms by name prefix and tags (the `TargetTracking-*` alarms autoscaling
//! makes never match the prefix, so they are never touched), topics by name and tags, keys by
//! alias prefix and tags, dashboards by name prefix (CloudWatch dashboards carry no tags).

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::alarm_node::prefix;
use crate::alarm_node::{self, KIND_ALARM};
use crate::dashboard::{self, KIND_DASHBOARD};
use crate::key::{self, KIND_KEY};
use crate::topic_node::{self, KIND_TOPIC};

/// Register the kinds this crate creates, so that what the stack owns but no longer declares is
/// deleted. Adding a topic, an alarm or a dashboard registers them.
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Alarms);
    stack.own_kind(Topics);
    stack.own_kind(Keys);
    stack.own_kind(Dashboards);
}

/// `<project>-<stage>[-owner]-`: the start of every name this stack gives.
struct Alarms;

#[async_trait]
impl OwnedKind for Alarms {
    fn kind(&self) -> &'static str {
        KIND_ALARM
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::alarm_node::ALARM_PERMISSIONS.for_orphans_listed_by(&[
                "cloudwatch:DescribeAlarms",
                "cloudwatch:ListTagsForResource",
                skyforge_core::tag_index::ACTION,
            ]),
        )
    }
    fn service(&self) -> &'static str {
        "cloudwatch"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let mut found = Vec::new();
        for (a, t) in alarm_node::listed(ctx).await?.iter() {
            if let (Some(name), Some(l)) = (a.alarm_name(), tags::owned_logical_id(t, ctx.env())) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        alarm_node::delete(ctx, guard, &owned.physical_id).await
    }
}

struct Topics;

#[async_trait]
impl OwnedKind for Topics {
    fn kind(&self) -> &'static str {
        KIND_TOPIC
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::topic_node::TOPIC_PERMISSIONS.for_orphans_listed_by(&[
                "sns:ListTopics",
                "sns:ListTagsForResource",
                skyforge_core::tag_index::ACTION,
            ]),
        )
    }
    fn service(&self) -> &'static str {
        "sns"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(KIND_TOPIC, "*");
        let start = format!(":{}", prefix(ctx));
        let mut found = Vec::new();
        for arn in topic_node::all_topics(ctx, &rid).await?.iter() {
            if !arn.contains(&start) {
                continue;
            }
            let Some(t) = topic_node::tags_of(ctx, &rid, arn).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, arn));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        topic_node::delete(ctx, guard, &owned.physical_id).await
    }
}

struct Keys;

#[async_trait]
impl OwnedKind for Keys {
    fn kind(&self) -> &'static str {
        KIND_KEY
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(crate::key::KEY_PERMISSIONS.for_orphans_listed_by(&[
            "kms:ListAliases",
            "kms:ListResourceTags",
            "kms:DescribeKey",
            skyforge_core::tag_index::ACTION,
        ]))
    }
    fn service(&self) -> &'static str {
        "kms"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    fn arn_names(&self, env: &skyforge_core::Environment) -> Vec<skyforge_core::ArnName> {
        // A key's alias: `alias/<prefix>-<logical>` (KMS cannot condition an alias on tags).
        let aliases = format!("{}-*", env.prefix());
        vec![skyforge_core::ArnName::new("kms:alias", aliases)]
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(KIND_KEY, "*");
        let start = format!("alias/{}", prefix(ctx));
        let mut found = Vec::new();
        for (name, key_id) in key::all_aliases(ctx, &rid).await?.iter() {
            if !name.starts_with(&start) {
                continue;
            }
            let t = key::key_tags(ctx, &rid, key_id).await?;
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, key_id).with("alias", name));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        key::delete(ctx, guard, owned.get("alias"), &owned.physical_id).await
    }
}

struct Dashboards;

#[async_trait]
impl OwnedKind for Dashboards {
    fn kind(&self) -> &'static str {
        KIND_DASHBOARD
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::dashboard::DASHBOARD_PERMISSIONS
                .for_orphans_listed_by(&["cloudwatch:ListDashboards", "cloudwatch:GetDashboard"]),
        )
    }
    fn arn_names(&self, env: &skyforge_core::Environment) -> Vec<skyforge_core::ArnName> {
        // CloudWatch cannot condition a dashboard on tags: its name prefix scopes it.
        let names = format!("{}-*", env.prefix());
        vec![skyforge_core::ArnName::new("cloudwatch:dashboard", names)]
    }
    fn service(&self) -> &'static str {
        "cloudwatch"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(KIND_DASHBOARD, "*");
        let p = prefix(ctx);
        let pages: Vec<_> = alarm_node::client(ctx)
            .list_dashboards()
            .dashboard_name_prefix(&p)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListDashboards", e))?;
        let mut found = Vec::new();
        for n in pages
            .iter()
            .flat_map(|p| p.dashboard_entries())
            .filter_map(|d| d.dashboard_name())
        {
            if let Some(l) = dashboard::owned_logical(ctx, &rid, n).await? {
                found.push(Owned::new(l, n));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        dashboard::delete(ctx, guard, &owned.physical_id).await
    }
}
