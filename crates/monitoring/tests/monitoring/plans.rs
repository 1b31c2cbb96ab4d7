//! Seed 004's alarm set as a plan (snapshot), and the dimensions each metric is keyed by.

use skyforge_core::{Inputs, Plan, Stage};
use skyforge_monitoring::{Alarms, Dashboard, Subscription, Topic, metrics};

use crate::fixtures::world;

const KINDS: [&str; 5] = [
    "cloudwatch_alarm",
    "cloudwatch_dashboard",
    "sns_topic",
    "sns_subscription",
    "kms_key",
];

fn monitoring_part(plan: &Plan) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in plan.to_string().lines() {
        if let Some(head) = line.trim_start().strip_prefix("# ") {
            keep = KINDS.iter().any(|k| head.starts_with(&format!("{k}.")));
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn seed_004_alarm_set() {
    let mut w = world(Stage::Prod);
    let topic = w
        .stack
        .add(Topic::new("alerts").subscribe(Subscription::Email("oncall@dougust.example".into())));
    w.stack
        .add(Alarms::web_service("backend", &w.svc, &w.tg).notify(&topic));
    w.stack
        .add(Alarms::load_balancer("public", &w.lb).notify(&topic));
    w.stack.add(Alarms::database(&w.db, 100).notify(&topic));
    w.stack.add(Alarms::cache(&w.cache).notify(&topic));
    w.stack.add(
        Dashboard::new("overview")
            .service("backend", &w.svc)
            .load_balancer(&w.lb)
            .target_group("backend", &w.tg)
            .database(&w.db)
            .cache(&w.cache),
    );
    let plan = w.stack.plan_offline().unwrap();
    let part = monitoring_part(&plan);
    insta::assert_snapshot!("004-prod", part);
    // 5 service + 1 load balancer + 3 database + 3 cache alarms.
    assert_eq!(part.matches("# cloudwatch_alarm.").count(), 12, "{part}");
    assert!(
        part.contains("\"notBreaching\""),
        "5xx alarms treat missing data as good"
    );
}

#[test]
fn thresholds_can_be_overridden_or_switched_off() {
    let w = world(Stage::Prod);
    let mut stack = w.stack;
    let topic = stack.add(Topic::new("alerts"));
    let set = Alarms::web_service("backend", &w.svc, &w.tg)
        .with(|p| {
            p.cpu_percent = Some(70.0);
            p.memory_percent = None;
        })
        .notify(&topic);
    let ids: Vec<&str> = set.alarms().iter().map(|a| a.logical_id()).collect();
    assert_eq!(
        ids,
        [
            "backend-cpu",
            "backend-error-rate",
            "backend-unhealthy-targets",
            "backend-unavailable"
        ]
    );
    assert_eq!(set.alarms()[0].threshold(), 70.0);
}

#[test]
fn metrics_are_keyed_by_the_resources_outputs() {
    let w = world(Stage::Prod);
    let lb_arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/app/dougust-prod-public/50dc6c495c0c9188";
    let tg_arn = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/dougust-prod-backend/6d0ecf831eec9f09";
    let inputs = Inputs::none()
        .with(&w.lb.arn(), lb_arn.to_string())
        .with(&w.tg.arn, tg_arn.to_string())
        .with(&w.tg.load_balancer_arn, lb_arn.to_string())
        .with(&w.svc.cluster_name(), "dougust-prod-main".to_string())
        .with(&w.svc.name(), "dougust-prod-backend".to_string())
        .with(&w.db.identifier(), "dougust-prod-db".to_string())
        .with(&w.cache.identifier(), "dougust-prod-cache".to_string());
    let dims = |m: metrics::Metric| m.dimensions(&inputs).expect("every output known");
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        dims(metrics::load_balancer(&w.lb).elb_5xx()),
        [pair(
            "LoadBalancer",
            "app/dougust-prod-public/50dc6c495c0c9188"
        )]
    );
    assert_eq!(
        dims(metrics::target_group(&w.tg).healthy_hosts()),
        [
            pair(
                "TargetGroup",
                "targetgroup/dougust-prod-backend/6d0ecf831eec9f09"
            ),
            pair("LoadBalancer", "app/dougust-prod-public/50dc6c495c0c9188")
        ]
    );
    assert_eq!(
        dims(metrics::service(&w.svc).cpu()),
        [
            pair("ClusterName", "dougust-prod-main"),
            pair("ServiceName", "dougust-prod-backend")
        ]
    );
    assert_eq!(
        dims(metrics::database(&w.db).cpu()),
        [pair("DBInstanceIdentifier", "dougust-prod-db")]
    );
    assert_eq!(
        dims(metrics::cache(&w.cache).memory()),
        [pair("CacheClusterId", "dougust-prod-cache-001")]
    );
    // Unknown until the service exists.
    assert!(
        metrics::service(&w.svc)
            .cpu()
            .dimensions(&Inputs::none())
            .is_none()
    );
}
