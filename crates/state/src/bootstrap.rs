//! Create the state bucket and the lock table, idempotently.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    SseSpecification, TableStatus,
};
use skyforge_core::wait::Poll;
use skyforge_core::{Context, Environment, Stack, Stage};

use crate::backends::LOCK_KEY_ATTRIBUTE;
use crate::error::{Result, aws};

/// Make sure `bucket` exists as `skyforge_storage::Bucket::for_state` describes it (versioned,
/// SSE-S3, public access blocked, TLS only, noncurrent versions kept 90 days; an untagged bucket
/// of that name is taken over), planned and applied by the engine like any bucket, and (when
/// given) that the lock `table` exists with a `LockID` key, on-demand billing and encryption.
/// Safe to run again: settings are put back, nothing is duplicated.
pub async fn bootstrap(ctx: &Context, bucket: &str, table: Option<&str>) -> Result<()> {
    state_bucket(ctx, bucket).await?;
    let Some(table) = table else { return Ok(()) };
    let ddb = ctx.client(aws_sdk_dynamodb::Client::new);
    let described = ddb.describe_table().table_name(table).send().await;
    if let Err(e) = described {
        let e = aws(table, "DescribeTable", e);
        if e.aws_code() != Some("ResourceNotFoundException") {
            return Err(e);
        }
        let created = ddb
            .create_table()
            .table_name(table)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(LOCK_KEY_ATTRIBUTE)
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| aws_build(table, e))?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(LOCK_KEY_ATTRIBUTE)
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| aws_build(table, e))?,
            )
            .billing_mode(BillingMode::PayPerRequest)
            .sse_specification(SseSpecification::builder().enabled(true).build())
            .send()
            .await;
        if let Err(e) = created {
            let e = aws(table, "CreateTable", e);
            if e.aws_code() != Some("ResourceInUseException") {
                return Err(e);
            }
        }
    }
    ctx.poller(Duration::from_secs(300))
        .wait(table, "ACTIVE", || async {
            let d = ddb
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| skyforge_core::Error::aws(table, "DescribeTable", e))?;
            Ok(match d.table().and_then(|t| t.table_status()) {
                Some(TableStatus::Active) => Poll::Ready(()),
                s => Poll::Pending(s.map(|s| s.as_str().to_string()).unwrap_or_default()),
            })
        })
        .await?;
    Ok(())
}

/// The stack a state bucket belongs to: `<project>-state-s<digest of the bucket name>`, never
/// the stack whose state it keeps (that stack's orphan listing would find it) nor the one of
/// another state bucket.
pub fn state_environment(env: &Environment, bucket: &str) -> Environment {
    let owner = format!("s{}", skyforge_core::naming::short_hash(&["state", bucket]));
    let mut state = Environment::new(env.project_name(), Stage::Named("state".into()))
        .owner(owner)
        .ephemeral(env.is_ephemeral());
    if let Some(r) = env.region_name() {
        state = state.region(r);
    }
    for (k, v) in env.user_tags() {
        state = state.tag(k, v);
    }
    state
}

async fn state_bucket(ctx: &Context, bucket: &str) -> Result<()> {
    let env = state_environment(ctx.env(), bucket);
    let state_ctx = Context::from_sdk_config(env.clone(), ctx.sdk_config().clone());
    let mut stack = Stack::new(env);
    stack.add(skyforge_storage::Bucket::for_state(bucket)?);
    let plan = stack.plan(&state_ctx).await?;
    stack.apply(&state_ctx, &plan).await?;
    Ok(())
}

fn aws_build(what: &str, e: impl std::fmt::Display) -> crate::error::Error {
    crate::error::Error::Core(skyforge_core::Error::Resource {
        resource: what.to_string(),
        message: e.to_string(),
    })
}
