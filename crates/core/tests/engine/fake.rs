//! A fake resource over an in-memory "cloud", with modeled latencies and scripted failures.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Outputs, Ref, Resource, ResourceId, Result, RunHooks, Stage, Value,
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

#[derive(Default)]
pub struct Cloud {
    pub objects: Mutex<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    pub events: Mutex<Vec<Event>>,
    pub mutations: Mutex<Vec<String>>,
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
    pub fn set_field(&self, id: &str, field: &str, v: serde_json::Value) {
        self.objects
            .lock()
            .unwrap()
            .get_mut(id)
            .unwrap()
            .insert(field.into(), v);
    }
}

pub struct Fake {
    pub logical: String,
    pub service: &'static str,
    pub size: u32,
    pub parent: Option<Ref<String>>,
    pub extra_deps: Vec<NodeId>,
    pub latency: Duration,
    pub fail_create: bool,
    pub cloud: Arc<Cloud>,
}

impl Fake {
    pub fn new(cloud: &Arc<Cloud>, logical: &str, latency_s: u64) -> Self {
        Fake {
            logical: logical.into(),
            service: "fake",
            size: 1,
            parent: None,
            extra_deps: vec![],
            latency: Duration::from_secs(latency_s),
            fail_create: false,
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
    fn observed_from(&self, o: &BTreeMap<String, serde_json::Value>) -> Observed {
        let mut outputs = Outputs::new();
        outputs.insert(
            "id".into(),
            serde_json::json!(format!("fake-{}", self.logical)),
        );
        Observed {
            physical_id: format!("fake-{}", self.logical),
            fields: o
                .iter()
                .map(|(k, v)| (k.clone(), Value::Known(v.clone())))
                .collect(),
            outputs,
        }
    }
}

#[async_trait]
impl Resource for Fake {
    fn id(&self) -> ResourceId {
        ResourceId::new("fake:thing", self.logical.clone())
    }
    fn service(&self) -> &'static str {
        self.service
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = self.extra_deps.clone();
        d.extend(self.parent.map(|r| r.node()));
        d
    }
    fn desired(&self, _env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert("size".into(), Field::new(Value::of(self.size)));
        if let Some(p) = &self.parent {
            let v = inputs.get(p).map(Value::str).unwrap_or(Value::Unknown);
            f.insert("parent".into(), Field::new(v).force_new());
        }
        f
    }
    async fn observe(&self, _ctx: &Context, _inputs: &Inputs) -> Result<Option<Observed>> {
        let objs = self.cloud.objects.lock().unwrap();
        Ok(objs.get(&self.logical).map(|o| self.observed_from(o)))
    }
    async fn create(&self, _ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let id = self.id();
        guard
            .call("CreateThing", async {
                self.cloud
                    .mutations
                    .lock()
                    .unwrap()
                    .push(format!("create {}", self.logical));
                self.work("create").await;
                if self.fail_create {
                    return Err(Error::Aws {
                        resource: id.to_string(),
                        operation: "CreateThing".into(),
                        code: "LimitExceeded".into(),
                        message: "scripted failure".into(),
                    });
                }
                Ok(())
            })
            .await?;
        let mut o = BTreeMap::new();
        o.insert("size".to_string(), serde_json::json!(self.size));
        if let Some(p) = &self.parent {
            o.insert("parent".into(), serde_json::json!(inputs.require(p, &id)?));
        }
        let obs = self.observed_from(&o);
        self.cloud
            .objects
            .lock()
            .unwrap()
            .insert(self.logical.clone(), o);
        Ok(obs)
    }
    async fn update(
        &self,
        _ctx: &Context,
        _inputs: &Inputs,
        _observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        guard
            .call("UpdateThing", async {
                self.cloud
                    .mutations
                    .lock()
                    .unwrap()
                    .push(format!("update {}", self.logical));
                self.work("update").await;
                Ok(())
            })
            .await?;
        let mut objs = self.cloud.objects.lock().unwrap();
        let o = objs.get_mut(&self.logical).unwrap();
        for d in diffs {
            if let Some(Value::Known(v)) = &d.new {
                o.insert(d.field.clone(), v.clone());
            }
        }
        Ok(self.observed_from(o))
    }
    async fn delete(&self, _ctx: &Context, _observed: &Observed, guard: &Guard) -> Result<()> {
        guard
            .call("DeleteThing", async {
                self.cloud
                    .mutations
                    .lock()
                    .unwrap()
                    .push(format!("delete {}", self.logical));
                self.work("delete").await;
                // Deleting something already gone is fine.
                self.cloud.objects.lock().unwrap().remove(&self.logical);
                Ok(())
            })
            .await
    }
}

pub fn env() -> Environment {
    Environment::new("alva", Stage::Staging)
}

pub fn ctx() -> Context {
    let sdk = aws_types::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    Context::from_sdk_config(env(), sdk)
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
