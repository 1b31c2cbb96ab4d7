//! The integration suite: one binary, run against `AWS_ENDPOINT_URL` (the project's LocalStack
//! harness by default). It fails, loudly, when the endpoint does not answer.

mod bad_input;
mod cache;
mod cache_checks;
mod compute;
mod database;
mod database_checks;
mod deploys;
mod emulator;
mod emulator_cache;
mod emulator_ecs;
mod emulator_tagging;
mod iam;
mod loadbalancing;
mod loadbalancing_checks;
mod monitoring;
mod network;
mod permissions;
mod safety;
mod secrets_registry;
mod smoke;
mod state;
mod storage;
mod validation;
mod weather;
