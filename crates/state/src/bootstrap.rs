//! Create the state bucket and the lock table, idempotently.

#[cfg(all(feature = "s3", feature = "dynamodb"))]
use std::time::Duration;

#[cfg(all(feature = "s3", feature = "dynamodb"))]
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    SseSpecification, TableStatus,
};
#[cfg(all(feature = "s3", feature = "dynamodb"))]
use skyforge_core::wait::Poll;
#[cfg(feature = "s3")]
use skyforge_core::{Context, Stack};
use skyforge_core::{Environment, Stage};

#[cfg(all(feature = "s3", feature = "dynamodb"))]
use crate::backends::LOCK_KEY_ATTRIBUTE;
#[cfg(feature = "s3")]
use crate::error::Result;
#[cfg(all(feature = "s3", feature = "dynamodb"))]
use crate::error::aws;

/// Make sure `bucket` exists as `skyforge_storage::Bucket::for_state` describes it (versioned,
/// SSE-S3, public access blocked, TLS only, noncurrent versions kept 90 days; an untagged bucket
/// of that name is taken over), planned and applied by the engine like any bucket, and (when
/// given) that the lock `table` exists with a `LockID` key, on-demand billing and encryption.
/// Safe to run again: settings are put back, nothing is duplicated.
#[cfg(feature = "s3")]
pub async fn bootstrap(ctx: &Context, bucket: &str, table: Option<&str>) -> Result<()> {
    state_bucket(ctx, bucket).await?;
    match table {
        Some(t) => lock_table(ctx, t).await,
        None => Ok(()),
    }
}

#[cfg(all(feature = "s3", not(feature = "dynamodb")))]
async fn lock_table(_: &Context, table: &str) -> Result<()> {
    Err(crate::error::Error::Core(skyforge_core::Error::Config(
        format!("the lock table {table} needs skyforge-state's `dynamodb` feature"),
    )))
}

/// The lock table: a `LockID` key, on-demand billing, encryption; waited for until ACTIVE.
#[cfg(all(feature = "s3", feature = "dynamodb"))]
async fn lock_table(ctx: &Context, table: &str) -> Result<()> {
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

#[cfg(feature = "s3")]
async fn state_bucket(ctx: &Context, bucket: &str) -> Result<()> {
    let env = state_environment(ctx.env(), bucket);
    let state_ctx = Context::from_sdk_config(env.clone(), ctx.sdk_config().clone());
    let mut stack = Stack::new(env);
    stack.add(skyforge_storage::Bucket::for_state(bucket)?);
    let plan = stack.plan(&state_ctx).await?;
    stack.apply(&state_ctx, &plan).await?;
    Ok(())
}

#[cfg(all(feature = "s3", feature = "dynamodb"))]
fn aws_build(what: &str, e: impl std::fmt::Display) -> crate::error::Error {
    crate::error::Error::Core(skyforge_core::Error::Resource {
        resource: what.to_string(),
        message: e.to_string(),
    })
}
