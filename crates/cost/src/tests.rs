//! The estimate of hand-made plans against figures worked out by hand from the price table.

use serde_json::json;
use skyforge_core::testing::planned_create;
use skyforge_core::{Plan, PlanMode, ResourcePlan};

use crate::{Assumptions, PriceTable, estimate};

fn create(kind: &str, id: &str, fields: serde_json::Value) -> ResourcePlan {
    planned_create(kind, id, fields)
}

fn plan(resources: Vec<ResourcePlan>) -> Plan {
    Plan::new("shop-prod", PlanMode::Apply, "digest", resources, vec![])
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

fn east() -> PriceTable {
    PriceTable::for_region("us-east-1").unwrap()
}

#[test]
fn a_service_costs_its_task_size_at_the_desired_count_and_at_the_maximum() {
    let p = plan(vec![
        create(
            "ecs_task_definition",
            "api",
            json!({"cpu": 512, "memory": 1024, "arch": "X86_64"}),
        ),
        create("ecs_service", "api", json!({"desired_count": 2})),
        create("ecs_autoscaling", "api", json!({"min": 2, "max": 10})),
    ]);
    let e = estimate(&p, &east(), &Assumptions::default());
    // 0.5 vCPU x 0.04048 + 1 GB x 0.004445 = 0.024685 per task-hour; x 730 h = 18.02005.
    assert_eq!(e.lines.len(), 1, "{e}");
    assert!(close(e.lines[0].monthly, 2.0 * 18.02005), "{e}");
    assert!(close(e.lines[0].at_max, 10.0 * 18.02005), "{e}");
    assert_eq!(
        e.lines[0].item,
        "Fargate 0.5 vCPU / 1 GB x 2 task(s) (max 10)"
    );
}

#[test]
fn graviton_tasks_use_the_arm_rates() {
    let p = plan(vec![
        create(
            "ecs_task_definition",
            "api",
            json!({"cpu": 1024, "memory": 2048, "arch": "ARM64"}),
        ),
        create("ecs_service", "api", json!({"desired_count": 1})),
    ]);
    let e = estimate(&p, &east(), &Assumptions::default());
    // (1 x 0.03238 + 2 x 0.00356) x 730 = 28.8354.
    assert!(close(e.monthly, 28.8354), "{e}");
}

#[test]
fn multi_az_doubles_the_instance_and_its_storage() {
    let db = |multi: bool| {
        create(
            "db_instance",
            "db",
            json!({"class": "db.t3.medium", "multi_az": multi, "storage_gib": 100, "storage_type": "gp3"}),
        )
    };
    let single = estimate(&plan(vec![db(false)]), &east(), &Assumptions::default());
    let multi = estimate(&plan(vec![db(true)]), &east(), &Assumptions::default());
    // 0.072 x 730 + 100 x 0.115 = 52.56 + 11.5 = 64.06.
    assert!(close(single.monthly, 64.06), "{single}");
    assert!(close(multi.monthly, 128.12), "{multi}");
}

#[test]
fn cache_nodes_are_the_primary_and_replicas_of_every_shard() {
    let p = plan(vec![create(
        "cache_replication_group",
        "cache",
        json!({"node_type": "cache.t3.small", "replicas": 1, "shards": null}),
    )]);
    let e = estimate(&p, &east(), &Assumptions::default());
    // 2 nodes x 0.034 x 730 = 49.64.
    assert!(close(e.monthly, 49.64), "{e}");
}

#[test]
fn the_network_edges_are_priced_with_their_assumptions() {
    let p = plan(vec![
        create(
            "load_balancer",
            "public",
            json!({"scheme": "internet-facing"}),
        ),
        create("nat_gateway", "a", json!({})),
        create("eip", "a", json!({})),
        create(
            "vpc_endpoint",
            "s3",
            json!({"service_name": "com.amazonaws.us-east-1.s3"}),
        ),
    ]);
    let a = Assumptions::default();
    let e = estimate(&p, &east(), &a);
    // ALB: (0.0225 + 1 x 0.008) x 730 = 22.265; 2 IPv4 x 0.005 x 730 = 7.30; 50 GB x 0.09 = 4.50.
    assert!(close(e.lines[0].monthly, 22.265 + 7.30 + 4.50), "{e}");
    // NAT: 0.045 x 730 + 20 GB x 0.045 = 32.85 + 0.90.
    assert!(close(e.lines[1].monthly, 33.75), "{e}");
    // EIP: 0.005 x 730.
    assert!(close(e.lines[2].monthly, 3.65), "{e}");
    // A gateway endpoint is free: no line.
    assert_eq!(e.lines.len(), 3, "{e}");
}

#[test]
fn an_unknown_instance_class_is_named_not_counted_as_free() {
    let p = plan(vec![create(
        "db_instance",
        "db",
        json!({"class": "db.x2iedn.32xlarge", "multi_az": false, "storage_gib": 20, "storage_type": "gp3"}),
    )]);
    let e = estimate(&p, &east(), &Assumptions::default());
    assert_eq!(e.monthly, 0.0);
    assert_eq!(
        e.unpriced,
        ["db_instance.db: no price for db.x2iedn.32xlarge in us-east-1"]
    );
    assert!(e.to_string().contains("not priced: db_instance.db"), "{e}");
}

#[test]
fn alarms_are_priced_per_metric_and_free_kinds_have_no_line() {
    let p = plan(vec![
        create(
            "cloudwatch_alarm",
            "cpu",
            json!({"metric": "AWS/ECS CPUUtilization (Average)"}),
        ),
        create(
            "cloudwatch_alarm",
            "errors",
            json!({"metric": "100 * m1 / m2, m1 = AWS/ApplicationELB HTTPCode_Target_5XX_Count (Sum), m2 = AWS/ApplicationELB RequestCount (Sum)"}),
        ),
        create("vpc", "main", json!({"cidr_block": "10.0.0.0/16"})),
        create("ssm_parameter", "url", json!({"tier": "Standard"})),
        create("secret", "jwt", json!({})),
    ]);
    let e = estimate(&p, &east(), &Assumptions::default());
    let lines: Vec<(&str, f64)> = e
        .lines
        .iter()
        .map(|l| (l.resource.as_str(), l.monthly))
        .collect();
    assert_eq!(
        lines,
        [
            ("cloudwatch_alarm.cpu", 0.10),
            ("cloudwatch_alarm.errors", 0.20),
            ("secret.jwt", 0.40)
        ]
    );
}

#[test]
fn the_built_in_tables_cover_the_same_classes_in_both_regions() {
    let (e, w) = (east(), PriceTable::for_region("us-west-1").unwrap());
    let names = |l: &[(String, f64)]| l.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
    assert_eq!(names(&e.rds_postgres_hour), names(&w.rds_postgres_hour));
    assert_eq!(
        names(&e.elasticache_node_hour),
        names(&w.elasticache_node_hour)
    );
    assert!(w.fargate_vcpu_hour > e.fargate_vcpu_hour);
    assert!(PriceTable::for_region("eu-west-1").is_none());
    let back: PriceTable = serde_json::from_str(&serde_json::to_string(&w).unwrap()).unwrap();
    assert_eq!(back, w);
}
