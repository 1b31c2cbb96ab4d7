//! UpdateService with the fields that changed (each change starts a new deployment), then tag
//! sync.

use skyforge_core::{Context, FieldDiff, Guard, Inputs, Observed};

use crate::cluster::{client, strategy};
use crate::service::ServiceNode;

pub(crate) async fn run(
    node: &ServiceNode,
    ctx: &Context,
    inputs: &Inputs,
    observed: &Observed,
    diffs: &[FieldDiff],
    guard: &Guard,
) -> skyforge_core::Result<()> {
    let rid = skyforge_core::Resource::id(node);
    let changed = |f: &str| diffs.iter().any(|d| d.field == f);
    let (cluster, name) = crate::service::located(observed);
    let mut req = client(ctx).update_service().cluster(cluster).service(name);
    let mut any = false;
    if changed("task_definition") {
        req = req.task_definition(inputs.require(&node.task_definition, &rid)?);
        any = true;
    }
    if changed("network") {
        req = req.network_configuration(node.network(inputs, &rid)?);
        any = true;
    }
    if changed("load_balancers") {
        req = req.set_load_balancers(Some(node.load_balancers(inputs, &rid)?));
        any = true;
    }
    if changed("registries") {
        req = req.set_service_registries(Some(node.registries(inputs, &rid)?));
        any = true;
    }
    if changed("deployment") {
        req = req.deployment_configuration(node.deployment());
        any = true;
    }
    if changed("grace_secs") {
        req = req.set_health_check_grace_period_seconds(node.spec.grace().map(|g| g as i32));
        any = true;
    }
    if changed("execute_command") {
        req = req.enable_execute_command(node.spec.execute_command);
        any = true;
    }
    if changed("capacity") {
        // Moving between a launch type and a capacity strategy needs a new deployment.
        req = req
            .set_capacity_provider_strategy(Some(strategy(&node.spec.capacity)))
            .force_new_deployment(true);
        any = true;
    }
    if any {
        guard.send("UpdateService", &[], req.send()).await?;
    }
    if changed("tags") {
        let arn = observed
            .outputs
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let desired = skyforge_core::tags::resource_tags(ctx.env(), &node.spec.logical_id);
        crate::tagging::sync(ctx, guard, arn, &desired, observed).await?;
    }
    Ok(())
}
