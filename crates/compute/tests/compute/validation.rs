//! Bad input is refused before any API call, naming the field, the value and the rule.

use skyforge_compute::{
    Autoscaling, CapacityShare, Container, ContainerHealth, Discovery, Image, Namespace, ScaleOn,
    StartAfter, TaskSize,
};
use skyforge_core::Stage;

use crate::fixtures::{api_with, world};

type Edit = Box<dyn Fn(&mut skyforge_compute::FargateServiceSpec)>;

fn health(f: impl Fn(ContainerHealth) -> ContainerHealth + 'static) -> Edit {
    Box::new(move |s| {
        let h = f(ContainerHealth::shell("true"));
        s.containers[0] = s.containers[0].clone().health(h);
    })
}

#[test]
fn bad_services_are_refused_with_field_value_and_rule() {
    let w = world("alva", Stage::Staging);
    let ns = {
        let mut st =
            skyforge_core::Stack::new(skyforge_core::Environment::new("alva", Stage::Staging));
        st.add(Namespace::private("internal", "alva-staging.local", "vpc-1").unwrap())
    };
    let sidecar = || Container::new("side", Image::external("busybox"));
    let api_tg = w.lb.target_group("api").unwrap();
    let cases: Vec<(&str, &str, Edit)> = vec![
        (
            "service.logical_id",
            "Api!",
            Box::new(|s| s.logical_id = "Api!".into()),
        ),
        (
            "service.size",
            "256/4096",
            Box::new(|s| s.size = TaskSize::new(256, 4096)),
        ),
        (
            "service.size",
            "300/1024",
            Box::new(|s| s.size = TaskSize::new(300, 1024)),
        ),
        (
            "service.size",
            "1024/2500",
            Box::new(|s| s.size = TaskSize::new(1024, 2500)),
        ),
        (
            "service.containers",
            "[]",
            Box::new(|s| s.containers.clear()),
        ),
        (
            "service.containers",
            "api",
            Box::new(|s| s.containers.push(s.containers[0].clone())),
        ),
        (
            "service.containers.side.port",
            "3001",
            Box::new(move |s| s.containers.push(sidecar().port(3001))),
        ),
        (
            "service.containers.api.port",
            "0",
            Box::new(|s| s.containers[0] = s.containers[0].clone().port(0)),
        ),
        (
            "service.containers.bad name",
            "bad name",
            Box::new(|s| {
                s.containers
                    .push(Container::new("bad name", Image::external("x")))
            }),
        ),
        (
            "service.containers.api.environment",
            "1PORT",
            Box::new(|s| s.containers[0] = s.containers[0].clone().env("1PORT", "x")),
        ),
        (
            "service.containers.api.secrets",
            "DATABASE_URL",
            Box::new(|s| s.containers[0] = s.containers[0].clone().env("DATABASE_URL", "plain")),
        ),
        (
            "service.containers.api.depends_on",
            "ghost",
            Box::new(|s| {
                s.containers[0] = s.containers[0]
                    .clone()
                    .depends_on("ghost", StartAfter::Start)
            }),
        ),
        (
            "service.containers.api.depends_on",
            "api",
            Box::new(|s| {
                s.containers[0] = s.containers[0].clone().depends_on("api", StartAfter::Start)
            }),
        ),
        (
            "service.containers.api.depends_on",
            "side",
            Box::new(move |s| {
                s.containers.push(sidecar());
                s.containers[0] = s.containers[0]
                    .clone()
                    .depends_on("side", StartAfter::Healthy);
            }),
        ),
        (
            "service.containers",
            "no essential container",
            Box::new(|s| s.containers[0] = s.containers[0].clone().essential(false)),
        ),
        (
            "service.containers.api.health.interval",
            "4",
            health(|h| h.interval(4)),
        ),
        (
            "service.containers.api.health.timeout",
            "1",
            health(|h| h.timeout(1)),
        ),
        (
            "service.containers.api.health.timeout",
            "30",
            health(|h| h.interval(30).timeout(30)),
        ),
        (
            "service.containers.api.health.retries",
            "11",
            health(|h| h.retries(11)),
        ),
        (
            "service.containers.api.health.start_period",
            "301",
            health(|h| h.start_period(301)),
        ),
        (
            "service.containers.api.health.command",
            "true",
            Box::new(|s| {
                let mut h = ContainerHealth::shell("true");
                h.command = vec!["true".into()];
                s.containers[0] = s.containers[0].clone().health(h);
            }),
        ),
        (
            "service.containers.memory_reservation",
            "2048 MiB",
            Box::new(|s| s.containers[0] = s.containers[0].clone().memory_reservation(2048)),
        ),
        (
            "service.min_healthy_percent",
            "101",
            Box::new(|s| s.min_healthy_percent = 101),
        ),
        (
            "service.max_percent",
            "250",
            Box::new(|s| s.max_percent = 250),
        ),
        (
            "service.desired_count",
            "5001",
            Box::new(|s| s.desired_count = 5001),
        ),
        (
            "service.autoscaling.min",
            "5 > max 2",
            Box::new(|s| s.autoscaling = Some(Autoscaling::between(5, 2).on(ScaleOn::Cpu(70.0)))),
        ),
        (
            "service.desired_count",
            "1",
            Box::new(|s| s.autoscaling = Some(Autoscaling::between(2, 10).on(ScaleOn::Cpu(70.0)))),
        ),
        (
            "service.autoscaling.cpu",
            "0",
            Box::new(|s| s.autoscaling = Some(Autoscaling::between(1, 10).on(ScaleOn::Cpu(0.0)))),
        ),
        (
            "service.autoscaling.memory",
            "120",
            Box::new(|s| {
                s.autoscaling = Some(Autoscaling::between(1, 10).on(ScaleOn::Memory(120.0)))
            }),
        ),
        (
            "service.autoscaling.cpu",
            "60",
            Box::new(|s| {
                s.autoscaling = Some(
                    Autoscaling::between(1, 10)
                        .on(ScaleOn::Cpu(70.0))
                        .on(ScaleOn::Cpu(60.0)),
                )
            }),
        ),
        (
            "service.autoscaling.metrics",
            "[]",
            Box::new(|s| s.autoscaling = Some(Autoscaling::between(1, 10))),
        ),
        (
            "service.autoscaling.requests",
            "1000",
            Box::new(|s| {
                s.load_balancer = None;
                s.autoscaling =
                    Some(Autoscaling::between(1, 10).on(ScaleOn::RequestsPerTarget(1000.0)));
            }),
        ),
        (
            "service.load_balancer.container",
            "web",
            Box::new(move |s| {
                s.load_balancer = Some(skyforge_compute::Attachment::new(api_tg.clone(), "web"))
            }),
        ),
        (
            "service.log_retention_days",
            "31",
            Box::new(|s| s.log_retention_days = 31),
        ),
        (
            "service.keep_revisions",
            "0",
            Box::new(|s| s.keep_revisions = 0),
        ),
        (
            "service.capacity",
            "FARGATE",
            Box::new(|s| s.capacity = vec![CapacityShare::fargate(1), CapacityShare::fargate(2)]),
        ),
        (
            "service.capacity",
            "base on several providers",
            Box::new(|s| {
                s.capacity = vec![
                    CapacityShare::fargate(1).base(1),
                    CapacityShare::spot(1).base(1),
                ]
            }),
        ),
        (
            "service.discovery.name",
            "api_v1",
            Box::new(move |s| s.discovery = Some(Discovery::new(&ns, "api_v1"))),
        ),
    ];
    let mut refused = std::collections::BTreeSet::new();
    for (field, value, edit) in cases {
        let e = api_with(&w, |s| edit(s)).expect_err(field).to_string();
        assert!(
            e.contains(field) && e.contains(value),
            "{field} {value}: {e}"
        );
        refused.insert(e);
    }
    // Each case was refused with a message of its own (no two cases hit the same rule).
    assert!(refused.len() >= 25, "{} distinct refusals", refused.len());
}

#[test]
fn other_bad_input_is_refused_where_it_is_declared() {
    let w = world("alva", Stage::Staging);
    let e = w.db.key("DATABSE_URL").unwrap_err().to_string();
    assert!(e.contains("DATABSE_URL"), "{e}");
    let e = Namespace::private("internal", "local", "vpc-1")
        .unwrap_err()
        .to_string();
    assert!(e.contains("namespace.name") && e.contains("local"), "{e}");
    let e = skyforge_compute::Cluster::builder()
        .logical_id("main")
        .capacity(vec![CapacityShare::spot(0)])
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cluster.capacity") && e.contains("all weights 0"),
        "{e}"
    );
}

#[test]
fn fargate_sizes_follow_the_table() {
    for (c, m) in [
        (256, 512),
        (256, 2048),
        (512, 4096),
        (1024, 2048),
        (4096, 30720),
        (16384, 122880),
    ] {
        assert!(skyforge_compute::fargate_size_ok(c, m), "{c}/{m}");
    }
    for (c, m) in [
        (256, 256),
        (512, 512),
        (2048, 2048),
        (8192, 18432),
        (128, 512),
    ] {
        assert!(!skyforge_compute::fargate_size_ok(c, m), "{c}/{m}");
    }
}

#[test]
fn warnings_name_the_fix() {
    let w = world("alva", Stage::Staging);
    let svc = api_with(&w, |s| {
        s.subnets = skyforge_compute::ServiceSubnets::public(w.net.public(), false);
        s.min_healthy_percent = 0;
        s.capacity = vec![CapacityShare::spot(1)];
    })
    .unwrap();
    let mut stack = w.stack;
    stack.add(svc);
    let plan = stack.plan_offline().unwrap();
    let text: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    for want in [
        "without a public IP",
        "min_healthy_percent 0",
        "Fargate Spot only",
    ] {
        assert!(text.iter().any(|t| t.contains(want)), "{want}: {text:?}");
    }
}
