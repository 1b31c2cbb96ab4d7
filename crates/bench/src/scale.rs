//! The engine at scale: synthetic stacks of fakes (no latency: the engine's own cost), their plan
//! and apply time and the process's peak memory, at growing sizes.

use rand::{RngExt, SeedableRng};
use rand_xorshift::XorShiftRng;
use skyforge_core::{GraphNode, ResourceId};

use crate::fake;
use crate::model::Timing;

/// The kinds and services the synthetic nodes cycle through.
const KINDS: [(&str, &str); 6] = [
    ("subnet", "ec2"),
    ("security_group", "ec2"),
    ("iam_role", "iam"),
    ("log_group", "logs"),
    ("secret", "secretsmanager"),
    ("ecs_service", "ecs"),
];

/// A graph of `n` nodes, each depending on up to three of the 50 nodes before it (as a stack's
/// resources depend on their neighbours), one of them by id only; seeded.
pub fn synthetic(n: usize, seed: u64) -> Vec<GraphNode> {
    let mut rng = XorShiftRng::seed_from_u64(seed);
    let mut out: Vec<GraphNode> = Vec::with_capacity(n);
    for i in 0..n {
        let (kind, service) = KINDS[i % KINDS.len()];
        let mut deps: Vec<ResourceId> = Vec::new();
        if i > 0 {
            for _ in 0..rng.random_range(1..=3usize) {
                let d = i - 1 - rng.random_range(0..i.min(50));
                deps.push(out[d].id.clone());
            }
        }
        deps.sort();
        deps.dedup();
        let needs_id = if deps.len() > 1 {
            vec![deps.remove(0)]
        } else {
            Vec::new()
        };
        out.push(GraphNode {
            id: ResourceId::new(kind, format!("n{i}")),
            service: service.into(),
            action: false,
            needs_ready: deps,
            needs_id,
        });
    }
    out
}

/// One size's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Scale {
    /// Nodes.
    pub nodes: usize,
    /// The plan, seconds.
    pub plan: f64,
    /// The apply, seconds.
    pub apply: f64,
    /// The process's peak resident memory after it, MiB (Linux `VmHWM`).
    pub peak_mib: f64,
}

/// The process's peak resident memory so far, MiB (0 where `/proc` has none).
pub fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// Plan and apply a synthetic stack of each size in `sizes` (ascending: the peak is the
/// process's).
pub fn run(sizes: &[usize]) -> Vec<Scale> {
    let zero = |_: &GraphNode| Timing {
        create: 0.0,
        ready: 0.0,
        settle: 0.0,
        delete: 0.0,
    };
    sizes
        .iter()
        .map(|&n| {
            let stack = fake::stack(&synthetic(n, 7), &zero, false);
            let r = fake::run(&stack, false);
            Scale {
                nodes: n,
                plan: r.plan_cpu,
                apply: r.apply_cpu,
                peak_mib: peak_mib(),
            }
        })
        .collect()
}
