//! The database kinds' orphan listers: what this stack owns in RDS and CloudWatch Logs, found by
//! ownership tags (every page), so a database removed from the spec is planned for deletion
//! (and, holding data, refused outside ephemeral stages unless allowed).

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::KIND_LOG_GROUP;
use crate::instance::{KIND_INSTANCE, client};
use crate::parameter_group::KIND_PARAMETER_GROUP;
use crate::subnet_group::{KIND_SUBNET_GROUP, tags_of};

/// Register the database kinds' listers with `stack` (done by adding a database).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Instances);
    stack.own_kind(Groups(KIND_SUBNET_GROUP));
    stack.own_kind(Groups(KIND_PARAMETER_GROUP));
    skyforge_logs::register_prefix(stack, KIND_LOG_GROUP, |env| {
        format!("/aws/rds/instance/{}", env.prefix().to_ascii_lowercase())
    });
}

struct Instances;

#[async_trait]
impl OwnedKind for Instances {
    fn kind(&self) -> &'static str {
        KIND_INSTANCE
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(crate::instance::INSTANCE_PERMISSIONS.for_orphans())
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let pages: Vec<_> = client(ctx)
            .describe_db_instances()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("db_instance.*", "DescribeDBInstances", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.db_instances())
            .filter_map(|i| {
                let t = crate::fields::instance_tags(i);
                let logical = tags::owned_logical_id(&t, ctx.env())?;
                Some(Owned::new(logical, i.db_instance_identifier()?))
            })
            .collect())
    }
    async fn holds_data(&self, _: &Context, _: &Owned) -> Result<bool> {
        Ok(true)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_INSTANCE, owned.logical_id.clone());
        let snapshot = !ctx.env().is_ephemeral();
        crate::delete::instance(ctx, guard, &rid, &owned.physical_id, snapshot).await
    }
}

/// Subnet and parameter groups: listed by name prefix (the stack's), then by tags.
struct Groups(&'static str);

impl Groups {
    async fn names(&self, ctx: &Context) -> Result<Vec<(String, String)>> {
        let rds = client(ctx);
        let mut out = Vec::new();
        if self.0 == KIND_SUBNET_GROUP {
            let pages: Vec<_> = rds
                .describe_db_subnet_groups()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| Error::aws("db_subnet_group.*", "DescribeDBSubnetGroups", e))?;
            for g in pages.iter().flat_map(|p| p.db_subnet_groups()) {
                if let (Some(n), Some(a)) = (g.db_subnet_group_name(), g.db_subnet_group_arn()) {
                    out.push((n.to_string(), a.to_string()));
                }
            }
        } else {
            let pages: Vec<_> = rds
                .describe_db_parameter_groups()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| Error::aws("db_parameter_group.*", "DescribeDBParameterGroups", e))?;
            for g in pages.iter().flat_map(|p| p.db_parameter_groups()) {
                if let (Some(n), Some(a)) =
                    (g.db_parameter_group_name(), g.db_parameter_group_arn())
                {
                    out.push((n.to_string(), a.to_string()));
                }
            }
        }
        let prefix = ctx.env().prefix().to_ascii_lowercase();
        out.retain(|(n, _)| n.starts_with(&prefix));
        Ok(out)
    }
}

#[async_trait]
impl OwnedKind for Groups {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn permissions(&self) -> Option<Permissions> {
        let p = if self.0 == crate::parameter_group::KIND_PARAMETER_GROUP {
            crate::parameter_group::PARAMETER_GROUP_PERMISSIONS
        } else {
            <crate::subnet_group::Rds as skyforge_network::service_subnets::SubnetGroupApi>::PERMISSIONS
        };
        Some(p.for_orphans())
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn inside(&self) -> &'static [&'static str] {
        &[KIND_INSTANCE]
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(self.0, "*");
        let mut found = Vec::new();
        for (name, arn) in self.names(ctx).await? {
            let t: Tags = tags_of(ctx, &rid, &arn).await?;
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        if self.0 == KIND_SUBNET_GROUP {
            crate::subnet_group::delete(ctx, guard, &owned.physical_id).await
        } else {
            crate::parameter_group::delete(ctx, guard, &owned.physical_id).await
        }
    }
}
