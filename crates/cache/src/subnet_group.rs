//! The cache subnet group: the cache's private or isolated subnets.

use async_trait::async_trait;
use aws_sdk_elasticache::types::CacheSubnetGroup;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

use crate::group::{client, ec_tags, tags_of};

/// Resource kind `cache_subnet_group`.
pub const KIND_SUBNET_GROUP: &str = "cache_subnet_group";

pub(crate) struct SubnetGroupNode {
    pub(crate) logical: String,
    pub(crate) subnets: Vec<Input<String>>,
}

pub(crate) fn group_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::CacheSubnetGroup, logical).unwrap_or_default()
}

impl SubnetGroupNode {
    fn subnet_ids(&self, inputs: &Inputs) -> Option<Vec<String>> {
        let mut ids: Vec<String> = self
            .subnets
            .iter()
            .map(|s| s.resolve(inputs))
            .collect::<Option<_>>()?;
        ids.sort();
        Some(ids)
    }

    async fn describe(&self, ctx: &Context) -> Result<Option<CacheSubnetGroup>> {
        let r = client(ctx)
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(group_name(ctx.env(), &self.logical))
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeCacheSubnetGroups", e));
        let out = skyforge_core::none_if_aws_code(r, &["CacheSubnetGroupNotFoundFault"])?;
        Ok(out.and_then(|o| o.cache_subnet_groups().first().cloned()))
    }

    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }
}

#[async_trait]
impl Resource for SubnetGroupNode {
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SUBNET_GROUP, &self.logical)
    }
    fn service(&self) -> &'static str {
        "elasticache"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.subnets.iter().filter_map(Input::dependency).collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(group_name(env, &self.logical))).force_new(),
        );
        f.insert(
            "subnet_ids".into(),
            Field::new(
                self.subnet_ids(inputs)
                    .map(Value::of)
                    .unwrap_or(Value::Unknown),
            ),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let Some(g) = self.describe(ctx).await? else {
            return Ok(None);
        };
        let name = g.cache_subnet_group_name().unwrap_or_default().to_string();
        let arn = g.arn().unwrap_or_default();
        let found = tags_of(ctx, &self.id(), arn).await?;
        tags::ensure_owned(&found, ctx.env(), &self.id(), &name)?;
        let mut ids: Vec<String> = g
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_identifier().map(str::to_string))
            .collect();
        ids.sort();
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields.insert("subnet_ids".into(), Value::of(ids));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("name".into(), name.into());
        o.outputs.insert("arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let ids = self.subnet_ids(inputs).ok_or_else(|| Error::Resource {
            resource: rid.to_string(),
            message: "subnet ids are not known at apply time".into(),
        })?;
        let req = client(ctx)
            .create_cache_subnet_group()
            .cache_subnet_group_name(group_name(ctx.env(), &self.logical))
            .cache_subnet_group_description(format!("skyforge {}", tags::stack_name(ctx.env())))
            .set_subnet_ids(Some(ids))
            .set_tags(Some(ec_tags(&self.desired_tags(ctx.env()))));
        guard
            .send(
                "CreateCacheSubnetGroup",
                &["CacheSubnetGroupAlreadyExists"],
                req.send(),
            )
            .await?;
        self.observe(ctx, inputs)
            .await?
            .ok_or_else(|| crate::Error::not_visible(rid, "right after creation"))
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
            let req = client(ctx)
                .modify_cache_subnet_group()
                .cache_subnet_group_name(&observed.physical_id)
                .set_subnet_ids(self.subnet_ids(inputs));
            guard
                .send("ModifyCacheSubnetGroup", &[], req.send())
                .await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let arn = observed
                .outputs
                .get("arn")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            crate::tagging::sync(ctx, guard, arn, &self.desired_tags(ctx.env()), observed).await?;
        }
        self.observe(ctx, inputs)
            .await?
            .ok_or_else(|| crate::Error::not_visible(self.id(), "after its update"))
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// Delete subnet group `name`; success when it is already gone.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let req = client(ctx)
        .delete_cache_subnet_group()
        .cache_subnet_group_name(name);
    guard
        .send(
            "DeleteCacheSubnetGroup",
            &["CacheSubnetGroupNotFoundFault"],
            req.send(),
        )
        .await
}
