//! skyforge-compute tests without an endpoint: bad input refused before any call, the plans of
//! seeds 003 and 002 (insta snapshots; see docs/testing.md), and the roles' exact grants.

mod fixtures;
mod plans;
mod roles;
mod validation;
