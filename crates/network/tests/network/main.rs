//! skyforge-network tests that need no network: plan snapshots, carving, wiring, warnings.

mod plans;
