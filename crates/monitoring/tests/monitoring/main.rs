//! skyforge-monitoring tests that need no network: bad input refused before any call, the plan
//! of seed 004's alarm set (an insta snapshot; see docs/testing.md), what each metric is keyed by.

mod fixtures;
mod plans;
mod validation;
