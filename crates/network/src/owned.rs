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
use skyforge_core::Permissions;
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
    tags::owned_logical_id(&ec2::from_ec2(t), ctx.env())
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

    /// The kind's resources carrying the stack's tags: the plan's shared listing of the kind
    /// ([`ec2::stack_subnets`] and its siblings), which its nodes' observation reads too.
    async fn list_tagged(&self, ctx: &Context) -> Result<Vec<Owned>> {
        fn pairs<T>(
            ctx: &Context,
            all: &[T],
            tags: impl Fn(&T) -> &[Tag],
            id: impl Fn(&T) -> Option<&str>,
        ) -> Vec<(Option<String>, String)> {
            all.iter()
                .map(|v| (owned_logical(ctx, tags(v)), id(v).unwrap_or("").to_string()))
                .collect()
        }
        use aws_sdk_ec2::types::{NatGatewayState as N, State as E};
        let pairs: Vec<(Option<String>, String)> = match self.0 {
            KIND_VPC => pairs(
                ctx,
                &ec2::stack_vpcs(ctx).await?,
                |v| v.tags(),
                |v| v.vpc_id(),
            ),
            KIND_SUBNET => pairs(
                ctx,
                &ec2::stack_subnets(ctx).await?,
                |v| v.tags(),
                |v| v.subnet_id(),
            ),
            KIND_IGW => pairs(
                ctx,
                &ec2::stack_gateways(ctx).await?,
                |v| v.tags(),
                |v| v.internet_gateway_id(),
            ),
            KIND_EIP => pairs(
                ctx,
                &ec2::stack_addresses(ctx).await?,
                |v| v.tags(),
                |v| v.allocation_id(),
            ),
            KIND_NAT => {
                let all = ec2::stack_nats(ctx).await?;
                let live: Vec<_> = all
                    .iter()
                    .filter(|v| !matches!(v.state(), Some(N::Deleted | N::Deleting)))
                    .cloned()
                    .collect();
                pairs(ctx, &live, |v| v.tags(), |v| v.nat_gateway_id())
            }
            KIND_TABLE => pairs(
                ctx,
                &ec2::stack_tables(ctx).await?,
                |v| v.tags(),
                |v| v.route_table_id(),
            ),
            KIND_ENDPOINT => {
                let all = ec2::stack_endpoints(ctx).await?;
                let live: Vec<_> = all
                    .iter()
                    .filter(|v| !matches!(v.state(), Some(E::Deleted | E::Deleting)))
                    .cloned()
                    .collect();
                pairs(ctx, &live, |v| v.tags(), |v| v.vpc_endpoint_id())
            }
            KIND_GROUP => pairs(
                ctx,
                &ec2::stack_groups(ctx).await?,
                |v| v.tags(),
                |v| v.group_id(),
            ),
            KIND_FLOW_LOG => pairs(
                ctx,
                &ec2::stack_flow_logs(ctx).await?,
                |v| v.tags(),
                |v| v.flow_log_id(),
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
        let rules = ec2::stack_rules(ctx).await?;
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
        let tables = ec2::stack_tables(ctx).await?;
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
        for t in tables.iter() {
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
        let gws = ec2::stack_gateways(ctx).await?;
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
    fn permissions(&self) -> Option<Permissions> {
        // Listing is the kind's observation, deletion its node's.
        let p = match self.0 {
            KIND_VPC => crate::vpc::VPC_PERMISSIONS,
            KIND_SUBNET => crate::subnet::SUBNET_PERMISSIONS,
            KIND_IGW => crate::gateway::IGW_PERMISSIONS,
            KIND_ATTACH => crate::gateway::ATTACH_PERMISSIONS,
            KIND_EIP => crate::gateway::EIP_PERMISSIONS,
            KIND_NAT => crate::gateway::NAT_PERMISSIONS,
            KIND_TABLE => crate::routing::TABLE_PERMISSIONS,
            KIND_ROUTE => crate::routing::ROUTE_PERMISSIONS,
            KIND_ASSOC => crate::routing::ASSOC_PERMISSIONS,
            KIND_ENDPOINT => crate::routing::ENDPOINT_PERMISSIONS,
            KIND_GROUP => crate::security::GROUP_PERMISSIONS,
            KIND_RULE => crate::rule::RULE_PERMISSIONS,
            KIND_FLOW_LOG => crate::flow_logs::FLOW_LOG_PERMISSIONS,
            _ => return None,
        };
        Some(p.for_orphans())
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
            KIND_RULE => crate::rule::revoke_rule(ctx, guard, &self.rid(owned), owned).await,
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
        .map_err(|e| Error::aws(&rid, "DescribeInternetGateways", e));
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
        .map_err(|e| Error::aws(&rid, "DescribeRouteTables", e));
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
