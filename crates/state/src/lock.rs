//! Locks with leases.
//!
//! A lock is one record per stack: id, holder (`user@host`), operation, creation time and lease
//! expiry. It is created with a conditional write (DynamoDB `attribute_not_exists`, S3
//! `If-None-Match: *`, or an OS file lock), renewed by a heartbeat while the run lives and
//! deleted with a condition on its id. A second run is refused at once with the holder; a lock
//! whose lease expired is reported as stale and never taken over; `force_unlock` needs the exact
//! id. When a write's response is lost and the retry meets the lock it created, the ids match and
//! the lock is ours.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The lock record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// Unique per acquisition.
    pub id: String,
    /// The stack it guards.
    pub stack: String,
    /// `user@host` (and pid) of the holder.
    pub holder: String,
    /// `apply`, `destroy`, ...
    pub operation: String,
    /// Unix time in milliseconds.
    pub created_ms: u64,
    /// End of the lease, Unix time in milliseconds.
    pub expires_ms: u64,
}

/// Wall-clock time for leases (they are compared across machines).
pub trait Clock: Send + Sync {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }
}

/// A clock that follows tokio's (pausable) time from a fixed start: for tests of leases
/// (feature `testing`).
#[cfg(feature = "testing")]
#[derive(Debug, Clone)]
pub struct TokioClock {
    base_ms: u64,
    start: tokio::time::Instant,
}

#[cfg(feature = "testing")]
impl TokioClock {
    /// Starting at `base_ms`.
    pub fn starting_at(base_ms: u64) -> Self {
        TokioClock {
            base_ms,
            start: tokio::time::Instant::now(),
        }
    }
}

#[cfg(feature = "testing")]
impl Clock for TokioClock {
    fn now_ms(&self) -> u64 {
        self.base_ms + self.start.elapsed().as_millis() as u64
    }
}

/// Where the lock record lives.
#[async_trait]
pub trait LockBackend: Send + Sync {
    /// Where (for messages).
    fn describe(&self) -> String;
    /// Create the record if there is none: `None` when created, the existing record otherwise
    /// (which is ours when a retried write met the record it created).
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>>;
    /// Extend our lease (the record's id must be `info.id`).
    async fn renew(&self, info: &LockInfo) -> Result<()>;
    /// Delete the record if its id is `id`.
    async fn delete(&self, id: &str) -> Result<()>;
    /// The current record.
    async fn read(&self) -> Result<Option<LockInfo>>;
    /// Whether leases matter (an OS file lock ends with its process, so it never goes stale).
    fn has_leases(&self) -> bool {
        true
    }
}

/// `user@host` of this process.
pub fn this_holder() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "unknown".into());
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_string())
        })
        .unwrap_or_else(|| "localhost".into());
    format!("{user}@{host} (pid {})", std::process::id())
}

/// Takes and releases locks on one backend.
#[derive(Clone)]
pub struct Locker {
    backend: Arc<dyn LockBackend>,
    clock: Arc<dyn Clock>,
    lease: Duration,
    holder: String,
}

impl std::fmt::Debug for Locker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Locker")
            .field("backend", &self.backend.describe())
            .field("lease", &self.lease)
            .finish_non_exhaustive()
    }
}

/// What `status` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockStatus {
    /// The record.
    pub info: LockInfo,
    /// Its lease expired.
    pub stale: bool,
    /// Milliseconds since it was taken.
    pub age_ms: u64,
}

impl Locker {
    /// A locker with a lease (renewed every third of it) and the system clock.
    pub fn new(backend: Arc<dyn LockBackend>, lease: Duration) -> Self {
        Locker {
            backend,
            clock: Arc::new(SystemClock),
            lease,
            holder: this_holder(),
        }
    }
    /// Replace the clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Replace the holder name.
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.holder = holder.into();
        self
    }
    /// The lease.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    fn refusal(&self, other: LockInfo) -> Error {
        let now = self.clock.now_ms();
        let age_s = now.saturating_sub(other.created_ms) / 1000;
        if self.backend.has_leases() && other.expires_ms < now {
            Error::StaleLock {
                stack: other.stack,
                holder: other.holder,
                operation: other.operation,
                age_s,
                expired_s: (now - other.expires_ms) / 1000,
                lock_id: other.id,
            }
        } else {
            Error::Locked {
                stack: other.stack,
                holder: other.holder,
                operation: other.operation,
                age_s,
                lock_id: other.id,
            }
        }
    }

    /// Take the lock for `operation` on `stack`, or fail at once naming the holder.
    pub async fn acquire(&self, stack: &str, operation: &str) -> Result<HeldLock> {
        let now = self.clock.now_ms();
        let info = LockInfo {
            id: uuid::Uuid::new_v4().to_string(),
            stack: stack.to_string(),
            holder: self.holder.clone(),
            operation: operation.to_string(),
            created_ms: now,
            expires_ms: now + self.lease.as_millis() as u64,
        };
        match self.backend.create(&info).await? {
            None => {}
            // Our own record: the first write succeeded and its response was lost.
            Some(existing) if existing.id == info.id => {}
            Some(other) => return Err(self.refusal(other)),
        }
        tracing::info!(stack, operation, lock_id = %info.id, backend = %self.backend.describe(), "lock acquired");
        Ok(HeldLock::start(
            info,
            self.backend.clone(),
            self.clock.clone(),
            self.lease,
        ))
    }

    /// The current lock, if any.
    pub async fn status(&self) -> Result<Option<LockStatus>> {
        let now = self.clock.now_ms();
        Ok(self.backend.read().await?.map(|info| LockStatus {
            stale: self.backend.has_leases() && info.expires_ms < now,
            age_ms: now.saturating_sub(info.created_ms),
            info,
        }))
    }

    /// Remove a lock whose holder is gone. Refused unless `lock_id` is the lock's exact id.
    pub async fn force_unlock(&self, stack: &str, lock_id: &str) -> Result<LockInfo> {
        let Some(info) = self.backend.read().await? else {
            return Err(Error::NotLocked {
                stack: stack.to_string(),
            });
        };
        if info.id != lock_id {
            return Err(Error::WrongLockId {
                given: lock_id.to_string(),
                actual: info.id,
            });
        }
        self.backend.delete(lock_id).await?;
        tracing::warn!(stack, lock_id, holder = %info.holder, "lock forcibly released");
        Ok(info)
    }
}

/// A lock held by this run. The heartbeat renews its lease; [`HeldLock::check`] fails once it
/// is lost, and the run must stop before its next mutating call. Dropping it without
/// [`HeldLock::release`] (a crash) leaves the record to expire.
pub struct HeldLock {
    info: LockInfo,
    backend: Arc<dyn LockBackend>,
    clock: Arc<dyn Clock>,
    state: Arc<Mutex<Lease>>,
    heartbeat: tokio::task::JoinHandle<()>,
}

struct Lease {
    expires_ms: u64,
    lost: Option<String>,
}

impl std::fmt::Debug for HeldLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeldLock")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

impl HeldLock {
    fn start(
        info: LockInfo,
        backend: Arc<dyn LockBackend>,
        clock: Arc<dyn Clock>,
        lease: Duration,
    ) -> Self {
        let state = Arc::new(Mutex::new(Lease {
            expires_ms: info.expires_ms,
            lost: None,
        }));
        let heartbeat = if backend.has_leases() {
            let (b, c, s, mut i) = (backend.clone(), clock.clone(), state.clone(), info.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(lease / 3).await;
                    i.expires_ms = c.now_ms() + lease.as_millis() as u64;
                    match b.renew(&i).await {
                        Ok(()) => {
                            s.lock().unwrap_or_else(|p| p.into_inner()).expires_ms = i.expires_ms;
                            tracing::debug!(lock_id = %i.id, "lease renewed");
                        }
                        Err(e) => {
                            tracing::warn!(lock_id = %i.id, error = %e, "lease renewal failed");
                            s.lock().unwrap_or_else(|p| p.into_inner()).lost =
                                Some(format!("renewing the lease failed: {e}"));
                            break;
                        }
                    }
                }
            })
        } else {
            tokio::spawn(async {})
        };
        HeldLock {
            info,
            backend,
            clock,
            state,
            heartbeat,
        }
    }

    /// The record.
    pub fn info(&self) -> &LockInfo {
        &self.info
    }

    /// Fails when the lock is lost (renewal failed or the lease ran out).
    pub fn check(&self) -> Result<()> {
        let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let reason = match &s.lost {
            Some(r) => Some(r.clone()),
            None if self.backend.has_leases() && self.clock.now_ms() > s.expires_ms => {
                Some("the lease expired before it could be renewed".into())
            }
            None => None,
        };
        match reason {
            Some(reason) => Err(Error::LockLost {
                stack: self.info.stack.clone(),
                reason,
            }),
            None => Ok(()),
        }
    }

    /// Stop the heartbeat and delete the record.
    pub async fn release(self) -> Result<()> {
        self.heartbeat.abort();
        self.backend.delete(&self.info.id).await?;
        tracing::info!(lock_id = %self.info.id, "lock released");
        Ok(())
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        self.heartbeat.abort();
    }
}

/// An in-memory lock (one process), for tests (feature `testing`).
#[cfg(feature = "testing")]
#[derive(Debug, Default)]
pub struct MemoryLock {
    record: Mutex<Option<LockInfo>>,
    /// Fail the next `n` renewals (tests).
    pub fail_renewals: Mutex<u32>,
}

#[cfg(feature = "testing")]
#[async_trait]
impl LockBackend for MemoryLock {
    fn describe(&self) -> String {
        "memory".into()
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        match &*r {
            Some(existing) => Ok(Some(existing.clone())),
            None => {
                *r = Some(info.clone());
                Ok(None)
            }
        }
    }
    async fn renew(&self, info: &LockInfo) -> Result<()> {
        {
            let mut fail = self.fail_renewals.lock().unwrap_or_else(|p| p.into_inner());
            if *fail > 0 {
                *fail -= 1;
                return Err(Error::LockLost {
                    stack: info.stack.clone(),
                    reason: "injected renewal failure".into(),
                });
            }
        }
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        match r.as_mut() {
            Some(existing) if existing.id == info.id => {
                existing.expires_ms = info.expires_ms;
                Ok(())
            }
            _ => Err(Error::LockLost {
                stack: info.stack.clone(),
                reason: "the lock record is gone or belongs to another run".into(),
            }),
        }
    }
    async fn delete(&self, id: &str) -> Result<()> {
        let mut r = self.record.lock().unwrap_or_else(|p| p.into_inner());
        if r.as_ref().is_some_and(|x| x.id == id) {
            *r = None;
        }
        Ok(())
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        Ok(self
            .record
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone())
    }
}
