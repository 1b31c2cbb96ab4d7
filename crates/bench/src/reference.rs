//! The five reference deploys' stacks, made by the example binaries' own `build` functions
//! (their sources are compiled into this crate as modules: the stacks measured are the ones the
//! binaries deploy).

use skyforge_core::{Environment, Result, Stack, Stage};
use skyforge_examples::Release;

#[allow(dead_code, unused_imports)]
#[path = "../../../examples/src/bin/alva.rs"]
mod alva;
#[allow(dead_code, unused_imports)]
#[path = "../../../examples/src/bin/delivery-app.rs"]
mod delivery;
#[allow(dead_code, unused_imports)]
#[path = "../../../examples/src/bin/dougust.rs"]
mod dougust;
#[allow(dead_code, unused_imports)]
#[path = "../../../examples/src/bin/fastify-monorepo.rs"]
mod fastify;
#[allow(dead_code, unused_imports)]
#[path = "../../../examples/src/bin/spendsense.rs"]
mod spendsense;

/// One stage of a reference deploy.
#[derive(Clone, Copy)]
pub struct System {
    /// The binary's name.
    pub name: &'static str,
    /// Its project (the seeds').
    pub project: &'static str,
    /// The stage.
    pub stage: &'static str,
    build: fn(&Environment, &Release) -> Result<Stack>,
}

impl System {
    /// The stack of this stage under `project`.
    pub fn stack(&self, project: &str) -> Result<Stack> {
        let env = Environment::new(project, Stage::parse(self.stage)?).region("us-east-1");
        (self.build)(&env, &Release::default())
    }
}

fn delivery_build(env: &Environment, r: &Release) -> Result<Stack> {
    delivery::build(env, r, &delivery::Args::default())
}

fn fastify_build(env: &Environment, r: &Release) -> Result<Stack> {
    fastify::build(env, r, &fastify::Args::default())
}

fn spendsense_build(env: &Environment, r: &Release) -> Result<Stack> {
    spendsense::build(env, r, &skyforge_examples::NoArgs {})
}

/// The certificate the HTTPS listeners use: an IAM server certificate of the emulator's account,
/// which [`crate::noop`] uploads before it applies.
pub const PLACEHOLDER_CERTIFICATE: &str =
    "arn:aws:iam::000000000000:server-certificate/skyforge-bench";

/// The values the binaries read from the environment when they build (keys, a certificate):
/// placeholders where unset. Call before any other thread runs.
pub fn placeholder_inputs() {
    let vars = [
        ("ALVA_JWT_PRIVATE_KEY", "bench"),
        ("ALVA_JWT_PUBLIC_KEY", "bench"),
        ("ALVA_OPENAI_API_KEY", "bench"),
        ("ALVA_RESEND_API_KEY", "bench"),
        ("DELIVERY_JWT_PRIVATE_KEY", "bench"),
        ("DELIVERY_JWT_PUBLIC_KEY", "bench"),
        ("SPENDSENSE_OAUTH_CLIENT_ID", "bench"),
        ("SPENDSENSE_OAUTH_CLIENT_SECRET", "bench"),
        ("SPENDSENSE_CERTIFICATE_ARN", PLACEHOLDER_CERTIFICATE),
    ];
    for (k, v) in vars {
        if std::env::var_os(k).is_none() {
            // SAFETY: called at start-up, before the process has other threads reading the
            // environment (the bench's main, or the bench test before it starts a runtime).
            unsafe { std::env::set_var(k, v) };
        }
    }
}

/// Every stage of the five reference deploys.
pub fn systems() -> Vec<System> {
    let s = |name, project, stage, build| System {
        name,
        project,
        stage,
        build,
    };
    vec![
        s("delivery-app", "delivery", "test", delivery_build as _),
        s("delivery-app", "delivery", "prod", delivery_build as _),
        s("fastify-monorepo", "fastify", "staging", fastify_build as _),
        s("fastify-monorepo", "fastify", "prod", fastify_build as _),
        s("spendsense", "spendsense", "staging", spendsense_build as _),
        s("spendsense", "spendsense", "prod", spendsense_build as _),
        s("alva", "alva", "staging", alva::build as _),
        s("alva", "alva", "prod", alva::build as _),
        s("dougust", "dougust", "staging", dougust::build as _),
        s("dougust", "dougust", "prod", dougust::build as _),
    ]
}
