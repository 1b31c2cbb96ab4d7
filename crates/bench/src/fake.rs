//! The real engine over fake resources: a stack of the same graph as a reference deploy (same
//! ids, services and edges) whose nodes take the model's time on tokio's paused clock, so that
//! skyforge's own scheduling (its concurrency limits, readiness steps and id-only edges) is what
//! is measured.

use std::time::Duration;

use async_trait::async_trait;
use skyforge_core::{
    Context, Environment, Fields, GraphNode, Guard, Inputs, NodeId, Observed, Readiness, Resource,
    ResourceId, Result, Stack, Stage,
};

use crate::model::Timing;

/// A node that takes its timing's time and calls nothing.
struct Fake {
    id: ResourceId,
    service: &'static str,
    needs_ready: Vec<NodeId>,
    needs_id: Vec<NodeId>,
    t: Timing,
    exists: bool,
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s.max(0.0))
}

impl Fake {
    /// Its readiness once it serves: settled unless its timing has a settle time.
    fn served(&self) -> Readiness {
        if self.t.settle > 0.0 {
            Readiness::Serving("settling".into())
        } else {
            Readiness::Ready
        }
    }
}

#[async_trait]
impl Resource for Fake {
    fn id(&self) -> ResourceId {
        self.id.clone()
    }
    fn service(&self) -> &'static str {
        self.service
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.needs_ready
            .iter()
            .chain(&self.needs_id)
            .copied()
            .collect()
    }
    fn id_only_dependencies(&self) -> Vec<NodeId> {
        self.needs_id.clone()
    }
    fn desired(&self, _: &Environment, _: &Inputs) -> Fields {
        Fields::new()
    }
    async fn observe(&self, _: &Context, _: &Inputs) -> Result<Option<Observed>> {
        Ok(self.exists.then(|| Observed {
            physical_id: self.id.to_string(),
            ..Observed::default()
        }))
    }
    async fn create(&self, _: &Context, _: &Inputs, _: &Guard) -> Result<Observed> {
        tokio::time::sleep(secs(self.t.create)).await;
        Ok(Observed {
            physical_id: self.id.to_string(),
            ready: if self.t.ready > 0.0 {
                Readiness::NotReady("creating".into())
            } else {
                self.served()
            },
            ..Observed::default()
        })
    }
    async fn wait_ready(&self, _: &Context, observed: Observed) -> Result<Observed> {
        tokio::time::sleep(secs(self.t.ready)).await;
        Ok(Observed {
            ready: self.served(),
            ..observed
        })
    }
    async fn wait_settled(&self, _: &Context, observed: Observed) -> Result<Observed> {
        tokio::time::sleep(secs(self.t.settle)).await;
        Ok(Observed {
            ready: Readiness::Ready,
            ..observed
        })
    }
    async fn update(
        &self,
        _: &Context,
        _: &Inputs,
        observed: &Observed,
        _: &[skyforge_core::FieldDiff],
        _: &Guard,
    ) -> Result<Observed> {
        Ok(observed.clone())
    }
    async fn delete(&self, _: &Context, _: &Observed, _: &Guard) -> Result<()> {
        tokio::time::sleep(secs(self.t.delete)).await;
        Ok(())
    }
}

/// A stack of fakes with `graph`'s shape, each node timed by `timing`; `exists` for a destroy.
pub fn stack(graph: &[GraphNode], timing: &dyn Fn(&GraphNode) -> Timing, exists: bool) -> Stack {
    let mut stack = Stack::new(Environment::new("bench", Stage::Staging).region("us-east-1"));
    let mut ids: std::collections::HashMap<ResourceId, NodeId> =
        std::collections::HashMap::with_capacity(graph.len());
    for g in graph {
        let node = |deps: &[ResourceId]| -> Vec<NodeId> {
            deps.iter().filter_map(|d| ids.get(d).copied()).collect()
        };
        let fake = Fake {
            id: g.id.clone(),
            service: Box::leak(g.service.clone().into_boxed_str()),
            needs_ready: node(&g.needs_ready),
            needs_id: node(&g.needs_id),
            t: timing(g),
            exists,
        };
        let n = stack.add_resource(fake);
        ids.insert(g.id.clone(), n);
    }
    stack
}

/// A context that reaches nothing (the fakes make no call).
pub fn context() -> Context {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .build();
    Context::from_sdk_config(
        Environment::new("bench", Stage::Staging).region("us-east-1"),
        sdk,
    )
}

/// What one run of the engine over fakes took.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// The apply (or destroy), on the paused clock: modelled AWS time, seconds.
    pub apply: f64,
    /// The plan, real time on this machine, seconds.
    pub plan_cpu: f64,
    /// The apply, real time on this machine, seconds.
    pub apply_cpu: f64,
}

/// skyforge's plan and apply (or destroy) of `stack` on the paused clock.
pub fn run(stack: &Stack, destroy: bool) -> Run {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let ctx = context();
        let real = std::time::Instant::now();
        let plan = if destroy {
            stack.plan_destroy(&ctx).await
        } else {
            stack.plan(&ctx).await
        }
        .expect("the fake stack plans");
        let plan_cpu = real.elapsed().as_secs_f64();
        let real = std::time::Instant::now();
        let t0 = tokio::time::Instant::now();
        stack
            .apply(&ctx, &plan)
            .await
            .expect("the fake stack applies");
        Run {
            apply: t0.elapsed().as_secs_f64(),
            plan_cpu,
            apply_cpu: real.elapsed().as_secs_f64(),
        }
    })
}
