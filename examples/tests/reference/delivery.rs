//! Seed 000's reference deploy (`delivery-app`), both stages. `test` runs under the harness's
//! latency mode (resources pass through their intermediate states): the JWT keys required
//! before any call, applied and checked against the seed (backend :3000 at 0.25 vCPU / 1 GB,
//! admin frontend :80 at 0.25 vCPU / 512 MB, the seed's plain environment, the three SSM
//! parameters by path, a log group per service under the cluster's name), planned again with no
//! changes, the `menu-rewrite` feature deployed as a new backend revision and nothing else,
//! destroyed with the refused resources allowed, the inventory left empty. `prod`: Multi-AZ
//! `db.t3.small`, two tasks each, the same life. The cost of both against hand-computed figures.

use std::collections::BTreeMap;

use crate::common::{
    Deploy, assert_costs, db_instance, require_endpoint, runtime, task_definition,
};
use skyforge_integration_tests::TestStack;

const KEYS: [(&str, &str); 2] = [
    (
        "DELIVERY_JWT_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIB\n-----END PRIVATE KEY-----",
    ),
    (
        "DELIVERY_JWT_PUBLIC_KEY",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEB\n-----END PUBLIC KEY-----",
    ),
];

fn delivery(stage: &str) -> Deploy {
    KEYS.iter().fold(
        Deploy::new(env!("CARGO_BIN_EXE_delivery-app"), "dlv", stage),
        |d, (k, v)| d.var(k, v),
    )
}

/// The backend's plain environment.
async fn backend_env(t: &TestStack) -> BTreeMap<String, String> {
    let td = task_definition(t, "backend").await;
    td.container_definitions()[0]
        .environment()
        .iter()
        .map(|kv| {
            (
                kv.name().unwrap_or_default().to_string(),
                kv.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn check_test(t: &TestStack, d: &Deploy) {
    let backend = task_definition(t, "backend").await;
    assert_eq!(
        (backend.cpu(), backend.memory()),
        (Some("256"), Some("1024"))
    );
    let c = &backend.container_definitions()[0];
    assert_eq!(c.port_mappings()[0].container_port(), Some(3000));
    let mut secrets: Vec<_> = c.secrets().iter().map(|s| s.name()).collect();
    secrets.sort();
    assert_eq!(
        secrets,
        ["DATABASE_URL", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"]
    );
    let env = backend_env(t).await;
    for (k, v) in [
        ("PORT", "3000"),
        ("FEATURE_KEY", "core"),
        ("FEATURE_FLAGS", "BASE_CORE"),
        ("TOKEN_ISS", "delivery-app"),
        ("TOKEN_AUD_TENANT", "tenant-api"),
        ("DEPLOY_ENV", "test"),
    ] {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k} in {env:?}");
    }
    let frontend = task_definition(t, "admin-frontend").await;
    assert_eq!(
        (frontend.cpu(), frontend.memory()),
        (Some("256"), Some("512"))
    );
    let fc = &frontend.container_definitions()[0];
    assert_eq!(fc.port_mappings()[0].container_port(), Some(80));
    // The SSM parameters the seed names, SecureStrings under /<project>/<stage>/.
    let ssm = t.ctx.client(aws_sdk_ssm::Client::new);
    for key in ["DATABASE_URL", "JWT_PRIVATE_KEY", "JWT_PUBLIC_KEY"] {
        let name = format!("/{}/test/{key}", d.project);
        let p = ssm
            .get_parameter()
            .name(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let p = p.parameter().unwrap();
        assert_eq!(
            p.r#type(),
            Some(&aws_sdk_ssm::types::ParameterType::SecureString),
            "{name}"
        );
    }
    // A log group per service, named for the cluster.
    let logs = t.ctx.client(aws_sdk_cloudwatchlogs::Client::new);
    let prefix = format!("/aws/ecs/{}-cluster/", d.prefix());
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&prefix)
        .send()
        .await
        .unwrap();
    let mut names: Vec<_> = groups
        .log_groups()
        .iter()
        .filter_map(|g| g.log_group_name())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            format!("{prefix}admin-frontend"),
            format!("{prefix}backend")
        ]
    );
}

#[test]
fn test_stage_under_latency_matches_the_seed_switches_feature_and_destroys() {
    require_endpoint();
    let d = delivery("test").latency(0.02);
    let a = d.raw(&["plan"], &["DELIVERY_JWT_PUBLIC_KEY"]);
    assert!(
        a.code == Some(1) && a.text.contains("DELIVERY_JWT_PUBLIC_KEY"),
        "{}",
        a.text
    );
    d.up(async |t| check_test(t, &d).await);
    // The feature configuration is a deploy-time choice: a new backend revision and its
    // rollout, nothing else.
    let p = d.raw(&["plan", "--feature", "menu-rewrite", "--json"], &[]);
    assert_eq!(p.code, Some(0), "{}", p.text);
    let plan = p.json();
    let changed: Vec<String> = plan["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] != "no_op")
        .map(|r| {
            format!(
                "{}.{}",
                r["id"]["kind"].as_str().unwrap(),
                r["id"]["logical_id"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        changed,
        ["ecs_task_definition.backend", "ecs_service.backend"],
        "{}",
        p.text
    );
    d.ok(&[
        "deploy",
        "--image",
        "latest",
        "--service",
        "backend",
        "--feature",
        "menu-rewrite",
    ]);
    let env = runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        backend_env(&t).await
    });
    assert_eq!(
        (env["FEATURE_KEY"].as_str(), env["FEATURE_FLAGS"].as_str()),
        ("menu-rewrite", "MENU_V2_ENABLED")
    );
    d.down(&["db_instance.db"]);
}

#[test]
fn prod_stage_is_multi_az_with_two_tasks_each_and_destroys_when_allowed() {
    require_endpoint();
    let d = delivery("prod");
    d.up(async |t| {
        let db = db_instance(t, &format!("{}-db", d.prefix())).await;
        assert_eq!(
            (db.db_instance_class(), db.multi_az()),
            (Some("db.t3.small"), Some(true))
        );
        for name in ["backend", "admin-frontend"] {
            let svc = skyforge_integration_tests::ecs_service(t, "main", name).await;
            assert_eq!(svc.desired_count(), 2, "{name}");
        }
    });
    d.down(&["db_instance.db", "load_balancer.public"]);
}

#[test]
fn cost_of_both_stages_matches_the_hand_computed_figures() {
    assert_costs(
        |s| delivery(s).region("us-east-1"),
        &[("test", 112.45), ("prod", 211.21)],
    );
}
