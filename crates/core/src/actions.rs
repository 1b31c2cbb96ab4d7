//! Actions: steps that are not resources (a database migration task before a rollout, waiting
//! for a service to become stable).
//!
//! An action runs when its **trigger** changes: a value computed from its inputs (an image tag,
//! a digest of a migration set). The action records the trigger of its last successful run
//! where it can find it again (a tag, a parameter; AWS, not a state file, remains the source of
//! truth) and reports it through [`ActionNode::last_trigger`]. The plan shows a run as its own
//! symbol (`>`) with the trigger's old and new value; apply runs it through the run hooks like
//! any mutation (so it is locked and journaled), and its failure stops its dependents. A destroy
//! plan never runs an action.

use async_trait::async_trait;

use crate::context::Context;
use crate::env::Environment;
use crate::error::Result;
use crate::plan::{Action, FieldDiff, ResourceId, Value};
use crate::resource::{Field, Fields, Guard, Inputs, NodeId, Observed, Outputs, Resource};

/// One action of a stack.
#[async_trait]
pub trait ActionNode: Send + Sync {
    /// Kind (`migration`) and logical id.
    fn id(&self) -> ResourceId;
    /// The AWS service its calls go to (the executor's concurrency bucket).
    fn service(&self) -> &'static str;
    /// Nodes whose outputs it uses (it runs after them, and only once they are ready).
    fn dependencies(&self) -> Vec<NodeId> {
        Vec::new()
    }
    /// The IAM actions its calls need (see [`crate::Resource::permissions`]); `None` while
    /// undeclared.
    fn permissions(&self) -> Option<crate::Permissions> {
        None
    }
    /// The names of what its calls write to (see [`crate::Resource::arn_names`]).
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<crate::ArnName> {
        Vec::new()
    }
    /// Check the spec; called before any API call.
    fn validate(&self, _env: &Environment) -> Result<()> {
        Ok(())
    }
    /// The trigger: when it differs from the last successful run's, the action runs.
    /// [`Value::Unknown`] while an input it is computed from is not known yet (then it runs).
    fn trigger(&self, env: &Environment, inputs: &Inputs) -> Value;
    /// The trigger of the last successful run, `None` if it never ran.
    async fn last_trigger(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<String>>;
    /// Run it and record `trigger` as the last successful run's; every mutating call through
    /// `guard`. Returns outputs for dependents.
    async fn run(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        trigger: &str,
        guard: &Guard,
    ) -> Result<Outputs>;
}

/// An action as a node of the graph: observed as its last trigger, "created" or "updated" by
/// running it. The stack turns its create / update into [`Action::Run`].
pub(crate) struct ActionResource<A>(pub(crate) A);

const TRIGGER: &str = "trigger";

impl<A: ActionNode> ActionResource<A> {
    fn observed(&self, trigger: Option<String>, outputs: Outputs) -> Observed {
        let mut o = Observed {
            physical_id: self.0.id().to_string(),
            outputs,
            ..Observed::default()
        };
        if let Some(t) = trigger {
            o.fields.insert(TRIGGER.into(), Value::str(t));
        }
        o
    }

    async fn execute(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.0.id();
        let trigger = match self.0.trigger(ctx.env(), inputs) {
            Value::Known(serde_json::Value::String(s)) => s,
            Value::Known(v) => v.to_string(),
            _ => {
                return Err(crate::Error::Resource {
                    resource: rid.to_string(),
                    message: "the action's trigger is still unknown when it should run".into(),
                });
            }
        };
        let outputs = self.0.run(ctx, inputs, &trigger, guard).await?;
        Ok(self.observed(Some(trigger), outputs))
    }
}

#[async_trait]
impl<A: ActionNode> Resource for ActionResource<A> {
    fn permissions(&self) -> Option<crate::Permissions> {
        self.0.permissions()
    }
    fn arn_names(&self, env: &Environment, account: &str) -> Vec<crate::ArnName> {
        self.0.arn_names(env, account)
    }
    fn id(&self) -> ResourceId {
        self.0.id()
    }
    fn service(&self) -> &'static str {
        self.0.service()
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.0.dependencies()
    }
    fn is_action(&self) -> bool {
        true
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        self.0.validate(env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(TRIGGER.into(), Field::new(self.0.trigger(env, inputs)));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let last = self.0.last_trigger(ctx, inputs).await?;
        Ok(Some(self.observed(last, Outputs::new())))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        self.execute(ctx, inputs, guard).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        _observed: &Observed,
        _diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        self.execute(ctx, inputs, guard).await
    }
    async fn delete(&self, _: &Context, _: &Observed, _: &Guard) -> Result<()> {
        Ok(())
    }
}

/// The plan action of an action node: a run when its trigger changed, nothing otherwise.
pub(crate) fn as_run(action: Action) -> Action {
    match action {
        Action::Update { diffs } | Action::Replace { diffs, .. } => {
            match diffs.into_iter().find(|d| d.field == TRIGGER) {
                Some(trigger) => Action::Run { trigger },
                None => Action::NoOp,
            }
        }
        Action::Create { fields } => Action::Run {
            trigger: FieldDiff {
                field: TRIGGER.into(),
                old: None,
                new: fields.get(TRIGGER).cloned(),
                forces_replacement: false,
                note: None,
            },
        },
        _ => Action::NoOp,
    }
}
