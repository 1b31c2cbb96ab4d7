//! # skyforge-loadbalancing
//!
//! One Application Load Balancer shared by several services.
//!
//! [`LoadBalancer`] adds, as one component: its security group (only the listener ports, from
//! the given CIDRs), the load balancer (public subnets make it internet-facing, private ones
//! internal; at least two zones), an HTTP listener (a 301 to HTTPS when there is a
//! certificate), an HTTPS listener with the certificate and a TLS 1.3 policy, and for each
//! [`Route`] a target group (type `ip`, for Fargate) and a listener rule. Compute attaches a
//! service to a route with [`LoadBalancerHandle::target_group`].
//!
//! - **Priorities** come from what a route matches ([`priority`]): adding, removing or
//!   reordering routes never moves another route's rule, so there is no `PriorityInUse`.
//! - **Target groups** are replaced create-before-destroy under a fresh name when their port
//!   changes: the rule moves to the new group before the old one is deleted.
//! - **Fast rollouts**: a 30 s deregistration delay and 2 healthy checks 15 s apart by default;
//!   slower settings are a plan warning.
//! - **Secure defaults**: invalid header fields dropped, deletion protection in prod (which
//!   also makes its destruction need an explicit allowance), HTTP only as a plan warning.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_loadbalancing::{HealthCheck, LoadBalancer, Route};
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
//! let alb = stack.add(
//!     LoadBalancer::builder()
//!         .logical_id("public")
//!         .vpc(net.vpc_id())
//!         .subnets(net.public())
//!         .routes(vec![
//!             Route::default_route("web", 3000),
//!             Route::path("api", ["/api/*"], 3001).health(HealthCheck::path("/api/health")),
//!         ])
//!         .build()?,
//! );
//! let api = alb.target_group("api")?; // for the API's ECS service
//! # let _ = api;
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod common;
mod component;
mod lb;
mod listener;
#[cfg(test)]
mod mock_tests;
mod owned;
pub mod priority;
mod rule;
mod spec;
mod target_group;
mod validate;
mod warnings;

pub use component::{LoadBalancerHandle, TargetGroupRef};
pub use lb::KIND_LB;
pub use listener::KIND_LISTENER;
pub use owned::register_kinds;
pub use rule::KIND_RULE;
pub use spec::{
    HealthCheck, LbSubnets, LoadBalancer, LoadBalancerSpec, LoadBalancerSpecBuilder, Match, Route,
};
pub use target_group::KIND_TG;
pub use validate::{MAX_RULES, MAX_VALUES, SSL_POLICIES};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
