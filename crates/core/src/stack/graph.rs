//! The stack as a graph: what each node waits for, for schedulers, benchmarks and `graph`.

use crate::plan::ResourceId;

use super::Stack;

/// One node and what it waits for: a dependency it needs ready (an endpoint, an `available` NAT
/// gateway) or one of which it needs only the identifier (started as soon as its create call
/// returned).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct GraphNode {
    /// Kind and logical id.
    pub id: ResourceId,
    /// The AWS service its calls go to (the executor's concurrency bucket).
    pub service: String,
    /// An action (a migration task) rather than a resource.
    pub action: bool,
    /// Dependencies it needs ready.
    pub needs_ready: Vec<ResourceId>,
    /// Dependencies of which it needs only the identifier.
    pub needs_id: Vec<ResourceId>,
}

impl Stack {
    /// Every node with the dependencies it waits for, in the order they were added (a node comes
    /// after everything it depends on).
    pub fn graph(&self) -> Vec<GraphNode> {
        self.nodes
            .iter()
            .map(|n| {
                let id_only = n.id_only_dependencies();
                let ids = |deps: Vec<crate::NodeId>| -> Vec<ResourceId> {
                    let mut v: Vec<ResourceId> = deps
                        .into_iter()
                        .filter_map(|d| self.resource_id(d))
                        .collect();
                    v.sort();
                    v.dedup();
                    v
                };
                let (ready, id): (Vec<_>, Vec<_>) = n
                    .dependencies()
                    .into_iter()
                    .partition(|d| !id_only.contains(d));
                GraphNode {
                    id: n.id(),
                    service: n.service().to_string(),
                    action: n.is_action(),
                    needs_ready: ids(ready),
                    needs_id: ids(id),
                }
            })
            .collect()
    }
}
