//! Seed 001's reference deploy (`fastify-monorepo`), both stages: `staging` with Redis as a
//! sidecar (one task holding the API and Redis on loopback, no ElastiCache), `prod` with
//! ElastiCache (two tasks, `REDIS_URL` from the cache's secret, the sidecar refused before any
//! call), each applied, checked against the seed (the API on :3000 with `/health`, `db.t3.micro`
//! with 20 GB gp2), planned again with no changes, destroyed with the refused resources allowed,
//! the inventory left empty; the cost of both against hand-computed figures.

use crate::common::{Deploy, assert_costs, db_instance, require_endpoint, task_definition};
use skyforge_integration_tests::{TestStack, ecs_service};

fn fastify(stage: &str) -> Deploy {
    Deploy::new(env!("CARGO_BIN_EXE_fastify-monorepo"), "fst", stage)
}

async fn check_database(t: &TestStack, d: &Deploy, multi_az: bool) {
    let db = db_instance(t, &format!("{}-db", d.prefix())).await;
    assert_eq!(
        (
            db.db_instance_class(),
            db.allocated_storage(),
            db.storage_type(),
            db.multi_az()
        ),
        (Some("db.t3.micro"), Some(20), Some("gp2"), Some(multi_az))
    );
}

async fn check_staging(t: &TestStack, d: &Deploy) {
    let td = task_definition(t, "api").await;
    let names: Vec<_> = td
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    assert_eq!(names, ["api", "redis"]);
    let api = &td.container_definitions()[0];
    assert_eq!(api.port_mappings()[0].container_port(), Some(3000));
    let redis_url = api
        .environment()
        .iter()
        .find(|kv| kv.name() == Some("REDIS_URL"))
        .and_then(|kv| kv.value());
    assert_eq!(redis_url, Some("redis://127.0.0.1:6379"));
    assert_eq!(ecs_service(t, "main", "api").await.desired_count(), 1);
    check_database(t, d, false).await;
    let groups = t
        .ctx
        .client(aws_sdk_elasticache::Client::new)
        .describe_replication_groups()
        .send()
        .await
        .unwrap();
    assert!(
        !groups.replication_groups().iter().any(|g| g
            .replication_group_id()
            .unwrap_or_default()
            .starts_with(&d.prefix())),
        "no ElastiCache with the sidecar"
    );
}

#[test]
fn staging_with_the_redis_sidecar_converges_and_destroys() {
    require_endpoint();
    let d = fastify("staging");
    let outputs = d.up(async |t| check_staging(t, &d).await);
    assert!(
        outputs["api_url"]
            .as_str()
            .unwrap_or_default()
            .contains("elb"),
        "{outputs}"
    );
    d.down(&["db_instance.db"]);
}

#[test]
fn prod_with_elasticache_converges_and_refuses_the_sidecar() {
    require_endpoint();
    let d = fastify("prod");
    let a = d.raw(&["plan", "--redis", "sidecar"], &[]);
    assert!(
        a.code == Some(1) && a.text.contains("--redis") && a.text.contains("elasticache"),
        "{}",
        a.text
    );
    d.up(async |t| {
        let td = task_definition(t, "api").await;
        let api = &td.container_definitions()[0];
        assert_eq!(td.container_definitions().len(), 1, "no sidecar");
        assert!(
            api.secrets().iter().any(|s| s.name() == "REDIS_URL"),
            "REDIS_URL from the cache's secret"
        );
        assert_eq!(ecs_service(t, "main", "api").await.desired_count(), 2);
        check_database(t, &d, true).await;
    });
    d.down(&["db_instance.db", "cache_replication_group.cache"]);
}

#[test]
fn cost_of_both_stages_matches_the_hand_computed_figures() {
    assert_costs(
        |s| fastify(s).region("us-east-1"),
        &[("staging", 109.33), ("prod", 193.65)],
    );
}
