//! Task-count autoscaling of a service: the scalable target and one target-tracking policy per
//! metric. The `TargetTracking-*` alarms AWS creates for the policies are AWS's: not listed,
//! not deleted, not alarmed on.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use serde_json::{Value as Json, json};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};

use crate::spec::{Autoscaling, ScaleOn};

/// Resource kind `ecs_autoscaling`.
pub const KIND_SCALING: &str = "ecs_autoscaling";

/// The service-linked role Application Auto Scaling creates for an account's first ECS target.
const SCALING_SERVICE_LINKED_ROLE: &str = "aws-service-role/ecs.application-autoscaling.\
amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService";

pub(crate) struct ScalingNode {
    pub(crate) logical: String,
    pub(crate) scaling: Autoscaling,
    pub(crate) cluster: Ref<String>,
    pub(crate) service: Ref<String>,
    /// Load balancer and target group ARNs, for request-count tracking.
    pub(crate) target: Option<(Ref<String>, Ref<String>)>,
}

fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

/// `app/<lb-name>/<lb-id>/targetgroup/<tg-name>/<tg-id>` from the two ARNs.
pub fn resource_label(lb_arn: &str, tg_arn: &str) -> Option<String> {
    let lb = lb_arn.split_once(":loadbalancer/")?.1;
    let tg = tg_arn.rsplit_once(':')?.1;
    Some(format!("{lb}/{tg}"))
}

impl ScalingNode {
    fn resource_id(&self, inputs: &Inputs) -> Option<String> {
        let c: String = inputs.get(&self.cluster)?;
        let s: String = inputs.get(&self.service)?;
        Some(format!("service/{c}/{s}"))
    }
    fn policy_name(&self, m: &ScaleOn) -> String {
        format!("{}-{}", self.logical, m.name())
    }
    fn policies(&self, inputs: &Inputs) -> Option<BTreeMap<String, Json>> {
        let a = &self.scaling;
        a.metrics
            .iter()
            .map(|m| {
                let label = match (m, &self.target) {
                    (ScaleOn::RequestsPerTarget(_), Some((lb, tg))) => {
                        Some(resource_label(&inputs.get(lb)?, &inputs.get(tg)?)?)
                    }
                    _ => None,
                };
                let v = json!({
                    "metric": metric(m).as_str(), "target": m.target(), "label": label,
                    "scale_out_cooldown": a.scale_out_cooldown_secs, "scale_in_cooldown": a.scale_in_cooldown_secs,
                });
                Some((self.policy_name(m), v))
            })
            .collect()
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }
}

fn metric(m: &ScaleOn) -> MetricType {
    match m {
        ScaleOn::Cpu(_) => MetricType::EcsServiceAverageCpuUtilization,
        ScaleOn::Memory(_) => MetricType::EcsServiceAverageMemoryUtilization,
        ScaleOn::RequestsPerTarget(_) => MetricType::AlbRequestCountPerTarget,
    }
}

/// The calls of a service's autoscaling; target tracking policies make and remove CloudWatch alarms on the caller's permissions.
pub(crate) const SCALING_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "application-autoscaling:ListTagsForResource",
    ],
    create: &[
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:TagResource",
        "iam:CreateServiceLinkedRole",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    ],
    update: &[
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:TagResource",
        "application-autoscaling:UntagResource",
        "cloudwatch:DescribeAlarms",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DeleteAlarms",
    ],
    delete: &[
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget",
        "cloudwatch:DeleteAlarms",
    ],
};

#[async_trait]
impl Resource for ScalingNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(SCALING_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        let service = crate::service::service_name(env, &self.logical);
        vec![
            ArnName::new("iam:role", SCALING_SERVICE_LINKED_ROLE),
            // Target tracking's alarms, named by Application Auto Scaling.
            ArnName::new(
                "cloudwatch:alarm",
                format!("TargetTracking-service/*/{service}-*"),
            ),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SCALING, &self.logical)
    }
    fn service(&self) -> &'static str {
        "application-autoscaling"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = vec![self.cluster.node(), self.service.node()];
        d.extend(self.target.iter().flat_map(|(a, b)| [a.node(), b.node()]));
        d.sort();
        d.dedup();
        d
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        let rid = self.resource_id(inputs).map_or(Value::Unknown, Value::str);
        f.insert("resource_id".into(), Field::new(rid).force_new());
        f.insert("min".into(), Field::new(Value::of(self.scaling.min)));
        f.insert("max".into(), Field::new(Value::of(self.scaling.max)));
        let p = self.policies(inputs).map_or(Value::Unknown, Value::of);
        f.insert("policies".into(), Field::new(p));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(resource_id) = self.resource_id(inputs) else {
            return Ok(None);
        };
        let rid = self.id();
        let aas = client(ctx);
        let out = aas
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(&resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeScalableTargets", e))?;
        let Some(t) = out.scalable_targets().first() else {
            return Ok(None);
        };
        let arn = t.scalable_target_arn().unwrap_or_default().to_string();
        let Some(found) = tags_of(ctx, &rid, &arn).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &rid, &resource_id)?;
        let mut o = Observed {
            physical_id: resource_id.clone(),
            ..Observed::default()
        };
        o.fields
            .insert("resource_id".into(), Value::str(&resource_id));
        o.fields.insert("min".into(), Value::of(t.min_capacity()));
        o.fields.insert("max".into(), Value::of(t.max_capacity()));
        o.fields.insert(
            "policies".into(),
            Value::of(observed_policies(ctx, &rid, &resource_id).await?),
        );
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let resource_id = self.resource_id(inputs).ok_or_else(|| unknown(&rid))?;
        self.register(ctx, guard, &resource_id, true).await?;
        self.put_policies(ctx, inputs, guard, &resource_id, &BTreeMap::new())
            .await?;
        skyforge_core::observe_again(self, ctx, inputs, "after its change").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let resource_id = observed.physical_id.clone();
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        if changed("min") || changed("max") {
            self.register(ctx, guard, &resource_id, false).await?;
        }
        if changed("tags") {
            let arn = observed
                .outputs
                .get("arn")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let req = client(ctx)
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(self.desired_tags(ctx.env()).into_iter().collect()));
            guard.send("TagResource", &[], req.send()).await?;
        }
        if changed("policies") {
            let have: BTreeMap<String, Json> = observed
                .fields
                .get("policies")
                .and_then(|v| v.known())
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            self.put_policies(ctx, inputs, guard, &resource_id, &have)
                .await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its change").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        deregister(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

impl ScalingNode {
    async fn register(
        &self,
        ctx: &Context,
        guard: &Guard,
        resource_id: &str,
        tag: bool,
    ) -> Result<()> {
        let req = client(ctx)
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(self.scaling.min as i32)
            .max_capacity(self.scaling.max as i32);
        // Tags are accepted on the first registration only; later ones go through TagResource.
        let req = if tag {
            req.set_tags(Some(self.desired_tags(ctx.env()).into_iter().collect()))
        } else {
            req
        };
        guard.send("RegisterScalableTarget", &[], req.send()).await
    }
    async fn put_policies(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        guard: &Guard,
        resource_id: &str,
        have: &BTreeMap<String, Json>,
    ) -> Result<()> {
        let want = self.policies(inputs).ok_or_else(|| unknown(&self.id()))?;
        let aas = client(ctx);
        for m in &self.scaling.metrics {
            let name = self.policy_name(m);
            if have.get(&name) == want.get(&name) {
                continue;
            }
            let label = want[&name]["label"].as_str().map(String::from);
            let spec = PredefinedMetricSpecification::builder()
                .predefined_metric_type(metric(m))
                .set_resource_label(label)
                .build()
                .map_err(|e| Error::validation("autoscaling.metric", m.name(), e.to_string()))?;
            let cfg = TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(m.target())
                .predefined_metric_specification(spec)
                .scale_out_cooldown(self.scaling.scale_out_cooldown_secs as i32)
                .scale_in_cooldown(self.scaling.scale_in_cooldown_secs as i32)
                .build()
                .map_err(|e| {
                    Error::validation("autoscaling.target", m.target().to_string(), e.to_string())
                })?;
            let req = aas
                .put_scaling_policy()
                .policy_name(&name)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(PolicyType::TargetTrackingScaling)
                .target_tracking_scaling_policy_configuration(cfg);
            guard.send("PutScalingPolicy", &[], req.send()).await?;
        }
        for gone in have.keys().filter(|k| !want.contains_key(*k)) {
            delete_policy(ctx, guard, resource_id, gone).await?;
        }
        Ok(())
    }
}

fn unknown(rid: &ResourceId) -> Error {
    Error::Resource {
        resource: rid.to_string(),
        message: "the service or its target group is not known at apply time".into(),
    }
}

async fn observed_policies(
    ctx: &Context,
    rid: &ResourceId,
    resource_id: &str,
) -> Result<BTreeMap<String, Json>> {
    let out = client(ctx)
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeScalingPolicies", e))?;
    Ok(out
        .scaling_policies()
        .iter()
        .filter_map(|p| {
            let c = p.target_tracking_scaling_policy_configuration()?;
            let m = c.predefined_metric_specification()?;
            let v = json!({
                "metric": m.predefined_metric_type().as_str(), "target": c.target_value(),
                "label": m.resource_label(),
                "scale_out_cooldown": c.scale_out_cooldown(), "scale_in_cooldown": c.scale_in_cooldown(),
            });
            Some((p.policy_name().to_string(), v))
        })
        .collect())
}

async fn delete_policy(ctx: &Context, guard: &Guard, resource_id: &str, name: &str) -> Result<()> {
    guard
        .send(
            "DeleteScalingPolicy",
            &["ObjectNotFoundException"],
            client(ctx)
                .delete_scaling_policy()
                .policy_name(name)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send(),
        )
        .await
}

/// Delete the target's policies, then the target.
pub(crate) async fn deregister(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    resource_id: &str,
) -> Result<()> {
    for name in observed_policies(ctx, rid, resource_id).await?.keys() {
        delete_policy(ctx, guard, resource_id, name).await?;
    }
    guard
        .send(
            "DeregisterScalableTarget",
            &["ObjectNotFoundException"],
            client(ctx)
                .deregister_scalable_target()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send(),
        )
        .await
}

/// A scalable target's tags (`None`: it is gone), read once per plan (its node and the orphan
/// listing share them).
pub(crate) async fn tags_of(
    ctx: &Context,
    rid: impl std::fmt::Display,
    arn: &str,
) -> Result<Option<Tags>> {
    let read = || async {
        let t = client(ctx)
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e));
        let t = skyforge_core::none_if_aws_code(t, &["ResourceNotFoundException"])?;
        Ok(t.map(|t| {
            t.tags()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default()
        }))
    };
    tags::read_once(ctx, arn, read).await
}
