//! The DB parameter group: one per major version (its family is in its name), created by
//! skyforge with `rds.force_ssl` and the spec's parameters. A new major brings a new group,
//! created before the instance moves to it and deleted after (create before destroy).

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::{ApplyMethod, DbParameterGroup, Parameter as ApiParameter};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, Observed, ReplaceOrder,
    Resource, ResourceId, Result, Value,
};

use crate::instance::{client, rds_tags};
use crate::spec::Parameter;
use crate::subnet_group::{group_name, tags_of};

/// Resource kind `db_parameter_group`.
pub const KIND_PARAMETER_GROUP: &str = "db_parameter_group";

pub(crate) struct ParameterGroupNode {
    pub(crate) logical: String,
    pub(crate) family: String,
    pub(crate) parameters: BTreeMap<String, Parameter>,
}

/// `<stack>-<logical>-postgres16`.
pub(crate) fn name(env: &Environment, logical: &str, family: &str) -> String {
    format!("{}-{family}", group_name(env, logical))
}

fn values(p: &BTreeMap<String, Parameter>) -> BTreeMap<String, String> {
    p.iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect()
}

impl ParameterGroupNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }

    /// This database's groups (any family), the one of the wanted family first.
    async fn find(&self, ctx: &Context) -> Result<Option<DbParameterGroup>> {
        let prefix = format!("{}-postgres", group_name(ctx.env(), &self.logical));
        let mut found: Vec<DbParameterGroup> = Vec::new();
        let mut pages = client(ctx)
            .describe_db_parameter_groups()
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::aws(self.id(), "DescribeDBParameterGroups", e))?;
            found.extend(
                page.db_parameter_groups()
                    .iter()
                    .filter(|g| {
                        g.db_parameter_group_name()
                            .is_some_and(|n| n.starts_with(&prefix))
                    })
                    .cloned(),
            );
        }
        found.sort_by_key(|g| g.db_parameter_group_family() != Some(self.family.as_str()));
        Ok(found.into_iter().next())
    }

    async fn user_values(&self, ctx: &Context, name: &str) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        let mut pages = client(ctx)
            .describe_db_parameters()
            .db_parameter_group_name(name)
            .source("user")
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| Error::aws(self.id(), "DescribeDBParameters", e))?;
            for p in page.parameters() {
                if let (Some(k), Some(v)) = (p.parameter_name(), p.parameter_value())
                    && self.parameters.contains_key(k)
                {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        Ok(out)
    }

    async fn set_values(
        &self,
        ctx: &Context,
        guard: &Guard,
        name: &str,
        only: &BTreeMap<String, Parameter>,
    ) -> Result<()> {
        let all: Vec<ApiParameter> = only
            .iter()
            .map(|(k, p)| {
                ApiParameter::builder()
                    .parameter_name(k)
                    .parameter_value(&p.value)
                    .apply_method(if p.needs_reboot {
                        ApplyMethod::PendingReboot
                    } else {
                        ApplyMethod::Immediate
                    })
                    .build()
            })
            .collect();
        // ModifyDBParameterGroup takes at most 20 parameters per call.
        for chunk in all.chunks(20) {
            guard
                .send(
                    "ModifyDBParameterGroup",
                    &[],
                    client(ctx)
                        .modify_db_parameter_group()
                        .db_parameter_group_name(name)
                        .set_parameters(Some(chunk.to_vec()))
                        .send(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The calls of a DB parameter group.
pub(crate) const PARAMETER_GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:ListTagsForResource",
    ],
    create: &[
        "rds:CreateDBParameterGroup",
        "rds:ModifyDBParameterGroup",
        "rds:AddTagsToResource",
    ],
    update: &[
        "rds:ModifyDBParameterGroup",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
    ],
    delete: &["rds:DeleteDBParameterGroup"],
};

#[async_trait]
impl Resource for ParameterGroupNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(PARAMETER_GROUP_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let n = name(env, &self.logical, &self.family);
        vec![skyforge_core::ArnName::new("rds:pg", n)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_PARAMETER_GROUP, &self.logical)
    }
    fn service(&self) -> &'static str {
        "rds"
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
        f.insert(
            "parameters".into(),
            Field::new(Value::of(values(&self.parameters))),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let Some(g) = self.find(ctx).await? else {
            return Ok(None);
        };
        let gname = g.db_parameter_group_name().unwrap_or_default().to_string();
        let arn = g.db_parameter_group_arn().unwrap_or_default();
        let found = tags_of(ctx, &self.id(), arn).await?;
        tags::ensure_owned(&found, ctx.env(), &self.id(), &gname)?;
        let mut o = Observed {
            physical_id: gname.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&gname));
        o.fields.insert(
            "family".into(),
            Value::str(g.db_parameter_group_family().unwrap_or_default()),
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
        guard
            .send(
                "CreateDBParameterGroup",
                &["DBParameterGroupAlreadyExists"],
                client(ctx)
                    .create_db_parameter_group()
                    .db_parameter_group_name(&gname)
                    .db_parameter_group_family(&self.family)
                    .description(format!(
                        "skyforge {} {}",
                        tags::stack_name(ctx.env()),
                        self.family
                    ))
                    .set_tags(Some(rds_tags(&self.desired_tags(ctx.env()))))
                    .send(),
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
            let changed: BTreeMap<String, Parameter> = self
                .parameters
                .iter()
                .filter(|(k, p)| now.get(*k) != Some(&p.value))
                .map(|(k, p)| (k.clone(), p.clone()))
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
            let desired = self.desired_tags(ctx.env());
            crate::tagging::sync(ctx, guard, arn, &desired, observed).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// Delete parameter group `name`; success when it is already gone.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    guard
        .send(
            "DeleteDBParameterGroup",
            &["DBParameterGroupNotFound"],
            client(ctx)
                .delete_db_parameter_group()
                .db_parameter_group_name(name)
                .send(),
        )
        .await
}
