//! Listener rules, one per route: conditions on host and path, a forward to the route's target
//! group, and a priority allocated from the match (see [`crate::priority`]). A new priority
//! moves with `SetRulePriorities`; conditions and the target with `ModifyRule`.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    HostHeaderConditionConfig, PathPatternConditionConfig, Rule, RuleCondition, RulePriorityPair,
};
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};

use crate::common::{Act, client, elb_tags, observed_action, sync_tags, tags_of};
use crate::spec::Match;

/// Resource kind `listener_rule`.
pub const KIND_RULE: &str = "listener_rule";

pub(crate) struct RuleNode {
    pub(crate) logical: String,
    pub(crate) listener: Ref<String>,
    pub(crate) matches: Match,
    pub(crate) priority: u32,
    pub(crate) target: Act,
    pub(crate) target_group: NodeId,
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

impl RuleNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }

    fn conditions(&self) -> Vec<RuleCondition> {
        let mut c = Vec::new();
        if !self.matches.hosts().is_empty() {
            c.push(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(
                        HostHeaderConditionConfig::builder()
                            .set_values(Some(self.matches.hosts().to_vec()))
                            .build(),
                    )
                    .build(),
            );
        }
        if !self.matches.paths().is_empty() {
            c.push(
                RuleCondition::builder()
                    .field("path-pattern")
                    .path_pattern_config(
                        PathPatternConditionConfig::builder()
                            .set_values(Some(self.matches.paths().to_vec()))
                            .build(),
                    )
                    .build(),
            );
        }
        c
    }

    /// This route's rule on the listener, found by its ownership tags.
    async fn find(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<(Rule, Tags)>> {
        let rid = self.id();
        let Some(listener) = inputs.get(&self.listener) else {
            return Ok(None);
        };
        let r = client(ctx)
            .describe_rules()
            .listener_arn(listener)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeRules", e));
        let Some(out) = skyforge_core::none_if_aws_code(r, &["ListenerNotFound"])? else {
            return Ok(None);
        };
        let rules: Vec<Rule> = out
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
            .cloned()
            .collect();
        let arns: Vec<String> = rules
            .iter()
            .filter_map(|r| r.rule_arn().map(str::to_string))
            .collect();
        for (arn, t) in tags_of(ctx, &rid, &arns).await? {
            if tags::owned_logical_id(&t, ctx.env()).as_deref() == Some(self.logical.as_str())
                && let Some(r) = rules.iter().find(|r| r.rule_arn() == Some(arn.as_str()))
            {
                return Ok(Some((r.clone(), t)));
            }
        }
        Ok(None)
    }

    fn observed_of(&self, env: &Environment, r: &Rule, found: &Tags) -> Observed {
        let arn = r.rule_arn().unwrap_or_default().to_string();
        let mut hosts = Vec::new();
        let mut paths = Vec::new();
        for c in r.conditions() {
            match c.field() {
                Some("host-header") => hosts.extend(
                    c.host_header_config()
                        .map(|h| h.values().to_vec())
                        .unwrap_or_else(|| c.values().to_vec()),
                ),
                Some("path-pattern") => paths.extend(
                    c.path_pattern_config()
                        .map(|p| p.values().to_vec())
                        .unwrap_or_else(|| c.values().to_vec()),
                ),
                _ => {}
            }
        }
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        o.fields.insert(
            "priority".into(),
            Value::of(r.priority().and_then(|p| p.parse::<u32>().ok())),
        );
        o.fields.insert("hosts".into(), Value::of(sorted(&hosts)));
        o.fields.insert("paths".into(), Value::of(sorted(&paths)));
        o.fields
            .insert("action".into(), observed_action(r.actions()));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(env), found)),
        );
        o.outputs.insert("arn".into(), arn.into());
        o
    }

    async fn observe_now(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        after: &'static str,
    ) -> Result<Observed> {
        let (r, t) =
            skyforge_core::until_visible(ctx, &self.id(), after, || self.find(ctx, inputs)).await?;
        Ok(self.observed_of(ctx.env(), &r, &t))
    }
}

/// The calls of a listener rule.
pub(crate) const RULE_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
    ],
    create: &[
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:AddTags",
    ],
    update: &[
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:SetRulePriorities",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
    ],
    delete: &["elasticloadbalancing:DeleteRule"],
};

#[async_trait]
impl Resource for RuleNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(RULE_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_RULE, &self.logical)
    }
    fn service(&self) -> &'static str {
        "elbv2"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.listener.node(), self.target_group]
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "priority".into(),
            Field::new(Value::of(Some(self.priority))),
        );
        f.insert(
            "hosts".into(),
            Field::new(Value::of(sorted(self.matches.hosts()))),
        );
        f.insert(
            "paths".into(),
            Field::new(Value::of(sorted(self.matches.paths()))),
        );
        f.insert("action".into(), Field::new(self.target.plan_value(inputs)));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        Ok(self
            .find(ctx, inputs)
            .await?
            .map(|(r, t)| self.observed_of(ctx.env(), &r, &t)))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let req = client(ctx)
            .create_rule()
            .listener_arn(inputs.require(&self.listener, &rid)?)
            .priority(i32::try_from(self.priority).unwrap_or(i32::MAX))
            .set_conditions(Some(self.conditions()))
            .actions(self.target.build(inputs, &rid)?)
            .set_tags(Some(elb_tags(&self.desired_tags(ctx.env()))));
        guard.send("CreateRule", &[], req.send()).await?;
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
        let rid = self.id();
        let arn = observed.physical_id.as_str();
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        let elb = client(ctx);
        if changed("priority") {
            let pair = RulePriorityPair::builder()
                .rule_arn(arn)
                .priority(i32::try_from(self.priority).unwrap_or(i32::MAX))
                .build();
            let req = elb.set_rule_priorities().rule_priorities(pair);
            guard.send("SetRulePriorities", &[], req.send()).await?;
        }
        if changed("hosts") || changed("paths") || changed("action") {
            let req = elb
                .modify_rule()
                .rule_arn(arn)
                .set_conditions(Some(self.conditions()))
                .actions(self.target.build(inputs, &rid)?);
            guard.send("ModifyRule", &[], req.send()).await?;
        }
        if changed("tags") {
            sync_tags(ctx, guard, arn, &self.desired_tags(ctx.env()), observed).await?;
        }
        self.observe_now(ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let req = client(ctx).delete_rule().rule_arn(&observed.physical_id);
        guard
            .send("DeleteRule", &["RuleNotFound"], req.send())
            .await
    }
}
