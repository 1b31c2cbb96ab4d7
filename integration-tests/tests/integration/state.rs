//! skyforge-state against the emulator: both lock kinds under contention, call counts, a holder
//! killed with SIGKILL, the S3 state store with versioning and corruption, a guarded apply.

use std::io::BufRead;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use skyforge_core::Stack;
use skyforge_integration_tests::{TestStack, calls_between};
use skyforge_secrets::{Generator, Secret, SecretValue};
use skyforge_state::{
    Backend, DynamoDbLock, Error, LockBackend, LockInfo, Locker, S3Lock, S3Store, StateDocument,
    StateStore,
};

#[derive(Clone, Copy, Debug)]
enum Kind {
    DynamoDb,
    S3,
}

struct Place {
    bucket: String,
    table: String,
}

async fn bootstrap(t: &TestStack) -> Place {
    let place = Place {
        bucket: format!("{}-state", t.app),
        table: format!("{}-locks", t.app),
    };
    skyforge_state::bootstrap(&t.ctx, &place.bucket, Some(&place.table))
        .await
        .expect("bootstrap");
    // Idempotent.
    skyforge_state::bootstrap(&t.ctx, &place.bucket, Some(&place.table))
        .await
        .expect("bootstrap again");
    place
}

async fn backend(t: &TestStack, place: &Place, kind: Kind, stack: &str) -> Arc<dyn LockBackend> {
    match kind {
        Kind::DynamoDb => Arc::new(DynamoDbLock::new(&t.ctx, &place.table, stack)),
        Kind::S3 => Arc::new(
            S3Lock::connect(&t.ctx, &place.bucket, "locks/", stack)
                .await
                .expect("s3 lock"),
        ),
    }
}

async fn contention(t: &TestStack, place: &Place, kind: Kind) -> String {
    let stack = format!("{}-{kind:?}", t.app).to_lowercase();
    // Two runs at once: exactly one proceeds, the other is refused at once, naming the holder.
    let a = Locker::new(
        backend(t, place, kind, &stack).await,
        Duration::from_secs(30),
    )
    .with_holder("alice@ci-1");
    let b = Locker::new(
        backend(t, place, kind, &stack).await,
        Duration::from_secs(30),
    )
    .with_holder("bob@laptop");
    let started = Instant::now();
    let (ra, rb) = tokio::join!(a.acquire(&stack, "apply"), b.acquire(&stack, "apply"));
    let refused_after = started.elapsed();
    let (held, refused) = match (ra, rb) {
        (Ok(h), Err(e)) => (h, e),
        (Err(e), Ok(h)) => (h, e),
        (ra, rb) => panic!("{kind:?}: expected one winner: {ra:?} / {rb:?}"),
    };
    let Error::Locked { holder, .. } = &refused else {
        panic!("{refused}")
    };
    assert_eq!(holder, &held.info().holder);
    assert!(refused_after < Duration::from_secs(2), "{refused_after:?}");
    held.release().await.unwrap();

    // Acquire plus release: at most 3 API calls.
    let before = t.calls().await;
    a.acquire(&stack, "apply")
        .await
        .unwrap()
        .release()
        .await
        .unwrap();
    let used: u64 = calls_between(&before, &t.calls().await).values().sum();
    assert!(used <= 3, "{kind:?}: acquire + release took {used} calls");

    // 20 acquirers, many rounds: never two holders at once.
    let inside = Arc::new(AtomicUsize::new(0));
    let wins = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let l = Locker::new(
            backend(t, place, kind, &stack).await,
            Duration::from_secs(30),
        )
        .with_holder(format!("worker-{i}"));
        let (inside, wins, stack) = (inside.clone(), wins.clone(), stack.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                match l.acquire(&stack, "apply").await {
                    Ok(h) => {
                        assert_eq!(
                            inside.fetch_add(1, Ordering::SeqCst),
                            0,
                            "{kind:?}: two holders"
                        );
                        wins.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        inside.fetch_sub(1, Ordering::SeqCst);
                        h.release().await.unwrap();
                    }
                    Err(Error::Locked { .. }) => {
                        tokio::time::sleep(Duration::from_millis(3 + i as u64)).await
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let wins = wins.load(Ordering::SeqCst);
    assert!(wins >= 10, "only {wins} acquisitions in 200 attempts");
    format!(
        "{kind:?}: acquire+release {used} calls, refusal after {} ms, {wins}/200 contended attempts won",
        refused_after.as_millis()
    )
}

#[tokio::test]
async fn both_lock_kinds_admit_one_holder_and_cost_at_most_three_calls() {
    let t = TestStack::new().await;
    let place = bootstrap(&t).await;
    let d = contention(&t, &place, Kind::DynamoDb).await;
    let s = contention(&t, &place, Kind::S3).await;
    println!("{d}\n{s}");
    t.remove_state_backend(&place.bucket, &place.table).await;
}

#[tokio::test]
async fn a_killed_holder_leaves_a_stale_lock_that_only_its_exact_id_releases() {
    let t = TestStack::new().await;
    let place = bootstrap(&t).await;
    for kind in [Kind::DynamoDb, Kind::S3] {
        let stack = format!("{}-killed-{kind:?}", t.app).to_lowercase();
        let (arg, where_) = match kind {
            Kind::DynamoDb => ("dynamodb", &place.table),
            Kind::S3 => ("s3", &place.bucket),
        };
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_lock_holder"))
            .args([arg, where_, &stack, "1500"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("spawn the holder");
        let pid = child.id();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let lock_id = line
            .trim()
            .strip_prefix("LOCKED ")
            .expect(&line)
            .to_string();
        child.kill().unwrap(); // SIGKILL: no release, no more heartbeats
        child.wait().unwrap();
        let l = Locker::new(
            backend(&t, &place, kind, &stack).await,
            Duration::from_secs(30),
        )
        .with_holder("bob@laptop");
        let e = l.acquire(&stack, "apply").await.unwrap_err();
        assert!(matches!(e, Error::Locked { .. }), "{kind:?}: {e}");
        tokio::time::sleep(Duration::from_millis(2000)).await;
        let e = l.acquire(&stack, "apply").await.unwrap_err();
        let Error::StaleLock {
            holder,
            lock_id: id,
            ..
        } = &e
        else {
            panic!("{kind:?}: {e}")
        };
        assert!(holder.contains(&format!("pid {pid}")), "{e}");
        assert_eq!(id, &lock_id);
        assert!(matches!(
            l.force_unlock(&stack, "00000000-0000-0000-0000-000000000000")
                .await,
            Err(Error::WrongLockId { .. })
        ));
        let released = l.force_unlock(&stack, &lock_id).await.unwrap();
        assert_eq!(released.id, lock_id);
        l.acquire(&stack, "apply")
            .await
            .unwrap()
            .release()
            .await
            .unwrap();
    }
    // A retried write meeting its own record is ours (the DynamoDB backend, directly).
    let stack = format!("{}-retry", t.app);
    let b = DynamoDbLock::new(&t.ctx, &place.table, &stack);
    let info = LockInfo {
        id: "retry-1".into(),
        stack: stack.clone(),
        holder: "me".into(),
        operation: "apply".into(),
        created_ms: 1,
        expires_ms: u64::MAX,
    };
    assert_eq!(b.create(&info).await.unwrap(), None);
    assert_eq!(
        b.create(&info).await.unwrap().map(|i| i.id),
        Some("retry-1".into())
    );
    b.delete("retry-1").await.unwrap();
    t.remove_state_backend(&place.bucket, &place.table).await;
}

#[tokio::test]
async fn state_round_trips_through_versioned_s3_and_corruption_names_the_previous_version() {
    let t = TestStack::new().await;
    let place = bootstrap(&t).await;
    let store = S3Store::new(&t.ctx, &place.bucket, "skyforge/app.json");
    assert!(store.load().await.unwrap().is_none());
    let mut doc = StateDocument::new("app-staging");
    store.save(&doc).await.unwrap();
    doc.serial = 2;
    doc.outputs
        .insert("main.vpc_id".into(), serde_json::json!("vpc-1"));
    store.save(&doc).await.unwrap();
    assert_eq!(store.load().await.unwrap().unwrap(), doc);
    let s3 = t.s3();
    let head = s3
        .head_object()
        .bucket(&place.bucket)
        .key("skyforge/app.json")
        .send()
        .await
        .unwrap();
    assert!(head.server_side_encryption().is_some(), "not encrypted");
    // A hand edit.
    let text = String::from_utf8(doc.to_bytes())
        .unwrap()
        .replace("vpc-1", "vpc-2");
    s3.put_object()
        .bucket(&place.bucket)
        .key("skyforge/app.json")
        .body(text.into_bytes().into())
        .send()
        .await
        .unwrap();
    let e = store.load().await.unwrap_err();
    let Error::Corrupt { previous, .. } = &e else {
        panic!("{e}")
    };
    let previous = previous.clone().expect("previous version named");
    assert!(e.to_string().contains("versionId="), "{e}");
    let version = previous.split("versionId=").nth(1).unwrap();
    let old = s3
        .get_object()
        .bucket(&place.bucket)
        .key("skyforge/app.json")
        .version_id(version)
        .send()
        .await
        .unwrap();
    let bytes = old.body.collect().await.unwrap().into_bytes();
    assert_eq!(StateDocument::from_bytes(&bytes, "previous").unwrap(), doc);
    t.remove_state_backend(&place.bucket, &place.table).await;
}

#[tokio::test]
async fn a_guarded_apply_refuses_a_concurrent_run_and_records_state() {
    let t = TestStack::new().await;
    let place = bootstrap(&t).await;
    let mut stack = Stack::new(t.env.clone());
    let s = stack.add(
        Secret::builder()
            .logical_id("cookie-secret")
            .value(SecretValue::generated(Generator::alphanumeric(32)))
            .build()
            .unwrap(),
    );
    stack.export("cookie.arn", s.arn());
    let locker = Locker::new(
        Arc::new(DynamoDbLock::new(&t.ctx, &place.table, &stack.name())),
        Duration::from_secs(30),
    );
    let backend = Backend {
        store: Arc::new(S3Store::new(&t.ctx, &place.bucket, "skyforge/state.json")),
        locker: locker.clone(),
    };
    // Someone else is applying.
    let other = locker
        .clone()
        .with_holder("carol@ci-2")
        .acquire(&stack.name(), "apply")
        .await
        .unwrap();
    let plan = skyforge_state::plan(&stack, &t.ctx, &backend)
        .await
        .unwrap();
    let e = skyforge_state::apply(&stack, &t.ctx, &plan, &backend)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("carol@ci-2"), "{e}");
    other.release().await.unwrap();
    skyforge_state::apply(&stack, &t.ctx, &plan, &backend)
        .await
        .unwrap();
    let doc = backend.store.load().await.unwrap().unwrap();
    assert!(
        doc.outputs["cookie.arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:")
    );
    assert!(
        doc.resources["secret.cookie-secret"]
            .physical_id
            .as_deref()
            .is_some_and(|p| p.starts_with("arn:"))
    );
    assert!(doc.journal.is_empty());
    assert!(locker.status().await.unwrap().is_none());
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    skyforge_state::apply(&stack, &t.ctx, &d, &backend)
        .await
        .unwrap();
    t.remove_state_backend(&place.bucket, &place.table).await;
}
