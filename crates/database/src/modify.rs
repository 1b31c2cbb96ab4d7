//! Modifying an instance: every changed setting in one `ModifyDBInstance` (immediately or in the
//! maintenance window), tags, and a reboot for static parameters when asked for.

use aws_sdk_rds::operation::modify_db_instance::builders::ModifyDBInstanceFluentBuilder;
use aws_sdk_rds::types::CloudwatchLogsExportConfiguration;
use skyforge_core::{
    Context, Error, FieldDiff, Guard, Input, Inputs, Observed, Resource, Result, Value,
};

use crate::changes::{Effect, effect};
use crate::instance::{InstanceNode, client};
use crate::spec::ApplyMode;
use crate::status;

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn observed_str_list(o: &Observed, field: &str) -> Vec<String> {
    o.fields
        .get(field)
        .and_then(Value::known)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Apply `diffs` to the instance.
pub(crate) async fn run(
    node: &InstanceNode,
    ctx: &Context,
    inputs: &Inputs,
    observed: &Observed,
    diffs: &[FieldDiff],
    guard: &Guard,
) -> Result<()> {
    let rid = node.id();
    let id = observed.physical_id.clone();
    let changed = |f: &str| diffs.iter().any(|d| d.field == f);
    if changed("engine_version") && !node.spec.allow_major_version_upgrade {
        return Err(crate::Error::MajorUpgradeNotAllowed {
            resource: rid.clone(),
            from: observed
                .fields
                .get("engine_version")
                .map(ToString::to_string)
                .unwrap_or_default(),
            to: node.spec.major().to_string(),
        }
        .into());
    }
    let settings: Vec<&FieldDiff> = diffs
        .iter()
        .filter(|d| !["tags", "parameter_status"].contains(&d.field.as_str()))
        .collect();
    if !settings.is_empty() {
        // RDS refuses a modification while the instance is busy (creating, modifying...).
        let current = status::wait_available(ctx, &rid, &id).await?;
        status::ensure_not_terminal(&rid, &current)?;
        let req = request(node, ctx, inputs, observed, &settings).await?;
        guard.send("ModifyDBInstance", &[], req.send()).await?;
    }
    if changed("tags") {
        let arn = observed
            .outputs
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let desired = node.desired_tags(ctx.env(), node.password_digest(inputs).as_deref());
        crate::tagging::sync(ctx, guard, arn, &desired, observed).await?;
    }
    if changed("parameter_status") {
        status::wait_available(ctx, &rid, &id).await?;
        guard
            .send(
                "RebootDBInstance",
                &[],
                client(ctx)
                    .reboot_db_instance()
                    .db_instance_identifier(&id)
                    .send(),
            )
            .await?;
    }
    let now = node.mode == ApplyMode::Immediately
        || settings
            .iter()
            .any(|d| matches!(effect(&d.field), Effect::ImmediateReboot));
    if now || changed("parameter_status") {
        // Changes made now take the instance through `modifying` / `rebooting`: wait them out
        // so dependents find it usable.
        status::wait_available(ctx, &rid, &id).await?;
    }
    Ok(())
}

async fn request(
    node: &InstanceNode,
    ctx: &Context,
    inputs: &Inputs,
    observed: &Observed,
    settings: &[&FieldDiff],
) -> Result<ModifyDBInstanceFluentBuilder> {
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
        .modify_db_instance()
        .db_instance_identifier(&observed.physical_id)
        .apply_immediately(node.mode == ApplyMode::Immediately);
    for d in settings {
        req = match d.field.as_str() {
            "engine_version" => req
                .engine_version(&s.version)
                .allow_major_version_upgrade(true)
                .db_parameter_group_name(need(&node.wiring.parameter_group)?),
            "class" => req.db_instance_class(&s.class),
            "storage_type" => req.storage_type(s.storage.kind.as_str()),
            "storage_gib" => req.allocated_storage(int(s.storage.size_gib)),
            "max_storage_gib" => req.max_allocated_storage(int(s.storage.max_gib.unwrap_or(0))),
            "iops" => req.set_iops(s.storage.iops.map(int)),
            "throughput_mibps" => req.set_storage_throughput(s.storage.throughput_mibps.map(int)),
            "multi_az" => req.multi_az(s.multi_az_in(env)),
            "backup_retention_days" => req.backup_retention_period(int(s.backup_retention_days)),
            "backup_window" => req.set_preferred_backup_window(s.backup_window.clone()),
            "maintenance_window" => req.set_preferred_maintenance_window(
                s.maintenance_window
                    .as_deref()
                    .map(skyforge_core::window::normalise),
            ),
            "parameter_group" => req.db_parameter_group_name(need(&node.wiring.parameter_group)?),
            "subnet_group" => req.db_subnet_group_name(need(&node.wiring.subnet_group)?),
            "security_groups" => req.vpc_security_group_ids(need(&node.wiring.security_group)?),
            "publicly_accessible" => req.publicly_accessible(false),
            "deletion_protection" => req.deletion_protection(s.protected_in(env)),
            "performance_insights_days" => req
                .enable_performance_insights(s.performance_insights_days.is_some())
                .set_performance_insights_retention_period(s.performance_insights_days.map(int)),
            "log_exports" => req.cloudwatch_logs_export_configuration(logs(s, observed)),
            "iam_authentication" => req.enable_iam_database_authentication(s.iam_authentication),
            "auto_minor_version_upgrade" => {
                req.auto_minor_version_upgrade(s.auto_minor_version_upgrade)
            }
            "copy_tags_to_snapshot" => req.copy_tags_to_snapshot(true),
            "port" => req.db_port_number(i32::from(s.port)),
            "password" => {
                let p = node.master_password(ctx, inputs).await?;
                req.master_user_password(p.expose())
            }
            other => return Err(Error::not_updatable(&rid, other)),
        };
    }
    Ok(req)
}

fn logs(s: &crate::spec::PostgresSpec, observed: &Observed) -> CloudwatchLogsExportConfiguration {
    let now = observed_str_list(observed, "log_exports");
    let enable: Vec<String> = s
        .log_exports
        .iter()
        .filter(|t| !now.contains(t))
        .cloned()
        .collect();
    let disable: Vec<String> = now
        .into_iter()
        .filter(|t| !s.log_exports.contains(t))
        .collect();
    CloudwatchLogsExportConfiguration::builder()
        .set_enable_log_types(Some(enable))
        .set_disable_log_types(Some(disable))
        .build()
}
