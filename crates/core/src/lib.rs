//! # skyforge-core
//!
//! The engine under every skyforge crate: [`Environment`] and [`Context`], deterministic
//! [`naming`], ownership [`tags`], typed [`Plan`]s, the [`Resource`] abstraction and the
//! [`Stack`], a resource-level dependency graph executed concurrently ([`executor`]), and
//! [`wait`]ing with progress events.
//!
//! A stack is planned (a pure function of the spec and what observation finds in AWS), the plan
//! is shown, then applied:
//!
//! ```no_run
//! use skyforge_core::{Context, Environment, Stack, Stage};
//! # async fn run() -> skyforge_core::Result<()> {
//! let env = Environment::new("alva", Stage::Staging).region("us-east-1");
//! let ctx = Context::load(env.clone()).await?;
//! let stack = Stack::new(env);
//! // stack.add(...) the area crates' components here.
//! let plan = stack.plan(&ctx).await?;
//! println!("{plan}");
//! let report = stack.apply(&ctx, &plan).await?;
//! println!("{}", serde_json::to_string_pretty(&report.outputs).unwrap());
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod actions;
pub mod context;
pub mod env;
pub mod error;
pub mod executor;
pub mod naming;
pub mod owned;
mod permissions;
pub mod plan;
pub mod resource;
pub mod retry;
pub mod stack;
#[cfg(feature = "tag-index")]
pub mod tag_index;
pub mod tags;
pub mod tally;
#[cfg(feature = "testing")]
pub mod testing;
pub mod wait;
pub mod window;

pub use actions::ActionNode;
pub use context::Context;
pub use env::{Environment, Stage};
pub use error::{AwsOrigin, Error, NodeFailure, Result, none_if_aws_code, ok_if_aws_code};
pub use executor::ConcurrencyLimits;
pub use owned::{Owned, OwnedKind};
pub use permissions::{ArnName, Declaration, DeployActions, Permissions};
pub use plan::{
    Action, FieldDiff, PendingChange, Plan, PlanMode, Refusal, ReplaceOrder, ResourceId,
    ResourcePlan, Summary, Value, Warning,
};
pub use resource::{
    Component, Field, Fields, Guard, Input, Inputs, NoHooks, NodeId, Observed, Outputs, Pending,
    Readiness, Ref, Resource, RunHooks, VISIBLE_WITHIN, diff_fields, observe_again, settle_pending,
    until_visible,
};
pub use retry::NotYet;
pub use stack::{ApplyOptions, ApplyReport, GraphNode, NodeTiming, PlanOptions, Stack};

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
