//! skyforge-loadbalancing tests that make no AWS call: plans of the seed systems' load
//! balancers.

mod plans;
