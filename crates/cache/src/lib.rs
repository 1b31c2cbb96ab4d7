//! # skyforge-cache
//!
//! ElastiCache Redis (or Valkey) for a containerised web product, encrypted and authenticated
//! by default.
//!
//! [`Redis`] adds, as one component: a security group open on the port only to the groups
//! given, a cache subnet group on private or isolated subnets (public ones do not type-check),
//! a parameter group per family, a slow-log group with a retention, an AUTH token generated into
//! Secrets Manager, the replication group (one primary and up to five replicas), and a
//! `REDIS_URL` secret (`rediss://:token@primary:6379`) with its parts.
//!
//! - **Secure defaults**, each downgrade a plan warning: encryption at rest and in transit, an
//!   AUTH token (set with strategy `SET`, never `ROTATE`, so passwordless access never stays
//!   open), a final snapshot on deletion outside ephemeral stages.
//! - **ElastiCache's change rules**: node type and engine version in place (now, or in the
//!   maintenance window; pending until then, never sent again), replicas added or removed one
//!   call at a time in the order ElastiCache requires, only the changed fields sent; port,
//!   subnet group, encryption settings and the token's presence replace the group.
//! - **Waits** stream `creating`, `modifying`, `snapshotting`, `deleting` and fail at once on
//!   `create-failed` and `incompatible-network`.
//! - **Protection**: the group holds data, so deleting or replacing it outside an ephemeral stage
//!   is refused unless the run allows `cache_replication_group.<id>`.
//!
//! ```
//! use skyforge_cache::Redis;
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_network::{Nat, Network, SecurityGroup, Tier};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("alva", Stage::Prod).region("us-east-1"));
//! let net = stack.add(
//!     Network::builder()
//!         .cidr("10.0.0.0/16")
//!         .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
//!         .nat(Nat::Single)
//!         .build()?,
//! );
//! let api = stack.add(
//!     SecurityGroup::builder()
//!         .vpc(net.vpc_id())
//!         .name("api")
//!         .description("the API tasks")
//!         .build()?,
//! );
//! let cache = stack.add(
//!     Redis::builder()
//!         .logical_id("cache")
//!         .vpc(net.vpc_id())
//!         .subnets(net.private())
//!         .allow_from(vec![api])
//!         .version("7.1")
//!         .node_type("cache.t3.micro")
//!         .replicas(1)
//!         .build()?,
//! );
//! let redis_url = cache.url(); // for an ECS task's `secrets`
//! # let _ = redis_url;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod changes;
mod component;
mod create;
mod delete;
mod fields;
mod group;
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
pub use component::{CacheHandle, KIND_LOG_GROUP, RedisUrl, URL_KEYS};
pub use delete::final_snapshot_name;
pub use fields::TOKEN_TAG;
pub use group::KIND_GROUP;
pub use owned::register_kinds;
pub use parameter_group::KIND_PARAMETER_GROUP;
pub use spec::{ApplyMode, CacheSubnets, Engine, Redis, RedisSpec, RedisSpecBuilder};
pub use status::TERMINAL;
pub use subnet_group::KIND_SUBNET_GROUP;
pub use validate::{LOG_RETENTION_DAYS, REDIS_VERSIONS, VALKEY_VERSIONS, family};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
