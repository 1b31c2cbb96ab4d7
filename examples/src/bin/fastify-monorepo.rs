//! Seed 001, a Fastify monorepo's backend ("AWS-native scalable" of the seed): the API on ECS
//! Fargate behind an ALB, stages `staging` and `prod` (the Next.js frontend stays on Vercel).
//!
//! A two-zone network (public and private subnets, one NAT gateway; prod one per zone); an ALB
//! forwarding to the API on :3000 with its health check on `/health`; an ECR repository the CI
//! pipeline pushes to; RDS PostgreSQL `db.t3.micro` with 20 GB gp2 (the seed's free-tier
//! configuration; Multi-AZ in prod), reachable only from the API's security group, its
//! credentials and `DATABASE_URL` in Secrets Manager; Redis for the backend's caching; the
//! migration as a one-off task before each rollout (`npm run db:migrate`); the web-service
//! alarms.
//!
//! Redis, as the seed weighs it: `--redis elasticache` (the default in prod) is a managed
//! `cache.t3.micro` the tasks share; `--redis sidecar` (the default elsewhere) runs Redis in each
//! task on loopback, for an MVP with one task: its data lives as long as the task. With the
//! sidecar the service runs exactly one task, so a prod stage with the sidecar is refused before
//! any API call (each of its tasks would have a cache of its own).
//!
//! ```sh
//! fastify-monorepo plan --stage staging
//! fastify-monorepo apply --stage prod --state-bucket acme-tf-state --lock-table acme-tf-locks
//! fastify-monorepo deploy --stage prod --image "$GITHUB_SHA"
//! ```

use std::process::ExitCode;

use clap::ValueEnum;
use skyforge::cache::Redis;
use skyforge::compute::{
    Attachment, Autoscaling, Cluster, Container, ContainerHealth, FargateService, Image, Migration,
    ScaleOn, TaskSize,
};
use skyforge::core::{Environment, Error, Result, Stack, Stage};
use skyforge::database::{Postgres, Storage};
use skyforge::loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge::monitoring::{Alarms, Topic};
use skyforge::network::{Azs, Nat, Network, SecurityGroup, Tier};
use skyforge::registry::{Lifecycle, Repository};
use skyforge_examples::{Release, Tool};

/// Where the backend's Redis runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RedisMode {
    /// A managed ElastiCache Redis the tasks share.
    Elasticache,
    /// Redis inside each task, on loopback (one task, data lost with it).
    Sidecar,
}

/// The monorepo's own options.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Args {
    /// Where Redis runs; default `elasticache` in prod, `sidecar` elsewhere.
    #[arg(long, global = true, value_enum)]
    redis: Option<RedisMode>,
}

/// The port Fastify listens on.
const PORT: u16 = 3000;
/// The sidecar's port (loopback inside the task).
const REDIS_PORT: u16 = 6379;

fn redis_mode(env: &Environment, args: &Args) -> Result<RedisMode> {
    let prod = env.stage() == &Stage::Prod;
    let mode = args.redis.unwrap_or(if prod {
        RedisMode::Elasticache
    } else {
        RedisMode::Sidecar
    });
    if prod && mode == RedisMode::Sidecar {
        return Err(Error::validation(
            "--redis",
            "sidecar",
            "prod runs two or more tasks and the sidecar gives each its own cache: use elasticache",
        ));
    }
    Ok(mode)
}

pub(crate) fn build(env: &Environment, release: &Release, args: &Args) -> Result<Stack> {
    let mode = redis_mode(env, args)?;
    let prod = env.stage() == &Stage::Prod;
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.40.0.0/16")
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
                Route::default_route("api", PORT).health(HealthCheck::path("/health")),
            ])
            .build()?,
    );
    stack.export("api_url", lb.dns_name());
    let repo = stack.add(
        Repository::builder()
            .logical_id("api")
            .lifecycle(Lifecycle::new().expire_untagged_after_days(7).keep_last(30))
            .build()?,
    );
    stack.export("repository_uri", repo.uri());
    // The API's group, made first so that the database and the cache can allow it.
    let tasks = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("api-tasks")
            .description("Tasks of the Fastify API")
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
            .multi_az(prod)
            .build()?,
    );
    let mut containers = vec![];
    let mut api = Container::new("api", Image::registry(&repo, "latest"))
        .port(PORT)
        .env("NODE_ENV", "production")
        .env("PORT", PORT.to_string())
        .env("HOST", "0.0.0.0")
        .secret("DATABASE_URL", db.url())
        .health(ContainerHealth::shell(format!(
            "wget -qO- http://127.0.0.1:{PORT}/health || exit 1"
        )));
    api = match mode {
        RedisMode::Elasticache => {
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
            api.secret("REDIS_URL", cache.url())
        }
        RedisMode::Sidecar => {
            containers.push(Container::redis_sidecar(REDIS_PORT));
            api.env("REDIS_URL", format!("redis://127.0.0.1:{REDIS_PORT}"))
        }
    };
    containers.insert(0, api);
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let tg = lb.target_group("api")?;
    let scaling = (mode == RedisMode::Elasticache)
        .then(|| Autoscaling::between(2, if prod { 6 } else { 3 }).on(ScaleOn::Cpu(70.0)));
    let svc = stack.add(
        FargateService::builder()
            .logical_id("api")
            .cluster(cluster)
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(512, 1024))
            .containers(containers)
            .desired_count(if mode == RedisMode::Sidecar { 1 } else { 2 })
            .load_balancer(Attachment::new(tg.clone(), "api"))
            .security_group(tasks)
            .autoscaling_opt(scaling)
            .migration(Migration::command(["npm", "run", "db:migrate"]))
            .deploy_tag_opt(release.tag_for("api").map(String::from))
            .build()?,
    );
    let topic = stack.add(Topic::new("alerts"));
    stack.add(Alarms::web_service("api", &svc, &tg).notify(&topic));
    stack.add(Alarms::database(&db, 20).notify(&topic));
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    Tool::new("fastify", Stage::Staging).main(build).await
}
