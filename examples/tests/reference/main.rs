//! The example binaries as operators and CI pipelines run them, against the emulator: the
//! demo, the deploy driver, and the five reference deploys (each stage: plan, apply, checks
//! against the seed, a second plan with no changes, outputs, destroy, an empty inventory; the
//! cost estimate against figures worked out by hand). One test binary. Needs `AWS_ENDPOINT_URL`
//! (run through `bash scripts/test.sh`); fails loudly without it.

mod alva;
mod ci;
mod common;
mod crash;
mod delivery;
mod demo;
mod deploy;
mod dougust;
mod fastify;
mod races;
mod secrets;
mod spendsense;
mod weather;
