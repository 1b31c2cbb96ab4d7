//! skyforge-database tests that make no AWS call: plans of the seed systems' databases.

mod plans;
