//! # skyforge-storage
//!
//! S3 buckets as stack resources, private and protected by default.
//!
//! - **Names** are derived and globally unique: the stack's prefix, the logical id, and a digest
//!   of the account (read once per plan from STS), the region and the owner.
//! - **Private and encrypted**: public access block all on, object ownership
//!   `BucketOwnerEnforced` (no ACLs), SSE-S3 (or SSE-KMS with bucket keys), a policy that denies
//!   requests without TLS, versioning, lifecycle rules (noncurrent versions expire after 30 days,
//!   incomplete uploads are aborted after 7, by default).
//! - **Drift** on policy, encryption, public access block, versioning, ownership, lifecycle and
//!   tags is put back; a policy opened to the public by hand is named in the plan.
//! - **Protection**: a bucket with objects holds data: outside ephemeral stages its deletion is
//!   refused unless the run allows `s3_bucket.<id>`, which then empties it (every version and
//!   delete marker) and deletes it.
//! - **Presets**: [`Bucket::for_alb_logs`] (the region's log-delivery principal, SSE-S3, logs
//!   expiring); **grants**: [`BucketHandle::grant`] gives a role's exact statements.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_storage::{Access, Bucket};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("shop", Stage::Prod).region("us-east-1"));
//! let uploads = stack.add(Bucket::builder().logical_id("uploads").build()?);
//! let logs = stack.add(Bucket::for_alb_logs("alb-logs", "us-east-1", 90)?);
//! # let _ = (uploads, logs, Access::Read);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod bucket;
mod component;
mod drift;
mod extras;
#[cfg(test)]
mod mock_tests;
mod owned;
mod policy;
mod s3;
mod spec;
mod validate;

pub use bucket::KIND_BUCKET;
pub use component::BucketHandle;
pub use extras::{AccessLogs, CORS_METHODS, CorsRule};
pub use owned::register_kinds;
pub use policy::{Access, grant_statements};
pub use skyforge_iam::KIND_ACCOUNT;
pub use spec::{Bucket, BucketSpec, BucketSpecBuilder, Encryption, LifecycleRule, Purpose};
pub use validate::{STORAGE_CLASSES, valid_name};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
