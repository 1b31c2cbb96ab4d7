//! Seed 004 (a NestJS backend, prod): a network, a load balancer, the backend service on ECS, a
//! PostgreSQL database and a Redis cache.

use skyforge_cache::{CacheHandle, Redis};
use skyforge_compute::{
    Attachment, Cluster, Container, FargateService, Image, ServiceHandle, TaskSize,
};
use skyforge_core::{Environment, Stack, Stage};
use skyforge_database::{DatabaseHandle, Postgres, Storage};
use skyforge_loadbalancing::{
    HealthCheck, LoadBalancer, LoadBalancerHandle, Route, TargetGroupRef,
};
use skyforge_network::{Azs, Nat, Network, Tier};

pub struct World {
    pub stack: Stack,
    pub lb: LoadBalancerHandle,
    pub tg: TargetGroupRef,
    pub svc: ServiceHandle,
    pub db: DatabaseHandle,
    pub cache: CacheHandle,
}

pub fn world(stage: Stage) -> World {
    let mut stack = Stack::new(Environment::new("dougust", stage).region("us-east-1"));
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![
                Tier::public("public", 24),
                Tier::private("app", 22),
                Tier::isolated("data", 24),
            ])
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
                Route::default_route("backend", 3000).health(HealthCheck::path("/health")),
            ])
            .build()
            .unwrap(),
    );
    let tg = lb.target_group("backend").unwrap();
    let cluster = stack.add(Cluster::builder().logical_id("main").build().unwrap());
    let svc = stack.add(
        FargateService::builder()
            .logical_id("backend")
            .cluster(cluster)
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(512, 1024))
            .containers(vec![
                Container::new("backend", Image::external("dougust/backend:1.0")).port(3000),
            ])
            .load_balancer(Attachment::new(tg.clone(), "backend"))
            .build()
            .unwrap(),
    );
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .allow_from(vec![svc.security_group().clone()])
            .version("16")
            .class("db.t3.large")
            .storage(Storage::gp3(100).autoscale_to(200))
            .build()
            .unwrap(),
    );
    let cache = stack.add(
        Redis::builder()
            .logical_id("cache")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .allow_from(vec![svc.security_group().clone()])
            .version("7.1")
            .node_type("cache.t3.micro")
            .build()
            .unwrap(),
    );
    World {
        stack,
        lb,
        tg,
        svc,
        db,
        cache,
    }
}
