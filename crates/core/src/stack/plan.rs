//! Planning: observe every declared resource, list what the stack owns, and decide per resource.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use tracing::Instrument;

use super::{NodeState, Stack};
use crate::context::Context;
use crate::error::{Error, NodeFailure, Result};
use crate::executor::{self, NodeOutcome, Order};
use crate::owned::{Owned, OwnedKind, orphan_id};
use crate::plan::{
    Action, PendingChange, Plan, PlanMode, Refusal, ReplaceOrder, ResourceId, ResourcePlan, Warning,
};
use crate::resource::{Inputs, Observed, Readiness, settle_pending};

/// Options of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Resources (`kind.logical_id`, as in the plan) that this run may delete or replace even
    /// though they hold data. Without it such a change is a [`Refusal`] in the plan.
    pub allow_destroy: BTreeSet<String>,
}

impl PlanOptions {
    /// Allow deleting or replacing `resource` (`secret.db-password`).
    pub fn allow_destroy(mut self, resource: impl Into<String>) -> Self {
        self.allow_destroy.insert(resource.into());
        self
    }
}

/// An orphan found at plan time: its kind's lister and what the listing returned.
#[derive(Clone)]
pub(crate) struct Orphan {
    pub(crate) kind: Arc<dyn OwnedKind>,
    pub(crate) owned: Owned,
}

impl std::fmt::Debug for Orphan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orphan")
            .field("kind", &self.kind.kind())
            .field("owned", &self.owned)
            .finish()
    }
}

impl Stack {
    /// Observe every resource (concurrently, in dependency order), list what the stack owns and
    /// compute what apply must do. See [`Stack::plan_with`].
    pub async fn plan(&self, ctx: &Context) -> Result<Plan> {
        self.plan_with(ctx, &PlanOptions::default()).await
    }

    /// [`Stack::plan`] with options: the resources holding data that this run may delete.
    pub async fn plan_with(&self, ctx: &Context, options: &PlanOptions) -> Result<Plan> {
        self.make_plan(ctx, PlanMode::Apply, options).await
    }

    /// Observe every resource and plan its deletion, with every orphan's.
    pub async fn plan_destroy(&self, ctx: &Context) -> Result<Plan> {
        self.make_plan(ctx, PlanMode::Destroy, &PlanOptions::default())
            .await
    }

    /// [`Stack::plan_destroy`] with options.
    pub async fn plan_destroy_with(&self, ctx: &Context, options: &PlanOptions) -> Result<Plan> {
        self.make_plan(ctx, PlanMode::Destroy, options).await
    }

    pub(crate) async fn make_plan(
        &self,
        ctx: &Context,
        mode: PlanMode,
        options: &PlanOptions,
    ) -> Result<Plan> {
        self.validate()?;
        self.check_context(ctx)?;
        // Listings are made once per plan and shared by every node and lister.
        let ctx = &ctx.for_plan();
        let ids = self.ids();
        let deps = self.deps();
        let (actions, mut observed) = self.observe_all(ctx, mode).await?;
        let mut resources: Vec<ResourcePlan> = actions
            .into_iter()
            .enumerate()
            .map(|(i, (action, pending))| ResourcePlan {
                id: ids[i].clone(),
                physical_id: observed[i].as_ref().map(|o| o.physical_id.clone()),
                service: self.nodes[i].service().to_string(),
                depends_on: deps[i].iter().map(|&d| ids[d].clone()).collect(),
                orphan: false,
                protected: false,
                not_ready: match observed[i].as_ref().map(|o| &o.ready) {
                    Some(Readiness::NotReady(state)) => Some(state.clone()),
                    _ => None,
                },
                pending,
                action,
            })
            .collect();
        self.mark_replacements(&mut resources);
        let (orphans, listing_warnings) = self.orphans(ctx, &ids, &observed).await?;
        add_orphans(&mut resources, &orphans);
        let refused = self
            .protect(ctx, &mut resources, &observed, &orphans, options)
            .await?;
        if mode == PlanMode::Destroy {
            // Show deletions in the order they will run.
            resources.reverse();
        }
        let mut warnings = match mode {
            PlanMode::Apply => self.warnings(),
            PlanMode::Destroy => Vec::new(),
        };
        warnings.extend(listing_warnings);
        let mut plan = Plan::new(self.name(), mode, self.spec_digest(), resources, warnings);
        plan.refused = refused;
        plan.observed = ids
            .iter()
            .zip(observed.iter_mut())
            .filter_map(|(id, o)| o.take().map(|o| (id.clone(), o)))
            .collect();
        plan.orphans = orphans
            .into_iter()
            .map(|(id, o)| (id, (o.kind.kind().to_string(), o.owned)))
            .collect();
        plan.observed_here = true;
        Ok(plan)
    }

    /// Observe every declared node in dependency order; its action and observation.
    async fn observe_all(
        &self,
        ctx: &Context,
        mode: PlanMode,
    ) -> Result<(Vec<(Action, Vec<PendingChange>)>, Vec<Option<Observed>>)> {
        let ids = &self.ids();
        let states: Arc<Mutex<Vec<Option<NodeState>>>> =
            Arc::new(Mutex::new((0..self.nodes.len()).map(|_| None).collect()));
        let outcomes = executor::run(
            &self.deps(),
            &self.services(),
            &self.limits,
            Order::Forward,
            |_| true,
            |i| {
                let states = states.clone();
                let span = tracing::info_span!("observe", resource = %ids[i]);
                self.observe_one(ctx, mode, i, states).instrument(span)
            },
        )
        .await;
        let mut actions = Vec::with_capacity(self.nodes.len());
        let mut failed = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            match o {
                NodeOutcome::Done(Some(a)) => actions.push(a),
                NodeOutcome::Failed(e) => failed.push(NodeFailure::new(&ids[i], "observe", e)),
                _ => actions.push((Action::NoOp, Vec::new())),
            }
        }
        if !failed.is_empty() {
            return Err(Error::Failed { failures: failed });
        }
        let states = std::mem::take(&mut *states.lock().unwrap_or_else(|p| p.into_inner()));
        let observed = states
            .into_iter()
            .map(|s| s.and_then(|s| s.observed))
            .collect();
        Ok((actions, observed))
    }

    async fn observe_one(
        &self,
        ctx: &Context,
        mode: PlanMode,
        i: usize,
        states: Arc<Mutex<Vec<Option<NodeState>>>>,
    ) -> Result<(Action, Vec<PendingChange>)> {
        let node = &self.nodes[i];
        let (inputs, current) = {
            let s = states.lock().unwrap_or_else(|p| p.into_inner());
            (self.inputs_for(i, &s), self.observe_inputs_for(i, &s))
        };
        let observed = node.observe(ctx, &current).await?;
        if node.read_only() && observed.is_none() {
            return Err(Error::Resource {
                resource: node.id().to_string(),
                message: "data source found nothing".into(),
            });
        }
        let desired = node.desired(&self.env, &inputs);
        let action = match (&observed, mode) {
            _ if node.read_only() => Action::NoOp,
            (None, PlanMode::Apply) => Action::Create {
                fields: desired
                    .iter()
                    .map(|(k, f)| (k.clone(), f.value.clone()))
                    .collect(),
            },
            (Some(o), PlanMode::Apply) if o.going => crate::resource::going_action(&node.id()),
            (Some(o), PlanMode::Apply) => node.diff(&desired, o),
            (Some(_), PlanMode::Destroy) if node.shared() => Action::NoOp,
            (Some(_), PlanMode::Destroy) => Action::Delete,
            (None, PlanMode::Destroy) => Action::NoOp,
        };
        let (action, pending) = match &observed {
            Some(o) => settle_pending(action, o),
            None => (action, Vec::new()),
        };
        let action = match (node.is_action(), mode) {
            (false, _) => action,
            (true, PlanMode::Apply) => crate::actions::as_run(action),
            (true, PlanMode::Destroy) => Action::NoOp,
        };
        // Outputs stay known for dependents unless the resource is (re)created, or an update
        // changes them.
        let outputs = match (&action, &observed) {
            (Action::NoOp | Action::Delete, Some(o)) => Some(o.outputs.clone()),
            (Action::Update { .. }, Some(o)) => {
                let mut out = o.outputs.clone();
                out.retain(|k, _| !node.outputs_changed_by_update().contains(&k.as_str()));
                Some(out)
            }
            _ => None,
        };
        let mut s = states.lock().unwrap_or_else(|p| p.into_inner());
        s[i] = Some(NodeState { observed, outputs });
        Ok((action, pending))
    }

    /// Give every replacement its order, and name the replaced resources that drag a dependent
    /// along (its forcing fields are unknown because they come from a replaced resource).
    fn mark_replacements(&self, resources: &mut [ResourcePlan]) {
        let replaced: BTreeSet<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.action, Action::Replace { .. }))
            .map(|(i, _)| i)
            .collect();
        let deps = self.deps();
        // Index order is dependency order, so a dependency's order is settled before its
        // dependents'.
        for &i in &replaced {
            let by_index: Vec<usize> = deps[i]
                .iter()
                .copied()
                .filter(|d| replaced.contains(d))
                .collect();
            let by: Vec<ResourceId> = by_index.iter().map(|&d| resources[d].id.clone()).collect();
            // The old copy of a create-before-destroy resource lives until the retire phase: it
            // cannot outlive a dependency whose old copy goes in the destroy phase (a group in a
            // VPC being replaced), so it follows that dependency's order.
            let after_destroyed = by_index.iter().any(|&d| {
                matches!(
                    resources[d].action,
                    Action::Replace {
                        order: ReplaceOrder::DestroyBeforeCreate,
                        ..
                    }
                )
            });
            let order_of_node = if after_destroyed {
                ReplaceOrder::DestroyBeforeCreate
            } else {
                self.nodes[i].replace_order()
            };
            if let Action::Replace {
                reason,
                diffs,
                order,
                dragged_by,
            } = &mut resources[i].action
            {
                *order = order_of_node;
                let forced_by_unknown = diffs
                    .iter()
                    .filter(|d| d.forces_replacement)
                    .all(|d| matches!(d.new, Some(crate::plan::Value::Unknown)));
                if !by.is_empty() && forced_by_unknown {
                    let names: Vec<String> = by.iter().map(ToString::to_string).collect();
                    *reason = format!(
                        "replaced with {}, whose new identity it cannot take in place",
                        names.join(", ")
                    );
                    *dragged_by = by;
                }
            }
        }
    }

    /// List every registered kind (concurrently) and keep what is not declared, or is a second
    /// copy of a declared resource.
    async fn orphans(
        &self,
        ctx: &Context,
        ids: &[ResourceId],
        observed: &[Option<Observed>],
    ) -> Result<(BTreeMap<ResourceId, Orphan>, Vec<Warning>)> {
        let declared: BTreeMap<&ResourceId, Option<&str>> = ids
            .iter()
            .zip(observed)
            .map(|(id, o)| (id, o.as_ref().map(|o| o.physical_id.as_str())))
            .collect();
        let listings = futures::future::join_all(self.kinds.values().map(|k| {
            let span = tracing::info_span!("list", kind = k.kind());
            let declared = &declared;
            async move { (k.clone(), undeclared(k, ctx, declared).await) }.instrument(span)
        }))
        .await;
        let mut orphans = BTreeMap::new();
        let mut warnings = Vec::new();
        let mut failed = Vec::new();
        for (kind, listing) in listings {
            let (found, w) = match listing {
                Ok(found) => found,
                Err(e) => {
                    failed.push(NodeFailure::new(
                        &ResourceId::new(kind.kind(), "*"),
                        "list",
                        e,
                    ));
                    continue;
                }
            };
            warnings.extend(w);
            for (owned, duplicate) in found {
                let oid = orphan_id(kind.kind(), &owned, duplicate);
                let kind = kind.clone();
                orphans.insert(oid, Orphan { kind, owned });
            }
        }
        if !failed.is_empty() {
            return Err(Error::Failed { failures: failed });
        }
        Ok((orphans, warnings))
    }

    /// Mark resources holding data that the plan deletes or replaces; refuse those not allowed.
    async fn protect(
        &self,
        ctx: &Context,
        resources: &mut [ResourcePlan],
        observed: &[Option<Observed>],
        orphans: &BTreeMap<ResourceId, Orphan>,
        options: &PlanOptions,
    ) -> Result<Vec<Refusal>> {
        if self.env.is_ephemeral() {
            return Ok(Vec::new());
        }
        let mut refused = Vec::new();
        for (i, r) in resources.iter_mut().enumerate() {
            let action = match r.action {
                Action::Delete => "destroy",
                Action::Replace { .. } => "replace",
                _ => continue,
            };
            let holds = match (orphans.get(&r.id), observed.get(i).and_then(Option::as_ref)) {
                (Some(o), _) => o.kind.holds_data(ctx, &o.owned).await?,
                // AWS is deleting it already (an earlier run was allowed to): nothing is left to
                // protect, and refusing would stop the run that resumes the deletion.
                (None, Some(obs)) if obs.going => false,
                (None, Some(obs)) if i < self.nodes.len() => {
                    self.nodes[i].holds_data(ctx, obs).await?
                }
                _ => false,
            };
            if !holds {
                continue;
            }
            r.protected = true;
            if !options.allow_destroy.contains(&r.id.to_string()) {
                refused.push(refusal(&r.id, action, self.env.stage().as_str()));
            }
        }
        Ok(refused)
    }

    /// The plan against an empty account, made without any API call: every resource is a
    /// create, every reference between resources "known after apply", data sources unknown.
    /// For reviewing what a first deploy would build (and for snapshot tests).
    pub fn plan_offline(&self) -> Result<Plan> {
        self.validate()?;
        let ids = self.ids();
        let deps = self.deps();
        // Nodes can only refer to nodes added before them, so index order is dependency order.
        let resources = (0..self.nodes.len())
            .map(|i| {
                let node = &self.nodes[i];
                let action = if node.read_only() {
                    Action::NoOp
                } else {
                    Action::Create {
                        fields: node
                            .desired(&self.env, &Inputs::none())
                            .into_iter()
                            .map(|(k, f)| (k, f.value))
                            .collect(),
                    }
                };
                ResourcePlan {
                    id: ids[i].clone(),
                    physical_id: None,
                    service: node.service().to_string(),
                    depends_on: deps[i].iter().map(|&d| ids[d].clone()).collect(),
                    orphan: false,
                    protected: false,
                    not_ready: None,
                    pending: Vec::new(),
                    action,
                }
            })
            .collect();
        Ok(Plan::new(
            self.name(),
            PlanMode::Apply,
            self.spec_digest(),
            resources,
            self.warnings(),
        ))
    }

    fn warnings(&self) -> Vec<Warning> {
        self.nodes
            .iter()
            .flat_map(|n| {
                let id = n.id();
                n.warnings(&self.env)
                    .into_iter()
                    .map(move |message| Warning {
                        resource: Some(id.clone()),
                        message,
                    })
            })
            .collect()
    }
}

/// The refusal of deleting or replacing a resource that holds data.
pub(crate) fn refusal(id: &ResourceId, action: &str, stage: &str) -> Refusal {
    Refusal {
        resource: id.clone(),
        action: action.to_string(),
        message: format!(
            "holds data and stage {stage} is not ephemeral: refusing to {action} it; allow it explicitly with --allow-destroy {id} (ApplyOptions::allow_destroy / PlanOptions::allow_destroy)"
        ),
    }
}

/// What `kind` lists that the plan does not hold as observed: undeclared resources, and second
/// copies of declared ones (`true`). A kind whose listing may lag is listed again outside the
/// plan when it found any, and only what that listing finds too is kept.
async fn undeclared(
    kind: &Arc<dyn OwnedKind>,
    ctx: &Context,
    declared: &BTreeMap<&ResourceId, Option<&str>>,
) -> Result<(Vec<(Owned, bool)>, Vec<Warning>)> {
    let (mut found, warnings) = sort_listed(kind.kind(), kind.list(ctx).await?, declared);
    if kind.listing_may_lag() && !found.is_empty() {
        let again = kind.list(&ctx.unshared()).await?;
        found.retain(|(o, _)| again.contains(o));
    }
    Ok((found, warnings))
}

/// Split a kind's listing: what is declared and observed at the same physical id is dropped,
/// what is declared but was not observed is a warning.
fn sort_listed(
    kind: &str,
    listed: Vec<Owned>,
    declared: &BTreeMap<&ResourceId, Option<&str>>,
) -> (Vec<(Owned, bool)>, Vec<Warning>) {
    let mut found = Vec::new();
    let mut warnings = Vec::new();
    for owned in listed {
        let id = ResourceId::new(kind, owned.logical_id.clone());
        let duplicate = match declared.get(&id) {
            None => false,
            Some(Some(p)) if *p == owned.physical_id => continue,
            Some(Some(_)) => true,
            Some(None) => {
                warnings.push(Warning {
                    resource: Some(id),
                    message: format!(
                        "listing found {} with this resource's tags but observation did not; it is left alone",
                        owned.physical_id
                    ),
                });
                continue;
            }
        };
        found.push((owned, duplicate));
    }
    (found, warnings)
}

/// Append the orphans as deletions, each depending on every other deleted or replaced resource
/// of a kind it lives in, so that reverse order deletes it first.
fn add_orphans(resources: &mut Vec<ResourcePlan>, orphans: &BTreeMap<ResourceId, Orphan>) {
    let mut added: Vec<ResourcePlan> = orphans
        .iter()
        .map(|(id, o)| ResourcePlan {
            id: id.clone(),
            physical_id: Some(o.owned.physical_id.clone()),
            service: o.kind.service().to_string(),
            depends_on: Vec::new(),
            orphan: true,
            protected: false,
            not_ready: None,
            pending: Vec::new(),
            action: Action::Delete,
        })
        .collect();
    let going: Vec<(ResourceId, bool)> = resources
        .iter()
        .chain(added.iter())
        .filter(|r| matches!(r.action, Action::Delete | Action::Replace { .. }))
        .map(|r| (r.id.clone(), r.orphan))
        .collect();
    for r in &mut added {
        let inside = orphans[&r.id].kind.inside();
        r.depends_on = going
            .iter()
            .filter(|(g, _)| g != &r.id && inside.contains(&g.kind.as_str()))
            .map(|(g, _)| g.clone())
            .collect();
    }
    resources.extend(added);
}
