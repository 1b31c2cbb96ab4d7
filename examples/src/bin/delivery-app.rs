//! Seed 000, the delivery app: a backend API and an admin frontend on ECS Fargate behind one
//! ALB, stages `test` and `prod`.
//!
//! A two-zone network (public and private subnets; one NAT gateway in `test`, one per zone in
//! `prod`); an ALB sending `/api/*` and `/health` to the backend (:3000, 0.25 vCPU / 1 GB) and
//! everything else to the admin frontend (:80, 0.25 vCPU / 512 MB); an ECR repository for each;
//! RDS PostgreSQL 16 (`db.t3.micro` 20 GB in `test`, `db.t3.small` Multi-AZ in `prod`) whose
//! URL is written to the SSM SecureString `/delivery/<stage>/DATABASE_URL`; the JWT key pair in
//! `/delivery/<stage>/JWT_PRIVATE_KEY` and `JWT_PUBLIC_KEY`; the seed's plain environment
//! (`PORT`, `FEATURE_KEY`, `FEATURE_FLAGS`, `TOKEN_ISS`, `TOKEN_AUD_TENANT`, `DEPLOY_ENV`); a log
//! group per service under `/aws/ecs/delivery-<stage>-cluster/`; the web-service alarms.
//!
//! The feature configuration (`infra/env/features/*.json` in the seed) is chosen at deploy time
//! with `--feature core` (flags `BASE_CORE`, the default) or `--feature menu-rewrite` (flags
//! `MENU_V2_ENABLED`): it changes the backend's `FEATURE_KEY` and `FEATURE_FLAGS`, so the plan
//! shows a new task definition revision and a rollout, nothing else.
//!
//! Inputs from the environment, checked before any API call: `DELIVERY_JWT_PRIVATE_KEY` and
//! `DELIVERY_JWT_PUBLIC_KEY` (the PEM key pair tokens are signed and verified with; skyforge does
//! not make key pairs). The database password is generated.
//!
//! ```sh
//! delivery-app plan --stage test
//! delivery-app deploy --stage prod --image 1.8.0 --feature menu-rewrite
//! ```

use std::process::ExitCode;

use clap::ValueEnum;
use skyforge::compute::{Attachment, Cluster, Container, FargateService, Image, TaskSize};
use skyforge::core::{Environment, Error, Result, Stack, Stage};
use skyforge::database::{Postgres, Storage};
use skyforge::loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge::monitoring::{Alarms, Topic};
use skyforge::network::{Azs, Nat, Network, SecurityGroup, Tier};
use skyforge::registry::Repository;
use skyforge::secrets::{Parameter, ParameterValue, Source};
use skyforge_examples::{Release, Tool};

/// The environment variables the binary reads, and what each holds.
const INPUTS: [(&str, &str); 2] = [
    (
        "DELIVERY_JWT_PRIVATE_KEY",
        "the PEM private key tokens are signed with",
    ),
    (
        "DELIVERY_JWT_PUBLIC_KEY",
        "the matching PEM public key tokens are verified with",
    ),
];

/// The seed's feature configurations (`infra/env/features/<key>.json`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
enum Feature {
    /// `core`: flags `BASE_CORE`.
    #[default]
    Core,
    /// `menu-rewrite`: flags `MENU_V2_ENABLED`.
    MenuRewrite,
}

impl Feature {
    fn key(self) -> &'static str {
        match self {
            Feature::Core => "core",
            Feature::MenuRewrite => "menu-rewrite",
        }
    }
    fn flags(self) -> &'static str {
        match self {
            Feature::Core => "BASE_CORE",
            Feature::MenuRewrite => "MENU_V2_ENABLED",
        }
    }
}

/// The delivery app's own options.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Args {
    /// Feature configuration of the backend (`FEATURE_KEY`, `FEATURE_FLAGS`).
    #[arg(long, global = true, value_enum, default_value_t = Feature::Core)]
    feature: Feature,
}

fn check_inputs() -> Result<()> {
    for (var, what) in INPUTS {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            return Err(Error::validation(
                var,
                "(unset)",
                format!(
                    "{what}: set it in the environment (it is stored as an SSM SecureString, never in a plan)"
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn build(env: &Environment, release: &Release, args: &Args) -> Result<Stack> {
    check_inputs()?;
    let prod = env.stage() == &Stage::Prod;
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.20.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(if prod { Nat::PerAz } else { Nat::Single })
            .build()?,
    );
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(vec![
                Route::default_route("admin-frontend", 80).health(HealthCheck::path("/")),
                Route::path("backend", ["/api/*", "/health"], 3000)
                    .health(HealthCheck::path("/health")),
            ])
            .build()?,
    );
    stack.export("url", lb.dns_name());
    let secure_env = |key: &str, var: &str| {
        Parameter::builder()
            .key(key)
            .value(ParameterValue::Secure(Source::env(var)))
            .build()
    };
    let jwt_private = stack.add(secure_env("JWT_PRIVATE_KEY", "DELIVERY_JWT_PRIVATE_KEY")?);
    let jwt_public = stack.add(secure_env("JWT_PUBLIC_KEY", "DELIVERY_JWT_PUBLIC_KEY")?);
    // The backend's group, made first so that the database can allow it.
    let backend_tasks = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("backend-tasks")
            .description("Tasks of the delivery backend")
            .build()?,
    );
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![backend_tasks.clone()])
            .version("16")
            .class(if prod { "db.t3.small" } else { "db.t3.micro" })
            .storage(Storage::gp3(20).autoscale_to(100))
            .multi_az(prod)
            .database_name("delivery")
            .username("delivery")
            .url_parameter(format!(
                "/{}/{}/DATABASE_URL",
                env.project_name(),
                env.stage()
            ))
            .build()?,
    );
    let database_url = db
        .url_parameter()
        .cloned()
        .expect("the database was given a URL parameter");
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let log_group = |service: &str| format!("/aws/ecs/{}-cluster/{service}", env.prefix());
    let topic = stack.add(Topic::new("alerts"));

    let backend_repo = stack.add(Repository::builder().logical_id("backend").build()?);
    stack.export("backend_repository_uri", backend_repo.uri());
    let backend = Container::new("backend", Image::registry(&backend_repo, "latest"))
        .port(3000)
        .env("PORT", "3000")
        .env("FEATURE_KEY", args.feature.key())
        .env("FEATURE_FLAGS", args.feature.flags())
        .env("TOKEN_ISS", "delivery-app")
        .env("TOKEN_AUD_TENANT", "tenant-api")
        .env("DEPLOY_ENV", env.stage().as_str())
        .secret("DATABASE_URL", database_url)
        .secret("JWT_PRIVATE_KEY", jwt_private.reference())
        .secret("JWT_PUBLIC_KEY", jwt_public.reference());
    let tg = lb.target_group("backend")?;
    let svc = stack.add(
        FargateService::builder()
            .logical_id("backend")
            .cluster(cluster.clone())
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(256, 1024))
            .containers(vec![backend])
            .desired_count(if prod { 2 } else { 1 })
            .load_balancer(Attachment::new(tg.clone(), "backend"))
            .security_group(backend_tasks)
            .log_group_name(log_group("backend"))
            .deploy_tag_opt(release.tag_for("backend").map(String::from))
            .build()?,
    );
    stack.add(Alarms::web_service("backend", &svc, &tg).notify(&topic));

    let frontend_repo = stack.add(Repository::builder().logical_id("admin-frontend").build()?);
    stack.export("frontend_repository_uri", frontend_repo.uri());
    let frontend = Container::new("frontend", Image::registry(&frontend_repo, "latest")).port(80);
    let tg = lb.target_group("admin-frontend")?;
    let svc = stack.add(
        FargateService::builder()
            .logical_id("admin-frontend")
            .cluster(cluster)
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(256, 512))
            .containers(vec![frontend])
            .desired_count(if prod { 2 } else { 1 })
            .load_balancer(Attachment::new(tg.clone(), "frontend"))
            .log_group_name(log_group("admin-frontend"))
            .deploy_tag_opt(release.tag_for("admin-frontend").map(String::from))
            .build()?,
    );
    stack.add(Alarms::web_service("admin-frontend", &svc, &tg).notify(&topic));
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    Tool::new("delivery", Stage::Named("test".into()))
        .main(build)
        .await
}
