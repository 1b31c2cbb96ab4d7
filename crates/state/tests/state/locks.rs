use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use skyforge_state::{Error, LockBackend, LockInfo, Locker, MemoryLock, Result, TokioClock};

const LEASE: Duration = Duration::from_secs(30);

fn locker(backend: &Arc<MemoryLock>, holder: &str) -> Locker {
    Locker::new(backend.clone(), LEASE)
        .with_clock(Arc::new(TokioClock::starting_at(1_700_000_000_000)))
        .with_holder(holder)
}

#[tokio::test(start_paused = true)]
async fn a_second_run_is_refused_with_the_holder_and_a_crashed_holder_goes_stale() {
    let backend = Arc::new(MemoryLock::default());
    let a = locker(&backend, "alice@ci-1");
    let b = locker(&backend, "bob@laptop");
    let held = a.acquire("alva-staging", "apply").await.unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    match b.acquire("alva-staging", "destroy").await.unwrap_err() {
        Error::Locked {
            holder,
            operation,
            age_s,
            ..
        } => assert_eq!(
            (holder.as_str(), operation.as_str(), age_s),
            ("alice@ci-1", "apply", 5)
        ),
        e => panic!("{e}"),
    }
    // The holder crashes: no release, no more heartbeats.
    drop(held);
    tokio::time::advance(LEASE - Duration::from_secs(6)).await;
    assert!(matches!(
        b.acquire("alva-staging", "apply").await,
        Err(Error::Locked { .. })
    ));
    tokio::time::advance(Duration::from_secs(10)).await;
    let e = b.acquire("alva-staging", "apply").await.unwrap_err();
    let Error::StaleLock {
        holder,
        lock_id,
        expired_s,
        ..
    } = &e
    else {
        panic!("{e}")
    };
    assert_eq!(holder, "alice@ci-1");
    assert!(*expired_s >= 3, "{e}");
    // Never taken over silently: still stale, still alice's.
    assert!(matches!(
        b.acquire("alva-staging", "apply").await,
        Err(Error::StaleLock { .. })
    ));
    let status = b.status().await.unwrap().unwrap();
    assert!(status.stale && &status.info.id == lock_id);
}

#[tokio::test(start_paused = true)]
async fn the_heartbeat_keeps_a_long_run_locked() {
    let backend = Arc::new(MemoryLock::default());
    let a = locker(&backend, "alice@ci-1");
    let held = a.acquire("s", "apply").await.unwrap();
    let first_expiry = held.info().expires_ms;
    for _ in 0..10 {
        tokio::time::sleep(LEASE / 2).await;
        held.check().unwrap();
    }
    let status = a.status().await.unwrap().unwrap();
    assert!(!status.stale);
    assert!(status.info.expires_ms > first_expiry + 4 * LEASE.as_millis() as u64);
    // Five leases later, a second run is still refused as "locked", not "stale".
    let b = locker(&backend, "bob@laptop");
    assert!(matches!(
        b.acquire("s", "apply").await,
        Err(Error::Locked { .. })
    ));
    held.release().await.unwrap();
    assert!(b.acquire("s", "apply").await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_failed_heartbeat_stops_the_run() {
    let backend = Arc::new(MemoryLock::default());
    let held = locker(&backend, "alice@ci-1")
        .acquire("s", "apply")
        .await
        .unwrap();
    *backend.fail_renewals.lock().unwrap() = 1;
    held.check().unwrap();
    tokio::time::sleep(LEASE / 3 + Duration::from_millis(10)).await;
    let e = held.check().unwrap_err();
    assert!(matches!(e, Error::LockLost { .. }), "{e}");
    assert!(e.to_string().contains("renewing the lease failed"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn force_unlock_needs_the_exact_id() {
    let backend = Arc::new(MemoryLock::default());
    let a = locker(&backend, "alice@ci-1");
    let held = a.acquire("s", "apply").await.unwrap();
    let id = held.info().id.clone();
    drop(held);
    let b = locker(&backend, "bob@laptop");
    let e = b.force_unlock("s", "not-the-id").await.unwrap_err();
    assert!(
        matches!(e, Error::WrongLockId { ref actual, .. } if *actual == id),
        "{e}"
    );
    assert!(b.status().await.unwrap().is_some());
    let released = b.force_unlock("s", &id).await.unwrap();
    assert_eq!(released.holder, "alice@ci-1");
    assert!(b.status().await.unwrap().is_none());
    assert!(matches!(
        b.force_unlock("s", &id).await,
        Err(Error::NotLocked { .. })
    ));
}

/// A backend whose first write succeeds but whose response is lost: the retry meets the record.
#[derive(Default)]
struct LostResponse {
    inner: MemoryLock,
}

#[async_trait]
impl LockBackend for LostResponse {
    fn describe(&self) -> String {
        "lost-response".into()
    }
    async fn create(&self, info: &LockInfo) -> Result<Option<LockInfo>> {
        self.inner.create(info).await?;
        // The response was lost; the retry finds the record the first attempt wrote.
        self.inner.create(info).await
    }
    async fn renew(&self, info: &LockInfo) -> Result<()> {
        self.inner.renew(info).await
    }
    async fn delete(&self, id: &str) -> Result<()> {
        self.inner.delete(id).await
    }
    async fn read(&self) -> Result<Option<LockInfo>> {
        self.inner.read().await
    }
}

#[tokio::test(start_paused = true)]
async fn a_retried_write_that_meets_its_own_lock_succeeds() {
    let backend = Arc::new(LostResponse::default());
    let l = Locker::new(backend.clone(), LEASE);
    let held = l.acquire("s", "apply").await.unwrap();
    held.check().unwrap();
    held.release().await.unwrap();
    assert!(backend.read().await.unwrap().is_none());
}
