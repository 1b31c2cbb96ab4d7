//! The CreateReplicationGroup request of a spec.

use aws_sdk_elasticache::operation::create_replication_group::builders::CreateReplicationGroupFluentBuilder;
use aws_sdk_elasticache::types::{
    CloudWatchLogsDestinationDetails, DestinationDetails, DestinationType,
    LogDeliveryConfigurationRequest, LogFormat, LogType,
};
use skyforge_core::{Context, Input, Inputs, Resource, Result};
use skyforge_secrets::SecretString;

use crate::group::{GroupNode, client, ec_tags};

pub(crate) fn int(v: impl TryInto<i32>) -> i32 {
    v.try_into().unwrap_or(i32::MAX)
}

/// The slow-log delivery into `group` (or its removal when `None`).
pub(crate) fn slow_log(group: Option<&str>) -> LogDeliveryConfigurationRequest {
    let b = LogDeliveryConfigurationRequest::builder().log_type(LogType::SlowLog);
    match group {
        Some(g) => b
            .destination_type(DestinationType::CloudWatchLogs)
            .destination_details(
                DestinationDetails::builder()
                    .cloud_watch_logs_details(
                        CloudWatchLogsDestinationDetails::builder()
                            .log_group(g)
                            .build(),
                    )
                    .build(),
            )
            .log_format(LogFormat::Json)
            .enabled(true)
            .build(),
        None => b.enabled(false).build(),
    }
}

/// Every setting at creation.
pub(crate) fn request(
    node: &GroupNode,
    ctx: &Context,
    inputs: &Inputs,
    token: Option<&SecretString>,
) -> Result<CreateReplicationGroupFluentBuilder> {
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
        .create_replication_group()
        .replication_group_id(node.identifier(env))
        .replication_group_description(format!(
            "skyforge {} {}",
            skyforge_core::tags::stack_name(env),
            s.logical_id
        ))
        .engine(s.engine.as_str())
        .engine_version(&s.version)
        .cache_node_type(&s.node_type)
        .automatic_failover_enabled(s.failover())
        .multi_az_enabled(s.multi_az_in(env))
        .cache_subnet_group_name(need(&node.wiring.subnet_group)?)
        .security_group_ids(need(&node.wiring.security_group)?)
        .cache_parameter_group_name(need(&node.wiring.parameter_group)?)
        .port(i32::from(s.port))
        .at_rest_encryption_enabled(s.at_rest_encryption)
        .set_kms_key_id(s.kms_key_id.clone())
        .transit_encryption_enabled(s.transit_encryption)
        .snapshot_retention_limit(int(s.snapshots_in(env)))
        .set_snapshot_window(s.snapshot_window.clone())
        .set_preferred_maintenance_window(
            s.maintenance_window.as_deref().map(str::to_ascii_lowercase),
        )
        .auto_minor_version_upgrade(true)
        .set_tags(Some(ec_tags(
            &node.desired_tags(env, node.token_digest(inputs).as_deref()),
        )));
    req = match s.shards {
        Some(n) => req
            .cluster_mode(aws_sdk_elasticache::types::ClusterMode::Enabled)
            .num_node_groups(int(n))
            .replicas_per_node_group(int(s.replicas)),
        None => req.num_cache_clusters(int(s.replicas + 1)),
    };
    if let Some(t) = token {
        req = req.auth_token(t.expose());
    }
    if let Some(g) = &node.wiring.slow_log {
        req = req.log_delivery_configurations(slow_log(Some(g)));
    }
    Ok(req)
}
