//! # skyforge-network
//!
//! The network of a containerised web product: a VPC across two or three availability zones,
//! subnet tiers carved automatically from the VPC block (public for load balancers and NAT,
//! private with egress for tasks, isolated for databases and caches), an internet gateway, NAT
//! gateways (none, one, or one per zone) with their Elastic IPs, route tables, routes and
//! associations, an optional S3 gateway endpoint and optional flow logs, plus typed security
//! groups whose rules reference each other by handle.
//!
//! Every AWS resource is its own node of the skyforge-core graph, so a database can start as
//! soon as its subnets and group exist, while NAT gateways are still pending.
//!
//! ```no_run
//! use skyforge_core::{Context, Environment, Stack, Stage};
//! use skyforge_network::{Azs, Nat, Network, Peer, Rule, SecurityGroup};
//! # async fn run() -> skyforge_core::Result<()> {
//! let env = Environment::new("alva", Stage::Staging).region("us-east-1");
//! let ctx = Context::load(env.clone()).await?;
//! let mut stack = Stack::new(env);
//! let net = stack.add(
//!     Network::builder().cidr("10.0.0.0/16").azs(Azs::count(2)).nat(Nat::Single).build()?,
//! );
//! let alb = stack.add(
//!     SecurityGroup::builder()
//!         .vpc(net.vpc_id())
//!         .name("alb")
//!         .description("Load balancer")
//!         .ingress(vec![Rule::tcp(443).from(Peer::any_ipv4()).describe("HTTPS")])
//!         .build()?,
//! );
//! let app = stack.add(
//!     SecurityGroup::builder()
//!         .vpc(net.vpc_id())
//!         .name("app")
//!         .description("Application tasks")
//!         .ingress(vec![Rule::tcp(8000).from(&alb).describe("From the load balancer")])
//!         .build()?,
//! );
//! # let _ = app;
//! net.export(&mut stack);
//! let plan = stack.plan(&ctx).await?;
//! println!("{plan}");
//! stack.apply(&ctx, &plan).await?;
//! # Ok(()) }
//! ```
//!
//! Validation happens in `build()` and again, with the environment (region), when the stack is
//! planned, before any API call. Errors are `skyforge_core::Error`s naming the field, the value
//! and the rule.
#![warn(missing_docs)]

/// The identity methods of a node whose id is `(kind, self.logical)`.
macro_rules! node_identity {
    ($kind:expr, $service:literal) => {
        fn id(&self) -> skyforge_core::ResourceId {
            skyforge_core::ResourceId::new($kind, &self.logical)
        }
        fn service(&self) -> &'static str {
            $service
        }
    };
}
pub(crate) use node_identity;

mod cidr;
mod delete;
mod ec2;
mod error;
mod flow_logs;
mod gateway;
#[cfg(test)]
mod mock_tests;
mod owned;
mod routing;
mod rule;
mod security;
pub mod service_subnets;
mod spec;
mod subnet;
mod vpc;

pub use cidr::{Cidr, CidrError};
pub use error::Error;
pub use flow_logs::RETENTION_DAYS;
pub use owned::register_kinds;
pub use security::{
    DEFAULT_PUBLIC_PORTS, Direction, ExtraRules, GroupHandle, Peer, Protocol, Rule, SecurityGroup,
    SecurityGroupSpec, SecurityGroupSpecBuilder,
};
pub use spec::{
    Azs, FlowLogs, Isolated, Nat, Network, NetworkHandle, NetworkSpec, NetworkSpecBuilder,
    NotPublic, Private, Public, SubnetHandle, Subnets, Tier, TierKind, Traffic,
};

/// Resource kinds this crate creates (as they appear in plans).
pub mod kinds {
    pub use crate::flow_logs::{KIND_FLOW_LOG, KIND_LOG_GROUP, KIND_ROLE};
    pub use crate::gateway::{KIND_ATTACH, KIND_EIP, KIND_IGW, KIND_NAT};
    pub use crate::routing::{KIND_ASSOC, KIND_ENDPOINT, KIND_ROUTE, KIND_TABLE};
    pub use crate::security::{KIND_GROUP, KIND_RULE};
    pub use crate::subnet::KIND as KIND_SUBNET;
    pub use crate::vpc::{KIND_AZS, KIND_VPC};
}

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
