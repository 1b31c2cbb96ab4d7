//! The cache parameter group: one per family (its family is in its name), replaced create
//! before destroy when the family changes with a major upgrade.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticache::types::{CacheParameterGroup, ParameterNameValue};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, Observed, ReplaceOrder,
    Resource, ResourceId, Result, Value,
};

use crate::group::{client, ec_tags, tags_of};
use crate::subnet_group::group_name;

/// Resource kind `cache_parameter_group`.
pub const KIND_PARAMETER_GROUP: &str = "cache_parameter_group";

pub(crate) struct ParameterGroupNode {
    pub(crate) logical: String,
    pub(crate) family: String,
    pub(crate) parameters: BTreeMap<String, String>,
}

/// `<stack>-<logical>-redis7` (dots of `redis6.x` become hyphens).
pub(crate) fn name(env: &Environment, logical: &str, family: &str) -> String {
    format!("{}-{}", group_name(env, logical), family.replace('.', "-"))
}

/// `redis7`, `redis6-x`, `valkey8`: the end of one of this cache's group names (and not the
/// name of another cache whose logical id extends this one's).
fn is_family_suffix(s: &str) -> bool {
    let rest = s.strip_prefix("redis").or_else(|| s.strip_prefix("valkey"));
    rest.is_some_and(|r| {
        let digits = r.strip_suffix("-x").unwrap_or(r);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    })
}

impl ParameterGroupNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }

    /// This cache's groups (any family), the one of the wanted family first.
    async fn find(&self, ctx: &Context) -> Result<Option<CacheParameterGroup>> {
        let prefix = format!("{}-", group_name(ctx.env(), &self.logical));
        let pages: Vec<_> = client(ctx)
            .describe_cache_parameter_groups()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeCacheParameterGroups", e))?;
        let mut found: Vec<CacheParameterGroup> = pages
            .iter()
            .flat_map(|p| p.cache_parameter_groups())
            .filter(|g| {
                g.cache_parameter_group_name()
                    .and_then(|n| n.strip_prefix(&prefix))
                    .is_some_and(is_family_suffix)
            })
            .cloned()
            .collect();
        found.sort_by_key(|g| g.cache_parameter_group_family() != Some(self.family.as_str()));
        Ok(found.into_iter().next())
    }

    async fn user_values(&self, ctx: &Context, name: &str) -> Result<BTreeMap<String, String>> {
        let pages: Vec<_> = client(ctx)
            .describe_cache_parameters()
            .cache_parameter_group_name(name)
            .source("user")
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeCacheParameters", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.parameters())
            .filter_map(|p| {
                let k = p.parameter_name()?;
                self.parameters.contains_key(k).then(|| {
                    (
                        k.to_string(),
                        p.parameter_value().unwrap_or_default().to_string(),
                    )
                })
            })
            .collect())
    }

    async fn set_values(
        &self,
        ctx: &Context,
        guard: &Guard,
        name: &str,
        only: &BTreeMap<String, String>,
    ) -> Result<()> {
        let all: Vec<ParameterNameValue> = only
            .iter()
            .map(|(k, v)| {
                ParameterNameValue::builder()
                    .parameter_name(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        // ModifyCacheParameterGroup takes at most 20 parameters per call.
        for chunk in all.chunks(20) {
            let req = client(ctx)
                .modify_cache_parameter_group()
                .cache_parameter_group_name(name)
                .set_parameter_name_values(Some(chunk.to_vec()));
            guard
                .send("ModifyCacheParameterGroup", &[], req.send())
                .await?;
        }
        Ok(())
    }
}

/// The calls of a cache parameter group.
pub(crate) const PARAMETER_GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticache:DescribeCacheParameterGroups",
        "elasticache:DescribeCacheParameters",
        "elasticache:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
    ],
    create: &[
        "elasticache:CreateCacheParameterGroup",
        "elasticache:ModifyCacheParameterGroup",
        "elasticache:AddTagsToResource",
    ],
    update: &[
        "elasticache:ModifyCacheParameterGroup",
        "elasticache:AddTagsToResource",
        "elasticache:RemoveTagsFromResource",
    ],
    delete: &["elasticache:DeleteCacheParameterGroup"],
};

#[async_trait]
impl Resource for ParameterGroupNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(PARAMETER_GROUP_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let n = name(env, &self.logical, &self.family);
        vec![skyforge_core::ArnName::new("elasticache:parametergroup", n)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_PARAMETER_GROUP, &self.logical)
    }
    fn service(&self) -> &'static str {
        "elasticache"
    }
    fn replace_order(&self) -> ReplaceOrder {
        ReplaceOrder::CreateBeforeDestroy
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(name(env, &self.logical, &self.family))).force_new(),
        );
        f.insert(
            "family".into(),
            Field::new(Value::str(&self.family)).force_new(),
        );
        f.insert("parameters".into(), Field::new(Value::of(&self.parameters)));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let Some(g) = self.find(ctx).await? else {
            return Ok(None);
        };
        let gname = g
            .cache_parameter_group_name()
            .unwrap_or_default()
            .to_string();
        let arn = g.arn().unwrap_or_default();
        let found = tags_of(ctx, &self.id(), arn).await?;
        tags::ensure_owned(&found, ctx.env(), &self.id(), &gname)?;
        let mut o = Observed {
            physical_id: gname.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&gname));
        o.fields.insert(
            "family".into(),
            Value::str(g.cache_parameter_group_family().unwrap_or_default()),
        );
        o.fields.insert(
            "parameters".into(),
            Value::of(self.user_values(ctx, &gname).await?),
        );
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("name".into(), gname.into());
        o.outputs.insert("arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let gname = name(ctx.env(), &self.logical, &self.family);
        let req = client(ctx)
            .create_cache_parameter_group()
            .cache_parameter_group_name(&gname)
            .cache_parameter_group_family(&self.family)
            .description(format!(
                "skyforge {} {}",
                tags::stack_name(ctx.env()),
                self.family
            ))
            .set_tags(Some(ec_tags(&self.desired_tags(ctx.env()))));
        guard
            .send(
                "CreateCacheParameterGroup",
                &["CacheParameterGroupAlreadyExists"],
                req.send(),
            )
            .await?;
        self.set_values(ctx, guard, &gname, &self.parameters)
            .await?;
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
        if diffs.iter().any(|d| d.field == "parameters") {
            let now: BTreeMap<String, String> = observed
                .fields
                .get("parameters")
                .and_then(Value::known)
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            let changed: BTreeMap<String, String> = self
                .parameters
                .iter()
                .filter(|(k, v)| now.get(*k) != Some(v))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            self.set_values(ctx, guard, &observed.physical_id, &changed)
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
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// Delete parameter group `name`; success when it is already gone.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let req = client(ctx)
        .delete_cache_parameter_group()
        .cache_parameter_group_name(name);
    guard
        .send(
            "DeleteCacheParameterGroup",
            &["CacheParameterGroupNotFound"],
            req.send(),
        )
        .await
}
