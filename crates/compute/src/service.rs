//! The ECS service node: created once, updated in place (a new deployment), never reporting
//! the desired count (autoscaling's) or the deployed revision's image (CI's) as drift.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker, DeploymentConfiguration,
    LaunchType, LoadBalancer, NetworkConfiguration, PropagateTags, Service, ServiceRegistry,
};
use serde_json::{Value as Json, json};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};

use crate::cluster::{client, ecs_tags, strategy};
use crate::spec::FargateServiceSpec;

/// Resource kind `ecs_service`.
pub const KIND_SERVICE: &str = "ecs_service";

pub(crate) struct ServiceNode {
    pub(crate) spec: FargateServiceSpec,
    pub(crate) cluster: Ref<String>,
    pub(crate) task_definition: Ref<String>,
    pub(crate) security_group: Ref<String>,
    pub(crate) registry: Option<Ref<String>>,
    /// Nodes the service must wait for (the rule forwarding to its target group).
    pub(crate) after: Vec<NodeId>,
}

pub(crate) fn service_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::Ecs, logical).unwrap_or_default()
}

impl ServiceNode {
    fn name(&self, env: &Environment) -> String {
        service_name(env, &self.spec.logical_id)
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }
    fn subnets(&self, inputs: &Inputs) -> Option<Vec<String>> {
        let mut s: Vec<String> = self
            .spec
            .subnets
            .subnets
            .iter()
            .map(|h| inputs.get(&h.id))
            .collect::<Option<_>>()?;
        s.sort();
        Some(s)
    }
    fn network_json(&self, inputs: &Inputs) -> Option<Json> {
        Some(json!({
            "subnets": self.subnets(inputs)?,
            "security_groups": [inputs.get(&self.security_group)?],
            "public_ip": self.spec.subnets.assign_public_ip,
        }))
    }
    fn load_balancers_json(&self, inputs: &Inputs) -> Option<Json> {
        let lbs: Option<Vec<Json>> = self
            .spec
            .load_balancer
            .iter()
            .map(|a| {
                let arn: String = inputs.get(&a.target.arn)?;
                Some(json!({"target_group": arn, "container": a.container, "port": a.target.port}))
            })
            .collect();
        lbs.map(Json::Array)
    }
    fn registries_json(&self, inputs: &Inputs) -> Option<Json> {
        let r: Option<Vec<String>> = self.registry.iter().map(|r| inputs.get(r)).collect();
        r.map(|v| json!(v))
    }
    fn deployment_json(&self) -> Json {
        json!({
            "min_healthy_percent": self.spec.min_healthy_percent,
            "max_percent": self.spec.max_percent,
            "circuit_breaker": true,
            "rollback": self.spec.rollback_on_failure,
        })
    }
    fn capacity_json(&self) -> Json {
        json!(
            self.spec
                .capacity
                .iter()
                .map(|s| json!({"provider": s.provider(), "weight": s.weight, "base": s.base}))
                .collect::<Vec<_>>()
        )
    }
}

fn known(v: Option<Json>) -> Value {
    v.map_or(Value::Unknown, Value::of)
}

/// ECS cannot assume a role (its service-linked role, a task role) for some seconds after IAM
/// created it; it then answers `InvalidParameterException` "Unable to assume ...".
pub(crate) const ROLE_PROPAGATING: skyforge_core::NotYet<'static> = skyforge_core::NotYet::codes(
    &["InvalidParameterException"],
    std::time::Duration::from_secs(2 * 60),
)
.containing("assume");

/// The calls of a service; waits for a steady rollout read its tasks, a delete scales it to zero first.
pub(crate) const SERVICE_PERMISSIONS: Permissions = Permissions {
    observe: &["ecs:DescribeServices", "ecs:ListTasks", "ecs:DescribeTasks"],
    create: &["ecs:CreateService", "ecs:TagResource"],
    update: &["ecs:UpdateService", "ecs:TagResource", "ecs:UntagResource"],
    delete: &["ecs:UpdateService", "ecs:DeleteService"],
};

#[async_trait]
impl Resource for ServiceNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(SERVICE_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        // `service/<cluster>/<name>`: the cluster's name is another node's output.
        let name = format!("*/{}", self.name(env));
        vec![skyforge_core::ArnName::new("ecs:service", name)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SERVICE, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = vec![
            self.cluster.node(),
            self.task_definition.node(),
            self.security_group.node(),
        ];
        d.extend(self.spec.subnets.subnets.iter().map(|s| s.node));
        d.extend(self.spec.load_balancer.iter().map(|a| a.target.arn.node()));
        d.extend(self.registry.iter().map(|r| r.node()));
        d.extend(self.after.iter().copied());
        d.sort();
        d.dedup();
        d
    }
    fn warnings(&self, _: &Environment) -> Vec<String> {
        crate::validate::service_warnings(&self.spec)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "cluster".into(),
            Field::new(known(inputs.get::<String>(&self.cluster).map(Json::from))).force_new(),
        );
        f.insert(
            "task_definition".into(),
            Field::new(known(
                inputs.get::<String>(&self.task_definition).map(Json::from),
            )),
        );
        f.insert(
            "desired_count".into(),
            Field::new(Value::of(self.spec.desired_count)).ignore_drift(),
        );
        f.insert(
            "network".into(),
            Field::new(known(self.network_json(inputs))),
        );
        f.insert(
            "load_balancers".into(),
            Field::new(known(self.load_balancers_json(inputs))),
        );
        f.insert(
            "registries".into(),
            Field::new(known(self.registries_json(inputs))),
        );
        f.insert(
            "deployment".into(),
            Field::new(Value::of(self.deployment_json())),
        );
        f.insert(
            "grace_secs".into(),
            Field::new(Value::of(self.spec.grace())),
        );
        f.insert(
            "execute_command".into(),
            Field::new(Value::of(self.spec.execute_command)),
        );
        f.insert(
            "capacity".into(),
            Field::new(Value::of(self.capacity_json())),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(cluster) = inputs.get::<String>(&self.cluster) else {
            return Ok(None);
        };
        let rid = self.id();
        let name = self.name(ctx.env());
        let Some(s) = describe(ctx, &rid, &cluster, &name).await? else {
            return Ok(None);
        };
        let found: Tags = s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        Ok(Some(self.observed_of(ctx.env(), &cluster, &s, &found)))
    }
    async fn wait_ready(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let (cluster, name) = located(&observed);
        let expected = observed
            .fields
            .get("task_definition")
            .and_then(|v| v.known())
            .and_then(|v| v.as_str())
            .map(String::from);
        crate::steady::wait(ctx, &self.id(), &cluster, &name, expected.as_deref()).await?;
        Ok(observed)
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let cluster = inputs.require(&self.cluster, &rid)?;
        let name = self.name(ctx.env());
        let req = client(ctx)
            .create_service()
            .cluster(&cluster)
            .service_name(&name)
            .task_definition(inputs.require(&self.task_definition, &rid)?)
            .desired_count(self.spec.desired_count as i32)
            .network_configuration(self.network(inputs, &rid)?)
            .set_load_balancers(Some(self.load_balancers(inputs, &rid)?))
            .set_service_registries(Some(self.registries(inputs, &rid)?))
            .deployment_configuration(self.deployment())
            .set_health_check_grace_period_seconds(self.spec.grace().map(|g| g as i32))
            .enable_execute_command(self.spec.execute_command)
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .platform_version("LATEST")
            .set_tags(Some(ecs_tags(self.desired_tags(ctx.env()))));
        let req = if self.spec.capacity.is_empty() {
            req.launch_type(LaunchType::Fargate)
        } else {
            req.set_capacity_provider_strategy(Some(strategy(&self.spec.capacity)))
        };
        guard
            .send_until(ctx, ROLE_PROPAGATING, "CreateService", &[], || {
                req.clone().send()
            })
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
        crate::service_update::run(self, ctx, inputs, observed, diffs, guard).await?;
        if diffs.iter().any(|d| d.field == "task_definition") {
            // Watch the rollout here: a deployment the circuit breaker rolled back is reported
            // with its tasks' reason, not as a field that did not converge.
            let (cluster, name) = located(observed);
            let want = inputs.require(&self.task_definition, &self.id())?;
            crate::steady::wait(ctx, &self.id(), &cluster, &name, Some(&want)).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its change").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let (cluster, name) = located(observed);
        delete_service(ctx, guard, &self.id(), &cluster, &name).await
    }
}

impl ServiceNode {
    fn observed_of(&self, env: &Environment, cluster: &str, s: &Service, found: &Tags) -> Observed {
        // `cluster/name`, as the orphan listing names services.
        let mut o = Observed {
            physical_id: format!("{cluster}/{}", s.service_name().unwrap_or_default()),
            ..Observed::default()
        };
        let net = s
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let mut subnets: Vec<String> = net.map(|n| n.subnets().to_vec()).unwrap_or_default();
        subnets.sort();
        let groups: Vec<String> = net
            .map(|n| n.security_groups().to_vec())
            .unwrap_or_default();
        let public = net.and_then(|n| n.assign_public_ip()) == Some(&AssignPublicIp::Enabled);
        let lbs: Vec<Json> = s
            .load_balancers()
            .iter()
            .map(|l| json!({"target_group": l.target_group_arn(), "container": l.container_name(), "port": l.container_port()}))
            .collect();
        let registries: Vec<&str> = s
            .service_registries()
            .iter()
            .filter_map(|r| r.registry_arn())
            .collect();
        let dc = s.deployment_configuration();
        let cb = dc.and_then(|d| d.deployment_circuit_breaker());
        let capacity: Vec<Json> = s
            .capacity_provider_strategy()
            .iter()
            .map(|c| json!({"provider": c.capacity_provider(), "weight": c.weight(), "base": c.base()}))
            .collect();
        let f = &mut o.fields;
        f.insert(
            "name".into(),
            Value::str(s.service_name().unwrap_or_default()),
        );
        f.insert("cluster".into(), Value::str(cluster));
        f.insert("task_definition".into(), Value::of(s.task_definition()));
        f.insert("desired_count".into(), Value::of(s.desired_count()));
        f.insert(
            "network".into(),
            Value::of(json!({"subnets": subnets, "security_groups": groups, "public_ip": public})),
        );
        f.insert("load_balancers".into(), Value::of(lbs));
        f.insert("registries".into(), Value::of(registries));
        f.insert(
            "deployment".into(),
            Value::of(json!({
                "min_healthy_percent": dc.and_then(|d| d.minimum_healthy_percent()).unwrap_or(100),
                "max_percent": dc.and_then(|d| d.maximum_percent()).unwrap_or(200),
                "circuit_breaker": cb.is_some_and(|c| c.enable()),
                "rollback": cb.is_some_and(|c| c.rollback()),
            })),
        );
        f.insert(
            "grace_secs".into(),
            Value::of(s.health_check_grace_period_seconds()),
        );
        f.insert(
            "execute_command".into(),
            Value::of(s.enable_execute_command()),
        );
        f.insert("capacity".into(), Value::of(capacity));
        f.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(env), found)),
        );
        o.outputs
            .insert("arn".into(), s.service_arn().unwrap_or_default().into());
        o.outputs
            .insert("name".into(), s.service_name().unwrap_or_default().into());
        o.outputs.insert("cluster".into(), cluster.into());
        o.ready = crate::steady::readiness(s);
        o
    }
    pub(crate) fn network(
        &self,
        inputs: &Inputs,
        rid: &ResourceId,
    ) -> Result<NetworkConfiguration> {
        let subnets = self
            .subnets(inputs)
            .ok_or_else(|| unknown(rid, "a subnet id"))?;
        let sg = inputs.require(&self.security_group, rid)?;
        awsvpc(rid, subnets, sg, self.spec.subnets.assign_public_ip)
    }
    pub(crate) fn load_balancers(
        &self,
        inputs: &Inputs,
        rid: &ResourceId,
    ) -> Result<Vec<LoadBalancer>> {
        self.spec
            .load_balancer
            .iter()
            .map(|a| {
                Ok(LoadBalancer::builder()
                    .target_group_arn(inputs.require(&a.target.arn, rid)?)
                    .container_name(&a.container)
                    .container_port(i32::from(a.target.port))
                    .build())
            })
            .collect()
    }
    pub(crate) fn registries(
        &self,
        inputs: &Inputs,
        rid: &ResourceId,
    ) -> Result<Vec<ServiceRegistry>> {
        self.registry
            .iter()
            .map(|r| {
                Ok(ServiceRegistry::builder()
                    .registry_arn(inputs.require(r, rid)?)
                    .build())
            })
            .collect()
    }
    pub(crate) fn deployment(&self) -> DeploymentConfiguration {
        DeploymentConfiguration::builder()
            .minimum_healthy_percent(self.spec.min_healthy_percent as i32)
            .maximum_percent(self.spec.max_percent as i32)
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(true)
                    .rollback(self.spec.rollback_on_failure)
                    .build(),
            )
            .build()
    }
}

/// The awsvpc network configuration of a service's tasks (and of its one-off tasks).
pub(crate) fn awsvpc(
    rid: &ResourceId,
    subnets: Vec<String>,
    security_group: String,
    public_ip: bool,
) -> Result<NetworkConfiguration> {
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(subnets))
        .security_groups(security_group)
        .assign_public_ip(if public_ip {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| unknown(rid, &e.to_string()))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

/// The cluster and name of an observed service.
pub(crate) fn located(observed: &Observed) -> (String, String) {
    let out = |k: &str| {
        observed
            .outputs
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    (out("cluster"), out("name"))
}

fn unknown(rid: &ResourceId, what: &str) -> Error {
    Error::Resource {
        resource: rid.to_string(),
        message: format!("{what} is not known at apply time"),
    }
}

/// The service `name` in `cluster`, unless absent or INACTIVE.
pub(crate) async fn describe(
    ctx: &Context,
    rid: &ResourceId,
    cluster: &str,
    name: &str,
) -> Result<Option<Service>> {
    if ctx.planning() {
        let all = in_cluster(ctx, rid, cluster).await?;
        let found = all.iter().find(|s| s.service_name() == Some(name));
        if let Some(s) = found.filter(|s| s.status() != Some("INACTIVE")) {
            return Ok(Some(s.clone()));
        }
    }
    let out = client(ctx)
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeServices", e));
    let Some(out) = skyforge_core::none_if_aws_code(out, &["ClusterNotFoundException"])? else {
        return Ok(None);
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .cloned())
}

/// Scale `name` to 0, delete it and wait until it is INACTIVE (its tasks stopped, their
/// network interfaces released).
pub(crate) async fn delete_service(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    cluster: &str,
    name: &str,
) -> Result<()> {
    let ecs = client(ctx);
    let gone = &[
        "ServiceNotFoundException",
        "ServiceNotActiveException",
        "ClusterNotFoundException",
    ];
    guard
        .send(
            "UpdateService",
            gone,
            ecs.update_service()
                .cluster(cluster)
                .service(name)
                .desired_count(0)
                .send(),
        )
        .await?;
    guard
        .send(
            "DeleteService",
            gone,
            ecs.delete_service()
                .cluster(cluster)
                .service(name)
                .force(true)
                .send(),
        )
        .await?;
    crate::steady::wait_inactive(ctx, rid, cluster, name).await
}

/// Every service of `cluster` with its tags (`ListServices`, then `DescribeServices` ten at a
/// time; none when the cluster does not exist). Described once per plan, shared by every
/// service's observation and the orphan listing; outside a plan, each call describes.
pub(crate) async fn in_cluster(
    ctx: &Context,
    rid: impl std::fmt::Display + Copy,
    cluster: &str,
) -> Result<std::sync::Arc<Vec<Service>>> {
    ctx.memo(&format!("ecs:services:{cluster}"), || async {
        let ecs = client(ctx);
        let arns = ecs
            .list_services()
            .cluster(cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "ListServices", e));
        let arns: Vec<String> =
            skyforge_core::none_if_aws_code(arns, &["ClusterNotFoundException"])?
                .unwrap_or_default();
        let mut out = Vec::with_capacity(arns.len());
        for chunk in arns.chunks(10) {
            let d = ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk.to_vec()))
                .include(aws_sdk_ecs::types::ServiceField::Tags)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "DescribeServices", e))?;
            out.extend(d.services().iter().cloned());
        }
        Ok(out)
    })
    .await
}
