//! The permission declarations against the calls the engine really makes: stacks of the
//! declared crates' kinds, applied, planned again and destroyed. Every call the harness recorded
//! for the stack must be allowed by the stack's declared actions
//! ([`skyforge_core::Stack::deploy_actions`]) and granted by the deploy policy made from them
//! ([`skyforge_iam::deploy::deploy_policy`]), and that policy must allow every write a node
//! declares on the node's own ARN, tagged for the stack, and deny it on another stack's.

use std::collections::BTreeSet;

use serde_json::Value;
use skyforge_core::{ApplyReport, PlanMode, Result, Stack};
use skyforge_iam::deploy::{
    ArnContext, PolicyInput, deploy_policy, release_policy, resource_type_of, writes_against,
};
use skyforge_iam::eval::{Request, allows};
use skyforge_integration_tests::{TestStack, iam_action};
use skyforge_loadbalancing::LoadBalancer;
use skyforge_logs::LogGroup;
use skyforge_monitoring::{Alarms, Dashboard, Subscription, Topic};
use skyforge_network::{Azs, Nat, Network, Tier};
use skyforge_registry::{Lifecycle, Repository};
use skyforge_storage::Bucket;

/// Apply, plan again, destroy; the first apply's report.
async fn cycle(t: &TestStack, stack: &Stack) -> Result<ApplyReport> {
    let plan = stack.plan(&t.ctx).await?;
    let report = stack.apply(&t.ctx, &plan).await?;
    assert!(!stack.plan(&t.ctx).await?.has_changes(), "converged");
    let down = stack.plan_destroy(&t.ctx).await?;
    assert_eq!(down.mode, PlanMode::Destroy);
    stack.apply(&t.ctx, &down).await?;
    Ok(report)
}

const TAG: &str = "aws:ResourceTag/skyforge:stack";
const REQUEST_TAG: &str = "aws:RequestTag/skyforge:stack";

fn arn_context(t: &TestStack) -> ArnContext {
    ArnContext::new(t.ctx.region(), skyforge_integration_tests::ACCOUNT)
}

/// Whether some statement of `policy` names `action`.
fn granted(policy: &Value, action: &str) -> bool {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|s| {
            s["Action"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a.as_str() == Some(action))
        })
}

/// Reads (`Get*`, `Describe*`, `List*`) are granted account-wide by design.
fn is_read(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or_default();
    ["Get", "Describe", "List"]
        .iter()
        .any(|v| verb.starts_with(v))
}

/// Every write each node declares, on the node's ARN (from `report`) with the stack's tag: all
/// allowed by `policy`; on the same ARN renamed to another stack's, with its tag: all denied,
/// but for reads and the actions AWS authorizes only against `*`. Returns how many writes were
/// checked.
fn writes_are_scoped(stack: &Stack, policy: &Value, report: &ApplyReport) -> usize {
    let name = stack.name();
    let env = stack.env();
    let theirs = |arn: &str| {
        let flat = format!("{}-{}", env.project_name(), env.stage());
        let path = format!("{}/{}", env.project_name(), env.stage());
        arn.replace(&flat, "intruder-prod")
            .replace(&path, "intruder/prod")
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for d in stack.declarations(skyforge_integration_tests::ACCOUNT) {
        let Some(id) = &d.id else { continue };
        let outputs = report.resources.get(&id.to_string());
        let Some(arn) = outputs.and_then(|o| o.get("arn")).and_then(|a| a.as_str()) else {
            continue;
        };
        let Some(rt) = resource_type_of(arn) else {
            continue;
        };
        for (action, creates) in writes_against(&d, rt) {
            let mut ours = Request::new(action, arn).with(TAG, &name);
            if creates {
                ours = ours.with(REQUEST_TAG, &name);
            }
            if !allows(policy, &ours) {
                failures.push(format!("{id}: {action} on {arn} denied"));
            }
            let other = theirs(arn);
            let intruder = Request::new(action, &other).with(TAG, "intruder-prod");
            let anywhere = allows(policy, &Request::new(action, "*")) || is_read(action);
            if !anywhere && allows(policy, &intruder.with(REQUEST_TAG, "intruder-prod")) {
                failures.push(format!("{id}: {action} on {other} allowed"));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    checked
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
/// must be declared by the stack's kinds, and every kind must declare.
async fn check(t: &TestStack, stack: &Stack) -> Result<()> {
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
    let report = cycle(t, stack).await?;
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
    // Declared but not called by this cycle: updates (drift repair), the paths a blocked delete
    // takes, and what AWS requires of a call besides its own action (iam:PassRole, tagging on
    // create). Listed for the record; each is declared next to its call.
    let unused: Vec<&&str> = declared
        .actions
        .iter()
        .filter(|a| !called.contains(**a))
        .collect();
    println!("declared, not called by a create/destroy cycle: {unused:?}");
    Ok(())
}

#[tokio::test]
async fn every_call_of_a_network_deploy_is_declared() -> Result<()> {
    let t = TestStack::new().await;
    // Three zones, a NAT gateway each, flow logs (a log group and a role), the S3 endpoint and
    // the four security groups.
    let stack = crate::network::prod(t.env.clone())?;
    check(&t, &stack).await
}

#[tokio::test]
async fn every_call_of_secrets_parameters_repositories_and_log_groups_is_declared() -> Result<()> {
    let t = TestStack::new().await;
    let key_file = crate::secrets_registry::temp_file(&t, "sk-permissions-test");
    let mut stack = crate::secrets_registry::secrets_stack(&t, &key_file, "r1");
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
    check(&t, &stack).await
}

#[tokio::test]
async fn every_call_of_load_balancing_storage_and_monitoring_is_declared() -> Result<()> {
    let t = TestStack::new().await;
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
    check(&t, &stack).await
}

#[tokio::test]
async fn every_call_of_a_database_and_a_cache_is_declared() -> Result<()> {
    let t = TestStack::new().await;
    let db = crate::database::db_stack(&t.env, &crate::database::Db::default());
    check(&t, &db).await?;
    let t = TestStack::new().await;
    let cache = crate::cache::cache_stack(&t.env, &crate::cache::Cache::default());
    check(&t, &cache).await
}

#[tokio::test]
async fn every_call_of_a_service_with_autoscaling_and_discovery_is_declared() -> Result<()> {
    let t = TestStack::new().await;
    let image = skyforge_compute::Image::external("public.ecr.aws/skyforge/api:v1");
    let stack = crate::compute::stack(&t.env, Some(image), "");
    check(&t, &stack).await
}

/// A deploy's own steps: the first apply runs the migration, a release registers new revisions,
/// migrates and rolls out, a rollback puts the service back (an action applied alone, as the
/// CLI does), and destroy.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_call_of_migrations_deploys_and_rollbacks_is_declared() -> Result<()> {
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
    Ok(())
}
