//! Plans of seed 003 (four services found through Cloud Map) and seed 002 (autoscaling),
//! compared with snapshots.

use skyforge_compute::{
    Attachment, Autoscaling, Container, ContainerHealth, Discovery, FargateService, Image,
    Namespace, ScaleOn, TaskSize,
};
use skyforge_core::{Plan, ResourceId, Stage};
use skyforge_storage::{Access, Bucket};

use crate::fixtures::{World, world};

const KINDS: [&str; 9] = [
    "ecs_cluster",
    "ecs_service",
    "ecs_task_definition",
    "ecs_log_group",
    "ecs_autoscaling",
    "sd_namespace",
    "sd_service",
    "iam_role",
    "security_group_rule",
];

fn compute_part(plan: &Plan) -> String {
    let mut out = String::new();
    let mut keep = false;
    for line in plan.to_string().lines() {
        if let Some(head) = line.trim_start().strip_prefix("# ") {
            keep = KINDS.iter().any(|k| head.starts_with(&format!("{k}.")))
                && (!head.starts_with("security_group_rule.") || head.contains("-tasks-"));
        }
        if line.starts_with("Warnings:") || line.starts_with("Plan:") {
            keep = true;
        }
        if keep {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn service(
    w: &World,
    name: &str,
    port: u16,
    ns: &skyforge_compute::NamespaceHandle,
) -> FargateService {
    let mut c = Container::new(name, Image::registry(&w.repo, "v1"))
        .port(port)
        .env("PORT", port.to_string())
        .env("NODE_ENV", "production");
    if name == "api" || name == "auth" {
        c = c
            .secret("DATABASE_URL", w.db.key("DATABASE_URL").unwrap())
            .env("CORS_ORIGINS", w.lb.dns_name());
    }
    if name == "auth" {
        c = c.secret("JWT_PRIVATE_KEY", w.jwt.whole());
    }
    FargateService::builder()
        .logical_id(name)
        .cluster(w.cluster.clone())
        .vpc(w.net.vpc_id())
        .subnets(w.net.private())
        .size(TaskSize::new(512, 1024))
        .containers(vec![c])
        .load_balancer(Attachment::new(w.lb.target_group(name).unwrap(), name))
        .discovery(Discovery::new(ns, name))
        .build()
        .unwrap()
}

#[test]
fn seed_003_four_services_found_through_cloud_map() {
    let mut w = world("alva", Stage::Staging);
    let vpc = w.net.vpc_id();
    let ns = w
        .stack
        .add(Namespace::private("internal", "alva-staging.local", vpc).unwrap());
    let mut dns = Vec::new();
    for (name, port) in [
        ("web", 3000),
        ("api", 3001),
        ("auth", 3002),
        ("admin", 3003),
    ] {
        let svc = service(&w, name, port, &ns);
        let h = w.stack.add(svc);
        dns.push(h.dns_name().unwrap().to_string());
    }
    assert_eq!(dns[1], "api.alva-staging.local");
    let plan = w.stack.plan_offline().unwrap();
    insta::assert_snapshot!("003-staging", compute_part(&plan));
    for name in ["web", "api", "auth", "admin"] {
        for kind in ["ecs_service", "ecs_task_definition", "sd_service"] {
            assert!(
                plan.get(&ResourceId::new(kind, name)).is_some(),
                "{kind}.{name}"
            );
        }
        for role in ["execution", "task"] {
            assert!(
                plan.get(&ResourceId::new("iam_role", format!("{name}-{role}")))
                    .is_some()
            );
        }
    }
}

#[test]
fn seed_002_autoscaling_on_cpu_memory_and_requests() {
    let mut w = world("spendsense", Stage::Prod);
    let uploads = w
        .stack
        .add(Bucket::builder().logical_id("uploads").build().unwrap());
    let svc = FargateService::builder()
        .logical_id("backend")
        .cluster(w.cluster.clone())
        .vpc(w.net.vpc_id())
        .subnets(w.net.private())
        .size(TaskSize::new(1024, 2048))
        .containers(vec![
            Container::new("backend", Image::registry(&w.repo, "v1"))
                .port(8000)
                .secret("DATABASE_URL", w.db.key("DATABASE_URL").unwrap())
                .health(
                    ContainerHealth::shell("curl -f http://localhost:8000/health || exit 1")
                        .interval(30)
                        .timeout(5)
                        .start_period(60)
                        .retries(3),
                ),
        ])
        .desired_count(2)
        .load_balancer(Attachment::new(
            w.lb.target_group("backend").unwrap(),
            "backend",
        ))
        .autoscaling(
            Autoscaling::between(2, 10)
                .on(ScaleOn::Cpu(70.0))
                .on(ScaleOn::Memory(80.0))
                .on(ScaleOn::RequestsPerTarget(1000.0))
                .cooldowns(120, 300),
        )
        .grants(uploads.grant(Access::ReadWrite))
        .log_group_name("/ecs/spendsense-backend")
        .build()
        .unwrap();
    w.stack.add(svc);
    let plan = w.stack.plan_offline().unwrap();
    insta::assert_snapshot!("002-prod", compute_part(&plan));
    let text = plan.to_string();
    assert!(text.contains("\"/ecs/spendsense-backend\""), "{text}");
    assert!(
        plan.get(&ResourceId::new("ecs_autoscaling", "backend"))
            .is_some()
    );
}

/// The execution role policies of seed 003's four services, with the ARNs the stack's nodes
/// would output.
#[test]
fn seed_003_execution_role_policies() {
    let mut w = world("alva", Stage::Staging);
    let vpc = w.net.vpc_id();
    let ns = w
        .stack
        .add(Namespace::private("internal", "alva-staging.local", vpc).unwrap());
    let log = skyforge_core::Ref::<String>::new(w.cluster.node(), "log_group_arn");
    let arn = |kind: &str, name: &str| format!("arn:aws:{kind}:us-east-1:111122223333:{name}");
    let inputs = skyforge_core::Inputs::none()
        .with(&w.repo.arn(), arn("ecr", "repository/alva/staging/api"))
        .with(
            &w.db.whole().arn(),
            arn("secretsmanager", "secret:alva/staging/database-AbCdEf"),
        )
        .with(
            &w.jwt.whole().arn(),
            arn(
                "secretsmanager",
                "secret:alva/staging/jwt-private-key-GhIjKl",
            ),
        );
    let mut out = String::new();
    for (name, port) in [
        ("web", 3000),
        ("api", 3001),
        ("auth", 3002),
        ("admin", 3003),
    ] {
        let svc = service(&w, name, port, &ns);
        let log_arn = arn("logs", &format!("log-group:/ecs/alva/staging/{name}"));
        let doc = skyforge_iam::PolicyDocument::new(skyforge_compute::roles::execution_statements(
            svc.spec(),
            log,
        ));
        let v = doc
            .render(&inputs.clone().with(&log, log_arn))
            .expect("every ARN known");
        out.push_str(&format!(
            "# {name}-execution\n{}\n",
            serde_json::to_string_pretty(&v).unwrap()
        ));
    }
    insta::assert_snapshot!("003-execution-policies", out);
    // One `*` per service: ecr:GetAuthorizationToken, which has no resource type.
    assert_eq!(out.matches("\"*\"").count(), 4, "{out}");
}
