//! Seed 004, dougust: a NestJS backend on ECS Fargate, stages `dev` and `prod`.
//!
//! VPC `10.0.0.0/16` with public, private and isolated subnets in two zones and a NAT gateway per
//! zone (flow logs on); RDS PostgreSQL 16 Multi-AZ, `db.t3.medium` (prod `db.t3.large`), 100 GB
//! gp3 growing to 200 GB, its `DATABASE_URL` in `<stage>/dougust/database-url`; the JWT access
//! and refresh secrets generated into `<stage>/dougust/jwt-secret` and `jwt-refresh-secret`; an
//! ECR repository keeping the last 10 images and untagged ones 7 days; the `backend` service
//! (NestJS on :3000, 512 CPU / 1 GB dev, 1024 / 2 GB prod) behind an ALB with sticky sessions,
//! 2 to 10 tasks on CPU 70 % and memory 80 %, circuit breaker with rollback, Container Insights;
//! alarms (CPU, memory, error rate, target health, ELB 5xx, database CPU, storage,
//! connections) to an encrypted SNS topic, and a dashboard.
//!
//! Inputs from the environment (read before any API call):
//! - `DOUGUST_CERTIFICATE_ARN` (optional): the ACM certificate of the HTTPS listener; with it
//!   HTTP answers with a redirect to HTTPS, without it the plan warns that traffic is plain HTTP.
//! - `DOUGUST_ALERT_EMAIL` (optional): who gets the alarms (a pending subscription until they
//!   confirm the email AWS sends).
//!
//! ```sh
//! dougust plan --stage dev
//! dougust apply --stage prod --state-bucket dougust-tf-state --lock-table dougust-tf-locks
//! dougust deploy --stage prod --image 1.4.2
//! ```

use std::process::ExitCode;

use skyforge::compute::{
    Attachment, Autoscaling, Cluster, Container, ContainerHealth, FargateService, Image, ScaleOn,
    TaskSize,
};
use skyforge::core::{Environment, Result, Stack, Stage};
use skyforge::database::{Postgres, Storage};
use skyforge::loadbalancing::{HealthCheck, LoadBalancer, Route};
use skyforge::monitoring::{Alarms, Dashboard, Subscription, Topic};
use skyforge::network::{Azs, FlowLogs, Nat, Network, SecurityGroup, Tier};
use skyforge::registry::{Lifecycle, Repository};
use skyforge::secrets::{Generator, Secret, SecretValue};
use skyforge_examples::Release;

/// Storage the database starts with, GB (the alarms' free-storage threshold is 20 % of it).
const DB_STORAGE_GB: u32 = 100;

pub(crate) fn build(env: &Environment, release: &Release) -> Result<Stack> {
    let prod = env.stage() == &Stage::Prod;
    let stage = env.stage().as_str().to_string();
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![
                Tier::public("public", 24),
                Tier::private("app", 22),
                Tier::isolated("data", 24),
            ])
            .nat(Nat::PerAz)
            .flow_logs(FlowLogs::all())
            .build()?,
    );
    net.export(&mut stack);
    let certificates: Vec<String> = std::env::var("DOUGUST_CERTIFICATE_ARN")
        .into_iter()
        .collect();
    let lb = LoadBalancer::builder()
        .logical_id("public")
        .vpc(net.vpc_id())
        .subnets(net.public())
        .routes(vec![
            Route::default_route("backend", 3000)
                .health(HealthCheck::path("/health"))
                .sticky(3600),
        ])
        .certificates(certificates);
    let lb = stack.add(lb.build()?);
    let tg = lb.target_group("backend")?;
    stack.export("url", lb.dns_name());
    let repo = stack.add(
        Repository::builder()
            .logical_id("backend")
            .lifecycle(Lifecycle::new().expire_untagged_after_days(7).keep_last(10))
            .build()?,
    );
    stack.export("repository_uri", repo.uri());
    let jwt = stack.add(
        Secret::builder()
            .logical_id("jwt-secret")
            .name(format!("{stage}/dougust/jwt-secret"))
            .value(SecretValue::generated(Generator::signing_key()))
            .build()?,
    );
    let jwt_refresh = stack.add(
        Secret::builder()
            .logical_id("jwt-refresh-secret")
            .name(format!("{stage}/dougust/jwt-refresh-secret"))
            .value(SecretValue::generated(Generator::signing_key()))
            .build()?,
    );
    // The tasks' group, made first so that the database can allow it.
    let tasks = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("backend-tasks")
            .description("Tasks of the backend service")
            .build()?,
    );
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .allow_from(vec![tasks.clone()])
            .version("16")
            .class(if prod { "db.t3.large" } else { "db.t3.medium" })
            .storage(Storage::gp3(DB_STORAGE_GB).autoscale_to(2 * DB_STORAGE_GB))
            .multi_az(true)
            .url_secret_name(format!("{stage}/dougust/database-url"))
            .build()?,
    );
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let (cpu, memory) = if prod { (1024, 2048) } else { (512, 1024) };
    let svc = FargateService::builder()
        .logical_id("backend")
        .cluster(cluster)
        .vpc(net.vpc_id())
        .subnets(net.private())
        .size(TaskSize::new(cpu, memory))
        .containers(vec![
            Container::new("backend", Image::registry(&repo, "latest"))
                .port(3000)
                .env("NODE_ENV", if prod { "production" } else { "development" })
                .env("PORT", "3000")
                .secret("JWT_SECRET", jwt.whole())
                .secret("JWT_REFRESH_SECRET", jwt_refresh.whole())
                .secret("DATABASE_URL", db.url())
                .health(ContainerHealth::shell(
                    "wget -qO- http://localhost:3000/health || exit 1",
                )),
        ])
        .desired_count(2)
        .load_balancer(Attachment::new(tg.clone(), "backend"))
        .security_group(tasks)
        .autoscaling(
            Autoscaling::between(2, 10)
                .on(ScaleOn::Cpu(70.0))
                .on(ScaleOn::Memory(80.0)),
        )
        .deploy_tag_opt(release.tag_for("backend").map(String::from))
        .build()?;
    let svc = stack.add(svc);
    let mut topic = Topic::new("alerts");
    if let Ok(email) = std::env::var("DOUGUST_ALERT_EMAIL") {
        topic = topic.subscribe(Subscription::Email(email));
    }
    let topic = stack.add(topic);
    stack.add(Alarms::web_service("backend", &svc, &tg).notify(&topic));
    stack.add(Alarms::load_balancer("public", &lb).notify(&topic));
    stack.add(Alarms::database(&db, DB_STORAGE_GB).notify(&topic));
    stack.add(
        Dashboard::new("overview")
            .service("backend", &svc)
            .load_balancer(&lb)
            .target_group("backend", &tg)
            .database(&db),
    );
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    skyforge_examples::main_with("dougust", Stage::Named("dev".into()), build).await
}
