//! # skyforge-database
//!
//! RDS for PostgreSQL that never loses data, for a containerised web product.
//!
//! [`Postgres`] adds, as one component: a security group open on the port only to the groups
//! given, a DB subnet group on private or isolated subnets (public ones do not type-check), a
//! parameter group per major version (`rds.force_ssl` on), log groups with a retention for the
//! exported logs, a generated master password in Secrets Manager, the instance, and a
//! connection secret with `DATABASE_URL` and its parts (optionally copied to an SSM
//! SecureString).
//!
//! - **Secure defaults**, each downgrade a plan warning: encrypted, private, TLS forced,
//!   deletion protection and a final snapshot outside ephemeral stages, Multi-AZ in prod.
//! - **RDS's change rules**: each change in the plan says when it applies (now, now with a
//!   reboot, at the next maintenance window, only by replacement); deferred changes show as
//!   pending and are never sent again; only the major version is compared (minor auto-upgrades
//!   are not drift); storage is a floor (autoscaling growth is not drift).
//! - **Waits** stream `creating`, `backing-up`, `modifying`, `deleting` and fail at once on
//!   `failed`, `incompatible-*`, `storage-full` with the state in the error. A new instance
//!   serves its dependents (the secret holding its URL, a migration) as soon as its endpoint
//!   accepts connections, in `backing-up`; the apply still ends only once it is `available`
//!   (`Readiness::Serving`). Terraform and CloudFormation wait for `available` first.
//! - **Protection**: the instance holds data, so deleting or replacing it outside an ephemeral
//!   stage is refused unless the run allows `db_instance.<id>`; only then is deletion
//!   protection lifted, and a final snapshot with a unique name is taken.
//! - **Secrets** never reach a plan, an output, a log or an error.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_database::{Postgres, Storage};
//! use skyforge_network::{Network, SecurityGroup, Tier};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("dougust", Stage::Prod).region("us-east-1"));
//! let net = stack.add(
//!     Network::builder()
//!         .cidr("10.0.0.0/16")
//!         .tiers(vec![Tier::public("public", 24), Tier::isolated("db", 24)])
//!         .build()?,
//! );
//! let app = stack.add(
//!     SecurityGroup::builder()
//!         .vpc(net.vpc_id())
//!         .name("app")
//!         .description("the API tasks")
//!         .build()?,
//! );
//! let db = stack.add(
//!     Postgres::builder()
//!         .logical_id("db")
//!         .vpc(net.vpc_id())
//!         .subnets(net.isolated())
//!         .allow_from(vec![app])
//!         .version("16")
//!         .class("db.t3.large")
//!         .storage(Storage::gp3(100).autoscale_to(200))
//!         .maintenance_window("sun:02:00-sun:04:00")
//!         .build()?,
//! );
//! let database_url = db.url(); // for an ECS task's `secrets`
//! # let _ = database_url;
//! # Ok(()) }
//! ```
//!
//! A database in public subnets does not compile:
//!
//! ```compile_fail
//! # use skyforge_core::{Environment, Stack, Stage};
//! # use skyforge_database::Postgres;
//! # use skyforge_network::{Network, Tier};
//! # fn main() -> skyforge_core::Result<()> {
//! # let mut stack = Stack::new(Environment::new("shop", Stage::Prod));
//! # let net = stack.add(Network::builder().cidr("10.0.0.0/16").tiers(vec![Tier::public("public", 24)]).build()?);
//! let db = Postgres::builder()
//!     .logical_id("db")
//!     .vpc(net.vpc_id())
//!     .subnets(net.public()) // Subnets<Public> is not a DbSubnets
//!     .version("16")
//!     .class("db.t3.micro")
//!     .build()?;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod changes;
mod component;
mod create;
mod delete;
mod error;
mod fields;
mod instance;
#[cfg(test)]
mod mock_tests;
mod modify;
mod owned;
mod parameter_group;
mod spec;
mod status;
mod subnet_group;
mod tagging;
mod validate;
mod warnings;

pub use changes::{Effect, effect};
pub use component::{DatabaseHandle, URL_KEYS};
pub use delete::final_snapshot_id;
pub use error::Error;
pub use fields::PASSWORD_TAG;
pub use instance::KIND_INSTANCE;
/// Resource kind of the exported logs' groups (`db_log_group`).
pub const KIND_LOG_GROUP: &str = "db_log_group";
pub use owned::register_kinds;
pub use parameter_group::KIND_PARAMETER_GROUP;
pub use spec::{
    ApplyMode, DbSubnets, Parameter, Postgres, PostgresSpec, PostgresSpecBuilder, Storage,
    StorageType,
};
pub use status::TERMINAL;
pub use subnet_group::KIND_SUBNET_GROUP;
pub use validate::{LOG_RETENTION_DAYS, LOG_TYPES, SUPPORTED_MAJORS};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
