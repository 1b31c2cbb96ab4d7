//! The log group node.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogGroup as ApiLogGroup;
use skyforge_core::Permissions;
use skyforge_core::tag_index::IndexedType;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, Observed, Resource,
    ResourceId, Result, Value,
};

pub(crate) struct LogGroupNode {
    pub(crate) kind: &'static str,
    pub(crate) logical: String,
    pub(crate) name: String,
    pub(crate) retention_days: u32,
    pub(crate) kms_key: Option<String>,
}

fn client(ctx: &Context) -> aws_sdk_cloudwatchlogs::Client {
    ctx.client(aws_sdk_cloudwatchlogs::Client::new)
}

impl LogGroupNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }
}

/// A log group as CloudWatch Logs describes it.
pub(crate) struct Found {
    pub(crate) arn: String,
    pub(crate) tags: Tags,
    pub(crate) retention: Option<i32>,
    pub(crate) kms_key: Option<String>,
}

/// The log groups whose names start with `prefix`, every page; once per plan.
pub(crate) async fn listed(
    ctx: &Context,
    rid: impl std::fmt::Display,
    prefix: &str,
) -> Result<Arc<Vec<ApiLogGroup>>> {
    ctx.memo(&format!("logs:DescribeLogGroups:{prefix}"), || async {
        let pages: Vec<_> = client(ctx)
            .describe_log_groups()
            .log_group_name_prefix(prefix)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "DescribeLogGroups", e))?;
        Ok(pages.iter().flat_map(|p| p.log_groups()).cloned().collect())
    })
    .await
}

/// The path of the groups beside `name` (up to its last `/`) when it names the project: a
/// stage's services (`/ecs/alva/staging/`), a database's logs (`/aws/rds/instance/alva-…/`).
/// Not `/aws/lambda/`, which would list every function's group in the account.
fn beside<'a>(name: &'a str, env: &Environment) -> Option<&'a str> {
    let end = name.rfind('/').filter(|&i| i > 0)?;
    let path = &name[..=end];
    path.contains(env.project_name()).then_some(path)
}

/// The log group `name` as CloudWatch Logs describes it; `None` when absent. While planning, the
/// groups beside it are listed once and shared by their nodes and by the orphan listing of the
/// same prefix.
async fn describe(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<ApiLogGroup>> {
    let exact = |g: &&ApiLogGroup| g.log_group_name() == Some(name);
    if ctx.planning()
        && let Some(path) = beside(name, ctx.env())
    {
        let groups = listed(ctx, rid, path).await?;
        return Ok(groups.iter().find(exact).cloned());
    }
    let out = client(ctx)
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeLogGroups", e))?;
    Ok(out.log_groups().iter().find(exact).cloned())
}

/// The observed log group `name` with its tags; `None` when absent.
pub(crate) async fn find(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<Found>> {
    let Some(g) = describe(ctx, rid, name).await? else {
        return Ok(None);
    };
    let arn = g
        .arn()
        .unwrap_or_default()
        .trim_end_matches(":*")
        .to_string();
    let Some(found) = tags_of(ctx, rid, &arn).await? else {
        return Ok(None);
    };
    Ok(Some(Found {
        arn,
        tags: found,
        retention: g.retention_in_days(),
        kms_key: g.kms_key_id().map(String::from),
    }))
}

/// The tags of the log group `arn` (`None`: it is gone): from the plan's tag index when they are
/// the desired ones, else read once per plan (its node and the orphan listing share them).
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
    skyforge_core::tag_index::read_tags(ctx, LOG_GROUPS, arn, read).await
}

/// Log groups in the plan's tag index.
const LOG_GROUPS: IndexedType = IndexedType::by_arn("logs:log-group");

/// The calls of a log group.
pub(crate) const LOG_GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "logs:DescribeLogGroups",
        "logs:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
    ],
    create: &[
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:AssociateKmsKey",
    ],
    update: &[
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
        "logs:AssociateKmsKey",
        "logs:DisassociateKmsKey",
    ],
    delete: &["logs:DeleteLogGroup"],
};

#[async_trait]
impl Resource for LogGroupNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(LOG_GROUP_PERMISSIONS)
    }
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        crate::arn_names(&self.name)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(self.kind, &self.logical)
    }
    fn service(&self) -> &'static str {
        "logs"
    }
    fn validate(&self, _env: &Environment) -> skyforge_core::Result<()> {
        let field = format!("{}.{}", self.kind, self.logical);
        skyforge_core::naming::validate_logical_id(&field, &self.logical)?;
        let name_ok = (1..=512).contains(&self.name.len())
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-/#".contains(c));
        if !name_ok {
            return Err(skyforge_core::Error::validation(
                format!("{field}.name"),
                &self.name,
                "1 to 512 characters of letters, digits and ._-/#",
            ));
        }
        if !crate::RETENTION_DAYS.contains(&self.retention_days) {
            return Err(skyforge_core::Error::validation(
                format!("{field}.retention_days"),
                self.retention_days.to_string(),
                format!("CloudWatch Logs accepts {:?}", crate::RETENTION_DAYS),
            ));
        }
        Ok(())
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(&self.name)).force_new(),
        );
        f.insert(
            "retention_days".into(),
            Field::new(Value::of(self.retention_days)),
        );
        f.insert("kms_key".into(), Field::new(Value::of(&self.kms_key)));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let Some(Found {
            arn,
            tags: found,
            retention,
            kms_key,
        }) = find(ctx, &self.id(), &self.name).await?
        else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &self.id(), &self.name)?;
        let mut o = Observed {
            physical_id: self.name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&self.name));
        o.fields
            .insert("retention_days".into(), Value::of(retention));
        o.fields.insert("kms_key".into(), Value::of(kms_key));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("name".into(), self.name.clone().into());
        o.outputs.insert("arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let logs = client(ctx);
        guard
            .send(
                "CreateLogGroup",
                &["ResourceAlreadyExistsException"],
                logs.create_log_group()
                    .log_group_name(&self.name)
                    .set_kms_key_id(self.kms_key.clone())
                    .set_tags(Some(self.desired_tags(ctx.env()).into_iter().collect()))
                    .send(),
            )
            .await?;
        self.put_retention(ctx, guard).await?;
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
        if diffs.iter().any(|d| d.field == "retention_days") {
            self.put_retention(ctx, guard).await?;
        }
        if diffs.iter().any(|d| d.field == "kms_key") {
            self.put_kms_key(ctx, guard).await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let arn = observed
                .outputs
                .get("arn")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let current = tags::from_field(observed.fields.get("tags"));
            let d = tags::diff_tags(&self.desired_tags(ctx.env()), &current);
            let logs = client(ctx);
            if !d.set.is_empty() {
                guard
                    .send(
                        "TagResource",
                        &[],
                        logs.tag_resource()
                            .resource_arn(arn)
                            .set_tags(Some(d.set.clone().into_iter().collect()))
                            .send(),
                    )
                    .await?;
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

impl LogGroupNode {
    async fn put_kms_key(&self, ctx: &Context, guard: &Guard) -> Result<()> {
        let logs = client(ctx);
        match &self.kms_key {
            Some(k) => {
                let req = logs
                    .associate_kms_key()
                    .log_group_name(&self.name)
                    .kms_key_id(k);
                guard.send("AssociateKmsKey", &[], req.send()).await
            }
            None => {
                let req = logs.disassociate_kms_key().log_group_name(&self.name);
                guard.send("DisassociateKmsKey", &[], req.send()).await
            }
        }
    }
    async fn put_retention(&self, ctx: &Context, guard: &Guard) -> Result<()> {
        guard
            .send(
                "PutRetentionPolicy",
                &[],
                client(ctx)
                    .put_retention_policy()
                    .log_group_name(&self.name)
                    .retention_in_days(i32::try_from(self.retention_days).unwrap_or(i32::MAX))
                    .send(),
            )
            .await
    }
}

/// Delete log group `name`; success when it is already gone.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    guard
        .send(
            "DeleteLogGroup",
            &["ResourceNotFoundException"],
            client(ctx).delete_log_group().log_group_name(name).send(),
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::beside;
    use skyforge_core::{Environment, Stage};

    #[test]
    fn groups_beside_a_name_are_shared_only_under_the_project() {
        let env = Environment::new("alva", Stage::Staging);
        assert_eq!(
            beside("/ecs/alva/staging/api", &env),
            Some("/ecs/alva/staging/")
        );
        assert_eq!(
            beside("/aws/rds/instance/alva-staging-db/postgresql", &env),
            Some("/aws/rds/instance/alva-staging-db/")
        );
        assert_eq!(beside("/aws/lambda/other-function", &env), None);
        assert_eq!(beside("alva-flat-name", &env), None);
        assert_eq!(beside("/alva", &env), None);
    }
}
