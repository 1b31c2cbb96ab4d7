//! A lock item in a DynamoDB table (Terraform's lock-table layout).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use skyforge_core::Context;

use super::{CREATE_ATTEMPTS, contended};
use crate::error::{Error, Result, aws};
use crate::lock::{LockBackend, LockInfo};

/// Terraform's lock-table key attribute: a table made for Terraform's S3 backend works as is.
pub const LOCK_KEY_ATTRIBUTE: &str = "LockID";

/// A lock in a DynamoDB table whose partition key is `LockID` (string).
#[derive(Debug, Clone)]
pub struct DynamoDbLock {
    client: aws_sdk_dynamodb::Client,
    table: String,
    key: String,
}

impl DynamoDbLock {
    /// The lock of `stack` in `table`.
    pub fn new(ctx: &Context, table: impl Into<String>, stack: &str) -> Self {
        DynamoDbLock {
            client: ctx.client(aws_sdk_dynamodb::Client::new),
            table: table.into(),
            key: crate::access::lock_item_key(stack),
        }
    }
    fn key(&self) -> AttributeValue {
        AttributeValue::S(self.key.clone())
    }
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_string())
}
fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn from_item(item: &HashMap<String, AttributeValue>) -> Option<LockInfo> {
    let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned();
    let n = |k: &str| {
        item.get(k)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some(LockInfo {
        id: s("lock_id")?,
        stack: s("stack").unwrap_or_default(),
        holder: s("holder").unwrap_or_default(),
        operation: s("operation").unwrap_or_default(),
        created_ms: n("created_ms").unwrap_or(0),
        expires_ms: n("expires_ms").unwrap_or(0),
    })
}

#[async_trait]
impl LockBackend for DynamoDbLock {
    fn describe(&self) -> String {
        format!("dynamodb table {} item {}", self.table, self.key)
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        for _ in 0..CREATE_ATTEMPTS {
            let r = self
                .client
                .put_item()
                .table_name(&self.table)
                .item(LOCK_KEY_ATTRIBUTE, self.key())
                .item("lock_id", s(&info.id))
                .item("stack", s(&info.stack))
                .item("holder", s(&info.holder))
                .item("operation", s(&info.operation))
                .item("created_ms", n(info.created_ms))
                .item("expires_ms", n(info.expires_ms))
                .condition_expression("attribute_not_exists(#k)")
                .expression_attribute_names("#k", LOCK_KEY_ATTRIBUTE)
                .send()
                .await;
            match r {
                Ok(_) => return Ok(None),
                Err(e) => {
                    let e = aws(self.describe(), "PutItem", e);
                    if e.aws_code() != Some("ConditionalCheckFailedException") {
                        return Err(e);
                    }
                }
            }
            // Someone holds it (maybe us, if this is a retried write).
            if let Some(existing) = self.read().await? {
                return Ok(Some(existing));
            }
        }
        Err(contended(info))
    }
    async fn renew(&self, info: &LockInfo) -> Result<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .key(LOCK_KEY_ATTRIBUTE, self.key())
            .update_expression("SET expires_ms = :e")
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":e", n(info.expires_ms))
            .expression_attribute_values(":id", s(&info.id))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = aws(self.describe(), "UpdateItem", e);
                if e.aws_code() == Some("ConditionalCheckFailedException") {
                    Err(Error::LockLost {
                        stack: info.stack.clone(),
                        reason: "the lock record was removed or replaced".into(),
                    })
                } else {
                    Err(e)
                }
            }
        }
    }
    async fn delete(&self, id: &str) -> Result<()> {
        let r = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(LOCK_KEY_ATTRIBUTE, self.key())
            .condition_expression("lock_id = :id")
            .expression_attribute_values(":id", s(id))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = aws(self.describe(), "DeleteItem", e);
                // Not ours any more (or gone): nothing of ours to delete.
                if e.aws_code() == Some("ConditionalCheckFailedException") {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(LOCK_KEY_ATTRIBUTE, self.key())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| aws(self.describe(), "GetItem", e))?;
        Ok(out.item().and_then(from_item))
    }
}
