//! Deploys against the emulator in latency mode: a migration gated on its exit code before the
//! rollout, a failing migration stopping the deploy before any service change (quoting its log),
//! a rollout that cannot pull failing fast where the circuit breaker would take ten failed
//! tasks, rollback, and a deploy interrupted after its migration converging with one run.

use std::time::{Duration, Instant};

use skyforge_compute::{Cluster, Container, FargateService, Image, Migration, Rollback, TaskSize};
use skyforge_core::{Environment, Stack};
use skyforge_integration_tests::{
    TestStack, calls_between, changes, ecs_service, inventory, task_image,
};
use skyforge_network::{Azs, Nat, Network, Tier};
use skyforge_registry::Repository;
use skyforge_secrets::{Secret, SecretValue, Source};

/// Network, repository, cluster, a secret and the `api` service (2 tasks) from the stack's
/// repository at `v1`, deploying `deploy` when given, with a migration when `migrate`.
pub(crate) fn stack(env: &Environment, deploy: Option<&str>, migrate: bool) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.80.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()
            .unwrap(),
    );
    let repo = stack.add(Repository::builder().logical_id("api").build().unwrap());
    let cluster = stack.add(Cluster::builder().logical_id("main").build().unwrap());
    let db = stack.add(
        Secret::builder()
            .logical_id("database")
            .value(SecretValue::json([(
                "url",
                Source::value("postgres://app@db/app"),
            )]))
            .build()
            .unwrap(),
    );
    let mut spec = FargateService::builder()
        .logical_id("api")
        .cluster(cluster)
        .vpc(net.vpc_id())
        .subnets(net.private())
        .size(TaskSize::new(256, 512))
        .containers(vec![
            Container::new("api", Image::registry(&repo, "v1"))
                .port(3001)
                .secret("DATABASE_URL", db.key("url").unwrap()),
        ])
        .desired_count(2)
        .build()
        .unwrap()
        .spec()
        .clone();
    spec.deploy_tag = deploy.map(String::from);
    if migrate {
        spec.migration = Some(Migration::command(["pnpm", "db:migrate"]));
    }
    let svc: skyforge_core::Result<FargateService> = spec.into();
    stack.add(svc.unwrap());
    stack
}

async fn apply(t: &TestStack, stack: &Stack) -> skyforge_core::Result<skyforge_core::ApplyReport> {
    let plan = stack.plan(&t.ctx).await?;
    stack.apply(&t.ctx, &plan).await
}

async fn service(t: &TestStack) -> aws_sdk_ecs::types::Service {
    ecs_service(t, "main", "api").await
}

async fn serving_image(t: &TestStack) -> String {
    let s = service(t).await;
    task_image(t, s.task_definition().unwrap_or_default()).await
}

fn runs(made: &std::collections::BTreeMap<(String, String), u64>) -> u64 {
    made.get(&("ecs".to_string(), "RunTask".to_string()))
        .copied()
        .unwrap_or(0)
}

async fn destroy(t: &TestStack, stack: &Stack) {
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(t).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deploy_migrates_then_rolls_out_to_completion() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    let before = t.calls().await;
    apply(&t, &stack(&t.env, None, true))
        .await
        .expect("first apply");
    assert_eq!(
        runs(&calls_between(&before, &t.calls().await)),
        1,
        "the first apply migrates"
    );
    assert!(serving_image(&t).await.ends_with(":v1"));

    let deploy = stack(&t.env, Some("v2"), true);
    let plan = deploy.plan(&t.ctx).await.unwrap();
    assert_eq!(
        changes(&plan),
        [
            "~ ecs_task_definition.api",
            "~ ecs_task_definition.api-migrate",
            "> migration.api",
            "~ ecs_service.api"
        ],
        "{plan}"
    );
    let before = t.calls().await;
    deploy.apply(&t.ctx, &plan).await.expect("deploy v2");
    let made = calls_between(&before, &t.calls().await);
    assert_eq!(runs(&made), 1, "{made:?}");
    assert!(serving_image(&t).await.ends_with(":v2"));
    let s = service(&t).await;
    assert_eq!((s.running_count(), s.deployments().len()), (2, 1));
    assert_eq!(
        s.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED")
    );
    assert!(changes(&deploy.plan(&t.ctx).await.unwrap()).is_empty());
    // The plain stack keeps what was deployed.
    let plain = stack(&t.env, None, true);
    assert!(changes(&plain.plan(&t.ctx).await.unwrap()).is_empty());
    destroy(&t, &plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failing_migration_stops_the_deploy_before_the_service_changes() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    apply(&t, &stack(&t.env, None, true))
        .await
        .expect("first apply");
    t.fail_tasks_with(serde_json::json!({
        "image": ":v2", "kind": "run-task", "stopCode": "EssentialContainerExited",
        "reason": "Essential container in task exited", "exitCode": 1, "seconds": 2,
        "logs": ["> pnpm db:migrate", "applying 0042_add_orders", "error: relation \"orders\" already exists"],
    }))
    .await;
    let before = t.calls().await;
    let e = apply(&t, &stack(&t.env, Some("v2"), true))
        .await
        .expect_err("the migration fails")
        .to_string();
    let made = calls_between(&before, &t.calls().await);
    assert!(e.contains("exit code 1"), "{e}");
    assert!(e.contains("relation \"orders\" already exists"), "{e}");
    assert!(e.contains("before any service changed"), "{e}");
    assert!(
        !made.contains_key(&("ecs".to_string(), "UpdateService".to_string())),
        "{made:?}"
    );
    assert!(serving_image(&t).await.ends_with(":v1"));
    destroy(&t, &stack(&t.env, None, true)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rollout_that_cannot_pull_fails_fast_and_rollback_restores() {
    let t = TestStack::new().await;
    t.set_latency(0.05).await;
    apply(&t, &stack(&t.env, None, false))
        .await
        .expect("first apply");
    let v1 = service(&t).await.task_definition().unwrap().to_string();
    t.fail_tasks_with(serde_json::json!({
        "image": ":v2", "kind": "service", "stopCode": "TaskFailedToStart",
        "reason": "CannotPullContainerError: pull image manifest has been retried 5 time(s): manifest unknown",
    }))
    .await;
    let started = Instant::now();
    let e = apply(&t, &stack(&t.env, Some("v2"), false))
        .await
        .expect_err("cannot pull")
        .to_string();
    let skyforge = started.elapsed();
    assert!(e.contains("CannotPullContainerError"), "{e}");
    assert!(
        skyforge < Duration::from_secs(30),
        "reported after {skyforge:?}"
    );
    // The circuit breaker alone: the harness keeps launching until ten tasks failed.
    let breaker = loop {
        let s = service(&t).await;
        if s.deployments()
            .iter()
            .any(|d| d.rollout_state().map(|r| r.as_str()) == Some("FAILED"))
        {
            break started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the circuit breaker never tripped"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    println!(
        "deploy figures: skyforge reported after {skyforge:?}; the circuit breaker tripped after {breaker:?}"
    );
    assert!(
        skyforge < breaker,
        "skyforge {skyforge:?} vs circuit breaker {breaker:?}"
    );

    let mut rollback = Stack::new(t.env.clone());
    rollback.add_action(Rollback::new("main", "api"));
    let report = apply(&t, &rollback).await.expect("rollback");
    assert_eq!(
        report.resources["rollback.api"]["to"],
        serde_json::json!(v1)
    );
    let s = service(&t).await;
    assert_eq!(s.task_definition(), Some(v1.as_str()));
    assert_eq!(s.running_count(), 2);
    let plain = stack(&t.env, None, false);
    let after = plain.plan(&t.ctx).await.unwrap();
    assert!(changes(&after).is_empty(), "the rollback sticks: {after}");
    destroy(&t, &plain).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_deploy_interrupted_after_its_migration_runs_it_once() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    apply(&t, &stack(&t.env, None, true))
        .await
        .expect("first apply");
    // The deploy stops right after the migration: its UpdateService is refused once.
    t.inject_fault("ecs", "UpdateService", "AccessDeniedException", 400, 1)
        .await;
    let before = t.calls().await;
    let deploy = stack(&t.env, Some("v2"), true);
    apply(&t, &deploy)
        .await
        .expect_err("interrupted before the rollout");
    assert!(serving_image(&t).await.ends_with(":v1"));
    let plan = deploy.plan(&t.ctx).await.unwrap();
    assert!(
        !changes(&plan).iter().any(|c| c.contains("migration")),
        "{plan}"
    );
    deploy.apply(&t.ctx, &plan).await.expect("the deploy again");
    let made = calls_between(&before, &t.calls().await);
    assert_eq!(
        runs(&made),
        1,
        "one migration run over both attempts: {made:?}"
    );
    assert!(serving_image(&t).await.ends_with(":v2"));
    destroy(&t, &deploy).await;
}
