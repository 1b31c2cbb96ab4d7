//! skyforge-database against the emulator: lifecycle, drift, deferred changes, protection,
//! waits through RDS's states.

use std::collections::BTreeMap;

use skyforge_core::{
    Action, ApplyOptions, Context, Environment, PlanOptions, ResourceId, Stack, Stage,
};
use skyforge_database::{ApplyMode, Postgres, Storage};
use skyforge_integration_tests::{TestStack, calls_between, changes, inventory, mutating};
use skyforge_network::{Azs, Nat, Network, SecurityGroup, Tier};

/// What varies between the tests' databases.
#[derive(Clone)]
pub(crate) struct Db {
    pub(crate) class: &'static str,
    pub(crate) retention: u32,
    pub(crate) apply: Option<ApplyMode>,
    pub(crate) rotation: &'static str,
    pub(crate) version: &'static str,
    pub(crate) allow_major: bool,
}

impl Default for Db {
    fn default() -> Self {
        Db {
            class: "db.t3.micro",
            retention: 7,
            apply: None,
            rotation: "",
            version: "16",
            allow_major: false,
        }
    }
}

/// A two-zone network with isolated subnets, an app group and a database.
pub(crate) fn db_stack(env: &Environment, db: &Db) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.20.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let app = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("app")
            .description("API tasks")
            .build()
            .unwrap(),
    );
    let b = Postgres::builder()
        .logical_id("db")
        .vpc(net.vpc_id())
        .subnets(net.isolated())
        .allow_from(vec![app])
        .version(db.version)
        .allow_major_version_upgrade(db.allow_major)
        .class(db.class)
        .storage(Storage::gp3(20))
        .backup_retention_days(db.retention)
        .maintenance_window("sun:02:00-sun:04:00")
        .password_rotation(db.rotation);
    let spec = match db.apply {
        Some(mode) => b.apply(mode).build(),
        None => b.build(),
    };
    let h = stack.add(spec.unwrap());
    stack.export("db.address", h.address());
    stack
}

fn instance(plan: &skyforge_core::Plan) -> &skyforge_core::ResourcePlan {
    plan.get(&ResourceId::new("db_instance", "db"))
        .expect("the instance is in the plan")
}

async fn modify_by_hand(t: &TestStack, class: &str, retention: i32) {
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    rds.modify_db_instance()
        .db_instance_identifier(format!("{}-staging-db", t.app))
        .db_instance_class(class)
        .backup_retention_period(retention)
        .apply_immediately(true)
        .send()
        .await
        .expect("ModifyDBInstance by hand");
}

#[tokio::test]
async fn apply_noop_drift_repair_and_destroy() {
    let t = TestStack::new().await;
    let stack = db_stack(&t.env, &Db::default());
    let plan = stack.plan(&t.ctx).await.unwrap();
    let report = stack.apply(&t.ctx, &plan).await.expect("apply");
    let address = report.outputs.get("db.address").expect("address output");
    assert!(address.as_str().is_some_and(|a| !a.is_empty()), "{address}");

    // No-op: nothing to change, and applying it makes no mutating call.
    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let before = t.calls().await;
    stack.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&before, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");

    // Drift by hand: class and backup retention are put back.
    modify_by_hand(&t, "db.t3.small", 1).await;
    let drift = stack.plan(&t.ctx).await.unwrap();
    let inst = instance(&drift);
    let Action::Update { diffs } = &inst.action else {
        panic!("drift is an update: {drift}")
    };
    let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
    assert_eq!(fields, ["backup_retention_days", "class"], "{drift}");
    let text = drift.to_string();
    assert!(text.contains("applies now, with downtime"), "{text}");
    stack.apply(&t.ctx, &drift).await.expect("repair");
    let fixed = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&fixed).is_empty(), "{fixed}");

    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_deferred_change_is_pending_and_never_sent_again() {
    let t = TestStack::new().await;
    let window = Db {
        apply: Some(ApplyMode::MaintenanceWindow),
        ..Db::default()
    };
    let stack = db_stack(&t.env, &window);
    stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply");

    let bigger = db_stack(
        &t.env,
        &Db {
            class: "db.t3.medium",
            ..window.clone()
        },
    );
    let plan = bigger.plan(&t.ctx).await.unwrap();
    let text = plan.to_string();
    assert!(
        text.contains(
            "applies at the next maintenance window (sun:02:00-sun:04:00), with downtime"
        ),
        "{text}"
    );
    bigger.apply(&t.ctx, &plan).await.expect("deferred apply");

    // RDS holds it for the window: the plan shows it pending, and applying sends nothing.
    let after = bigger.plan(&t.ctx).await.unwrap();
    let inst = instance(&after);
    assert_eq!(inst.action, Action::NoOp, "{after}");
    assert_eq!(inst.pending.len(), 1, "{after}");
    assert_eq!(inst.pending[0].field, "class");
    assert!(after.to_string().contains("db.t3.medium"), "{after}");
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
async fn a_prod_database_is_refused_on_destroy_then_destroyed_with_a_final_snapshot() {
    let t = TestStack::new().await;
    let env = Environment::new(t.app.clone(), Stage::Prod).region("us-east-1");
    let ctx = Context::from_sdk_config(env.clone(), t.ctx.sdk_config().clone());
    let stack = db_stack(&env, &Db::default());
    stack
        .apply(&ctx, &stack.plan(&ctx).await.unwrap())
        .await
        .expect("apply");
    let rds = ctx.client(aws_sdk_rds::Client::new);
    let identifier = format!("{}-prod-db", t.app);
    let described = rds
        .describe_db_instances()
        .db_instance_identifier(&identifier)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.db_instances()[0].deletion_protection(),
        Some(true)
    );

    // Refused: the plan names the database, apply will not start.
    let refused = stack.plan_destroy(&ctx).await.unwrap();
    assert!(refused.is_refused(), "{refused}");
    assert!(
        refused
            .refused
            .iter()
            .any(|r| r.resource == ResourceId::new("db_instance", "db")),
        "{refused:?}"
    );
    let err = stack.apply(&ctx, &refused).await.unwrap_err();
    assert!(err.to_string().contains("db_instance.db"), "{err}");

    // Allowed (with the secrets it owns): protection lifted, final snapshot taken.
    let allow = ["db_instance.db", "secret.db-credentials", "secret.db-url"];
    let mut popts = PlanOptions::default();
    let mut aopts = ApplyOptions::default();
    for a in allow {
        popts = popts.allow_destroy(a);
        aopts = aopts.allow_destroy(a);
    }
    let plan = stack.plan_destroy_with(&ctx, &popts).await.unwrap();
    assert!(!plan.is_refused(), "{plan}");
    stack
        .apply_with(&ctx, &plan, &aopts)
        .await
        .expect("destroy");
    let snaps = rds
        .describe_db_snapshots()
        .db_instance_identifier(&identifier)
        .send()
        .await
        .unwrap();
    let ids: Vec<&str> = snaps
        .db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .collect();
    assert!(
        ids.iter()
            .any(|s| s.starts_with(&format!("{identifier}-final-"))),
        "{ids:?}"
    );
    // Clean up the snapshot (not a stack resource).
    for s in ids {
        rds.delete_db_snapshot()
            .db_snapshot_identifier(s)
            .send()
            .await
            .unwrap();
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

/// The URL secret, which needs the endpoint, was written while the instance took its first
/// backup (it serves connections in `backing-up`); the apply ended once it was `available`.
async fn serving_before_settled(t: &TestStack, report: &skyforge_core::ApplyReport) {
    let timing = |id: &str| report.timings.get(id).copied().expect(id);
    let (db, url) = (timing("db_instance.db"), timing("secret.db-url"));
    assert!(
        url.end_ms < db.end_ms,
        "the URL secret waited for the settled instance: {url:?} vs {db:?}"
    );
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let out = rds
        .describe_db_instances()
        .db_instance_identifier(format!("{}-staging-db", t.app))
        .send()
        .await
        .unwrap();
    let status = out.db_instances()[0].db_instance_status();
    assert_eq!(status, Some("available"), "after the apply");
}

#[tokio::test]
async fn latency_mode_shows_progress_through_the_states() {
    let t = TestStack::new().await;
    // backing-up lasts 60 s x 0.04 = 2.4 s: longer than the wait's longest poll interval (1 s).
    t.set_latency(0.04).await;
    let capture = skyforge_integration_tests::Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let stack = db_stack(&t.env, &Db::default());
    let c0 = t.calls().await;
    let started = std::time::Instant::now();
    let report = stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply");
    let took = started.elapsed();
    let c1 = t.calls().await;
    serving_before_settled(&t, &report).await;
    let started = std::time::Instant::now();
    let noop = stack.plan(&t.ctx).await.unwrap();
    let noop_took = started.elapsed();
    assert!(changes(&noop).is_empty(), "{noop}");
    let c2 = t.calls().await;
    let started = std::time::Instant::now();
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    let destroy_took = started.elapsed();
    let c3 = t.calls().await;
    let total = |c: &BTreeMap<(String, String), u64>| c.values().sum::<u64>();
    let rds = |c: &BTreeMap<(String, String), u64>| {
        c.iter()
            .filter(|((s, _), _)| s == "rds")
            .map(|(_, n)| n)
            .sum::<u64>()
    };
    for (what, c, secs) in [
        ("apply", calls_between(&c0, &c1), took),
        ("no-op plan", calls_between(&c1, &c2), noop_took),
        ("destroy", calls_between(&c2, &c3), destroy_took),
    ] {
        println!(
            "latency 0.04, {what}: {} calls ({} RDS, {} mutating), {:.1} s",
            total(&c),
            rds(&c),
            mutating(&c).len(),
            secs.as_secs_f64()
        );
    }
    drop(_log);
    let log = capture.text();
    let progress: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("skyforge::progress") && l.contains("db_instance.db"))
        .collect();
    for state in ["creating", "backing-up", "deleting"] {
        assert!(
            progress
                .iter()
                .any(|l| l.contains(&format!("state=\"{state}\""))
                    || l.contains(&format!("state={state}"))),
            "no progress event in state {state}:\n{}",
            progress.join("\n")
        );
    }
    // 480 s of modelled creation at scale 0.04 is 19.2 s.
    assert!(took.as_secs_f64() >= 18.5, "apply took {took:?}");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_major_upgrade_needs_the_flag_and_brings_its_parameter_group_first() {
    let t = TestStack::new().await;
    let v15 = Db {
        version: "15",
        ..Db::default()
    };
    let stack = db_stack(&t.env, &v15);
    stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply 15");

    // Without the flag: refused before any RDS call changes the instance.
    let v16 = Db {
        version: "16",
        ..Db::default()
    };
    let refused = db_stack(&t.env, &v16);
    let plan = refused.plan(&t.ctx).await.unwrap();
    let before = t.calls().await;
    let err = refused.apply(&t.ctx, &plan).await.unwrap_err();
    assert!(
        err.to_string().contains("allow_major_version_upgrade"),
        "{err}"
    );
    let made = calls_between(&before, &t.calls().await);
    assert!(
        !made.contains_key(&("rds".to_string(), "ModifyDBInstance".to_string())),
        "{made:?}"
    );

    // The refused run had created the postgres16 group first (create before destroy). With
    // the flag the instance moves to it, and the postgres15 group, still in use until then, is
    // retired after the instance's update.
    let allowed = db_stack(
        &t.env,
        &Db {
            allow_major: true,
            ..v16
        },
    );
    let plan = allowed.plan(&t.ctx).await.unwrap();
    let old_group = format!("{}-staging-db-postgres15", t.app);
    assert_eq!(
        changes(&plan),
        [
            "~ db_instance.db".to_string(),
            format!("- db_parameter_group.db#{old_group}")
        ],
        "{plan}"
    );
    allowed.apply(&t.ctx, &plan).await.expect("upgrade");
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let i = rds
        .describe_db_instances()
        .db_instance_identifier(format!("{}-staging-db", t.app))
        .send()
        .await
        .unwrap();
    let inst = &i.db_instances()[0];
    assert!(
        inst.engine_version().unwrap_or_default().starts_with("16"),
        "{inst:?}"
    );
    assert_eq!(
        inst.db_parameter_groups()[0].db_parameter_group_name(),
        Some(format!("{}-staging-db-postgres16", t.app).as_str())
    );
    let settled = allowed.plan(&t.ctx).await.unwrap();
    assert!(changes(&settled).is_empty(), "{settled}");

    // Straight to 17 with the flag: the group is replaced create-before-destroy around the
    // instance's upgrade.
    let v17 = db_stack(
        &t.env,
        &Db {
            version: "17",
            allow_major: true,
            ..Db::default()
        },
    );
    let plan = v17.plan(&t.ctx).await.unwrap();
    assert_eq!(
        changes(&plan),
        ["-/+ db_parameter_group.db", "~ db_instance.db"],
        "{plan}"
    );
    v17.apply(&t.ctx, &plan).await.expect("upgrade to 17");
    let groups = rds.describe_db_parameter_groups().send().await.unwrap();
    let ours: Vec<&str> = groups
        .db_parameter_groups()
        .iter()
        .filter_map(|g| g.db_parameter_group_name())
        .filter(|n| n.starts_with(&format!("{}-", t.app)))
        .collect();
    assert_eq!(ours, [format!("{}-staging-db-postgres17", t.app)]);
    let d = v17.plan_destroy(&t.ctx).await.unwrap();
    v17.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}
