//! The cache kinds' orphan listers: what this stack owns in ElastiCache and CloudWatch Logs,
//! found by ownership tags (every page).

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::component::KIND_LOG_GROUP;
use crate::group::{KIND_GROUP, client, tags_of};
use crate::parameter_group::KIND_PARAMETER_GROUP;
use crate::subnet_group::KIND_SUBNET_GROUP;

/// Register the cache kinds' listers with `stack` (done by adding a cache).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Kind(KIND_GROUP));
    stack.own_kind(Kind(KIND_SUBNET_GROUP));
    stack.own_kind(Kind(KIND_PARAMETER_GROUP));
    skyforge_logs::register_prefix(stack, KIND_LOG_GROUP, |env| {
        format!("/aws/elasticache/{}", env.prefix().to_ascii_lowercase())
    });
}

struct Kind(&'static str);

impl Kind {
    /// (name, arn) of every resource of this kind named with the stack's prefix.
    async fn named(&self, ctx: &Context) -> Result<Vec<(String, String)>> {
        let ec = client(ctx);
        let rid = ResourceId::new(self.0, "*");
        let mut out: Vec<(String, String)> = Vec::new();
        let pair = |n: Option<&str>, a: Option<&str>| Some((n?.to_string(), a?.to_string()));
        match self.0 {
            KIND_GROUP => {
                let pages: Vec<_> = ec
                    .describe_replication_groups()
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| Error::aws(&rid, "DescribeReplicationGroups", e))?;
                out.extend(
                    pages
                        .iter()
                        .flat_map(|p| p.replication_groups())
                        .filter(|g| g.status() != Some("deleting"))
                        .filter_map(|g| pair(g.replication_group_id(), g.arn())),
                );
            }
            KIND_SUBNET_GROUP => {
                let pages: Vec<_> = ec
                    .describe_cache_subnet_groups()
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| Error::aws(&rid, "DescribeCacheSubnetGroups", e))?;
                out.extend(
                    pages
                        .iter()
                        .flat_map(|p| p.cache_subnet_groups())
                        .filter_map(|g| pair(g.cache_subnet_group_name(), g.arn())),
                );
            }
            _ => {
                let pages: Vec<_> = ec
                    .describe_cache_parameter_groups()
                    .into_paginator()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| Error::aws(&rid, "DescribeCacheParameterGroups", e))?;
                out.extend(
                    pages
                        .iter()
                        .flat_map(|p| p.cache_parameter_groups())
                        .filter_map(|g| pair(g.cache_parameter_group_name(), g.arn())),
                );
            }
        }
        let prefix = ctx.env().prefix().to_ascii_lowercase();
        out.retain(|(n, _)| n.starts_with(&prefix));
        Ok(out)
    }
}

#[async_trait]
impl OwnedKind for Kind {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn permissions(&self) -> Option<Permissions> {
        let p = match self.0 {
            KIND_GROUP => crate::group::GROUP_PERMISSIONS,
            crate::parameter_group::KIND_PARAMETER_GROUP => {
                crate::parameter_group::PARAMETER_GROUP_PERMISSIONS
            }
            _ => <crate::subnet_group::ElastiCache as skyforge_network::service_subnets::SubnetGroupApi>::PERMISSIONS,
        };
        Some(p.for_orphans())
    }
    fn service(&self) -> &'static str {
        "elasticache"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    fn inside(&self) -> &'static [&'static str] {
        if self.0 == KIND_GROUP {
            &[]
        } else {
            &[KIND_GROUP]
        }
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(self.0, "*");
        let mut found = Vec::new();
        for (name, arn) in self.named(ctx).await? {
            let t = tags_of(ctx, &rid, &arn).await;
            let Some(t) = skyforge_core::none_if_aws_code(
                t,
                &[
                    "InvalidARN",
                    "ReplicationGroupNotFoundFault",
                    "CacheSubnetGroupNotFoundFault",
                    "CacheParameterGroupNotFound",
                ],
            )?
            else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn holds_data(&self, _: &Context, _: &Owned) -> Result<bool> {
        Ok(self.0 == KIND_GROUP)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        match self.0 {
            KIND_GROUP => {
                let rid = ResourceId::new(KIND_GROUP, owned.logical_id.clone());
                let snapshot = !ctx.env().is_ephemeral();
                crate::delete::group(ctx, guard, &rid, &owned.physical_id, snapshot).await
            }
            KIND_SUBNET_GROUP => crate::subnet_group::delete(ctx, guard, &owned.physical_id).await,
            _ => crate::parameter_group::delete(ctx, guard, &owned.physical_id).await,
        }
    }
}
