//! Seed 003, alva: four services on ECS Fargate, stage `staging` (and a `prod` variant with the
//! seed's "enable Multi-AZ for production").
//!
//! A two-zone network (public and private subnets, one NAT gateway); an ALB routing by path
//! (`/` web :3000, `/api/*` api :3001, `/auth/*` auth :3002, `/admin/*` admin :3003; host rules
//! can replace the paths); four ECR repositories; RDS PostgreSQL `db.t3.micro` single AZ, 20 GB,
//! its connection secret `alva-<stage>-database`; Redis `cache.t3.micro`; the secrets
//! `alva-<stage>-jwt-private-key`, `-jwt-public-key`, `-jwt-secret`, `-cookie-secret`,
//! `-openai-api-key`, `-resend-api-key`; Cloud Map `alva-<stage>.local` (api and auth); the
//! api's migration task; each service 0.5 vCPU / 1 GB with the seed's environment; the
//! web-service alarms and the load balancer's.
//!
//! Inputs from the environment, checked before any API call (a missing one is an error, never a
//! placeholder): `ALVA_JWT_PRIVATE_KEY` and `ALVA_JWT_PUBLIC_KEY` (the key pair the auth service
//! signs with and the others verify with), `ALVA_OPENAI_API_KEY`, `ALVA_RESEND_API_KEY`. The
//! JWT and cookie secrets and the database password are generated.
//!
//! ```sh
//! alva plan
//! alva apply --auto-approve --outputs outputs.json
//! alva deploy --image 2024.06.1 --service api
//! ```

use std::process::ExitCode;

use skyforge::cache::Redis;
use skyforge::compute::{
    Attachment, Cluster, Container, Discovery, FargateService, Image, Migration, Namespace,
    TaskSize,
};
use skyforge::core::{Environment, Error, Result, Stack, Stage};
use skyforge::database::{Postgres, Storage};
use skyforge::loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge::monitoring::{Alarms, Topic};
use skyforge::network::{Azs, Nat, Network, SecurityGroup, Tier};
use skyforge::registry::Repository;
use skyforge::secrets::{Generator, Secret, SecretHandle, SecretValue, Source};
use skyforge_examples::Release;

/// The environment variables the binary reads, and what each holds.
const INPUTS: [(&str, &str); 4] = [
    (
        "ALVA_JWT_PRIVATE_KEY",
        "the JWT signing key (PEM) of the auth service",
    ),
    ("ALVA_JWT_PUBLIC_KEY", "the matching public key (PEM)"),
    ("ALVA_OPENAI_API_KEY", "the OpenAI API key"),
    ("ALVA_RESEND_API_KEY", "the Resend API key"),
];

/// The services: logical id, port, path pattern (the default route has none).
const SERVICES: [(&str, u16, Option<&str>); 4] = [
    ("web", 3000, None),
    ("api", 3001, Some("/api/*")),
    ("auth", 3002, Some("/auth/*")),
    ("admin", 3003, Some("/admin/*")),
];

fn check_inputs() -> Result<()> {
    for (var, what) in INPUTS {
        if std::env::var(var).map_or(true, |v| v.trim().is_empty()) {
            return Err(Error::validation(
                var,
                "(unset)",
                format!(
                    "{what}: set it in the environment (it is stored in Secrets Manager, never in a plan)"
                ),
            ));
        }
    }
    Ok(())
}

fn secret(
    stack: &mut Stack,
    env: &Environment,
    logical: &str,
    value: SecretValue,
) -> Result<SecretHandle> {
    Ok(stack.add(
        Secret::builder()
            .logical_id(logical)
            .name(format!("{}-{logical}", env.prefix()))
            .value(value)
            .build()?,
    ))
}

pub(crate) fn build(env: &Environment, release: &Release) -> Result<Stack> {
    check_inputs()?;
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.30.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()?,
    );
    let routes = SERVICES
        .iter()
        .map(|(name, port, path)| match path {
            None => Route::default_route(*name, *port),
            Some(p) => Route::path(*name, [*p], *port),
        })
        .map(|r| r.health(HealthCheck::path("/health")))
        .collect();
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .routes(routes)
            .build()?,
    );
    stack.export("url", lb.dns_name());
    let env_secret = |var: &str| SecretValue::Single(Source::env(var));
    let jwt_private = secret(
        &mut stack,
        env,
        "jwt-private-key",
        env_secret("ALVA_JWT_PRIVATE_KEY"),
    )?;
    let jwt_public = secret(
        &mut stack,
        env,
        "jwt-public-key",
        env_secret("ALVA_JWT_PUBLIC_KEY"),
    )?;
    let jwt_secret = secret(
        &mut stack,
        env,
        "jwt-secret",
        SecretValue::generated(Generator::signing_key()),
    )?;
    let cookie = secret(
        &mut stack,
        env,
        "cookie-secret",
        SecretValue::generated(Generator::signing_key()),
    )?;
    let _openai = secret(
        &mut stack,
        env,
        "openai-api-key",
        env_secret("ALVA_OPENAI_API_KEY"),
    )?;
    let resend = secret(
        &mut stack,
        env,
        "resend-api-key",
        env_secret("ALVA_RESEND_API_KEY"),
    )?;
    // The services' group, made first so that the database and the cache can allow it.
    let tasks = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("tasks")
            .description("Tasks of the alva services")
            .build()?,
    );
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![tasks.clone()])
            .version("16")
            .class("db.t3.micro")
            .storage(Storage::gp2(20))
            .multi_az(env.stage() == &Stage::Prod)
            .url_secret_name(format!("{}-database", env.prefix()))
            .build()?,
    );
    let cache = stack.add(
        Redis::builder()
            .logical_id("cache")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![tasks.clone()])
            .version("7.1")
            .node_type("cache.t3.micro")
            .build()?,
    );
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let ns = stack.add(Namespace::private(
        "internal",
        format!("{}.local", env.prefix()),
        net.vpc_id(),
    )?);
    let topic = stack.add(Topic::new("alerts"));
    for (name, port, _) in SERVICES {
        let repo = stack.add(Repository::builder().logical_id(name).build()?);
        let mut c = Container::new(name, Image::registry(&repo, "latest"))
            .port(port)
            .env("NODE_ENV", "production")
            .env("PORT", port.to_string());
        c = match name {
            "web" | "admin" => c
                .env(
                    "NEXT_PUBLIC_API_URL",
                    format!("http://api.{}.local:3001", env.prefix()),
                )
                .env(
                    "NEXT_PUBLIC_AUTH_URL",
                    format!("http://auth.{}.local:3002", env.prefix()),
                ),
            "api" => c
                .secret("DATABASE_URL", db.url())
                .secret("REDIS_URL", cache.url())
                .secret("JWT_PUBLIC_KEY", jwt_public.whole())
                .secret("JWT_SECRET", jwt_secret.whole())
                .env("CORS_ORIGINS", lb.dns_name()),
            _ => c
                .secret("DATABASE_URL", db.url())
                .secret("JWT_PRIVATE_KEY", jwt_private.whole())
                .secret("JWT_PUBLIC_KEY", jwt_public.whole())
                .secret("COOKIE_SECRET", cookie.whole())
                .secret("RESEND_API_KEY", resend.whole())
                .env("CORS_ORIGINS", lb.dns_name()),
        };
        let tg = lb.target_group(name)?;
        let svc = FargateService::builder()
            .logical_id(name)
            .cluster(cluster.clone())
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(512, 1024))
            .containers(vec![c])
            .load_balancer(Attachment::new(tg.clone(), name))
            .security_group(tasks.clone())
            .discovery_opt(matches!(name, "api" | "auth").then(|| Discovery::new(&ns, name)))
            .migration_opt((name == "api").then(|| Migration::command(["pnpm", "db:migrate"])))
            .deploy_tag_opt(release.tag_for(name).map(String::from))
            .build()?;
        let svc = stack.add(svc);
        stack.add(Alarms::web_service(name, &svc, &tg).notify(&topic));
    }
    stack.add(Alarms::load_balancer("public", &lb).notify(&topic));
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    skyforge_examples::main_with("alva", Stage::Staging, build).await
}
