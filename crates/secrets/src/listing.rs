//! The stack's secrets and SSM parameters, listed once per plan and shared by the orphan listing
//! and every node's observation: secrets with their tags (one `ListSecrets` by the stack's tag,
//! every page); parameters' metadata (one `DescribeParameters` by the stack's tag, every page),
//! values (`GetParameters`, ten names a request) and tags (one read each). Outside a plan, and
//! for what the listing does not hold (another stack's, a secret scheduled for deletion, or one
//! created since), each observation reads its own.

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::Arc;

use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry};
use aws_sdk_ssm::types::{
    Parameter, ParameterMetadata, ParameterStringFilter, ResourceTypeForTagging,
};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Error, Result};

use crate::parameter::client;

/// Names `GetParameters` takes at once.
const GET_BATCH: usize = 10;

fn filter(key: String, option: Option<&str>, value: &str) -> Result<ParameterStringFilter> {
    ParameterStringFilter::builder()
        .key(key)
        .set_option(option.map(String::from))
        .values(value)
        .build()
        .map_err(|e| Error::Config(e.to_string()))
}

/// Every parameter carrying the stack's tag, every page; once per plan.
pub(crate) async fn listed(ctx: &Context) -> Result<Arc<Vec<ParameterMetadata>>> {
    ctx.memo("ssm:parameters", || async {
        let by_stack = filter(
            format!("tag:{}", tags::STACK),
            None,
            &tags::stack_name(ctx.env()),
        )?;
        let pages: Vec<_> = client(ctx)
            .describe_parameters()
            .parameter_filters(by_stack)
            .max_results(50)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("ssm_parameter.*", "DescribeParameters", e))?;
        Ok(pages.iter().flat_map(|p| p.parameters()).cloned().collect())
    })
    .await
}

/// The listed parameters' values (not decrypted), ten names a request; once per plan.
async fn values(ctx: &Context) -> Result<Arc<HashMap<String, Parameter>>> {
    ctx.memo("ssm:values", || async {
        let names: Vec<String> = listed(ctx)
            .await?
            .iter()
            .filter_map(|m| m.name().map(String::from))
            .collect();
        let mut out = HashMap::with_capacity(names.len());
        for batch in names.chunks(GET_BATCH) {
            let got = client(ctx)
                .get_parameters()
                .set_names(Some(batch.to_vec()))
                .send()
                .await
                .map_err(|e| Error::aws("ssm_parameter.*", "GetParameters", e))?;
            for p in got.parameters() {
                out.insert(p.name().unwrap_or_default().to_string(), p.clone());
            }
        }
        Ok(out)
    })
    .await
}

/// The parameter `name` (its value not decrypted); `None` when it does not exist.
pub(crate) async fn parameter(
    ctx: &Context,
    rid: impl Display,
    name: &str,
) -> Result<Option<Parameter>> {
    if ctx.planning()
        && let Some(p) = values(ctx).await?.get(name)
    {
        return Ok(Some(p.clone()));
    }
    let got = client(ctx).get_parameter().name(name).send().await;
    let got = got.map_err(|e| Error::aws(rid, "GetParameter", e));
    let got = skyforge_core::none_if_aws_code(got, &["ParameterNotFound"])?;
    Ok(got.and_then(|o| o.parameter().cloned()))
}

/// The metadata of the parameter `name` (description, tier, key); `None` when not found.
pub(crate) async fn metadata(
    ctx: &Context,
    rid: impl Display,
    name: &str,
) -> Result<Option<ParameterMetadata>> {
    if ctx.planning() {
        let listed = listed(ctx).await?;
        if let Some(m) = listed.iter().find(|m| m.name() == Some(name)) {
            return Ok(Some(m.clone()));
        }
    }
    let out = client(ctx)
        .describe_parameters()
        .parameter_filters(filter("Name".into(), Some("Equals"), name)?)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeParameters", e))?;
    Ok(out.parameters().first().cloned())
}

/// The tags of the parameter `name` (`None`: it is gone): from the plan's tag index when they
/// are the desired ones, else read once per plan.
pub(crate) async fn tags_of(ctx: &Context, rid: impl Display, name: &str) -> Result<Option<Tags>> {
    let read = || async {
        let t = client(ctx)
            .list_tags_for_resource()
            .resource_type(ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e));
        let t = skyforge_core::none_if_aws_code(t, &["InvalidResourceId", "ParameterNotFound"])?;
        Ok(t.map(|t| {
            t.tag_list()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    };
    let key = format!("ssm:parameter:/{}", name.trim_start_matches('/'));
    skyforge_core::tag_index::read_tags(ctx, PARAMETERS, &key, read).await
}

/// SSM parameters in the plan's tag index, by `ssm:parameter:` and their name with a leading `/`
/// (an ARN spells `a` and `/a` alike: `…:parameter/a`).
const PARAMETERS: skyforge_core::tag_index::IndexedType = skyforge_core::tag_index::IndexedType {
    filter: "ssm:parameter",
    key: |arn| Some(format!("ssm:parameter:{}", arn.split_once(":parameter")?.1)),
};

/// Every secret carrying the stack's tag (not those scheduled for deletion), every page; once per
/// plan.
pub(crate) async fn secrets(ctx: &Context) -> Result<Arc<Vec<SecretListEntry>>> {
    ctx.memo("secretsmanager:secrets", || async {
        let filter =
            |key: FilterNameStringType, v: &str| Filter::builder().key(key).values(v).build();
        let pages: Vec<_> = crate::secret::client(ctx)
            .list_secrets()
            .filters(filter(FilterNameStringType::TagKey, tags::STACK))
            .filters(filter(
                FilterNameStringType::TagValue,
                &tags::stack_name(ctx.env()),
            ))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("secret.*", "ListSecrets", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.secret_list())
            .cloned()
            .collect())
    })
    .await
}

/// While planning, the secret `name` as the listing describes it (what `DescribeSecret` would
/// answer, for the fields observation reads); `None` outside a plan or when not listed.
pub(crate) async fn listed_secret(
    ctx: &Context,
    name: &str,
) -> Result<Option<DescribeSecretOutput>> {
    if !ctx.planning() {
        return Ok(None);
    }
    let listed = secrets(ctx).await?;
    let Some(s) = listed.iter().find(|s| s.name() == Some(name)) else {
        return Ok(None);
    };
    Ok(Some(
        DescribeSecretOutput::builder()
            .set_arn(s.arn().map(String::from))
            .set_name(s.name().map(String::from))
            .set_description(s.description().map(String::from))
            .set_kms_key_id(s.kms_key_id().map(String::from))
            .set_rotation_enabled(s.rotation_enabled())
            .set_rotation_lambda_arn(s.rotation_lambda_arn().map(String::from))
            .set_rotation_rules(s.rotation_rules().cloned())
            .set_deleted_date(s.deleted_date().cloned())
            .set_tags(Some(s.tags().to_vec()))
            .set_version_ids_to_stages(s.secret_versions_to_stages().cloned())
            .build(),
    ))
}
