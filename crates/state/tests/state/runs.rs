//! Journaled runs over an in-memory resource.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use skyforge_core::{
    Context, Environment, Field, FieldDiff, Fields, Guard, Inputs, Observed, Resource, ResourceId,
    Result, Stack, Stage, Value,
};
use skyforge_state::{
    Backend, JournalStatus, LocalStore, LockBackend, Locker, MemoryLock, StateStore,
};

#[derive(Default)]
struct World {
    things: Mutex<BTreeMap<String, u32>>,
}

struct Thing {
    name: String,
    world: Arc<World>,
    slow: Duration,
}

#[async_trait]
impl Resource for Thing {
    fn id(&self) -> ResourceId {
        ResourceId::new("thing", &self.name)
    }
    fn service(&self) -> &'static str {
        "things"
    }
    fn desired(&self, _: &Environment, _: &Inputs) -> Fields {
        [("size".to_string(), Field::new(Value::of(1)))].into()
    }
    async fn observe(&self, _: &Context, _: &Inputs) -> Result<Option<Observed>> {
        Ok(self
            .world
            .things
            .lock()
            .unwrap()
            .get(&self.name)
            .map(|s| Observed {
                physical_id: format!("t-{}", self.name),
                fields: [("size".to_string(), Value::of(*s))].into(),
                outputs: [(
                    "id".to_string(),
                    serde_json::json!(format!("t-{}", self.name)),
                )]
                .into(),
                ..Observed::default()
            }))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        tokio::time::sleep(self.slow).await;
        guard
            .call("CreateThing", async {
                self.world
                    .things
                    .lock()
                    .unwrap()
                    .insert(self.name.clone(), 1);
                Ok(())
            })
            .await?;
        Ok(self.observe(ctx, inputs).await?.unwrap())
    }
    async fn update(
        &self,
        c: &Context,
        i: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        _: &Guard,
    ) -> Result<Observed> {
        Ok(self.observe(c, i).await?.unwrap())
    }
    async fn delete(&self, _: &Context, _: &Observed, guard: &Guard) -> Result<()> {
        guard
            .call("DeleteThing", async {
                self.world.things.lock().unwrap().remove(&self.name);
                Ok(())
            })
            .await
    }
}

fn ctx(env: &Environment) -> Context {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Context::from_sdk_config(env.clone(), sdk)
}

fn stack(world: &Arc<World>, slow: Duration) -> (Stack, Environment) {
    let env = Environment::new("alva", Stage::Staging).region("us-east-1");
    let mut s = Stack::new(env.clone());
    for n in ["a", "b", "c"] {
        s.add_resource(Thing {
            name: n.into(),
            world: world.clone(),
            slow,
        });
    }
    (s, env)
}

#[tokio::test]
async fn a_run_records_outputs_and_leaves_a_clean_journal() {
    let dir = std::env::temp_dir().join(format!("skyforge-run-{}", std::process::id()));
    let world = Arc::new(World::default());
    let (s, env) = stack(&world, Duration::ZERO);
    let ctx = ctx(&env);
    let store = Arc::new(LocalStore::new(dir.join("state.json")));
    let backend = Backend {
        store: store.clone(),
        locker: Locker::new(Arc::new(MemoryLock::default()), Duration::from_secs(30)),
    };
    // Guarded plan and apply run on any tokio worker: their futures are `Send`.
    let (st, c, b) = (Arc::new(s), ctx.clone(), backend.clone());
    let plan = tokio::spawn(async move { skyforge_state::plan(&st, &c, &b).await })
        .await
        .unwrap()
        .unwrap();
    let (s, _) = stack(&world, Duration::ZERO);
    let (st, c, b) = (Arc::new(s), ctx.clone(), backend.clone());
    tokio::spawn(async move { skyforge_state::apply(&st, &c, &plan, &b).await })
        .await
        .unwrap()
        .unwrap();
    let doc = store.load().await.unwrap().unwrap();
    assert_eq!(doc.resources.len(), 3);
    assert_eq!(doc.resources["thing.a"].outputs["id"], "t-a");
    assert_eq!(doc.resources["thing.a"].physical_id.as_deref(), Some("t-a"));
    assert!(doc.journal.is_empty());
    assert!(
        backend.locker.status().await.unwrap().is_none(),
        "lock released"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(start_paused = true)]
async fn a_lost_lock_stops_the_run_before_its_next_mutating_call_and_the_journal_says_so() {
    let dir = std::env::temp_dir().join(format!("skyforge-lost-{}", std::process::id()));
    let world = Arc::new(World::default());
    // Each create waits 20 s; the lease is 30 s, renewed every 10 s, and renewals fail.
    let (s, env) = stack(&world, Duration::from_secs(20));
    let s = s.with_limits(skyforge_core::ConcurrencyLimits::uniform(1));
    let ctx = ctx(&env);
    let store = Arc::new(LocalStore::new(dir.join("state.json")));
    let lock = Arc::new(MemoryLock::default());
    *lock.fail_renewals.lock().unwrap() = 100;
    let backend = Backend {
        store: store.clone(),
        locker: Locker::new(lock.clone(), Duration::from_secs(30)),
    };
    let plan = s.plan(&ctx).await.unwrap();
    let e = skyforge_state::apply(&s, &ctx, &plan, &backend)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("lock"), "{e}");
    // No create got through: the first mutating call came after the failed renewal.
    assert!(world.things.lock().unwrap().is_empty());
    // The lock was released on error.
    assert!(LockBackend::read(&*lock).await.unwrap().is_none());
    let doc = store.load().await.unwrap().unwrap();
    assert!(doc.journal.iter().all(|j| j.status != JournalStatus::Done));
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn one_locked_run_plans_and_applies_and_a_second_run_is_refused_before_it_observes() {
    use skyforge_core::PlanMode;
    use skyforge_state::{Error, Review, plan_and_apply};
    let dir = std::env::temp_dir().join(format!("skyforge-session-{}", std::process::id()));
    let world = Arc::new(World::default());
    let (s, env) = stack(&world, Duration::from_millis(300));
    let ctx = ctx(&env);
    let backend = Backend {
        store: Arc::new(LocalStore::new(dir.join("state.json"))),
        locker: Locker::new(Arc::new(MemoryLock::default()), Duration::from_secs(30)),
    };
    let allow = std::collections::BTreeSet::new();
    let reviewed = Arc::new(Mutex::new(Vec::new()));
    let first = {
        let reviewed = reviewed.clone();
        plan_and_apply(&s, &ctx, &backend, PlanMode::Apply, &allow, move |p| {
            reviewed.lock().unwrap().push(p.summary.add);
            Review::Proceed
        })
    };
    let second = async {
        // Starts while the first run holds the lock (its resources take 300 ms each).
        tokio::time::sleep(Duration::from_millis(100)).await;
        let reviewed = reviewed.clone();
        plan_and_apply(&s, &ctx, &backend, PlanMode::Apply, &allow, move |_| {
            reviewed.lock().unwrap().push(usize::MAX);
            Review::Proceed
        })
        .await
    };
    let (a, b) = tokio::join!(first, second);
    let (plan, report) = a.expect("the first run applies");
    assert_eq!(plan.summary.add, 3);
    assert_eq!(report.expect("applied").changed, 3);
    assert!(matches!(b, Err(Error::Locked { .. })), "{b:?}");
    assert_eq!(
        *reviewed.lock().unwrap(),
        [3],
        "the second run never planned"
    );
    assert!(backend.locker.status().await.unwrap().is_none(), "released");

    // A reviewer that stops: nothing applied, lock released.
    let (s2, _) = stack(&world, Duration::ZERO);
    let (d, r) = plan_and_apply(&s2, &ctx, &backend, PlanMode::Destroy, &allow, |_| {
        Review::Stop
    })
    .await
    .unwrap();
    assert_eq!((d.summary.destroy, r.is_none()), (3, true));
    assert!(backend.locker.status().await.unwrap().is_none());
    let _ = std::fs::remove_dir_all(dir);
}
