//! skyforge-database: bad input refused before any API call, the password never shown, and
//! rotation changing the instance's password and the URL together.

use skyforge_core::{Error, ResourceId, Stack};
use skyforge_database::{Parameter, Postgres, Storage};
use skyforge_integration_tests::{Capture, TestStack, calls_between, mutating};
use skyforge_network::{Azs, Nat, Network, Tier};

use crate::database::{Db, db_stack};

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let t = TestStack::new().await;
    let before = t.calls().await;
    let mut stack = Stack::new(t.env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.30.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let one_zone = stack.add(
        Network::builder()
            .name("one")
            .cidr("10.31.0.0/16")
            .azs(Azs::named(["us-east-1a"]))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    macro_rules! pg {
        ($version:expr, $class:expr) => {
            Postgres::builder()
                .logical_id("db")
                .vpc(net.vpc_id())
                .subnets(net.isolated())
                .version($version)
                .class($class)
        };
        () => {
            pg!("16", "db.t3.micro")
        };
    }
    let long = "a".repeat(70);
    let cases: Vec<(&str, &str, skyforge_core::Result<Postgres>)> = vec![
        ("class", "db.t2.micro", pg!("16", "db.t2.micro").build()),
        ("class", "db.m5.micro", pg!("16", "db.m5.micro").build()),
        ("class", "postgres", pg!("16", "postgres").build()),
        ("version", "12", pg!("12", "db.t3.micro").build()),
        ("version", "sixteen", pg!("sixteen", "db.t3.micro").build()),
        (
            "storage.size_gib",
            "10",
            pg!().storage(Storage::gp3(10)).build(),
        ),
        (
            "storage.size_gib",
            "70000",
            pg!().storage(Storage::gp3(70_000)).build(),
        ),
        (
            "storage.size_gib",
            "50",
            pg!().storage(Storage::io1(50, 3000)).build(),
        ),
        (
            "storage.iops",
            "5000",
            pg!().storage(Storage::gp3(100).iops(5000)).build(),
        ),
        (
            "storage.iops",
            "5000",
            pg!().storage(Storage::gp3(500).iops(5000)).build(),
        ),
        (
            "storage.throughput_mibps",
            "100",
            pg!().storage(Storage::gp3(500).throughput(100)).build(),
        ),
        (
            "storage.iops",
            "",
            pg!().storage(Storage::gp2(100).iops(3000)).build(),
        ),
        (
            "storage.max_gib",
            "105",
            pg!().storage(Storage::gp3(100).autoscale_to(105)).build(),
        ),
        (
            "storage.max_gib",
            "70000",
            pg!()
                .storage(Storage::gp3(100).autoscale_to(70_000))
                .build(),
        ),
        (
            "backup_retention_days",
            "36",
            pg!().backup_retention_days(36).build(),
        ),
        (
            "backup_window",
            "3:00-4:00",
            pg!().backup_window("3:00-4:00").build(),
        ),
        (
            "backup_window",
            "03:00-03:10",
            pg!().backup_window("03:00-03:10").build(),
        ),
        (
            "maintenance_window",
            "sunday:02:00-sun:04:00",
            pg!().maintenance_window("sunday:02:00-sun:04:00").build(),
        ),
        (
            "backup_window",
            "03:00-03:30",
            pg!()
                .backup_window("03:00-03:30")
                .maintenance_window("sun:02:00-sun:04:00")
                .build(),
        ),
        ("identifier", &long, pg!().identifier(long.clone()).build()),
        ("identifier", "Shop-DB", pg!().identifier("Shop-DB").build()),
        (
            "database_name",
            "template0",
            pg!().database_name("template0").build(),
        ),
        ("username", "1admin", pg!().username("1admin").build()),
        ("port", "80", pg!().port(80).build()),
        (
            "log_exports",
            "general",
            pg!().log_exports(vec!["general".into()]).build(),
        ),
        (
            "log_retention_days",
            "2",
            pg!().log_retention_days(2).build(),
        ),
        (
            "performance_insights_days",
            "10",
            pg!().performance_insights_days(Some(10)).build(),
        ),
        (
            "kms_key_id",
            "alias/db",
            pg!().encrypted(false).kms_key_id("alias/db").build(),
        ),
        (
            "parameters.rds.force_ssl",
            "0",
            pg!()
                .parameters(
                    [(
                        "rds.force_ssl".to_string(),
                        Parameter {
                            value: "0".into(),
                            needs_reboot: false,
                        },
                    )]
                    .into(),
                )
                .build(),
        ),
        (
            "subnets",
            "1 subnet(s) in 1 zone(s)",
            Postgres::builder()
                .logical_id("db")
                .vpc(one_zone.vpc_id())
                .subnets(one_zone.isolated())
                .version("16")
                .class("db.t3.micro")
                .build(),
        ),
    ];
    let rules = skyforge_integration_tests::refused_rules(cases);
    assert!(
        rules.len() >= 20,
        "only {} distinct errors: {rules:#?}",
        rules.len()
    );
    // A bad logical id, too.
    let e = Postgres::builder()
        .logical_id("DB")
        .vpc(net.vpc_id())
        .subnets(net.isolated())
        .version("16")
        .class("db.t3.micro")
        .build()
        .unwrap_err();
    assert!(matches!(e, Error::Validation { .. }), "{e}");
    // Nothing reached the endpoint.
    let made = calls_between(&before, &t.calls().await);
    assert!(made.is_empty(), "{made:?}");
}

async fn password(t: &TestStack) -> String {
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let v = sm
        .get_secret_value()
        .secret_id(format!("{}/staging/db-credentials", t.app))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
    json["password"].as_str().unwrap().to_string()
}

async fn url(t: &TestStack) -> String {
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let v = sm
        .get_secret_value()
        .secret_id(format!("{}/staging/db-url", t.app))
        .send()
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(v.secret_string().unwrap()).unwrap();
    json["url"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn the_password_appears_nowhere_and_rotation_changes_instance_and_url_together() {
    let t = TestStack::new().await;
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let mut seen = String::new();

    let stack = db_stack(&t.env, &Db::default());
    let plan = stack.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n{}\n{plan:?}\n", plan.to_json());
    let report = stack.apply(&t.ctx, &plan).await.expect("apply");
    seen += &format!("{report:?}\n{}\n", serde_json::to_string(&report).unwrap());
    let first = password(&t).await;
    let first_url = url(&t).await;
    assert_eq!(first.len(), 32);
    assert!(first_url.starts_with("postgres://app_admin:"), "url shape");
    assert!(first_url.contains(&first), "the URL carries the password");
    assert!(first_url.ends_with("/app?sslmode=require"), "url shape");

    // Rotation: one plan changes the credentials, the instance and the URL.
    let rotated = db_stack(
        &t.env,
        &Db {
            rotation: "2026-12",
            ..Db::default()
        },
    );
    let plan = rotated.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n{}\n{plan:?}\n", plan.to_json());
    for id in ["secret.db-credentials", "db_instance.db", "secret.db-url"] {
        let (kind, logical) = id.split_once('.').unwrap();
        let r = plan.get(&ResourceId::new(kind, logical)).unwrap();
        assert!(r.action.is_change(), "{id} unchanged in:\n{plan}");
    }
    let before = t.calls().await;
    let report = rotated.apply(&t.ctx, &plan).await.expect("rotate");
    seen += &format!("{report:?}\n");
    let made = calls_between(&before, &t.calls().await);
    assert!(
        mutating(&made).contains(&"rds:ModifyDBInstance".to_string()),
        "{made:?}"
    );
    let second = password(&t).await;
    assert_ne!(first, second);
    assert!(url(&t).await.contains(&second));
    let settled = rotated.plan(&t.ctx).await.unwrap();
    assert!(!settled.has_changes(), "{settled}");

    // An error on the call that carries the password.
    t.inject_fault("rds", "ModifyDBInstance", "InvalidParameterValue", 400, 1)
        .await;
    let again = db_stack(
        &t.env,
        &Db {
            rotation: "2027-01",
            ..Db::default()
        },
    );
    let plan = again.plan(&t.ctx).await.unwrap();
    let err = again.apply(&t.ctx, &plan).await.unwrap_err();
    seen += &format!("{err}\n{err:?}\n");
    let third = password(&t).await;

    let d = again.plan_destroy(&t.ctx).await.unwrap();
    again.apply(&t.ctx, &d).await.expect("destroy");
    drop(_log);
    let log = capture.text();
    assert!(log.contains("ModifyDBInstance"), "the log is captured");
    for p in [&first, &second, &third] {
        assert!(
            !seen.contains(p.as_str()),
            "password in plan, report or error"
        );
        assert!(!log.contains(p.as_str()), "password in the TRACE log");
    }
}
