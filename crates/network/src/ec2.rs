//! Shared EC2 plumbing: ownership tags as EC2 tags and filters, tag sync, "not found" codes,
//! single-match lookups and the blockers that keep a subnet or group from being deleted.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use skyforge_core::naming::{NameKind, physical_name};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Guard, Input, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

/// The EC2 client of a context.
pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

/// Desired tags of an EC2 resource: ownership tags, user tags and a readable `Name`.
pub(crate) fn desired_tags(env: &Environment, logical: &str) -> Tags {
    let mut t = tags::resource_tags(env, logical);
    if let Ok(name) = physical_name(env, NameKind::NameTag, logical) {
        t.insert("Name".into(), name);
    }
    t
}

pub(crate) fn to_ec2(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) fn from_ec2(t: &[Tag]) -> Tags {
    t.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

pub(crate) fn tag_spec(rt: ResourceType, env: &Environment, logical: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(to_ec2(&desired_tags(env, logical))))
        .build()
}

pub(crate) fn filter(name: &str, value: impl Into<String>) -> Filter {
    Filter::builder().name(name).values(value).build()
}

/// The plan field holding the managed tags.
pub(crate) fn tags_field(env: &Environment, logical: &str) -> Field {
    Field::new(Value::of(desired_tags(env, logical)))
}

/// The observed value of the tags field: only the keys skyforge compares.
pub(crate) fn tags_value(env: &Environment, logical: &str, observed: &[Tag]) -> Value {
    Value::of(tags::managed_view(
        &desired_tags(env, logical),
        &from_ec2(observed),
    ))
}

/// Make the resource's tags match the spec over the managed keys.
pub(crate) async fn sync_tags(
    ec2: &Client,
    guard: &Guard,
    rid: &ResourceId,
    physical_id: &str,
    env: &Environment,
    observed: Option<&Value>,
) -> Result<()> {
    let desired = desired_tags(env, &rid.logical_id);
    let current: Tags = tags::from_field(observed);
    let d = tags::diff_tags(&desired, &current);
    if !d.set.is_empty() {
        guard
            .call("CreateTags", async {
                ec2.create_tags()
                    .resources(physical_id)
                    .set_tags(Some(to_ec2(&d.set)))
                    .send()
                    .await
                    .map_err(|e| Error::aws(rid, "CreateTags", e))
            })
            .await?;
    }
    if !d.remove.is_empty() {
        guard
            .call("DeleteTags", async {
                ec2.delete_tags()
                    .resources(physical_id)
                    .set_tags(Some(
                        d.remove
                            .iter()
                            .map(|k| Tag::builder().key(k).build())
                            .collect(),
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(rid, "DeleteTags", e))
            })
            .await?;
    }
    Ok(())
}

/// At most one match, else an error listing the duplicates (which a user must clean up).
pub(crate) fn single<T>(
    rid: &ResourceId,
    found: Vec<T>,
    id: impl Fn(&T) -> String,
) -> Result<Option<T>> {
    if found.len() > 1 {
        return Err(crate::Error::Duplicates {
            resource: rid.clone(),
            physical_ids: found.iter().map(id).collect(),
        }
        .into());
    }
    Ok(found.into_iter().next())
}

/// A network interface that keeps a subnet or security group from being deleted.
#[derive(Debug, Clone)]
pub(crate) struct Blocker {
    pub(crate) describe: String,
    /// Created and removed by an AWS service (ELB, Fargate, NAT): it goes away by itself.
    pub(crate) transient: bool,
}

/// The network interfaces in `subnet-id` / `group-id` = `id`.
pub(crate) async fn interface_blockers(
    ec2: &Client,
    rid: &ResourceId,
    filter_name: &str,
    id: &str,
) -> Result<Vec<Blocker>> {
    let out = ec2
        .describe_network_interfaces()
        .filters(filter(filter_name, id))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeNetworkInterfaces", e))?;
    Ok(out
        .network_interfaces()
        .iter()
        .map(|n| {
            let requester = n.requester_managed().unwrap_or(false);
            let eni = n.network_interface_id().unwrap_or("?");
            let what = n
                .description()
                .filter(|d| !d.is_empty())
                .unwrap_or("no description");
            let kind = n
                .interface_type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_default();
            let status = n
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            Blocker {
                describe: format!(
                    "{eni} ({what}; type {kind}; status {status}{})",
                    if requester {
                        "; managed by an AWS service"
                    } else {
                        ""
                    }
                ),
                transient: requester,
            }
        })
        .collect())
}

/// The error for a deletion blocked by resources the stack does not own.
pub(crate) fn blocked(rid: &ResourceId, physical_id: &str, blockers: &[String]) -> Error {
    crate::Error::Blocked {
        resource: rid.clone(),
        physical_id: physical_id.to_string(),
        blockers: blockers.to_vec(),
    }
    .into()
}

/// Observe again after a change, waiting for the resource to be visible
/// ([`skyforge_core::observe_again`]).
pub(crate) async fn reobserve<R: Resource + ?Sized>(
    r: &R,
    ctx: &Context,
    inputs: &Inputs,
) -> Result<Observed> {
    skyforge_core::observe_again(r, ctx, inputs, "after its change").await
}

/// Apply a diff whose only updatable field is `tags`.
pub(crate) async fn update_tags(
    ctx: &Context,
    rid: &ResourceId,
    observed: &Observed,
    diffs: &[FieldDiff],
    guard: &Guard,
) -> Result<()> {
    if diffs.iter().any(|d| d.field == "tags") {
        sync_tags(
            &client(ctx),
            guard,
            rid,
            &observed.physical_id,
            ctx.env(),
            observed.fields.get("tags"),
        )
        .await?;
    }
    Ok(())
}

/// The nodes behind the inputs that are references.
pub(crate) fn deps(inputs: &[&Input<String>]) -> Vec<NodeId> {
    inputs.iter().filter_map(|i| i.dependency()).collect()
}

/// The filter selecting everything carrying this stack's tag.
pub(crate) fn stack_filter(env: &Environment) -> Filter {
    filter(&format!("tag:{}", tags::STACK), tags::stack_name(env))
}

/// The resources of `all` whose logical-id tag is `logical`.
pub(crate) fn with_logical<T: Clone>(
    all: &[T],
    logical: &str,
    tags_of: impl Fn(&T) -> &[Tag],
) -> Vec<T> {
    all.iter()
        .filter(|x| {
            tags_of(x)
                .iter()
                .any(|t| t.key() == Some(tags::LOGICAL_ID) && t.value() == Some(logical))
        })
        .cloned()
        .collect()
}

/// One listing per kind of everything carrying the stack's tag (every page), made once per plan
/// ([`Context::memo`]) and shared by the kind's nodes and its orphan lister.
macro_rules! stack_listing {
    ($name:ident, $ty:ty, $call:ident, $filters:ident, $op:literal) => {
        pub(crate) async fn $name(ctx: &Context) -> Result<std::sync::Arc<Vec<$ty>>> {
            let c = client(ctx);
            let f = stack_filter(ctx.env());
            ctx.memo(concat!("ec2:", $op), || async move {
                c.$call()
                    .$filters(f)
                    .into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| Error::aws("ec2", $op, e))
            })
            .await
        }
    };
}

use aws_sdk_ec2::types as t;
stack_listing!(stack_vpcs, t::Vpc, describe_vpcs, filters, "DescribeVpcs");
stack_listing!(
    stack_subnets,
    t::Subnet,
    describe_subnets,
    filters,
    "DescribeSubnets"
);
stack_listing!(
    stack_gateways,
    t::InternetGateway,
    describe_internet_gateways,
    filters,
    "DescribeInternetGateways"
);
stack_listing!(
    stack_nats,
    t::NatGateway,
    describe_nat_gateways,
    filter,
    "DescribeNatGateways"
);
stack_listing!(
    stack_groups,
    t::SecurityGroup,
    describe_security_groups,
    filters,
    "DescribeSecurityGroups"
);
stack_listing!(
    stack_tables,
    t::RouteTable,
    describe_route_tables,
    filters,
    "DescribeRouteTables"
);
stack_listing!(
    stack_endpoints,
    t::VpcEndpoint,
    describe_vpc_endpoints,
    filters,
    "DescribeVpcEndpoints"
);
stack_listing!(
    stack_flow_logs,
    t::FlowLog,
    describe_flow_logs,
    filter,
    "DescribeFlowLogs"
);

/// The stack's Elastic IPs (`DescribeAddresses` does not page), once per plan.
pub(crate) async fn stack_addresses(ctx: &Context) -> Result<std::sync::Arc<Vec<t::Address>>> {
    let c = client(ctx);
    let f = stack_filter(ctx.env());
    ctx.memo("ec2:DescribeAddresses", || async move {
        c.describe_addresses()
            .filters(f)
            .send()
            .await
            .map(|o| o.addresses().to_vec())
            .map_err(|e| Error::aws("ec2", "DescribeAddresses", e))
    })
    .await
}

/// Every rule of the stack's security groups (tagged or not: a rule added by hand is drift of
/// its group), once per plan.
pub(crate) async fn stack_rules(
    ctx: &Context,
) -> Result<std::sync::Arc<Vec<t::SecurityGroupRule>>> {
    let groups = stack_groups(ctx).await?;
    let ids: Vec<String> = groups
        .iter()
        .filter_map(|g| g.group_id().map(str::to_string))
        .collect();
    let c = client(ctx);
    ctx.memo("ec2:DescribeSecurityGroupRules", || async move {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        c.describe_security_group_rules()
            .filters(
                Filter::builder()
                    .name("group-id")
                    .set_values(Some(ids))
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("ec2", "DescribeSecurityGroupRules", e))
    })
    .await
}
