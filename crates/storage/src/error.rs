//! The storage crate's own errors, converted into [`skyforge_core::Error::Area`].

use skyforge_core::ResourceId;

/// What can go wrong in this crate beyond an AWS call or a validation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The resource did not show up when it should have.
    #[error("{resource}: not visible {after}")]
    NotVisible {
        /// The resource.
        resource: ResourceId,
        /// When.
        after: &'static str,
    },
}

impl Error {
    pub(crate) fn not_visible(resource: ResourceId, after: &'static str) -> skyforge_core::Error {
        Error::NotVisible { resource, after }.into()
    }
}

impl From<Error> for skyforge_core::Error {
    fn from(e: Error) -> Self {
        skyforge_core::Error::area(e)
    }
}
