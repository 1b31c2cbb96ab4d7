//! The permission declarations against the calls the engine really makes: stacks of the
//! declared crates' kinds, applied, planned again and destroyed. Every call the harness recorded
//! for the stack must be allowed by the stack's declared actions
//! ([`skyforge_core::Stack::deploy_actions`]) and granted by the deploy policy made from them
//! ([`skyforge_iam::deploy::deploy_policy`]), and that policy must allow every write a node
//! declares on the node's own ARN, tagged for the stack, and deny it on another stack's.

use std::collections::BTreeSet;

mod coverage;
mod scoping;

use skyforge_core::{ApplyReport, PlanMode, Result, Stack};
use skyforge_iam::deploy::{PolicyInput, deploy_policy, release_policy};

use coverage::Coverage;
use scoping::{arn_context, granted, writes_are_scoped};
use skyforge_integration_tests::{TestStack, iam_action};
use skyforge_loadbalancing::LoadBalancer;
use skyforge_logs::LogGroup;
use skyforge_monitoring::{Alarms, Dashboard, Subscription, Topic};
use skyforge_network::{Azs, Nat, Network, Tier};
use skyforge_registry::{Lifecycle, Repository};
use skyforge_storage::Bucket;

/// Apply each stack in turn (the same stack with other user tags: every kind's tag and untag
/// calls), planning again after each, then destroy; the first apply's report.
async fn cycle(rounds: &[(TestStack, Stack)]) -> Result<ApplyReport> {
    let mut report = None;
    for (t, stack) in rounds {
        let plan = stack.plan(&t.ctx).await?;
        let r = stack.apply(&t.ctx, &plan).await?;
        report.get_or_insert(r);
        assert!(!stack.plan(&t.ctx).await?.has_changes(), "converged");
    }
    let (t, last) = rounds.last().expect("a round");
    let down = last.plan_destroy(&t.ctx).await?;
    assert_eq!(down.mode, PlanMode::Destroy);
    last.apply(&t.ctx, &down).await?;
    Ok(report.expect("applied"))
}

/// The test's stack with user tags: two, then one of them changed and the other gone (same
/// project, so the harness counts its calls with the test's).
async fn tagged(t: &TestStack, round: u8) -> TestStack {
    let env = match round {
        0 => t
            .env
            .clone()
            .tag("skyforge-test", "one")
            .tag("retired", "soon"),
        _ => t.env.clone().tag("skyforge-test", "two"),
    };
    TestStack::with_env(env).await
}

/// Every call the harness recorded for the test's app, as the IAM actions they need.
async fn called_actions(t: &TestStack) -> BTreeSet<String> {
    t.calls()
        .await
        .keys()
        .filter_map(|(service, op)| iam_action(service, op))
        .collect()
}

/// The actions of `called` that `declared` lacks.
fn undeclared<'a>(called: &'a BTreeSet<String>, declared: &BTreeSet<&str>) -> Vec<&'a String> {
    called
        .iter()
        .filter(|a| !declared.contains(a.as_str()))
        .collect()
}

/// Apply `stack`, plan again, destroy it; every call the harness recorded for the test's app
/// must be declared by the stack's kinds and granted by its deploy policy, every kind must
/// declare, and every declared write must be scoped to the node. Returns what was declared and
/// called.
async fn check(t: &TestStack, build: impl Fn(&TestStack) -> Result<Stack>) -> Result<Coverage> {
    let (t0, t1) = (tagged(t, 0).await, tagged(t, 1).await);
    let rounds = [(t0.clone(), build(&t0)?), (t1.clone(), build(&t1)?)];
    let stack = &rounds[0].1;
    let declared = stack.deploy_actions();
    assert_eq!(
        declared.undeclared,
        BTreeSet::new(),
        "every kind declares its actions"
    );
    let decls = stack.declarations(skyforge_integration_tests::ACCOUNT);
    let at = arn_context(t);
    let input = PolicyInput {
        declarations: &decls,
        stack: &stack.name(),
        at: &at,
    };
    let policy = deploy_policy(input, vec![])
        .expect("every write can be scoped")
        .json();
    let report = cycle(&rounds).await?;
    let called = called_actions(t).await;
    let missing = undeclared(&called, &declared.actions);
    assert!(
        missing.is_empty(),
        "called but not declared: {missing:?}\ncalled: {called:?}"
    );
    let ungranted: Vec<&String> = called.iter().filter(|a| !granted(&policy, a)).collect();
    assert!(
        ungranted.is_empty(),
        "called but not in the policy: {ungranted:?}"
    );
    let checked = writes_are_scoped(stack, &policy, &report);
    assert!(checked > 0, "no write checked against a node's ARN");
    println!("{checked} writes checked on the nodes' own ARNs and on another stack's");
    Ok(Coverage {
        declared: declared.actions,
        called,
    })
}

async fn network() -> Result<Coverage> {
    let t = TestStack::new().await;
    // Three zones, a NAT gateway each, flow logs (a log group and a role), the S3 endpoint and
    // the four security groups.
    check(&t, |t| crate::network::prod(t.env.clone())).await
}

async fn secrets_repositories_and_log_groups() -> Result<Coverage> {
    let t = TestStack::new().await;
    let key_file = crate::secrets_registry::temp_file(&t, "sk-permissions-test");
    check(&t, |t| {
        secrets_repositories_and_log_groups_stack(t, &key_file)
    })
    .await
}

fn secrets_repositories_and_log_groups_stack(
    t: &TestStack,
    key_file: &std::path::Path,
) -> Result<Stack> {
    let mut stack = crate::secrets_registry::secrets_stack(t, key_file, "r1");
    stack.add(
        Repository::builder()
            .logical_id("api")
            .lifecycle(Lifecycle::new().expire_untagged_after_days(7).keep_last(10))
            .build()?,
    );
    skyforge_logs::register_prefix(&mut stack, "app_log_group", |env| {
        format!("/{}/{}/", env.project_name(), env.stage())
    });
    let name = format!("/{}/staging/app", t.app);
    stack.add(LogGroup::new("app_log_group", "app", name, 30));
    Ok(stack)
}

async fn load_balancing_storage_and_monitoring() -> Result<Coverage> {
    let t = TestStack::new().await;
    check(&t, load_balancing_storage_and_monitoring_stack).await
}

fn load_balancing_storage_and_monitoring_stack(t: &TestStack) -> Result<Stack> {
    let mut stack = Stack::new(t.env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.61.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()?,
    );
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(crate::loadbalancing::seed_003_routes())
            .build()?,
    );
    stack.add(Bucket::builder().logical_id("uploads").build()?);
    let topic =
        stack.add(Topic::new("alerts").subscribe(Subscription::Email("oncall@example.com".into())));
    stack.add(Alarms::load_balancer("public", &lb).notify(&topic));
    let tg = lb.target_group("web")?;
    stack.add(
        Dashboard::new("overview")
            .load_balancer(&lb)
            .target_group("web", &tg),
    );
    Ok(stack)
}

async fn database_and_cache() -> Result<Coverage> {
    let t = TestStack::new().await;
    let db = |t: &TestStack| {
        let db = crate::database::Db::default();
        Ok(crate::database::db_stack(&t.env, &db))
    };
    let first = check(&t, db).await?;
    let t = TestStack::new().await;
    let cache = |t: &TestStack| {
        let c = crate::cache::Cache::default();
        Ok(crate::cache::cache_stack(&t.env, &c))
    };
    Ok(first.and(check(&t, cache).await?))
}

async fn service_with_autoscaling_and_discovery() -> Result<Coverage> {
    let t = TestStack::new().await;
    check(&t, |t| {
        let image = skyforge_compute::Image::external("public.ecr.aws/skyforge/api:v1");
        Ok(crate::compute::stack(&t.env, Some(image), ""))
    })
    .await
}

/// A deploy's own steps: the first apply runs the migration, a release registers new revisions,
/// migrates and rolls out, a rollback puts the service back (an action applied alone, as the
/// CLI does), and destroy.
async fn migrations_deploys_and_rollbacks() -> Result<Coverage> {
    let t = TestStack::new().await;
    let first = crate::deploys::stack(&t.env, None, true);
    let release = crate::deploys::stack(&t.env, Some("v2"), true);
    let mut rollback = Stack::new(t.env.clone());
    rollback.add_action(skyforge_compute::Rollback::new("main", "api"));
    let mut declared = BTreeSet::new();
    for s in [&first, &release, &rollback] {
        let d = s.deploy_actions();
        assert_eq!(d.undeclared, BTreeSet::new(), "every kind declares");
        declared.extend(d.actions);
    }
    let plan = first.plan(&t.ctx).await?;
    first.apply(&t.ctx, &plan).await?;
    let before = t.calls().await;
    for s in [&release, &rollback] {
        let plan = s.plan(&t.ctx).await?;
        s.apply(&t.ctx, &plan).await?;
    }
    let released = skyforge_integration_tests::calls_between(&before, &t.calls().await);
    let down = first.plan_destroy(&t.ctx).await?;
    first.apply(&t.ctx, &down).await?;
    let called = called_actions(&t).await;
    let missing = undeclared(&called, &declared);
    assert!(missing.is_empty(), "called but not declared: {missing:?}");
    // The release and the rollback need only what the release policy grants.
    let mut decls = release.declarations(skyforge_integration_tests::ACCOUNT);
    decls.extend(rollback.declarations(skyforge_integration_tests::ACCOUNT));
    let at = arn_context(&t);
    let input = PolicyInput {
        declarations: &decls,
        stack: &release.name(),
        at: &at,
    };
    let policy = release_policy(input, vec![]).expect("scoped").json();
    let needed: BTreeSet<String> = released
        .keys()
        .filter_map(|(service, op)| iam_action(service, op))
        .collect();
    assert!(needed.contains("ecs:UpdateService"), "{needed:?}");
    let ungranted: Vec<&String> = needed.iter().filter(|a| !granted(&policy, a)).collect();
    assert!(
        ungranted.is_empty(),
        "released, not in the release policy: {ungranted:?}"
    );
    for write in ["ec2:CreateVpc", "rds:DeleteDBInstance", "iam:CreateRole"] {
        assert!(
            !granted(&policy, write),
            "the release policy grants {write}"
        );
    }
    Ok(Coverage { declared, called })
}

/// Every scenario at once; then every action declared by their kinds must have been called by
/// one of them, or be listed in [`coverage::NOT_CALLED`] with the reason no run here calls it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_call_of_every_crate_is_declared_granted_and_scoped_and_declarations_are_used()
-> Result<()> {
    let (a, b, c, d, e, f) = tokio::try_join!(
        network(),
        secrets_repositories_and_log_groups(),
        load_balancing_storage_and_monitoring(),
        database_and_cache(),
        service_with_autoscaling_and_discovery(),
        migrations_deploys_and_rollbacks(),
    )?;
    coverage::assert_used(&a.and(b).and(c).and(d).and(e).and(f));
    Ok(())
}
