//! # skyforge-compute
//!
//! ECS on Fargate: a [`Cluster`] and [`FargateService`]s, each with what it needs to run and
//! nothing more.
//!
//! - **Task definition**: containers from a stack repository ([`Image::registry`]) or an
//!   external image, plain environment and secrets (ECS `secrets` only, never plain text),
//!   health checks, start order, read-only root and non-root user options, a Redis sidecar on
//!   loopback ([`Container::redis_sidecar`]); Fargate CPU/memory pairs checked against AWS's
//!   table. A revision is registered only when the definition changes, keeping the images
//!   deployed (CI owns the tag after the first deploy); old revisions beyond
//!   `keep_revisions` are deregistered.
//! - **Roles** ([`skyforge_iam`]): the execution role may pull from exactly the repositories
//!   used, write to the service's log group and read exactly the secret and parameter ARNs the
//!   containers reference; the task role has the spec's `grants` (`bucket.grant(...)`). The only
//!   `*` resources are where IAM has none ([`roles::ECR_TOKEN_REASON`],
//!   [`roles::EXEC_CHANNELS_REASON`]).
//! - **Service**: awsvpc in private subnets without public IP, a security group the load
//!   balancer may reach on the container port only, circuit breaker with rollback, 100/200
//!   deployment percentages, ECS Exec option, tags propagated. The desired count is set on
//!   creation only (autoscaling owns it), never reported as drift.
//! - **Autoscaling**: target tracking on CPU, memory and requests per target per minute; the
//!   `TargetTracking-*` alarms AWS creates are left to AWS.
//! - **Discovery**: a private DNS [`Namespace`] and a Cloud Map service per ECS service
//!   (`api.alva-staging.local`).
//! - **Waits**: a service is ready at its desired count on one completed deployment; a task
//!   stopping with `CannotPullContainerError` or `ResourceInitializationError` ends the wait at
//!   once with ECS's reason, an essential container exiting after [`steady::EXIT_LIMIT`]
//!   stops; deletion waits until the service is INACTIVE (its network interfaces released).
//!
//! ```
//! use skyforge_compute::{Cluster, Container, ContainerHealth, FargateService, Image, TaskSize};
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_network::{Nat, Network, Tier};
//! # fn main() -> skyforge_core::Result<()> {
//! let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
//! let net = stack.add(
//!     Network::builder()
//!         .cidr("10.0.0.0/16")
//!         .tiers(vec![Tier::public("public", 24), Tier::private("app", 22)])
//!         .nat(Nat::Single)
//!         .build()?,
//! );
//! let cluster = stack.add(Cluster::builder().logical_id("main").build()?);
//! let web = stack.add(
//!     FargateService::builder()
//!         .logical_id("web")
//!         .cluster(cluster)
//!         .vpc(net.vpc_id())
//!         .subnets(net.private())
//!         .size(TaskSize::new(256, 512))
//!         .containers(vec![Container::new("web", Image::external("nginx:1.27"))
//!             .port(80)
//!             .health(ContainerHealth::shell("curl -f http://localhost/ || exit 1"))])
//!         .build()?,
//! );
//! # let _ = web.arn();
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod cluster;
mod component;
mod container;
mod definition;
mod discovery;
mod migration;
#[cfg(test)]
mod mock_tests;
mod owned;
pub mod roles;
mod rollback;
mod runner;
mod scaling;
mod service;
mod service_update;
mod spec;
pub mod steady;
mod tagging;
mod taskdef;
mod validate;

pub use cluster::{Cluster, ClusterHandle, ClusterSpec, ClusterSpecBuilder, KIND_CLUSTER};
pub use component::ServiceHandle;
pub use container::{Container, ContainerHealth, Image, StartAfter};
pub use discovery::{KIND_NAMESPACE, KIND_SD_SERVICE, Namespace, NamespaceHandle};
pub use migration::{KIND_MIGRATE, KIND_MIGRATION, LOG_LINES, MIGRATED_TAG, Migrate, Migration};
pub use owned::{KIND_LOG_GROUP, register_kinds};
pub use rollback::{KIND_ROLLBACK, Rollback};
pub use scaling::{KIND_SCALING, resource_label};
pub use service::KIND_SERVICE;
pub use spec::{
    Arch, Attachment, Autoscaling, CapacityShare, Discovery, FargateService, FargateServiceSpec,
    FargateServiceSpecBuilder, ScaleOn, ServiceSubnets, TaskSize,
};
pub use taskdef::KIND_TASK_DEFINITION;
pub use validate::{FARGATE_SIZES, MAX_TASKS, fargate_size_ok};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
