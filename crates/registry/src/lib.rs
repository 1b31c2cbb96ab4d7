//! # skyforge-registry
//!
//! ECR repositories, one per service: scan on push, immutable tags and encryption by default,
//! lifecycle policies from a small builder, an optional repository policy, force deletion only
//! for ephemeral stages, and the repository URI as output. Depends only on `aws-sdk-ecr`.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_registry::{Lifecycle, Repository};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
//! for service in ["web", "api", "auth", "admin"] {
//!     let repo = stack.add(
//!         Repository::builder()
//!             .logical_id(service)
//!             .lifecycle(Lifecycle::new().expire_untagged_after_days(7).keep_last(10))
//!             .build()?,
//!     );
//!     stack.export(format!("{service}.repository_uri"), repo.uri());
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod error;
mod lifecycle;
mod owned;
mod repository;

pub use error::Error;
pub use lifecycle::{Count, Lifecycle, LifecycleRule, TagStatus};
pub use owned::register_kinds;
pub use repository::{
    Encryption, KIND_REPOSITORY, Repository, RepositoryHandle, RepositorySpec,
    RepositorySpecBuilder, valid_repository_name,
};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
