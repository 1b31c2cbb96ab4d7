//! Repositories as orphan listers: a repository carrying the stack's ownership tags but no longer
//! declared is deleted by the next apply. One that still holds images holds data: outside an
//! ephemeral stage its deletion needs an explicit allowance (`--allow-destroy
//! ecr_repository.ID`), and AWS refuses to delete it without `force` anyway.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::repository::KIND_REPOSITORY;

/// Register the repository kind with `stack` (the component does it; a tool that may drop every
/// repository from its spec calls it itself).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(RepositoriesKind);
}

/// Whether the repository `name` holds at least one image (one `ListImages` call).
pub(crate) async fn has_images(ctx: &Context, rid: &ResourceId, name: &str) -> Result<bool> {
    let out = crate::repository::client(ctx)
        .list_images()
        .repository_name(name)
        .max_results(1)
        .send()
        .await;
    match out {
        Ok(o) => Ok(!o.image_ids().is_empty()),
        Err(e) => {
            let e = Error::aws(rid, "ListImages", e);
            if e.has_aws_code(&["RepositoryNotFoundException"]) {
                Ok(false)
            } else {
                Err(e)
            }
        }
    }
}

/// ECR repositories whose names start with the stack's path (`project/stage/`), kept when their
/// tags name this stack; physical id: the name, as the repository node reports it.
struct RepositoriesKind;

#[async_trait]
impl OwnedKind for RepositoriesKind {
    fn kind(&self) -> &'static str {
        KIND_REPOSITORY
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::repository::REPOSITORY_PERMISSIONS.for_orphans_listed_by(&[
                "ecr:DescribeRepositories",
                "ecr:ListTagsForResource",
                skyforge_core::tag_index::ACTION,
            ]),
        )
    }
    fn service(&self) -> &'static str {
        "ecr"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let env = ctx.env();
        let prefix = format!("{}/{}/", env.project_name(), env.stage().as_str());
        let repos = crate::repository::all(ctx).await?;
        let mut found = Vec::new();
        for r in repos.iter() {
            let (Some(name), Some(arn)) = (r.repository_name(), r.repository_arn()) else {
                continue;
            };
            if !name.starts_with(&prefix) {
                continue;
            }
            // Deleted since the listing (by another run): nothing to own.
            let rid = "ecr_repository.*";
            let Some(t) = crate::repository::tags_of(ctx, rid, arn).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, env) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn holds_data(&self, ctx: &Context, owned: &Owned) -> Result<bool> {
        let rid = ResourceId::new(KIND_REPOSITORY, owned.logical_id.clone());
        has_images(ctx, &rid, &owned.physical_id).await
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_REPOSITORY, owned.logical_id.clone());
        crate::repository::delete_repository(ctx, guard, &rid, &owned.physical_id).await
    }
}
