//! # skyforge-state
//!
//! Every mutating run (apply, destroy) guarded by a lock and journaled, so that two people or
//! two CI jobs never apply the same stack at once and an interrupted run is known to the next.
//!
//! - Locks ([`Locker`]) with leases renewed by a heartbeat: DynamoDB conditional put
//!   ([`DynamoDbLock`], the `LockID` table Terraform's S3 backend uses), S3 conditional writes
//!   ([`S3Lock`], refused at connect time when the endpoint ignores `If-None-Match`), or an OS
//!   file lock ([`FileLock`]). A second run is refused at once with the holder, operation and
//!   age; an expired lease is reported as stale, never taken over; [`Locker::force_unlock`]
//!   needs the exact lock id; a retried write that meets its own lock succeeds; a lost lock stops
//!   the run before its next mutating call. Acquire plus release is two API calls.
//! - The state document ([`StateDocument`]): schema version with migration, per-resource outputs
//!   and spec digests, stack outputs, and the journal (an intent before each mutating call, the
//!   outcome after it); an integrity digest checked on every read, naming the previous S3
//!   version when it fails. Stores: [`LocalStore`] (a file) and [`S3Store`] (versioned,
//!   encrypted); [`bootstrap`] creates the bucket and the lock table.
//! - Features `s3` (S3 lock, S3 store, bootstrap) and `dynamodb` (DynamoDB lock), both on by
//!   default: with `default-features = false` the file lock and the local store need neither SDK.
//! - [`apply`] runs `Stack::apply` under the lock with the journal as its run hooks; [`plan`]
//!   adds what an interrupted run left unfinished to the plan's warnings.
//!
//! ```no_run
//! use std::{sync::Arc, time::Duration};
//! use skyforge_core::{Context, Environment, Stack, Stage};
//! use skyforge_state::{Backend, DynamoDbLock, Locker, S3Store};
//! # async fn run() -> skyforge_state::Result<()> {
//! let env = Environment::new("delivery", Stage::Prod).region("us-east-1");
//! let ctx = Context::load(env.clone()).await?;
//! let stack = Stack::new(env);
//! skyforge_state::bootstrap(&ctx, "delivery-tf-state", Some("delivery-tf-locks")).await?;
//! let backend = Backend {
//!     store: Arc::new(S3Store::new(&ctx, "delivery-tf-state", "skyforge/delivery-prod.json")),
//!     locker: Locker::new(
//!         Arc::new(DynamoDbLock::new(&ctx, "delivery-tf-locks", &stack.name())),
//!         Duration::from_secs(60),
//!     ),
//! };
//! let plan = skyforge_state::plan(&stack, &ctx, &backend).await?;
//! skyforge_state::apply(&stack, &ctx, &plan, &backend).await?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod access;
mod backends;
mod bootstrap;
mod document;
mod error;
mod lock;
mod run;
mod session;
mod store;
#[cfg(feature = "s3")]
mod store_s3;

pub use access::{
    Access, S3_LOCK_PREFIX, STATE_PREFIX, StateLocation, access, lock_item_key, lock_object_key,
    probe_prefix, state_key,
};
pub use backends::FileLock;
#[cfg(feature = "dynamodb")]
pub use backends::{DynamoDbLock, LOCK_KEY_ATTRIBUTE};
#[cfg(feature = "s3")]
pub use backends::{S3Lock, s3_client};
#[cfg(feature = "s3")]
pub use bootstrap::bootstrap;
pub use bootstrap::state_environment;
pub use document::{JournalEntry, JournalStatus, ResourceRecord, SCHEMA_VERSION, StateDocument};
pub use error::{Error, Result};
pub use lock::{
    Clock, HeldLock, LockBackend, LockInfo, LockStatus, Locker, SystemClock, this_holder,
};
#[cfg(feature = "testing")]
pub use lock::{MemoryLock, TokioClock};
pub use run::{Backend, annotate, apply, apply_with, plan, plan_with};
pub use session::{Review, plan_and_apply};
pub use store::{LocalStore, StateStore};
#[cfg(feature = "s3")]
pub use store_s3::S3Store;

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
