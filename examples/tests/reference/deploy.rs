//! The driver's `deploy`, `rollback` and a deploy killed with SIGKILL, as an operator or a CI
//! pipeline runs them: the `deploy_demo` binary against the emulator (its calls attributed to
//! the project through `AWS_SDK_UA_APP_ID`, so the test can script task faults and latency for
//! it alone). Needs `AWS_ENDPOINT_URL` (run through `bash scripts/test.sh`).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use skyforge_integration_tests::{TestStack, calls_between, inventory};

fn driver(project: &str, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_deploy_demo"));
    c.args(args)
        .args(["--auto-approve", "--require-approval", "never"])
        .args(["--project", project, "--state-dir"])
        .arg(dir.join("state"))
        .env("AWS_SDK_UA_APP_ID", project)
        .env("DATABASE_URL", "postgres://app@db:5432/app");
    c
}

fn run(project: &str, dir: &Path, args: &[&str]) -> (Output, String) {
    let out = driver(project, dir, args)
        .output()
        .expect("run deploy_demo");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    println!(
        "--- deploy_demo {} (exit {:?})\n{text}",
        args.join(" "),
        out.status.code()
    );
    (out, text)
}

fn ok(project: &str, dir: &Path, args: &[&str]) -> String {
    let (out, text) = run(project, dir, args);
    assert!(out.status.success(), "deploy_demo {args:?} failed:\n{text}");
    text
}

fn runs(made: &std::collections::BTreeMap<(String, String), u64>) -> u64 {
    made.get(&("ecs".to_string(), "RunTask".to_string()))
        .copied()
        .unwrap_or(0)
}

async fn migrated(t: &TestStack) -> Option<String> {
    let family = format!("{}-api-migrate", t.env.prefix());
    let out = t
        .ctx
        .client(aws_sdk_ecs::Client::new)
        .describe_task_definition()
        .task_definition(family)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .ok()?;
    out.tags()
        .iter()
        .find(|t| t.key() == Some("skyforge:migrated"))
        .and_then(|t| t.value().map(String::from))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_rollback_failures_and_a_killed_deploy_through_the_driver() {
    assert!(
        !std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_default()
            .is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
    let project = format!("dply{}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("skyforge-deploy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = skyforge::core::Environment::new(project.clone(), skyforge::core::Stage::Staging)
        .region("us-east-1");
    let t = TestStack::with_env(env).await;

    ok(&project, &dir, &["apply"]);
    let text = ok(&project, &dir, &["deploy", "--image", "v2"]);
    assert!(text.contains("migration.api will run"), "{text}");
    assert!(
        text.contains("Deploy complete:") && text.contains("1 migration(s) run"),
        "{text}"
    );

    // A rollout that cannot pull: a failing exit code and ECS's reason.
    t.fail_tasks_with(
        serde_json::json!({"image": ":v3", "kind": "service", "stopCode": "TaskFailedToStart",
        "reason": "CannotPullContainerError: manifest for api:v3 not found"}),
    )
    .await;
    let (out, text) = run(&project, &dir, &["deploy", "--image", "v3"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("CannotPullContainerError"), "{text}");
    let text = ok(&project, &dir, &["rollback", "--service", "api"]);
    assert!(text.contains("Rollback complete: api now serves"), "{text}");
    assert!(text.contains("-api:2"), "{text}");

    // A failing migration: the service keeps running what it ran, the log is quoted.
    t.fail_tasks_with(serde_json::json!({"image": ":v4", "kind": "run-task", "stopCode": "EssentialContainerExited",
        "reason": "Essential container in task exited", "exitCode": 1,
        "logs": ["error: migration 0042_add_orders failed: relation \"orders\" already exists"]})).await;
    let (out, text) = run(&project, &dir, &["deploy", "--image", "v4"]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("exit code 1") && text.contains("relation \"orders\" already exists"),
        "{text}"
    );

    // Killed right after its migration: the next run resumes with no second migration.
    t.set_latency(0.05).await;
    let before = t.calls().await;
    let mut child = driver(&project, &dir, &["deploy", "--image", "v5"])
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !migrated(&t).await.is_some_and(|m| m.ends_with(":v5")) {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the migration never finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (out, text) = run(&project, &dir, &["deploy", "--image", "v5"]);
    let text = if out.status.success() {
        text
    } else {
        // The killed run's lock: the operator releases it by id, as the message says.
        let id = text
            .split("lock id ")
            .nth(1)
            .and_then(|s| s.split(')').next())
            .unwrap_or_else(|| panic!("{text}"));
        ok(&project, &dir, &["force-unlock", id]);
        ok(&project, &dir, &["deploy", "--image", "v5"])
    };
    assert!(
        text.contains("an earlier run stopped during") || text.contains("0 migration(s) run"),
        "{text}"
    );
    let made = calls_between(&before, &t.calls().await);
    assert_eq!(
        runs(&made),
        1,
        "one migration over the killed run and its rerun: {made:?}"
    );
    t.set_latency(0.0).await;

    // A migration run on request: the newest migration revision, whatever its record says.
    let before = t.calls().await;
    let text = ok(&project, &dir, &["migrate", "--service", "api"]);
    assert!(
        text.contains("Migration complete: api migrated with") && text.contains(":v5"),
        "{text}"
    );
    assert_eq!(runs(&calls_between(&before, &t.calls().await)), 1);

    ok(
        &project,
        &dir,
        &["destroy", "--allow-destroy", "secret.database"],
    );
    let left = inventory(&t).await;
    assert_eq!(left, Vec::<String>::new(), "left behind");
    std::fs::remove_dir_all(&dir).ok();
}
