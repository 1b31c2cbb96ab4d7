//! A managed service's group of the network's subnets (an RDS DB subnet group, an ElastiCache
//! cache subnet group): one resource node, the service's calls behind [`SubnetGroupApi`].

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

/// A subnet group as the service describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribedGroup {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Its subnets' ids.
    pub subnet_ids: Vec<String>,
    /// Its tags.
    pub tags: Tags,
}

/// The calls of one service's subnet groups.
#[async_trait]
pub trait SubnetGroupApi: Send + Sync + 'static {
    /// The resource kind (`db_subnet_group`).
    const KIND: &'static str;
    /// The AWS service (`rds`).
    const SERVICE: &'static str;
    /// The IAM actions of its calls.
    const PERMISSIONS: Permissions;
    /// The group's IAM resource type (`rds:subgrp`).
    const RESOURCE_TYPE: &'static str;
    /// The group's name for `logical` in `env`.
    fn name(env: &Environment, logical: &str) -> String;
    /// The group named `name`, with its tags; `None` when there is none.
    async fn describe(
        ctx: &Context,
        rid: &ResourceId,
        name: &str,
    ) -> Result<Option<DescribedGroup>>;
    /// Create it (success when a retried create finds it).
    async fn create(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
        tags: &Tags,
    ) -> Result<()>;
    /// Give it these subnets.
    async fn set_subnets(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
    ) -> Result<()>;
    /// Bring its tags to `desired`.
    async fn sync_tags(
        ctx: &Context,
        guard: &Guard,
        arn: &str,
        desired: &Tags,
        observed: &Observed,
    ) -> Result<()>;
    /// Delete it; success when it is already gone.
    async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()>;
}

/// The subnet group node of service `A`.
pub struct SubnetGroupNode<A> {
    logical: String,
    subnets: Vec<Input<String>>,
    _api: std::marker::PhantomData<fn() -> A>,
}

impl<A: SubnetGroupApi> SubnetGroupNode<A> {
    /// A group `logical` of these subnets.
    pub fn new(logical: impl Into<String>, subnets: Vec<Input<String>>) -> Self {
        SubnetGroupNode {
            logical: logical.into(),
            subnets,
            _api: std::marker::PhantomData,
        }
    }

    fn subnet_ids(&self, inputs: &Inputs) -> Option<Vec<String>> {
        let mut ids: Vec<String> = self
            .subnets
            .iter()
            .map(|s| s.resolve(inputs))
            .collect::<Option<_>>()?;
        ids.sort();
        Some(ids)
    }

    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }

    fn not_visible(&self, after: &str) -> Error {
        Error::Resource {
            resource: self.id().to_string(),
            message: format!("not visible {after}"),
        }
    }
}

#[async_trait]
impl<A: SubnetGroupApi> Resource for SubnetGroupNode<A> {
    fn permissions(&self) -> Option<Permissions> {
        Some(A::PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let name = A::name(env, &self.logical);
        vec![skyforge_core::ArnName::new(A::RESOURCE_TYPE, name)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(A::KIND, &self.logical)
    }
    fn service(&self) -> &'static str {
        A::SERVICE
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.subnets.iter().filter_map(Input::dependency).collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(A::name(env, &self.logical))).force_new(),
        );
        let ids = self
            .subnet_ids(inputs)
            .map(Value::of)
            .unwrap_or(Value::Unknown);
        f.insert("subnet_ids".into(), Field::new(ids));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let Some(g) = A::describe(ctx, &rid, &A::name(ctx.env(), &self.logical)).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&g.tags, ctx.env(), &rid, &g.name)?;
        let mut ids = g.subnet_ids.clone();
        ids.sort();
        let mut o = Observed {
            physical_id: g.name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&g.name));
        o.fields.insert("subnet_ids".into(), Value::of(ids));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &g.tags)),
        );
        o.outputs.insert("name".into(), g.name.into());
        o.outputs.insert("arn".into(), g.arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ids = self
            .subnet_ids(inputs)
            .ok_or_else(|| self.not_visible("(its subnets are not known at apply time)"))?;
        let name = A::name(ctx.env(), &self.logical);
        A::create(ctx, guard, &name, ids, &self.desired_tags(ctx.env())).await?;
        skyforge_core::observe_again(self, ctx, inputs, "right after creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        if diffs.iter().any(|d| d.field == "subnet_ids") {
            let ids = self.subnet_ids(inputs).unwrap_or_default();
            A::set_subnets(ctx, guard, &observed.physical_id, ids).await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let arn = observed
                .outputs
                .get("arn")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            A::sync_tags(ctx, guard, arn, &self.desired_tags(ctx.env()), observed).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        A::delete(ctx, guard, &observed.physical_id).await
    }
}
