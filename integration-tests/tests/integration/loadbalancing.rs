//! skyforge-loadbalancing against the emulator: routes added, reordered and switched without
//! moving priorities, a target group replaced under its rule, drift repaired, protection, waits.

use std::collections::BTreeMap;

use skyforge_core::{ApplyOptions, Context, Environment, PlanOptions, ResourceId, Stack, Stage};
use skyforge_integration_tests::{Capture, TestStack, calls_between, changes, inventory, mutating};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge_network::{Azs, Nat, Network, Tier};

/// Seed 003's four routes.
pub(crate) fn seed_003_routes() -> Vec<Route> {
    vec![
        Route::default_route("web", 3000),
        Route::path("api", ["/api/*"], 3001).health(HealthCheck::path("/api/health")),
        Route::path("auth", ["/auth/*"], 3002),
        Route::path("admin", ["/admin/*"], 3003),
    ]
}

/// A two-zone network with public subnets and a load balancer with `routes`.
pub(crate) fn lb_stack(env: &Environment, routes: Vec<Route>) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.60.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(routes)
            .build()
            .unwrap(),
    );
    stack.export("public.dns_name", lb.dns_name());
    stack
}

/// The rules' priorities on the load balancer, by their first condition value.
async fn priorities(t: &TestStack, env: &Environment) -> BTreeMap<String, String> {
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let name = format!("{}-{}-public", t.app, env.stage().as_str());
    let lbs = elb
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .unwrap();
    let arn = lbs.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(arn)
        .send()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for l in listeners.listeners() {
        let rules = elb
            .describe_rules()
            .listener_arn(l.listener_arn().unwrap())
            .send()
            .await
            .unwrap();
        for r in rules
            .rules()
            .iter()
            .filter(|r| r.is_default() != Some(true))
        {
            let value = r
                .conditions()
                .iter()
                .flat_map(|c| {
                    c.path_pattern_config()
                        .map(|p| p.values().to_vec())
                        .or(c.host_header_config().map(|h| h.values().to_vec()))
                        .unwrap_or_default()
                })
                .next()
                .unwrap_or_default();
            out.insert(value, r.priority().unwrap_or_default().to_string());
        }
    }
    out
}

async fn apply(t: &TestStack, stack: &Stack) -> skyforge_core::Plan {
    let plan = stack.plan(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &plan).await.expect("apply");
    plan
}

#[tokio::test]
async fn routes_are_added_reordered_switched_and_replaced_without_moving_priorities() {
    let t = TestStack::new().await;
    let stack = lb_stack(&t.env, seed_003_routes());
    apply(&t, &stack).await;
    let before = priorities(&t, &t.env).await;
    assert_eq!(before.len(), 3, "{before:?}");

    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let c = t.calls().await;
    stack.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&c, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");

    // A fifth route, the list reordered: only the new route's group and rule are created.
    let mut five = seed_003_routes();
    five.reverse();
    five.insert(2, Route::path("docs", ["/docs/*"], 3004));
    let stack = lb_stack(&t.env, five.clone());
    let plan = stack.plan(&t.ctx).await.unwrap();
    assert_eq!(
        changes(&plan),
        ["+ target_group.public-docs", "+ listener_rule.public-docs"],
        "{plan}"
    );
    stack.apply(&t.ctx, &plan).await.expect("fifth route");
    let after = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&after).is_empty(), "{after}");
    let now = priorities(&t, &t.env).await;
    for (r, p) in &before {
        assert_eq!(now.get(r), Some(p), "{r} moved: {now:?}");
    }
    assert_eq!(now.len(), 4);

    // The API moves from a path to a host: its rule is modified and re-prioritised.
    let mut switched = five.clone();
    let i = switched.iter().position(|r| r.name == "api").unwrap();
    switched[i] =
        Route::host("api", ["api-staging.alva.app"], 3001).health(HealthCheck::path("/api/health"));
    let stack = lb_stack(&t.env, switched.clone());
    let plan = stack.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&plan), ["~ listener_rule.public-api"], "{plan}");
    stack.apply(&t.ctx, &plan).await.expect("host route");
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    // A new target port: a new group first, the rule moved, the old group deleted.
    let mut moved = switched.clone();
    moved[i] =
        Route::host("api", ["api-staging.alva.app"], 3101).health(HealthCheck::path("/api/health"));
    let stack = lb_stack(&t.env, moved);
    let plan = stack.plan(&t.ctx).await.unwrap();
    assert_eq!(
        changes(&plan),
        ["-/+ target_group.public-api", "~ listener_rule.public-api"],
        "{plan}"
    );
    stack.apply(&t.ctx, &plan).await.expect("port change");
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    // Drift: a health check path changed by hand is put back.
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let arn = stack
        .plan(&t.ctx)
        .await
        .unwrap()
        .get(&ResourceId::new("target_group", "public-auth"))
        .and_then(|r| r.physical_id.clone())
        .unwrap();
    elb.modify_target_group()
        .target_group_arn(&arn)
        .health_check_path("/changed")
        .send()
        .await
        .unwrap();
    let drift = stack.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&drift), ["~ target_group.public-auth"], "{drift}");
    stack.apply(&t.ctx, &drift).await.expect("repair");
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_protected_prod_load_balancer_is_refused_then_destroyed() {
    let t = TestStack::new().await;
    let env = Environment::new(t.app.clone(), Stage::Prod).region("us-east-1");
    let ctx = Context::from_sdk_config(env.clone(), t.ctx.sdk_config().clone());
    let stack = lb_stack(&env, seed_003_routes());
    stack
        .apply(&ctx, &stack.plan(&ctx).await.unwrap())
        .await
        .expect("apply");
    // AWS refuses to delete it by hand.
    let elb = ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let arn = stack
        .plan(&ctx)
        .await
        .unwrap()
        .get(&ResourceId::new("load_balancer", "public"))
        .and_then(|r| r.physical_id.clone())
        .unwrap();
    let e = elb
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await
        .unwrap_err();
    let e = skyforge_core::Error::aws("lb", "DeleteLoadBalancer", e);
    assert_eq!(e.aws_code(), Some("OperationNotPermitted"), "{e}");

    let refused = stack.plan_destroy(&ctx).await.unwrap();
    assert!(
        refused
            .refused
            .iter()
            .any(|r| r.resource == ResourceId::new("load_balancer", "public")),
        "{refused:?}"
    );
    let plan = stack
        .plan_destroy_with(
            &ctx,
            &PlanOptions::default().allow_destroy("load_balancer.public"),
        )
        .await
        .unwrap();
    stack
        .apply_with(
            &ctx,
            &plan,
            &ApplyOptions::default().allow_destroy("load_balancer.public"),
        )
        .await
        .expect("destroy");
    let t_prod = TestStack {
        env: env.clone(),
        ctx: ctx.clone(),
        ..t.clone()
    };
    assert_eq!(inventory(&t_prod).await, Vec::<String>::new());
}

#[tokio::test]
async fn latency_mode_shows_provisioning_and_figures() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let stack = lb_stack(&t.env, seed_003_routes());
    let total = |c: &BTreeMap<(String, String), u64>| c.values().sum::<u64>();
    let c0 = t.calls().await;
    let s = std::time::Instant::now();
    apply(&t, &stack).await;
    let took = s.elapsed();
    let c1 = t.calls().await;
    let s = std::time::Instant::now();
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());
    let noop = s.elapsed();
    let c2 = t.calls().await;
    let s = std::time::Instant::now();
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    let destroy = s.elapsed();
    let c3 = t.calls().await;
    drop(_log);
    for (what, c, secs) in [
        ("apply", calls_between(&c0, &c1), took),
        ("no-op plan", calls_between(&c1, &c2), noop),
        ("destroy", calls_between(&c2, &c3), destroy),
    ] {
        println!(
            "load balancer latency 0.02, {what}: {} calls ({} mutating), {:.1} s",
            total(&c),
            mutating(&c).len(),
            secs.as_secs_f64()
        );
    }
    let log = capture.text();
    assert!(
        log.lines().any(|l| l.contains("skyforge::progress")
            && l.contains("load_balancer.public")
            && l.contains("provisioning")),
        "no provisioning progress:\n{log}"
    );
    // 150 s of modelled provisioning at scale 0.02 is 3 s.
    assert!(took.as_secs_f64() >= 3.0, "apply took {took:?}");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}
