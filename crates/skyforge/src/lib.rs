//! # skyforge
//!
//! Provision a containerised web product's AWS infrastructure from Rust, through the official
//! AWS SDK. This facade re-exports the area crates behind cargo features; the engine
//! (`skyforge-core`) is always included as [`core`].
//!
//! ```
//! use skyforge::core::{Environment, Stage, Stack};
//! let stack = Stack::new(Environment::new("alva", Stage::Staging));
//! assert_eq!(stack.name(), "alva-staging");
//! ```
#![warn(missing_docs)]

pub use skyforge_core as core;
pub use skyforge_core::{Context, Environment, Error, Plan, Result, Stack, Stage};

/// VPC, subnets, gateways, routes and security groups (feature `network`).
#[cfg(feature = "network")]
pub use skyforge_network as network;

/// Secrets Manager secrets and SSM parameters (feature `secrets`).
#[cfg(feature = "secrets")]
pub use skyforge_secrets as secrets;

/// ECR repositories (feature `registry`).
#[cfg(feature = "registry")]
pub use skyforge_registry as registry;

/// Locks, the state document and journaled runs (feature `state`).
#[cfg(feature = "state")]
pub use skyforge_state as state;

/// RDS for PostgreSQL: instance, groups, credentials and `DATABASE_URL` (feature `database`).
#[cfg(feature = "database")]
pub use skyforge_database as database;

/// ElastiCache Redis and Valkey: replication group, groups, AUTH token and `REDIS_URL`
/// (feature `cache`).
#[cfg(feature = "cache")]
pub use skyforge_cache as cache;

/// CloudWatch Logs groups that services write into (feature `logs`).
#[cfg(feature = "logs")]
pub use skyforge_logs as logs;

/// Application Load Balancers, listeners, rules and target groups (feature `loadbalancing`).
#[cfg(feature = "loadbalancing")]
pub use skyforge_loadbalancing as loadbalancing;

/// S3 buckets, private and protected by default (feature `storage`).
#[cfg(feature = "storage")]
pub use skyforge_storage as storage;

/// IAM roles with typed trust and policies, and the account data source (feature `iam`).
#[cfg(feature = "iam")]
pub use skyforge_iam as iam;

/// ECS Fargate clusters and services with roles, logs, autoscaling and Cloud Map discovery
/// (feature `compute`).
#[cfg(feature = "compute")]
pub use skyforge_compute as compute;

/// CloudWatch alarms bound to resources, an encrypted alerts topic, dashboards (feature
/// `monitoring`).
#[cfg(feature = "monitoring")]
pub use skyforge_monitoring as monitoring;

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
