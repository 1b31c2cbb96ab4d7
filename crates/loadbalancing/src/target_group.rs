//! Target groups (type `ip`, for Fargate tasks), one per route. Port, protocol, target type and
//! VPC cannot change in place: a new group is created first under a name carrying a digest of
//! them, the rule moves to it, then the old one is deleted (create before destroy), so a
//! replacement never breaks traffic nor fails with `ResourceInUse`.

use skyforge_core::Permissions;
use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Matcher, ProtocolEnum, TargetGroup, TargetGroupAttribute, TargetTypeEnum,
};
use skyforge_core::naming::short_hash;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    ReplaceOrder, Resource, ResourceId, Result, Value,
};

use crate::common::{client, elb_tags, need, sync_tags, tags_of};
use crate::spec::Route;

/// Resource kind `target_group`.
pub const KIND_TG: &str = "target_group";

pub(crate) struct TgNode {
    pub(crate) lb: String,
    pub(crate) route: Route,
    pub(crate) vpc: Input<String>,
}

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

impl TgNode {
    fn logical(&self) -> String {
        format!("{}-{}", self.lb, self.route.name)
    }

    /// `<prefix>-<route>` cut to 23 characters: every copy of this group starts with it.
    fn base(&self, env: &Environment) -> String {
        let mut b: String = format!("{}-{}", env.prefix(), self.route.name)
            .chars()
            .take(23)
            .collect();
        while b.ends_with('-') {
            b.pop();
        }
        b
    }

    /// The name of the copy for these port, protocol, type and VPC (at most 32 characters).
    fn name(&self, env: &Environment, vpc: &str) -> String {
        let digest = short_hash(&[&self.route.port.to_string(), "HTTP", "ip", vpc]);
        format!("{}-{digest}", self.base(env))
    }

    fn attributes(&self) -> BTreeMap<String, String> {
        let r = &self.route;
        let mut a = BTreeMap::from([
            (
                "deregistration_delay.timeout_seconds".to_string(),
                r.deregistration_delay_secs.to_string(),
            ),
            (
                "stickiness.enabled".into(),
                r.stickiness_secs.is_some().to_string(),
            ),
            (
                "slow_start.duration_seconds".into(),
                r.slow_start_secs.unwrap_or(0).to_string(),
            ),
        ]);
        if let Some(s) = r.stickiness_secs {
            a.insert("stickiness.type".into(), "lb_cookie".into());
            a.insert(
                "stickiness.lb_cookie.duration_seconds".into(),
                s.to_string(),
            );
        }
        a
    }

    fn health(&self) -> serde_json::Value {
        let h = &self.route.health;
        serde_json::json!({
            "path": h.path, "interval": h.interval_secs, "timeout": h.timeout_secs,
            "healthy": h.healthy_threshold, "unhealthy": h.unhealthy_threshold, "matcher": h.matcher,
        })
    }

    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical())
    }

    /// This route's groups (every copy), the one named for the spec first.
    async fn find(&self, ctx: &Context, want: Option<&str>) -> Result<Option<(TargetGroup, Tags)>> {
        let rid = self.id();
        let prefix = format!("{}-", self.base(ctx.env()));
        let mut mine: Vec<TargetGroup> = all(ctx, &rid)
            .await?
            .iter()
            .filter(|g| {
                g.target_group_name()
                    .is_some_and(|n| n.starts_with(&prefix))
            })
            .cloned()
            .collect();
        mine.sort_by_key(|g| g.target_group_name() != want);
        for g in mine {
            let arn = g.target_group_arn().unwrap_or_default().to_string();
            let t = tags_of(ctx, &rid, &[arn])
                .await?
                .into_iter()
                .next()
                .map(|(_, t)| t)
                .unwrap_or_default();
            if tags::owned_logical_id(&t, ctx.env()).as_deref() == Some(self.logical().as_str()) {
                return Ok(Some((g, t)));
            }
        }
        Ok(None)
    }

    async fn observed_of(&self, ctx: &Context, g: &TargetGroup, found: &Tags) -> Result<Observed> {
        let rid = self.id();
        let arn = g.target_group_arn().unwrap_or_default().to_string();
        let attrs = client(ctx)
            .describe_target_group_attributes()
            .target_group_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeTargetGroupAttributes", e))?;
        let wanted = self.attributes();
        let seen: BTreeMap<String, String> = attrs
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value().unwrap_or("").to_string())))
            .filter(|(k, _)| wanted.contains_key(k))
            .collect();
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        let mut put = |k: &str, v: Value| {
            o.fields.insert(k.into(), v);
        };
        put(
            "name",
            Value::str(g.target_group_name().unwrap_or_default()),
        );
        put("port", Value::of(g.port()));
        put(
            "protocol",
            Value::str(g.protocol().map(|p| p.as_str()).unwrap_or_default()),
        );
        put(
            "target_type",
            Value::str(g.target_type().map(|p| p.as_str()).unwrap_or_default()),
        );
        put("vpc", Value::str(g.vpc_id().unwrap_or_default()));
        put(
            "health_check",
            Value::of(serde_json::json!({
                "path": g.health_check_path().unwrap_or_default(),
                "interval": g.health_check_interval_seconds(),
                "timeout": g.health_check_timeout_seconds(),
                "healthy": g.healthy_threshold_count(),
                "unhealthy": g.unhealthy_threshold_count(),
                "matcher": g.matcher().and_then(|m| m.http_code()).unwrap_or_default(),
            })),
        );
        put("attributes", Value::of(seen));
        put(
            "tags",
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), found)),
        );
        o.outputs.insert("arn".into(), arn.into());
        o.outputs.insert(
            "name".into(),
            g.target_group_name().unwrap_or_default().into(),
        );
        Ok(o)
    }

    async fn set_attributes(&self, ctx: &Context, guard: &Guard, arn: &str) -> Result<()> {
        let attrs = self
            .attributes()
            .into_iter()
            .map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build())
            .collect();
        let req = client(ctx)
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attrs));
        guard
            .send("ModifyTargetGroupAttributes", &[], req.send())
            .await
    }

    async fn observe_now(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        after: &'static str,
    ) -> Result<Observed> {
        let want = self.vpc.resolve(inputs).map(|v| self.name(ctx.env(), &v));
        let (g, t) = skyforge_core::until_visible(ctx, &self.id(), after, || {
            self.find(ctx, want.as_deref())
        })
        .await?;
        self.observed_of(ctx, &g, &t).await
    }
}

/// The calls of a target group.
pub(crate) const TG_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTags",
    ],
    create: &[
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
    ],
    update: &[
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
    ],
    delete: &["elasticloadbalancing:DeleteTargetGroup"],
};

#[async_trait]
impl Resource for TgNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(TG_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        // Every copy's name starts with the base; then `/<id>`.
        let copies = format!("{}*", self.base(env));
        vec![skyforge_core::ArnName::new(
            "elasticloadbalancing:targetgroup",
            copies,
        )]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_TG, self.logical())
    }
    fn service(&self) -> &'static str {
        "elbv2"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.vpc.dependency().into_iter().collect()
    }
    fn replace_order(&self) -> ReplaceOrder {
        ReplaceOrder::CreateBeforeDestroy
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        let vpc = self.vpc.resolve(inputs);
        let name = vpc
            .as_deref()
            .map(|v| Value::str(self.name(env, v)))
            .unwrap_or(Value::Unknown);
        for (k, v) in [
            ("name", name),
            ("port", Value::of(self.route.port)),
            ("protocol", Value::str("HTTP")),
            ("target_type", Value::str("ip")),
            ("vpc", self.vpc.plan_value(inputs)),
        ] {
            f.insert(k.into(), Field::new(v).force_new());
        }
        f.insert("health_check".into(), Field::new(Value::of(self.health())));
        f.insert(
            "attributes".into(),
            Field::new(Value::of(self.attributes())),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let want = self.vpc.resolve(inputs).map(|v| self.name(ctx.env(), &v));
        match self.find(ctx, want.as_deref()).await? {
            Some((g, t)) => Ok(Some(self.observed_of(ctx, &g, &t).await?)),
            None => Ok(None),
        }
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = need(&self.vpc, inputs, &rid)?;
        let h = &self.route.health;
        let req = client(ctx)
            .create_target_group()
            .name(self.name(ctx.env(), &vpc))
            .protocol(ProtocolEnum::Http)
            .port(i32::from(self.route.port))
            .vpc_id(&vpc)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_path(&h.path)
            .health_check_interval_seconds(int(h.interval_secs))
            .health_check_timeout_seconds(int(h.timeout_secs))
            .healthy_threshold_count(int(h.healthy_threshold))
            .unhealthy_threshold_count(int(h.unhealthy_threshold))
            .matcher(Matcher::builder().http_code(&h.matcher).build())
            .set_tags(Some(elb_tags(&self.desired_tags(ctx.env()))));
        guard.send("CreateTargetGroup", &[], req.send()).await?;
        let o = self
            .observe_now(ctx, inputs, "right after creation")
            .await?;
        self.set_attributes(ctx, guard, &o.physical_id).await?;
        self.observe_now(ctx, inputs, "right after creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let arn = observed.physical_id.as_str();
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        if changed("health_check") {
            let h = &self.route.health;
            let req = client(ctx)
                .modify_target_group()
                .target_group_arn(arn)
                .health_check_path(&h.path)
                .health_check_interval_seconds(int(h.interval_secs))
                .health_check_timeout_seconds(int(h.timeout_secs))
                .healthy_threshold_count(int(h.healthy_threshold))
                .unhealthy_threshold_count(int(h.unhealthy_threshold))
                .matcher(Matcher::builder().http_code(&h.matcher).build());
            guard.send("ModifyTargetGroup", &[], req.send()).await?;
        }
        if changed("attributes") {
            self.set_attributes(ctx, guard, arn).await?;
        }
        if changed("tags") {
            sync_tags(ctx, guard, arn, &self.desired_tags(ctx.env()), observed).await?;
        }
        self.observe_now(ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// A target group stays "in use" for a moment after the listener or rule using it is deleted.
const STILL_IN_USE: skyforge_core::NotYet<'static> =
    skyforge_core::NotYet::codes(&["ResourceInUse"], std::time::Duration::from_secs(5 * 60));

/// Delete target group `arn`; success when it is already gone. Retried while ELB still counts a
/// deleted listener or rule as using it.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, arn: &str) -> Result<()> {
    let elb = client(ctx);
    guard
        .send_until(
            ctx,
            STILL_IN_USE,
            "DeleteTargetGroup",
            &["TargetGroupNotFound"],
            || elb.delete_target_group().target_group_arn(arn).send(),
        )
        .await
}

/// Every target group of the account and region, every page: ELBv2 has no tag filter, and a
/// group's name is cut short. Listed once per plan, shared by every group's observation and the
/// orphan listing; outside a plan, each call lists.
pub(crate) async fn all(ctx: &Context, rid: &ResourceId) -> Result<Arc<Vec<TargetGroup>>> {
    ctx.memo("elbv2:DescribeTargetGroups", || async {
        let pages: Vec<_> = client(ctx)
            .describe_target_groups()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "DescribeTargetGroups", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.target_groups())
            .cloned()
            .collect())
    })
    .await
}
