//! skyforge-cache against the emulator: lifecycle, drift, node-type and replica changes,
//! deferred changes, protection, waits through ElastiCache's states.

use std::collections::BTreeMap;

use skyforge_cache::{ApplyMode, Redis};
use skyforge_core::{
    Action, ApplyOptions, Context, Environment, PlanOptions, ResourceId, Stack, Stage,
};
use skyforge_integration_tests::{Capture, TestStack, calls_between, changes, inventory, mutating};
use skyforge_network::{Azs, Nat, Network, SecurityGroup, Tier};

/// What varies between the tests' caches.
#[derive(Clone)]
pub(crate) struct Cache {
    pub(crate) node_type: &'static str,
    pub(crate) replicas: u32,
    pub(crate) apply: Option<ApplyMode>,
    pub(crate) rotation: &'static str,
    pub(crate) shards: Option<u32>,
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            node_type: "cache.t3.micro",
            replicas: 0,
            apply: None,
            rotation: "",
            shards: None,
        }
    }
}

/// A two-zone network with isolated subnets, an API group and a cache.
pub(crate) fn cache_stack(env: &Environment, c: &Cache) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.40.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let api = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("api")
            .description("API tasks")
            .build()
            .unwrap(),
    );
    let b = Redis::builder()
        .logical_id("cache")
        .vpc(net.vpc_id())
        .subnets(net.isolated())
        .allow_from(vec![api])
        .version("7.1")
        .node_type(c.node_type)
        .replicas(c.replicas)
        .maintenance_window("sun:03:00-sun:04:00")
        .token_rotation(c.rotation);
    let spec = match (c.apply, c.shards) {
        (Some(mode), None) => b.apply(mode).build(),
        (None, None) => b.build(),
        (None, Some(n)) => b.shards(n).build(),
        (Some(mode), Some(n)) => b.apply(mode).shards(n).build(),
    };
    let h = stack.add(spec.unwrap());
    stack.export("cache.address", h.address());
    stack
}

fn group(plan: &skyforge_core::Plan) -> &skyforge_core::ResourcePlan {
    plan.get(&ResourceId::new("cache_replication_group", "cache"))
        .expect("the group is in the plan")
}

async fn describe(
    t: &TestStack,
    env: &Environment,
) -> aws_sdk_elasticache::types::ReplicationGroup {
    let ec = t.ctx.client(aws_sdk_elasticache::Client::new);
    let id = format!("{}-{}-cache", t.app, env.stage().as_str());
    ec.describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await
        .unwrap()
        .replication_groups()[0]
        .clone()
}

async fn apply(t: &TestStack, stack: &Stack) -> skyforge_core::Plan {
    let plan = stack.plan(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &plan).await.expect("apply");
    plan
}

#[tokio::test]
async fn apply_noop_drift_node_type_replicas_and_destroy() {
    let t = TestStack::new().await;
    let stack = cache_stack(&t.env, &Cache::default());
    apply(&t, &stack).await;

    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let before = t.calls().await;
    stack.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&before, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");

    // Drift by hand: snapshot retention is put back.
    let ec = t.ctx.client(aws_sdk_elasticache::Client::new);
    ec.modify_replication_group()
        .replication_group_id(format!("{}-staging-cache", t.app))
        .snapshot_retention_limit(3)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let drift = stack.plan(&t.ctx).await.unwrap();
    let Action::Update { diffs } = &group(&drift).action else {
        panic!("drift is an update: {drift}")
    };
    assert_eq!(diffs[0].field, "snapshot_retention_days", "{drift}");
    stack.apply(&t.ctx, &drift).await.expect("repair");
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    // A bigger node, now (staging applies immediately).
    let bigger = cache_stack(
        &t.env,
        &Cache {
            node_type: "cache.t3.small",
            ..Cache::default()
        },
    );
    let plan = bigger.plan(&t.ctx).await.unwrap();
    assert!(
        plan.to_string().contains(
            "\"cache.t3.micro\" -> \"cache.t3.small\" # applies now, with a brief failover"
        ),
        "{plan}"
    );
    bigger.apply(&t.ctx, &plan).await.expect("node type");
    assert_eq!(
        describe(&t, &t.env).await.cache_node_type(),
        Some("cache.t3.small")
    );

    // A replica, with failover: the replica first, then the flag.
    let replicated = cache_stack(
        &t.env,
        &Cache {
            node_type: "cache.t3.small",
            replicas: 1,
            ..Cache::default()
        },
    );
    let plan = replicated.plan(&t.ctx).await.unwrap();
    let before = t.calls().await;
    replicated.apply(&t.ctx, &plan).await.expect("replica");
    let made = calls_between(&before, &t.calls().await);
    assert!(
        made.contains_key(&("elasticache".into(), "IncreaseReplicaCount".into())),
        "{made:?}"
    );
    let g = describe(&t, &t.env).await;
    assert_eq!(g.member_clusters().len(), 2);
    assert_eq!(g.automatic_failover().map(|s| s.as_str()), Some("enabled"));
    assert!(changes(&replicated.plan(&t.ctx).await.unwrap()).is_empty());

    let d = replicated.plan_destroy(&t.ctx).await.unwrap();
    replicated.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_deferred_node_type_change_is_pending_and_never_sent_again() {
    let t = TestStack::new().await;
    let window = Cache {
        apply: Some(ApplyMode::MaintenanceWindow),
        ..Cache::default()
    };
    apply(&t, &cache_stack(&t.env, &window)).await;
    let bigger = cache_stack(
        &t.env,
        &Cache {
            node_type: "cache.t3.small",
            ..window
        },
    );
    let plan = bigger.plan(&t.ctx).await.unwrap();
    assert!(
        plan.to_string().contains(
            "applies at the next maintenance window (sun:03:00-sun:04:00), with a brief failover"
        ),
        "{plan}"
    );
    bigger.apply(&t.ctx, &plan).await.expect("deferred");
    let after = bigger.plan(&t.ctx).await.unwrap();
    let g = group(&after);
    assert_eq!(g.action, Action::NoOp, "{after}");
    assert_eq!(g.pending.len(), 1, "{after}");
    assert_eq!(g.pending[0].field, "node_type");
    let before = t.calls().await;
    bigger.apply(&t.ctx, &after).await.unwrap();
    let made = calls_between(&before, &t.calls().await);
    assert!(
        mutating(&made).is_empty(),
        "pending change re-sent: {made:?}"
    );
    let d = bigger.plan_destroy(&t.ctx).await.unwrap();
    bigger.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_prod_cache_is_refused_on_destroy_then_destroyed_with_a_final_snapshot() {
    let t = TestStack::new().await;
    let env = Environment::new(t.app.clone(), Stage::Prod).region("us-east-1");
    let ctx = Context::from_sdk_config(env.clone(), t.ctx.sdk_config().clone());
    let stack = cache_stack(
        &env,
        &Cache {
            replicas: 1,
            ..Cache::default()
        },
    );
    stack
        .apply(&ctx, &stack.plan(&ctx).await.unwrap())
        .await
        .expect("apply");
    let g = describe(&t, &env).await;
    assert_eq!(g.multi_az().map(|s| s.as_str()), Some("enabled"));

    let refused = stack.plan_destroy(&ctx).await.unwrap();
    assert!(
        refused
            .refused
            .iter()
            .any(|r| r.resource == ResourceId::new("cache_replication_group", "cache")),
        "{refused:?}"
    );
    assert!(stack.apply(&ctx, &refused).await.is_err());

    let allow = [
        "cache_replication_group.cache",
        "secret.cache-auth",
        "secret.cache-url",
    ];
    let mut popts = PlanOptions::default();
    let mut aopts = ApplyOptions::default();
    for a in allow {
        popts = popts.allow_destroy(a);
        aopts = aopts.allow_destroy(a);
    }
    let plan = stack.plan_destroy_with(&ctx, &popts).await.unwrap();
    stack
        .apply_with(&ctx, &plan, &aopts)
        .await
        .expect("destroy");
    let ec = ctx.client(aws_sdk_elasticache::Client::new);
    let id = format!("{}-prod-cache", t.app);
    let snaps = ec
        .describe_snapshots()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = snaps
        .snapshots()
        .iter()
        .filter_map(|s| s.snapshot_name())
        .collect();
    assert!(
        names.iter().any(|n| n.starts_with(&format!("{id}-final-"))),
        "{names:?}"
    );
    for n in names {
        ec.delete_snapshot().snapshot_name(n).send().await.unwrap();
    }
    let t_prod = TestStack {
        env: env.clone(),
        ctx: ctx.clone(),
        ..t.clone()
    };
    let left: Vec<String> = inventory(&t_prod)
        .await
        .into_iter()
        .filter(|r| !r.starts_with("secretsmanager:"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

#[tokio::test]
async fn latency_mode_shows_progress_through_the_states() {
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
    let stack = cache_stack(&t.env, &Cache::default());
    let total = |c: &BTreeMap<(String, String), u64>| c.values().sum::<u64>();
    let c0 = t.calls().await;
    let started = std::time::Instant::now();
    apply(&t, &stack).await;
    let took = started.elapsed();
    let c1 = t.calls().await;
    let started = std::time::Instant::now();
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());
    let noop_took = started.elapsed();
    let c2 = t.calls().await;
    let bigger = cache_stack(
        &t.env,
        &Cache {
            node_type: "cache.t3.small",
            ..Cache::default()
        },
    );
    let started = std::time::Instant::now();
    apply(&t, &bigger).await;
    let modify_took = started.elapsed();
    let c3 = t.calls().await;
    let started = std::time::Instant::now();
    let d = bigger.plan_destroy(&t.ctx).await.unwrap();
    bigger.apply(&t.ctx, &d).await.expect("destroy");
    let destroy_took = started.elapsed();
    let c4 = t.calls().await;
    drop(_log);
    for (what, c, secs) in [
        ("apply", calls_between(&c0, &c1), took),
        ("no-op plan", calls_between(&c1, &c2), noop_took),
        ("node type", calls_between(&c2, &c3), modify_took),
        ("destroy", calls_between(&c3, &c4), destroy_took),
    ] {
        println!(
            "cache latency 0.02, {what}: {} calls ({} mutating), {:.1} s",
            total(&c),
            mutating(&c).len(),
            secs.as_secs_f64()
        );
    }
    let log = capture.text();
    let progress: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("skyforge::progress") && l.contains("cache_replication_group.cache"))
        .collect();
    for state in ["creating", "modifying", "deleting"] {
        assert!(
            progress
                .iter()
                .any(|l| l.contains(&format!("state=\"{state}\""))
                    || l.contains(&format!("state={state}"))),
            "no progress event in state {state}:\n{}",
            progress.join("\n")
        );
    }
    // 420 s of modelled creation at scale 0.02 is 8.4 s.
    assert!(took.as_secs_f64() >= 8.0, "apply took {took:?}");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn cluster_mode_shards_change_in_place() {
    let t = TestStack::new().await;
    let two = Cache {
        shards: Some(2),
        replicas: 1,
        ..Cache::default()
    };
    let plan = apply(&t, &cache_stack(&t.env, &two)).await;
    assert!(
        plan.to_string().contains("\"cluster-enabled\":\"yes\""),
        "{plan}"
    );
    let g = describe(&t, &t.env).await;
    assert_eq!(g.cluster_enabled(), Some(true));
    assert_eq!(g.member_clusters().len(), 4);
    assert!(g.configuration_endpoint().is_some());
    assert!(changes(&cache_stack(&t.env, &two).plan(&t.ctx).await.unwrap()).is_empty());

    let three = Cache {
        shards: Some(3),
        ..two.clone()
    };
    let stack = cache_stack(&t.env, &three);
    let plan = stack.plan(&t.ctx).await.unwrap();
    let Action::Update { diffs } = &group(&plan).action else {
        panic!("resharding is an update: {plan}")
    };
    assert_eq!(diffs[0].field, "shards");
    let before = t.calls().await;
    stack.apply(&t.ctx, &plan).await.expect("reshard");
    let made = calls_between(&before, &t.calls().await);
    assert!(
        made.contains_key(&(
            "elasticache".into(),
            "ModifyReplicationGroupShardConfiguration".into()
        )),
        "{made:?}"
    );
    assert_eq!(describe(&t, &t.env).await.member_clusters().len(), 6);
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    // Back to cluster mode disabled: a new group.
    let plain = cache_stack(&t.env, &Cache::default());
    let plan = plain.plan(&t.ctx).await.unwrap();
    assert!(
        matches!(group(&plan).action, Action::Replace { .. }),
        "{plan}"
    );
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}
