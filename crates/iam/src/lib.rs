//! # skyforge-iam
//!
//! IAM roles as stack resources, shared by every crate that needs one (the network's flow-log
//! delivery role, compute's execution and task roles, CI's deploy role): no second copy of role
//! code anywhere.
//!
//! - A [`Role`] has a [`Trust`] (a service principal with confused-deputy conditions, or a web
//!   identity), inline policies by name and managed policy attachments.
//! - A [`Statement`]'s resources are ARNs, literal or other nodes' outputs
//!   ([`Statement::on`], [`Statement::under`]); the role depends on those nodes and its policy
//!   is "known after apply" until they exist. `*` is refused unless given through
//!   [`Statement::on_any`] with the reason AWS offers nothing narrower.
//! - Documents are compared in one canonical form ([`policy::normalise`]), so a no-op plan is a
//!   no-op however IAM orders what it returns.
//! - Roles are named `<project>-<stage>[-<owner>]-<logical>` (64 characters at most, hashed when
//!   longer), tagged for ownership, and listed as orphans by that prefix.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_iam::{PolicyDocument, Role, Statement, Trust};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
//! let account = skyforge_iam::current_account(&mut stack);
//! let role = stack.add(
//!     Role::builder()
//!         .logical_id("api-task")
//!         .trust(
//!             Trust::service("ecs-tasks.amazonaws.com")
//!                 .when("StringEquals", "aws:SourceAccount", [account]),
//!         )
//!         .policies([(
//!             "read-config".to_string(),
//!             PolicyDocument::new([Statement::allow(["ssm:GetParameter"])
//!                 .on("arn:aws:ssm:us-east-1:123456789012:parameter/alva/staging/config")]),
//!         )]
//!         .into())
//!         .build()?,
//! );
//! # let _ = role.arn();
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod account;
pub mod ci;
pub mod deploy;
pub mod eval;
mod managed;
mod node;
mod oidc;
mod owned;
pub mod policy;
mod role;
mod validate;

pub use account::{KIND_ACCOUNT, caller_account, current_account};
pub use managed::{KIND_POLICY, MAX_MANAGED_CHARS, ManagedPolicy, ManagedPolicyHandle};
pub use node::KIND_ROLE;
pub use oidc::{GITHUB_ISSUER, KIND_OIDC_PROVIDER, OidcProvider, OidcProviderHandle, STS_AUDIENCE};
pub use owned::register_kinds;
pub use policy::{Effect, PolicyDocument, Statement, Target};
pub use role::{Role, RoleHandle, RoleSpec, RoleSpecBuilder, Trust};
pub use validate::MAX_INLINE_CHARS;

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
