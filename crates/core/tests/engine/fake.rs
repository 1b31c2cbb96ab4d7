//! A fake resource over an in-memory "cloud", with modeled latencies and scripted failures.
//!
//! The cloud refuses what AWS refuses: deleting an object while another object's `parent` field
//! names it is a `DependencyViolation`. Every create gets a new physical id
//! (`fake-<logical>-<serial>`), so a replaced object's dependents see a new identity.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Outputs, Owned, OwnedKind, Pending, Readiness, Ref, ReplaceOrder, Resource, ResourceId, Result,
    RunHooks, Stage, Value,
};
use tokio::time::Instant;

/// One recorded operation: (op, logical id, start, end).
#[derive(Debug, Clone)]
pub struct Event {
    pub op: &'static str,
    pub id: String,
    pub start: Instant,
    pub end: Instant,
}

/// One object of the cloud.
#[derive(Debug, Clone)]
pub struct Obj {
    pub kind: &'static str,
    pub logical: String,
    pub serial: u64,
    pub fields: BTreeMap<String, serde_json::Value>,
    /// Usable by dependents (a database `available`, not `creating`).
    pub ready: bool,
    /// Settled (a database `available`, not `backing-up`); dependents may use it before.
    pub settled: bool,
    /// Changes accepted for later: field -> (value, when).
    pub pending: BTreeMap<String, (serde_json::Value, String)>,
}

#[derive(Default)]
pub struct Cloud {
    /// By physical id.
    pub objects: Mutex<BTreeMap<String, Obj>>,
    pub events: Mutex<Vec<Event>>,
    pub mutations: Mutex<Vec<String>>,
    /// Where actions record the trigger of their last successful run (a tag, in AWS).
    pub triggers: Mutex<BTreeMap<String, String>>,
    serial: AtomicU64,
}

impl Cloud {
    pub fn events(&self, op: &str) -> Vec<Event> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.op == op)
            .cloned()
            .collect()
    }
    /// The physical id of the newest object with this logical id.
    pub fn newest(&self, logical: &str) -> Option<String> {
        self.objects
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, o)| o.logical == logical)
            .max_by_key(|(_, o)| o.serial)
            .map(|(p, _)| p.clone())
    }
    /// How many objects carry this logical id.
    pub fn copies(&self, logical: &str) -> usize {
        let objs = self.objects.lock().unwrap();
        objs.values().filter(|o| o.logical == logical).count()
    }
    pub fn set_field(&self, logical: &str, field: &str, v: serde_json::Value) {
        let p = self.newest(logical).unwrap();
        let mut objs = self.objects.lock().unwrap();
        objs.get_mut(&p).unwrap().fields.insert(field.into(), v);
    }
    /// Mark the newest object with this logical id ready or not.
    pub fn set_ready(&self, logical: &str, ready: bool) {
        let p = self.newest(logical).unwrap();
        self.objects.lock().unwrap().get_mut(&p).unwrap().ready = ready;
    }
    /// Remove every object with this logical id (as if deleted behind the engine's back).
    pub fn remove(&self, logical: &str) {
        self.objects
            .lock()
            .unwrap()
            .retain(|_, o| o.logical != logical);
    }
    pub fn is_empty(&self) -> bool {
        self.objects.lock().unwrap().is_empty()
    }
    /// Put an object in directly (one made by hand, or left by a crash); returns its id.
    pub fn insert(&self, kind: &'static str, logical: &str, size: u32) -> String {
        let serial = self.serial.fetch_add(1, Ordering::SeqCst) + 1;
        let physical = format!("fake-{logical}-{serial}");
        let mut fields = BTreeMap::new();
        fields.insert("size".to_string(), serde_json::json!(size));
        fields.insert("flavor".to_string(), serde_json::json!("a"));
        self.objects.lock().unwrap().insert(
            physical.clone(),
            Obj {
                kind,
                logical: logical.into(),
                serial,
                fields,
                ready: true,
                settled: true,
                pending: BTreeMap::new(),
            },
        );
        physical
    }
    fn record(&self, what: String) {
        self.mutations.lock().unwrap().push(what);
    }
    /// Delete an object, refusing while another object names it as its parent.
    fn delete(&self, physical: &str) -> Result<()> {
        let mut objs = self.objects.lock().unwrap();
        let users: Vec<String> = objs
            .iter()
            .filter(|(_, o)| o.fields.get("parent") == Some(&serde_json::json!(physical)))
            .map(|(p, _)| p.clone())
            .collect();
        if !users.is_empty() {
            return Err(Error::Aws {
                resource: physical.to_string(),
                operation: "DeleteThing".into(),
                code: "DependencyViolation".into(),
                message: format!("{physical} is used by {}", users.join(", ")),
                origin: Default::default(),
            });
        }
        objs.remove(physical);
        Ok(())
    }
}

pub const KIND: &str = "fake:thing";

pub struct Fake {
    pub kind: &'static str,
    pub logical: String,
    pub service: &'static str,
    pub size: u32,
    pub flavor: &'static str,
    pub parent: Option<Ref<String>>,
    pub extra_deps: Vec<NodeId>,
    /// Dependencies given after the node was added (interior mutability: the only way to make
    /// a cycle through the public API).
    pub late_deps: Arc<Mutex<Vec<NodeId>>>,
    pub latency: Duration,
    pub fail_create: bool,
    /// Updates report success but change nothing.
    pub broken_update: bool,
    /// Updates are accepted for the next maintenance window (pending), not applied.
    pub defer_updates: bool,
    /// Created `creating`; ready this long after its create call returned.
    pub ready_after: Duration,
    /// Once ready, serving but not settled (`backing-up`) for this long.
    pub settle_after: Duration,
    /// Dependencies of which only the id is needed.
    pub id_only: Vec<NodeId>,
    pub order: ReplaceOrder,
    pub stateful: bool,
    pub cloud: Arc<Cloud>,
}

impl Fake {
    pub fn new(cloud: &Arc<Cloud>, logical: &str, latency_s: u64) -> Self {
        Fake {
            kind: KIND,
            logical: logical.into(),
            service: "fake",
            size: 1,
            flavor: "a",
            parent: None,
            extra_deps: vec![],
            late_deps: Arc::default(),
            latency: Duration::from_secs(latency_s),
            fail_create: false,
            broken_update: false,
            defer_updates: false,
            ready_after: Duration::ZERO,
            settle_after: Duration::ZERO,
            id_only: vec![],
            order: ReplaceOrder::DestroyBeforeCreate,
            stateful: false,
            cloud: cloud.clone(),
        }
    }
    pub fn after(mut self, deps: &[NodeId]) -> Self {
        self.extra_deps.extend_from_slice(deps);
        self
    }
    pub fn parent(mut self, node: NodeId) -> Self {
        self.parent = Some(Ref::new(node, "id"));
        self
    }
    pub fn service(mut self, s: &'static str) -> Self {
        self.service = s;
        self
    }
    pub fn kind(mut self, k: &'static str) -> Self {
        self.kind = k;
        self
    }
    pub fn flavor(mut self, f: &'static str) -> Self {
        self.flavor = f;
        self
    }
    pub fn create_before_destroy(mut self) -> Self {
        self.order = ReplaceOrder::CreateBeforeDestroy;
        self
    }
    pub fn stateful(mut self) -> Self {
        self.stateful = true;
        self
    }
    pub fn ready_after(mut self, secs: u64) -> Self {
        self.ready_after = Duration::from_secs(secs);
        self
    }
    pub fn settles_after(mut self, secs: u64) -> Self {
        self.settle_after = Duration::from_secs(secs);
        self
    }
    pub fn needs_only_id_of(mut self, node: NodeId) -> Self {
        self.id_only.push(node);
        self
    }
    async fn work(&self, op: &'static str) {
        let start = Instant::now();
        tokio::time::sleep(self.latency).await;
        self.cloud.events.lock().unwrap().push(Event {
            op,
            id: self.logical.clone(),
            start,
            end: Instant::now(),
        });
    }
    /// Wait `how_long`, record it as `op`, then change the object with `done`.
    async fn waited(
        &self,
        op: &'static str,
        how_long: Duration,
        observed: &Observed,
        done: impl FnOnce(&mut Obj),
    ) -> Observed {
        let start = Instant::now();
        tokio::time::sleep(how_long).await;
        self.cloud.events.lock().unwrap().push(Event {
            op,
            id: self.logical.clone(),
            start,
            end: Instant::now(),
        });
        let mut objs = self.cloud.objects.lock().unwrap();
        let o = objs.get_mut(&observed.physical_id).unwrap();
        done(o);
        Fake::observed_from(&observed.physical_id, o)
    }
    fn observed_from(physical: &str, o: &Obj) -> Observed {
        let mut outputs = Outputs::new();
        outputs.insert("id".into(), serde_json::json!(physical));
        Observed {
            physical_id: physical.to_string(),
            fields: o
                .fields
                .iter()
                .map(|(k, v)| (k.clone(), Value::Known(v.clone())))
                .collect(),
            outputs,
            ready: if !o.ready {
                Readiness::NotReady("creating".into())
            } else if !o.settled {
                Readiness::Serving("backing-up".into())
            } else {
                Readiness::Ready
            },
            pending: o
                .pending
                .iter()
                .map(|(k, (v, when))| {
                    let p = Pending {
                        value: Value::Known(v.clone()),
                        applies: when.clone(),
                    };
                    (k.clone(), p)
                })
                .collect(),
            going: false,
        }
    }
}

#[async_trait]
impl Resource for Fake {
    fn id(&self) -> ResourceId {
        ResourceId::new(self.kind, self.logical.clone())
    }
    fn service(&self) -> &'static str {
        self.service
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = self.extra_deps.clone();
        d.extend(self.id_only.iter().copied());
        d.extend(self.parent.map(|r| r.node()));
        d.extend(self.late_deps.lock().unwrap().iter().copied());
        d
    }
    fn replace_order(&self) -> ReplaceOrder {
        self.order
    }
    fn id_only_dependencies(&self) -> Vec<NodeId> {
        self.id_only.clone()
    }
    async fn wait_ready(&self, _ctx: &Context, observed: Observed) -> Result<Observed> {
        Ok(self
            .waited("ready", self.ready_after, &observed, |o| o.ready = true)
            .await)
    }
    async fn wait_settled(&self, _ctx: &Context, observed: Observed) -> Result<Observed> {
        Ok(self
            .waited("settled", self.settle_after, &observed, |o| {
                o.settled = true
            })
            .await)
    }
    async fn holds_data(&self, _ctx: &Context, _observed: &Observed) -> Result<bool> {
        Ok(self.stateful)
    }
    fn desired(&self, _env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert("size".into(), Field::new(Value::of(self.size)));
        f.insert(
            "flavor".into(),
            Field::new(Value::str(self.flavor)).force_new(),
        );
        if let Some(p) = &self.parent {
            let v = inputs.get(p).map(Value::str).unwrap_or(Value::Unknown);
            f.insert("parent".into(), Field::new(v).force_new());
        }
        f
    }
    async fn observe(&self, _ctx: &Context, _inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(p) = self.cloud.newest(&self.logical) else {
            return Ok(None);
        };
        let objs = self.cloud.objects.lock().unwrap();
        Ok(objs.get(&p).map(|o| Fake::observed_from(&p, o)))
    }
    async fn create(&self, _ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let id = self.id();
        guard
            .call("CreateThing", async {
                self.cloud.record(format!("create {}", self.logical));
                self.work("create").await;
                if self.fail_create {
                    return Err(Error::Aws {
                        resource: id.to_string(),
                        operation: "CreateThing".into(),
                        code: "LimitExceeded".into(),
                        message: "scripted failure".into(),
                        origin: Default::default(),
                    });
                }
                Ok(())
            })
            .await?;
        let physical = self.cloud.insert(self.kind, &self.logical, self.size);
        let mut objs = self.cloud.objects.lock().unwrap();
        let o = objs.get_mut(&physical).unwrap();
        o.ready = self.ready_after.is_zero();
        o.settled = self.settle_after.is_zero();
        o.fields
            .insert("flavor".into(), serde_json::json!(self.flavor));
        if let Some(p) = &self.parent {
            o.fields
                .insert("parent".into(), serde_json::json!(inputs.require(p, &id)?));
        }
        Ok(Fake::observed_from(&physical, o))
    }
    async fn update(
        &self,
        _ctx: &Context,
        _inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        guard
            .call("UpdateThing", async {
                self.cloud.record(format!("update {}", self.logical));
                self.work("update").await;
                Ok(())
            })
            .await?;
        let mut objs = self.cloud.objects.lock().unwrap();
        let o = objs.get_mut(&observed.physical_id).unwrap();
        if !self.broken_update {
            for d in diffs {
                if let Some(Value::Known(v)) = &d.new {
                    if self.defer_updates {
                        let when = "at the next maintenance window".to_string();
                        o.pending.insert(d.field.clone(), (v.clone(), when));
                    } else {
                        o.fields.insert(d.field.clone(), v.clone());
                    }
                }
            }
        }
        Ok(Fake::observed_from(&observed.physical_id, o))
    }
    async fn delete(&self, _ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        guard
            .call("DeleteThing", async {
                self.cloud.record(format!("delete {}", self.logical));
                self.work("delete").await;
                // Deleting something already gone is fine.
                self.cloud.delete(&observed.physical_id)
            })
            .await
    }
}

/// The orphan lister of one fake kind.
pub struct FakeKind {
    pub kind: &'static str,
    pub inside: &'static [&'static str],
    pub stateful: bool,
    pub cloud: Arc<Cloud>,
}

impl FakeKind {
    pub fn new(cloud: &Arc<Cloud>, kind: &'static str) -> Self {
        FakeKind {
            kind,
            inside: &[],
            stateful: false,
            cloud: cloud.clone(),
        }
    }
}

#[async_trait]
impl OwnedKind for FakeKind {
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn service(&self) -> &'static str {
        "fake"
    }
    fn inside(&self) -> &'static [&'static str] {
        self.inside
    }
    async fn list(&self, _ctx: &Context) -> Result<Vec<Owned>> {
        let objs = self.cloud.objects.lock().unwrap();
        Ok(objs
            .iter()
            .filter(|(_, o)| o.kind == self.kind)
            .map(|(p, o)| Owned::new(o.logical.clone(), p.clone()))
            .collect())
    }
    async fn holds_data(&self, _ctx: &Context, _owned: &Owned) -> Result<bool> {
        Ok(self.stateful)
    }
    async fn delete(&self, _ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        guard
            .call("DeleteThing", async {
                self.cloud
                    .record(format!("delete orphan {}", owned.logical_id));
                self.cloud.delete(&owned.physical_id)
            })
            .await
    }
}

pub fn env() -> Environment {
    Environment::new("alva", Stage::Staging)
}

pub fn ctx() -> Context {
    ctx_for(env())
}

pub fn ctx_for(env: Environment) -> Context {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Context::from_sdk_config(env, sdk)
}

/// Hooks recording every mutation, optionally refusing from the n-th on.
#[derive(Default)]
pub struct RecordingHooks {
    pub calls: Mutex<Vec<String>>,
    pub refuse_after: Option<usize>,
}

#[async_trait]
impl RunHooks for RecordingHooks {
    async fn before_mutation(&self, resource: &ResourceId, operation: &str) -> Result<()> {
        let mut c = self.calls.lock().unwrap();
        if self
            .refuse_after
            .is_some_and(|n| c.iter().filter(|x| x.starts_with("begin")).count() >= n)
        {
            return Err(Error::Guard {
                resource: resource.clone(),
                operation: operation.into(),
                reason: "lock lost".into(),
            });
        }
        c.push(format!("begin {operation} {}", resource.logical_id));
        Ok(())
    }
    async fn after_mutation(&self, resource: &ResourceId, operation: &str, ok: bool) -> Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push(format!("end {operation} {} {ok}", resource.logical_id));
        Ok(())
    }
}
