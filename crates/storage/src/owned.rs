//! The bucket kind's orphan lister: buckets named with the stack's prefix and carrying its
//! ownership tags.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{Context, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::bucket::KIND_BUCKET;
use crate::s3::{client, empty_and_delete, has_objects, tags_of};

/// Register the bucket kind's lister with `stack` (done by adding a bucket).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Buckets);
}

struct Buckets;

#[async_trait]
impl OwnedKind for Buckets {
    fn kind(&self) -> &'static str {
        KIND_BUCKET
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(crate::bucket::BUCKET_PERMISSIONS.for_orphans_listed_by(&[
            "s3:ListAllMyBuckets",
            "s3:GetBucketTagging",
            "s3:ListBucket",
        ]))
    }
    fn service(&self) -> &'static str {
        "s3"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(KIND_BUCKET, "*");
        let out = client(ctx)
            .list_buckets()
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "ListBuckets", e))?;
        let prefix = ctx.env().prefix().to_ascii_lowercase();
        let mut found = Vec::new();
        for b in out.buckets() {
            let Some(name) = b.name().filter(|n| n.starts_with(&prefix)) else {
                continue;
            };
            let t = tags_of(ctx, &rid, name).await;
            let Some(t) = skyforge_core::none_if_aws_code(t, &["NoSuchBucket"])? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, name));
            }
        }
        Ok(found)
    }
    async fn holds_data(&self, ctx: &Context, owned: &Owned) -> Result<bool> {
        has_objects(
            ctx,
            &ResourceId::new(KIND_BUCKET, owned.logical_id.clone()),
            &owned.physical_id,
        )
        .await
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_BUCKET, owned.logical_id.clone());
        empty_and_delete(ctx, guard, &rid, &owned.physical_id).await
    }
}
