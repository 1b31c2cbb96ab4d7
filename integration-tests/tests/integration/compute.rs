//! skyforge-compute against the emulator (its ECS model runs tasks with network interfaces,
//! deployments and stop reasons; see docs/testing.md): apply, no-op, an image deployed by CI and
//! a count set by autoscaling kept, one revision per definition change, a task that cannot start
//! reported with its reason, destroy to an empty inventory.

use std::time::Instant;

use skyforge_compute::{
    Attachment, Autoscaling, Cluster, Container, ContainerHealth, Discovery, FargateService, Image,
    Namespace, ScaleOn, TaskSize,
};
use skyforge_core::{Environment, Stack};
use skyforge_integration_tests::{
    TestStack, calls_between, changes, ecs_service, inventory, mutating, task_image,
};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge_network::{Azs, Nat, Network, Tier};
use skyforge_secrets::{Secret, SecretValue, Source};

/// Network, load balancer, cluster, namespace, a secret and (with an image) the `api` service
/// running it with the plain variable `FEATURE_FLAGS` = `flags`.
pub(crate) fn stack(env: &Environment, image: Option<Image>, flags: &str) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.70.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()
            .unwrap(),
    );
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(vec![
                Route::default_route("api", 3001).health(HealthCheck::path("/api/health")),
            ])
            .build()
            .unwrap(),
    );
    let cluster = stack.add(Cluster::builder().logical_id("main").build().unwrap());
    let ns_name = format!("{}.local", env.project_name());
    let ns = stack.add(Namespace::private("internal", ns_name, net.vpc_id()).unwrap());
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
    let Some(image) = image else { return stack };
    let svc = FargateService::builder()
        .logical_id("api")
        .cluster(cluster)
        .vpc(net.vpc_id())
        .subnets(net.private())
        .size(TaskSize::new(256, 512))
        .containers(vec![
            Container::new("api", image)
                .port(3001)
                .env("FEATURE_FLAGS", flags)
                .env("CORS_ORIGINS", lb.dns_name())
                .secret("DATABASE_URL", db.key("url").unwrap())
                .health(ContainerHealth::shell(
                    "curl -f http://localhost:3001/api/health",
                )),
        ])
        .desired_count(2)
        .load_balancer(Attachment::new(lb.target_group("api").unwrap(), "api"))
        .autoscaling(
            Autoscaling::between(2, 6)
                .on(ScaleOn::Cpu(70.0))
                .on(ScaleOn::RequestsPerTarget(1000.0)),
        )
        .discovery(Discovery::new(&ns, "api"))
        .build()
        .unwrap();
    stack.add(svc);
    stack
}

async fn service(t: &TestStack) -> aws_sdk_ecs::types::Service {
    ecs_service(t, "main", "api").await
}

/// What CI does: register a revision with `image` from the current one, and deploy it.
async fn ci_deploy(t: &TestStack, image: &str) {
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    let s = service(t).await;
    let td = ecs
        .describe_task_definition()
        .task_definition(s.task_definition().unwrap())
        .send()
        .await
        .unwrap()
        .task_definition()
        .unwrap()
        .clone();
    let mut defs = td.container_definitions().to_vec();
    defs[0].image = Some(image.to_string());
    let new = ecs
        .register_task_definition()
        .family(td.family().unwrap())
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu(td.cpu().unwrap())
        .memory(td.memory().unwrap())
        .set_execution_role_arn(td.execution_role_arn().map(String::from))
        .set_task_role_arn(td.task_role_arn().map(String::from))
        .set_container_definitions(Some(defs))
        .send()
        .await
        .unwrap();
    let arn = new
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap();
    ecs.update_service()
        .cluster(s.cluster_arn().unwrap())
        .service(s.service_name().unwrap())
        .task_definition(arn)
        .send()
        .await
        .unwrap();
}

/// The alarms target tracking made for the `api` service (AWS's, not the stack's).
async fn tracking_alarms(t: &TestStack) -> Vec<String> {
    let prefix = format!(
        "TargetTracking-service/{p}-main/{p}-api-",
        p = t.env.prefix()
    );
    let out = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(prefix)
        .send()
        .await
        .unwrap();
    out.metric_alarms()
        .iter()
        .filter_map(|a| a.alarm_name().map(String::from))
        .collect()
}

async fn destroy_to_empty(t: &TestStack, stack: &Stack) {
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(t).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn apply_noop_ci_image_autoscaled_count_one_revision_and_destroy() {
    let t = TestStack::new().await;
    let first = Image::external("public.ecr.aws/skyforge/api:v1");
    let stack = stack(&t.env, Some(first.clone()), "a");
    let started = Instant::now();
    let plan = stack.plan(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &plan).await.expect("apply");
    let applied = t.calls().await;
    println!(
        "compute figures: apply {} calls in {:.1} s",
        applied.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    let s = service(&t).await;
    assert_eq!(
        (s.running_count(), s.desired_count(), s.deployments().len()),
        (2, 2, 1)
    );
    assert_eq!(
        s.deployments()[0].rollout_state().map(|r| r.as_str()),
        Some("COMPLETED")
    );
    // Two target-tracking policies, two alarms each: made by AWS, left to AWS.
    assert_eq!(tracking_alarms(&t).await.len(), 4);
    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let before = t.calls().await;
    let noop = calls_between(&applied, &before);
    println!(
        "compute figures: no-op plan {} calls: {noop:?}",
        noop.values().sum::<u64>()
    );
    stack.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&before, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");

    // CI deploys v2 and autoscaling sets 4 tasks: neither is drift.
    ci_deploy(&t, "public.ecr.aws/skyforge/api:v2").await;
    t.ctx
        .client(aws_sdk_ecs::Client::new)
        .update_service()
        .cluster(format!("{}-main", t.env.prefix()))
        .service(format!("{}-api", t.env.prefix()))
        .desired_count(4)
        .send()
        .await
        .unwrap();
    let after_ci = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&after_ci).is_empty(), "{after_ci}");

    // A changed variable: exactly one new revision, with CI's image, and the count kept.
    let changed = stack_with_flags(&t, first, "b");
    let plan = changed.plan(&t.ctx).await.unwrap();
    assert_eq!(
        changes(&plan),
        ["~ ecs_task_definition.api", "~ ecs_service.api"],
        "{plan}"
    );
    let before = t.calls().await;
    changed.apply(&t.ctx, &plan).await.expect("variable change");
    let made = calls_between(&before, &t.calls().await);
    assert_eq!(
        made.get(&("ecs".into(), "RegisterTaskDefinition".into())),
        Some(&1),
        "{made:?}"
    );
    let s = service(&t).await;
    assert_eq!(
        task_image(&t, s.task_definition().unwrap()).await,
        "public.ecr.aws/skyforge/api:v2"
    );
    assert_eq!((s.desired_count(), s.running_count()), (4, 4));
    assert!(changes(&changed.plan(&t.ctx).await.unwrap()).is_empty());
    let (before, started) = (t.calls().await, Instant::now());
    let d = changed.plan_destroy(&t.ctx).await.unwrap();
    changed.apply(&t.ctx, &d).await.expect("destroy");
    let made = calls_between(&before, &t.calls().await);
    println!(
        "compute figures: destroy {} calls in {:.1} s",
        made.values().sum::<u64>(),
        started.elapsed().as_secs_f64()
    );
    let left = inventory(&t).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
    assert!(
        tracking_alarms(&t).await.is_empty(),
        "AWS deletes them with the policies"
    );
}

fn stack_with_flags(t: &TestStack, image: Image, flags: &str) -> Stack {
    stack(&t.env, Some(image), flags)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_task_that_cannot_start_fails_the_apply_with_its_reason() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    t.fail_tasks(
        "skyforge/broken",
        "TaskFailedToStart",
        "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found",
        None,
    )
    .await;
    let base = stack(&t.env, None, "a");
    let plan = base.plan(&t.ctx).await.unwrap();
    base.apply(&t.ctx, &plan)
        .await
        .expect("everything but the service");
    let stack = stack(
        &t.env,
        Some(Image::external("public.ecr.aws/skyforge/broken:1")),
        "a",
    );
    let plan = stack.plan(&t.ctx).await.unwrap();
    let started = Instant::now();
    let e = stack
        .apply(&t.ctx, &plan)
        .await
        .expect_err("a task that cannot pull")
        .to_string();
    let took = started.elapsed();
    assert!(
        e.contains("CannotPullContainerError") && e.contains("ecs_service.api"),
        "{e}"
    );
    assert!(e.contains("TaskFailedToStart"), "{e}");
    // Roles, task definition, service and the wait, in latency mode (scale 0.02).
    assert!(took.as_secs() < 30, "the failure took {took:?} to report");
    destroy_to_empty(&t, &stack).await;
}
