//! The harness's ElastiCache refuses and passes through what AWS does (docs/testing.md).

use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::Tag;
use skyforge_core::Error;
use skyforge_integration_tests::TestStack;

use crate::smoke::{subnets, teardown_network, vpc};

const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz012345";

fn code<T, E, R>(r: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>) -> String
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match r {
        Ok(_) => "accepted".into(),
        Err(e) => Error::aws("cache", "op", e)
            .aws_code()
            .unwrap_or_default()
            .to_string(),
    }
}

async fn group(ec: &Client, id: &str, subnet_group: &str) -> String {
    code(
        ec.create_replication_group()
            .replication_group_id(id)
            .replication_group_description("test")
            .engine("redis")
            .engine_version("7.1")
            .cache_node_type("cache.t3.micro")
            .num_cache_clusters(2)
            .automatic_failover_enabled(true)
            .transit_encryption_enabled(true)
            .at_rest_encryption_enabled(true)
            .auth_token(TOKEN)
            .cache_subnet_group_name(subnet_group)
            .send()
            .await,
    )
}

#[tokio::test]
async fn replication_groups_are_checked_modified_and_protect_their_subnet_group() {
    let t = TestStack::new().await;
    let (ec2, vpc_id) = vpc(&t).await;
    let subs = subnets(&t, &ec2, &vpc_id).await;
    let ec = t.ctx.client(Client::new);
    let sg = format!("{}-cache", t.app);
    ec.create_cache_subnet_group()
        .cache_subnet_group_name(&sg)
        .cache_subnet_group_description("cache")
        .set_subnet_ids(Some(subs.clone()))
        .send()
        .await
        .unwrap();
    let id = format!("{}-rg", t.app);
    let base = || {
        ec.create_replication_group()
            .replication_group_id(&id)
            .replication_group_description("t")
            .cache_node_type("cache.t3.micro")
            .cache_subnet_group_name(&sg)
    };
    // What AWS refuses.
    let refused = [
        code(base().auth_token(TOKEN).send().await),
        code(
            base()
                .transit_encryption_enabled(true)
                .auth_token("short")
                .send()
                .await,
        ),
        code(
            base()
                .transit_encryption_enabled(true)
                .auth_token("has space in it 0123")
                .send()
                .await,
        ),
        code(
            base()
                .automatic_failover_enabled(true)
                .num_cache_clusters(1)
                .send()
                .await,
        ),
        code(
            base()
                .multi_az_enabled(true)
                .num_cache_clusters(2)
                .send()
                .await,
        ),
        code(
            ec.create_replication_group()
                .replication_group_id(&id)
                .replication_group_description("t")
                .cache_node_type("cache.nope.huge")
                .send()
                .await,
        ),
    ];
    assert_eq!(
        refused,
        [
            "InvalidParameterValue",
            "InvalidParameterValue",
            "InvalidParameterValue",
            "InvalidParameterValue",
            "InvalidParameterCombination",
            "InvalidParameterValue"
        ]
    );
    assert_eq!(group(&ec, &id, &sg).await, "accepted");
    // One member cluster per node, each knowing the group's subnet group and version.
    let members = ec
        .describe_cache_clusters()
        .send()
        .await
        .unwrap()
        .cache_clusters()
        .iter()
        .filter(|c| c.replication_group_id() == Some(id.as_str()))
        .map(|c| {
            (
                c.cache_cluster_id().unwrap_or_default().to_string(),
                c.cache_subnet_group_name().unwrap_or_default().to_string(),
                c.engine_version().unwrap_or_default().to_string(),
            )
        })
        .collect::<Vec<_>>();
    assert_eq!(
        members,
        [
            (format!("{id}-001"), sg.clone(), "7.1".to_string()),
            (format!("{id}-002"), sg.clone(), "7.1".to_string())
        ]
    );

    // A deferred node-type change is pending on the members; the type stays.
    ec.modify_replication_group()
        .replication_group_id(&id)
        .cache_node_type("cache.t3.small")
        .apply_immediately(false)
        .send()
        .await
        .unwrap();
    let c = ec
        .describe_cache_clusters()
        .cache_cluster_id(format!("{id}-001"))
        .send()
        .await
        .unwrap();
    let c = &c.cache_clusters()[0];
    assert_eq!(c.cache_node_type(), Some("cache.t3.micro"));
    assert_eq!(
        c.pending_modified_values()
            .and_then(|p| p.cache_node_type()),
        Some("cache.t3.small")
    );
    // A replica less with failover on is refused; failover off first, then it is accepted.
    let r = ec
        .decrease_replica_count()
        .replication_group_id(&id)
        .new_replica_count(0)
        .apply_immediately(true)
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterCombination");
    // Tags: added, listed, removed.
    let arn = ec
        .describe_replication_groups()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap()
        .replication_groups()[0]
        .arn()
        .unwrap()
        .to_string();
    ec.add_tags_to_resource()
        .resource_name(&arn)
        .tags(Tag::builder().key("team").value("a").build())
        .send()
        .await
        .unwrap();
    let tags = ec
        .list_tags_for_resource()
        .resource_name(&arn)
        .send()
        .await
        .unwrap();
    assert!(tags.tag_list().iter().any(|t| t.key() == Some("team")));

    // The subnet group is in use.
    let r = ec
        .delete_cache_subnet_group()
        .cache_subnet_group_name(&sg)
        .send()
        .await;
    assert_eq!(code(r), "CacheSubnetGroupInUse");
    ec.delete_replication_group()
        .replication_group_id(&id)
        .send()
        .await
        .unwrap();
    ec.delete_cache_subnet_group()
        .cache_subnet_group_name(&sg)
        .send()
        .await
        .unwrap();
    teardown_network(&ec2, &vpc_id, &subs).await;
}

#[tokio::test]
async fn cache_parameter_groups_check_families_and_use() {
    let t = TestStack::new().await;
    let ec = t.ctx.client(Client::new);
    let name = format!("{}-redis7", t.app);
    let bad = ec
        .create_cache_parameter_group()
        .cache_parameter_group_name(&name)
        .cache_parameter_group_family("redis99")
        .description("x")
        .send()
        .await;
    assert_eq!(code(bad), "InvalidParameterValue");
    ec.create_cache_parameter_group()
        .cache_parameter_group_name(&name)
        .cache_parameter_group_family("redis7")
        .description("x")
        .send()
        .await
        .unwrap();
    ec.modify_cache_parameter_group()
        .cache_parameter_group_name(&name)
        .parameter_name_values(
            aws_sdk_elasticache::types::ParameterNameValue::builder()
                .parameter_name("maxmemory-policy")
                .parameter_value("allkeys-lru")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let p = ec
        .describe_cache_parameters()
        .cache_parameter_group_name(&name)
        .source("user")
        .send()
        .await
        .unwrap();
    assert_eq!(p.parameters()[0].parameter_value(), Some("allkeys-lru"));
    // A redis7 group cannot serve a 6.x group.
    let r = ec
        .create_replication_group()
        .replication_group_id(format!("{}-six", t.app))
        .replication_group_description("t")
        .cache_node_type("cache.t3.micro")
        .engine_version("6.2")
        .cache_parameter_group_name(&name)
        .send()
        .await;
    assert_eq!(code(r), "InvalidParameterCombination");
    ec.delete_cache_parameter_group()
        .cache_parameter_group_name(&name)
        .send()
        .await
        .unwrap();
}
