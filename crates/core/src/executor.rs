//! The concurrent graph executor.
//!
//! Runs one operation per node of a DAG, a node as soon as everything it depends on has finished
//! (or, in reverse order, as soon as everything depending on it has finished), with a bound on the
//! operations in flight per AWS service. After the first failure no new node starts; operations
//! already in flight finish, and every failure is reported.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;

use futures::stream::{FuturesUnordered, StreamExt};

use crate::error::Result;

/// Direction of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Dependencies first (create, update, plan).
    Forward,
    /// Dependents first (destroy).
    Reverse,
}

/// Bounds on concurrent operations, per AWS service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrencyLimits {
    /// Limit of services not listed.
    pub default: usize,
    /// Per service (`ec2` -> 8).
    pub per_service: BTreeMap<String, usize>,
}

impl Default for ConcurrencyLimits {
    /// EC2 8, IAM 2 (IAM's mutating APIs throttle early), readiness waits 64 (polling), others 4.
    fn default() -> Self {
        let mut per_service = BTreeMap::new();
        per_service.insert("ec2".to_string(), 8);
        per_service.insert("iam".to_string(), 2);
        per_service.insert("wait".to_string(), 64);
        ConcurrencyLimits {
            default: 4,
            per_service,
        }
    }
}

impl ConcurrencyLimits {
    /// Same limit for every service.
    pub fn uniform(n: usize) -> Self {
        ConcurrencyLimits {
            default: n.max(1),
            per_service: BTreeMap::new(),
        }
    }
    /// The limit of `service`.
    pub fn limit(&self, service: &str) -> usize {
        self.per_service
            .get(service)
            .copied()
            .unwrap_or(self.default)
            .max(1)
    }
}

/// How one node's run ended.
#[derive(Debug)]
pub enum NodeOutcome<T> {
    /// The operation succeeded.
    Done(T),
    /// The operation failed.
    Failed(crate::Error),
    /// Not started: a failure stopped scheduling first.
    NotRun,
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = (usize, Result<T>)> + Send + 'a>>;

/// Find a cycle in `deps` (node -> its dependencies); returns the nodes on it, first repeated last.
pub fn find_cycle(deps: &[Vec<usize>]) -> Option<Vec<usize>> {
    // Iterative DFS with colours: 0 white, 1 on stack, 2 done.
    let n = deps.len();
    let mut colour = vec![0u8; n];
    for root in 0..n {
        if colour[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        colour[root] = 1;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&dep) = deps[node].get(*next) {
                *next += 1;
                match colour[dep] {
                    0 => {
                        colour[dep] = 1;
                        stack.push((dep, 0));
                    }
                    1 => {
                        let pos = stack.iter().position(|(x, _)| *x == dep).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[pos..].iter().map(|(x, _)| *x).collect();
                        cycle.push(dep);
                        return Some(cycle);
                    }
                    _ => {}
                }
            } else {
                colour[node] = 2;
                stack.pop();
            }
        }
    }
    None
}

/// Run `op` on every node with `enabled(node)` of the DAG `deps` (node -> dependencies, which
/// must be acyclic and in range) in `order`, at most `limits` per `service(node)` at once.
///
/// Nodes not enabled count as finished at once (they still order their neighbours). Returns one
/// outcome per node; disabled nodes report `Done(None)`.
pub async fn run<'a, T, F, Fut>(
    deps: &[Vec<usize>],
    services: &[String],
    limits: &ConcurrencyLimits,
    order: Order,
    enabled: impl Fn(usize) -> bool,
    op: F,
) -> Vec<NodeOutcome<Option<T>>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<T>> + Send + 'a,
    T: Send + 'a,
{
    let n = deps.len();
    // `waits_on[i]`: nodes that must finish before i; `unblocks[i]`: nodes waiting on i.
    let mut waits_on: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    let mut unblocks: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, ds) in deps.iter().enumerate() {
        for &d in ds {
            let (before, after) = match order {
                Order::Forward => (d, i),
                Order::Reverse => (i, d),
            };
            if waits_on[after].insert(before) {
                unblocks[before].push(after);
            }
        }
    }
    let mut outcomes: Vec<NodeOutcome<Option<T>>> = (0..n).map(|_| NodeOutcome::NotRun).collect();
    let mut remaining: Vec<usize> = waits_on.iter().map(BTreeSet::len).collect();
    let mut ready: BTreeSet<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    let mut in_flight_per_service: BTreeMap<&str, usize> = BTreeMap::new();
    let mut in_flight: FuturesUnordered<BoxFut<'a, T>> = FuturesUnordered::new();
    let mut stopped = false;

    loop {
        // Settle disabled nodes and start every ready node whose service has room.
        let mut progressed = true;
        while progressed && !stopped {
            progressed = false;
            let candidates: Vec<usize> = ready.iter().copied().collect();
            for i in candidates {
                if !enabled(i) {
                    ready.remove(&i);
                    outcomes[i] = NodeOutcome::Done(None);
                    for &j in &unblocks[i] {
                        remaining[j] -= 1;
                        if remaining[j] == 0 {
                            ready.insert(j);
                        }
                    }
                    progressed = true;
                    continue;
                }
                let svc = services[i].as_str();
                let busy = in_flight_per_service.get(svc).copied().unwrap_or(0);
                if busy >= limits.limit(svc) {
                    continue;
                }
                ready.remove(&i);
                *in_flight_per_service.entry(svc).or_insert(0) += 1;
                let fut = op(i);
                in_flight.push(Box::pin(async move { (i, fut.await) }));
            }
        }
        let Some((i, result)) = in_flight.next().await else {
            break;
        };
        if let Some(c) = in_flight_per_service.get_mut(services[i].as_str()) {
            *c -= 1;
        }
        match result {
            Ok(v) => {
                outcomes[i] = NodeOutcome::Done(Some(v));
                for &j in &unblocks[i] {
                    remaining[j] -= 1;
                    if remaining[j] == 0 {
                        ready.insert(j);
                    }
                }
            }
            Err(e) => {
                outcomes[i] = NodeOutcome::Failed(e);
                stopped = true;
            }
        }
    }
    outcomes
}
