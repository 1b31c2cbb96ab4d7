//! `Stack`: a graph of resource nodes; plan, apply and destroy.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::env::Environment;
use crate::error::{Error, NodeFailure, Result};
use crate::executor::{self, ConcurrencyLimits, NodeOutcome};
use crate::owned::OwnedKind;
use crate::plan::ResourceId;
use crate::resource::{Component, Inputs, NodeId, Observed, Outputs, Ref, Resource};

mod apply;
mod graph;
mod plan;

pub use apply::ApplyOptions;
pub use graph::GraphNode;
pub use plan::PlanOptions;

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
    /// Distinguishes this stack's node ids from every other stack's.
    id: u64,
    env: Environment,
    nodes: Vec<Box<dyn Resource>>,
    exports: BTreeMap<String, (NodeId, &'static str)>,
    limits: ConcurrencyLimits,
    kinds: BTreeMap<&'static str, Arc<dyn OwnedKind>>,
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
    ops: &[String],
) -> Vec<NodeFailure> {
    outcomes
        .into_iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            NodeOutcome::Failed(e) => Some(NodeFailure::new(&ids[i], &ops[i], e)),
            _ => None,
        })
        .collect()
}

impl Stack {
    /// An empty stack for `env`.
    pub fn new(env: Environment) -> Self {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        Stack {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            env,
            nodes: Vec::new(),
            exports: BTreeMap::new(),
            limits: ConcurrencyLimits::default(),
            kinds: BTreeMap::new(),
        }
    }

    /// An empty stack for the environment `ctx` was loaded for: the environment is given once.
    pub fn for_context(ctx: &crate::Context) -> Self {
        Stack::new(ctx.env().clone())
    }

    /// Refuse a context loaded for another environment (names, tags and ownership would not
    /// match the stack's).
    pub(crate) fn check_context(&self, ctx: &crate::Context) -> Result<()> {
        if ctx.env() == &self.env {
            return Ok(());
        }
        Err(Error::validation(
            "context.environment",
            ctx.env().prefix(),
            format!(
                "the context was loaded for another environment than the stack's ({}): load it from the stack's environment, or make the stack with Stack::for_context",
                self.env.prefix()
            ),
        ))
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
        NodeId {
            stack: self.id,
            index: self.nodes.len() - 1,
        }
    }

    /// Add an action (see [`crate::actions`]): it runs when its trigger changes.
    pub fn add_action(&mut self, a: impl crate::ActionNode + 'static) -> NodeId {
        self.add_resource(crate::actions::ActionResource(a))
    }

    /// Add a component (one or more nodes) and get its typed handle.
    pub fn add<C: Component>(&mut self, component: C) -> C::Handle {
        component.add_to(self)
    }

    /// Register a kind whose resources the stack lists by ownership at plan time, so that what
    /// it owns but no longer declares is deleted (see [`crate::owned`]). Registering a kind twice
    /// keeps the first. Components register the kinds they create; a deploy tool that may drop a
    /// whole component from its spec registers that component's kinds itself.
    pub fn own_kind(&mut self, kind: impl OwnedKind + 'static) {
        self.kinds
            .entry(kind.kind())
            .or_insert_with(|| Arc::new(kind));
    }

    /// The IAM actions a deploy of this stack needs (plan, apply and destroy): the union of its
    /// nodes' and owned kinds' declarations, and the kinds that declare none yet.
    pub fn deploy_actions(&self) -> crate::DeployActions {
        let mut out = crate::DeployActions::default();
        for d in self.declarations("") {
            match d.permissions {
                Some(p) => out.actions.extend(p.actions()),
                None => {
                    out.undeclared.insert(d.kind);
                }
            }
        }
        out
    }

    /// What every node and every orphan lister declares (actions and the names they write
    /// to), in the account `account`: what a deploy policy is made from.
    pub fn declarations(&self, account: &str) -> Vec<crate::Declaration> {
        let env = &self.env;
        let nodes = self.nodes.iter().map(|n| crate::Declaration {
            kind: n.id().kind,
            id: Some(n.id()),
            orphans: false,
            permissions: n.permissions(),
            names: n.arn_names(env, account),
        });
        let kinds = self.kinds.values().map(|k| crate::Declaration {
            kind: k.kind().to_string(),
            id: None,
            orphans: true,
            permissions: k.permissions(),
            names: k.arn_names(env),
        });
        nodes.chain(kinds).collect()
    }

    /// The kinds registered for orphan listing.
    pub fn owned_kinds(&self) -> Vec<&'static str> {
        self.kinds.keys().copied().collect()
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

    /// The node declared with `id`, if any: components share a node (a data source) by adding
    /// it only when it is not there yet.
    pub fn find(&self, id: &ResourceId) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|n| &n.id() == id)
            .map(|index| NodeId {
                stack: self.id,
                index,
            })
    }

    /// The id of a node.
    pub fn resource_id(&self, node: NodeId) -> Option<ResourceId> {
        self.nodes.get(node.index).map(|n| n.id())
    }

    /// The ids of its nodes, in the order they were added.
    pub fn resource_ids(&self) -> Vec<ResourceId> {
        self.ids()
    }

    fn ids(&self) -> Vec<ResourceId> {
        self.nodes.iter().map(|n| n.id()).collect()
    }

    fn deps(&self) -> Vec<Vec<usize>> {
        self.nodes
            .iter()
            .map(|n| {
                let mut d: Vec<usize> = n.dependencies().iter().map(|x| x.index).collect();
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
        for n in &self.nodes {
            if let Some(d) = n.dependencies().into_iter().find(|d| d.stack != self.id) {
                return Err(Error::validation(
                    format!("{}.dependencies", n.id()),
                    format!("node #{} of another stack", d.index),
                    "a handle from another Stack value cannot be used here: add the resource to the stack whose handles it uses",
                ));
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
            if node.stack != self.id || node.index >= self.nodes.len() {
                return Err(Error::validation(
                    format!("exports.{name}"),
                    format!("node #{}", node.index),
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

    /// Whether every node is an action (a rollback run on its own): such a run changes no
    /// resource the state records.
    pub fn only_actions(&self) -> bool {
        !self.nodes.is_empty() && self.nodes.iter().all(|n| n.is_action())
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
            })) = states.get(d.index)
            {
                inputs.insert(d, o.clone());
            }
        }
        inputs
    }

    /// What a node is observed with while planning: its dependencies' outputs as they exist now,
    /// including those about to be replaced (so a dependent of a replaced resource is still
    /// found, and planned as dragged along rather than as a create).
    fn observe_inputs_for(&self, i: usize, states: &[Option<NodeState>]) -> Inputs {
        let mut inputs = Inputs::none();
        for d in self.nodes[i].dependencies() {
            if let Some(Some(s)) = states.get(d.index) {
                let now = s
                    .observed
                    .as_ref()
                    .map(|o| &o.outputs)
                    .or(s.outputs.as_ref());
                if let Some(o) = now {
                    inputs.insert(d, o.clone());
                }
            }
        }
        inputs
    }
}
