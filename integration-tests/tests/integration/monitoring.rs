//! skyforge-monitoring against the emulator (its CloudWatch keeps alarm tags and answers a
//! missing dashboard as AWS does; its SNS refuses a topic re-created with other attributes and
//! keeps email subscriptions pending until confirmed; see docs/testing.md): a service's and its
//! load balancer's alarms applied with dimensions equal to the real resources' ids, an
//! encrypted topic CloudWatch may use, a subscription pending on a person, a no-op plan, a
//! threshold changed by hand put back, destroy to an empty inventory.

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricAlarm, Statistic};
use skyforge_compute::{
    Attachment, Autoscaling, Cluster, Container, FargateService, Image, ScaleOn, TaskSize,
};
use skyforge_core::{Environment, Stack};
use skyforge_integration_tests::{TestStack, changes, ecs_service, inventory};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge_monitoring::{Alarms, Dashboard, Subscription, Topic};
use skyforge_network::{Azs, Nat, Network, Tier};

const ONCALL: &str = "oncall@example.com";

fn stack(env: &Environment, cpu_percent: f64) -> Stack {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.71.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()
            .unwrap(),
    );
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(vec![
                Route::default_route("api", 3001).health(HealthCheck::path("/health")),
            ])
            .build()
            .unwrap(),
    );
    let tg = lb.target_group("api").unwrap();
    let cluster = stack.add(Cluster::builder().logical_id("main").build().unwrap());
    let svc = stack.add(
        FargateService::builder()
            .logical_id("api")
            .cluster(cluster)
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(256, 512))
            .containers(vec![
                Container::new("api", Image::external("public.ecr.aws/skyforge/api:v1")).port(3001),
            ])
            .load_balancer(Attachment::new(tg.clone(), "api"))
            .autoscaling(Autoscaling::between(1, 3).on(ScaleOn::Cpu(70.0)))
            .build()
            .unwrap(),
    );
    let topic = stack.add(Topic::new("alerts").subscribe(Subscription::Email(ONCALL.into())));
    stack.add(
        Alarms::web_service("api", &svc, &tg)
            .with(|p| p.cpu_percent = Some(cpu_percent))
            .notify(&topic),
    );
    stack.add(Alarms::load_balancer("public", &lb).notify(&topic));
    stack.add(
        Dashboard::new("overview")
            .service("api", &svc)
            .load_balancer(&lb)
            .target_group("api", &tg),
    );
    stack
}

async fn alarms(t: &TestStack) -> Vec<MetricAlarm> {
    let out = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix(format!("{}-", t.env.prefix()))
        .send()
        .await
        .unwrap();
    out.metric_alarms().to_vec()
}

fn alarm<'a>(all: &'a [MetricAlarm], t: &TestStack, logical: &str) -> &'a MetricAlarm {
    let name = format!("{}-{logical}", t.env.prefix());
    all.iter()
        .find(|a| a.alarm_name() == Some(name.as_str()))
        .unwrap_or_else(|| panic!("no alarm {name}"))
}

fn dims(d: &[Dimension]) -> Vec<(String, String)> {
    let mut v: Vec<_> = d
        .iter()
        .map(|d| {
            (
                d.name().unwrap_or_default().to_string(),
                d.value().unwrap_or_default().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The load balancer's and the target group's dimension values, from their real ARNs.
async fn elb_ids(t: &TestStack) -> (String, String) {
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let groups = elb.describe_target_groups().send().await.unwrap();
    let tg = groups
        .target_groups()
        .iter()
        .find(|g| {
            g.target_group_name()
                .is_some_and(|n| n.starts_with(&t.env.prefix()))
        })
        .expect("the stack's target group");
    let tg_arn = tg.target_group_arn().unwrap();
    let lb_arn = tg
        .load_balancer_arns()
        .first()
        .expect("attached to the load balancer");
    (
        lb_arn.split_once(":loadbalancer/").unwrap().1.to_string(),
        tg_arn.rsplit(':').next().unwrap().to_string(),
    )
}

async fn check_applied(t: &TestStack) {
    let all = alarms(t).await;
    // Autoscaling's own alarms exist beside the stack's, under AWS's names.
    let tracking = t
        .ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .describe_alarms()
        .alarm_name_prefix("TargetTracking-service/")
        .send()
        .await
        .unwrap();
    let prefix = format!("TargetTracking-service/{}-main/", t.env.prefix());
    let ours = tracking
        .metric_alarms()
        .iter()
        .filter(|a| a.alarm_name().is_some_and(|n| n.starts_with(&prefix)))
        .count();
    assert_eq!(ours, 2, "the CPU policy's high and low alarms");
    let mut names: Vec<_> = all.iter().filter_map(|a| a.alarm_name()).collect();
    names.sort();
    let p = t.env.prefix();
    let want: Vec<String> = [
        "api-cpu",
        "api-error-rate",
        "api-memory",
        "api-unavailable",
        "api-unhealthy-targets",
        "public-elb-5xx",
    ]
    .iter()
    .map(|l| format!("{p}-{l}"))
    .collect();
    assert_eq!(names, want);
    // Dimensions are the real resources' ids.
    let svc = ecs_service(t, "main", "api").await;
    let cluster = svc
        .cluster_arn()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let cpu = alarm(&all, t, "api-cpu");
    assert_eq!(
        dims(cpu.dimensions()),
        [
            ("ClusterName".to_string(), cluster),
            (
                "ServiceName".to_string(),
                svc.service_name().unwrap().to_string()
            )
        ]
    );
    let (lb, tg) = elb_ids(t).await;
    assert_eq!(
        dims(alarm(&all, t, "public-elb-5xx").dimensions()),
        [("LoadBalancer".to_string(), lb.clone())]
    );
    assert_eq!(
        dims(alarm(&all, t, "api-unavailable").dimensions()),
        [
            ("LoadBalancer".to_string(), lb),
            ("TargetGroup".to_string(), tg)
        ]
    );
    let rate = alarm(&all, t, "api-error-rate");
    let ids: Vec<_> = rate.metrics().iter().filter_map(|q| q.id()).collect();
    assert_eq!(ids, ["m1", "m2", "e1"]);
    assert_eq!(rate.treat_missing_data(), Some("notBreaching"));
    // Every alarm notifies the topic, which is encrypted with the stack's key.
    let sns = t.ctx.client(aws_sdk_sns::Client::new);
    let topic = format!("{p}-alerts");
    let topics = sns.list_topics().send().await.unwrap();
    let arn = topics
        .topics()
        .iter()
        .filter_map(|x| x.topic_arn())
        .find(|a| a.ends_with(&format!(":{topic}")))
        .expect("the topic")
        .to_string();
    for a in &all {
        assert_eq!(
            a.alarm_actions(),
            std::slice::from_ref(&arn),
            "{:?}",
            a.alarm_name()
        );
        assert_eq!(
            a.ok_actions(),
            std::slice::from_ref(&arn),
            "{:?}",
            a.alarm_name()
        );
    }
    let attrs = sns
        .get_topic_attributes()
        .topic_arn(&arn)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let kms = t.ctx.client(aws_sdk_kms::Client::new);
    let key = kms
        .describe_key()
        .key_id(format!("alias/{p}-alerts-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        attrs.get("KmsMasterKeyId").map(String::as_str),
        key.key_metadata().unwrap().arn()
    );
    assert!(
        attrs["Policy"].contains("cloudwatch.amazonaws.com"),
        "{}",
        attrs["Policy"]
    );
    let policy = kms
        .get_key_policy()
        .key_id(key.key_metadata().unwrap().key_id())
        .policy_name("default")
        .send()
        .await
        .unwrap();
    let policy = policy.policy().unwrap();
    assert!(
        policy.contains("cloudwatch.amazonaws.com") && policy.contains("kms:GenerateDataKey*"),
        "{policy}"
    );
}

/// Change the threshold of `logical` by hand, as someone in the console would.
async fn set_threshold_by_hand(t: &TestStack, logical: &str, threshold: f64) {
    let all = alarms(t).await;
    let a = alarm(&all, t, logical);
    t.ctx
        .client(aws_sdk_cloudwatch::Client::new)
        .put_metric_alarm()
        .alarm_name(a.alarm_name().unwrap())
        .namespace(a.namespace().unwrap())
        .metric_name(a.metric_name().unwrap())
        .set_dimensions(Some(a.dimensions().to_vec()))
        .statistic(Statistic::Average)
        .period(a.period().unwrap())
        .evaluation_periods(a.evaluation_periods().unwrap())
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .threshold(threshold)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn alarms_topic_and_dashboard_apply_converge_repair_and_destroy() {
    let t = TestStack::new().await;
    let s = stack(&t.env, 80.0);
    let plan = s.plan(&t.ctx).await.unwrap();
    s.apply(&t.ctx, &plan).await.expect("apply");
    check_applied(&t).await;

    // No change (autoscaling's alarms are neither orphans nor drift), and the email
    // subscription shown as waiting on a person, not as an error.
    let again = s.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let sub = again
        .resources
        .iter()
        .find(|r| r.id.kind == "sns_subscription")
        .expect("the subscription");
    assert_eq!(sub.pending.len(), 1, "{again}");
    assert!(sub.pending[0].applies.contains(ONCALL), "{:?}", sub.pending);

    // A threshold changed by hand is drift, put back in place.
    set_threshold_by_hand(&t, "api-cpu", 95.0).await;
    let drift = s.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&drift), ["~ cloudwatch_alarm.api-cpu"], "{drift}");
    s.apply(&t.ctx, &drift).await.unwrap();
    assert_eq!(
        alarm(&alarms(&t).await, &t, "api-cpu").threshold(),
        Some(80.0)
    );

    // Once the person confirms, nothing is pending.
    t.confirm_subscription(ONCALL).await;
    let confirmed = s.plan(&t.ctx).await.unwrap();
    assert!(changes(&confirmed).is_empty(), "{confirmed}");
    assert!(
        confirmed.resources.iter().all(|r| r.pending.is_empty()),
        "{confirmed}"
    );

    // A new threshold in the spec is an in-place update of that alarm only.
    let lower = stack(&t.env, 70.0);
    let p = lower.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&p), ["~ cloudwatch_alarm.api-cpu"], "{p}");
    lower.apply(&t.ctx, &p).await.unwrap();
    assert_eq!(
        alarm(&alarms(&t).await, &t, "api-cpu").threshold(),
        Some(70.0)
    );

    let d = lower.plan_destroy(&t.ctx).await.unwrap();
    lower.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(&t).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}
