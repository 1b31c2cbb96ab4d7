//! The registry crate's own errors, convertible into `skyforge_core::Error` (as its `Area`
//! variant, from which [`skyforge_core::Error::area_error`] gives them back).

use skyforge_core::ResourceId;

/// What can go wrong in the registry crate beyond validation and AWS errors (which stay core's).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A repository outside an ephemeral stage still holds images: it is not deleted with them.
    #[error(
        "{resource}: {repository} still holds images; delete them first (only ephemeral stages delete images with the repository)"
    )]
    NotEmpty {
        /// The repository resource.
        resource: ResourceId,
        /// Its name.
        repository: String,
    },
    /// A request could not be built from the spec (an SDK builder refused it).
    #[error("{resource}: {message}")]
    Request {
        /// The resource.
        resource: ResourceId,
        /// The builder's message.
        message: String,
    },
}

impl From<Error> for skyforge_core::Error {
    fn from(e: Error) -> Self {
        skyforge_core::Error::area(e)
    }
}
