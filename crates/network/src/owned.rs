//! The network's kinds as orphan listers: every EC2 resource carrying the stack's ownership tags
//! is listed (every page) at plan time, and what the spec no longer declares is deleted.
//!
//! Routes, route-table associations and the internet gateway's attachment carry no tags: they are
//! listed through what holds them (the stack's route tables and internet gateway) and named the
//! way the network names them (`<table>-internet`, `<table>-nat`, the subnet's logical id, the
//! gateway's). A route added by hand to a stack's table is drift, not an orphan, and stays.
//! Flow logs' log group and role are listed by their deterministic names (see
//! [`crate::flow_logs`]).

use async_trait::async_trait;
use aws_sdk_ec2::types::Tag;
use skyforge_core::tags;
use skyforge_core::{
    Context, Error, Guard, Input, Observed, Owned, OwnedKind, Resource, ResourceId, Result, Stack,
    none_if_aws_code,
};

use crate::cidr::Cidr;
use crate::ec2;
use crate::flow_logs::KIND_FLOW_LOG;
use crate::gateway::{
    ElasticIp, GatewayAttachment, InternetGateway, KIND_ATTACH, KIND_EIP, KIND_IGW, KIND_NAT,
    NatGateway,
};
use crate::routing::{
    Association, KIND_ASSOC, KIND_ENDPOINT, KIND_ROUTE, KIND_TABLE, Route, RouteTable, RouteTarget,
    S3Endpoint,
};
use crate::security::{GroupNode, KIND_GROUP, KIND_RULE};
use crate::spec::{Azs, Nat, TierKind};
use crate::subnet::{KIND as KIND_SUBNET, Subnet};
use crate::vpc::{KIND_VPC, Vpc};

/// The EC2 kinds this crate lists.
const KINDS: [&str; 13] = [
    KIND_VPC,
    KIND_ATTACH,
    KIND_ROUTE,
    KIND_ASSOC,
    KIND_SUBNET,
    KIND_IGW,
    KIND_EIP,
    KIND_NAT,
    KIND_TABLE,
    KIND_ENDPOINT,
    KIND_GROUP,
    KIND_RULE,
    KIND_FLOW_LOG,
];

/// Register every kind of this crate with `stack` (the network and security-group components
/// do it; a tool that drops a whole network from its spec calls it itself).
pub fn register_kinds(stack: &mut Stack) {
    for kind in KINDS {
        stack.own_kind(Ec2Kind(kind));
    }
    crate::flow_logs::register_kinds(stack);
}

/// One EC2 kind.
struct Ec2Kind(&'static str);

/// The logical id of a resource with these tags, if it belongs to the context's stack.
fn owned_logical(ctx: &Context, t: &[Tag]) -> Option<String> {
    let t = ec2::from_ec2(t);
    if !tags::is_owned_by(&t, ctx.env()) {
        return None;
    }
    t.get(tags::LOGICAL_ID).cloned()
}

fn stack_filter(ctx: &Context) -> aws_sdk_ec2::types::Filter {
    ec2::filter(&format!("tag:{}", tags::STACK), tags::stack_name(ctx.env()))
}

/// A node standing for an orphan, for its `delete`: only its identity is used.
fn observed(physical_id: &str) -> Observed {
    Observed {
        physical_id: physical_id.to_string(),
        ..Observed::default()
    }
}

fn nothing() -> Input<String> {
    Input::Value(String::new())
}

impl Ec2Kind {
    fn rid(&self, owned: &Owned) -> ResourceId {
        ResourceId::new(self.0, owned.logical_id.clone())
    }

    async fn list_tagged(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let c = ec2::client(ctx);
        let f = stack_filter(ctx);
        let any = format!("{}.*", self.0);
        // One paginated describe per kind; `$keep` drops gateways and endpoints on their way out.
        macro_rules! tagged {
            ($req:expr, $op:literal, $id:ident) => {
                tagged!($req, $op, $id, |_| true)
            };
            ($req:expr, $op:literal, $id:ident, $keep:expr) => {
                $req.into_paginator()
                    .items()
                    .send()
                    .try_collect()
                    .await
                    .map_err(|e| Error::aws(&any, $op, &e))?
                    .iter()
                    .filter($keep)
                    .map(|v| {
                        (
                            owned_logical(ctx, v.tags()),
                            v.$id().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            };
        }
        use aws_sdk_ec2::types::{NatGatewayState as N, State as E};
        let pairs: Vec<(Option<String>, String)> = match self.0 {
            KIND_VPC => tagged!(c.describe_vpcs().filters(f), "DescribeVpcs", vpc_id),
            KIND_SUBNET => tagged!(
                c.describe_subnets().filters(f),
                "DescribeSubnets",
                subnet_id
            ),
            KIND_IGW => tagged!(
                c.describe_internet_gateways().filters(f),
                "DescribeInternetGateways",
                internet_gateway_id
            ),
            KIND_EIP => c
                .describe_addresses()
                .filters(f)
                .send()
                .await
                .map_err(|e| Error::aws(&any, "DescribeAddresses", &e))?
                .addresses()
                .iter()
                .map(|v| {
                    let id = v.allocation_id().unwrap_or("").to_string();
                    (owned_logical(ctx, v.tags()), id)
                })
                .collect(),
            KIND_NAT => tagged!(
                c.describe_nat_gateways().filter(f),
                "DescribeNatGateways",
                nat_gateway_id,
                |v| !matches!(v.state(), Some(N::Deleted | N::Deleting))
            ),
            KIND_TABLE => tagged!(
                c.describe_route_tables().filters(f),
                "DescribeRouteTables",
                route_table_id
            ),
            KIND_ENDPOINT => tagged!(
                c.describe_vpc_endpoints().filters(f),
                "DescribeVpcEndpoints",
                vpc_endpoint_id,
                |v| !matches!(v.state(), Some(E::Deleted | E::Deleting))
            ),
            KIND_GROUP => tagged!(
                c.describe_security_groups().filters(f),
                "DescribeSecurityGroups",
                group_id
            ),
            KIND_FLOW_LOG => tagged!(
                c.describe_flow_logs().filter(f),
                "DescribeFlowLogs",
                flow_log_id
            ),
            _ => Vec::new(),
        };
        Ok(pairs
            .into_iter()
            .filter_map(|(logical, id)| Some(Owned::new(logical?, id)))
            .filter(|o| !o.physical_id.is_empty())
            .collect())
    }

    /// Rules carrying the stack's tags, in the stack's groups. Physical id `group:rule`, as the
    /// rule node reports it; the direction is kept for the revoke call.
    async fn list_rules(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let groups = Ec2Kind(KIND_GROUP).list_tagged(ctx).await?;
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<String> = groups.into_iter().map(|g| g.physical_id).collect();
        let rules = ec2::client(ctx)
            .describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .set_values(Some(ids))
                    .build(),
            )
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("security_group_rule.*", "DescribeSecurityGroupRules", &e))?;
        Ok(rules
            .iter()
            .filter_map(|r| {
                let logical = owned_logical(ctx, r.tags())?;
                let physical = format!(
                    "{}:{}",
                    r.group_id().unwrap_or(""),
                    r.security_group_rule_id().unwrap_or("")
                );
                let direction = if r.is_egress() == Some(true) {
                    "egress"
                } else {
                    "ingress"
                };
                Some(Owned::new(logical, physical).with("direction", direction))
            })
            .collect())
    }
}

impl Ec2Kind {
    /// Routes to a gateway or NAT gateway in the stack's tables (physical id `table_dest`), or
    /// the subnet associations of the stack's tables with the stack's subnets.
    async fn list_in_tables(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let c = ec2::client(ctx);
        let tables = c
            .describe_route_tables()
            .filters(stack_filter(ctx))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(format!("{}.*", self.0), "DescribeRouteTables", &e))?;
        let subnets: std::collections::BTreeMap<String, String> = if self.0 == KIND_ASSOC {
            Ec2Kind(KIND_SUBNET)
                .list_tagged(ctx)
                .await?
                .into_iter()
                .map(|o| (o.physical_id, o.logical_id))
                .collect()
        } else {
            Default::default()
        };
        let mut found = Vec::new();
        for t in &tables {
            let Some(table_logical) = owned_logical(ctx, t.tags()) else {
                continue;
            };
            let table = t.route_table_id().unwrap_or_default();
            if self.0 == KIND_ROUTE {
                for r in t.routes() {
                    let suffix = if r.nat_gateway_id().is_some() {
                        "nat"
                    } else if r.gateway_id().is_some_and(|g| g.starts_with("igw-")) {
                        "internet"
                    } else {
                        continue;
                    };
                    let Some(dest) = r.destination_cidr_block() else {
                        continue;
                    };
                    found.push(Owned::new(
                        format!("{table_logical}-{suffix}"),
                        format!("{table}_{dest}"),
                    ));
                }
            } else {
                for a in t.associations().iter().filter(|a| a.main() != Some(true)) {
                    let (Some(subnet), Some(id)) = (a.subnet_id(), a.route_table_association_id())
                    else {
                        continue;
                    };
                    if let Some(l) = subnets.get(subnet) {
                        found.push(Owned::new(l.clone(), id));
                    }
                }
            }
        }
        Ok(found)
    }

    /// The attachments of the stack's internet gateways (physical id `igw:vpc`).
    async fn list_attachments(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let gws = ec2::client(ctx)
            .describe_internet_gateways()
            .filters(stack_filter(ctx))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| {
                Error::aws(
                    "internet_gateway_attachment.*",
                    "DescribeInternetGateways",
                    &e,
                )
            })?;
        Ok(gws
            .iter()
            .filter_map(|g| Some((owned_logical(ctx, g.tags())?, g)))
            .flat_map(|(l, g)| {
                let igw = g.internet_gateway_id().unwrap_or_default().to_string();
                g.attachments()
                    .iter()
                    .filter_map(|a| a.vpc_id())
                    .map(move |vpc| Owned::new(l.clone(), format!("{igw}:{vpc}")))
                    .collect::<Vec<_>>()
            })
            .collect())
    }
}

#[async_trait]
impl OwnedKind for Ec2Kind {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn inside(&self) -> &'static [&'static str] {
        match self.0 {
            KIND_SUBNET | KIND_IGW | KIND_TABLE | KIND_GROUP | KIND_FLOW_LOG => &[KIND_VPC],
            // A public NAT gateway needs its subnet, its address and the internet gateway.
            KIND_NAT => &[KIND_VPC, KIND_SUBNET, KIND_EIP, KIND_IGW, KIND_ATTACH],
            KIND_ROUTE => &[KIND_TABLE, KIND_NAT, KIND_IGW, KIND_ATTACH],
            KIND_ASSOC => &[KIND_TABLE, KIND_SUBNET],
            KIND_ATTACH => &[KIND_IGW, KIND_VPC],
            KIND_ENDPOINT => &[KIND_VPC, KIND_TABLE],
            KIND_RULE => &[KIND_GROUP],
            _ => &[],
        }
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        match self.0 {
            KIND_RULE => self.list_rules(ctx).await,
            KIND_ROUTE | KIND_ASSOC => self.list_in_tables(ctx).await,
            KIND_ATTACH => self.list_attachments(ctx).await,
            _ => self.list_tagged(ctx).await,
        }
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let logical = owned.logical_id.clone();
        let obs = observed(&owned.physical_id);
        match self.0 {
            KIND_VPC => Vpc::for_delete(logical).delete(ctx, &obs, guard).await,
            KIND_SUBNET => subnet(logical).delete(ctx, &obs, guard).await,
            KIND_IGW => delete_igw(ctx, owned, guard).await,
            KIND_EIP => ElasticIp { logical }.delete(ctx, &obs, guard).await,
            KIND_NAT => nat(logical).delete(ctx, &obs, guard).await,
            KIND_TABLE => delete_table(ctx, owned, guard).await,
            KIND_ROUTE => {
                Route {
                    logical,
                    table_id: nothing(),
                    destination: Cidr::ANY,
                    target: RouteTarget::NatGateway(nothing()),
                    after: Vec::new(),
                }
                .delete(ctx, &obs, guard)
                .await
            }
            KIND_ASSOC => {
                Association {
                    logical,
                    table_id: nothing(),
                    subnet_id: nothing(),
                }
                .delete(ctx, &obs, guard)
                .await
            }
            KIND_ATTACH => {
                GatewayAttachment {
                    logical,
                    igw_id: nothing(),
                    vpc_id: nothing(),
                }
                .delete(ctx, &obs, guard)
                .await
            }
            KIND_ENDPOINT => {
                S3Endpoint {
                    logical,
                    vpc_id: nothing(),
                    tables: Vec::new(),
                }
                .delete(ctx, &obs, guard)
                .await
            }
            KIND_GROUP => group(logical).delete(ctx, &obs, guard).await,
            KIND_RULE => crate::security::revoke_rule(ctx, guard, &self.rid(owned), owned).await,
            KIND_FLOW_LOG => {
                crate::flow_logs::delete_flow_log(ctx, guard, &self.rid(owned), owned).await
            }
            other => Err(Error::Resource {
                resource: self.rid(owned).to_string(),
                message: format!("no orphan deletion for kind {other}"),
            }),
        }
    }
}

impl Vpc {
    fn for_delete(logical: String) -> Vpc {
        Vpc {
            logical,
            cidr: Cidr::ANY,
            dns_hostnames: true,
            dns_support: true,
            azs: Azs::Count(1),
            nat: Nat::None,
            flow_logs: false,
        }
    }
}

fn subnet(logical: String) -> Subnet {
    Subnet {
        logical,
        vpc_id: nothing(),
        cidr: Cidr::ANY,
        az: nothing(),
        tier: String::new(),
        kind: TierKind::Isolated,
        map_public_ip: false,
    }
}

fn nat(logical: String) -> NatGateway {
    NatGateway {
        logical,
        subnet_id: nothing(),
        allocation_id: nothing(),
        attachment: None,
    }
}

fn group(logical: String) -> GroupNode {
    GroupNode {
        logical,
        vpc_id: nothing(),
        description: String::new(),
        allow_all_outbound: false,
    }
}

/// Detach an orphan internet gateway from every VPC, then delete it.
async fn delete_igw(ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
    let c = ec2::client(ctx);
    let rid = ResourceId::new(KIND_IGW, owned.logical_id.clone());
    let out = c
        .describe_internet_gateways()
        .internet_gateway_ids(&owned.physical_id)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "DescribeInternetGateways", &e));
    let Some(out) = none_if_aws_code(out, &["InvalidInternetGatewayID.NotFound"])? else {
        return Ok(());
    };
    for g in out.internet_gateways() {
        for a in g.attachments() {
            let vpc = a.vpc_id().unwrap_or_default();
            let attachment = GatewayAttachment {
                logical: owned.logical_id.clone(),
                igw_id: nothing(),
                vpc_id: nothing(),
            };
            let physical = format!("{}:{vpc}", owned.physical_id);
            attachment.delete(ctx, &observed(&physical), guard).await?;
        }
    }
    InternetGateway {
        logical: owned.logical_id.clone(),
    }
    .delete(ctx, &observed(&owned.physical_id), guard)
    .await
}

/// Remove an orphan route table's subnet associations, then delete it.
async fn delete_table(ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
    let c = ec2::client(ctx);
    let rid = ResourceId::new(KIND_TABLE, owned.logical_id.clone());
    let out = c
        .describe_route_tables()
        .route_table_ids(&owned.physical_id)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "DescribeRouteTables", &e));
    let Some(out) = none_if_aws_code(out, &["InvalidRouteTableID.NotFound"])? else {
        return Ok(());
    };
    let associations: Vec<String> = out
        .route_tables()
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| a.main() != Some(true))
        .filter_map(|a| a.route_table_association_id().map(str::to_string))
        .collect();
    for a in associations {
        let association = Association {
            logical: owned.logical_id.clone(),
            table_id: nothing(),
            subnet_id: nothing(),
        };
        association.delete(ctx, &observed(&a), guard).await?;
    }
    RouteTable {
        logical: owned.logical_id.clone(),
        vpc_id: nothing(),
    }
    .delete(ctx, &observed(&owned.physical_id), guard)
    .await
}
