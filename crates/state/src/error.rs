//! The error type of `skyforge-state`.

/// Everything that can go wrong with locks and state.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another run holds the lock.
    #[error(
        "stack {stack} is locked by {holder} for {operation} since {age_s} s ago (lock id {lock_id}); retry when it finishes"
    )]
    Locked {
        /// Stack.
        stack: String,
        /// `user@host` of the holder.
        holder: String,
        /// What it is doing (`apply`, `destroy`).
        operation: String,
        /// Seconds since it was taken.
        age_s: u64,
        /// The lock id.
        lock_id: String,
    },
    /// The lock's lease expired without being released: its holder probably crashed. It is
    /// never taken over silently.
    #[error(
        "stack {stack} has a stale lock held by {holder} for {operation}, taken {age_s} s ago, lease expired {expired_s} s ago; if that run is gone, release it with force_unlock(\"{lock_id}\")"
    )]
    StaleLock {
        /// Stack.
        stack: String,
        /// `user@host` of the holder.
        holder: String,
        /// What it was doing.
        operation: String,
        /// Seconds since it was taken.
        age_s: u64,
        /// Seconds since the lease expired.
        expired_s: u64,
        /// The lock id to pass to `force_unlock`.
        lock_id: String,
    },
    /// `force_unlock` was given another id than the lock's.
    #[error("force_unlock refused: the lock's id is {actual}, not {given}")]
    WrongLockId {
        /// The id given.
        given: String,
        /// The lock's id.
        actual: String,
    },
    /// There is no lock to release.
    #[error("stack {stack} is not locked")]
    NotLocked {
        /// Stack.
        stack: String,
    },
    /// The lock was lost during the run (heartbeat failed, lease expired, lock removed).
    #[error("the lock on {stack} was lost: {reason}")]
    LockLost {
        /// Stack.
        stack: String,
        /// Why.
        reason: String,
    },
    /// The S3 endpoint accepted a conditional write it should have refused.
    #[error(
        "{endpoint} does not honour S3 conditional writes (If-None-Match): two writers could both believe they hold the lock; use the DynamoDB lock instead"
    )]
    ConditionalWritesUnsupported {
        /// The bucket and endpoint.
        endpoint: String,
    },
    /// The state document failed its integrity check or cannot be parsed.
    #[error("state at {location} is corrupt ({detail}){}", previous.as_ref().map(|p| format!("; the previous version is {p}")).unwrap_or_default())]
    Corrupt {
        /// Where it was read.
        location: String,
        /// What is wrong.
        detail: String,
        /// The previous version to recover from (S3 version id), when there is one.
        previous: Option<String>,
    },
    /// A state document written by a newer skyforge.
    #[error(
        "state at {location} has schema version {found}; this skyforge reads up to {supported}"
    )]
    NewerSchema {
        /// Where.
        location: String,
        /// Found.
        found: u32,
        /// Supported.
        supported: u32,
    },
    /// A local file operation failed.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        message: String,
    },
    /// An AWS call or the engine failed.
    #[error(transparent)]
    Core(#[from] skyforge_core::Error),
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(any(feature = "s3", feature = "dynamodb"))]
pub(crate) fn aws<E, R>(
    what: impl std::fmt::Display,
    op: &str,
    e: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    Error::Core(skyforge_core::Error::aws(what, op, e))
}

impl Error {
    /// The AWS error code, when an AWS call failed.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Core(e) => e.aws_code(),
            _ => None,
        }
    }
}
