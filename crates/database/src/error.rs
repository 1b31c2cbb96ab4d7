//! The database crate's own errors, converted into [`skyforge_core::Error::Area`].

use skyforge_core::ResourceId;

/// What can go wrong in this crate beyond an AWS call or a validation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A major version upgrade without the explicit flag.
    #[error(
        "{resource}: upgrading PostgreSQL from major {from} to {to} needs allow_major_version_upgrade(true) (the new family's parameter group is created first)"
    )]
    MajorUpgradeNotAllowed {
        /// The resource.
        resource: ResourceId,
        /// The major now.
        from: String,
        /// The major wanted.
        to: String,
    },
}

impl From<Error> for skyforge_core::Error {
    fn from(e: Error) -> Self {
        skyforge_core::Error::area(e)
    }
}
