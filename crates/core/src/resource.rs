//! The resource abstraction: observe, a pure diff, create / update / delete.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::env::Environment;
use crate::error::{Error, Result};
use crate::plan::{Action, FieldDiff, PendingChange, ReplaceOrder, ResourceId, Value};

/// Index of a node in a [`crate::Stack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// The stack it belongs to (every `Stack` value has its own id).
    pub(crate) stack: u64,
    /// Its index in that stack.
    pub(crate) index: usize,
}

impl NodeId {
    /// The index.
    pub fn index(self) -> usize {
        self.index
    }
}

/// Outputs of an applied resource (ids, ARNs, endpoints): never secrets.
pub type Outputs = BTreeMap<String, serde_json::Value>;

/// A typed reference to an output of another node, unknown until that node is applied.
pub struct Ref<T> {
    node: NodeId,
    output: &'static str,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ref<T> {}
impl<T> std::fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Ref(#{}.{})", self.node.index, self.output)
    }
}
impl<T> PartialEq for Ref<T> {
    fn eq(&self, o: &Self) -> bool {
        self.node == o.node && self.output == o.output
    }
}

impl<T> Ref<T> {
    /// A reference to output `output` of `node`.
    pub fn new(node: NodeId, output: &'static str) -> Self {
        Ref {
            node,
            output,
            _t: PhantomData,
        }
    }
    /// The node referred to.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The output name.
    pub fn output(&self) -> &'static str {
        self.output
    }
}

/// A field input: a literal value or a reference to another node's output.
#[derive(Debug, Clone, PartialEq)]
pub enum Input<T> {
    /// A literal.
    Value(T),
    /// Another node's output.
    Ref(Ref<T>),
}

impl<T: Clone + DeserializeOwned + Serialize> Input<T> {
    /// The value, if known.
    pub fn resolve(&self, inputs: &Inputs) -> Option<T> {
        match self {
            Input::Value(v) => Some(v.clone()),
            Input::Ref(r) => inputs.get(r),
        }
    }
    /// As a plan value: known, or "known after apply".
    pub fn plan_value(&self, inputs: &Inputs) -> Value {
        self.resolve(inputs)
            .map(Value::of)
            .unwrap_or(Value::Unknown)
    }
    /// The node it depends on, if a reference.
    pub fn dependency(&self) -> Option<NodeId> {
        match self {
            Input::Value(_) => None,
            Input::Ref(r) => Some(r.node),
        }
    }
}

impl From<String> for Input<String> {
    fn from(v: String) -> Self {
        Input::Value(v)
    }
}

impl From<&str> for Input<String> {
    fn from(v: &str) -> Self {
        Input::Value(v.to_string())
    }
}

impl<T> From<Ref<T>> for Input<T> {
    fn from(r: Ref<T>) -> Self {
        Input::Ref(r)
    }
}

/// The known outputs of the nodes a resource depends on.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    outputs: BTreeMap<NodeId, Outputs>,
}

impl Inputs {
    /// No input known (used for spec digests and validation).
    pub fn none() -> Self {
        Inputs::default()
    }
    /// These inputs with `r` known as `value` (for unit tests and previews of a document or
    /// a name that reads other nodes' outputs).
    pub fn with<T: Serialize>(mut self, r: &Ref<T>, value: T) -> Self {
        let v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        self.outputs
            .entry(r.node)
            .or_default()
            .insert(r.output.into(), v);
        self
    }
    pub(crate) fn insert(&mut self, node: NodeId, outputs: Outputs) {
        self.outputs.insert(node, outputs);
    }
    /// The value of `r`, or `None` while its node is not applied.
    pub fn get<T: DeserializeOwned>(&self, r: &Ref<T>) -> Option<T> {
        let v = self.outputs.get(&r.node)?.get(r.output)?;
        serde_json::from_value(v.clone()).ok()
    }
    /// The value of `r`, or an error naming the reference (for apply, where it must be known).
    pub fn require<T: DeserializeOwned>(&self, r: &Ref<T>, resource: &ResourceId) -> Result<T> {
        self.get(r).ok_or_else(|| Error::Resource {
            resource: resource.to_string(),
            message: format!(
                "input {} of node #{} is not known at apply time",
                r.output, r.node.index
            ),
        })
    }
}

/// How long a resource may take to show in its own describe calls after a change: AWS reads
/// are eventually consistent, and a describe right after a create can miss it.
pub const VISIBLE_WITHIN: std::time::Duration = std::time::Duration::from_secs(120);

/// Observe `resource` again after a call that changed it, as a visible wait: AWS reads are
/// eventually consistent, so a resource that is not visible yet is observed again until
/// [`VISIBLE_WITHIN`] has passed; then its absence is an [`Error::Timeout`] naming when
/// (`"right after creation"`).
pub async fn observe_again<R: Resource + ?Sized>(
    resource: &R,
    ctx: &Context,
    inputs: &Inputs,
    when: &str,
) -> Result<Observed> {
    until_visible(ctx, &resource.id(), when, || resource.observe(ctx, inputs)).await
}

/// What `find` returns once it finds something, as a visible wait of up to [`VISIBLE_WITHIN`]
/// (for the describe call of a kind that does not observe through [`Resource::observe`]).
pub async fn until_visible<T, F, Fut>(
    ctx: &Context,
    resource: &ResourceId,
    when: &str,
    mut find: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    ctx.poller(VISIBLE_WITHIN)
        .wait(&resource.to_string(), "visible", || {
            let found = find();
            async move {
                Ok(match found.await? {
                    Some(o) => crate::wait::Poll::Ready(o),
                    None => crate::wait::Poll::Pending(format!("not visible yet {when}")),
                })
            }
        })
        .await
}

/// One desired field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The value.
    pub value: Value,
    /// A change can only be made by replacing the resource.
    pub force_new: bool,
    /// Owned by someone else after creation (the image of a running service, a desired count
    /// under autoscaling): set on create, never reported as drift.
    pub ignore_drift: bool,
}

impl Field {
    /// A field updated in place.
    pub fn new(value: Value) -> Self {
        Field {
            value,
            force_new: false,
            ignore_drift: false,
        }
    }
    /// Mark the field as forcing replacement.
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Mark the field as owned by someone else after creation.
    pub fn ignore_drift(mut self) -> Self {
        self.ignore_drift = true;
        self
    }
}

/// Desired fields by name.
pub type Fields = BTreeMap<String, Field>;

/// Whether an existing resource can serve its dependents yet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Readiness {
    /// Usable (an `available` NAT gateway or database).
    #[default]
    Ready,
    /// Exists but is not usable yet, in this state (`pending`, `creating`, `modifying`).
    NotReady(String),
    /// Serves its dependents but has not settled yet, in this state: an RDS instance taking its
    /// first backup (`backing-up`) already accepts connections, so what connects to it starts,
    /// while the apply ends only once it has settled ([`Resource::wait_settled`]).
    Serving(String),
}

impl Readiness {
    /// Whether dependents that need the resource ready may start: [`Readiness::Ready`] or
    /// [`Readiness::Serving`].
    pub fn serves(&self) -> bool {
        !matches!(self, Readiness::NotReady(_))
    }
}

impl Observed {
    /// This observation, of a resource AWS is deleting (an earlier run's deletion, interrupted
    /// or still under way): the plan replaces it whatever the spec says (see `going_action`), so a
    /// destroy resumed after a crash waits for the deletion it started, and an apply creates the
    /// resource again once the old one is gone.
    pub fn going(mut self) -> Self {
        self.going = true;
        self.ready = Readiness::NotReady("deleting".into());
        self
    }
}

/// The action for `id`, which AWS is deleting: replaced, the new one created once the deletion
/// is over (its name clashes meanwhile).
pub(crate) fn going_action(id: &ResourceId) -> Action {
    Action::Replace {
        reason: format!(
            "{id} is being deleted (by an earlier run): it is created again once it is gone"
        ),
        diffs: Vec::new(),
        order: ReplaceOrder::DestroyBeforeCreate,
        dragged_by: Vec::new(),
    }
}

/// A change AWS accepted but applies later (at the next maintenance window, at a reboot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The value the field will have.
    pub value: Value,
    /// When it applies (`at the next maintenance window`).
    pub applies: String,
}

/// What observation found of an existing resource.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// Physical id (`vpc-0abc`, an ARN, a name).
    pub physical_id: String,
    /// Current field values, comparable with [`Resource::desired`].
    pub fields: BTreeMap<String, Value>,
    /// Outputs for dependents.
    pub outputs: Outputs,
    /// Whether it can serve dependents that need it ready (not only its id).
    pub ready: Readiness,
    /// Changes accepted but not in effect yet, by field: a desired value equal to the pending
    /// one is not a change (it is shown as pending and never sent again).
    pub pending: BTreeMap<String, Pending>,
    /// AWS is deleting it (see [`Observed::going`]).
    pub going: bool,
}

/// Take the changes AWS already accepted out of `action`: a diff whose new value is the field's
/// pending value is not sent again. Returns the action left and those pending changes.
pub fn settle_pending(action: Action, observed: &Observed) -> (Action, Vec<PendingChange>) {
    let Action::Update { diffs } = action else {
        return (action, Vec::new());
    };
    let mut pending = Vec::new();
    let mut left = Vec::new();
    for d in diffs {
        match observed.pending.get(&d.field) {
            Some(p) if d.new.as_ref() == Some(&p.value) => pending.push(PendingChange {
                field: d.field.clone(),
                value: p.value.clone(),
                applies: p.applies.clone(),
            }),
            _ => left.push(d),
        }
    }
    let action = if left.is_empty() {
        Action::NoOp
    } else {
        Action::Update { diffs: left }
    };
    (action, pending)
}

/// The pure default diff: compares every desired field with the observed one.
///
/// Unknown desired values always count as a change; `ignore_drift` fields never do; a change to a
/// `force_new` field makes the action a replacement.
pub fn diff_fields(desired: &Fields, observed: &Observed) -> Action {
    let mut diffs = Vec::new();
    for (name, f) in desired {
        if f.ignore_drift {
            continue;
        }
        let old = observed.fields.get(name);
        let same = match (&f.value, old) {
            (Value::Known(a), Some(Value::Known(b))) => a == b,
            (Value::Sensitive(a), Some(Value::Sensitive(b))) => a == b || b.is_empty(),
            _ => false,
        };
        if !same {
            diffs.push(FieldDiff {
                field: name.clone(),
                old: old.cloned(),
                new: Some(f.value.clone()),
                forces_replacement: f.force_new,
                note: None,
            });
        }
    }
    action_for(diffs, |forcing| {
        format!("{} cannot change in place", forcing.join(", "))
    })
}

/// The action for `diffs`: a replacement when one forces it (`reason` gets the forcing fields),
/// else an update, else nothing.
pub fn action_for(diffs: Vec<FieldDiff>, reason: impl FnOnce(&[&str]) -> String) -> Action {
    let forcing: Vec<&str> = diffs
        .iter()
        .filter(|d| d.forces_replacement)
        .map(|d| d.field.as_str())
        .collect();
    if !forcing.is_empty() {
        Action::Replace {
            reason: reason(&forcing),
            diffs,
            order: ReplaceOrder::default(),
            dragged_by: Vec::new(),
        }
    } else if diffs.is_empty() {
        Action::NoOp
    } else {
        Action::Update { diffs }
    }
}

/// Apply a kind's own rules to [`diff_fields`]'s result: `rule` keeps, drops (`None`) or
/// amends each diff (a note, whether it forces replacement), and the action is decided again
/// from what is left (see [`action_for`]).
pub fn refine(
    action: Action,
    rule: impl FnMut(FieldDiff) -> Option<FieldDiff>,
    reason: impl FnOnce(&[&str]) -> String,
) -> Action {
    match action {
        Action::Update { diffs } | Action::Replace { diffs, .. } => {
            action_for(diffs.into_iter().filter_map(rule).collect(), reason)
        }
        other => other,
    }
}

fn known_str(v: &Option<Value>) -> Option<&str> {
    v.as_ref()?.known()?.as_str()
}

/// Whether a KMS key given by id (or by the same ARN) matches the ARN a service
/// reports (`arn:...:key/<id>`): not a change.
pub fn same_kms_key(d: &FieldDiff) -> bool {
    match (known_str(&d.old), known_str(&d.new)) {
        (Some(old), Some(new)) => old == new || old.ends_with(&format!("key/{new}")),
        _ => false,
    }
}

/// Whether the new dotted version (`15`, `7.1`) is older than the old one: engines cannot go
/// back, so such a change replaces the resource.
pub fn is_older_version(d: &FieldDiff) -> bool {
    let parse = |v: &Option<Value>| -> Option<Vec<u32>> {
        known_str(v)?.split('.').map(|p| p.parse().ok()).collect()
    };
    matches!((parse(&d.old), parse(&d.new)), (Some(o), Some(n)) if n < o)
}

/// Hooks around every mutating AWS call: the state crate's lock check and journal plug in here.
#[async_trait]
pub trait RunHooks: Send + Sync {
    /// Called before a mutating call; an error stops the call (a lost lock, a failed journal write).
    async fn before_mutation(&self, resource: &ResourceId, operation: &str) -> Result<()>;
    /// Called after the call with its outcome.
    async fn after_mutation(
        &self,
        resource: &ResourceId,
        operation: &str,
        succeeded: bool,
    ) -> Result<()>;
}

/// Hooks that do nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

#[async_trait]
impl RunHooks for NoHooks {
    async fn before_mutation(&self, _: &ResourceId, _: &str) -> Result<()> {
        Ok(())
    }
    async fn after_mutation(&self, _: &ResourceId, _: &str, _: bool) -> Result<()> {
        Ok(())
    }
}

/// Passed to create / update / delete: every mutating AWS call goes through [`Guard::call`].
#[derive(Clone)]
pub struct Guard {
    resource: ResourceId,
    hooks: Arc<dyn RunHooks>,
}

impl Guard {
    pub(crate) fn new(resource: ResourceId, hooks: Arc<dyn RunHooks>) -> Self {
        Guard { resource, hooks }
    }

    /// A guard with no hooks (for using a resource outside a stack, and in tests).
    pub fn unguarded(resource: ResourceId) -> Self {
        Guard::new(resource, Arc::new(NoHooks))
    }

    /// The resource this guard is for.
    pub fn resource(&self) -> &ResourceId {
        &self.resource
    }

    /// Run one mutating call named `operation` (`CreateVpc`), between the hooks.
    pub async fn call<T, Fut>(&self, operation: &str, call: Fut) -> Result<T>
    where
        Fut: std::future::Future<Output = Result<T>>,
    {
        self.hooks
            .before_mutation(&self.resource, operation)
            .await?;
        tracing::debug!(resource = %self.resource, operation, "mutating call");
        let r = call.await;
        self.hooks
            .after_mutation(&self.resource, operation, r.is_ok())
            .await?;
        r
    }

    /// [`Guard::call`] for an SDK request whose output is not needed: its error becomes
    /// [`Error::aws`] for this resource, and the AWS error codes in `done_if` count as success
    /// (`NotFound` on a delete, `AlreadyExists` on a create retried after a crash).
    pub async fn send<O, E, R, Fut>(
        &self,
        operation: &str,
        done_if: &[&str],
        request: Fut,
    ) -> Result<()>
    where
        Fut: std::future::Future<
                Output = std::result::Result<
                    O,
                    aws_smithy_runtime_api::client::result::SdkError<E, R>,
                >,
            >,
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let rid = self.resource.clone();
        let r = self
            .call(operation, async {
                request
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, operation, e))
            })
            .await;
        crate::error::ok_if_aws_code(r, done_if)
    }
}

/// One AWS resource as a node of a stack.
///
/// `observe` finds the resource by ownership tags or deterministic name (never by a state file);
/// `desired` and `diff` are pure; create / update / delete make the calls, each through the
/// [`Guard`]. `delete` must succeed when the resource is already gone.
#[async_trait]
pub trait Resource: Send + Sync {
    /// Kind and logical id.
    fn id(&self) -> ResourceId;
    /// The AWS service its calls go to (`ec2`, `rds`): the executor's concurrency bucket.
    fn service(&self) -> &'static str;
    /// Nodes whose outputs it uses.
    fn dependencies(&self) -> Vec<NodeId> {
        Vec::new()
    }
    /// The dependencies of which it needs only the identifier (an alarm on a database, a tag, a
    /// log subscription): it starts as soon as their create call returned, without waiting for
    /// them to be ready. Every other dependency must be ready first (an endpoint, an `available`
    /// NAT gateway).
    fn id_only_dependencies(&self) -> Vec<NodeId> {
        Vec::new()
    }
    /// Outputs an in-place update changes (a task definition's revision ARN): while an update is
    /// planned they are "known after apply" for dependents, so the plan shows what follows
    /// (the service moving to the new revision). Others stay known through an update.
    fn outputs_changed_by_update(&self) -> &'static [&'static str] {
        &[]
    }
    /// Wait until an existing resource is ready (see [`Readiness`]); called by apply before
    /// the dependents that need it ready, for a resource just created or found not ready. A kind
    /// whose `create` returns as soon as the id is known (an RDS instance `creating`) does its
    /// long wait here, with [`Context::poller_for`]. The default returns `observed` as it is.
    async fn wait_ready(&self, _ctx: &Context, observed: Observed) -> Result<Observed> {
        Ok(observed)
    }
    /// Wait until a resource that already serves its dependents has settled (see
    /// [`Readiness::Serving`]: an RDS instance's first backup); called by apply after the
    /// readiness step, for an observation that says `Serving`. No dependent waits for it, but the
    /// apply ends only once every resource has settled. The default returns `observed` as it is.
    async fn wait_settled(&self, _ctx: &Context, observed: Observed) -> Result<Observed> {
        Ok(observed)
    }
    /// The IAM actions this kind's calls need ([`crate::Permissions`]), declared next to the code
    /// that makes the calls; `None` while a kind has not declared them (a deploy policy made for
    /// a stack names such kinds).
    fn permissions(&self) -> Option<crate::Permissions> {
        None
    }
    /// The names of what this node's writes go to, by IAM resource type, for resource types
    /// whose ARNs carry a name ([`crate::ArnName`]); `account` is the stack's account. Kinds
    /// whose ARNs carry only generated ids (EC2) declare none: their writes are scoped by the
    /// stack's ownership tag.
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<crate::ArnName> {
        Vec::new()
    }
    /// Shared by the account's stacks (a GitHub OIDC provider, one per account): created when
    /// absent, adopted when present, and left in place by this stack's destroy.
    fn shared(&self) -> bool {
        false
    }
    /// A data source (like Terraform's `data` blocks): only observed, never created, changed or
    /// deleted. Its plan action is always no-op; `observe` must find it.
    fn read_only(&self) -> bool {
        false
    }
    /// Whether this node is an action ([`crate::actions`]): set by the adapter
    /// [`crate::Stack::add_action`] uses, not by resources.
    fn is_action(&self) -> bool {
        false
    }
    /// How a replacement runs. [`ReplaceOrder::CreateBeforeDestroy`] is for kinds that can
    /// create the new resource while the old one exists (no fixed name, or a generated one) and
    /// whose `observe` then reports the newest copy; the engine deletes the old copy, by the
    /// physical id the plan observed, once its dependents have moved to the new one. A copy left
    /// behind by a crash is listed by the kind's [`crate::OwnedKind`] and deleted as an orphan.
    fn replace_order(&self) -> ReplaceOrder {
        ReplaceOrder::DestroyBeforeCreate
    }
    /// Whether deleting or replacing the observed resource loses data (a database, a cache, a
    /// secret's value, a repository's images). Outside an ephemeral stage such a change is
    /// refused unless the run allows this resource explicitly. Called only for resources the
    /// plan would delete or replace.
    async fn holds_data(&self, _ctx: &Context, _observed: &Observed) -> Result<bool> {
        Ok(false)
    }
    /// Check the spec; called before any API call.
    fn validate(&self, _env: &Environment) -> Result<()> {
        Ok(())
    }
    /// Security downgrades or costly choices to show in the plan.
    fn warnings(&self, _env: &Environment) -> Vec<String> {
        Vec::new()
    }
    /// Desired field values, with inputs not yet known as [`Value::Unknown`].
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields;
    /// Compare desired and observed; pure.
    fn diff(&self, desired: &Fields, observed: &Observed) -> Action {
        diff_fields(desired, observed)
    }
    /// Find the resource; `None` if it does not exist.
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>>;
    /// Create it. It may return before the resource is ready (reporting
    /// [`Readiness::NotReady`]); [`Resource::wait_ready`] then finishes the wait.
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed>;
    /// Change the fields in `diffs` in place. The engine observes again afterwards and fails
    /// naming any field that still differs, so a field this kind cannot change in place must be
    /// `force_new` (or the update must return an error naming it, see
    /// [`crate::Error::not_updatable`]).
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed>;
    /// Delete it; succeed if it is already gone.
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()>;
}

/// Something that adds one or more nodes to a stack and hands back a typed handle.
pub trait Component {
    /// The handle (typed references to the nodes' outputs).
    type Handle;
    /// Add the nodes.
    fn add_to(self, stack: &mut crate::Stack) -> Self::Handle;
}
