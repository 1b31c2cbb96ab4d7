//! Ownership tags.
//!
//! Every resource skyforge creates carries the ownership tag set (`skyforge:project`,
//! `skyforge:stage`, `skyforge:owner`, `skyforge:stack`, `skyforge:logical-id`,
//! `skyforge:managed-by`) plus the environment's user tags. Comparisons only look at the keys the
//! spec sets and at `skyforge:` keys, so tags added by AWS (`aws:*`) or by other tools never show
//! up as drift.

use std::collections::BTreeMap;

use crate::context::Context;
use crate::env::Environment;
use crate::error::{Error, Result};

/// Prefix of the keys skyforge owns.
pub const PREFIX: &str = "skyforge:";
/// `skyforge:project`
pub const PROJECT: &str = "skyforge:project";
/// `skyforge:stage`
pub const STAGE: &str = "skyforge:stage";
/// `skyforge:owner` (only when the environment has an owner)
pub const OWNER: &str = "skyforge:owner";
/// `skyforge:stack`
pub const STACK: &str = "skyforge:stack";
/// `skyforge:logical-id`
pub const LOGICAL_ID: &str = "skyforge:logical-id";
/// `skyforge:managed-by`
pub const MANAGED_BY: &str = "skyforge:managed-by";
/// Value of `skyforge:managed-by`.
pub const MANAGED_BY_VALUE: &str = "skyforge";

/// A tag set, ordered by key.
pub type Tags = BTreeMap<String, String>;

/// The stack name of an environment: its name prefix (`alva-staging`, `alva-staging-chuong`).
pub fn stack_name(env: &Environment) -> String {
    env.prefix()
}

/// The ownership tags identifying a stack (without logical id): what the inventory searches by.
pub fn stack_tags(env: &Environment) -> Tags {
    let mut t = Tags::new();
    t.insert(PROJECT.into(), env.project_name().into());
    t.insert(STAGE.into(), env.stage().as_str().into());
    if let Some(o) = env.owner_id() {
        t.insert(OWNER.into(), o.into());
    }
    t.insert(STACK.into(), stack_name(env));
    t.insert(MANAGED_BY.into(), MANAGED_BY_VALUE.into());
    t
}

/// The full desired tag set of one resource: user tags, then ownership tags (which win).
pub fn resource_tags(env: &Environment, logical_id: &str) -> Tags {
    let mut t: Tags = env.user_tags().clone();
    t.extend(stack_tags(env));
    t.insert(LOGICAL_ID.into(), logical_id.into());
    t
}

/// The tags of the resource `arn` as `read` fetches them (`None`: the resource is gone), read at
/// most once per plan: a node's observation and its kind's orphan listing both need them, and
/// share one request ([`Context::memo`], keyed by the ARN). Outside a plan every call reads.
pub async fn read_once<F, Fut>(ctx: &Context, arn: &str, read: F) -> Result<Option<Tags>>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<Option<Tags>>>,
{
    let t = ctx.memo(&format!("tags:{arn}"), read).await?;
    Ok(t.as_ref().clone())
}

/// Reject user tags in reserved namespaces or beyond AWS's limits (key 128, value 256).
pub fn validate_user_tags(tags: &Tags) -> Result<()> {
    if tags.len() > 40 {
        return Err(Error::validation(
            "environment.tags",
            format!("{} tags", tags.len()),
            "at most 40 user tags (AWS allows 50 per resource; skyforge uses up to 7)",
        ));
    }
    for (k, v) in tags {
        let field = format!("environment.tags[{k}]");
        if k.starts_with(PREFIX) || k.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::validation(
                field,
                k,
                "keys starting with `skyforge:` or `aws:` are reserved",
            ));
        }
        if k.is_empty() || k.len() > 128 {
            return Err(Error::validation(
                field,
                k,
                "key must be 1 to 128 characters",
            ));
        }
        if v.len() > 256 {
            return Err(Error::validation(
                field,
                v,
                "value must be at most 256 characters",
            ));
        }
    }
    Ok(())
}

/// Whether `observed` carries the ownership tags of `env`'s stack.
pub fn is_owned_by(observed: &Tags, env: &Environment) -> bool {
    stack_tags(env)
        .iter()
        .all(|(k, v)| observed.get(k) == Some(v))
}

/// The logical id a resource with tags `found` has in `env`'s stack, or `None` when it does not
/// carry the stack's ownership tags (or has no logical id): what orphan listers keep.
pub fn owned_logical_id(found: &Tags, env: &Environment) -> Option<String> {
    if is_owned_by(found, env) {
        found.get(LOGICAL_ID).cloned()
    } else {
        None
    }
}

/// Refuse a resource found by its deterministic name that does not carry `env`'s ownership
/// tags: it belongs to someone else, and skyforge must not adopt or change it.
pub fn ensure_owned(
    found: &Tags,
    env: &Environment,
    resource: &crate::plan::ResourceId,
    physical_id: &str,
) -> Result<()> {
    if is_owned_by(found, env) {
        return Ok(());
    }
    let detail = match found.get(STACK) {
        Some(other) => format!("it is owned by stack {other}"),
        None => "it exists without this stack's ownership tags".to_string(),
    };
    Err(Error::NotOwned {
        resource: resource.clone(),
        physical_id: physical_id.to_string(),
        detail,
    })
}

/// The tags held in an observed `tags` field (see [`managed_view`]); empty when absent.
pub fn from_field(v: Option<&crate::plan::Value>) -> Tags {
    v.and_then(crate::plan::Value::known)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// The changes that make `observed` match `desired` over the keys skyforge manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagDiff {
    /// Tags to add or overwrite.
    pub set: Tags,
    /// `skyforge:` keys present on the resource but no longer desired.
    pub remove: Vec<String>,
}

impl TagDiff {
    /// No change needed.
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// Compare tags over the keys skyforge manages: every desired key, and observed `skyforge:` keys.
/// Keys set by AWS or other tools are ignored.
pub fn diff_tags(desired: &Tags, observed: &Tags) -> TagDiff {
    let set = desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = observed
        .keys()
        .filter(|k| k.starts_with(PREFIX) && !desired.contains_key(*k))
        .cloned()
        .collect();
    TagDiff { set, remove }
}

/// Only the keys `diff_tags` looks at: for showing tags in a plan without foreign keys.
pub fn managed_view(desired: &Tags, observed: &Tags) -> Tags {
    observed
        .iter()
        .filter(|(k, _)| desired.contains_key(*k) || k.starts_with(PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
