//! One smoke test per service: create one resource carrying the stack's ownership tags through
//! skyforge-core's `Context`, see it in the inventory, delete it, see the inventory empty.

use skyforge_integration_tests::{TestStack, inventory};

async fn assert_listed(t: &TestStack, entry_prefix: &str) {
    let inv = inventory(t).await;
    assert!(
        inv.iter().any(|e| e.starts_with(entry_prefix)),
        "{entry_prefix} missing from inventory {inv:?}"
    );
}

async fn account(t: &TestStack) -> String {
    let sts = t.ctx.client(aws_sdk_sts::Client::new);
    sts.get_caller_identity()
        .send()
        .await
        .unwrap()
        .account()
        .unwrap()
        .to_string()
}

async fn assert_empty(t: &TestStack) {
    let inv = inventory(t).await;
    assert!(inv.is_empty(), "left behind: {inv:?}");
}

pub(crate) async fn vpc(t: &TestStack) -> (aws_sdk_ec2::Client, String) {
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let mut spec = aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(aws_sdk_ec2::types::ResourceType::Vpc);
    for (k, v) in t.tags("main") {
        spec = spec.tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build());
    }
    let v = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(spec.build())
        .send()
        .await
        .unwrap();
    (ec2, v.vpc().unwrap().vpc_id().unwrap().to_string())
}

#[tokio::test]
async fn ec2_vpc() {
    let t = TestStack::new().await;
    let (ec2, id) = vpc(&t).await;
    assert_listed(&t, "ec2:vpc").await;
    ec2.delete_vpc().vpc_id(id).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn s3_bucket() {
    let t = TestStack::new().await;
    let s3 = t.s3();
    let name = format!("{}-state", t.app);
    s3.create_bucket().bucket(&name).send().await.unwrap();
    let mut tagging = aws_sdk_s3::types::Tagging::builder();
    for (k, v) in t.tags("state") {
        tagging = tagging.tag_set(
            aws_sdk_s3::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    s3.put_bucket_tagging()
        .bucket(&name)
        .tagging(tagging.build().unwrap())
        .send()
        .await
        .unwrap();
    assert_listed(&t, "s3:bucket").await;
    s3.delete_bucket().bucket(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn dynamodb_table() {
    use aws_sdk_dynamodb::types::*;
    let t = TestStack::new().await;
    let ddb = t.ctx.client(aws_sdk_dynamodb::Client::new);
    let name = format!("{}-locks", t.app);
    let mut req = ddb
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("LockID")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("LockID")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest);
    for (k, v) in t.tags("locks") {
        req = req.tags(Tag::builder().key(k).value(v).build().unwrap());
    }
    req.send().await.unwrap();
    assert_listed(&t, "dynamodb:table").await;
    ddb.delete_table().table_name(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn secretsmanager_secret() {
    let t = TestStack::new().await;
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let name = format!("{}/staging/cookie-secret", t.app);
    let mut req = sm
        .create_secret()
        .name(&name)
        .secret_string("not-a-real-secret");
    for (k, v) in t.tags("cookie-secret") {
        req = req.tags(
            aws_sdk_secretsmanager::types::Tag::builder()
                .key(k)
                .value(v)
                .build(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "secretsmanager:secret").await;
    sm.delete_secret()
        .secret_id(&name)
        .force_delete_without_recovery(true)
        .send()
        .await
        .unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn ssm_parameter() {
    let t = TestStack::new().await;
    let ssm = t.ctx.client(aws_sdk_ssm::Client::new);
    let name = format!("/{}/staging/DATABASE_URL", t.app);
    let mut req = ssm
        .put_parameter()
        .name(&name)
        .value("postgres://example")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString);
    for (k, v) in t.tags("database-url") {
        req = req.tags(
            aws_sdk_ssm::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "ssm:parameter").await;
    ssm.delete_parameter().name(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn iam_role() {
    let t = TestStack::new().await;
    let iam = t.ctx.client(aws_sdk_iam::Client::new);
    let name = format!("{}-staging-execution", t.app);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let mut req = iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(trust);
    for (k, v) in t.tags("execution") {
        req = req.tags(
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "iam:role").await;
    iam.delete_role().role_name(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn logs_group() {
    let t = TestStack::new().await;
    let logs = t.ctx.client(aws_sdk_cloudwatchlogs::Client::new);
    let name = format!("/{}/staging/api", t.app);
    logs.create_log_group()
        .log_group_name(&name)
        .set_tags(Some(t.tags("api").into_iter().collect()))
        .send()
        .await
        .unwrap();
    assert_listed(&t, "logs:log-group").await;
    logs.delete_log_group()
        .log_group_name(&name)
        .send()
        .await
        .unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn cloudwatch_alarm() {
    let t = TestStack::new().await;
    let cw = t.ctx.client(aws_sdk_cloudwatch::Client::new);
    let name = format!("{}-staging-api-5xx", t.app);
    let mut req = cw
        .put_metric_alarm()
        .alarm_name(&name)
        .namespace("AWS/ApplicationELB")
        .metric_name("HTTPCode_Target_5XX_Count")
        .statistic(aws_sdk_cloudwatch::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(10.0)
        .comparison_operator(aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanThreshold);
    let tags: Vec<_> = t
        .tags("api-5xx")
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_cloudwatch::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect();
    req = req.set_tags(Some(tags.clone()));
    req.send().await.unwrap();
    // LocalStack 4.9's CloudWatch drops the tags of PutMetricAlarm; TagResource keeps them (and
    // is what AWS documents for tagging an existing alarm).
    let arn = format!(
        "arn:aws:cloudwatch:us-east-1:{}:alarm:{name}",
        account(&t).await
    );
    cw.tag_resource()
        .resource_arn(arn)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
    assert_listed(&t, "cloudwatch:alarm").await;
    cw.delete_alarms().alarm_names(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn sns_topic() {
    let t = TestStack::new().await;
    let sns = t.ctx.client(aws_sdk_sns::Client::new);
    let mut req = sns.create_topic().name(format!("{}-staging-alerts", t.app));
    for (k, v) in t.tags("alerts") {
        req = req.tags(
            aws_sdk_sns::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    let arn = req.send().await.unwrap().topic_arn().unwrap().to_string();
    assert_listed(&t, "sns:topic").await;
    sns.delete_topic().topic_arn(arn).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn ecs_cluster() {
    let t = TestStack::new().await;
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    let name = format!("{}-staging", t.app);
    let mut req = ecs.create_cluster().cluster_name(&name);
    for (k, v) in t.tags("cluster") {
        req = req.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
    }
    req.send().await.unwrap();
    assert_listed(&t, "ecs:cluster").await;
    ecs.delete_cluster().cluster(&name).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn ecr_repository() {
    let t = TestStack::new().await;
    let ecr = t.ctx.client(aws_sdk_ecr::Client::new);
    let name = format!("{}/staging/api", t.app);
    let mut req = ecr
        .create_repository()
        .repository_name(&name)
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        );
    for (k, v) in t.tags("api") {
        req = req.tags(
            aws_sdk_ecr::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "ecr:repository").await;
    ecr.delete_repository()
        .repository_name(&name)
        .send()
        .await
        .unwrap();
    assert_empty(&t).await;
}

pub(crate) async fn subnets(t: &TestStack, ec2: &aws_sdk_ec2::Client, vpc: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let s = ec2
            .create_subnet()
            .vpc_id(vpc)
            .cidr_block(format!("10.0.{i}.0/24"))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        out.push(s.subnet().unwrap().subnet_id().unwrap().to_string());
    }
    let _ = t;
    out
}

pub(crate) async fn teardown_network(ec2: &aws_sdk_ec2::Client, vpc: &str, subnets: &[String]) {
    for s in subnets {
        ec2.delete_subnet().subnet_id(s).send().await.unwrap();
    }
    ec2.delete_vpc().vpc_id(vpc).send().await.unwrap();
}

#[tokio::test]
async fn rds_subnet_group() {
    let t = TestStack::new().await;
    let (ec2, vpc) = vpc(&t).await;
    let subs = subnets(&t, &ec2, &vpc).await;
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let name = format!("{}-staging-db", t.app);
    let mut req = rds
        .create_db_subnet_group()
        .db_subnet_group_name(&name)
        .db_subnet_group_description("db")
        .set_subnet_ids(Some(subs.clone()));
    for (k, v) in t.tags("db") {
        req = req.tags(aws_sdk_rds::types::Tag::builder().key(k).value(v).build());
    }
    req.send().await.unwrap();
    assert_listed(&t, "rds:db-subnet-group").await;
    rds.delete_db_subnet_group()
        .db_subnet_group_name(&name)
        .send()
        .await
        .unwrap();
    teardown_network(&ec2, &vpc, &subs).await;
    assert_empty(&t).await;
}

#[tokio::test]
async fn elasticache_subnet_group() {
    let t = TestStack::new().await;
    let (ec2, vpc) = vpc(&t).await;
    let subs = subnets(&t, &ec2, &vpc).await;
    let ec = t.ctx.client(aws_sdk_elasticache::Client::new);
    let name = format!("{}-staging-cache", t.app);
    let mut req = ec
        .create_cache_subnet_group()
        .cache_subnet_group_name(&name)
        .cache_subnet_group_description("cache")
        .set_subnet_ids(Some(subs.clone()));
    for (k, v) in t.tags("cache") {
        req = req.tags(
            aws_sdk_elasticache::types::Tag::builder()
                .key(k)
                .value(v)
                .build(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "elasticache:subnet-group").await;
    ec.delete_cache_subnet_group()
        .cache_subnet_group_name(&name)
        .send()
        .await
        .unwrap();
    teardown_network(&ec2, &vpc, &subs).await;
    assert_empty(&t).await;
}

#[tokio::test]
async fn elbv2_target_group() {
    let t = TestStack::new().await;
    let (ec2, vpc) = vpc(&t).await;
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let name = skyforge_core::naming::physical_name(
        &t.env,
        skyforge_core::naming::NameKind::TargetGroup,
        "api",
    )
    .unwrap();
    let mut req = elb
        .create_target_group()
        .name(&name)
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(3001)
        .vpc_id(&vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip);
    for (k, v) in t.tags("api") {
        req = req.tags(
            aws_sdk_elasticloadbalancingv2::types::Tag::builder()
                .key(k)
                .value(v)
                .build(),
        );
    }
    let arn = req.send().await.unwrap().target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    assert_listed(&t, "elbv2:target-group").await;
    elb.delete_target_group()
        .target_group_arn(arn)
        .send()
        .await
        .unwrap();
    ec2.delete_vpc().vpc_id(vpc).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn application_autoscaling_target() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let t = TestStack::new().await;
    let aas = t.ctx.client(aws_sdk_applicationautoscaling::Client::new);
    // The scalable target must be a real ECS service.
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    let cluster = format!("{}-staging", t.app);
    ecs.create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    ecs.register_task_definition()
        .family(format!("{}-staging-api", t.app))
        .container_definitions(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("api")
                .image("nginx")
                .memory(512)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs.create_service()
        .cluster(&cluster)
        .service_name("api")
        .task_definition(format!("{}-staging-api", t.app))
        .desired_count(0)
        .send()
        .await
        .unwrap();
    let resource = format!("service/{cluster}/api");
    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .min_capacity(1)
        .max_capacity(4)
        .set_tags(Some(t.tags("api-scaling").into_iter().collect()))
        .send()
        .await
        .unwrap();
    assert_listed(&t, "application-autoscaling:target").await;
    aas.deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
        .send()
        .await
        .unwrap();
    ecs.delete_service()
        .cluster(&cluster)
        .service("api")
        .force(true)
        .send()
        .await
        .unwrap();
    ecs.delete_cluster().cluster(&cluster).send().await.unwrap();
    assert_empty(&t).await;
}

#[tokio::test]
async fn servicediscovery_namespace() {
    let t = TestStack::new().await;
    let sd = t.ctx.client(aws_sdk_servicediscovery::Client::new);
    let mut req = sd
        .create_http_namespace()
        .name(format!("{}.internal", t.app));
    for (k, v) in t.tags("internal") {
        req = req.tags(
            aws_sdk_servicediscovery::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap(),
        );
    }
    req.send().await.unwrap();
    assert_listed(&t, "servicediscovery:namespace").await;
    let ns = sd.list_namespaces().send().await.unwrap();
    let id = ns
        .namespaces()
        .iter()
        .find(|n| n.name() == Some(&format!("{}.internal", t.app)))
        .and_then(|n| n.id())
        .unwrap()
        .to_string();
    sd.delete_namespace().id(id).send().await.unwrap();
    assert_empty(&t).await;
}
