//! Seed 002's reference deploy (`spendsense`) in `us-west-1`, both stages. `dev` is the owner
//! `chuong`'s copy, its state in S3 with a DynamoDB lock table made by `--bootstrap`: the OAuth
//! credentials required before any call, applied and checked against the seed (the owner in
//! every name the seed lists, FastAPI on :8000 at 512 / 1024 with the seed's container health
//! check, three scaling policies, the target group's health check and deregistration delay,
//! PostgreSQL 16 with 30-day backups, Redis 7.1, a versioned bucket, 30-day log groups, the
//! alarms' thresholds), planned again with no changes, destroyed, the inventory left empty.
//! `prod` needs a certificate (refused without one) and serves HTTPS on 443. The cost of both
//! against hand-computed figures from the us-west-1 table.

use crate::common::{
    Deploy, assert_costs, db_instance, require_endpoint, runtime, secrets_exist, task_definition,
};
use skyforge_integration_tests::{TestStack, ecs_service};

const REGION: &str = "us-west-1";
fn spendsense(stage: &str) -> Deploy {
    Deploy::new(env!("CARGO_BIN_EXE_spendsense"), "sps", stage)
        .region(REGION)
        .var("SPENDSENSE_OAUTH_CLIENT_ID", "spendsense-test-client")
        .var("SPENDSENSE_OAUTH_CLIENT_SECRET", "not-a-real-oauth-secret")
}

/// An IAM server certificate for the HTTPS listener (an ALB takes ACM or IAM certificates; the
/// emulator checks that it exists, as AWS does), and its ARN.
async fn server_certificate(t: &TestStack, name: &str) -> String {
    let body = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTest\n-----END CERTIFICATE-----";
    let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49Test\n-----END PRIVATE KEY-----";
    let out = t
        .ctx
        .client(aws_sdk_iam::Client::new)
        .upload_server_certificate()
        .server_certificate_name(name)
        .certificate_body(body)
        .private_key(key)
        .send()
        .await
        .unwrap();
    out.server_certificate_metadata().unwrap().arn().to_string()
}

async fn check_service(t: &TestStack, d: &Deploy) {
    let td = task_definition(t, "backend").await;
    assert_eq!((td.cpu(), td.memory()), (Some("512"), Some("1024")));
    let c = &td.container_definitions()[0];
    assert_eq!(c.port_mappings()[0].container_port(), Some(8000));
    let hc = c.health_check().expect("the seed's container health check");
    assert_eq!(
        (hc.interval(), hc.timeout(), hc.start_period(), hc.retries()),
        (Some(30), Some(5), Some(60), Some(3))
    );
    assert!(
        hc.command()
            .join(" ")
            .contains("curl -f http://localhost:8000/health")
    );
    let svc = ecs_service(t, "main", "backend").await;
    let tg_arn = svc.load_balancers()[0].target_group_arn().unwrap();
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let tg = elb
        .describe_target_groups()
        .target_group_arns(tg_arn)
        .send()
        .await
        .unwrap();
    let tg = &tg.target_groups()[0];
    assert_eq!(
        (
            tg.health_check_path(),
            tg.health_check_interval_seconds(),
            tg.health_check_timeout_seconds(),
            tg.healthy_threshold_count(),
            tg.unhealthy_threshold_count(),
            tg.port()
        ),
        (
            Some("/health"),
            Some(30),
            Some(5),
            Some(2),
            Some(2),
            Some(8000)
        )
    );
    let attrs = elb
        .describe_target_group_attributes()
        .target_group_arn(tg_arn)
        .send()
        .await
        .unwrap();
    let delay = attrs
        .attributes()
        .iter()
        .find(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
        .and_then(|a| a.value());
    assert_eq!(delay, Some("30"));
    let policies = t
        .ctx
        .client(aws_sdk_applicationautoscaling::Client::new)
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(format!(
            "service/{}/{}",
            svc.cluster_arn().unwrap().rsplit('/').next().unwrap(),
            svc.service_name().unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        policies.scaling_policies().len(),
        3,
        "CPU, memory, requests"
    );
    let _ = d;
}

async fn check_data(t: &TestStack, d: &Deploy) {
    let p = d.prefix();
    assert!(p.ends_with("-dev-chuong"), "{p}");
    let db = db_instance(t, &format!("{p}-db")).await;
    assert_eq!(db.backup_retention_period(), Some(30));
    assert!(db.engine_version().unwrap_or_default().starts_with("16"));
    let logs = t.ctx.client(aws_sdk_cloudwatchlogs::Client::new);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{p}-backend"))
        .send()
        .await
        .unwrap();
    let mut found: Vec<(String, Option<i32>)> = groups
        .log_groups()
        .iter()
        .map(|g| {
            (
                g.log_group_name().unwrap().to_string(),
                g.retention_in_days(),
            )
        })
        .collect();
    found.sort();
    let base = format!("/ecs/{p}-backend");
    assert_eq!(
        found,
        [
            (base.clone(), Some(30)),
            (format!("{base}/access"), Some(30)),
            (format!("{base}/errors"), Some(30))
        ]
    );
    let alarms = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(format!("{p}-backend-"))
        .send()
        .await
        .unwrap();
    let threshold = |suffix: &str| {
        alarms
            .metric_alarms()
            .iter()
            .find(|a| a.alarm_name().unwrap_or_default().ends_with(suffix))
            .and_then(|a| a.threshold())
    };
    assert_eq!(
        (
            threshold("-cpu"),
            threshold("-memory"),
            threshold("-error-rate")
        ),
        (Some(80.0), Some(90.0), Some(1.0))
    );
    let names = ["jwt-secret", "oauth", "database-url"].map(|s| format!("{p}-{s}"));
    secrets_exist(t, &names).await;
}

#[test]
fn dev_for_an_owner_with_s3_state_matches_the_seed_and_destroys() {
    require_endpoint();
    let base = spendsense("dev").owner("chuong");
    let (bucket, table) = (
        format!("{}-tf-state", base.project),
        format!("{}-tf-locks", base.project),
    );
    let d = base.args(&[
        "--state-bucket",
        &bucket,
        "--lock-table",
        &table,
        "--bootstrap",
    ]);
    let a = d.raw(&["plan"], &["SPENDSENSE_OAUTH_CLIENT_SECRET"]);
    assert!(
        a.code == Some(1) && a.text.contains("SPENDSENSE_OAUTH_CLIENT_SECRET"),
        "{}",
        a.text
    );
    let outputs = d.up(async |t| {
        check_service(t, &d).await;
        check_data(t, &d).await;
    });
    let name = outputs["bucket"].as_str().unwrap_or_default();
    assert!(
        name.contains("chuong"),
        "the owner in the bucket's name: {outputs}"
    );
    d.down(&[
        "db_instance.db",
        "cache_replication_group.cache",
        "secret.oauth",
    ]);
    runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        t.remove_state_backend(&bucket, &table).await;
    });
}

#[test]
fn prod_needs_a_certificate_and_serves_https() {
    require_endpoint();
    let d = spendsense("prod");
    let cert_name = format!("{}-tls", d.prefix());
    let arn = runtime().block_on(async {
        server_certificate(&TestStack::with_env(d.env()).await, &cert_name).await
    });
    let d = d.var("SPENDSENSE_CERTIFICATE_ARN", &arn);
    let a = d.raw(&["plan"], &["SPENDSENSE_CERTIFICATE_ARN"]);
    assert!(
        a.code == Some(1) && a.text.contains("SPENDSENSE_CERTIFICATE_ARN"),
        "{}",
        a.text
    );
    d.up(async |t| {
        let td = task_definition(t, "backend").await;
        assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
        let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
        let lbs = elb
            .describe_load_balancers()
            .names(format!("{}-public", d.prefix()))
            .send()
            .await
            .unwrap();
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(lbs.load_balancers()[0].load_balancer_arn().unwrap())
            .send()
            .await
            .unwrap();
        let mut ports: Vec<_> = listeners
            .listeners()
            .iter()
            .map(|l| (l.port(), l.protocol().map(|p| p.as_str().to_string())))
            .collect();
        ports.sort();
        assert_eq!(
            ports,
            [
                (Some(80), Some("HTTP".to_string())),
                (Some(443), Some("HTTPS".to_string()))
            ]
        );
    });
    d.down(&["db_instance.db", "load_balancer.public"]);
    runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        t.ctx
            .client(aws_sdk_iam::Client::new)
            .delete_server_certificate()
            .server_certificate_name(&cert_name)
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn cost_of_both_stages_matches_the_hand_computed_figures() {
    let certificate = "arn:aws:acm:us-west-1:111122223333:certificate/0f2a7c1e";
    assert_costs(
        |s| spendsense(s).var("SPENDSENSE_CERTIFICATE_ARN", certificate),
        &[("dev", 156.29), ("prod", 388.94)],
    );
}
