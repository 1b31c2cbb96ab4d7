//! Throttling and 5xx answers are weather, not failure: with the harness answering 10 % of a
//! stack's EC2 calls with `Throttling`, `RequestLimitExceeded` or `ServiceUnavailable`, every
//! plan / apply / re-plan / destroy cycle still converges, through the SDK retry policy the
//! context installs (`skyforge_core::context::retry_config`) and waits that poll through
//! transient errors.

use skyforge_core::{Environment, Result, Stack};
use skyforge_integration_tests::{TestStack, inventory};
use skyforge_network::{Azs, Nat, Network, Peer, Rule, SecurityGroup, Tier};

fn small_network(env: Environment) -> Result<Stack> {
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.8.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::public("public", 24), Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()?,
    );
    stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("alb")
            .description("Load balancer")
            .ingress(vec![
                Rule::tcp(443).from(Peer::any_ipv4()).describe("HTTPS"),
            ])
            .build()?,
    );
    Ok(stack)
}

#[tokio::test]
async fn twenty_cycles_at_ten_percent_ec2_faults_all_converge() {
    let t = TestStack::new().await;
    t.set_fault_rates(&[("ec2", 0.1)]).await;
    let runs = 20;
    let started = std::time::Instant::now();
    for run in 1..=runs {
        let stack = small_network(t.env.clone()).expect("spec");
        let plan = stack.plan(&t.ctx).await;
        let plan = plan.unwrap_or_else(|e| panic!("run {run}: plan: {e}"));
        assert!(plan.summary.add > 10, "run {run}: {plan}");
        if let Err(e) = stack.apply(&t.ctx, &plan).await {
            panic!("run {run}: apply: {e}");
        }
        let again = stack.plan(&t.ctx).await;
        let again = again.unwrap_or_else(|e| panic!("run {run}: re-plan: {e}"));
        assert!(!again.has_changes(), "run {run}: not converged:\n{again}");
        let d = stack.plan_destroy(&t.ctx).await;
        let d = d.unwrap_or_else(|e| panic!("run {run}: destroy plan: {e}"));
        if let Err(e) = stack.apply(&t.ctx, &d).await {
            panic!("run {run}: destroy: {e}");
        }
    }
    let injected = t.injected_faults().await;
    t.set_fault_rates(&[]).await;
    let left = inventory(&t).await;
    assert!(left.is_empty(), "left behind: {left:?}");
    // The faults really happened: hundreds of EC2 calls at 10 %.
    assert!(injected >= 100, "only {injected} faults injected");
    println!(
        "weather: {runs} plan/apply/re-plan/destroy cycles at 10 % EC2 faults: all converged, {injected} faults answered, {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
