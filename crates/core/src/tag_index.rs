//! The plan's tag index (feature `tag-index`): the tags of a kind's resources from one paginated
//! `tag:GetResources` (the Resource Groups Tagging API, filtered by the stack's tag and the
//! kind's resource type) instead of one `ListTagsForResource` per resource.
//!
//! CloudWatch alarms, log groups, SSM parameters, ECR repositories, SNS topics, KMS keys and
//! ElastiCache's groups have no call that returns the tags of many resources, so a plan read them
//! one by one. The tagging API answers for all of a kind at once, but it is eventually
//! consistent: a resource created or retagged a moment ago may be missing or show its old tags.
//! So its answer is trusted only where it cannot lead to a change:
//!
//! - a node's tags come from the index only when they are the full desired set of the logical
//!   id they carry (nothing to change); anything else (missing, drifted, another stack's) is
//!   read from the service, consistently, as before;
//! - an orphan found through the index is deleted only if a second listing of its kind outside
//!   the plan (every tag read from the service) finds it too
//!   ([`crate::OwnedKind::listing_may_lag`]).
//!
//! If `GetResources` fails (a deploy policy from before this index, without
//! `tag:GetResources`), the plan logs a warning and reads each resource's tags as before.
//! Outside a plan (apply, waits) tags are always read from the service.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_resourcegroupstagging::types::TagFilter;

use crate::context::Context;
use crate::error::Result;
use crate::tags::{self, Tags};

/// The IAM action the index needs (a read authorized only against `*`).
pub const ACTION: &str = "tag:GetResources";

/// A resource type the index covers.
#[derive(Debug, Clone, Copy)]
pub struct IndexedType {
    /// `service:type` as `GetResources`'s `ResourceTypeFilters` spell it (`logs:log-group`).
    pub filter: &'static str,
    /// The key the kind reads a resource's tags by, from the ARN the API answers with.
    pub key: fn(&str) -> Option<String>,
}

impl IndexedType {
    /// A type whose kind reads tags by the resource's ARN, as the tagging API spells it.
    pub const fn by_arn(filter: &'static str) -> Self {
        IndexedType {
            filter,
            key: arn_itself,
        }
    }
}

fn arn_itself(arn: &str) -> Option<String> {
    Some(arn.to_string())
}

/// The tags of the resource `key` of type `ty` (`None`: it is gone). While planning: from the
/// plan's index when they are the full desired tag set of the logical id they carry, else
/// `read` once per plan ([`tags::read_once`]). Outside a plan: `read`.
pub async fn read_tags<F, Fut>(
    ctx: &Context,
    ty: IndexedType,
    key: &str,
    read: F,
) -> Result<Option<Tags>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Tags>>>,
{
    if ctx.planning() {
        let index = index(ctx, ty).await?;
        if let Some(t) = index.get(key).filter(|t| steady(t, ctx.env())) {
            return Ok(Some(t.clone()));
        }
    }
    tags::read_once(ctx, key, read).await
}

/// Whether `found` is exactly what the stack wants on the resource of the logical id it names:
/// its ownership tags and the environment's user tags, and no other `skyforge:` key.
fn steady(found: &Tags, env: &crate::Environment) -> bool {
    found
        .get(tags::LOGICAL_ID)
        .is_some_and(|l| tags::diff_tags(&tags::resource_tags(env, l), found).is_empty())
}

/// The stack's resources of type `ty` with their tags, by the kind's key: fetched once per plan.
async fn index(ctx: &Context, ty: IndexedType) -> Result<Arc<HashMap<String, Tags>>> {
    ctx.memo(&format!("tag-index:{}", ty.filter), || async {
        Ok(fetch(ctx, ty).await)
    })
    .await
}

async fn fetch(ctx: &Context, ty: IndexedType) -> HashMap<String, Tags> {
    let filter = TagFilter::builder()
        .key(tags::STACK)
        .values(tags::stack_name(ctx.env()))
        .build();
    let pages: std::result::Result<Vec<_>, _> = ctx
        .client(aws_sdk_resourcegroupstagging::Client::new)
        .get_resources()
        .tag_filters(filter)
        .resource_type_filters(ty.filter)
        .resources_per_page(100)
        .into_paginator()
        .send()
        .try_collect()
        .await;
    let pages = match pages {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(
                resource_type = ty.filter,
                error = %aws_sdk_resourcegroupstagging::error::DisplayErrorContext(&e),
                "tag:GetResources failed; reading each resource's tags instead"
            );
            return HashMap::new();
        }
    };
    pages
        .iter()
        .flat_map(|p| p.resource_tag_mapping_list())
        .filter_map(|m| {
            let key = (ty.key)(m.resource_arn()?)?;
            let t = m.tags().iter();
            Some((key, t.map(|t| (t.key().into(), t.value().into())).collect()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, Stage};

    fn env() -> Environment {
        Environment::new("alva", Stage::Staging).tag("team", "core")
    }

    #[test]
    fn only_the_full_desired_set_is_steady() {
        let env = env();
        let want = tags::resource_tags(&env, "app");
        assert!(steady(&want, &env));
        let mut extra = want.clone();
        extra.insert("aws:cloudformation:stack-name".into(), "x".into());
        assert!(steady(&extra, &env), "foreign keys are not skyforge's");
        let mut old_user = want.clone();
        old_user.insert("team".into(), "web".into());
        assert!(!steady(&old_user, &env), "a changed user tag");
        let mut stale = want.clone();
        stale.insert("skyforge:rotation".into(), "1".into());
        assert!(!steady(&stale, &env), "a skyforge key the set lacks");
        let mut no_id = want;
        no_id.remove(tags::LOGICAL_ID);
        assert!(!steady(&no_id, &env));
        let other = tags::resource_tags(&Environment::new("alva", Stage::Prod), "app");
        assert!(!steady(&other, &env), "another stack's");
    }
}
