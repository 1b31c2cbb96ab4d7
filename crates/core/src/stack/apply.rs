//! Applying a plan in three phases.
//!
//! 1. **Destroy** (reverse dependency order): orphans, and the old copy of every resource
//!    replaced destroy-before-create. A replaced resource's dependents that are replaced with it
//!    go first, so nothing is deleted while something that needs it still exists.
//! 2. **Converge** (forward order): creates, updates (each checked by observing again), the new
//!    copy of every replaced resource; unchanged resources pass their outputs on.
//! 3. **Retire** (reverse order): the old copy of every resource replaced create-before-destroy,
//!    once its dependents have moved to the new one.
//!
//! A destroy plan runs the first phase only. A failure stops the phase (work in flight
//! finishes) and the run.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::Instrument;

use super::plan::{PlanOptions, refusal};
use super::{NodeState, NodeTiming, Stack, failures_of};
use crate::context::Context;
use crate::error::{Error, Result};
use crate::executor::{self, Order};
use crate::owned::{Owned, OwnedKind};
use crate::plan::{Action, Plan, PlanMode, ReplaceOrder, ResourceId, ResourcePlan};
use crate::resource::{Guard, NoHooks, Observed, Outputs, Readiness, RunHooks, settle_pending};
use crate::wait::{OPERATION_TARGET, Poll};

/// Options of an apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Resources (`kind.logical_id`) holding data that this run may delete or replace. Apply
    /// refuses, before any call, a plan deleting or replacing a protected resource not listed.
    pub allow_destroy: BTreeSet<String>,
    /// Called around every mutating call (the state crate's lock check and journal).
    pub hooks: Arc<dyn RunHooks>,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            allow_destroy: BTreeSet::new(),
            hooks: Arc::new(NoHooks),
        }
    }
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("allow_destroy", &self.allow_destroy)
            .finish_non_exhaustive()
    }
}

impl ApplyOptions {
    /// Allow deleting or replacing `resource` (`secret.db-password`).
    pub fn allow_destroy(mut self, resource: impl Into<String>) -> Self {
        self.allow_destroy.insert(resource.into());
        self
    }
    /// Use these run hooks.
    pub fn hooks(mut self, hooks: Arc<dyn RunHooks>) -> Self {
        self.hooks = hooks;
        self
    }
}

/// One unit of work of a run: a declared node or an orphan.
enum Item<'a> {
    Node(usize),
    Orphan(Arc<dyn OwnedKind>, &'a Owned),
}

/// Shared state of one apply.
struct Run<'a> {
    stack: &'a Stack,
    ctx: &'a Context,
    plan: &'a Plan,
    hooks: Arc<dyn RunHooks>,
    ids: Vec<ResourceId>,
    planned: Vec<&'a ResourcePlan>,
    items: Vec<Item<'a>>,
    deps: Vec<Vec<usize>>,
    services: Vec<String>,
    states: Mutex<Vec<Option<NodeState>>>,
    physical: Mutex<Vec<Option<String>>>,
    timings: Mutex<Vec<Option<NodeTiming>>>,
    t0: tokio::time::Instant,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Destroy,
    Converge,
    /// Part of the converge phase: wait until a node is ready, before the dependents that need
    /// it ready (those that need only its id start after its converge step).
    Ready,
    /// Part of the converge phase: wait until a node that already serves its dependents has
    /// settled; nothing waits for it but the end of the phase.
    Settle,
    Retire,
}

/// The concurrency bucket of readiness waits (polling, not work: many may run at once).
pub(crate) const WAIT_SERVICE: &str = "wait";

impl Stack {
    /// Execute `plan` with no run hooks. See [`Stack::apply_with`].
    pub async fn apply(&self, ctx: &Context, plan: &Plan) -> Result<crate::ApplyReport> {
        self.apply_with(ctx, plan, &ApplyOptions::default()).await
    }

    /// Execute `plan` with `hooks` around every mutating call. See [`Stack::apply_with`].
    pub async fn apply_with_hooks(
        &self,
        ctx: &Context,
        plan: &Plan,
        hooks: Arc<dyn RunHooks>,
    ) -> Result<crate::ApplyReport> {
        self.apply_with(ctx, plan, &ApplyOptions::default().hooks(hooks))
            .await
    }

    /// Execute `plan`: destroy phase, converge phase, retire phase (see the module docs);
    /// independent resources concurrently (bounded per service). Refuses, before any call, a
    /// plan made for another spec, a plan with refusals, and the deletion or replacement of a
    /// protected resource that `options` does not allow. A plan read back from JSON is planned
    /// again and refused as stale if any resource's action changed since.
    pub async fn apply_with(
        &self,
        ctx: &Context,
        plan: &Plan,
        options: &ApplyOptions,
    ) -> Result<crate::ApplyReport> {
        self.validate()?;
        self.check_context(ctx)?;
        let current = self.spec_digest();
        if plan.spec_digest != current || plan.stack != self.name() {
            return Err(Error::StalePlan {
                planned: plan.spec_digest.clone(),
                current,
            });
        }
        check_protection(plan, options, self.env.stage().as_str())?;
        let fresh;
        let plan = if plan.observed_here {
            plan
        } else {
            fresh = self.recheck(ctx, plan, options).await?;
            &fresh
        };
        let run = Run::new(self, ctx, plan, options.hooks.clone())?;
        run.execute().await?;
        Ok(run.report())
    }

    /// Plan again for a plan read back from JSON; refuse if any resource's action changed.
    async fn recheck(&self, ctx: &Context, saved: &Plan, options: &ApplyOptions) -> Result<Plan> {
        let opts = PlanOptions {
            allow_destroy: options.allow_destroy.clone(),
        };
        let fresh = self.make_plan(ctx, saved.mode, &opts).await?;
        let shape = |p: &Plan| -> BTreeMap<ResourceId, String> {
            p.resources
                .iter()
                .map(|r| (r.id.clone(), action_shape(&r.action)))
                .collect()
        };
        let (was, now) = (shape(saved), shape(&fresh));
        for id in was.keys().chain(now.keys()) {
            let (a, b) = (was.get(id), now.get(id));
            if a != b {
                return Err(Error::StaleObservation {
                    resource: id.clone(),
                    planned: a.cloned().unwrap_or_else(|| "absent".into()),
                    now: b.cloned().unwrap_or_else(|| "absent".into()),
                });
            }
        }
        Ok(fresh)
    }
}

/// An action's kind and changed field names: what must not change between plan and apply.
fn action_shape(a: &Action) -> String {
    let fields = |d: &[crate::plan::FieldDiff]| {
        d.iter()
            .map(|d| d.field.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    match a {
        Action::Create { .. } => "create".into(),
        Action::Update { diffs } => format!("update ({})", fields(diffs)),
        Action::Replace { diffs, .. } => format!("replace ({})", fields(diffs)),
        Action::Delete => "delete".into(),
        Action::Run { .. } => "run".into(),
        Action::NoOp => "no change".into(),
    }
}

/// Refuse a plan with refusals, or one deleting or replacing a protected resource not allowed.
fn check_protection(plan: &Plan, options: &ApplyOptions, stage: &str) -> Result<()> {
    let mut refusals = plan.refused.clone();
    for r in &plan.resources {
        let action = match r.action {
            Action::Delete => "destroy",
            Action::Replace { .. } => "replace",
            _ => continue,
        };
        let id = r.id.to_string();
        if r.protected
            && !options.allow_destroy.contains(&id)
            && !refusals.iter().any(|x| x.resource == r.id)
        {
            refusals.push(refusal(&r.id, action, stage));
        }
    }
    // A refusal the plan recorded is lifted by an allowance given to apply.
    refusals.retain(|x| !options.allow_destroy.contains(&x.resource.to_string()));
    if refusals.is_empty() {
        Ok(())
    } else {
        Err(Error::Protected { refusals })
    }
}

impl<'a> Run<'a> {
    fn new(
        stack: &'a Stack,
        ctx: &'a Context,
        plan: &'a Plan,
        hooks: Arc<dyn RunHooks>,
    ) -> Result<Self> {
        let n = stack.nodes.len();
        let mut ids = stack.ids();
        let stale = || Error::StalePlan {
            planned: plan.spec_digest.clone(),
            current: stack.spec_digest(),
        };
        let mut planned: Vec<&ResourcePlan> = ids
            .iter()
            .map(|id| {
                plan.resources
                    .iter()
                    .find(|r| &r.id == id)
                    .ok_or_else(stale)
            })
            .collect::<Result<_>>()?;
        let mut items: Vec<Item<'a>> = (0..n).map(Item::Node).collect();
        let mut deps = stack.deps();
        let mut services = stack.services();
        for r in plan.resources.iter().filter(|r| r.orphan) {
            let (kind, owned) = plan.orphans.get(&r.id).ok_or_else(stale)?;
            let lister = stack.kinds.get(kind.as_str()).ok_or_else(stale)?;
            ids.push(r.id.clone());
            planned.push(r);
            items.push(Item::Orphan(lister.clone(), owned));
            services.push(r.service.clone());
            deps.push(Vec::new());
        }
        let index: BTreeMap<&ResourceId, usize> =
            ids.iter().enumerate().map(|(i, id)| (id, i)).collect();
        for i in n..ids.len() {
            deps[i] = planned[i]
                .depends_on
                .iter()
                .filter_map(|d| index.get(d).copied())
                .collect();
        }
        let len = ids.len();
        Ok(Run {
            stack,
            ctx,
            plan,
            hooks,
            ids,
            planned,
            items,
            deps,
            services,
            states: Mutex::new((0..len).map(|_| None).collect()),
            physical: Mutex::new(vec![None; len]),
            timings: Mutex::new(vec![None; len]),
            t0: tokio::time::Instant::now(),
        })
    }

    async fn execute(&self) -> Result<()> {
        self.phase(Phase::Destroy).await?;
        if self.plan.mode == PlanMode::Apply {
            self.converge_phase().await?;
            self.phase(Phase::Retire).await?;
        }
        Ok(())
    }

    fn order_of(&self, i: usize) -> Option<ReplaceOrder> {
        match &self.planned[i].action {
            Action::Replace { order, .. } => Some(*order),
            _ => None,
        }
    }

    fn enabled(&self, phase: Phase, i: usize) -> bool {
        let a = &self.planned[i].action;
        match phase {
            Phase::Destroy => {
                (matches!(a, Action::Delete) && !self.retired_copy(i))
                    || self.order_of(i) == Some(ReplaceOrder::DestroyBeforeCreate)
            }
            Phase::Converge | Phase::Ready | Phase::Settle => {
                matches!(self.items[i], Item::Node(_))
            }
            Phase::Retire => {
                self.order_of(i) == Some(ReplaceOrder::CreateBeforeDestroy) || self.retired_copy(i)
            }
        }
    }

    /// A second copy (`logical#physical`) of a declared create-before-destroy resource: the copy
    /// a crashed or failed replacement left behind. Its dependents may still use it until they
    /// converge on the current copy, so it is deleted after them, like a replaced old copy.
    fn retired_copy(&self, i: usize) -> bool {
        let Item::Orphan(..) = self.items[i] else {
            return false;
        };
        let id = &self.ids[i];
        let Some((logical, _)) = id.logical_id.split_once('#') else {
            return false;
        };
        self.stack.nodes.iter().any(|n| {
            let nid = n.id();
            nid.kind == id.kind
                && nid.logical_id == logical
                && n.replace_order() == ReplaceOrder::CreateBeforeDestroy
        })
    }

    fn op_name(&self, phase: Phase, i: usize) -> String {
        let a = &self.planned[i].action;
        match (phase, a) {
            (Phase::Destroy, Action::Replace { .. }) => "replace (delete old)".into(),
            (Phase::Destroy, _) => "delete".into(),
            (Phase::Converge, Action::Create { .. }) => "create".into(),
            (Phase::Converge, Action::Update { .. }) => "update".into(),
            (Phase::Converge, Action::Replace { .. }) => "replace (create new)".into(),
            (Phase::Converge, Action::Run { .. }) => "run".into(),
            (Phase::Converge, _) => "read".into(),
            (Phase::Ready, _) => "wait until ready".into(),
            (Phase::Settle, _) => "wait until settled".into(),
            (Phase::Retire, Action::Delete) => "delete (retire old copy)".into(),
            (Phase::Retire, _) => "replace (retire old)".into(),
        }
    }

    /// The converge phase's graph: node `i` is three steps, `i` (create, update, read), `n + i`
    /// (wait until ready) and `2n + i` (wait until settled). A dependent waits for a dependency's
    /// readiness step, or only for its converge step when it needs just the identifier; nothing
    /// waits for a settle step.
    fn converge_graph(&self) -> (Vec<Vec<usize>>, Vec<String>, Vec<ResourceId>) {
        let n = self.stack.nodes.len();
        let mut deps = vec![Vec::new(); 3 * n];
        for (i, node) in self.stack.nodes.iter().enumerate() {
            let id_only: BTreeSet<usize> = node
                .id_only_dependencies()
                .iter()
                .map(|d| d.index)
                .collect();
            deps[i] = self.deps[i]
                .iter()
                .map(|&d| if id_only.contains(&d) { d } else { n + d })
                .collect();
            deps[n + i] = vec![i];
            deps[2 * n + i] = vec![n + i];
        }
        let services = (0..3 * n)
            .map(|k| {
                if k < n {
                    self.services[k].clone()
                } else {
                    WAIT_SERVICE.to_string()
                }
            })
            .collect();
        let ids = (0..3 * n).map(|k| self.ids[k % n].clone()).collect();
        (deps, services, ids)
    }

    async fn converge_phase(&self) -> Result<()> {
        let n = self.stack.nodes.len();
        let (deps, services, ids) = self.converge_graph();
        let step = |k: usize| match k / n {
            0 => (k, Phase::Converge),
            1 => (k - n, Phase::Ready),
            _ => (k - 2 * n, Phase::Settle),
        };
        let ops: Vec<String> = (0..3 * n)
            .map(|k| {
                let (i, phase) = step(k);
                self.op_name(phase, i)
            })
            .collect();
        let outcomes = executor::run(
            &deps,
            &services,
            &self.stack.limits,
            Order::Forward,
            |_| true,
            |k| {
                let (i, phase) = step(k);
                let span = tracing::info_span!("apply", resource = %ids[k], op = ops[k].as_str());
                self.timed(i, phase).instrument(span)
            },
        )
        .await;
        let failures = failures_of(outcomes, &ids, &ops);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Failed { failures })
        }
    }

    async fn phase(&self, phase: Phase) -> Result<()> {
        let order = match phase {
            Phase::Converge | Phase::Ready | Phase::Settle => Order::Forward,
            Phase::Destroy | Phase::Retire => Order::Reverse,
        };
        let ops: Vec<String> = (0..self.ids.len())
            .map(|i| self.op_name(phase, i))
            .collect();
        let outcomes = executor::run(
            &self.deps,
            &self.services,
            &self.stack.limits,
            order,
            |i| self.enabled(phase, i),
            |i| {
                let span =
                    tracing::info_span!("apply", resource = %self.ids[i], op = ops[i].as_str());
                self.timed(i, phase).instrument(span)
            },
        )
        .await;
        let failures = failures_of(outcomes, &self.ids, &ops);
        if failures.is_empty() {
            Ok(())
        } else {
            Err(Error::Failed { failures })
        }
    }

    async fn timed(&self, i: usize, phase: Phase) -> Result<()> {
        if phase == Phase::Settle && !self.settling(i) {
            // Nothing to wait for: the node's timing ends with its readiness.
            return Ok(());
        }
        let start_ms = self.t0.elapsed().as_millis() as u64;
        let op = self.op_name(phase, i);
        // Reads and readiness waits have progress events of their own (`wait`).
        let mutating = !matches!(phase, Phase::Ready | Phase::Settle) && op != "read";
        let resource = self.ids[i].to_string();
        if mutating {
            tracing::info!(target: OPERATION_TARGET, resource = resource.as_str(), op = op.as_str(), started = true, "{op} started");
        }
        let r = self.work(i, phase).await;
        let end_ms = self.t0.elapsed().as_millis() as u64;
        if mutating {
            let (elapsed_ms, failed) = (end_ms - start_ms, r.is_err());
            tracing::info!(target: OPERATION_TARGET, resource = resource.as_str(), op = op.as_str(), elapsed_ms, failed, "{op} ended");
        }
        let mut t = self.timings.lock().unwrap_or_else(|p| p.into_inner());
        let slot = &mut t[i];
        *slot = Some(match *slot {
            Some(prev) => NodeTiming {
                start_ms: prev.start_ms,
                end_ms,
            },
            None => NodeTiming { start_ms, end_ms },
        });
        r
    }

    fn guard(&self, i: usize) -> Guard {
        Guard::new(self.ids[i].clone(), self.hooks.clone())
    }

    fn observed(&self, i: usize) -> Result<&'a Observed> {
        self.plan
            .observed
            .get(&self.ids[i])
            .ok_or_else(|| Error::Resource {
                resource: self.ids[i].to_string(),
                message: "plan has no observation for a change to an existing resource".into(),
            })
    }

    async fn work(&self, i: usize, phase: Phase) -> Result<()> {
        let guard = self.guard(i);
        match (&self.items[i], phase) {
            (Item::Orphan(kind, owned), _) => kind.delete(self.ctx, owned, &guard).await,
            (Item::Node(n), Phase::Destroy | Phase::Retire) => {
                let node = &self.stack.nodes[*n];
                node.delete(self.ctx, self.observed(i)?, &guard).await
            }
            (Item::Node(n), Phase::Converge) => self.converge(*n, &guard).await,
            (Item::Node(n), Phase::Ready) => self.ready(*n).await,
            (Item::Node(n), Phase::Settle) => self.settle(*n).await,
        }
    }

    /// Node `i`'s observation as its last step left it.
    fn current(&self, i: usize) -> Option<Observed> {
        let s = self.states.lock().unwrap_or_else(|p| p.into_inner());
        s[i].as_ref().and_then(|s| s.observed.clone())
    }

    /// Whether item `i` is a node that serves its dependents but has not settled yet.
    fn settling(&self, i: usize) -> bool {
        let Item::Node(n) = self.items[i] else {
            return false;
        };
        let s = self.states.lock().unwrap_or_else(|p| p.into_inner());
        let ready = s[n]
            .as_ref()
            .and_then(|s| s.observed.as_ref())
            .map(|o| &o.ready);
        matches!(ready, Some(Readiness::Serving(_)))
    }

    /// Wait until node `i` has settled, if it serves its dependents but has not settled yet.
    async fn settle(&self, i: usize) -> Result<()> {
        let Some(o) = self.current(i) else {
            return Ok(());
        };
        if !matches!(o.ready, Readiness::Serving(_)) {
            return Ok(());
        }
        let o = self.stack.nodes[i].wait_settled(self.ctx, o).await?;
        self.record(i, Some(o));
        Ok(())
    }

    /// Wait until node `i` is ready, if its create or observation said it is not.
    async fn ready(&self, i: usize) -> Result<()> {
        let Some(o) = self.current(i) else {
            return Ok(());
        };
        if o.ready.serves() {
            return Ok(());
        }
        let o = self.stack.nodes[i].wait_ready(self.ctx, o).await?;
        self.record(i, Some(o));
        Ok(())
    }

    /// Keep node `i`'s observation, physical id and outputs for its dependents and the report.
    fn record(&self, i: usize, result: Option<Observed>) {
        let outputs = match &result {
            Some(o) => {
                let pid = o.physical_id.clone();
                self.physical.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(pid);
                o.outputs.clone()
            }
            None => Outputs::new(),
        };
        self.states.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(NodeState {
            observed: result,
            outputs: Some(outputs),
        });
    }

    async fn converge(&self, i: usize, guard: &Guard) -> Result<()> {
        let node = &self.stack.nodes[i];
        let inputs = {
            let s = self.states.lock().unwrap_or_else(|p| p.into_inner());
            self.stack.inputs_for(i, &s)
        };
        let result = match &self.planned[i].action {
            Action::Create { .. } | Action::Replace { .. } | Action::Run { .. } => {
                Some(node.create(self.ctx, &inputs, guard).await?)
            }
            Action::Update { diffs } => {
                let o = self.observed(i)?;
                node.update(self.ctx, &inputs, o, diffs, guard).await?;
                Some(self.stack.converged(self.ctx, i, &inputs).await?)
            }
            Action::NoOp | Action::Delete => self.plan.observed.get(&self.ids[i]).cloned(),
        };
        self.record(i, result);
        Ok(())
    }

    fn report(self) -> crate::ApplyReport {
        let mut report = crate::ApplyReport {
            changed: self.planned.iter().filter(|p| p.action.is_change()).count(),
            ..crate::ApplyReport::default()
        };
        let key = |i: usize| self.ids[i].to_string();
        let physical = self
            .physical
            .into_inner()
            .unwrap_or_else(|p| p.into_inner());
        for (i, p) in physical.into_iter().enumerate() {
            if let Some(p) = p {
                report.physical_ids.insert(key(i), p);
            }
        }
        let timings = self.timings.into_inner().unwrap_or_else(|p| p.into_inner());
        for (i, t) in timings.into_iter().enumerate() {
            if let Some(t) = t {
                report.timings.insert(key(i), t);
            }
        }
        let states = self.states.into_inner().unwrap_or_else(|p| p.into_inner());
        for (i, s) in states.into_iter().enumerate() {
            if let Some(NodeState {
                outputs: Some(o), ..
            }) = s
            {
                report.resources.insert(key(i), o);
            }
        }
        if self.plan.mode == PlanMode::Apply {
            for (name, (node, out)) in &self.stack.exports {
                if let Some(v) = report
                    .resources
                    .get(&self.ids[node.index].to_string())
                    .and_then(|o| o.get(*out))
                {
                    report.outputs.insert(name.clone(), v.clone());
                }
            }
        }
        report
    }
}

impl Stack {
    /// Observe node `i` again after an update until it matches the spec; fail naming the fields
    /// that still differ once the (eventual-consistency) window has passed.
    async fn converged(
        &self,
        ctx: &Context,
        i: usize,
        inputs: &crate::resource::Inputs,
    ) -> Result<Observed> {
        let node = &self.nodes[i];
        let id = node.id();
        let window = if ctx.endpoint_overridden() {
            Duration::from_secs(5)
        } else {
            Duration::from_secs(60)
        };
        let desired = node.desired(&self.env, inputs);
        let last: Mutex<Vec<String>> = Mutex::new(Vec::new());
        let r = ctx
            .poller(window)
            .wait(&id.to_string(), "converged", || async {
                let Some(o) = node.observe(ctx, inputs).await? else {
                    return Err(Error::Resource {
                        resource: id.to_string(),
                        message: "gone right after its update".into(),
                    });
                };
                match settle_pending(node.diff(&desired, &o), &o).0 {
                    Action::NoOp => Ok(Poll::Ready(o)),
                    Action::Update { diffs } | Action::Replace { diffs, .. } => {
                        let fields: Vec<String> = diffs
                            .iter()
                            .map(|d| {
                                let show = |v: &Option<crate::plan::Value>| {
                                    v.as_ref().map(ToString::to_string).unwrap_or("null".into())
                                };
                                format!("{} is {}, wanted {}", d.field, show(&d.old), show(&d.new))
                            })
                            .collect();
                        let state = fields.join("; ");
                        *last.lock().unwrap_or_else(|p| p.into_inner()) = fields;
                        Ok(Poll::Pending(state))
                    }
                    other => Ok(Poll::Pending(format!("{other:?}"))),
                }
            })
            .await;
        match r {
            Err(Error::Timeout { .. }) => Err(Error::NotConverged {
                resource: id,
                fields: last.into_inner().unwrap_or_else(|p| p.into_inner()),
            }),
            other => other,
        }
    }
}
