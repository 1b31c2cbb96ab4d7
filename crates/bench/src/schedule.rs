//! The schedules skyforge is compared with, computed on the stack's graph and the latency model:
//! the critical path (the best any scheduler can do), CDK's stack-by-stack layers, and
//! Terraform's walk (at most N operations at once, each dependency awaited until ready).

use skyforge_core::{GraphNode, ResourceId};

use crate::model::Timing;

/// One node to schedule: its timing, the dependencies it needs ready and those it needs only the
/// identifier of (indices of earlier jobs), and its CDK layer.
#[derive(Debug, Clone)]
pub struct Job {
    /// The node.
    pub id: ResourceId,
    /// What it takes.
    pub t: Timing,
    /// Dependencies needed ready.
    pub needs_ready: Vec<usize>,
    /// Dependencies of which only the identifier is needed.
    pub needs_id: Vec<usize>,
    /// The CDK stack it would be in (see [`layer_of`]).
    pub layer: usize,
}

/// The layers of the seeds' CDK apps, deployed one stack after another.
pub const LAYERS: [&str; 7] = [
    "network",
    "secrets",
    "database",
    "cache",
    "ecs",
    "alb",
    "monitoring",
];

/// The CDK stack a kind belongs to (an index into [`LAYERS`]).
pub fn layer_of(kind: &str) -> usize {
    let prefix = |p: &str| kind.starts_with(p);
    if prefix("db_") {
        2
    } else if prefix("cache_") {
        3
    } else if prefix("ecs_") || prefix("sd_") || prefix("iam_") || kind == "ecr_repository" {
        4
    } else if matches!(
        kind,
        "load_balancer" | "listener" | "listener_rule" | "target_group"
    ) {
        5
    } else if prefix("cloudwatch_") || prefix("sns_") || kind == "kms_key" {
        6
    } else if matches!(kind, "secret" | "ssm_parameter") {
        1
    } else {
        0
    }
}

/// Jobs from a stack's graph: each node's timing from `timing`, its layer at least that of its
/// dependencies (a stack cannot use what a later stack creates).
pub fn jobs(graph: &[GraphNode], timing: impl Fn(&GraphNode) -> Timing) -> Vec<Job> {
    let at: std::collections::HashMap<&ResourceId, usize> =
        graph.iter().enumerate().map(|(i, g)| (&g.id, i)).collect();
    let index = |id: &ResourceId| at.get(id).copied();
    let mut out: Vec<Job> = Vec::with_capacity(graph.len());
    for g in graph {
        let needs_ready: Vec<usize> = g.needs_ready.iter().filter_map(index).collect();
        let needs_id: Vec<usize> = g.needs_id.iter().filter_map(index).collect();
        let layer = needs_ready
            .iter()
            .chain(&needs_id)
            .map(|&d| out[d].layer)
            .fold(layer_of(&g.id.kind), usize::max);
        out.push(Job {
            id: g.id.clone(),
            t: timing(g),
            needs_ready,
            needs_id,
            layer,
        });
    }
    out
}

/// The shortest possible apply: each node starts once the dependencies it needs ready serve
/// and those it needs by id are created; it ends once every node has settled.
pub fn critical_path(jobs: &[Job]) -> f64 {
    let mut created = vec![0.0f64; jobs.len()];
    let mut ready = vec![0.0f64; jobs.len()];
    for (i, j) in jobs.iter().enumerate() {
        let start = j
            .needs_ready
            .iter()
            .map(|&d| ready[d])
            .chain(j.needs_id.iter().map(|&d| created[d]))
            .fold(0.0, f64::max);
        created[i] = start + j.t.create;
        ready[i] = created[i] + j.t.ready;
    }
    settled(jobs, &ready)
}

/// When the last node has settled, given when each serves.
fn settled(jobs: &[Job], ready: &[f64]) -> f64 {
    jobs.iter()
        .zip(ready)
        .map(|(j, r)| r + j.t.settle)
        .fold(0.0, f64::max)
}

/// The nodes of the critical path, first to last: from the node settled last, back through the
/// dependency each one waited for longest.
pub fn critical_chain(jobs: &[Job]) -> Vec<usize> {
    let mut created = vec![0.0f64; jobs.len()];
    let mut ready = vec![0.0f64; jobs.len()];
    let mut waited: Vec<Option<usize>> = vec![None; jobs.len()];
    for (i, j) in jobs.iter().enumerate() {
        let waits = j.needs_ready.iter().map(|&d| (ready[d], d));
        let waits = waits.chain(j.needs_id.iter().map(|&d| (created[d], d)));
        let last = waits.max_by(|a, b| a.0.total_cmp(&b.0));
        waited[i] = last.map(|(_, d)| d);
        created[i] = last.map_or(0.0, |(t, _)| t) + j.t.create;
        ready[i] = created[i] + j.t.ready;
    }
    let done = |i: usize| ready[i] + jobs[i].t.settle;
    let end = (0..jobs.len()).max_by(|&a, &b| done(a).total_cmp(&done(b)));
    let mut chain: Vec<usize> = std::iter::successors(end, |&i| waited[i]).collect();
    chain.reverse();
    chain
}

fn preds(jobs: &[Job]) -> Vec<Vec<usize>> {
    jobs.iter()
        .map(|j| j.needs_ready.iter().chain(&j.needs_id).copied().collect())
        .collect()
}

/// Each job's dependents: what must be gone before it can be deleted.
fn succs(jobs: &[Job]) -> Vec<Vec<usize>> {
    let mut s = vec![Vec::new(); jobs.len()];
    for (i, p) in preds(jobs).into_iter().enumerate() {
        for d in p {
            s[d].push(i);
        }
    }
    s
}

/// Longest path where job `i` takes `dur(i)` and starts after all of `before[i]`; `order` lists
/// the jobs so that each comes after its `before`.
fn longest(order: &[usize], before: &[Vec<usize>], dur: &dyn Fn(usize) -> f64) -> f64 {
    let mut end = vec![0.0f64; before.len()];
    for &i in order {
        let start = before[i].iter().map(|&d| end[d]).fold(0.0, f64::max);
        end[i] = start + dur(i);
    }
    end.iter().copied().fold(0.0, f64::max)
}

/// List scheduling with at most `slots` jobs at once (Terraform's `-parallelism`), the lowest
/// index first among those whose `before` are all done.
fn list_schedule(before: &[Vec<usize>], dur: &dyn Fn(usize) -> f64, slots: usize) -> f64 {
    let n = before.len();
    let mut left: Vec<usize> = before.iter().map(Vec::len).collect();
    let mut after = vec![Vec::new(); n];
    for (i, b) in before.iter().enumerate() {
        for &d in b {
            after[d].push(i);
        }
    }
    let mut waiting: std::collections::BTreeSet<usize> = (0..n).filter(|&i| left[i] == 0).collect();
    let mut running: Vec<(f64, usize)> = Vec::new();
    let mut now = 0.0f64;
    let mut done = 0;
    while done < n {
        while running.len() < slots {
            let Some(i) = waiting.pop_first() else { break };
            running.push((now + dur(i), i));
        }
        running.sort_by(|a, b| b.0.total_cmp(&a.0));
        let (end, i) = running.pop().expect("a cycle in the graph");
        now = end;
        done += 1;
        for &k in &after[i] {
            left[k] -= 1;
            if left[k] == 0 {
                waiting.insert(k);
            }
        }
    }
    now
}

/// Terraform's apply: at most `slots` resources at once, each created and awaited until ready
/// before any dependent starts.
pub fn terraform(jobs: &[Job], slots: usize) -> f64 {
    list_schedule(&preds(jobs), &|i| jobs[i].t.up(), slots)
}

/// Layer after layer (in `layers`' order), each taking its own critical path: `before` holds
/// every job's prerequisites (those in other layers are done by then), `dur` what it takes,
/// `reverse` walks a layer from its last job (a destroy).
fn by_layers(
    jobs: &[Job],
    before: &[Vec<usize>],
    dur: &dyn Fn(usize) -> f64,
    layers: &mut dyn Iterator<Item = usize>,
    reverse: bool,
) -> f64 {
    let same_layer = |i: usize, b: &Vec<usize>| -> Vec<usize> {
        b.iter()
            .copied()
            .filter(|&d| jobs[d].layer == jobs[i].layer)
            .collect()
    };
    let inner: Vec<Vec<usize>> = before
        .iter()
        .enumerate()
        .map(|(i, b)| same_layer(i, b))
        .collect();
    layers
        .map(|l| {
            let mut order: Vec<usize> = (0..jobs.len()).filter(|&i| jobs[i].layer == l).collect();
            if reverse {
                order.reverse();
            }
            longest(&order, &inner, &|i| {
                if jobs[i].layer == l { dur(i) } else { 0.0 }
            })
        })
        .sum()
}

/// Stack by stack: each layer deployed once the one before is complete; within a layer every
/// dependency awaited until ready (CloudFormation waits for each resource to stabilise).
pub fn layered(jobs: &[Job]) -> f64 {
    let dur = |i: usize| jobs[i].t.up();
    by_layers(jobs, &preds(jobs), &dur, &mut (0..LAYERS.len()), false)
}

/// The shortest possible destroy: each node deleted once everything that depends on it is gone.
pub fn destroy_critical_path(jobs: &[Job]) -> f64 {
    let order: Vec<usize> = (0..jobs.len()).rev().collect();
    longest(&order, &succs(jobs), &|i| jobs[i].t.delete)
}

/// Terraform's destroy: at most `slots` deletions at once, dependents gone first.
pub fn destroy_terraform(jobs: &[Job], slots: usize) -> f64 {
    list_schedule(&succs(jobs), &|i| jobs[i].t.delete, slots)
}

/// Stack by stack, the last stack first.
pub fn destroy_layered(jobs: &[Job]) -> f64 {
    let dur = |i: usize| jobs[i].t.delete;
    by_layers(jobs, &succs(jobs), &dur, &mut (0..LAYERS.len()).rev(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(kind: &str, ready: f64, needs_ready: Vec<usize>, needs_id: Vec<usize>) -> Job {
        Job {
            id: ResourceId::new(kind, "x"),
            t: Timing {
                create: 1.0,
                ready,
                settle: 0.0,
                delete: 2.0,
            },
            needs_ready,
            needs_id,
            layer: layer_of(kind),
        }
    }

    #[test]
    fn schedules_of_a_small_graph() {
        // vpc -> subnet -> db (480 s ready); an alarm needs only the db's id; a service needs
        // the db ready.
        let jobs = vec![
            job("vpc", 0.0, vec![], vec![]),
            job("subnet", 0.0, vec![0], vec![]),
            job("db_instance", 480.0, vec![1], vec![]),
            job("cloudwatch_alarm", 0.0, vec![], vec![2]),
            job("ecs_service", 120.0, vec![2], vec![]),
        ];
        assert_eq!(critical_path(&jobs), 1.0 + 1.0 + 481.0 + 121.0);
        assert_eq!(critical_chain(&jobs), vec![0, 1, 2, 4]);
        // Terraform awaits the db before the alarm as well; one slot serialises everything.
        assert_eq!(terraform(&jobs, 10), 604.0);
        assert_eq!(terraform(&jobs, 1), 1.0 + 1.0 + 481.0 + 1.0 + 121.0);
        // Layers: network (2), database (481), ecs (121), monitoring (1).
        assert_eq!(layered(&jobs), 2.0 + 481.0 + 121.0 + 1.0);
        // Destroy: service and alarm, then db, subnet, vpc: 2 s each on the longest path.
        assert_eq!(destroy_critical_path(&jobs), 8.0);
        assert_eq!(destroy_terraform(&jobs, 1), 10.0);
        assert_eq!(destroy_layered(&jobs), 2.0 + 2.0 + 2.0 + 4.0);
    }

    #[test]
    fn a_settling_node_serves_its_dependents_before_it_has_settled() {
        // The db serves after 420 s and settles 60 s later; the service needs it serving.
        let mut jobs = vec![
            job("subnet", 0.0, vec![], vec![]),
            job("db_instance", 420.0, vec![0], vec![]),
            job("ecs_service", 120.0, vec![1], vec![]),
        ];
        jobs[1].t.settle = 60.0;
        assert_eq!(critical_path(&jobs), 1.0 + 421.0 + 121.0);
        // Terraform and CDK wait for the settled db before the service.
        assert_eq!(terraform(&jobs, 10), 1.0 + 481.0 + 121.0);
        assert_eq!(layered(&jobs), 1.0 + 481.0 + 121.0);
        // Alone, the db's settling ends the apply.
        jobs.pop();
        assert_eq!(critical_path(&jobs), 1.0 + 481.0);
        assert_eq!(critical_chain(&jobs), vec![0, 1]);
    }
}
