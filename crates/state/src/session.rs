//! One locked run: plan and apply under the same lock, so that what was reviewed is what is
//! applied and no second operator plans against a world the first is changing.

use std::collections::BTreeSet;

use skyforge_core::{ApplyReport, Context, Plan, PlanMode, PlanOptions, Stack};

use crate::error::Result;
use crate::run::{Backend, apply_holding, plan_with};

/// What the reviewer of a plan decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Review {
    /// Apply the plan.
    Proceed,
    /// Stop without changing anything (the lock is released).
    Stop,
}

/// Take the lock, plan (with the state's warnings), let `review` see the plan, and apply it
/// under the same lock; the lock is released when the run ends, on success and on error.
///
/// A second run on the same stack is refused with [`crate::Error::Locked`] before it observes
/// anything. `review` is where a binary prints the plan and asks for confirmation; a plan with
/// refusals (`Plan::is_refused`) never reaches it: it is returned as the error of the apply that
/// would refuse it, before any mutating call. Returns the plan and, when applied, the report.
pub async fn plan_and_apply(
    stack: &Stack,
    ctx: &Context,
    backend: &Backend,
    mode: PlanMode,
    allow_destroy: &BTreeSet<String>,
    review: impl FnOnce(&Plan) -> Review,
) -> Result<(Plan, Option<ApplyReport>)> {
    let operation = match mode {
        PlanMode::Apply => "apply",
        PlanMode::Destroy => "destroy",
    };
    let lock = backend.locker.acquire(&stack.name(), operation).await?;
    let options = PlanOptions {
        allow_destroy: allow_destroy.clone(),
    };
    let planned = plan_with(stack, ctx, backend, mode, &options).await;
    let plan = match planned {
        Ok(p) => p,
        Err(e) => {
            lock.release().await?;
            return Err(e);
        }
    };
    if !plan.is_refused() && review(&plan) == Review::Stop {
        lock.release().await?;
        return Ok((plan, None));
    }
    let report = apply_holding(stack, ctx, &plan, backend, allow_destroy, lock).await?;
    Ok((plan, Some(report)))
}
