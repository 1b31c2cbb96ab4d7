//! Seed 002, SpendSense: a FastAPI backend on ECS Fargate in `us-west-1`, stages `dev` (the
//! seed's name for staging) and `prod`.
//!
//! VPC `10.1.0.0/16` with public and private subnets in two zones (one NAT gateway in dev, one
//! per zone in prod); an ALB, HTTPS on 443 with the ACM certificate given (HTTP redirected),
//! forwarding to the backend on :8000 with the seed's health check (`/health` every 30 s, 5 s
//! timeout, 2 / 2 thresholds, 30 s deregistration delay); the `backend` service, 512 CPU / 1 GB
//! in dev and 1024 / 2 GB in prod, 2 to 10 tasks on CPU 70 %, memory 80 % and 1,000 requests
//! per target per minute, its container health check as in the seed; RDS PostgreSQL 16 with
//! 30-day backups (`db.t3.micro`; Multi-AZ `db.t3.medium` in prod); Redis 7.1 (a replica in
//! prod); a private, versioned, encrypted S3 bucket the task role may read and write; the JWT
//! secret (generated) and the OAuth credentials in Secrets Manager; 30-day log
//! groups (the application's, plus `access` and `errors`); the seed's alarms (CPU over 80 %,
//! memory over 90 %, errors over 1 %, unhealthy targets) to an SNS topic.
//!
//! `--owner chuong` puts the owner id in every name the seed lists (VPC, bucket, database and
//! its subnet and parameter groups, security groups, secrets), for several copies of a stage in
//! one shared account. The region is `us-west-1` unless `--region` says otherwise. State goes
//! to S3 with a DynamoDB lock table: `--state-bucket`, `--lock-table` (`--bootstrap` makes them).
//!
//! Inputs from the environment, checked before any API call: `SPENDSENSE_OAUTH_CLIENT_ID` and
//! `SPENDSENSE_OAUTH_CLIENT_SECRET` (the identity provider's credentials);
//! `SPENDSENSE_CERTIFICATE_ARN`, required in prod (HTTPS on 443), optional in dev (plain HTTP
//! on 80 and a warning in the plan without it).
//!
//! ```sh
//! spendsense plan --stage dev --owner chuong
//! spendsense apply --stage prod --state-bucket spendsense-tf-state --lock-table spendsense-tf-locks
//! ```

use std::process::ExitCode;

use skyforge::cache::Redis;
use skyforge::compute::{
    Attachment, Autoscaling, Cluster, Container, ContainerHealth, FargateService, Image, ScaleOn,
    TaskSize,
};
use skyforge::core::{Environment, Error, Result, Stack, Stage};
use skyforge::database::{Postgres, Storage};
use skyforge::loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge::logs::LogGroup;
use skyforge::monitoring::{Alarms, Subscription, Topic};
use skyforge::network::{Azs, Nat, Network, SecurityGroup, Tier};
use skyforge::registry::Repository;
use skyforge::secrets::{Generator, Secret, SecretValue, Source};
use skyforge::storage::{Access, Bucket};
use skyforge_examples::{NoArgs, Release, Tool};

/// The port uvicorn listens on.
const PORT: u16 = 8000;
/// Kind of the application's own log groups.
const APP_LOGS: &str = "app_log_group";
/// Log retention, days (the seed's).
const LOG_DAYS: u32 = 30;

fn required(var: &str, what: &str) -> Result<String> {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(Error::validation(
            var,
            "(unset)",
            format!("{what}: set it in the environment"),
        )),
    }
}

fn certificate(prod: bool) -> Result<Vec<String>> {
    match std::env::var("SPENDSENSE_CERTIFICATE_ARN") {
        Ok(arn) if !arn.trim().is_empty() => Ok(vec![arn]),
        _ if prod => required(
            "SPENDSENSE_CERTIFICATE_ARN",
            "prod serves HTTPS on 443: the ACM certificate's ARN",
        )
        .map(|a| vec![a]),
        _ => Ok(vec![]),
    }
}

pub(crate) fn build(env: &Environment, release: &Release, _: &NoArgs) -> Result<Stack> {
    let prod = env.stage() == &Stage::Prod;
    required("SPENDSENSE_OAUTH_CLIENT_ID", "the OAuth client id")?;
    required("SPENDSENSE_OAUTH_CLIENT_SECRET", "the OAuth client secret")?;
    let certificates = certificate(prod)?;
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.1.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(if prod { Nat::PerAz } else { Nat::Single })
            .build()?,
    );
    net.export(&mut stack);
    let health = HealthCheck {
        interval_secs: 30,
        ..HealthCheck::path("/health")
    };
    let lb = stack.add(
        LoadBalancer::builder()
            .logical_id("public")
            .vpc(net.vpc_id())
            .subnets(net.public())
            .certificates(certificates)
            .routes(vec![
                Route::default_route("backend", PORT)
                    .health(health)
                    .deregistration_delay(30),
            ])
            .build()?,
    );
    stack.export("url", lb.dns_name());
    let repo = stack.add(Repository::builder().logical_id("backend").build()?);
    stack.export("repository_uri", repo.uri());
    let uploads = stack.add(Bucket::builder().logical_id("files").build()?);
    stack.export("bucket", uploads.name());
    let secret = |logical: &str, value: SecretValue| {
        Secret::builder()
            .logical_id(logical)
            .name(format!("{}-{logical}", env.prefix()))
            .value(value)
            .build()
    };
    let jwt = stack.add(secret(
        "jwt-secret",
        SecretValue::generated(Generator::signing_key()),
    )?);
    let oauth = stack.add(secret(
        "oauth",
        SecretValue::json([
            ("client_id", Source::env("SPENDSENSE_OAUTH_CLIENT_ID")),
            (
                "client_secret",
                Source::env("SPENDSENSE_OAUTH_CLIENT_SECRET"),
            ),
        ]),
    )?);
    // The backend's group, made first so that the database and the cache can allow it.
    let tasks = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("backend-tasks")
            .description("Tasks of the SpendSense backend")
            .build()?,
    );
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![tasks.clone()])
            .version("16")
            .class(if prod { "db.t3.medium" } else { "db.t3.micro" })
            .storage(Storage::gp3(20).autoscale_to(100))
            .multi_az(prod)
            .backup_retention_days(30)
            .url_secret_name(format!("{}-database-url", env.prefix()))
            .build()?,
    );
    let cache = stack.add(
        Redis::builder()
            .logical_id("cache")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![tasks.clone()])
            .version("7.1")
            .node_type(if prod {
                "cache.t3.small"
            } else {
                "cache.t3.micro"
            })
            // Prod is highly available: a replica in the other zone, automatic failover.
            .replicas(if prod { 1 } else { 0 })
            .build()?,
    );
    // The access and error logs the application ships itself, next to the service's own.
    skyforge::logs::register_prefix(&mut stack, APP_LOGS, |env| {
        format!("/ecs/{}-backend/", env.prefix())
    });
    for stream in ["access", "errors"] {
        stack.add(LogGroup::new(
            APP_LOGS,
            format!("backend-{stream}"),
            format!("/ecs/{}-backend/{stream}", env.prefix()),
            LOG_DAYS,
        ));
    }
    let container = Container::new("backend", Image::registry(&repo, "latest"))
        .port(PORT)
        .env("ENVIRONMENT", env.stage().as_str())
        .env("LOG_LEVEL", if prod { "INFO" } else { "DEBUG" })
        .env("S3_BUCKET", uploads.name())
        .secret("DATABASE_URL", db.url())
        .secret("REDIS_URL", cache.url())
        .secret("JWT_SECRET_KEY", jwt.whole())
        .secret("OAUTH_CLIENT_ID", oauth.key("client_id")?)
        .secret("OAUTH_CLIENT_SECRET", oauth.key("client_secret")?)
        .health(
            ContainerHealth::shell(format!("curl -f http://localhost:{PORT}/health || exit 1"))
                .interval(30)
                .timeout(5)
                .start_period(60)
                .retries(3),
        );
    let (cpu, memory) = if prod { (1024, 2048) } else { (512, 1024) };
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let tg = lb.target_group("backend")?;
    let svc = stack.add(
        FargateService::builder()
            .logical_id("backend")
            .cluster(cluster)
            .vpc(net.vpc_id())
            .subnets(net.private())
            .size(TaskSize::new(cpu, memory))
            .containers(vec![container])
            .desired_count(2)
            .load_balancer(Attachment::new(tg.clone(), "backend"))
            .security_group(tasks)
            .grants(uploads.grant(Access::ReadWrite))
            .autoscaling(
                Autoscaling::between(2, 10)
                    .on(ScaleOn::Cpu(70.0))
                    .on(ScaleOn::Memory(80.0))
                    .on(ScaleOn::RequestsPerTarget(1000.0)),
            )
            .log_group_name(format!("/ecs/{}-backend", env.prefix()))
            .log_retention_days(LOG_DAYS)
            .deploy_tag_opt(release.tag_for("backend").map(String::from))
            .build()?,
    );
    let mut topic = Topic::new("alerts");
    if let Ok(email) = std::env::var("SPENDSENSE_ALERT_EMAIL") {
        topic = topic.subscribe(Subscription::Email(email));
    }
    let topic = stack.add(topic);
    stack.add(
        Alarms::web_service("backend", &svc, &tg)
            .with(|a| {
                a.cpu_percent = Some(80.0);
                a.memory_percent = Some(90.0);
                a.error_rate_percent = Some(1.0);
            })
            .notify(&topic),
    );
    stack.add(Alarms::database(&db, 20).notify(&topic));
    stack.add(Alarms::cache(&cache).notify(&topic));
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    Tool::new("spendsense", Stage::Named("dev".into()))
        .region("us-west-1")
        .main(build)
        .await
}
