//! The permission declarations against the calls the engine really makes: a network with flow
//! logs (and their role), the S3 endpoint and the four security groups, applied, planned again
//! and destroyed; every call the harness recorded for the stack must be allowed by the stack's
//! declared actions ([`skyforge_core::Stack::deploy_actions`]), so a policy made from them
//! would deny nothing a deploy needs.

use std::collections::BTreeSet;

use skyforge_core::{PlanMode, Result, Stack};
use skyforge_integration_tests::{TestStack, iam_action};

async fn cycle(t: &TestStack, stack: &Stack) -> Result<()> {
    let plan = stack.plan(&t.ctx).await?;
    stack.apply(&t.ctx, &plan).await?;
    assert!(!stack.plan(&t.ctx).await?.has_changes(), "converged");
    let down = stack.plan_destroy(&t.ctx).await?;
    assert_eq!(down.mode, PlanMode::Destroy);
    stack.apply(&t.ctx, &down).await?;
    Ok(())
}

#[tokio::test]
async fn every_call_of_a_network_deploy_is_declared() -> Result<()> {
    let t = TestStack::new().await;
    // Three zones, a NAT gateway each, flow logs (a log group and a role), the S3 endpoint and
    // the four security groups.
    let stack = crate::network::prod(t.env.clone())?;
    let declared = stack.deploy_actions();
    assert_eq!(
        declared.undeclared,
        BTreeSet::new(),
        "every kind of the network declares its actions"
    );
    cycle(&t, &stack).await?;
    let called: BTreeSet<String> = t
        .calls()
        .await
        .keys()
        .filter_map(|(service, op)| iam_action(service, op))
        .collect();
    let missing: Vec<&String> = called
        .iter()
        .filter(|a| !declared.actions.contains(a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "called but not declared: {missing:?}\ncalled: {called:?}"
    );
    // Declared but not called by this cycle: updates (drift repair) and delete paths that only
    // a blocked delete takes. Listed for the record; each is declared next to its call.
    let unused: Vec<&&str> = declared
        .actions
        .iter()
        .filter(|a| !called.contains(**a))
        .collect();
    println!("declared, not called by a create/destroy cycle: {unused:?}");
    Ok(())
}
