//! The cache subnet group: the cache's private or isolated subnets, as the network crate's
//! subnet-group node with ElastiCache's calls.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::Tags;
use skyforge_core::{Context, Environment, Error, Guard, Observed, ResourceId, Result};
use skyforge_network::service_subnets::{DescribedGroup, SubnetGroupApi};

use crate::group::{client, ec_tags, tags_of};

/// Resource kind `cache_subnet_group`.
pub const KIND_SUBNET_GROUP: &str = "cache_subnet_group";

/// ElastiCache's subnet-group calls.
pub(crate) struct ElastiCache;

/// The node adding a cache subnet group.
pub(crate) type SubnetGroupNode = skyforge_network::service_subnets::SubnetGroupNode<ElastiCache>;

pub(crate) fn group_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::CacheSubnetGroup, logical).unwrap_or_default()
}

#[async_trait]
impl SubnetGroupApi for ElastiCache {
    const RESOURCE_TYPE: &'static str = "elasticache:subnetgroup";
    const KIND: &'static str = KIND_SUBNET_GROUP;
    const SERVICE: &'static str = "elasticache";
    const PERMISSIONS: Permissions = Permissions {
        observe: &[
            "elasticache:DescribeCacheSubnetGroups",
            "elasticache:ListTagsForResource",
            skyforge_core::tag_index::ACTION,
        ],
        create: &[
            "elasticache:CreateCacheSubnetGroup",
            "elasticache:AddTagsToResource",
        ],
        update: &[
            "elasticache:ModifyCacheSubnetGroup",
            "elasticache:AddTagsToResource",
            "elasticache:RemoveTagsFromResource",
        ],
        delete: &["elasticache:DeleteCacheSubnetGroup"],
    };
    fn name(env: &Environment, logical: &str) -> String {
        group_name(env, logical)
    }
    async fn describe(
        ctx: &Context,
        rid: &ResourceId,
        name: &str,
    ) -> Result<Option<DescribedGroup>> {
        let r = client(ctx)
            .describe_cache_subnet_groups()
            .cache_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeCacheSubnetGroups", e));
        let out = skyforge_core::none_if_aws_code(r, &["CacheSubnetGroupNotFoundFault"])?;
        let Some(g) = out.and_then(|o| o.cache_subnet_groups().first().cloned()) else {
            return Ok(None);
        };
        let arn = g.arn().unwrap_or_default().to_string();
        Ok(Some(DescribedGroup {
            name: g.cache_subnet_group_name().unwrap_or_default().to_string(),
            tags: tags_of(ctx, rid, &arn).await?,
            arn,
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_string))
                .collect(),
        }))
    }
    async fn create(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
        tags: &Tags,
    ) -> Result<()> {
        let req = client(ctx)
            .create_cache_subnet_group()
            .cache_subnet_group_name(name)
            .cache_subnet_group_description(format!(
                "skyforge {}",
                skyforge_core::tags::stack_name(ctx.env())
            ))
            .set_subnet_ids(Some(subnet_ids))
            .set_tags(Some(ec_tags(tags)));
        guard
            .send(
                "CreateCacheSubnetGroup",
                &["CacheSubnetGroupAlreadyExists"],
                req.send(),
            )
            .await
    }
    async fn set_subnets(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
    ) -> Result<()> {
        let req = client(ctx)
            .modify_cache_subnet_group()
            .cache_subnet_group_name(name)
            .set_subnet_ids(Some(subnet_ids));
        guard.send("ModifyCacheSubnetGroup", &[], req.send()).await
    }
    async fn sync_tags(
        ctx: &Context,
        guard: &Guard,
        arn: &str,
        desired: &Tags,
        observed: &Observed,
    ) -> Result<()> {
        crate::tagging::sync(ctx, guard, arn, desired, observed).await
    }
    async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
        delete(ctx, guard, name).await
    }
}

/// ElastiCache keeps a subnet group "in use" for a while after its last cluster is deleted.
const STILL_IN_USE: skyforge_core::NotYet<'static> = skyforge_core::NotYet::codes(
    &["CacheSubnetGroupInUse"],
    std::time::Duration::from_secs(10 * 60),
);

/// Delete subnet group `name`; success when it is already gone. Retried while ElastiCache still
/// counts a deleted cluster in it.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let elasticache = client(ctx);
    guard
        .send_until(
            ctx,
            STILL_IN_USE,
            "DeleteCacheSubnetGroup",
            &["CacheSubnetGroupNotFoundFault"],
            || {
                elasticache
                    .delete_cache_subnet_group()
                    .cache_subnet_group_name(name)
                    .send()
            },
        )
        .await
}
