//! Lock backends: DynamoDB (feature `dynamodb`), S3 conditional writes (feature `s3`), an OS
//! file lock.

#[cfg(feature = "dynamodb")]
mod dynamodb;
mod file;
#[cfg(feature = "s3")]
mod s3;

#[cfg(feature = "dynamodb")]
pub use dynamodb::{DynamoDbLock, LOCK_KEY_ATTRIBUTE};
pub use file::FileLock;
#[cfg(feature = "s3")]
pub use s3::{S3Lock, s3_client};

#[cfg(any(feature = "s3", feature = "dynamodb"))]
use crate::error::Error;
#[cfg(any(feature = "s3", feature = "dynamodb"))]
use crate::lock::LockInfo;

/// How often a create retries when the record it met was released before it could be read.
#[cfg(any(feature = "s3", feature = "dynamodb"))]
const CREATE_ATTEMPTS: usize = 8;

/// Several runs took and released the lock while this one tried: refused like any held lock.
#[cfg(any(feature = "s3", feature = "dynamodb"))]
fn contended(info: &LockInfo) -> Error {
    Error::Locked {
        stack: info.stack.clone(),
        holder: "several runs in turn".into(),
        operation: "unknown".into(),
        age_s: 0,
        lock_id: "unknown".into(),
    }
}
