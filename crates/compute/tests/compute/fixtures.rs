//! A stack with a network, a load balancer, a repository and secrets, and services on it.

use skyforge_compute::{
    Attachment, Cluster, ClusterHandle, Container, ContainerHealth, FargateService, Image, TaskSize,
};
use skyforge_core::{Environment, Stack, Stage};
use skyforge_loadbalancing::{HealthCheck, LoadBalancer, LoadBalancerHandle, Route};
use skyforge_network::{Azs, Nat, Network, NetworkHandle, Tier};
use skyforge_registry::{Repository, RepositoryHandle};
use skyforge_secrets::{Generator, Secret, SecretHandle, SecretValue, Source};

pub struct World {
    pub stack: Stack,
    pub net: NetworkHandle,
    pub lb: LoadBalancerHandle,
    pub cluster: ClusterHandle,
    pub repo: RepositoryHandle,
    pub db: SecretHandle,
    pub jwt: SecretHandle,
}

pub fn world(project: &str, stage: Stage) -> World {
    let mut stack = Stack::new(Environment::new(project, stage).region("us-east-1"));
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
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
                Route::default_route("web", 3000),
                Route::path("api", ["/api/*"], 3001).health(HealthCheck::path("/api/health")),
                Route::path("auth", ["/auth/*"], 3002),
                Route::path("admin", ["/admin/*"], 3003),
                Route::path("backend", ["/v1/*"], 8000).health(HealthCheck::path("/health")),
            ])
            .build()
            .unwrap(),
    );
    let cluster = stack.add(Cluster::builder().logical_id("main").build().unwrap());
    let repo = stack.add(Repository::builder().logical_id("api").build().unwrap());
    let db = stack.add(
        Secret::builder()
            .logical_id("database")
            .value(SecretValue::json([
                ("DATABASE_URL", Source::value("postgres://app@db:5432/app")),
                (
                    "password",
                    Source::generated(Generator::password(32, "\"@/\\'")),
                ),
            ]))
            .build()
            .unwrap(),
    );
    let jwt = stack.add(
        Secret::builder()
            .logical_id("jwt-private-key")
            .value(SecretValue::generated(Generator::signing_key()))
            .build()
            .unwrap(),
    );
    World {
        stack,
        net,
        lb,
        cluster,
        repo,
        db,
        jwt,
    }
}

/// A valid service: one container on port 3001 behind the `api` route.
pub fn api(w: &World) -> FargateService {
    FargateService::builder()
        .logical_id("api")
        .cluster(w.cluster.clone())
        .vpc(w.net.vpc_id())
        .subnets(w.net.private())
        .size(TaskSize::new(512, 1024))
        .containers(vec![
            Container::new("api", Image::registry(&w.repo, "v1"))
                .port(3001)
                .env("PORT", "3001")
                .secret("DATABASE_URL", w.db.key("DATABASE_URL").unwrap())
                .health(ContainerHealth::shell(
                    "curl -f http://localhost:3001/api/health || exit 1",
                )),
        ])
        .load_balancer(Attachment::new(w.lb.target_group("api").unwrap(), "api"))
        .build()
        .unwrap()
}

/// `api`'s spec changed by `f`, validated again.
pub fn api_with(
    w: &World,
    f: impl FnOnce(&mut skyforge_compute::FargateServiceSpec),
) -> skyforge_core::Result<FargateService> {
    let mut s = api(w).spec().clone();
    f(&mut s);
    s.into()
}
