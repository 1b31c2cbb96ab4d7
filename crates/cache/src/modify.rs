//! Modifying a replication group in the order ElastiCache requires, waiting for `available`
//! between steps: more replicas first, then one `ModifyReplicationGroup` with only the fields
//! that changed (an unchanged flag sent again can make ElastiCache refuse the whole call), then
//! the AUTH token (strategy `SET`, always now), then fewer replicas, then tags.

use aws_sdk_elasticache::types::AuthTokenUpdateStrategyType;
use skyforge_core::window::ApplyMode;
use skyforge_core::{
    Context, Error, FieldDiff, Guard, Input, Inputs, Observed, Resource, Result, Value,
};

use crate::create::{int, slow_log};
use crate::group::{GroupNode, client};
use crate::status::wait_available;

fn number(o: &Observed, field: &str) -> u64 {
    o.fields
        .get(field)
        .and_then(Value::known)
        .and_then(|v| v.as_u64())
        .unwrap_or(0)
}

/// Apply `diffs` to the group.
pub(crate) async fn run(
    node: &GroupNode,
    ctx: &Context,
    inputs: &Inputs,
    observed: &Observed,
    diffs: &[FieldDiff],
    guard: &Guard,
) -> Result<()> {
    let rid = node.id();
    let id = observed.physical_id.as_str();
    let changed = |f: &str| diffs.iter().any(|d| d.field == f);
    let now_replicas = number(observed, "replicas");
    let want = u64::from(node.spec.replicas);
    let ec = client(ctx);
    if changed("shards") {
        reshard(node, ctx, observed, guard).await?;
    }
    if changed("replicas") && want > now_replicas {
        wait_available(ctx, &rid, id).await?;
        let req = ec
            .increase_replica_count()
            .replication_group_id(id)
            .new_replica_count(int(want))
            .apply_immediately(true);
        guard.send("IncreaseReplicaCount", &[], req.send()).await?;
    }
    let settings: Vec<&FieldDiff> = diffs
        .iter()
        .filter(|d| !["shards", "replicas", "auth_token", "tags"].contains(&d.field.as_str()))
        .collect();
    if !settings.is_empty() {
        wait_available(ctx, &rid, id).await?;
        let req = modify_request(node, ctx, inputs, id, &settings)?;
        guard
            .send("ModifyReplicationGroup", &[], req.send())
            .await?;
    }
    if changed("auth_token") {
        wait_available(ctx, &rid, id).await?;
        let token = node
            .token(ctx, inputs)
            .await?
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "the group has no token secret".into(),
            })?;
        let req = ec
            .modify_replication_group()
            .replication_group_id(id)
            .auth_token(token.expose())
            .auth_token_update_strategy(AuthTokenUpdateStrategyType::Set)
            .apply_immediately(true);
        guard
            .send("ModifyReplicationGroup", &[], req.send())
            .await?;
    }
    if changed("replicas") && want < now_replicas {
        wait_available(ctx, &rid, id).await?;
        let req = ec
            .decrease_replica_count()
            .replication_group_id(id)
            .new_replica_count(int(want))
            .apply_immediately(true);
        guard.send("DecreaseReplicaCount", &[], req.send()).await?;
    }
    if changed("tags") {
        let arn = observed
            .outputs
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let desired = node.desired_tags(ctx.env(), node.token_digest(inputs).as_deref());
        crate::tagging::sync(ctx, guard, arn, &desired, observed).await?;
    }
    let immediate = node.mode == ApplyMode::Immediately
        || changed("shards")
        || changed("replicas")
        || changed("auth_token");
    if immediate && diffs.iter().any(|d| d.field != "tags") {
        wait_available(ctx, &rid, id).await?;
    }
    Ok(())
}

/// A new shard count, now; when shrinking, the highest-numbered shards go.
async fn reshard(
    node: &GroupNode,
    ctx: &Context,
    observed: &Observed,
    guard: &Guard,
) -> Result<()> {
    let id = observed.physical_id.as_str();
    let now = number(observed, "shards");
    let want = u64::from(node.spec.shards.unwrap_or(1));
    wait_available(ctx, &node.id(), id).await?;
    let mut req = client(ctx)
        .modify_replication_group_shard_configuration()
        .replication_group_id(id)
        .node_group_count(int(want))
        .apply_immediately(true);
    for g in (want + 1)..=now {
        req = req.node_groups_to_remove(format!("{g:04}"));
    }
    guard
        .send("ModifyReplicationGroupShardConfiguration", &[], req.send())
        .await
}

fn modify_request(
    node: &GroupNode,
    ctx: &Context,
    inputs: &Inputs,
    id: &str,
    settings: &[&FieldDiff],
) -> Result<aws_sdk_elasticache::operation::modify_replication_group::builders::ModifyReplicationGroupFluentBuilder>{
    let s = &node.spec;
    let env = ctx.env();
    let rid = node.id();
    let need = |i: &Input<String>| -> Result<String> {
        match i {
            Input::Value(v) => Ok(v.clone()),
            Input::Ref(r) => inputs.require(r, &rid),
        }
    };
    let mut req = client(ctx)
        .modify_replication_group()
        .replication_group_id(id)
        .apply_immediately(node.mode == ApplyMode::Immediately);
    for d in settings {
        req = match d.field.as_str() {
            "node_type" => req.cache_node_type(&s.node_type),
            "engine_version" => req
                .engine_version(&s.version)
                .cache_parameter_group_name(need(&node.wiring.parameter_group)?),
            "automatic_failover" => req.automatic_failover_enabled(s.failover()),
            "multi_az" => req.multi_az_enabled(s.multi_az_in(env)),
            "security_groups" => req.security_group_ids(need(&node.wiring.security_group)?),
            "parameter_group" => {
                req.cache_parameter_group_name(need(&node.wiring.parameter_group)?)
            }
            "snapshot_retention_days" => req.snapshot_retention_limit(int(s.snapshots_in(env))),
            "snapshot_window" => req.set_snapshot_window(s.snapshot_window.clone()),
            "maintenance_window" => req.set_preferred_maintenance_window(
                s.maintenance_window.as_deref().map(str::to_ascii_lowercase),
            ),
            "slow_log" => {
                req.log_delivery_configurations(slow_log(node.wiring.slow_log.as_deref()))
            }
            "auto_minor_version_upgrade" => req.auto_minor_version_upgrade(true),
            other => return Err(Error::not_updatable(&rid, other)),
        };
    }
    Ok(req)
}
