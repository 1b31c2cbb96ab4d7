//! # skyforge-secrets
//!
//! Secrets Manager secrets and SSM parameters for a containerised web product: database URLs,
//! JWT keys, cookie secrets, third-party API keys.
//!
//! - Values come from a generator (Secrets Manager's `GetRandomPassword`), the deploying
//!   process's environment, a file, or the code; they are read at apply time, live only in
//!   memory ([`SecretString`] has no `Display` and a redacted `Debug`), and never reach a plan,
//!   an output, an error or a log.
//! - A value is written when the secret is created and again only when its rotation token
//!   changes: a re-apply never overwrites it, and a generated value is generated once.
//! - Plans show a value's presence and the version id, never the value.
//! - [`SecretRef`]s hand ECS the `valueFrom` (whole secret, one JSON key `arn:...:KEY::`, or an
//!   SSM parameter ARN), and their ARNs for the exact grants of an execution role
//!   (`skyforge-compute`'s roles).
//! - Deletion keeps a recovery window (30 days by default); an ephemeral stage deletes at once.
//!   A secret still in its recovery window is restored, with its value, by the next apply.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_secrets::{Generator, Parameter, ParameterValue, Secret, SecretValue, Source};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("dougust", Stage::Prod).region("us-east-1"));
//! let jwt = stack.add(
//!     Secret::builder()
//!         .logical_id("jwt-secret")
//!         .name("prod/dougust/jwt-secret")
//!         .value(SecretValue::generated(Generator::signing_key()))
//!         .build()?,
//! );
//! let db = stack.add(
//!     Secret::builder()
//!         .logical_id("database")
//!         .value(SecretValue::json([
//!             ("username", Source::value("app")),
//!             ("password", Source::generated(Generator::password(32, "\"@/\\'"))),
//!         ]))
//!         .build()?,
//! );
//! let password = db.key("password")?; // `db.key("pasword")` is an error naming the key
//! let openai = stack.add(
//!     Parameter::builder()
//!         .key("OPENAI_API_KEY")
//!         .value(ParameterValue::Secure(Source::env("OPENAI_API_KEY")))
//!         .build()?,
//! );
//! # let _ = (jwt, password, openai);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod error;
mod listing;
mod owned;
mod parameter;
mod refs;
mod secret;
mod value;

pub use error::Error;
pub use owned::{ORPHAN_RECOVERY_DAYS, register_kinds};
pub use parameter::{
    KIND_PARAMETER, Parameter, ParameterHandle, ParameterSpec, ParameterSpecBuilder,
    ParameterValue, Tier,
};
pub use refs::{SecretKind, SecretRef, read_secret};
pub use secret::{
    KIND_SECRET, ROTATION_TAG, Rotation, SECRET_NAME_RULE, Secret, SecretHandle, SecretSpec,
    SecretSpecBuilder, SecretValue, valid_secret_name,
};
pub use value::{Generator, SecretString, Source, Template};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
