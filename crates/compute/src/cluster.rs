//! The ECS cluster: Container Insights and the Fargate capacity providers.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName, Tag,
};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Ref, Resource, ResourceId, Result, Stack, Value,
};
use typed_builder::TypedBuilder;

use crate::spec::CapacityShare;

/// Resource kind `ecs_cluster`.
pub const KIND_CLUSTER: &str = "ecs_cluster";

/// The service-linked role ECS creates with an account's first cluster.
pub(crate) const ECS_SERVICE_LINKED_ROLE: &str =
    "aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";

/// An ECS cluster.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Cluster>))]
pub struct ClusterSpec {
    /// Logical id (`main`); named `<project>-<stage>-<logical>`.
    #[builder(setter(into))]
    pub logical_id: String,
    /// Container Insights (task-level CPU, memory and running-task metrics); default on.
    #[builder(default = true)]
    pub container_insights: bool,
    /// The default capacity strategy of its services; default on-demand Fargate only.
    #[builder(default = vec![CapacityShare::fargate(1)])]
    pub capacity: Vec<CapacityShare>,
}

/// A validated cluster.
#[derive(Debug, Clone)]
pub struct Cluster {
    pub(crate) spec: ClusterSpec,
}

impl Cluster {
    /// Start a cluster.
    pub fn builder() -> ClusterSpecBuilder {
        ClusterSpec::builder()
    }
}

impl From<ClusterSpec> for Result<Cluster> {
    fn from(spec: ClusterSpec) -> Self {
        naming::validate_logical_id("cluster.logical_id", &spec.logical_id)?;
        crate::validate::capacity("cluster.capacity", &spec.capacity)?;
        Ok(Cluster { spec })
    }
}

/// A cluster in a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterHandle {
    pub(crate) node: NodeId,
    pub(crate) logical: String,
}

impl ClusterHandle {
    /// The cluster's name.
    pub fn name(&self) -> Ref<String> {
        Ref::new(self.node, "name")
    }
    /// The cluster's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.node, "arn")
    }
    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
}

impl Component for Cluster {
    type Handle = ClusterHandle;
    fn add_to(self, stack: &mut Stack) -> ClusterHandle {
        crate::owned::register_kinds(stack);
        let logical = self.spec.logical_id.clone();
        let node = stack.add_resource(ClusterNode { spec: self.spec });
        ClusterHandle { node, logical }
    }
}

pub(crate) fn client(ctx: &Context) -> aws_sdk_ecs::Client {
    ctx.client(aws_sdk_ecs::Client::new)
}

pub(crate) fn ecs_tags(t: Tags) -> Vec<Tag> {
    t.into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn strategy(shares: &[CapacityShare]) -> Vec<CapacityStrategyItem> {
    shares
        .iter()
        .map(|s| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(s.provider())
                .weight(s.weight as i32)
                .base(s.base as i32)
                .build()
                .expect("provider is set")
        })
        .collect()
}

type CapacityStrategyItem = CapacityProviderStrategyItem;

fn strategy_json(shares: &[CapacityShare]) -> serde_json::Value {
    serde_json::Value::Array(
        shares
            .iter()
            .map(|s| serde_json::json!({"provider": s.provider(), "weight": s.weight, "base": s.base}))
            .collect(),
    )
}

struct ClusterNode {
    spec: ClusterSpec,
}

impl ClusterNode {
    fn name(&self, env: &Environment) -> String {
        naming::physical_name(env, NameKind::Ecs, &self.spec.logical_id).unwrap_or_default()
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }
    fn insights(&self) -> ClusterSetting {
        ClusterSetting::builder()
            .name(ClusterSettingName::ContainerInsights)
            .value(if self.spec.container_insights {
                "enabled"
            } else {
                "disabled"
            })
            .build()
    }
}

/// The calls of a cluster; the first cluster of an account creates ECS's service-linked role.
pub(crate) const CLUSTER_PERMISSIONS: Permissions = Permissions {
    observe: &["ecs:DescribeClusters"],
    create: &[
        "ecs:CreateCluster",
        "ecs:TagResource",
        "ecs:PutClusterCapacityProviders",
        "iam:CreateServiceLinkedRole",
    ],
    update: &[
        "ecs:UpdateCluster",
        "ecs:PutClusterCapacityProviders",
        "ecs:TagResource",
        "ecs:UntagResource",
    ],
    delete: &["ecs:DeleteCluster"],
};

#[async_trait]
impl Resource for ClusterNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(CLUSTER_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![
            skyforge_core::ArnName::new("ecs:cluster", self.name(env)),
            // The service-linked role ECS creates with an account's first cluster.
            skyforge_core::ArnName::new("iam:role", ECS_SERVICE_LINKED_ROLE),
            // What runs in it: tasks (a migration's), and container instances (`ListTasks`).
            skyforge_core::ArnName::new("ecs:task", format!("{}/*", self.name(env))),
            skyforge_core::ArnName::new("ecs:container-instance", format!("{}/*", self.name(env))),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_CLUSTER, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "container_insights".into(),
            Field::new(Value::of(self.spec.container_insights)),
        );
        f.insert(
            "capacity".into(),
            Field::new(Value::of(strategy_json(&self.spec.capacity))),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let name = self.name(ctx.env());
        let out = client(ctx)
            .describe_clusters()
            .clusters(&name)
            .include(ClusterField::Settings)
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeClusters", e))?;
        let Some(c) = out
            .clusters()
            .iter()
            .find(|c| c.status() != Some("INACTIVE"))
        else {
            return Ok(None);
        };
        let found: Tags = c
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        let insights = c.settings().iter().any(|s| {
            s.name() == Some(&ClusterSettingName::ContainerInsights)
                && matches!(s.value(), Some("enabled") | Some("enhanced"))
        });
        let shares: Vec<CapacityShare> = c
            .default_capacity_provider_strategy()
            .iter()
            .map(|s| CapacityShare {
                spot: s.capacity_provider() == "FARGATE_SPOT",
                weight: s.weight() as u32,
                base: s.base() as u32,
            })
            .collect();
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields
            .insert("container_insights".into(), Value::of(insights));
        o.fields
            .insert("capacity".into(), Value::of(strategy_json(&shares)));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("name".into(), name.into());
        o.outputs
            .insert("arn".into(), c.cluster_arn().unwrap_or_default().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let name = self.name(ctx.env());
        // CreateCluster is idempotent for an ACTIVE cluster of the same name.
        guard
            .send(
                "CreateCluster",
                &[],
                client(ctx)
                    .create_cluster()
                    .cluster_name(&name)
                    .settings(self.insights())
                    .capacity_providers("FARGATE")
                    .capacity_providers("FARGATE_SPOT")
                    .set_default_capacity_provider_strategy(Some(strategy(&self.spec.capacity)))
                    .set_tags(Some(ecs_tags(self.desired_tags(ctx.env()))))
                    .send(),
            )
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
        let ecs = client(ctx);
        let name = &observed.physical_id;
        for d in diffs {
            match d.field.as_str() {
                "container_insights" => {
                    guard
                        .send(
                            "UpdateCluster",
                            &[],
                            ecs.update_cluster()
                                .cluster(name)
                                .settings(self.insights())
                                .send(),
                        )
                        .await?
                }
                "capacity" => {
                    guard
                        .send(
                            "PutClusterCapacityProviders",
                            &[],
                            ecs.put_cluster_capacity_providers()
                                .cluster(name)
                                .capacity_providers("FARGATE")
                                .capacity_providers("FARGATE_SPOT")
                                .set_default_capacity_provider_strategy(Some(strategy(
                                    &self.spec.capacity,
                                )))
                                .send(),
                        )
                        .await?
                }
                "tags" => {
                    let arn: String = observed
                        .outputs
                        .get("arn")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    crate::tagging::sync(ctx, guard, &arn, &self.desired_tags(ctx.env()), observed)
                        .await?
                }
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its change").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_cluster(ctx, guard, &observed.physical_id).await
    }
}

/// ECS refuses to delete a cluster while a deleted service is still draining its tasks.
const STILL_IN_USE: skyforge_core::NotYet<'static> = skyforge_core::NotYet::codes(
    &[
        "ClusterContainsServicesException",
        "ClusterContainsTasksException",
        "UpdateInProgressException",
    ],
    std::time::Duration::from_secs(10 * 60),
);

/// Delete cluster `name`; success when it is already gone or inactive. Retried while the tasks
/// of deleted services are still stopping.
pub(crate) async fn delete_cluster(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let ecs = client(ctx);
    guard
        .send_until(
            ctx,
            STILL_IN_USE,
            "DeleteCluster",
            &["ClusterNotFoundException"],
            || ecs.delete_cluster().cluster(name).send(),
        )
        .await
}
