//! A service deploy to copy: a two-zone network with one NAT gateway, a repository, a cluster,
//! the database URL as a secret, and the `api` service (two tasks) whose migration
//! (`pnpm db:migrate`) runs before every rollout of a new image.
//!
//! ```sh
//! deploy_demo apply                          # first deploy, image tag v1 (migrates)
//! deploy_demo deploy --image v2              # new revision, migration, watched rollout
//! deploy_demo rollback --service api         # back to the previous revision
//! deploy_demo destroy
//! ```

use std::process::ExitCode;

use skyforge::compute::{Cluster, Container, FargateService, Image, Migration, TaskSize};
use skyforge::core::{Environment, Result, Stack, Stage};
use skyforge::network::{Azs, Nat, Network, Tier};
use skyforge::registry::Repository;
use skyforge::secrets::{Secret, SecretValue, Source};
use skyforge_examples::Release;

fn build(env: &Environment, release: &Release) -> Result<Stack> {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.90.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()?,
    );
    let repo = stack.add(Repository::builder().logical_id("api").build()?);
    let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
    let db = stack.add(
        Secret::builder()
            .logical_id("database")
            .value(SecretValue::json([("url", Source::env("DATABASE_URL"))]))
            .build()?,
    );
    let api = FargateService::builder()
        .logical_id("api")
        .cluster(cluster)
        .vpc(net.vpc_id())
        .subnets(net.private())
        .size(TaskSize::new(512, 1024))
        .containers(vec![
            Container::new("api", Image::registry(&repo, "v1"))
                .port(3001)
                .secret("DATABASE_URL", db.key("url")?),
        ])
        .desired_count(2)
        .migration(Migration::command(["pnpm", "db:migrate"]))
        .deploy_tag_opt(release.tag_for("api").map(String::from))
        .build()?;
    stack.add(api);
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    skyforge_examples::main_with("deploydemo", Stage::Staging, build).await
}
