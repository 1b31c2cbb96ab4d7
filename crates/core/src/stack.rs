//! `Stack`: a graph of resource nodes; plan, apply and destroy.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::context::Context;
use crate::env::Environment;
use crate::error::{Error, NodeFailure, Result};
use crate::executor::{self, ConcurrencyLimits, NodeOutcome, Order};
use crate::plan::{Action, Plan, PlanMode, ResourceId, ResourcePlan, Warning};
use crate::resource::{
    Component, Guard, Inputs, NoHooks, NodeId, Observed, Outputs, Ref, Resource, RunHooks,
};

/// The result of a successful apply.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ApplyReport {
    /// Stack outputs declared with [`Stack::export`].
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Outputs of every resource, by `kind.logical_id`.
    pub resources: BTreeMap<String, Outputs>,
    /// Physical id (`vpc-0abc`, an ARN, a name) of every resource that exists after the run.
    pub physical_ids: BTreeMap<String, String>,
    /// How many resources were created, updated, replaced or deleted.
    pub changed: usize,
    /// When each resource's work started and ended, in milliseconds since the run started, by
    /// `kind.logical_id` (for "created after 1m32s" lines and critical-path analysis).
    pub timings: BTreeMap<String, NodeTiming>,
}

/// Start and end of one resource's work within a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct NodeTiming {
    /// Milliseconds after the run started.
    pub start_ms: u64,
    /// Milliseconds after the run started.
    pub end_ms: u64,
}

/// A stack: the resources of one environment, as a dependency graph.
pub struct Stack {
    env: Environment,
    nodes: Vec<Box<dyn Resource>>,
    exports: BTreeMap<String, (NodeId, &'static str)>,
    limits: ConcurrencyLimits,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("env", &self.env)
            .field(
                "nodes",
                &self.nodes.iter().map(|n| n.id()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct NodeState {
    observed: Option<Observed>,
    outputs: Option<Outputs>,
}

fn failures_of<T>(
    outcomes: Vec<NodeOutcome<T>>,
    ids: &[ResourceId],
    ops: &[&str],
) -> Vec<NodeFailure> {
    outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            NodeOutcome::Failed(e) => Some(NodeFailure {
                resource: ids[i].clone(),
                operation: ops[i].to_string(),
                message: e.to_string(),
            }),
            _ => None,
        })
        .collect()
}

impl Stack {
    /// An empty stack for `env`.
    pub fn new(env: Environment) -> Self {
        Stack {
            env,
            nodes: Vec::new(),
            exports: BTreeMap::new(),
            limits: ConcurrencyLimits::default(),
        }
    }

    /// Replace the per-service concurrency limits.
    pub fn with_limits(mut self, limits: ConcurrencyLimits) -> Self {
        self.limits = limits;
        self
    }

    /// The environment.
    pub fn env(&self) -> &Environment {
        &self.env
    }

    /// The stack name (`alva-staging`).
    pub fn name(&self) -> String {
        crate::tags::stack_name(&self.env)
    }

    /// Add one resource node.
    pub fn add_resource(&mut self, r: impl Resource + 'static) -> NodeId {
        self.nodes.push(Box::new(r));
        NodeId(self.nodes.len() - 1)
    }

    /// Add a component (one or more nodes) and get its typed handle.
    pub fn add<C: Component>(&mut self, component: C) -> C::Handle {
        component.add_to(self)
    }

    /// Declare a stack output.
    pub fn export<T>(&mut self, name: impl Into<String>, r: Ref<T>) {
        self.exports.insert(name.into(), (r.node(), r.output()));
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the stack has no nodes.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id of a node.
    pub fn resource_id(&self, node: NodeId) -> Option<ResourceId> {
        self.nodes.get(node.0).map(|n| n.id())
    }

    fn ids(&self) -> Vec<ResourceId> {
        self.nodes.iter().map(|n| n.id()).collect()
    }

    fn deps(&self) -> Vec<Vec<usize>> {
        self.nodes
            .iter()
            .map(|n| {
                let mut d: Vec<usize> = n.dependencies().iter().map(|x| x.0).collect();
                d.sort_unstable();
                d.dedup();
                d
            })
            .collect()
    }

    fn services(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.service().to_string()).collect()
    }

    /// Check the environment, every resource's spec and the graph (duplicates, references to
    /// nodes of another stack, cycles). Makes no API call.
    pub fn validate(&self) -> Result<()> {
        self.env.validate()?;
        let ids = self.ids();
        let mut seen = HashSet::new();
        for id in &ids {
            if !seen.insert(id) {
                return Err(Error::DuplicateResource(id.clone()));
            }
        }
        let deps = self.deps();
        for (i, ds) in deps.iter().enumerate() {
            if let Some(&m) = ds.iter().find(|&&d| d >= self.nodes.len()) {
                return Err(Error::UnknownDependency {
                    resource: ids[i].clone(),
                    missing: m,
                });
            }
        }
        if let Some(cycle) = executor::find_cycle(&deps) {
            return Err(Error::Cycle {
                path: cycle.into_iter().map(|i| ids[i].clone()).collect(),
            });
        }
        for (name, (node, _)) in &self.exports {
            if node.0 >= self.nodes.len() {
                return Err(Error::validation(
                    format!("exports.{name}"),
                    format!("node #{}", node.0),
                    "refers to a node of another stack",
                ));
            }
        }
        for n in &self.nodes {
            n.validate(&self.env)?;
        }
        Ok(())
    }

    /// Digest of the spec: ids, dependencies and desired fields (sensitive values excluded).
    pub fn spec_digest(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.env.prefix().as_bytes());
        let deps = self.deps();
        for (i, n) in self.nodes.iter().enumerate() {
            let fields = n.desired(&self.env, &Inputs::none());
            let desired: BTreeMap<String, (&crate::plan::Value, bool, bool)> = fields
                .iter()
                .map(|(k, f)| (k.clone(), (&f.value, f.force_new, f.ignore_drift)))
                .collect();
            let doc = serde_json::json!({ "id": n.id(), "deps": deps[i], "desired": desired });
            h.update(doc.to_string().as_bytes());
            h.update([0u8]);
        }
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Digest of each resource's spec (desired fields without inputs), by `kind.logical_id`:
    /// what the state records as "the spec last applied".
    pub fn resource_digests(&self) -> BTreeMap<String, String> {
        self.nodes
            .iter()
            .map(|n| {
                let fields = n.desired(&self.env, &Inputs::none());
                let mut h = Sha256::new();
                for (k, f) in &fields {
                    h.update(k.as_bytes());
                    h.update(
                        serde_json::to_string(&f.value)
                            .unwrap_or_default()
                            .as_bytes(),
                    );
                    h.update([u8::from(f.force_new), u8::from(f.ignore_drift)]);
                }
                let d: String = h
                    .finalize()
                    .iter()
                    .take(16)
                    .map(|b| format!("{b:02x}"))
                    .collect();
                (n.id().to_string(), d)
            })
            .collect()
    }

    fn inputs_for(&self, i: usize, states: &[Option<NodeState>]) -> Inputs {
        let mut inputs = Inputs::none();
        for d in self.nodes[i].dependencies() {
            if let Some(Some(NodeState {
                outputs: Some(o), ..
            })) = states.get(d.0)
            {
                inputs.insert(d, o.clone());
            }
        }
        inputs
    }

    /// Observe every resource (concurrently, in dependency order) and compute what apply must do.
    pub async fn plan(&self, ctx: &Context) -> Result<Plan> {
        self.make_plan(ctx, PlanMode::Apply).await
    }

    /// Observe every resource and plan its deletion.
    pub async fn plan_destroy(&self, ctx: &Context) -> Result<Plan> {
        self.make_plan(ctx, PlanMode::Destroy).await
    }

    async fn make_plan(&self, ctx: &Context, mode: PlanMode) -> Result<Plan> {
        self.validate()?;
        let ids = &self.ids();
        let deps = self.deps();
        let states: Arc<Mutex<Vec<Option<NodeState>>>> =
            Arc::new(Mutex::new((0..self.nodes.len()).map(|_| None).collect()));
        let outcomes = executor::run(
            &deps,
            &self.services(),
            &self.limits,
            Order::Forward,
            |_| true,
            |i| {
                let states = states.clone();
                let node = &self.nodes[i];
                let span = tracing::info_span!("observe", resource = %ids[i]);
                async move {
                    let inputs = {
                        let s = states.lock().unwrap_or_else(|p| p.into_inner());
                        self.inputs_for(i, &s)
                    };
                    let observed = node.observe(ctx, &inputs).await?;
                    if node.read_only() && observed.is_none() {
                        return Err(Error::Resource {
                            resource: ids[i].to_string(),
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
                        (Some(o), PlanMode::Apply) => node.diff(&desired, o),
                        (Some(_), PlanMode::Destroy) => Action::Delete,
                        (None, PlanMode::Destroy) => Action::NoOp,
                    };
                    // Outputs stay known for dependents unless the resource is (re)created.
                    let outputs = match (&action, &observed) {
                        (Action::NoOp | Action::Update { .. } | Action::Delete, Some(o)) => {
                            Some(o.outputs.clone())
                        }
                        _ => None,
                    };
                    let mut s = states.lock().unwrap_or_else(|p| p.into_inner());
                    s[i] = Some(NodeState { observed, outputs });
                    Ok(action)
                }
                .instrument(span)
            },
        )
        .await;
        let mut actions = Vec::with_capacity(self.nodes.len());
        let mut failed = Vec::new();
        for (i, o) in outcomes.into_iter().enumerate() {
            match o {
                NodeOutcome::Done(Some(a)) => actions.push(a),
                NodeOutcome::Failed(e) => failed.push(NodeFailure {
                    resource: ids[i].clone(),
                    operation: "observe".into(),
                    message: e.to_string(),
                }),
                _ => actions.push(Action::NoOp),
            }
        }
        if !failed.is_empty() {
            return Err(Error::Failed { failures: failed });
        }
        let mut states = std::mem::take(&mut *states.lock().unwrap_or_else(|p| p.into_inner()));
        let mut observed = BTreeMap::new();
        let mut resources = Vec::new();
        for (i, action) in actions.into_iter().enumerate() {
            let obs = states[i].take().and_then(|s| s.observed);
            resources.push(ResourcePlan {
                id: ids[i].clone(),
                physical_id: obs.as_ref().map(|o| o.physical_id.clone()),
                service: self.nodes[i].service().to_string(),
                depends_on: deps[i].iter().map(|&d| ids[d].clone()).collect(),
                action,
            });
            if let Some(o) = obs {
                observed.insert(ids[i].clone(), o);
            }
        }
        if mode == PlanMode::Destroy {
            // Show deletions in the order they will run.
            resources.reverse();
        }
        let warnings = match mode {
            PlanMode::Apply => self.warnings(),
            PlanMode::Destroy => Vec::new(),
        };
        let mut plan = Plan::new(self.name(), mode, self.spec_digest(), resources, warnings);
        plan.observed = observed;
        Ok(plan)
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

    /// Execute `plan` with no run hooks. See [`Stack::apply_with_hooks`].
    pub async fn apply(&self, ctx: &Context, plan: &Plan) -> Result<ApplyReport> {
        self.apply_with_hooks(ctx, plan, Arc::new(NoHooks)).await
    }

    /// Execute `plan`: independent resources concurrently (bounded per service), dependents as
    /// soon as their inputs exist; deletions in reverse dependency order. Refuses a plan made for
    /// another spec. After the first failure no new work starts; work in flight finishes; every
    /// failure is reported with its resource and operation.
    pub async fn apply_with_hooks(
        &self,
        ctx: &Context,
        plan: &Plan,
        hooks: Arc<dyn RunHooks>,
    ) -> Result<ApplyReport> {
        self.validate()?;
        let current = self.spec_digest();
        if plan.spec_digest != current || plan.stack != self.name() {
            return Err(Error::StalePlan {
                planned: plan.spec_digest.clone(),
                current,
            });
        }
        let ids = &self.ids();
        let planned: Vec<&ResourcePlan> = ids
            .iter()
            .map(|id| {
                plan.get(id).ok_or_else(|| Error::StalePlan {
                    planned: plan.spec_digest.clone(),
                    current: current.clone(),
                })
            })
            .collect::<Result<_>>()?;
        let ops: Vec<&str> = planned
            .iter()
            .map(|p| match p.action {
                Action::Create { .. } => "create",
                Action::Update { .. } => "update",
                Action::Replace { .. } => "replace",
                Action::Delete => "delete",
                Action::NoOp => "read",
            })
            .collect();
        let deps = self.deps();
        let services = self.services();
        let states: Arc<Mutex<Vec<Option<NodeState>>>> =
            Arc::new(Mutex::new((0..self.nodes.len()).map(|_| None).collect()));
        let order = match plan.mode {
            PlanMode::Apply => Order::Forward,
            PlanMode::Destroy => Order::Reverse,
        };
        let t0 = tokio::time::Instant::now();
        let timings: Arc<Mutex<Vec<Option<NodeTiming>>>> =
            Arc::new(Mutex::new(vec![None; self.nodes.len()]));
        let physical: Arc<Mutex<Vec<Option<String>>>> =
            Arc::new(Mutex::new(vec![None; self.nodes.len()]));
        let outcomes = executor::run(
            &deps,
            &services,
            &self.limits,
            order,
            |_| true,
            |i| {
                let states = states.clone();
                let timings = timings.clone();
                let physical = physical.clone();
                let hooks = hooks.clone();
                let node = &self.nodes[i];
                let p = planned[i];
                let span = tracing::info_span!("apply", resource = %ids[i], op = ops[i]);
                async move {
                    let start_ms = t0.elapsed().as_millis() as u64;
                    let inputs = {
                        let s = states.lock().unwrap_or_else(|p| p.into_inner());
                        self.inputs_for(i, &s)
                    };
                    let guard = Guard::new(ids[i].clone(), hooks);
                    let observed = match plan.observed.get(&ids[i]) {
                        Some(o) => Some(o.clone()),
                        None if matches!(p.action, Action::Create { .. }) => None,
                        // In a destroy plan, a no-op is a resource that is already gone.
                        None if plan.mode == PlanMode::Destroy
                            && matches!(p.action, Action::NoOp) =>
                        {
                            None
                        }
                        // A plan read back from JSON carries no observations: observe again and
                        // insist the resource is still there.
                        None => Some(node.observe(ctx, &inputs).await?.ok_or_else(|| {
                            Error::StalePlan {
                                planned: plan.spec_digest.clone(),
                                current: format!("{} no longer exists", ids[i]),
                            }
                        })?),
                    };
                    let (physical_id, outputs) = match (&p.action, observed) {
                        (Action::Create { .. }, _) => {
                            let o = node.create(ctx, &inputs, &guard).await?;
                            (Some(o.physical_id), o.outputs)
                        }
                        (Action::Update { diffs }, Some(o)) => {
                            let o = node.update(ctx, &inputs, &o, diffs, &guard).await?;
                            (Some(o.physical_id), o.outputs)
                        }
                        (Action::Replace { .. }, Some(o)) => {
                            node.delete(ctx, &o, &guard).await?;
                            let o = node.create(ctx, &inputs, &guard).await?;
                            (Some(o.physical_id), o.outputs)
                        }
                        (Action::Delete, Some(o)) => {
                            node.delete(ctx, &o, &guard).await?;
                            (None, Outputs::new())
                        }
                        (Action::NoOp, Some(o)) => (Some(o.physical_id), o.outputs),
                        (Action::NoOp, None) => (None, Outputs::new()),
                        (_, None) => {
                            return Err(Error::Resource {
                                resource: ids[i].to_string(),
                                message:
                                    "plan has no observation for a change to an existing resource"
                                        .into(),
                            });
                        }
                    };
                    if let Some(pid) = physical_id {
                        physical.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(pid);
                    }
                    let end_ms = t0.elapsed().as_millis() as u64;
                    timings.lock().unwrap_or_else(|p| p.into_inner())[i] =
                        Some(NodeTiming { start_ms, end_ms });
                    let mut s = states.lock().unwrap_or_else(|p| p.into_inner());
                    s[i] = Some(NodeState {
                        observed: None,
                        outputs: Some(outputs),
                    });
                    Ok(())
                }
                .instrument(span)
            },
        )
        .await;
        let failures = failures_of(outcomes, ids, &ops);
        if !failures.is_empty() {
            return Err(Error::Failed { failures });
        }
        let states = std::mem::take(&mut *states.lock().unwrap_or_else(|p| p.into_inner()));
        let mut report = ApplyReport {
            changed: planned.iter().filter(|p| p.action.is_change()).count(),
            ..ApplyReport::default()
        };
        let physical = std::mem::take(&mut *physical.lock().unwrap_or_else(|p| p.into_inner()));
        for (i, p) in physical.into_iter().enumerate() {
            if let Some(p) = p {
                report.physical_ids.insert(ids[i].to_string(), p);
            }
        }
        let timings = std::mem::take(&mut *timings.lock().unwrap_or_else(|p| p.into_inner()));
        for (i, t) in timings.into_iter().enumerate() {
            if let Some(t) = t {
                report.timings.insert(ids[i].to_string(), t);
            }
        }
        for (i, s) in states.into_iter().enumerate() {
            if let Some(NodeState {
                outputs: Some(o), ..
            }) = s
            {
                report.resources.insert(ids[i].to_string(), o);
            }
        }
        if plan.mode == PlanMode::Apply {
            for (name, (node, key)) in &self.exports {
                if let Some(v) = report
                    .resources
                    .get(&ids[node.0].to_string())
                    .and_then(|o| o.get(*key))
                {
                    report.outputs.insert(name.clone(), v.clone());
                }
            }
        }
        Ok(report)
    }
}
