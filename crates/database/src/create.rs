//! The CreateDBInstance request of a spec.

use aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder;
use skyforge_core::{Context, Inputs, Resource, Result};
use skyforge_secrets::SecretString;

use crate::instance::{InstanceNode, client, rds_tags};

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// Every setting at creation, so that the new instance needs no modification afterwards.
pub(crate) fn request(
    node: &InstanceNode,
    ctx: &Context,
    inputs: &Inputs,
    password: &SecretString,
    password_digest: Option<&str>,
) -> Result<CreateDBInstanceFluentBuilder> {
    let s = &node.spec;
    let env = ctx.env();
    let rid = node.id();
    let need = |i: &skyforge_core::Input<String>| -> Result<String> {
        match i {
            skyforge_core::Input::Value(v) => Ok(v.clone()),
            skyforge_core::Input::Ref(r) => inputs.require(r, &rid),
        }
    };
    let st = &s.storage;
    let req = client(ctx)
        .create_db_instance()
        .db_instance_identifier(node.identifier(env))
        .engine("postgres")
        .engine_version(&s.version)
        .db_instance_class(&s.class)
        .storage_type(st.kind.as_str())
        .allocated_storage(int(st.size_gib))
        .set_max_allocated_storage(st.max_gib.map(int))
        .set_iops(st.iops.map(int))
        .set_storage_throughput(st.throughput_mibps.map(int))
        .multi_az(s.multi_az_in(env))
        .backup_retention_period(int(s.backup_retention_days))
        .set_preferred_backup_window(s.backup_window.clone())
        .set_preferred_maintenance_window(
            s.maintenance_window
                .as_deref()
                .map(skyforge_core::window::normalise),
        )
        .db_parameter_group_name(need(&node.wiring.parameter_group)?)
        .db_subnet_group_name(need(&node.wiring.subnet_group)?)
        .vpc_security_group_ids(need(&node.wiring.security_group)?)
        .publicly_accessible(false)
        .storage_encrypted(s.encrypted)
        .set_kms_key_id(s.kms_key_id.clone())
        .deletion_protection(s.protected_in(env))
        .enable_performance_insights(s.performance_insights_days.is_some())
        .set_performance_insights_retention_period(s.performance_insights_days.map(int))
        .set_performance_insights_kms_key_id(s.performance_insights_days.and(s.kms_key_id.clone()))
        .set_enable_cloudwatch_logs_exports(Some(s.log_exports.clone()))
        .enable_iam_database_authentication(s.iam_authentication)
        .auto_minor_version_upgrade(s.auto_minor_version_upgrade)
        .copy_tags_to_snapshot(true)
        .port(i32::from(s.port))
        .db_name(&s.database_name)
        .master_username(&s.username)
        .master_user_password(password.expose())
        .set_tags(Some(rds_tags(&node.desired_tags(env, password_digest))));
    Ok(req)
}
