//! Create the state bucket and the lock table, idempotently.

use std::time::Duration;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    SseSpecification, TableStatus,
};
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, VersioningConfiguration,
};
use skyforge_core::Context;
use skyforge_core::wait::Poll;

use crate::backends::{LOCK_KEY_ATTRIBUTE, s3_client};
use crate::error::{Result, aws};

/// Make sure `bucket` exists, versioned, encrypted (AES-256) and closed to the public, and (when
/// given) that the lock `table` exists with a `LockID` key, on-demand billing and encryption.
/// Safe to run again: settings are put back, nothing is duplicated.
pub async fn bootstrap(ctx: &Context, bucket: &str, table: Option<&str>) -> Result<()> {
    let s3 = s3_client(ctx);
    let exists = s3.head_bucket().bucket(bucket).send().await.is_ok();
    if !exists {
        let mut req = s3.create_bucket().bucket(bucket);
        if ctx.region() != "us-east-1" {
            req = req.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(ctx.region()))
                    .build(),
            );
        }
        if let Err(e) = req.send().await {
            let e = aws(bucket, "CreateBucket", e);
            if e.aws_code() != Some("BucketAlreadyOwnedByYou") {
                return Err(e);
            }
        }
    }
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws(bucket, "PutBucketVersioning", e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(
            ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::Aes256)
                .build()
                .map_err(|e| aws_build(bucket, e))?,
        )
        .build();
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(rule)
                .build()
                .map_err(|e| aws_build(bucket, e))?,
        )
        .send()
        .await
        .map_err(|e| aws(bucket, "PutBucketEncryption", e))?;
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws(bucket, "PutPublicAccessBlock", e))?;

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

fn aws_build(what: &str, e: impl std::fmt::Display) -> crate::error::Error {
    crate::error::Error::Core(skyforge_core::Error::Resource {
        resource: what.to_string(),
        message: e.to_string(),
    })
}
