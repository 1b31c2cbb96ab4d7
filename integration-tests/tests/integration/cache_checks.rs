//! skyforge-cache: bad input refused before any API call, the AUTH token never shown, and
//! rotation changing the group's token and the URL together.

use skyforge_cache::{Engine, Redis};
use skyforge_core::{ResourceId, Stack};
use skyforge_integration_tests::{Capture, TestStack, calls_between, mutating};
use skyforge_network::{Azs, Nat, Network, Tier};

use crate::cache::{Cache, cache_stack};

#[tokio::test]
async fn bad_input_is_refused_before_any_call() {
    let t = TestStack::new().await;
    let before = t.calls().await;
    let mut stack = Stack::new(t.env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.50.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let one_zone = stack.add(
        Network::builder()
            .name("one")
            .cidr("10.51.0.0/16")
            .azs(Azs::named(["us-east-1a"]))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    macro_rules! redis {
        ($version:expr, $node:expr) => {
            Redis::builder()
                .logical_id("cache")
                .vpc(net.vpc_id())
                .subnets(net.isolated())
                .version($version)
                .node_type($node)
        };
        () => {
            redis!("7.1", "cache.t3.micro")
        };
    }
    let long = "c".repeat(41);
    let cases: Vec<(&str, &str, skyforge_core::Result<Redis>)> = vec![
        (
            "automatic_failover",
            "true",
            redis!().automatic_failover(true).build(),
        ),
        ("multi_az", "true", redis!().multi_az(true).build()),
        ("auth", "true", redis!().transit_encryption(false).build()),
        ("token_length", "12", redis!().token_length(12).build()),
        ("token_length", "200", redis!().token_length(200).build()),
        (
            "node_type",
            "cache.t2.micro",
            redis!("7.1", "cache.t2.micro").build(),
        ),
        (
            "node_type",
            "cache.m5.micro",
            redis!("7.1", "cache.m5.micro").build(),
        ),
        ("node_type", "redis", redis!("7.1", "redis").build()),
        ("version", "7.9", redis!("7.9", "cache.t3.micro").build()),
        (
            "version",
            "7.1",
            redis!("7.1", "cache.t3.micro")
                .engine(Engine::Valkey)
                .build(),
        ),
        (
            "identifier",
            &long,
            redis!().identifier(long.clone()).build(),
        ),
        ("identifier", "Cache", redis!().identifier("Cache").build()),
        ("replicas", "6", redis!().replicas(6).build()),
        ("shards", "0", redis!().shards(0).build()),
        (
            "automatic_failover",
            "false",
            redis!().shards(2).automatic_failover(false).build(),
        ),
        ("port", "80", redis!().port(80).build()),
        (
            "snapshot_retention_days",
            "36",
            redis!().snapshot_retention_days(36).build(),
        ),
        (
            "snapshot_window",
            "5:00-6:00",
            redis!().snapshot_window("5:00-6:00").build(),
        ),
        (
            "maintenance_window",
            "sunday:03:00-sun:04:00",
            redis!()
                .maintenance_window("sunday:03:00-sun:04:00")
                .build(),
        ),
        (
            "snapshot_window",
            "03:00-04:00",
            redis!()
                .snapshot_window("03:00-04:00")
                .maintenance_window("sun:03:00-sun:04:00")
                .build(),
        ),
        (
            "log_retention_days",
            "2",
            redis!().log_retention_days(2).build(),
        ),
        (
            "kms_key_id",
            "alias/x",
            redis!()
                .at_rest_encryption(false)
                .kms_key_id("alias/x")
                .build(),
        ),
        (
            "parameters.cluster-enabled",
            "yes",
            redis!()
                .parameters([("cluster-enabled".to_string(), "yes".to_string())].into())
                .build(),
        ),
        (
            "parameters.Max_Memory",
            "x",
            redis!()
                .parameters([("Max_Memory".to_string(), "x".to_string())].into())
                .build(),
        ),
        (
            "subnets",
            "1 subnet(s) in 1 zone(s)",
            Redis::builder()
                .logical_id("cache")
                .vpc(one_zone.vpc_id())
                .subnets(one_zone.isolated())
                .version("7.1")
                .node_type("cache.t3.micro")
                .replicas(1)
                .multi_az(true)
                .build(),
        ),
    ];
    let rules = skyforge_integration_tests::refused_rules(cases);
    assert!(
        rules.len() >= 15,
        "only {} distinct errors: {rules:#?}",
        rules.len()
    );
    let made = calls_between(&before, &t.calls().await);
    assert!(made.is_empty(), "{made:?}");
}

async fn secret_json(t: &TestStack, name: &str) -> serde_json::Value {
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let v = sm
        .get_secret_value()
        .secret_id(format!("{}/staging/{name}", t.app))
        .send()
        .await
        .unwrap();
    let s = v.secret_string().unwrap();
    serde_json::from_str(s).unwrap_or(serde_json::Value::String(s.to_string()))
}

#[tokio::test]
async fn the_token_appears_nowhere_and_rotation_changes_group_and_url_together() {
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

    let stack = cache_stack(&t.env, &Cache::default());
    let plan = stack.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n{}\n{plan:?}\n", plan.to_json());
    let report = stack.apply(&t.ctx, &plan).await.expect("apply");
    seen += &format!("{report:?}\n{}\n", serde_json::to_string(&report).unwrap());
    let first = secret_json(&t, "cache-auth")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let url = secret_json(&t, "cache-url").await;
    assert_eq!(first.len(), 32);
    let u = url["url"].as_str().unwrap();
    assert!(u.starts_with(&format!("rediss://:{first}@")), "url shape");
    assert!(u.ends_with(":6379"), "url shape");

    let rotated = cache_stack(
        &t.env,
        &Cache {
            rotation: "2026-12",
            ..Cache::default()
        },
    );
    let plan = rotated.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n{}\n{plan:?}\n", plan.to_json());
    for (kind, logical) in [
        ("secret", "cache-auth"),
        ("cache_replication_group", "cache"),
        ("secret", "cache-url"),
    ] {
        let r = plan.get(&ResourceId::new(kind, logical)).unwrap();
        assert!(r.action.is_change(), "{kind}.{logical} unchanged:\n{plan}");
    }
    let before = t.calls().await;
    rotated.apply(&t.ctx, &plan).await.expect("rotate");
    let made = calls_between(&before, &t.calls().await);
    assert!(
        mutating(&made).contains(&"elasticache:ModifyReplicationGroup".to_string()),
        "{made:?}"
    );
    let second = secret_json(&t, "cache-auth")
        .await
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(first, second);
    let url = secret_json(&t, "cache-url").await;
    assert!(url["url"].as_str().unwrap().contains(&second));
    assert!(!rotated.plan(&t.ctx).await.unwrap().has_changes());

    t.inject_fault(
        "elasticache",
        "ModifyReplicationGroup",
        "InvalidParameterValue",
        400,
        1,
    )
    .await;
    let again = cache_stack(
        &t.env,
        &Cache {
            rotation: "2027-01",
            ..Cache::default()
        },
    );
    let plan = again.plan(&t.ctx).await.unwrap();
    let err = again.apply(&t.ctx, &plan).await.unwrap_err();
    seen += &format!("{err}\n{err:?}\n");
    let third = secret_json(&t, "cache-auth")
        .await
        .as_str()
        .unwrap()
        .to_string();
    let d = again.plan_destroy(&t.ctx).await.unwrap();
    again.apply(&t.ctx, &d).await.expect("destroy");
    drop(_log);
    let log = capture.text();
    assert!(
        log.contains("ModifyReplicationGroup"),
        "the log is captured"
    );
    for tok in [&first, &second, &third] {
        assert!(
            !seen.contains(tok.as_str()),
            "token in plan, report or error"
        );
        assert!(!log.contains(tok.as_str()), "token in the TRACE log");
    }
}
