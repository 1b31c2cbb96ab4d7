//! skyforge-storage tests that make no AWS call.

mod plans;
