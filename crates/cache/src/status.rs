//! Replication group states: usable, on the way, or needing a human; waits that report every
//! state they pass through.

use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup};
use skyforge_core::wait::Poll;
use skyforge_core::{Context, Outputs, Readiness, ResourceId, Result};

use crate::group::describe;

/// States from which `available` is not reached without a human.
pub const TERMINAL: [&str; 3] = ["create-failed", "incompatible-network", "restore-failed"];

fn state(g: &ReplicationGroup) -> &str {
    g.status().unwrap_or("unknown")
}

/// Ready when `available` with a primary endpoint.
pub(crate) fn readiness(g: &ReplicationGroup) -> Readiness {
    match check(g) {
        Poll::Ready(_) => Readiness::Ready,
        _ => Readiness::NotReady(state(g).to_string()),
    }
}

/// Where clients connect: the configuration endpoint in cluster mode, else the primary's.
pub(crate) fn endpoint(g: &ReplicationGroup) -> Option<&aws_sdk_elasticache::types::Endpoint> {
    if g.cluster_enabled() == Some(true) {
        g.configuration_endpoint()
    } else {
        g.node_groups().first().and_then(|n| n.primary_endpoint())
    }
}

/// The outputs dependents use: endpoints, port, ids; never the token.
pub(crate) fn outputs(g: &ReplicationGroup, member: Option<&CacheCluster>, out: &mut Outputs) {
    let mut put = |k: &str, v: serde_json::Value| {
        out.insert(k.to_string(), v);
    };
    if let Some(e) = endpoint(g) {
        put("address", e.address().unwrap_or_default().into());
        put("port", e.port().unwrap_or(6379).to_string().into());
    }
    if let Some(e) = g.node_groups().first().and_then(|n| n.reader_endpoint()) {
        put("reader_address", e.address().unwrap_or_default().into());
    }
    put("arn", g.arn().unwrap_or_default().into());
    put(
        "identifier",
        g.replication_group_id().unwrap_or_default().into(),
    );
    put(
        "member_clusters",
        serde_json::json!(g.member_clusters().to_vec()),
    );
    if let Some(v) = member.and_then(|m| m.engine_version()) {
        put("engine_version_actual", v.into());
    }
}

fn check(g: &ReplicationGroup) -> Poll<ReplicationGroup> {
    let s = state(g);
    if TERMINAL.contains(&s) {
        return Poll::Failed {
            state: s.to_string(),
            reason: format!(
                "ElastiCache reports the replication group {s}: its events (DescribeEvents) say why"
            ),
        };
    }
    if s == "available" && endpoint(g).is_some() {
        Poll::Ready(g.clone())
    } else {
        Poll::Pending(s.to_string())
    }
}

/// Wait until the group is usable, reporting `creating`, `modifying`, `snapshotting`...; fail
/// at once on a terminal state, naming it.
pub(crate) async fn wait_available(
    ctx: &Context,
    rid: &ResourceId,
    id: &str,
) -> Result<ReplicationGroup> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "available", || async {
            match describe(ctx, rid, id).await? {
                Some(g) => Ok(check(&g)),
                None => Ok(Poll::Pending("not visible yet".into())),
            }
        })
        .await
}

/// Wait until a just-created group can be described.
pub(crate) async fn wait_visible(
    ctx: &Context,
    rid: &ResourceId,
    id: &str,
) -> Result<ReplicationGroup> {
    ctx.poller(std::time::Duration::from_secs(60))
        .wait(&rid.to_string(), "visible", || async {
            Ok(match describe(ctx, rid, id).await? {
                Some(g) => Poll::Ready(g),
                None => Poll::Pending("not visible yet".into()),
            })
        })
        .await
}

/// Wait until the group is gone, reporting `deleting`.
pub(crate) async fn wait_gone(ctx: &Context, rid: &ResourceId, id: &str) -> Result<()> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "deleted", || async {
            Ok(match describe(ctx, rid, id).await? {
                Some(g) => Poll::Pending(state(&g).to_string()),
                None => Poll::Ready(()),
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use aws_sdk_elasticache::types::{Endpoint, NodeGroup};

    use super::*;

    fn group(state: &str, endpoint: bool) -> ReplicationGroup {
        let ng = if endpoint {
            NodeGroup::builder()
                .primary_endpoint(Endpoint::builder().address("p.example").port(6379).build())
                .build()
        } else {
            NodeGroup::builder().build()
        };
        ReplicationGroup::builder()
            .status(state)
            .node_groups(ng)
            .build()
    }

    #[test]
    fn terminal_states_fail_and_transitional_ones_wait() {
        for s in TERMINAL {
            assert!(matches!(check(&group(s, true)), Poll::Failed { state, .. } if state == s));
        }
        for s in ["creating", "modifying", "snapshotting"] {
            assert_eq!(check(&group(s, true)), Poll::Pending(s.to_string()));
        }
        assert!(matches!(check(&group("available", true)), Poll::Ready(_)));
        assert!(matches!(
            check(&group("available", false)),
            Poll::Pending(_)
        ));
    }
}
