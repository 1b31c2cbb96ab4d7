//! The network crate's own errors, convertible into `skyforge_core::Error` (as its `Area`
//! variant, from which [`skyforge_core::Error::area_error`] gives them back).

use skyforge_core::ResourceId;

/// What can go wrong in the network crate beyond validation and AWS errors (which stay core's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A deletion is blocked by resources the stack does not own (an interface created by hand
    /// in a subnet or using a group); they never go away on their own.
    #[error("{resource}: {physical_id} is still in use by resources this stack does not own: {}", .blockers.join(", "))]
    Blocked {
        /// The resource that cannot be deleted.
        resource: ResourceId,
        /// Its physical id.
        physical_id: String,
        /// What uses it (`eni-0abc (hand-made; type interface; status available)`).
        blockers: Vec<String>,
    },
    /// More than one resource carries this stack's tags for one logical id.
    #[error("{resource}: {} resources carry this stack's tags for one logical id ({}); delete all but one", .physical_ids.len(), .physical_ids.join(", "))]
    Duplicates {
        /// The logical resource.
        resource: ResourceId,
        /// The copies found.
        physical_ids: Vec<String>,
    },
}

impl From<Error> for skyforge_core::Error {
    fn from(e: Error) -> Self {
        skyforge_core::Error::area(e)
    }
}
