//! What a stack owns but no longer declares: orphans.
//!
//! Every resource kind that can be left behind registers an [`OwnedKind`] with the stack
//! ([`crate::Stack::own_kind`]; the area crates' components do it for the kinds they create).
//! At plan time each registered kind lists the resources carrying the stack's ownership tags (or,
//! where a service has no tags, its deterministic names). Whatever is listed but not declared, or
//! is a second copy of a declared resource (left by an interrupted create-before-destroy), is an
//! orphan: the plan shows it as a deletion, and apply deletes it in the engine's reverse order.

use std::collections::BTreeMap;

use async_trait::async_trait;

use crate::context::Context;
use crate::error::Result;
use crate::plan::ResourceId;
use crate::resource::Guard;

/// One resource found by a kind's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owned {
    /// The logical id from its `skyforge:logical-id` tag (or derived from its name).
    pub logical_id: String,
    /// Its physical id, in the same form the kind's `observe` reports.
    pub physical_id: String,
    /// Whatever the kind needs to delete it without a spec (a rule's group and direction, a
    /// table's associations): never secrets.
    pub detail: BTreeMap<String, String>,
}

impl Owned {
    /// A listed resource with no detail.
    pub fn new(logical_id: impl Into<String>, physical_id: impl Into<String>) -> Self {
        Owned {
            logical_id: logical_id.into(),
            physical_id: physical_id.into(),
            detail: BTreeMap::new(),
        }
    }
    /// Add one detail.
    pub fn with(mut self, key: &str, value: impl Into<String>) -> Self {
        self.detail.insert(key.to_string(), value.into());
        self
    }
    /// A detail, or an empty string.
    pub fn get(&self, key: &str) -> &str {
        self.detail.get(key).map(String::as_str).unwrap_or("")
    }
}

/// A resource kind whose resources the stack can list by ownership, and delete without a spec.
#[async_trait]
pub trait OwnedKind: Send + Sync {
    /// The kind, as in [`ResourceId::kind`] (`subnet`).
    fn kind(&self) -> &'static str;
    /// The AWS service its calls go to (the executor's concurrency bucket).
    fn service(&self) -> &'static str;
    /// Kinds this kind lives in or uses (`subnet` lives in `vpc`): an orphan is deleted before
    /// any deleted or replaced resource of those kinds.
    fn inside(&self) -> &'static [&'static str] {
        &[]
    }
    /// The IAM actions listing and deleting this kind need (its nodes' `observe` and `delete`);
    /// `None` while undeclared.
    fn permissions(&self) -> Option<crate::Permissions> {
        None
    }
    /// The name patterns of this kind's resources (`alva-staging-*`), for resource types whose
    /// ARNs carry a name and whose delete AWS cannot condition on tags. Orphans of other types
    /// are scoped by the stack's ownership tag.
    fn arn_names(&self, _env: &crate::Environment) -> Vec<crate::ArnName> {
        Vec::new()
    }
    /// Whether its listing may answer from an eventually consistent source while planning (the
    /// plan's tag index, `tag_index` with the feature `tag-index`): an orphan it finds is then kept only if a second
    /// listing outside the plan, which reads every resource from its service, finds it too.
    fn listing_may_lag(&self) -> bool {
        false
    }
    /// Every resource of this kind that carries the stack's ownership tags, of every page.
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>>;
    /// Whether deleting it loses data (a secret's value, a repository's images).
    async fn holds_data(&self, _ctx: &Context, _owned: &Owned) -> Result<bool> {
        Ok(false)
    }
    /// Delete it; succeed if it is already gone. Every mutating call goes through `guard`.
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()>;
}

/// The id an orphan is shown under: its kind and logical id, or for a second copy of a declared
/// resource `logical#physical` (two entries of a plan never share an id).
pub(crate) fn orphan_id(kind: &str, owned: &Owned, duplicate: bool) -> ResourceId {
    if duplicate {
        ResourceId::new(kind, format!("{}#{}", owned.logical_id, owned.physical_id))
    } else {
        ResourceId::new(kind, owned.logical_id.clone())
    }
}
