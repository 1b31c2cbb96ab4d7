//! skyforge-core's test binary: naming and tag properties, plan rendering snapshots, the
//! executor on tokio's paused clock, and waiting.

mod actions;
mod executor;
mod fake;
mod model;
mod naming;
mod plan_render;
mod safety;
mod wait;
