//! The engine's model of time in AWS, on the fake cloud and tokio's paused clock: resources that
//! exist before they are ready, dependents that need only an id, and changes AWS holds for later.

use std::sync::Arc;

use skyforge_core::{Action, Stack};
use tokio::time::Instant;

use crate::fake::{Cloud, Fake, ctx, env};

/// A database ready 15 minutes after its create call returns, an alarm that needs only its id,
/// and an app that needs it ready.
fn db_alarm_app(cloud: &Arc<Cloud>) -> Stack {
    let mut s = Stack::new(env());
    let subnets = s.add_resource(Fake::new(cloud, "subnets", 2));
    let db = s.add_resource(Fake::new(cloud, "db", 5).parent(subnets).ready_after(900));
    s.add_resource(Fake::new(cloud, "alarm", 1).needs_only_id_of(db));
    s.add_resource(Fake::new(cloud, "app", 30).parent(db));
    s
}

#[tokio::test(start_paused = true)]
async fn id_only_dependents_start_at_once_and_ready_dependents_wait() {
    let cloud = Arc::new(Cloud::default());
    let s = db_alarm_app(&cloud);
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    let t0 = Instant::now();
    s.apply(&ctx, &plan).await.unwrap();
    let took = t0.elapsed().as_secs();
    let ev = |op: &str, id: &str| {
        cloud
            .events(op)
            .into_iter()
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("no {op} of {id}"))
    };
    let db_created = ev("create", "db").end;
    let db_ready = ev("ready", "db").end;
    // The alarm starts as soon as the database's id exists, not after its 15-minute wait.
    assert_eq!(ev("create", "alarm").start, db_created);
    assert!(ev("create", "alarm").end < db_ready);
    // The app needs the database ready.
    assert!(ev("create", "app").start >= db_ready);
    // subnets 2 + db create 5 + ready 900 + app 30 = 937 s; a schedule that waits for readiness
    // on every edge would also hold the alarm (1 s) until then: same end here, but the alarm was
    // done 900 s earlier.
    assert_eq!(took, 937, "critical path");
    let alarm_done = (ev("create", "alarm").end - t0).as_secs();
    eprintln!(
        "id-only edge: alarm done after {alarm_done} s, database ready after {} s, apply {took} s",
        (db_ready - t0).as_secs()
    );
    assert_eq!(alarm_done, 2 + 5 + 1);
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
}

#[tokio::test(start_paused = true)]
async fn a_serving_resource_lets_its_dependents_start_and_the_apply_waits_until_it_settled() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    let subnets = s.add_resource(Fake::new(&cloud, "subnets", 2));
    // A database that serves 420 s after its create call and settles 60 s later (RDS's first
    // backup), and an app that needs it ready.
    let db = Fake::new(&cloud, "db", 5).parent(subnets);
    let db = s.add_resource(db.ready_after(420).settles_after(60));
    s.add_resource(Fake::new(&cloud, "app", 10).parent(db));
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    let t0 = Instant::now();
    s.apply(&ctx, &plan).await.unwrap();
    let at = |op: &str, id: &str, end: bool| {
        let e = cloud.events(op).into_iter().find(|e| e.id == id).unwrap();
        (if end { e.end } else { e.start } - t0).as_secs()
    };
    assert_eq!(at("ready", "db", true), 2 + 5 + 420);
    assert_eq!(
        at("create", "app", false),
        2 + 5 + 420,
        "the app starts once it serves"
    );
    assert_eq!(at("create", "app", true), 2 + 5 + 420 + 10);
    assert_eq!(at("settled", "db", true), 2 + 5 + 420 + 60);
    assert_eq!(
        t0.elapsed().as_secs(),
        2 + 5 + 480,
        "the apply ends once it settled"
    );
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
    // Found serving by a later run (one cut off in its first backup): nothing waits for it but
    // the end of the apply, and it is not shown as "not ready".
    cloud.objects.lock().unwrap().values_mut().for_each(|o| {
        if o.logical == "db" {
            o.settled = false;
        }
    });
    let plan = s.plan(&ctx).await.unwrap();
    assert!(plan.resources.iter().all(|r| r.not_ready.is_none()));
    let t1 = Instant::now();
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(t1.elapsed().as_secs(), 60);
    assert_eq!(cloud.events("settled").len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_half_ready_resource_after_a_crash_is_waited_for_and_the_plan_says_so() {
    let cloud = Arc::new(Cloud::default());
    let s = db_alarm_app(&cloud);
    let ctx = ctx();
    // A run created subnets and db, then died while the database was still creating.
    let subnets = cloud.insert(crate::fake::KIND, "subnets", 1);
    let db = cloud.insert(crate::fake::KIND, "db", 1);
    cloud.set_field("db", "parent", serde_json::json!(subnets));
    cloud.set_ready("db", false);
    let plan = s.plan(&ctx).await.unwrap();
    let db_plan = plan
        .resources
        .iter()
        .find(|r| r.id.logical_id == "db")
        .unwrap();
    assert_eq!(db_plan.action, Action::NoOp);
    assert_eq!(db_plan.not_ready.as_deref(), Some("creating"));
    let text = plan.to_string();
    assert!(
        text.contains("Not ready yet (apply waits for them before the dependents that need them):\n  ~ fake:thing.db is creating"),
        "{text}"
    );
    let t0 = Instant::now();
    s.apply(&ctx, &plan).await.unwrap();
    let ready = cloud.events("ready");
    let db_ready = ready.iter().find(|e| e.id == "db").unwrap().end;
    let app = cloud
        .events("create")
        .into_iter()
        .find(|e| e.id == "app")
        .unwrap();
    assert!(app.start >= db_ready, "the app waited for the database");
    assert_eq!((db_ready - t0).as_secs(), 900);
    assert_eq!(cloud.newest("db").unwrap(), db, "no second database");
}

#[tokio::test(start_paused = true)]
async fn a_change_aws_holds_for_later_is_shown_as_pending_and_not_sent_again() {
    let cloud = Arc::new(Cloud::default());
    let ctx = ctx();
    let build = |size: u32| {
        let mut s = Stack::new(env());
        let mut db = Fake::new(&cloud, "db", 1);
        db.size = size;
        db.defer_updates = true;
        s.add_resource(db);
        s
    };
    let s = build(1);
    s.apply(&ctx, &s.plan(&ctx).await.unwrap()).await.unwrap();
    // A bigger size is accepted for the maintenance window: the update converges as pending.
    let s = build(4);
    let plan = s.plan(&ctx).await.unwrap();
    assert!(matches!(plan.resources[0].action, Action::Update { .. }));
    s.apply(&ctx, &plan).await.unwrap();
    let updates = cloud.mutations.lock().unwrap().len();
    let plan = s.plan(&ctx).await.unwrap();
    assert!(!plan.has_changes(), "{plan}");
    assert_eq!(plan.resources[0].pending[0].field, "size");
    assert!(
        plan.to_string()
            .contains("  ~ fake:thing.db: size = 4 (at the next maintenance window)"),
        "{plan}"
    );
    s.apply(&ctx, &plan).await.unwrap();
    assert_eq!(
        cloud.mutations.lock().unwrap().len(),
        updates,
        "not sent again"
    );
    // Asking for yet another value is a change again.
    let plan = build(8).plan(&ctx).await.unwrap();
    assert!(plan.has_changes());
}
