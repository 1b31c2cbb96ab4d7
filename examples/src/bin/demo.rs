//! The demo deploy: a staging network (VPC across two zones, public / private / isolated
//! subnets, one NAT gateway) with the security-group chain internet -> ALB -> app -> database
//! and cache. `demo` (the default) applies it, plans again (no changes), prints the outputs and
//! destroys it; `plan`, `apply` and `destroy` do one step.
//!
//! Against the local emulator: `bash scripts/demo.sh`.

use std::process::ExitCode;

use skyforge::core::{Environment, Result, Stack, Stage};
use skyforge::network::{Azs, Nat, Network, Peer, Rule, SecurityGroup, Tier};

fn build(env: &Environment) -> Result<Stack> {
    let mut stack = Stack::new(env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![
                Tier::public("public", 24),
                Tier::private("app", 22),
                Tier::isolated("data", 24),
            ])
            .nat(Nat::Single)
            .s3_endpoint(true)
            .build()?,
    );
    let alb = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("alb")
            .description("Public load balancer")
            .ingress(vec![
                Rule::tcp(443)
                    .from(Peer::any_ipv4())
                    .describe("HTTPS from the internet"),
                Rule::tcp(80)
                    .from(Peer::any_ipv4())
                    .describe("HTTP, redirected to HTTPS"),
            ])
            .build()?,
    );
    let app = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("app")
            .description("Application tasks")
            .ingress(vec![
                Rule::tcp(8000)
                    .from(&alb)
                    .describe("From the load balancer only"),
            ])
            .build()?,
    );
    for (name, port, what) in [("db", 5432, "PostgreSQL"), ("cache", 6379, "Redis")] {
        let g = stack.add(
            SecurityGroup::builder()
                .vpc(net.vpc_id())
                .name(name)
                .description(format!("{what}, reachable from the app only"))
                .ingress(vec![
                    Rule::tcp(port)
                        .from(&app)
                        .describe(format!("{what} from the app")),
                ])
                .allow_all_outbound(false)
                .build()?,
        );
        stack.export(format!("{name}.security_group_id"), g.id());
    }
    stack.export("app.security_group_id", app.id());
    stack.export("alb.security_group_id", alb.id());
    net.export(&mut stack);
    Ok(stack)
}

#[tokio::main]
async fn main() -> ExitCode {
    skyforge_examples::main_with("demo", Stage::Staging, |env, _| build(env)).await
}
