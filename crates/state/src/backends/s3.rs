//! A lock object in S3, written with conditional requests.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use skyforge_core::Context;

use super::{CREATE_ATTEMPTS, contended};
use crate::error::{Error, Result, aws};
use crate::lock::{LockBackend, LockInfo};

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
        let probe = format!(
            "{}{}",
            crate::access::probe_prefix(prefix),
            uuid::Uuid::new_v4()
        );
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
            key: crate::access::lock_object_key(prefix, stack),
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
