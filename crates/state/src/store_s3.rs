//! The state document as a versioned, encrypted S3 object (feature `s3`).

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use skyforge_core::Context;

use crate::backends::s3_client;
use crate::document::StateDocument;
use crate::error::{Error, Result, aws};
use crate::store::StateStore;

/// An object in a versioned bucket, encrypted at rest. A corrupt document is reported with the
/// previous version to recover from.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
}

impl S3Store {
    /// `s3://bucket/key`.
    pub fn new(ctx: &Context, bucket: impl Into<String>, key: impl Into<String>) -> Self {
        S3Store {
            client: s3_client(ctx),
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    /// The version before the current one, if the bucket keeps versions.
    async fn previous_version(&self) -> Option<String> {
        let out = self
            .client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(&self.key)
            .send()
            .await
            .ok()?;
        let mut versions: Vec<_> = out
            .versions()
            .iter()
            .filter(|v| v.key() == Some(self.key.as_str()))
            .collect();
        versions.sort_by_key(|v| std::cmp::Reverse(v.last_modified().cloned()));
        versions
            .iter()
            .find(|v| v.is_latest() != Some(true))
            .and_then(|v| v.version_id())
            .map(|id| format!("s3://{}/{}?versionId={id}", self.bucket, self.key))
    }
}

#[async_trait]
impl StateStore for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
    async fn load(&self) -> Result<Option<StateDocument>> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = aws(self.describe(), "GetObject", e);
                return if e.aws_code() == Some("NoSuchKey") {
                    Ok(None)
                } else {
                    Err(e)
                };
            }
        };
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| Error::Io {
                path: self.describe(),
                message: e.to_string(),
            })?
            .into_bytes();
        match StateDocument::from_bytes(&bytes, &self.describe()) {
            Err(Error::Corrupt {
                location, detail, ..
            }) => Err(Error::Corrupt {
                location,
                detail,
                previous: self.previous_version().await,
            }),
            other => other.map(Some),
        }
    }
    async fn save(&self, doc: &StateDocument) -> Result<()> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&self.key)
            .content_type("application/json")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .body(ByteStream::from(doc.to_bytes()))
            .send()
            .await
            .map_err(|e| aws(self.describe(), "PutObject", e))?;
        Ok(())
    }
}
