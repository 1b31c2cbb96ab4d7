//! Deleting a replication group: a final snapshot with a name unique to this deletion (outside
//! ephemeral stages), then a wait until it is gone so its subnet group can go too.

use std::time::{SystemTime, UNIX_EPOCH};

use skyforge_core::{Context, Guard, ResourceId, Result};

use crate::group::{client, describe};
use crate::status;

/// The final snapshot's name: the group's id, `-final-` and the deletion time.
pub fn final_snapshot_name(id: &str, unix_seconds: u64) -> String {
    format!("{id}-final-{unix_seconds}")
}

/// Delete group `id`; success when it is already gone.
pub(crate) async fn group(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    id: &str,
    snapshot: bool,
) -> Result<()> {
    let Some(g) = describe(ctx, rid, id).await? else {
        return Ok(());
    };
    if g.status() != Some("deleting") {
        if g.status() != Some("available") {
            status::wait_available(ctx, rid, id).await?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let snap = snapshot.then(|| final_snapshot_name(id, now));
        let req = client(ctx)
            .delete_replication_group()
            .replication_group_id(id)
            .set_final_snapshot_identifier(snap.clone());
        guard
            .send(
                "DeleteReplicationGroup",
                &["ReplicationGroupNotFoundFault"],
                req.send(),
            )
            .await?;
        if let Some(s) = &snap {
            tracing::info!(resource = %rid, snapshot = %s, "final snapshot requested");
        }
    }
    status::wait_gone(ctx, rid, id).await
}
