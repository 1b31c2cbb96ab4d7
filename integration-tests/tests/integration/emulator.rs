//! The harness itself: latency mode, fault mode, request accounting.

use std::time::{Duration, Instant};

use skyforge_core::wait::{Poll, Poller};
use skyforge_integration_tests::{TestStack, calls_between};

#[tokio::test]
async fn latency_mode_shows_rds_creating_before_available() {
    let t = TestStack::new().await;
    // 420 s creating + 60 s backing-up at scale 0.005 = 2.4 s.
    t.set_latency(0.005).await;
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let id = format!("{}-staging-db", t.app);
    let created = rds
        .create_db_instance()
        .db_instance_identifier(&id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        .allocated_storage(20)
        .master_username("app")
        .master_user_password("not-a-real-password-1")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.db_instance().unwrap().db_instance_status(),
        Some("creating")
    );
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let t0 = Instant::now();
    let poller = Poller {
        initial: Duration::from_millis(200),
        max_delay: Duration::from_millis(400),
        growth_percent: 150,
        deadline: Duration::from_secs(30),
    };
    poller
        .wait("rds:db-instance.db", "available", || {
            let rds = rds.clone();
            let id = id.clone();
            let seen = seen.clone();
            async move {
                let d = rds
                    .describe_db_instances()
                    .db_instance_identifier(&id)
                    .send()
                    .await
                    .unwrap();
                let s = d.db_instances()[0]
                    .db_instance_status()
                    .unwrap_or("")
                    .to_string();
                let mut seen = seen.lock().unwrap();
                if seen.last() != Some(&s) {
                    seen.push(s.clone());
                }
                Ok(if s == "available" {
                    Poll::Ready(())
                } else {
                    Poll::Pending(s)
                })
            }
        })
        .await
        .unwrap();
    let took = t0.elapsed();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen.first().map(String::as_str),
        Some("creating"),
        "{seen:?}"
    );
    assert_eq!(
        seen.last().map(String::as_str),
        Some("available"),
        "{seen:?}"
    );
    assert!(
        took >= Duration::from_millis(1500),
        "available too early: {took:?}"
    );
    // Deleting passes through `deleting` (300 s x 0.005 = 1.5 s) and then it is gone.
    rds.delete_db_instance()
        .db_instance_identifier(&id)
        .skip_final_snapshot(true)
        .send()
        .await
        .unwrap();
    let d = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap();
    assert_eq!(d.db_instances()[0].db_instance_status(), Some("deleting"));
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let gone = rds
        .describe_db_instances()
        .db_instance_identifier(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_smithy_types::error::metadata::ProvideErrorMetadata::code(&gone),
        Some("DBInstanceNotFound")
    );
}

#[tokio::test]
async fn an_injected_throttle_is_retried_and_succeeds() {
    let t = TestStack::new().await;
    let sns = t.ctx.client(aws_sdk_sns::Client::new);
    t.inject_fault("sns", "CreateTopic", "Throttling", 400, 1)
        .await;
    let before = t.calls().await;
    let arn = sns
        .create_topic()
        .name(format!("{}-alerts", t.app))
        .send()
        .await
        .expect("the SDK retries a throttle")
        .topic_arn()
        .unwrap()
        .to_string();
    let delta = calls_between(&before, &t.calls().await);
    assert_eq!(
        delta.get(&("sns".into(), "CreateTopic".into())),
        Some(&2),
        "{delta:?}"
    );
    sns.delete_topic().topic_arn(arn).send().await.unwrap();

    // Without retries the same fault surfaces with AWS's code.
    t.inject_fault("sns", "ListTopics", "Throttling", 400, 1)
        .await;
    let no_retry = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(t.ctx.sdk_config())
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .build(),
    );
    let err = no_retry.list_topics().send().await.unwrap_err();
    let e = skyforge_core::Error::aws("sns", "ListTopics", err);
    assert_eq!(e.aws_code(), Some("Throttling"));
    assert!(e.is_transient());
    // The request id of a failed call travels with the error, for AWS support.
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let err = sm
        .describe_secret()
        .secret_id(format!("{}/no-such-secret", t.app))
        .send()
        .await
        .unwrap_err();
    let e = skyforge_core::Error::aws("secret.none", "DescribeSecret", err);
    assert!(!e.is_transient());
    // The SDK error itself stays attached, at the end of the source chain.
    let origin = std::error::Error::source(&e).expect("the origin as source");
    let sdk = origin.source().expect("the SDK error");
    assert!(sdk.to_string().contains("service error"), "{sdk}");
    let id = e.request_id().expect("a request id");
    assert!(
        e.to_string().ends_with(&format!("(request id {id})")),
        "{e}"
    );
}

#[tokio::test]
async fn accounting_counts_per_stack() {
    let a = TestStack::new().await;
    let b = TestStack::new().await;
    let before = a.calls().await;
    let ec2 = a.ctx.client(aws_sdk_ec2::Client::new);
    for _ in 0..3 {
        ec2.describe_vpcs().send().await.unwrap();
    }
    b.ctx
        .client(aws_sdk_ec2::Client::new)
        .describe_vpcs()
        .send()
        .await
        .unwrap();
    let delta = calls_between(&before, &a.calls().await);
    assert_eq!(
        delta.get(&("ec2".into(), "DescribeVpcs".into())),
        Some(&3),
        "{delta:?}"
    );
}

/// Application Auto Scaling refuses a policy for a target nobody registered (moto accepted it),
/// and a target-tracking metric that needs a resource label without one.
#[tokio::test]
async fn a_scaling_policy_needs_its_target() {
    use aws_sdk_applicationautoscaling::types::{
        MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
        TargetTrackingScalingPolicyConfiguration,
    };
    let t = TestStack::new().await;
    let aas = t.ctx.client(aws_sdk_applicationautoscaling::Client::new);
    let cfg = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(70.0)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let e = aas
        .put_scaling_policy()
        .policy_name("cpu")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(format!("service/{}-main/{}-api", t.app, t.app))
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(cfg)
        .send()
        .await
        .expect_err("no scalable target");
    let e = skyforge_core::Error::aws("policy", "PutScalingPolicy", e);
    assert_eq!(e.aws_code(), Some("ObjectNotFoundException"), "{e}");
}

/// A Cloud Map namespace's operation passes through SUBMITTED and PENDING in latency mode
/// (moto answered SUCCESS at once), then SUCCESS.
#[tokio::test]
async fn a_namespace_operation_is_submitted_then_pending_then_done() {
    let t = TestStack::new().await;
    t.set_latency(0.02).await;
    let sd = t.ctx.client(aws_sdk_servicediscovery::Client::new);
    let out = sd
        .create_private_dns_namespace()
        .name(format!("{}.local", t.app))
        .vpc(format!("vpc-{}", &t.app[2..]))
        .send()
        .await
        .unwrap();
    let op = out.operation_id().unwrap().to_string();
    let status = |o: aws_sdk_servicediscovery::operation::get_operation::GetOperationOutput| {
        o.operation()
            .and_then(|o| o.status())
            .map(|s| s.as_str().to_string())
            .unwrap_or_default()
    };
    // SUBMITTED lasts 0.1 s at this scale, PENDING 1.1 s: a slow first poll may miss the first.
    let first = status(sd.get_operation().operation_id(&op).send().await.unwrap());
    assert!(first == "SUBMITTED" || first == "PENDING", "{first}");
    let started = Instant::now();
    let mut seen = vec![first];
    loop {
        let s = status(sd.get_operation().operation_id(&op).send().await.unwrap());
        if seen.last() != Some(&s) {
            seen.push(s.clone());
        }
        if s == "SUCCESS" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        seen.ends_with(&["PENDING".to_string(), "SUCCESS".to_string()]),
        "{seen:?}"
    );
    let ns = sd.list_namespaces().send().await.unwrap();
    for n in ns
        .namespaces()
        .iter()
        .filter(|n| n.name() == Some(&format!("{}.local", t.app)))
    {
        sd.delete_namespace()
            .id(n.id().unwrap())
            .send()
            .await
            .unwrap();
    }
}
