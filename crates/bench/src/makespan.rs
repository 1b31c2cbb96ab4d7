//! Apply and destroy makespans of the reference deploys: skyforge's engine on fakes timed by the
//! model (paused clock), against the critical path, CDK's layers and Terraform's walk.

use std::collections::BTreeSet;

use skyforge_core::{Action, GraphNode, Stack};

use crate::model::{Timing, timing};
use crate::schedule::{self, Job};
use crate::{fake, reference::System};

/// Terraform's default `-parallelism`.
pub const TERRAFORM_PARALLELISM: usize = 10;

/// One stage's figures, seconds of modelled AWS time.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Makespan {
    /// `alva prod`.
    pub system: String,
    /// Nodes in its graph.
    pub nodes: usize,
    /// skyforge's engine.
    pub skyforge: f64,
    /// The critical path.
    pub critical: f64,
    /// CDK's stack-by-stack layers.
    pub layered: f64,
    /// Terraform at its default parallelism.
    pub terraform: f64,
    /// The critical path of an apply, first to last: each node and what it takes (create and
    /// wait, seconds); empty for a destroy.
    pub chain: Vec<(String, f64)>,
}

impl Makespan {
    /// skyforge over the critical path.
    pub fn over_critical(&self) -> f64 {
        self.skyforge / self.critical
    }
    /// skyforge over the layered schedule.
    pub fn over_layered(&self) -> f64 {
        self.skyforge / self.layered
    }
    /// skyforge over Terraform's.
    pub fn over_terraform(&self) -> f64 {
        self.skyforge / self.terraform
    }
}

/// The database instances of `stack` that run in two zones (their plan says `multi_az`).
fn multi_az(stack: &Stack) -> BTreeSet<String> {
    let Ok(plan) = stack.plan_offline() else {
        return BTreeSet::new();
    };
    plan.resources
        .iter()
        .filter(|r| match &r.action {
            Action::Create { fields } => fields
                .get("multi_az")
                .and_then(|v| v.known())
                .is_some_and(|v| v == &serde_json::Value::Bool(true)),
            _ => false,
        })
        .map(|r| r.id.to_string())
        .collect()
}

/// The timing of each node of `stack`.
pub fn timer(stack: &Stack) -> impl Fn(&GraphNode) -> Timing {
    let multi = multi_az(stack);
    move |g: &GraphNode| timing(&g.id.kind, multi.contains(&g.id.to_string()))
}

/// The apply and destroy makespans of `stack`.
pub fn measure(name: String, stack: &Stack) -> (Makespan, Makespan) {
    let graph = stack.graph();
    let t = timer(stack);
    let jobs: Vec<Job> = schedule::jobs(&graph, &t);
    let apply = Makespan {
        system: name.clone(),
        nodes: graph.len(),
        skyforge: fake::run(&fake::stack(&graph, &t, false), false).apply,
        critical: schedule::critical_path(&jobs),
        layered: schedule::layered(&jobs),
        terraform: schedule::terraform(&jobs, TERRAFORM_PARALLELISM),
        chain: chain(&jobs),
    };
    let destroy = Makespan {
        system: name,
        nodes: graph.len(),
        skyforge: fake::run(&fake::stack(&graph, &t, true), true).apply,
        critical: schedule::destroy_critical_path(&jobs),
        layered: schedule::destroy_layered(&jobs),
        terraform: schedule::destroy_terraform(&jobs, TERRAFORM_PARALLELISM),
        chain: Vec::new(),
    };
    (apply, destroy)
}

/// The critical path's nodes with what each adds to it: create and wait until it serves, and
/// for the last one its settling too.
fn chain(jobs: &[Job]) -> Vec<(String, f64)> {
    let path = schedule::critical_chain(jobs);
    let last = path.last().copied();
    path.into_iter()
        .map(|i| {
            let t = &jobs[i].t;
            let settle = if Some(i) == last { t.settle } else { 0.0 };
            (jobs[i].id.to_string(), t.create + t.ready + settle)
        })
        .collect()
}

/// Every stage of every reference deploy.
pub fn all(systems: &[System]) -> (Vec<Makespan>, Vec<Makespan>) {
    systems
        .iter()
        .map(|s| {
            let stack = s
                .stack(s.project)
                .unwrap_or_else(|e| panic!("{} {}: {e}", s.name, s.stage));
            measure(format!("{} {}", s.name, s.stage), &stack)
        })
        .unzip()
}
