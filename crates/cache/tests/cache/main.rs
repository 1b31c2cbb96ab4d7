//! skyforge-cache tests that make no AWS call: plans of the seed systems' caches.

mod plans;
