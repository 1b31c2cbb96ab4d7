//! Seed 004's reference deploy (`dougust`), both stages: `dev` through the `demo` command
//! (apply, plan again with no changes, outputs, cost, destroy), `prod` step by step: refused
//! without a terminal and without `--auto-approve`, refused under `--auto-approve` alone because
//! the plan broadens access, then applied and checked against the seed (task sizes, port,
//! database class, Multi-AZ and storage, secret names, alarms), planned again with no changes,
//! a destroy that needs the protected resources allowed, and an empty inventory after each.

use crate::common::{
    Deploy, alarm_count, assert_costs, db_instance, require_endpoint, secrets_exist,
    task_definition,
};
use skyforge_integration_tests::TestStack;

fn dougust(stage: &str) -> Deploy {
    Deploy::new(env!("CARGO_BIN_EXE_dougust"), "dg", stage)
}

#[test]
fn dev_deploys_converges_and_destroys_in_one_command() {
    require_endpoint();
    let d = dougust("dev");
    // Its calls are attributed to the project, for the policy check below.
    let project = d.project.clone();
    let d = d.var("AWS_SDK_UA_APP_ID", &project);
    let out = d.outputs_file();
    let a = d.ok(&["demo", "--outputs", out.to_str().unwrap()]);
    assert!(a.text.contains("Second plan: no changes."), "{}", a.text);
    let n = crate::ci::assert_calls_granted(&d);
    assert!(n > 40, "{n} actions called");
    println!(
        "{}: all {n} actions called are in the stack's deploy policy",
        d.prefix()
    );
    assert!(a.text.contains("Monthly estimate of"), "{}", a.text);
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert!(
        written["url"].as_str().unwrap_or_default().contains("elb"),
        "{written}"
    );
    assert!(
        written["repository_uri"]
            .as_str()
            .unwrap_or_default()
            .contains(&d.project),
        "{written}"
    );
    d.nothing_left();
}

/// The live prod stack against the seed: sizes, port, database, secrets, alarms.
async fn check_prod(t: &TestStack, d: &Deploy) {
    let td = task_definition(t, "backend").await;
    assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
    let c = &td.container_definitions()[0];
    assert_eq!(c.port_mappings()[0].container_port(), Some(3000));
    let mut secrets: Vec<_> = c.secrets().iter().map(|s| s.name()).collect();
    secrets.sort();
    assert_eq!(
        secrets,
        ["DATABASE_URL", "JWT_REFRESH_SECRET", "JWT_SECRET"]
    );
    let db = db_instance(t, &format!("{}-db", d.prefix())).await;
    assert_eq!(db.db_instance_class(), Some("db.t3.large"));
    assert_eq!(
        (db.multi_az(), db.allocated_storage(), db.storage_type()),
        (Some(true), Some(100), Some("gp3"))
    );
    let names =
        ["database-url", "jwt-secret", "jwt-refresh-secret"].map(|s| format!("prod/dougust/{s}"));
    secrets_exist(t, &names).await;
    assert_eq!(
        alarm_count(t, &format!("{}-", d.prefix())).await,
        9,
        "5 service, 1 load balancer, 3 database alarms"
    );
}

#[test]
fn prod_deploys_matches_the_seed_converges_and_destroys_when_allowed() {
    require_endpoint();
    let d = dougust("prod");
    // Without a terminal and without --auto-approve: refused before any call.
    let a = d.raw(&["apply"], &[]);
    assert!(
        a.code == Some(1) && a.text.contains("--auto-approve"),
        "{}",
        a.text
    );
    // --auto-approve alone does not cover a plan that opens ingress to the internet and
    // creates roles: it is named, and nothing is created.
    let a = d.raw(&["apply", "--auto-approve"], &[]);
    assert_eq!(a.code, Some(1), "{}", a.text);
    for line in [
        "This plan broadens access:",
        "ingress from cidr:0.0.0.0/0 on port 80",
        "iam_role.backend-task: a new role",
        "load_balancer.public: reachable from the internet",
        "--require-approval never",
    ] {
        assert!(a.text.contains(line), "{line:?} missing:\n{}", a.text);
    }
    d.nothing_left();
    let outputs = d.up(async |t| check_prod(t, &d).await);
    assert!(
        outputs["repository_uri"]
            .as_str()
            .unwrap_or_default()
            .contains(&d.project),
        "{outputs}"
    );
    d.down(&[
        "db_instance.db",
        "load_balancer.public",
        "secret.jwt-secret",
        "secret.jwt-refresh-secret",
    ]);
}

/// The estimate against the seed's figures, worked out by hand from the us-east-1 table
/// (`docs/cost.md` explains every line).
#[test]
fn cost_of_both_stages_matches_the_hand_computed_figures() {
    assert_costs(
        |s| dougust(s).region("us-east-1"),
        &[("dev", 283.83), ("prod", 426.45)],
    );
}
