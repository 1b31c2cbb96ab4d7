//! Deleting an instance: deletion protection lifted (apply only gets here when the run allows
//! destroying this database, or the stage is ephemeral), a final snapshot with a name unique to
//! this deletion, then a wait until it is gone so its groups can go too.

use std::time::{SystemTime, UNIX_EPOCH};

use skyforge_core::{Context, Guard, ResourceId, Result};

use crate::instance::{client, describe};
use crate::status;

/// The final snapshot's id: the instance's, `-final-`, and the deletion time, so a second
/// deletion of a same-named instance never clashes (terraform-aws-rds #445).
pub fn final_snapshot_id(identifier: &str, unix_seconds: u64) -> String {
    let suffix = format!("-final-{unix_seconds}");
    let keep = 255 - suffix.len();
    let head: String = identifier.chars().take(keep).collect();
    format!("{}{suffix}", head.trim_end_matches('-'))
}

/// Delete instance `identifier`; success when it is already gone.
pub(crate) async fn instance(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    identifier: &str,
    snapshot: bool,
) -> Result<()> {
    let rds = client(ctx);
    let Some(i) = describe(ctx, rid, identifier).await? else {
        return Ok(());
    };
    if i.db_instance_status() != Some("deleting") {
        if i.deletion_protection() == Some(true) {
            status::wait_available(ctx, rid, identifier).await?;
            guard
                .send(
                    "ModifyDBInstance",
                    &[],
                    rds.modify_db_instance()
                        .db_instance_identifier(identifier)
                        .deletion_protection(false)
                        .apply_immediately(true)
                        .send(),
                )
                .await?;
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let snap = snapshot.then(|| final_snapshot_id(identifier, now));
        guard
            .send(
                "DeleteDBInstance",
                &["DBInstanceNotFound"],
                rds.delete_db_instance()
                    .db_instance_identifier(identifier)
                    .skip_final_snapshot(snap.is_none())
                    .set_final_db_snapshot_identifier(snap.clone())
                    .delete_automated_backups(snap.is_none())
                    .send(),
            )
            .await?;
        if let Some(s) = &snap {
            tracing::info!(resource = %rid, snapshot = %s, "final snapshot requested");
        }
    }
    status::wait_gone(ctx, rid, identifier).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_snapshot_ids_are_unique_and_valid() {
        let a = final_snapshot_id("shop-prod-db", 1_700_000_000);
        let b = final_snapshot_id("shop-prod-db", 1_700_000_001);
        assert_ne!(a, b);
        assert_eq!(a, "shop-prod-db-final-1700000000");
        let long = "a".repeat(300);
        assert!(final_snapshot_id(&long, 1).len() <= 255);
    }
}
