//! Plans of seed 003's staging cache and a prod cache with a replica, compared with snapshots
//! (insta; see docs/testing.md).

use skyforge_cache::{Redis, RedisUrl};
use skyforge_core::{Environment, Plan, ResourceId, Result, Stack, Stage};
use skyforge_network::{Azs, Nat, Network, SecurityGroup, Tier};

fn stack_with(env: Environment, replicas: u32) -> Result<(Stack, skyforge_cache::CacheHandle)> {
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
            .nat(Nat::Single)
            .build()?,
    );
    let api = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("api")
            .description("API tasks")
            .build()?,
    );
    let cache = stack.add(
        Redis::builder()
            .logical_id("cache")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![api])
            .version("7.1")
            .node_type(if replicas > 0 {
                "cache.t3.small"
            } else {
                "cache.t3.micro"
            })
            .replicas(replicas)
            .maintenance_window("sun:03:00-sun:04:00")
            .build()?,
    );
    Ok((stack, cache))
}

fn cache_part(plan: &Plan) -> String {
    let text = plan.to_string();
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if line.contains(" resource \"") {
            keep = ["cache_", "secret", "security_group"]
                .iter()
                .any(|k| line.contains(&format!("\"{k}")));
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

/// Seed 003 (alva, staging): cache.t3.micro, one node, Redis 7.1, reachable from the API only.
#[test]
fn seed_003_staging_cache_plan() {
    let env = Environment::new("alva", Stage::Staging).region("us-east-1");
    let (stack, _) = stack_with(env, 0).unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("003-staging", cache_part(&plan));
    let g = plan
        .get(&ResourceId::new("cache_replication_group", "cache"))
        .expect("planned");
    assert!(
        g.depends_on.iter().any(|d| d.kind == "secret"),
        "{:?}",
        g.depends_on
    );
    assert!(
        plan.warnings.is_empty() || !plan.to_string().contains("no replica"),
        "{plan}"
    );
}

/// Prod: a replica with automatic failover and Multi-AZ.
#[test]
fn prod_cache_with_a_replica_plan() {
    let env = Environment::new("alva", Stage::Prod).region("us-east-1");
    let (stack, cache) = stack_with(env, 1).unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("prod", cache_part(&plan));
    let text = plan.to_string();
    assert!(text.contains("automatic_failover         = true"), "{text}");
    assert!(text.contains("multi_az                   = true"), "{text}");
    assert_eq!(cache.redis_url(), RedisUrl::Secret(cache.url()));
    assert_ne!(RedisUrl::sidecar(6379), cache.redis_url());
}
