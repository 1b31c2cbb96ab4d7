//! # skyforge-cost
//!
//! A monthly estimate of a skyforge stack, worked out from its plan: Fargate vCPU and GB hours
//! at the desired task count and at the autoscaling maximum, RDS instance hours (Multi-AZ
//! doubles them and the storage) and storage by type, ElastiCache node hours, load balancer
//! hours with an LCU assumption and its public IPv4 addresses, NAT gateway hours with a
//! data-processing assumption, Elastic IPs, interface endpoints, log ingestion, alarms,
//! dashboards, secrets, advanced parameters, ECR and S3 storage, KMS keys, Cloud Map zones.
//!
//! - The prices are a dated table for `us-east-1` and `us-west-1` ([`PriceTable::for_region`],
//!   [`PRICES_AS_OF`]), serialisable so that a table of your own (another region, negotiated
//!   prices) can be read from a file.
//! - What a plan cannot know (traffic, log volume, images kept) is an [`Assumptions`] field,
//!   printed with the estimate.
//! - A resource the table has no price for (an instance class it does not list) is named in
//!   [`Estimate::unpriced`], never counted as free in silence.
//!
//! ```
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_cost::{Assumptions, PriceTable, estimate};
//! # fn main() -> skyforge_core::Result<()> {
//! let stack = Stack::new(Environment::new("shop", Stage::Prod).region("us-east-1"));
//! let prices = PriceTable::for_region("us-east-1").expect("a built-in table");
//! let e = estimate(&stack.plan_offline()?, &prices, &Assumptions::default());
//! assert_eq!(e.monthly, 0.0); // nothing declared, nothing to pay
//! println!("{e}");
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod assumptions;
mod estimate;
mod prices;
mod render;
#[cfg(test)]
mod tests;

pub use assumptions::Assumptions;
pub use estimate::{Estimate, Line, estimate};
pub use prices::{PRICES_AS_OF, PriceTable};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
