//! Lock backends: DynamoDB, S3 conditional writes, an OS file lock.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use skyforge_core::Context;

use crate::error::{Error, Result, aws};
use crate::lock::{LockBackend, LockInfo};

/// How often a create retries when the record it met was released before it could be read.
const CREATE_ATTEMPTS: usize = 8;

/// Several runs took and released the lock while this one tried: refused like any held lock.
fn contended(info: &LockInfo) -> Error {
    Error::Locked {
        stack: info.stack.clone(),
        holder: "several runs in turn".into(),
        operation: "unknown".into(),
        age_s: 0,
        lock_id: "unknown".into(),
    }
}

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
            key: format!("skyforge/{stack}"),
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

/// An S3 client for `ctx` (path-style against emulators).
pub fn s3_client(ctx: &Context) -> aws_sdk_s3::Client {
    let path_style = ctx.endpoint_overridden();
    ctx.client(|c| {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(c)
                .force_path_style(path_style)
                .build(),
        )
    })
}

/// A lock object in S3, written with `If-None-Match: *` and renewed with `If-Match`.
#[derive(Debug)]
pub struct S3Lock {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    etag: Mutex<Option<(String, String)>>,
    conditional_delete: bool,
}

impl S3Lock {
    /// The lock of `stack` at `s3://bucket/<prefix><stack>.lock`, after checking that the
    /// endpoint honours conditional writes (a second `If-None-Match: *` write must fail).
    pub async fn connect(ctx: &Context, bucket: &str, prefix: &str, stack: &str) -> Result<Self> {
        let client = s3_client(ctx);
        let probe = format!("{prefix}.skyforge-probe/{}", uuid::Uuid::new_v4());
        let put = || {
            client
                .put_object()
                .bucket(bucket)
                .key(&probe)
                .body(ByteStream::from_static(b"probe"))
                .if_none_match("*")
                .send()
        };
        let first = put().await.map_err(|e| aws(bucket, "PutObject", e))?;
        let second = put().await;
        // Conditional deletes (If-Match) are newer than conditional writes: where they are not
        // implemented, a release reads the object, checks the id, then deletes it.
        let conditional_delete = match client
            .delete_object()
            .bucket(bucket)
            .key(&probe)
            .if_match(first.e_tag().unwrap_or_default())
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) => {
                let _ = client
                    .delete_object()
                    .bucket(bucket)
                    .key(&probe)
                    .send()
                    .await;
                let e = aws(bucket, "DeleteObject", e);
                if e.aws_code() != Some("NotImplemented") {
                    return Err(e);
                }
                false
            }
        };
        match second {
            Ok(_) => {
                return Err(Error::ConditionalWritesUnsupported {
                    endpoint: format!("s3://{bucket} at {:?}", ctx.sdk_config().endpoint_url()),
                });
            }
            Err(e) => {
                let e = aws(bucket, "PutObject", e);
                if e.aws_code() != Some("PreconditionFailed") {
                    return Err(e);
                }
            }
        }
        Ok(S3Lock {
            client,
            bucket: bucket.to_string(),
            key: format!("{prefix}{stack}.lock"),
            etag: Mutex::new(None),
            conditional_delete,
        })
    }

    async fn get(&self) -> Result<Option<(LockInfo, String)>> {
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
        {
            Ok(o) => {
                let etag = o.e_tag().unwrap_or_default().to_string();
                let body = o.body.collect().await.map_err(|e| Error::Io {
                    path: self.describe(),
                    message: e.to_string(),
                })?;
                let info: LockInfo =
                    serde_json::from_slice(&body.into_bytes()).map_err(|e| Error::Corrupt {
                        location: self.describe(),
                        detail: format!("unreadable lock record: {e}"),
                        previous: None,
                    })?;
                Ok(Some((info, etag)))
            }
            Err(e) => {
                let e = aws(self.describe(), "GetObject", e);
                if e.aws_code() == Some("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}

#[async_trait]
impl LockBackend for S3Lock {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        let body = serde_json::to_vec(info).unwrap_or_default();
        for _ in 0..CREATE_ATTEMPTS {
            let r = self
                .client
                .put_object()
                .bucket(&self.bucket)
                .key(&self.key)
                .content_type("application/json")
                .body(ByteStream::from(body.clone()))
                .if_none_match("*")
                .send()
                .await;
            match r {
                Ok(o) => {
                    *self.etag.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((info.id.clone(), o.e_tag().unwrap_or_default().to_string()));
                    return Ok(None);
                }
                Err(e) => {
                    let e = aws(self.describe(), "PutObject", e);
                    if !matches!(
                        e.aws_code(),
                        Some("PreconditionFailed" | "ConditionalRequestConflict")
                    ) {
                        return Err(e);
                    }
                }
            }
            if let Some((existing, etag)) = self.get().await? {
                if existing.id == info.id {
                    *self.etag.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some((info.id.clone(), etag));
                }
                return Ok(Some(existing));
            }
        }
        Err(contended(info))
    }
    async fn renew(&self, info: &LockInfo) -> Result<()> {
        let etag = match &*self.etag.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((id, etag)) if *id == info.id => etag.clone(),
            _ => {
                return Err(Error::LockLost {
                    stack: info.stack.clone(),
                    reason: "no record of our lock object".into(),
                });
            }
        };
        let r = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .body(ByteStream::from(
                serde_json::to_vec(info).unwrap_or_default(),
            ))
            .if_match(etag)
            .send()
            .await;
        match r {
            Ok(o) => {
                *self.etag.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((info.id.clone(), o.e_tag().unwrap_or_default().to_string()));
                Ok(())
            }
            Err(e) => {
                let e = aws(self.describe(), "PutObject", e);
                if matches!(e.aws_code(), Some("PreconditionFailed" | "NoSuchKey")) {
                    Err(Error::LockLost {
                        stack: info.stack.clone(),
                        reason: "the lock object was removed or replaced".into(),
                    })
                } else {
                    Err(e)
                }
            }
        }
    }
    async fn delete(&self, id: &str) -> Result<()> {
        let known = match &*self.etag.lock().unwrap_or_else(|p| p.into_inner()) {
            Some((i, etag)) if i == id && self.conditional_delete => Some(etag.clone()),
            _ => None,
        };
        let etag = match known {
            Some(e) => e,
            None => match self.get().await? {
                Some((info, etag)) if info.id == id => etag,
                _ => return Ok(()),
            },
        };
        let mut req = self
            .client
            .delete_object()
            .bucket(&self.bucket)
            .key(&self.key);
        if self.conditional_delete {
            req = req.if_match(etag);
        }
        let r = req.send().await;
        match r {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = aws(self.describe(), "DeleteObject", e);
                if matches!(e.aws_code(), Some("PreconditionFailed" | "NoSuchKey")) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
        }
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        Ok(self.get().await?.map(|(i, _)| i))
    }
}

/// An OS file lock (`flock`): for one machine. It ends with the process that holds it, so it
/// never goes stale and needs no lease.
#[derive(Debug)]
pub struct FileLock {
    path: PathBuf,
    held: Mutex<Option<(String, File)>>,
}

impl FileLock {
    /// The lock file at `path` (created when missing).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileLock {
            path: path.into(),
            held: Mutex::new(None),
        }
    }
    fn io(&self, e: impl std::fmt::Display) -> Error {
        Error::Io {
            path: self.path.display().to_string(),
            message: e.to_string(),
        }
    }
    fn open(&self) -> Result<File> {
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| self.io(e))?;
        }
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.path)
            .map_err(|e| self.io(e))
    }
    fn contents(&self) -> Option<LockInfo> {
        let mut s = String::new();
        File::open(&self.path).ok()?.read_to_string(&mut s).ok()?;
        serde_json::from_str(&s).ok()
    }
}

#[async_trait]
impl LockBackend for FileLock {
    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
    fn has_leases(&self) -> bool {
        false
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        let mut f = self.open()?;
        match f.try_lock() {
            Ok(()) => {
                f.set_len(0).map_err(|e| self.io(e))?;
                f.rewind().map_err(|e| self.io(e))?;
                f.write_all(&serde_json::to_vec(info).unwrap_or_default())
                    .map_err(|e| self.io(e))?;
                f.sync_all().map_err(|e| self.io(e))?;
                *self.held.lock().unwrap_or_else(|p| p.into_inner()) = Some((info.id.clone(), f));
                Ok(None)
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                Ok(Some(self.contents().unwrap_or(LockInfo {
                    id: "unknown".into(),
                    stack: info.stack.clone(),
                    holder: "another process".into(),
                    operation: "unknown".into(),
                    created_ms: 0,
                    expires_ms: u64::MAX,
                })))
            }
            Err(std::fs::TryLockError::Error(e)) => Err(self.io(e)),
        }
    }
    async fn renew(&self, _: &LockInfo) -> Result<()> {
        Ok(())
    }
    async fn delete(&self, id: &str) -> Result<()> {
        let mut held = self.held.lock().unwrap_or_else(|p| p.into_inner());
        if held.as_ref().is_some_and(|(i, _)| i == id)
            && let Some((_, f)) = held.take()
        {
            f.set_len(0).map_err(|e| self.io(e))?;
            f.unlock().map_err(|e| self.io(e))?;
        }
        Ok(())
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        if let Some((_, _)) = &*self.held.lock().unwrap_or_else(|p| p.into_inner()) {
            return Ok(self.contents());
        }
        let f = self.open()?;
        match f.try_lock() {
            // Nobody holds it.
            Ok(()) => {
                f.unlock().map_err(|e| self.io(e))?;
                Ok(None)
            }
            Err(_) => Ok(self.contents()),
        }
    }
}
