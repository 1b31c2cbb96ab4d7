//! Seed 004's reference deploy (`dougust`), both stages, against the emulator: `dev` through the
//! `demo` command (apply, plan again with no changes, outputs, destroy), `prod` step by step with
//! the live resources checked against the seed (task sizes, port, database class, Multi-AZ and
//! storage, secret names, alarms), a second plan with no changes, a destroy that needs the
//! protected resources allowed, and an empty inventory after each. Needs `AWS_ENDPOINT_URL`
//! (run through `bash scripts/test.sh`); fails loudly without it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use skyforge::core::{Environment, Stage};
use skyforge_integration_tests::{TestStack, ecs_service, inventory};

/// Run the binary as CI does (`--auto-approve`, no terminal): exit code and output.
fn dougust_code(args: &[&str], state: &Path, approve: bool) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dougust"));
    c.args(args).arg("--state-dir").arg(state);
    if approve {
        c.arg("--auto-approve");
    }
    let out: Output = c.output().expect("run the dougust binary");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

fn dougust(args: &[&str], state: &Path) -> (bool, String) {
    let (code, text) = dougust_code(args, state, true);
    (code == Some(0), text)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn env_of(project: &str, stage: &str) -> Environment {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    Environment::new(project, Stage::parse(stage).unwrap()).region(region)
}

fn nothing_left(project: &str, stage: &str) {
    let left = runtime().block_on(async {
        let t = TestStack::with_env(env_of(project, stage)).await;
        inventory(&t).await
    });
    assert_eq!(
        left,
        Vec::<String>::new(),
        "left behind by {project}-{stage}"
    );
}

fn dirs(tag: &str) -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("skyforge-dougust-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    (dir.join("state"), dir.join("outputs.json"))
}

#[test]
fn dev_deploys_converges_and_destroys_in_one_command() {
    assert!(
        !std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_default()
            .is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
    let project = format!("dgd{}", std::process::id() % 100_000);
    let (state, outputs) = dirs("dev");
    let out = outputs.to_str().unwrap();
    let (ok, text) = dougust(
        &[
            "demo",
            "--project",
            &project,
            "--stage",
            "dev",
            "--outputs",
            out,
        ],
        &state,
    );
    assert!(ok, "dougust demo failed:\n{text}");
    assert!(text.contains("Second plan: no changes."), "{text}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).unwrap()).unwrap();
    assert!(
        written["url"].as_str().unwrap_or_default().contains("elb"),
        "{written}"
    );
    assert!(
        written["repository_uri"]
            .as_str()
            .unwrap_or_default()
            .contains(&project),
        "{written}"
    );
    nothing_left(&project, "dev");
}

/// The live prod stack against the seed: sizes, port, database, secrets, alarms.
async fn check_prod(t: &TestStack, project: &str) {
    let svc = ecs_service(t, "main", "backend").await;
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    let td = ecs
        .describe_task_definition()
        .task_definition(svc.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
    let c = &td.container_definitions()[0];
    assert_eq!(c.port_mappings()[0].container_port(), Some(3000));
    let mut secrets: Vec<_> = c.secrets().iter().map(|s| s.name()).collect();
    secrets.sort();
    assert_eq!(
        secrets,
        ["DATABASE_URL", "JWT_REFRESH_SECRET", "JWT_SECRET"]
    );
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let dbs = rds
        .describe_db_instances()
        .db_instance_identifier(format!("{project}-prod-db"))
        .send()
        .await
        .unwrap();
    let db = &dbs.db_instances()[0];
    assert_eq!(db.db_instance_class(), Some("db.t3.large"));
    assert_eq!(
        (db.multi_az(), db.allocated_storage(), db.storage_type()),
        (Some(true), Some(100), Some("gp3"))
    );
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    for name in [
        "prod/dougust/database-url",
        "prod/dougust/jwt-secret",
        "prod/dougust/jwt-refresh-secret",
    ] {
        sm.describe_secret()
            .secret_id(name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    let alarms = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(format!("{project}-prod-"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        alarms.metric_alarms().len(),
        9,
        "5 service, 1 load balancer, 3 database alarms"
    );
}

#[test]
fn prod_deploys_matches_the_seed_converges_and_destroys_when_allowed() {
    assert!(
        !std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_default()
            .is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
    let project = format!("dgp{}", std::process::id() % 100_000);
    let (state, _) = dirs("prod");
    let base = ["--project", project.as_str(), "--stage", "prod"];
    fn with<'a>(cmd: &'a str, base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
        [&[cmd][..], base, more].concat()
    }
    // Plan: exit 2, changes to apply. Apply without a terminal and without --auto-approve:
    // refused before any call.
    let (code, text) = dougust_code(
        &with("plan", &base, &["--detailed-exitcode"]),
        &state,
        false,
    );
    assert_eq!(code, Some(2), "{text}");
    let (code, text) = dougust_code(&with("apply", &base, &[]), &state, false);
    assert!(code == Some(1) && text.contains("--auto-approve"), "{text}");
    let (ok, text) = dougust(&with("apply", &base, &[]), &state);
    assert!(ok, "apply failed:\n{text}");
    runtime().block_on(async {
        let t = TestStack::with_env(env_of(&project, "prod")).await;
        check_prod(&t, &project).await;
    });
    let (code, text) = dougust_code(
        &with("plan", &base, &["--detailed-exitcode"]),
        &state,
        false,
    );
    assert!(
        code == Some(0) && text.contains("No changes."),
        "second plan:\n{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dougust"))
        .args(with("outputs", &base, &["--json", "--state-dir"]))
        .arg(&state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let outputs: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_default();
    assert!(
        out.status.success()
            && outputs["repository_uri"]
                .as_str()
                .unwrap_or_default()
                .contains(&project),
        "{text}"
    );
    // The database, the load balancer and the secrets hold data in prod: destroy refuses them
    // unless each is allowed.
    let (ok, text) = dougust(&with("destroy", &base, &[]), &state);
    assert!(!ok, "destroy without allowances:\n{text}");
    let held = [
        "db_instance.db",
        "load_balancer.public",
        "secret.jwt-secret",
        "secret.jwt-refresh-secret",
        "secret.db-credentials",
        "secret.db-url",
    ];
    for id in &held[..4] {
        assert!(text.contains(id), "{id} not named:\n{text}");
    }
    let allow: Vec<&str> = held.iter().flat_map(|id| ["--allow-destroy", id]).collect();
    let (ok, text) = dougust(&with("destroy", &base, &allow), &state);
    assert!(ok, "destroy failed:\n{text}");
    nothing_left(&project, "prod");
}
