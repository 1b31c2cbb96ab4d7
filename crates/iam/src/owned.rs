//! Orphan listing of roles: IAM has no tag filter, so roles are listed by the stack's name
//! prefix and kept when their tags name this stack.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::node::{KIND_ROLE, client, delete_role};

/// Register the `iam_role` kind for orphan listing (once per stack; every crate adding roles
/// calls it).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Roles);
}

struct Roles;

/// `<project>-<stage>[-<owner>]-`: the start every role name of the stack shares.
fn prefix(env: &skyforge_core::Environment) -> String {
    let mut segments = vec![env.project_name(), env.stage().as_str()];
    if let Some(o) = env.owner_id() {
        segments.push(o);
    }
    format!("{}-", segments.join("-"))
}

/// The logical id of a listed entity whose tags (its `List*Tags` answer) name this stack;
/// `None` when they do not, or when it was deleted since the listing (by another run).
fn ours(ctx: &Context, listed: Result<Vec<aws_sdk_iam::types::Tag>>) -> Result<Option<String>> {
    let Some(t) = skyforge_core::none_if_aws_code(listed, &["NoSuchEntity"])? else {
        return Ok(None);
    };
    let t: Tags = crate::node::from_iam_tags(&t);
    Ok(tags::owned_logical_id(&t, ctx.env()))
}

#[async_trait]
impl OwnedKind for Roles {
    fn kind(&self) -> &'static str {
        KIND_ROLE
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(crate::node::ROLE_PERMISSIONS.for_orphans_listed_by(&["iam:ListRoles", "iam:GetRole"]))
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let iam = client(ctx);
        let rid = ResourceId::new(KIND_ROLE, "*");
        let p = prefix(ctx.env());
        let roles: Vec<_> = iam
            .list_roles()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListRoles", e))?;
        let mut found = Vec::new();
        for r in roles.iter().filter(|r| r.role_name().starts_with(&p)) {
            // GetRole answers with the tags, and the role's observation reads it too.
            let Some(role) = crate::node::get_role(ctx, &rid, r.role_name()).await? else {
                continue;
            };
            if let Some(l) = ours(ctx, Ok(role.tags().to_vec()))? {
                found.push(Owned::new(l, r.role_name()));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_ROLE, &owned.logical_id);
        delete_role(ctx, guard, &rid, &owned.physical_id).await
    }
}

/// Register the `iam_policy` kind for orphan listing (a stack with managed policies).
pub(crate) fn register_policy_kind(stack: &mut Stack) {
    stack.own_kind(Policies);
}

struct Policies;

#[async_trait]
impl OwnedKind for Policies {
    fn kind(&self) -> &'static str {
        crate::managed::KIND_POLICY
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::managed::POLICY_PERMISSIONS
                .for_orphans_listed_by(&["iam:ListPolicies", "iam:ListPolicyTags"]),
        )
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let iam = client(ctx);
        let rid = ResourceId::new(crate::managed::KIND_POLICY, "*");
        let p = prefix(ctx.env());
        let policies: Vec<_> = iam
            .list_policies()
            .scope(aws_sdk_iam::types::PolicyScopeType::Local)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListPolicies", e))?;
        let mut found = Vec::new();
        for pol in policies {
            let (Some(name), Some(arn)) = (pol.policy_name(), pol.arn()) else {
                continue;
            };
            if !name.starts_with(&p) {
                continue;
            }
            let t = iam.list_policy_tags().policy_arn(arn).send().await;
            let t = t.map(|t| t.tags().to_vec());
            if let Some(l) = ours(ctx, t.map_err(|e| Error::aws(&rid, "ListPolicyTags", e)))? {
                found.push(Owned::new(l, arn));
            }
        }
        Ok(found)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(crate::managed::KIND_POLICY, &owned.logical_id);
        crate::managed::delete_policy(ctx, guard, &rid, &owned.physical_id).await
    }
}
