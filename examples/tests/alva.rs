//! Seed 003's reference deploy (`alva`, staging) against the emulator: a missing third-party key
//! refused before any call, then applied and checked against the seed (four services on ports
//! 3000-3003 at 0.5 vCPU / 1 GB, path routing, Cloud Map names for api and auth, the seven
//! secrets by name, `db.t3.micro` single AZ 20 GB, `cache.t3.micro`, four repositories, the
//! alarms), planned again with no changes (`--detailed-exitcode` 0), destroyed once the resources
//! holding data are allowed, and the inventory left empty. Needs `AWS_ENDPOINT_URL` (run through
//! `bash scripts/test.sh`); fails loudly without it.

use std::path::Path;
use std::process::Command;

use skyforge::core::{Environment, Stage};
use skyforge_integration_tests::{TestStack, ecs_service, inventory};

const KEYS: [(&str, &str); 4] = [
    (
        "ALVA_JWT_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA\n-----END PRIVATE KEY-----",
    ),
    (
        "ALVA_JWT_PUBLIC_KEY",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----",
    ),
    ("ALVA_OPENAI_API_KEY", "sk-test-not-a-real-key"),
    ("ALVA_RESEND_API_KEY", "re_test_not_a_real_key"),
];

fn alva(args: &[&str], project: &str, state: &Path, keys: bool) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_alva"));
    c.args(args)
        .args(["--project", project, "--auto-approve", "--state-dir"])
        .arg(state);
    for (k, v) in KEYS {
        if keys {
            c.env(k, v);
        } else {
            c.env_remove(k);
        }
    }
    let out = c.output().expect("run the alva binary");
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

async fn check(t: &TestStack, project: &str) {
    let p = format!("{project}-staging");
    for (name, port) in [
        ("web", 3000),
        ("api", 3001),
        ("auth", 3002),
        ("admin", 3003),
    ] {
        let svc = ecs_service(t, "main", name).await;
        let td = t
            .ctx
            .client(aws_sdk_ecs::Client::new)
            .describe_task_definition()
            .task_definition(svc.task_definition().unwrap())
            .send()
            .await
            .unwrap();
        let td = td.task_definition().unwrap();
        assert_eq!(
            (td.cpu(), td.memory()),
            (Some("512"), Some("1024")),
            "{name}"
        );
        let c = &td.container_definitions()[0];
        assert_eq!(c.port_mappings()[0].container_port(), Some(port), "{name}");
        let registries = svc.service_registries().len();
        assert_eq!(
            registries,
            usize::from(matches!(name, "api" | "auth")),
            "{name} in Cloud Map"
        );
    }
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    for s in [
        "database",
        "jwt-private-key",
        "jwt-public-key",
        "jwt-secret",
        "cookie-secret",
        "openai-api-key",
        "resend-api-key",
    ] {
        let name = format!("{p}-{s}");
        sm.describe_secret()
            .secret_id(&name)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
    }
    let dbs = t
        .ctx
        .client(aws_sdk_rds::Client::new)
        .describe_db_instances()
        .db_instance_identifier(format!("{p}-db"))
        .send()
        .await
        .unwrap();
    let db = &dbs.db_instances()[0];
    assert_eq!(
        (
            db.db_instance_class(),
            db.multi_az(),
            db.allocated_storage()
        ),
        (Some("db.t3.micro"), Some(false), Some(20))
    );
    let alarms = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(format!("{p}-"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        alarms.metric_alarms().len(),
        21,
        "5 per service, 1 for the load balancer"
    );
}

#[test]
fn staging_matches_the_seed_converges_and_destroys() {
    assert!(
        !std::env::var("AWS_ENDPOINT_URL")
            .unwrap_or_default()
            .is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
    let project = format!("alvt{}", std::process::id() % 100_000);
    let dir = std::env::temp_dir().join(format!("skyforge-alva-{}", std::process::id()));
    let state = dir.join("state");
    // A missing key is refused before any call, naming the variable.
    let (code, text) = alva(&["plan"], &project, &state, false);
    assert!(
        code == Some(1) && text.contains("ALVA_JWT_PRIVATE_KEY"),
        "{text}"
    );
    let (code, text) = alva(&["apply"], &project, &state, true);
    assert_eq!(code, Some(0), "apply failed:\n{text}");
    let env = Environment::new(project.clone(), Stage::Staging)
        .region(std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t = TestStack::with_env(env.clone()).await;
        check(&t, &project).await;
    });
    let (code, text) = alva(&["plan", "--detailed-exitcode"], &project, &state, true);
    assert_eq!(code, Some(0), "second plan:\n{text}");
    // What holds data is named; allowed, everything goes.
    let (code, text) = alva(&["destroy"], &project, &state, true);
    assert_eq!(code, Some(1), "{text}");
    let list = text
        .split("you mean to lose: ")
        .nth(1)
        .and_then(|l| l.lines().next())
        .unwrap_or_else(|| panic!("no refusal list:\n{text}"));
    let held: Vec<&str> = list.split(", ").map(str::trim).collect();
    for id in [
        "db_instance.db",
        "cache_replication_group.cache",
        "secret.openai-api-key",
    ] {
        assert!(held.contains(&id), "{id} not in {held:?}");
    }
    let mut args = vec!["destroy"];
    for id in &held {
        args.extend(["--allow-destroy", id]);
    }
    let (code, text) = alva(&args, &project, &state, true);
    assert_eq!(code, Some(0), "destroy failed:\n{text}");
    let left = rt.block_on(async {
        let t = TestStack::with_env(env).await;
        inventory(&t).await
    });
    assert_eq!(left, Vec::<String>::new(), "left behind");
    std::fs::remove_dir_all(&dir).ok();
}
