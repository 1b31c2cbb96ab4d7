//! The load-balancing kinds' orphan listers: load balancers and target groups named with the
//! stack's prefix and carrying its ownership tags (every page). Listeners and rules go with
//! their load balancer.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::common::{client, tags_of};
use crate::lb::KIND_LB;
use crate::target_group::KIND_TG;

/// Register the load-balancing kinds' listers with `stack` (done by adding a load balancer).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Kind(KIND_LB));
    stack.own_kind(Kind(KIND_TG));
}

struct Kind(&'static str);

impl Kind {
    async fn named(&self, ctx: &Context) -> Result<Vec<(String, String)>> {
        let elb = client(ctx);
        let rid = ResourceId::new(self.0, "*");
        let mut out = Vec::new();
        if self.0 == KIND_LB {
            let pages: Vec<_> = elb
                .describe_load_balancers()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| Error::aws(&rid, "DescribeLoadBalancers", e))?;
            for lb in pages.iter().flat_map(|p| p.load_balancers()) {
                if let (Some(n), Some(a)) = (lb.load_balancer_name(), lb.load_balancer_arn()) {
                    out.push((n.to_string(), a.to_string()));
                }
            }
        } else {
            for g in crate::target_group::all(ctx, &rid).await?.iter() {
                if let (Some(n), Some(a)) = (g.target_group_name(), g.target_group_arn()) {
                    out.push((n.to_string(), a.to_string()));
                }
            }
        }
        let prefix: String = ctx.env().prefix().chars().take(16).collect();
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
        Some(if self.0 == KIND_LB {
            crate::lb::LB_PERMISSIONS.for_orphans()
        } else {
            crate::target_group::TG_PERMISSIONS.for_orphans()
        })
    }
    fn service(&self) -> &'static str {
        "elbv2"
    }
    fn inside(&self) -> &'static [&'static str] {
        &[]
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(self.0, "*");
        let named = self.named(ctx).await?;
        let arns: Vec<String> = named.iter().map(|(_, a)| a.clone()).collect();
        let mut found = Vec::new();
        for (arn, t) in tags_of(ctx, &rid, &arns).await? {
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, arn));
            }
        }
        Ok(found)
    }
    async fn holds_data(&self, _: &Context, _: &Owned) -> Result<bool> {
        Ok(false)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        if self.0 == KIND_LB {
            let rid = ResourceId::new(KIND_LB, owned.logical_id.clone());
            crate::lb::delete(ctx, guard, &rid, &owned.physical_id).await
        } else {
            crate::target_group::delete(ctx, guard, &owned.physical_id).await
        }
    }
}
