//! `deploy --image TAG [--service NAME]...` and `rollback --service NAME`: the stack applied
//! with a release (new revisions, migrations, rollouts watched), or with a rollback action, each
//! under the stack's lock and journal like `apply`.

use std::collections::BTreeSet;

use skyforge::compute::Rollback;
use skyforge::core::{Context, PlanMode, Stack};
use skyforge::state::Backend;

use crate::{Error, Options};

/// What a deploy ships: an image tag for every service, or for the ones named.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    /// The tag (`--image`).
    pub image: Option<String>,
    /// The services it is for (`--service`, repeatable); all when empty.
    pub services: BTreeSet<String>,
}

impl Release {
    /// The tag service `logical_id` deploys, if this release is for it.
    pub fn tag_for(&self, logical_id: &str) -> Option<&str> {
        let ours = self.services.is_empty() || self.services.contains(logical_id);
        self.image.as_deref().filter(|_| ours)
    }
}

/// Build the stack again, with the release, and apply it under the lock.
pub(crate) async fn deploy(
    stack: &Stack,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
) -> Result<(), Error> {
    let (plan, report) = crate::locked_run(stack, ctx, opts, b, PlanMode::Apply).await?;
    let migrated = plan
        .resources
        .iter()
        .filter(|r| r.id.kind == skyforge::compute::KIND_MIGRATION && r.action.is_change())
        .count();
    let report = report.unwrap_or_default();
    println!(
        "Deploy complete: {} changed, {migrated} migration(s) run, every rollout steady.",
        report.changed
    );
    Ok(())
}

/// The stack as it is, plus the rollback of `service`: refused when the stack has pending
/// changes other than that service moving to the newest revision (what a failed deploy
/// leaves when the circuit breaker rolled it back), which a rollback is not the moment to apply.
pub(crate) async fn rollback(
    stack: Stack,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
) -> Result<(), Error> {
    let service = opts
        .rollback
        .clone()
        .ok_or("rollback needs --service NAME")?;
    let pending = stack.plan(ctx).await?;
    let rolled = format!("{}.{service}", skyforge::compute::KIND_SERVICE);
    let what: Vec<String> = pending
        .resources
        .iter()
        .filter(|r| r.action.is_change() && r.id.to_string() != rolled)
        .map(|r| r.id.to_string())
        .collect();
    if !what.is_empty() {
        return Err(format!(
            "the stack has pending changes ({}): apply or revert them before a rollback",
            what.join(", ")
        )
        .into());
    }
    // The rollback alone, under the stack's lock and journal (the state keeps its resources).
    let mut run = Stack::new(stack.env().clone());
    run.add_action(Rollback::new(&opts.cluster, &service));
    let (_, report) = crate::locked_run(&run, ctx, opts, b, PlanMode::Apply).await?;
    let report = report.unwrap_or_default();
    let key = format!("{}.{service}", skyforge::compute::KIND_ROLLBACK);
    let r = report.resources.get(&key).cloned().unwrap_or_default();
    let get = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    println!(
        "Rollback complete: {service} now serves {}; {} deregistered (it served {} before).",
        get("to"),
        get("from"),
        get("serving_before")
    );
    Ok(())
}
