//! skyforge-storage against the emulator: lifecycle, drift opened by hand, a non-empty bucket
//! refused then emptied, bad input, and a load balancer writing access logs into its bucket.

use skyforge_core::{ApplyOptions, Context, Environment, PlanOptions, ResourceId, Stack, Stage};
use skyforge_integration_tests::{TestStack, calls_between, changes, inventory, mutating};
use skyforge_storage::{AccessLogs, Bucket, CorsRule, LifecycleRule};

fn bucket_stack(env: &Environment) -> Stack {
    let mut stack = Stack::new(env.clone());
    let b = stack.add(Bucket::builder().logical_id("uploads").build().unwrap());
    stack.export("uploads.name", b.name());
    stack
}

async fn name_of(stack: &Stack, ctx: &Context) -> String {
    stack
        .plan(ctx)
        .await
        .unwrap()
        .get(&ResourceId::new("s3_bucket", "uploads"))
        .and_then(|r| r.physical_id.clone())
        .expect("the bucket exists")
}

#[tokio::test]
async fn apply_noop_and_drift_opened_by_hand_is_closed_again() {
    let t = TestStack::new().await;
    let stack = bucket_stack(&t.env);
    let c0 = t.calls().await;
    stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply");
    let c1 = t.calls().await;
    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let c2 = t.calls().await;
    stack.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&c2, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");
    println!(
        "bucket: apply {} calls, no-op plan {} calls",
        calls_between(&c0, &c1).values().sum::<u64>(),
        calls_between(&c1, &c2).values().sum::<u64>()
    );

    // Public access unblocked and a public-read policy added by hand.
    let name = name_of(&stack, &t.ctx).await;
    let s3 = t.s3();
    s3.delete_public_access_block()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    let public = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{name}/*")
    }]});
    s3.put_bucket_policy()
        .bucket(&name)
        .policy(public.to_string())
        .send()
        .await
        .unwrap();
    let drift = stack.plan(&t.ctx).await.unwrap();
    let text = drift.to_string();
    assert_eq!(changes(&drift), ["~ s3_bucket.uploads"], "{text}");
    assert!(text.contains("allows public access"), "{text}");
    assert!(text.contains("public access was unblocked"), "{text}");
    stack.apply(&t.ctx, &drift).await.expect("repair");
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());
    let policy = s3.get_bucket_policy().bucket(&name).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("DenyInsecureTransport"));

    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_bucket_with_objects_is_refused_then_emptied_with_the_allowance() {
    let t = TestStack::new().await;
    let env = Environment::new(t.app.clone(), Stage::Prod).region("us-east-1");
    let ctx = Context::from_sdk_config(env.clone(), t.ctx.sdk_config().clone());
    let stack = bucket_stack(&env);
    stack
        .apply(&ctx, &stack.plan(&ctx).await.unwrap())
        .await
        .expect("apply");
    let name = name_of(&stack, &ctx).await;
    let s3 = t.s3();
    for i in 0..3 {
        s3.put_object()
            .bucket(&name)
            .key(format!("k{i}"))
            .body(aws_sdk_s3::primitives::ByteStream::from_static(b"data"))
            .send()
            .await
            .unwrap();
    }
    // A second version and a delete marker.
    s3.put_object()
        .bucket(&name)
        .key("k0")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket(&name)
        .key("k1")
        .send()
        .await
        .unwrap();

    let refused = stack.plan_destroy(&ctx).await.unwrap();
    assert!(
        refused
            .refused
            .iter()
            .any(|r| r.resource == ResourceId::new("s3_bucket", "uploads")),
        "{refused:?}"
    );
    assert!(stack.apply(&ctx, &refused).await.is_err());
    let allow = "s3_bucket.uploads";
    let plan = stack
        .plan_destroy_with(&ctx, &PlanOptions::default().allow_destroy(allow))
        .await
        .unwrap();
    stack
        .apply_with(&ctx, &plan, &ApplyOptions::default().allow_destroy(allow))
        .await
        .expect("emptied and deleted");
    let gone = s3.head_bucket().bucket(&name).send().await;
    assert!(gone.is_err(), "the bucket is gone");
    let t_prod = TestStack {
        env: env.clone(),
        ctx: ctx.clone(),
        ..t.clone()
    };
    assert_eq!(inventory(&t_prod).await, Vec::<String>::new());
}

#[tokio::test]
async fn bad_bucket_input_is_refused_before_any_call() {
    let t = TestStack::new().await;
    let before = t.calls().await;
    let b = || Bucket::builder().logical_id("data");
    let long = "a".repeat(64);
    let cases: Vec<(&str, &str, skyforge_core::Result<Bucket>)> = vec![
        ("name", "ab", b().name("ab").build()),
        ("name", "Data-Bucket", b().name("Data-Bucket").build()),
        ("name", "10.0.0.1", b().name("10.0.0.1").build()),
        ("name", "xn--data", b().name("xn--data").build()),
        ("name", "data-s3alias", b().name("data-s3alias").build()),
        ("name", "data..bucket", b().name("data..bucket").build()),
        ("name", &long, b().name(long.clone()).build()),
        (
            "encryption",
            "kms()",
            b().encryption(skyforge_storage::Encryption::Kms(" ".into()))
                .build(),
        ),
        (
            "object_lock",
            "true",
            b().versioning(false).object_lock(true).build(),
        ),
        (
            "lifecycle.x.actions",
            "none",
            b().lifecycle(vec![LifecycleRule::new("x")]).build(),
        ),
        (
            "lifecycle.x.expire_days",
            "0",
            b().lifecycle(vec![LifecycleRule::new("x").expire_after(0)])
                .build(),
        ),
        (
            "lifecycle.x.id",
            "x",
            b().lifecycle(vec![
                LifecycleRule::new("x").expire_after(3),
                LifecycleRule::new("x").expire_after(4),
            ])
            .build(),
        ),
        (
            "lifecycle.y.expire_days",
            "9",
            b().lifecycle(vec![
                LifecycleRule::new("x").expire_after(3),
                LifecycleRule::new("y").expire_after(9),
            ])
            .build(),
        ),
        (
            "lifecycle.x.transitions",
            "GLACIER_FAST",
            b().lifecycle(vec![LifecycleRule::new("x").transition(30, "GLACIER_FAST")])
                .build(),
        ),
        (
            "lifecycle.x.transitions",
            "60",
            b().lifecycle(vec![
                LifecycleRule::new("x")
                    .expire_after(30)
                    .transition(60, "GLACIER"),
            ])
            .build(),
        ),
        (
            "lifecycle.x.noncurrent_expire_days",
            "5",
            b().versioning(false)
                .lifecycle(vec![LifecycleRule::new("x").expire_noncurrent_after(5)])
                .build(),
        ),
        (
            "encryption",
            "kms",
            Bucket::builder()
                .logical_id("logs")
                .encryption(skyforge_storage::Encryption::Kms("k".into()))
                .purpose(skyforge_storage::Purpose::AlbLogs {
                    region: "us-east-1".into(),
                    prefix: "alb".into(),
                })
                .build(),
        ),
        (
            "cors[0].allowed_methods",
            "PATCH",
            b().cors(vec![CorsRule::new(["https://app.example.com"], ["PATCH"])])
                .build(),
        ),
        (
            "cors[0].allowed_origins",
            "[]",
            b().cors(vec![CorsRule::new(Vec::<String>::new(), ["GET"])])
                .build(),
        ),
        (
            "cors[0].allowed_origins",
            "https://*.*.example.com",
            b().cors(vec![CorsRule::new(["https://*.*.example.com"], ["GET"])])
                .build(),
        ),
        (
            "encryption",
            "kms",
            Bucket::builder()
                .logical_id("access")
                .encryption(skyforge_storage::Encryption::Kms("k".into()))
                .purpose(skyforge_storage::Purpose::AccessLogs)
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

#[tokio::test]
async fn a_load_balancer_writes_access_logs_into_its_bucket() {
    use skyforge_loadbalancing::LoadBalancer;
    let t = TestStack::new().await;
    let mut stack = crate::loadbalancing::lb_stack(&t.env, Vec::new());
    // lb_stack's balancer has no logs: build one that has, beside it.
    let net = stack.add(
        skyforge_network::Network::builder()
            .name("logs")
            .cidr("10.61.0.0/16")
            .azs(skyforge_network::Azs::count(2))
            .tiers(vec![skyforge_network::Tier::public("public", 24)])
            .nat(skyforge_network::Nat::None)
            .build()
            .unwrap(),
    );
    stack.add(
        LoadBalancer::builder()
            .logical_id("logged")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .access_log_days(30)
            .build()
            .unwrap(),
    );
    stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply");
    let plan = stack.plan(&t.ctx).await.unwrap();
    assert!(changes(&plan).is_empty(), "{plan}");
    let bucket = plan
        .get(&ResourceId::new("s3_bucket", "logged-logs"))
        .and_then(|r| r.physical_id.clone())
        .unwrap();
    let lb_arn = plan
        .get(&ResourceId::new("load_balancer", "logged"))
        .and_then(|r| r.physical_id.clone())
        .unwrap();
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let attrs = elb
        .describe_load_balancer_attributes()
        .load_balancer_arn(lb_arn)
        .send()
        .await
        .unwrap();
    let get = |k: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(k))
            .and_then(|a| a.value())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(get("access_logs.s3.enabled"), "true");
    assert_eq!(get("access_logs.s3.bucket"), bucket);
    let policy = t
        .s3()
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    assert!(
        policy
            .policy()
            .unwrap()
            .contains("arn:aws:iam::127311923021:root")
    );
    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_state_bootstrap_goes_through_the_bucket_resource() {
    let t = TestStack::new().await;
    let s3 = t.s3();
    // A bucket made by hand, without tags, is taken over.
    let name = format!("{}-tfstate", t.app);
    s3.create_bucket().bucket(&name).send().await.unwrap();
    skyforge_state::bootstrap(&t.ctx, &name, None)
        .await
        .expect("bootstrap");
    let tags = s3.get_bucket_tagging().bucket(&name).send().await.unwrap();
    let stack_tag = tags
        .tag_set()
        .iter()
        .find(|t| t.key() == "skyforge:stack")
        .map(|t| t.value().to_string());
    let state_env = skyforge_state::state_environment(&t.env, &name);
    assert_eq!(stack_tag, Some(skyforge_core::tags::stack_name(&state_env)));
    assert_ne!(
        stack_tag,
        Some(t.name()),
        "not the stack whose state it keeps"
    );
    let policy = s3.get_bucket_policy().bucket(&name).send().await.unwrap();
    assert!(policy.policy().unwrap().contains("DenyInsecureTransport"));
    let v = s3
        .get_bucket_versioning()
        .bucket(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(v.status().map(|s| s.as_str()), Some("Enabled"));
    // Again: nothing to change, no mutating call.
    let before = t.calls().await;
    skyforge_state::bootstrap(&t.ctx, &name, None)
        .await
        .expect("bootstrap again");
    let made = calls_between(&before, &t.calls().await);
    assert!(mutating(&made).is_empty(), "second bootstrap made {made:?}");
    // The stack whose state it keeps does not see it as an orphan.
    let main = bucket_stack(&t.env);
    let plan = main.plan(&t.ctx).await.unwrap();
    assert!(
        !plan.resources.iter().any(|r| r.orphan),
        "the state bucket is not an orphan of the main stack: {plan}"
    );
    // Clean up through the state stack's own identity.
    let ctx = Context::from_sdk_config(state_env.clone(), t.ctx.sdk_config().clone());
    let mut stack = Stack::new(state_env);
    stack.add(Bucket::for_state(&name).unwrap());
    let d = stack.plan_destroy(&ctx).await.unwrap();
    stack.apply(&ctx, &d).await.expect("destroy");
    assert!(s3.head_bucket().bucket(&name).send().await.is_err());
}

/// A bucket with CORS rules and access logs into a log bucket; CORS removed by hand is put back.
#[tokio::test]
async fn cors_and_access_logs_are_applied_and_kept() {
    let t = TestStack::new().await;
    let make = |cors: bool| {
        let mut stack = Stack::new(t.env.clone());
        let logs = stack.add(Bucket::for_access_logs("access-logs", 90).unwrap());
        let mut b = Bucket::builder()
            .logical_id("uploads")
            .build()
            .unwrap()
            .spec()
            .clone();
        b.access_logs = Some(AccessLogs::to(&logs, "uploads/"));
        if cors {
            b.cors = vec![
                CorsRule::new(["https://app.example.com"], ["GET", "PUT"])
                    .expose(["ETag"])
                    .max_age(600),
            ];
        }
        let b: skyforge_core::Result<Bucket> = b.into();
        stack.add(b.unwrap());
        stack
    };
    let stack = make(true);
    stack
        .apply(&t.ctx, &stack.plan(&t.ctx).await.unwrap())
        .await
        .expect("apply");
    let name = name_of(&stack, &t.ctx).await;
    let s3 = t.s3();
    let logging = s3.get_bucket_logging().bucket(&name).send().await.unwrap();
    let target = logging.logging_enabled().expect("logging on");
    assert!(target.target_bucket().contains("access-logs"), "{target:?}");
    assert_eq!(target.target_prefix(), "uploads/");
    let cors = s3.get_bucket_cors().bucket(&name).send().await.unwrap();
    assert_eq!(cors.cors_rules()[0].allowed_methods(), ["GET", "PUT"]);
    let logs_policy = s3
        .get_bucket_policy()
        .bucket(target.target_bucket())
        .send()
        .await
        .unwrap();
    assert!(
        logs_policy
            .policy()
            .unwrap()
            .contains("logging.s3.amazonaws.com")
    );
    assert!(changes(&stack.plan(&t.ctx).await.unwrap()).is_empty());

    s3.delete_bucket_cors().bucket(&name).send().await.unwrap();
    let drift = stack.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&drift), ["~ s3_bucket.uploads"], "{drift}");
    stack.apply(&t.ctx, &drift).await.expect("repair");
    assert_eq!(
        s3.get_bucket_cors()
            .bucket(&name)
            .send()
            .await
            .unwrap()
            .cors_rules()
            .len(),
        1
    );

    let without = make(false);
    let plan = without.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&plan), ["~ s3_bucket.uploads"], "{plan}");
    without.apply(&t.ctx, &plan).await.expect("CORS removed");
    assert!(
        s3.get_bucket_cors().bucket(&name).send().await.is_err(),
        "no CORS rules left"
    );
    assert!(changes(&without.plan(&t.ctx).await.unwrap()).is_empty());

    let d = without.plan_destroy(&t.ctx).await.unwrap();
    without.apply(&t.ctx, &d).await.expect("destroy");
    assert_eq!(inventory(&t).await, Vec::<String>::new());
}
