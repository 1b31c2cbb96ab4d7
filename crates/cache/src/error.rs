//! The cache crate's own errors, converted into [`skyforge_core::Error::Area`].

use skyforge_core::ResourceId;

/// What can go wrong in this crate beyond an AWS call or a validation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The group is in a state where it cannot be planned on (being deleted).
    #[error("{resource}: the replication group is {state}; plan again once it is done")]
    Busy {
        /// The resource.
        resource: ResourceId,
        /// Its state.
        state: String,
    },
}

impl From<Error> for skyforge_core::Error {
    fn from(e: Error) -> Self {
        skyforge_core::Error::area(e)
    }
}
