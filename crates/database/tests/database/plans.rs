//! Plans of seed 003's staging database and seed 004's prod database, compared with snapshots
//! (insta; see docs/testing.md).

use skyforge_core::{Environment, Plan, ResourceId, Result, Stack, Stage};
use skyforge_database::{Postgres, Storage};
use skyforge_network::{Azs, Nat, Network, SecurityGroup, Tier};

fn network(stack: &mut Stack, tiers: Vec<Tier>) -> Result<skyforge_network::NetworkHandle> {
    Ok(stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(tiers)
            .nat(Nat::Single)
            .build()?,
    ))
}

fn app_group(
    stack: &mut Stack,
    vpc: skyforge_core::Ref<String>,
) -> Result<skyforge_network::GroupHandle> {
    Ok(stack.add(
        SecurityGroup::builder()
            .vpc(vpc)
            .name("app")
            .description("API tasks")
            .build()?,
    ))
}

/// Seed 003 (alva, staging): db.t3.micro, 20 GB gp2, single AZ, 7-day backups, private
/// subnets, reachable from the API only, the secret named `alva-staging-database`.
fn staging() -> Result<(Stack, skyforge_database::DatabaseHandle)> {
    let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
    let net = network(
        &mut stack,
        vec![Tier::public("public", 24), Tier::private("app", 22)],
    )?;
    let app = app_group(&mut stack, net.vpc_id())?;
    let db = stack.add(
        Postgres::builder()
            .logical_id("database")
            .vpc(net.vpc_id())
            .subnets(net.private())
            .allow_from(vec![app])
            .version("16")
            .class("db.t3.micro")
            .storage(Storage::gp2(20))
            .backup_retention_days(7)
            .url_secret_name("alva-staging-database")
            .build()?,
    );
    Ok((stack, db))
}

/// Seed 004 (dougust, prod): PostgreSQL 16, Multi-AZ, db.t3.large, 100 GB gp3 autoscaling to
/// 200, isolated subnets, maintenance Sunday 02:00-04:00, `prod/dougust/database-url`.
fn prod() -> Result<(Stack, skyforge_database::DatabaseHandle)> {
    let mut stack = Stack::new(Environment::new("dougust", Stage::Prod).region("us-east-1"));
    let net = network(
        &mut stack,
        vec![
            Tier::public("public", 24),
            Tier::private("app", 22),
            Tier::isolated("database", 24),
        ],
    )?;
    let app = app_group(&mut stack, net.vpc_id())?;
    let db = stack.add(
        Postgres::builder()
            .logical_id("db")
            .vpc(net.vpc_id())
            .subnets(net.isolated())
            .allow_from(vec![app])
            .version("16")
            .class("db.t3.large")
            .storage(Storage::gp3(100).autoscale_to(200))
            .backup_window("05:00-05:30")
            .maintenance_window("sun:02:00-sun:04:00")
            .url_secret_name("prod/dougust/database-url")
            .url_parameter("/dougust/prod/DATABASE_URL")
            .build()?,
    );
    Ok((stack, db))
}

fn database_part(plan: &Plan) -> String {
    // The network is covered by the network crate's snapshots: keep the database's resources.
    let text = plan.to_string();
    let mut out = String::new();
    let mut keep = false;
    for line in text.lines() {
        if line.contains(" resource \"") {
            keep = ["db_", "secret", "ssm_parameter", "security_group"]
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

#[test]
fn seed_003_staging_database_plan() {
    let (stack, _) = staging().unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("003-staging", database_part(&plan));
    let inst = plan
        .get(&ResourceId::new("db_instance", "database"))
        .expect("the instance is planned");
    let json = plan.to_json();
    assert!(json.contains("\"db.t3.micro\""), "{json}");
    // Staging: no Multi-AZ warning, protection on (staging is not ephemeral).
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        !warnings.iter().any(|w| w.contains("single-AZ")),
        "{warnings:?}"
    );
    assert!(inst.depends_on.len() >= 5, "{:?}", inst.depends_on);
}

#[test]
fn seed_004_prod_database_plan() {
    let (stack, db) = prod().unwrap();
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("004-prod", database_part(&plan));
    let warnings: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        warnings.iter().any(|w| w.contains("burstable")),
        "{warnings:?}"
    );
    assert!(db.url_parameter().is_some());
    for id in [
        ResourceId::new("db_subnet_group", "db"),
        ResourceId::new("db_parameter_group", "db"),
        ResourceId::new("db_log_group", "db-postgresql"),
        ResourceId::new("db_log_group", "db-upgrade"),
        ResourceId::new("secret", "db-credentials"),
        ResourceId::new("secret", "db-url"),
        ResourceId::new("ssm_parameter", "database-url"),
    ] {
        assert!(plan.get(&id).is_some(), "{id} missing:\n{plan}");
    }
}

#[test]
fn the_url_and_its_parts_are_typed_references() {
    let (_, db) = prod().unwrap();
    assert_eq!(db.url().json_key(), Some("url"));
    for k in skyforge_database::URL_KEYS {
        assert_eq!(db.key(k).unwrap().json_key(), Some(k));
    }
    let e = db.key("passwd").unwrap_err().to_string();
    assert!(e.contains("passwd"), "{e}");
}
