use std::sync::Arc;
use std::time::Duration;

use skyforge_core::{Action, ConcurrencyLimits, Error, Stack};
use tokio::time::Instant;

use crate::fake::{Cloud, Fake, RecordingHooks, ctx, env};

/// A 15-node graph shaped like the four-service staging stack, latencies in seconds:
/// vpc(5) -> subnet-a(3), subnet-b(3) -> nat-a(60), nat-b(60) -> route-a(2), route-b(2);
/// subnets -> db-subnets(2) -> db(300); subnets -> alb(90) -> listener(2);
/// routes + db + listener -> web, api, auth, admin services (45 each).
/// Critical path: vpc 5 + subnet 3 + db-subnets 2 + db 300 + service 45 = 355 s.
fn web_stack(cloud: &Arc<Cloud>) -> (Stack, u64, u64) {
    let mut s = Stack::new(env());
    let vpc = s.add_resource(Fake::new(cloud, "vpc", 5).service("ec2"));
    let sa = s.add_resource(Fake::new(cloud, "subnet-a", 3).service("ec2").parent(vpc));
    let sb = s.add_resource(Fake::new(cloud, "subnet-b", 3).service("ec2").parent(vpc));
    let nat = s.add_resource(Fake::new(cloud, "nat", 60).service("ec2").parent(sa));
    let route = s.add_resource(Fake::new(cloud, "route", 2).service("ec2").parent(nat));
    let nat_b = s.add_resource(Fake::new(cloud, "nat-b", 60).service("ec2").parent(sb));
    let route_b = s.add_resource(Fake::new(cloud, "route-b", 2).service("ec2").parent(nat_b));
    let dbsg = s.add_resource(
        Fake::new(cloud, "db-subnets", 2)
            .service("rds")
            .after(&[sa, sb]),
    );
    let db = s.add_resource(Fake::new(cloud, "db", 300).service("rds").parent(dbsg));
    let alb = s.add_resource(
        Fake::new(cloud, "alb", 90)
            .service("elbv2")
            .after(&[sa, sb]),
    );
    let listener = s.add_resource(Fake::new(cloud, "listener", 2).service("elbv2").parent(alb));
    s.add_resource(
        Fake::new(cloud, "service", 45)
            .service("ecs")
            .after(&[route, route_b, db, listener]),
    );
    for name in ["api", "auth", "admin"] {
        s.add_resource(
            Fake::new(cloud, name, 45)
                .service("ecs")
                .after(&[route, route_b, db, listener]),
        );
    }
    let serial = 5 + 3 + 3 + 2 * 60 + 2 * 2 + 2 + 300 + 90 + 2 + 4 * 45;
    (s, 355, serial)
}

#[tokio::test(start_paused = true)]
async fn apply_finishes_on_the_critical_path() {
    let cloud = Arc::new(Cloud::default());
    let (stack, critical, serial) = web_stack(&cloud);
    let ctx = ctx();
    let plan = stack.plan(&ctx).await.unwrap();
    assert_eq!(plan.summary.add, 15);
    let t0 = Instant::now();
    stack.apply(&ctx, &plan).await.unwrap();
    let took = t0.elapsed().as_secs_f64();
    eprintln!(
        "critical-path test: apply took {took:.1} s (virtual), critical path {critical} s, serial sum {serial} s, ratio to critical path {:.3}",
        took / critical as f64
    );
    assert!(
        took <= critical as f64 * 1.05,
        "{took} vs critical path {critical}"
    );
    assert!(
        took >= critical as f64,
        "faster than the critical path? {took}"
    );
    assert!(
        took < serial as f64 * 0.55,
        "{took} not far below the serial sum {serial}"
    );
    // The database started as soon as its subnet group existed, without waiting for the NAT.
    let db = &cloud
        .events("create")
        .into_iter()
        .find(|e| e.id == "db")
        .unwrap();
    let nat = &cloud
        .events("create")
        .into_iter()
        .find(|e| e.id == "nat")
        .unwrap();
    assert!(db.start < nat.end);

    // Idempotent: the second plan shows no change, the second apply makes no mutating call.
    let again = stack.plan(&ctx).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let before = cloud.mutations.lock().unwrap().len();
    let hooks = Arc::new(RecordingHooks::default());
    stack
        .apply_with_hooks(&ctx, &again, hooks.clone())
        .await
        .unwrap();
    assert_eq!(cloud.mutations.lock().unwrap().len(), before);
    assert!(hooks.calls.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn destroy_runs_in_exact_reverse_order() {
    let cloud = Arc::new(Cloud::default());
    // A chain: each node's latency differs so an order violation would show.
    let mut s = Stack::new(env());
    let mut prev = s.add_resource(Fake::new(&cloud, "n0", 1));
    for i in 1..6 {
        prev = s.add_resource(Fake::new(&cloud, &format!("n{i}"), 1 + (i % 3) as u64).parent(prev));
    }
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    s.apply(&ctx, &plan).await.unwrap();
    let created: Vec<String> = cloud.events("create").into_iter().map(|e| e.id).collect();
    let d = s.plan_destroy(&ctx).await.unwrap();
    assert_eq!(d.summary.destroy, 6);
    assert_eq!(
        d.resources[0].id.logical_id, "n5",
        "destroy plan lists deletions in run order"
    );
    s.apply(&ctx, &d).await.unwrap();
    let deleted: Vec<String> = cloud.events("delete").into_iter().map(|e| e.id).collect();
    let mut expected = created.clone();
    expected.reverse();
    assert_eq!(deleted, expected);
    assert!(cloud.is_empty());
    // Destroying again finds nothing.
    let d2 = s.plan_destroy(&ctx).await.unwrap();
    assert_eq!(d2.summary.destroy, 0);
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_destroy_is_finished_by_the_next_one() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    let mut prev = s.add_resource(Fake::new(&cloud, "n0", 1));
    for i in 1..4 {
        prev = s.add_resource(Fake::new(&cloud, &format!("n{i}"), 1).parent(prev));
    }
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    s.apply(&ctx, &plan).await.unwrap();
    // The leaves went before the run stopped.
    cloud.remove("n3");
    cloud.remove("n2");
    let d = s.plan_destroy(&ctx).await.unwrap();
    assert_eq!((d.summary.destroy, d.summary.unchanged), (2, 2), "{d}");
    s.apply(&ctx, &d).await.unwrap();
    assert!(cloud.is_empty());
}

#[tokio::test(start_paused = true)]
async fn destroy_waits_for_every_dependent_in_a_graph() {
    let cloud = Arc::new(Cloud::default());
    let (stack, _, _) = web_stack(&cloud);
    let ctx = ctx();
    let plan = stack.plan(&ctx).await.unwrap();
    stack.apply(&ctx, &plan).await.unwrap();
    let d = stack.plan_destroy(&ctx).await.unwrap();
    stack.apply(&ctx, &d).await.unwrap();
    let ev = cloud.events("delete");
    let end = |id: &str| ev.iter().find(|e| e.id == id).unwrap().end;
    let start = |id: &str| ev.iter().find(|e| e.id == id).unwrap().start;
    for (dependent, dependency) in [
        ("subnet-a", "vpc"),
        ("nat", "subnet-a"),
        ("route", "nat"),
        ("db", "db-subnets"),
        ("db-subnets", "subnet-b"),
        ("service", "db"),
        ("service", "listener"),
        ("listener", "alb"),
    ] {
        assert!(
            end(dependent) <= start(dependency),
            "{dependent} must be gone before {dependency}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_new_work_and_lets_in_flight_work_finish() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    let root = s.add_resource(Fake::new(&cloud, "root", 1));
    let mut bad = Fake::new(&cloud, "bad", 2).parent(root);
    bad.fail_create = true;
    let bad = s.add_resource(bad);
    let slow = s.add_resource(Fake::new(&cloud, "slow-sibling", 10).parent(root));
    s.add_resource(Fake::new(&cloud, "child-of-bad", 1).parent(bad));
    // Becomes ready only when the slow sibling finishes, after the failure: must not start.
    s.add_resource(Fake::new(&cloud, "after-slow", 1).parent(slow));
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    let t0 = Instant::now();
    let err = s.apply(&ctx, &plan).await.unwrap_err();
    match &err {
        Error::Failed { failures } => {
            assert_eq!(failures.len(), 1);
            assert_eq!(failures[0].resource.logical_id, "bad");
            assert_eq!(failures[0].operation, "create");
            assert!(
                failures[0].message.contains("LimitExceeded"),
                "{}",
                failures[0].message
            );
            // The failure keeps the typed error, also as its `source`.
            let typed = failures[0].error.as_deref().expect("typed error kept");
            assert_eq!(typed.aws_code(), Some("LimitExceeded"));
            let source = std::error::Error::source(&failures[0]).expect("source");
            assert_eq!(source.to_string(), typed.to_string());
        }
        other => panic!("{other:?}"),
    }
    let created: Vec<String> = cloud.events("create").into_iter().map(|e| e.id).collect();
    assert!(
        created.contains(&"slow-sibling".to_string()),
        "in-flight sibling finished"
    );
    assert!(!created.contains(&"child-of-bad".to_string()));
    assert!(
        !created.contains(&"after-slow".to_string()),
        "no new work after the failure"
    );
    assert_eq!(
        t0.elapsed(),
        Duration::from_secs(11),
        "waited for the sibling in flight"
    );
    assert!(err.to_string().contains("fake:thing.bad (create)"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_per_service() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env()).with_limits({
        let mut l = ConcurrencyLimits::uniform(10);
        l.per_service.insert("iam".into(), 2);
        l
    });
    for i in 0..6 {
        s.add_resource(Fake::new(&cloud, &format!("role{i}"), 10).service("iam"));
    }
    for i in 0..6 {
        s.add_resource(Fake::new(&cloud, &format!("vpc{i}"), 10).service("ec2"));
    }
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    let t0 = Instant::now();
    s.apply(&ctx, &plan).await.unwrap();
    // Six IAM nodes two at a time: 30 s; the EC2 nodes all ran at once beside them.
    assert_eq!(t0.elapsed(), Duration::from_secs(30));
    let ev = cloud.events("create");
    for e in ev.iter().filter(|e| e.id.starts_with("role")) {
        let overlapping = ev
            .iter()
            .filter(|o| o.id.starts_with("role") && o.start < e.end && e.start < o.end)
            .count();
        assert!(overlapping <= 2, "{} overlaps {overlapping}", e.id);
    }
}

#[test]
fn a_cycle_is_reported_with_its_path() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    let a_fake = Fake::new(&cloud, "a", 1);
    let late = a_fake.late_deps.clone();
    let a = s.add_resource(a_fake);
    let b = s.add_resource(Fake::new(&cloud, "b", 1).parent(a));
    let c = s.add_resource(Fake::new(&cloud, "c", 1).parent(b));
    assert!(s.validate().is_ok());
    // Close the loop: `a` learns of `c` after both were added.
    late.lock().unwrap().push(c);
    let s2 = s;
    let err = s2.validate().unwrap_err();
    match &err {
        Error::Cycle { path } => {
            let names: Vec<&str> = path.iter().map(|p| p.logical_id.as_str()).collect();
            assert_eq!(names, ["a", "c", "b", "a"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        err.to_string(),
        "dependency cycle: fake:thing.a -> fake:thing.c -> fake:thing.b -> fake:thing.a"
    );
}

#[tokio::test(start_paused = true)]
async fn drift_shows_as_update_and_replacement_reason_is_given() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    let p = s.add_resource(Fake::new(&cloud, "parent", 1));
    s.add_resource(Fake::new(&cloud, "child", 1).parent(p));
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    s.apply(&ctx, &plan).await.unwrap();

    cloud.set_field("child", "size", serde_json::json!(7));
    let plan = s.plan(&ctx).await.unwrap();
    let child = plan
        .resources
        .iter()
        .find(|r| r.id.logical_id == "child")
        .unwrap();
    match &child.action {
        Action::Update { diffs } => {
            assert_eq!(diffs.len(), 1);
            assert_eq!(diffs[0].field, "size");
            assert_eq!(diffs[0].old.as_ref().unwrap().to_string(), "7");
            assert_eq!(diffs[0].new.as_ref().unwrap().to_string(), "1");
        }
        other => panic!("{other:?}"),
    }
    s.apply(&ctx, &plan).await.unwrap();
    assert!(!s.plan(&ctx).await.unwrap().has_changes());

    cloud.set_field("child", "parent", serde_json::json!("fake-elsewhere"));
    let plan = s.plan(&ctx).await.unwrap();
    let child = plan
        .resources
        .iter()
        .find(|r| r.id.logical_id == "child")
        .unwrap();
    assert!(matches!(&child.action, Action::Replace { reason, .. } if reason.contains("parent")));
    s.apply(&ctx, &plan).await.unwrap();
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
}

#[tokio::test(start_paused = true)]
async fn stale_plans_and_refusing_hooks_stop_apply() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    s.add_resource(Fake::new(&cloud, "one", 1));
    let ctx = ctx();
    let plan = s.plan(&ctx).await.unwrap();
    s.add_resource(Fake::new(&cloud, "two", 1));
    assert!(matches!(
        s.apply(&ctx, &plan).await,
        Err(Error::StalePlan { .. })
    ));
    assert!(cloud.mutations.lock().unwrap().is_empty());

    // Hooks see every mutation; a hook that refuses stops the run before the call.
    let plan = s.plan(&ctx).await.unwrap();
    let hooks = Arc::new(RecordingHooks {
        refuse_after: Some(1),
        ..Default::default()
    });
    let err = s
        .apply_with_hooks(&ctx, &plan, hooks.clone())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("lock lost"), "{err}");
    assert_eq!(cloud.mutations.lock().unwrap().len(), 1);
    let calls = hooks.calls.lock().unwrap().clone();
    assert_eq!(calls, ["begin CreateThing one", "end CreateThing one true"]);

    // A plan read back from JSON is re-observed and still applies.
    let plan = s.plan(&ctx).await.unwrap();
    let json = plan.to_json();
    let back: skyforge_core::Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back.resources, plan.resources);
    s.apply(&ctx, &back).await.unwrap();
    assert!(!s.plan(&ctx).await.unwrap().has_changes());
}

/// Plan and apply futures are `Send`: a deploy tool can run them on any tokio worker (a web
/// handler, a spawned task).
#[tokio::test]
async fn plan_and_apply_futures_can_be_spawned() {
    let cloud = Arc::new(Cloud::default());
    let mut s = Stack::new(env());
    s.add_resource(Fake::new(&cloud, "spawned", 0));
    let stack = Arc::new(s);
    let ctx = ctx();
    let (st, c) = (stack.clone(), ctx.clone());
    let plan = tokio::spawn(async move { st.plan(&c).await })
        .await
        .unwrap()
        .unwrap();
    let (st, c) = (stack.clone(), ctx.clone());
    tokio::spawn(async move { st.apply(&c, &plan).await })
        .await
        .unwrap()
        .unwrap();
    let (st, c) = (stack.clone(), ctx.clone());
    let d = tokio::spawn(async move { st.plan_destroy(&c).await })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.summary.destroy, 1);
}

#[derive(Debug, thiserror::Error)]
#[error("area says {0}")]
struct AreaError(u32);

#[test]
fn an_area_crates_error_keeps_its_type_inside_cores() {
    let e: Error = Error::area(AreaError(7));
    assert_eq!(e.to_string(), "area says 7");
    assert_eq!(e.area_error::<AreaError>().map(|a| a.0), Some(7));
    assert!(e.area_error::<std::fmt::Error>().is_none());
    assert!(
        Error::Config("x".into())
            .area_error::<AreaError>()
            .is_none()
    );
}
