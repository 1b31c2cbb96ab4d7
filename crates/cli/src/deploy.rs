//! `deploy --image TAG [--service NAME]...` and `rollback --service NAME`: the stack applied
//! with a release (new revisions, migrations, rollouts watched), or with a rollback action, each
//! under the stack's lock and journal like `apply`.

use std::collections::BTreeSet;

use skyforge::compute::{Migrate, Rollback};
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
        .service
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
    let key = format!("{}.{service}", skyforge::compute::KIND_ROLLBACK);
    let r = alone(
        &stack,
        Rollback::new(&opts.cluster, &service),
        &key,
        ctx,
        opts,
        b,
    )
    .await?;
    let get = |k: &str| r.get(k).and_then(|v| v.as_str()).unwrap_or("?").to_string();
    println!(
        "Rollback complete: {service} now serves {}; {} deregistered (it served {} before).",
        get("to"),
        get("from"),
        get("serving_before")
    );
    Ok(())
}

/// Run `action` alone, under the stack's lock and journal (the state keeps its resources), and
/// return its outputs (`key` = `kind.id`).
async fn alone(
    stack: &Stack,
    action: impl skyforge::core::ActionNode + 'static,
    key: &str,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
    let mut run = Stack::new(stack.env().clone());
    run.add_action(action);
    let (_, report) = crate::locked_run(&run, ctx, opts, b, PlanMode::Apply).await?;
    let report = report.unwrap_or_default();
    Ok(report
        .resources
        .get(key)
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// Run the service's migration now (the newest migration revision, in the service's network).
pub(crate) async fn migrate(
    stack: &Stack,
    ctx: &Context,
    opts: &Options,
    b: &Backend,
) -> Result<(), Error> {
    let service = opts.service.clone().ok_or("migrate needs --service NAME")?;
    let key = format!("{}.{service}", skyforge::compute::KIND_MIGRATE);
    let r = alone(
        stack,
        Migrate::new(&opts.cluster, &service),
        &key,
        ctx,
        opts,
        b,
    )
    .await?;
    println!(
        "Migration complete: {service} migrated with {} (task {}).",
        r.get("image").and_then(|v| v.as_str()).unwrap_or("?"),
        r.get("task").and_then(|v| v.as_str()).unwrap_or("?")
    );
    Ok(())
}
