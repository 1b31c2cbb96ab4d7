//! The network spec, its validation, the nodes it adds to a stack and the typed handle.

use std::collections::BTreeSet;
use std::marker::PhantomData;

use aws_sdk_ec2::types::TrafficType;
use serde::Serialize;
use skyforge_core::naming;
use skyforge_core::{Component, Error, Input, NodeId, Ref, Result, Stack};
use typed_builder::TypedBuilder;

use crate::cidr::Cidr;
use crate::flow_logs::{FlowLog, LogGroup, RETENTION_DAYS, flow_log_role};
use crate::gateway::{ElasticIp, GatewayAttachment, InternetGateway, NatGateway};
use crate::routing::{Association, Route, RouteTable, RouteTarget, S3Endpoint};
use crate::subnet::Subnet;
use crate::vpc::{AZ_KEYS, AvailabilityZones, Vpc};

/// What a subnet tier is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TierKind {
    /// Routed to the internet gateway: load balancers and NAT gateways.
    Public,
    /// Outbound internet through NAT: application tasks.
    Private,
    /// No route out of the VPC: databases and caches.
    Isolated,
}

impl TierKind {
    /// `public`, `private`, `isolated`.
    pub fn as_str(self) -> &'static str {
        match self {
            TierKind::Public => "public",
            TierKind::Private => "private",
            TierKind::Isolated => "isolated",
        }
    }
}

/// A subnet tier: one subnet per availability zone, all of one kind and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    name: String,
    kind: TierKind,
    prefix: u8,
    cidrs: Vec<String>,
    reserved: bool,
}

impl Tier {
    /// A tier of `kind` whose subnets have prefix length `prefix` (`/24` = 256 addresses).
    pub fn new(name: impl Into<String>, kind: TierKind, prefix: u8) -> Tier {
        Tier {
            name: name.into(),
            kind,
            prefix,
            cidrs: Vec::new(),
            reserved: false,
        }
    }
    /// A public tier.
    pub fn public(name: impl Into<String>, prefix: u8) -> Tier {
        Tier::new(name, TierKind::Public, prefix)
    }
    /// A private tier (egress through NAT).
    pub fn private(name: impl Into<String>, prefix: u8) -> Tier {
        Tier::new(name, TierKind::Private, prefix)
    }
    /// An isolated tier (no route out).
    pub fn isolated(name: impl Into<String>, prefix: u8) -> Tier {
        Tier::new(name, TierKind::Isolated, prefix)
    }
    /// Explicit CIDR blocks, one per availability zone, instead of automatic carving.
    pub fn cidrs<S: Into<String>>(mut self, cidrs: impl IntoIterator<Item = S>) -> Tier {
        self.cidrs = cidrs.into_iter().map(Into::into).collect();
        self
    }
    /// Keep the tier's address space but create nothing in it. Tiers are carved in order, so
    /// deleting a tier from the middle of the list would move every tier after it (and replace
    /// their subnets); marking it reserved deletes its subnets and keeps the others where they
    /// are. Removing the last tier needs no marker.
    pub fn reserved(mut self) -> Tier {
        self.reserved = true;
        self
    }
}

/// Which availability zones to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Azs {
    /// The first `n` available zones of the region (looked up when planning).
    Count(usize),
    /// These zones (`us-east-1a`, `us-east-1b`).
    Named(Vec<String>),
}

impl Azs {
    /// The first `n` zones.
    pub fn count(n: usize) -> Azs {
        Azs::Count(n)
    }
    /// Named zones.
    pub fn named<S: Into<String>>(names: impl IntoIterator<Item = S>) -> Azs {
        Azs::Named(names.into_iter().map(Into::into).collect())
    }
    fn len(&self) -> usize {
        match self {
            Azs::Count(n) => *n,
            Azs::Named(v) => v.len(),
        }
    }
}

/// NAT strategy for private tiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Nat {
    /// No NAT gateway (no private tiers allowed; use isolated tiers).
    None,
    /// One NAT gateway in the first zone, shared by all zones (staging: cheaper, one AZ of
    /// failure for egress).
    Single,
    /// One NAT gateway per zone, each zone's private subnets routed through their own (prod).
    PerAz,
}

/// Which traffic flow logs record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Traffic {
    /// Accepted and rejected.
    All,
    /// Accepted only.
    Accept,
    /// Rejected only.
    Reject,
}

/// VPC flow logs to CloudWatch Logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowLogs {
    /// What to record.
    pub traffic: Traffic,
    /// Log retention in days (one of CloudWatch's values).
    pub retention_days: u32,
}

impl FlowLogs {
    /// All traffic, kept 90 days.
    pub fn all() -> FlowLogs {
        FlowLogs {
            traffic: Traffic::All,
            retention_days: 90,
        }
    }
    /// Rejected traffic only, kept 90 days.
    pub fn rejected() -> FlowLogs {
        FlowLogs {
            traffic: Traffic::Reject,
            retention_days: 90,
        }
    }
    /// Change the retention.
    pub fn retention_days(mut self, days: u32) -> FlowLogs {
        self.retention_days = days;
        self
    }
}

/// A VPC across availability zones with subnet tiers, gateways and routes.
///
/// ```
/// use skyforge_network::{Azs, Nat, Network, Tier};
/// let net = Network::builder()
///     .cidr("10.0.0.0/16")
///     .azs(Azs::count(2))
///     .tiers(vec![Tier::public("public", 24), Tier::private("app", 20), Tier::isolated("data", 24)])
///     .nat(Nat::Single)
///     .build()
///     .unwrap();
/// assert_eq!(net.subnet_cidrs("app"), vec!["10.0.16.0/20", "10.0.32.0/20"]);
/// ```
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Network>))]
pub struct NetworkSpec {
    /// Logical id of the network (prefix of its resources' logical ids).
    #[builder(default = "main".into(), setter(into))]
    pub name: String,
    /// The VPC's IPv4 block, /16 to /28.
    #[builder(setter(into))]
    pub cidr: String,
    /// Availability zones.
    #[builder(default = Azs::Count(2))]
    pub azs: Azs,
    /// Subnet tiers, carved in order from the VPC block. Default: public /+8, private /+4,
    /// isolated /+8 relative to the VPC (for a /16: /24, /20, /24).
    #[builder(default, setter(strip_option))]
    pub tiers: Option<Vec<Tier>>,
    /// Zone slots each carved tier reserves (default: 4, or the zone count when larger). Zone
    /// `i` always gets slot `i`, so adding a zone up to this many never moves a subnet.
    #[builder(default, setter(strip_option))]
    pub zone_slots: Option<usize>,
    /// NAT strategy.
    #[builder(default = Nat::Single)]
    pub nat: Nat,
    /// DNS hostnames for instances (needed for interface endpoints and RDS public DNS).
    #[builder(default = true)]
    pub dns_hostnames: bool,
    /// The Amazon-provided DNS resolver.
    #[builder(default = true)]
    pub dns_support: bool,
    /// Flow logs to CloudWatch Logs.
    #[builder(default, setter(strip_option))]
    pub flow_logs: Option<FlowLogs>,
    /// A gateway endpoint for S3 on every route table (S3 traffic skips the NAT gateway).
    #[builder(default = false)]
    pub s3_endpoint: bool,
}

/// One block of the VPC taken by a tier: a subnet the network will create, or space it keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Carved {
    tier: String,
    kind: TierKind,
    index: usize,
    cidr: Cidr,
    /// Created (a zone in use of a tier not reserved), or only kept free.
    created: bool,
}

/// Default number of zone slots per tier.
pub const DEFAULT_ZONE_SLOTS: usize = 4;

/// A validated network, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Network {
    spec: NetworkSpec,
    vpc: Cidr,
    subnets: Vec<Carved>,
}

impl Network {
    /// Start a network.
    pub fn builder() -> NetworkSpecBuilder {
        NetworkSpec::builder()
    }

    /// The CIDR blocks of a tier's subnets, in zone order.
    pub fn subnet_cidrs(&self, tier: &str) -> Vec<String> {
        self.subnets
            .iter()
            .filter(|s| s.tier == tier)
            .map(|s| s.cidr.to_string())
            .collect()
    }

    /// The spec.
    pub fn spec(&self) -> &NetworkSpec {
        &self.spec
    }
}

fn parse_cidr(field: &str, s: &str) -> Result<Cidr> {
    s.parse::<Cidr>()
        .map_err(|e| Error::validation(field, s, e.to_string()))
}

/// The zone slots per tier: the spec's, or the default (at least the zone count).
fn zone_slots(spec: &NetworkSpec, zones: usize) -> Result<usize> {
    match spec.zone_slots {
        None => Ok(DEFAULT_ZONE_SLOTS.max(zones)),
        Some(s) if s < zones || s > AZ_KEYS.len() => Err(Error::validation(
            "network.zone_slots",
            s.to_string(),
            format!(
                "reserve at least one slot per zone ({zones}) and at most {}",
                AZ_KEYS.len()
            ),
        )),
        Some(s) => Ok(s),
    }
}

/// The blocks of tiers with explicit CIDRs, checked against the VPC and each other.
fn explicit_blocks(tiers: &[Tier], vpc: Cidr, zones: usize) -> Result<Vec<Carved>> {
    let mut carved: Vec<Carved> = Vec::new();
    for t in tiers {
        for (i, c) in t.cidrs.iter().enumerate() {
            let field = format!("network.tiers.{}.cidrs[{i}]", t.name);
            let block = parse_cidr(&field, c)?;
            if block.prefix() != t.prefix {
                return Err(Error::validation(
                    field,
                    c,
                    format!("the tier's subnets are /{}", t.prefix),
                ));
            }
            if !vpc.contains(&block) {
                return Err(Error::validation(
                    field,
                    c,
                    format!("outside the VPC block {vpc}"),
                ));
            }
            if let Some(o) = carved.iter().find(|o| o.cidr.overlaps(&block)) {
                return Err(Error::validation(
                    field,
                    c,
                    format!("overlaps {} of tier {}", o.cidr, o.tier),
                ));
            }
            carved.push(Carved {
                tier: t.name.clone(),
                kind: t.kind,
                index: i,
                cidr: block,
                created: !t.reserved && i < zones,
            });
        }
    }
    Ok(carved)
}

/// Carve every tier without explicit blocks, in order: `slots` aligned blocks each, around the
/// explicit ones. Zone `i` gets slot `i`; the other slots stay free for zones added later.
fn carve_tiers(
    tiers: &[Tier],
    vpc: Cidr,
    zones: usize,
    slots: usize,
    carved: &mut Vec<Carved>,
) -> Result<()> {
    let mut cursor = 0u64;
    for t in tiers.iter().filter(|t| t.cidrs.is_empty()) {
        for i in 0..slots {
            let block = loop {
                let Some((b, next)) = vpc.carve(cursor, t.prefix) else {
                    return Err(Error::validation(
                        format!("network.tiers.{}.prefix", t.name),
                        format!("/{}", t.prefix),
                        format!(
                            "the VPC block {vpc} has no room left for zone slot {} of {slots} in this tier (each tier keeps {slots} slots so that adding a zone moves nothing: lower network.zone_slots, use smaller subnets or give explicit cidrs)",
                            i + 1
                        ),
                    ));
                };
                cursor = next;
                if !carved.iter().any(|o| o.cidr.overlaps(&b)) {
                    break b;
                }
            };
            carved.push(Carved {
                tier: t.name.clone(),
                kind: t.kind,
                index: i,
                cidr: block,
                created: !t.reserved && i < zones,
            });
        }
    }
    Ok(())
}

fn default_tiers(vpc: Cidr) -> Vec<Tier> {
    let p = vpc.prefix();
    vec![
        Tier::public("public", (p + 8).min(28)),
        Tier::private("private", (p + 4).min(28)),
        Tier::isolated("isolated", (p + 8).min(28)),
    ]
}

impl From<NetworkSpec> for Result<Network> {
    fn from(spec: NetworkSpec) -> Self {
        naming::validate_logical_id("network.name", &spec.name)?;
        let vpc = parse_cidr("network.cidr", &spec.cidr)?;
        if !(16..=28).contains(&vpc.prefix()) {
            return Err(Error::validation(
                "network.cidr",
                &spec.cidr,
                "a VPC block must be /16 to /28",
            ));
        }
        let n = spec.azs.len();
        if !(1..=AZ_KEYS.len()).contains(&n) {
            return Err(Error::validation(
                "network.azs",
                n.to_string(),
                format!("use 1 to {} availability zones", AZ_KEYS.len()),
            ));
        }
        if let Azs::Named(names) = &spec.azs {
            let mut seen = BTreeSet::new();
            for a in names {
                if !seen.insert(a) {
                    return Err(Error::validation(
                        "network.azs",
                        a,
                        "each availability zone may appear once",
                    ));
                }
            }
        }
        let tiers = spec.tiers.clone().unwrap_or_else(|| default_tiers(vpc));
        if tiers.is_empty() {
            return Err(Error::validation(
                "network.tiers",
                "[]",
                "a network needs at least one subnet tier",
            ));
        }
        let mut names = BTreeSet::new();
        for t in &tiers {
            let field = format!("network.tiers.{}", t.name);
            naming::validate_logical_id(&field, &t.name)?;
            if !names.insert(t.name.clone()) {
                return Err(Error::validation(
                    field,
                    &t.name,
                    "tier names must be unique",
                ));
            }
            if !(16..=28).contains(&t.prefix) || t.prefix < vpc.prefix() {
                return Err(Error::validation(
                    format!("{field}.prefix"),
                    format!("/{}", t.prefix),
                    format!(
                        "a subnet must be /16 to /28 and no larger than the VPC ({})",
                        vpc
                    ),
                ));
            }
            if !t.cidrs.is_empty() && t.cidrs.len() != n {
                return Err(Error::validation(
                    format!("{field}.cidrs"),
                    t.cidrs.join(","),
                    format!("give one CIDR block per availability zone ({n})"),
                ));
            }
        }
        let live = |k: TierKind| tiers.iter().any(|t| t.kind == k && !t.reserved);
        let has_public = live(TierKind::Public);
        let has_private = live(TierKind::Private);
        if spec.nat != Nat::None && !has_public {
            return Err(Error::validation(
                "network.nat",
                format!("{:?}", spec.nat),
                "NAT gateways live in public subnets: add a public tier or use Nat::None",
            ));
        }
        if spec.nat == Nat::None && has_private {
            return Err(Error::validation(
                "network.nat",
                "None",
                "private tiers route out through NAT: choose Nat::Single or Nat::PerAz, or make the tier isolated",
            ));
        }
        if let Some(f) = spec.flow_logs
            && !RETENTION_DAYS.contains(&f.retention_days)
        {
            return Err(Error::validation(
                "network.flow_logs.retention_days",
                f.retention_days.to_string(),
                format!("CloudWatch Logs accepts {RETENTION_DAYS:?}"),
            ));
        }
        let slots = zone_slots(&spec, n)?;
        let mut carved = explicit_blocks(&tiers, vpc, n)?;
        carve_tiers(&tiers, vpc, n, slots, &mut carved)?;
        // Keep tier order, then zone order.
        let order: Vec<&str> = tiers.iter().map(|t| t.name.as_str()).collect();
        carved.retain(|c| c.created);
        carved.sort_by_key(|c| {
            (
                order
                    .iter()
                    .position(|t| *t == c.tier)
                    .unwrap_or(usize::MAX),
                c.index,
            )
        });
        let mut spec = spec;
        spec.tiers = Some(tiers);
        Ok(Network {
            spec,
            vpc,
            subnets: carved,
        })
    }
}

/// Marker of public subnets.
#[derive(Debug, Clone, Copy)]
pub struct Public;
/// Marker of private subnets (egress through NAT).
#[derive(Debug, Clone, Copy)]
pub struct Private;
/// Marker of isolated subnets.
#[derive(Debug, Clone, Copy)]
pub struct Isolated;

/// Subnet kinds that are not reachable from the internet: what databases and caches accept.
pub trait NotPublic {}
impl NotPublic for Private {}
impl NotPublic for Isolated {}

/// One subnet of the network.
#[derive(Debug, Clone)]
pub struct SubnetHandle {
    /// Tier name.
    pub tier: String,
    /// Tier kind.
    pub kind: TierKind,
    /// Zone index (0-based, in zone order).
    pub index: usize,
    /// The subnet id.
    pub id: Ref<String>,
    /// The zone name.
    pub az: Input<String>,
    /// The node.
    pub node: NodeId,
}

/// The subnets of one kind, typed by kind so that wrong wiring (a database in public subnets)
/// does not compile.
#[derive(Debug, Clone)]
pub struct Subnets<K> {
    subnets: Vec<SubnetHandle>,
    _kind: PhantomData<K>,
}

impl<K> Subnets<K> {
    /// The subnet ids, in zone order.
    pub fn ids(&self) -> Vec<Ref<String>> {
        self.subnets.iter().map(|s| s.id).collect()
    }
    /// The subnets.
    pub fn handles(&self) -> &[SubnetHandle] {
        &self.subnets
    }
    /// Number of subnets.
    pub fn len(&self) -> usize {
        self.subnets.len()
    }
    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.subnets.is_empty()
    }
}

/// What a network added to a stack hands back: typed references for other crates.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    name: String,
    vpc_id: Ref<String>,
    vpc_node: NodeId,
    subnets: Vec<SubnetHandle>,
    nat_ips: Vec<Ref<String>>,
    nat_ids: Vec<Ref<String>>,
    azs: Vec<Input<String>>,
}

impl NetworkHandle {
    /// The VPC id.
    pub fn vpc_id(&self) -> Ref<String> {
        self.vpc_id
    }
    /// The VPC node.
    pub fn vpc_node(&self) -> NodeId {
        self.vpc_node
    }
    /// Every subnet, in tier then zone order.
    pub fn all_subnets(&self) -> &[SubnetHandle] {
        &self.subnets
    }
    fn of<K>(&self, kind: TierKind) -> Subnets<K> {
        Subnets {
            subnets: self
                .subnets
                .iter()
                .filter(|s| s.kind == kind)
                .cloned()
                .collect(),
            _kind: PhantomData,
        }
    }
    /// The public subnets (all public tiers).
    pub fn public(&self) -> Subnets<Public> {
        self.of(TierKind::Public)
    }
    /// The private subnets (all private tiers).
    pub fn private(&self) -> Subnets<Private> {
        self.of(TierKind::Private)
    }
    /// The isolated subnets (all isolated tiers).
    pub fn isolated(&self) -> Subnets<Isolated> {
        self.of(TierKind::Isolated)
    }
    /// The subnets of one tier, by name.
    pub fn tier(&self, name: &str) -> Vec<SubnetHandle> {
        self.subnets
            .iter()
            .filter(|s| s.tier == name)
            .cloned()
            .collect()
    }
    /// The NAT gateways' public IPs (what third parties allow-list).
    pub fn nat_public_ips(&self) -> Vec<Ref<String>> {
        self.nat_ips.clone()
    }
    /// The NAT gateway ids.
    pub fn nat_gateway_ids(&self) -> Vec<Ref<String>> {
        self.nat_ids.clone()
    }
    /// The availability zones, in order.
    pub fn azs(&self) -> &[Input<String>] {
        &self.azs
    }
    /// Declare the network's ids as stack outputs: `<name>.vpc_id`,
    /// `<name>.subnet.<tier>.<n>`, `<name>.nat.<n>.public_ip`.
    pub fn export(&self, stack: &mut Stack) {
        let n = &self.name;
        stack.export(format!("{n}.vpc_id"), self.vpc_id);
        for s in &self.subnets {
            stack.export(format!("{n}.subnet.{}.{}", s.tier, s.index + 1), s.id);
        }
        for (i, ip) in self.nat_ips.iter().enumerate() {
            stack.export(format!("{n}.nat.{}.public_ip", i + 1), *ip);
        }
    }
}

impl Component for Network {
    type Handle = NetworkHandle;

    fn add_to(self, stack: &mut Stack) -> NetworkHandle {
        crate::owned::register_kinds(stack);
        let spec = &self.spec;
        let name = spec.name.clone();
        let n = spec.azs.len();
        let azs: Vec<Input<String>> = match &spec.azs {
            Azs::Count(c) => {
                let node = stack.add_resource(AvailabilityZones {
                    logical: name.clone(),
                    count: *c,
                });
                AZ_KEYS[..n]
                    .iter()
                    .map(|k| Input::Ref(Ref::new(node, k)))
                    .collect()
            }
            Azs::Named(v) => v.iter().cloned().map(Input::Value).collect(),
        };
        let vpc_node = stack.add_resource(Vpc {
            logical: name.clone(),
            cidr: self.vpc,
            dns_hostnames: spec.dns_hostnames,
            dns_support: spec.dns_support,
            azs: spec.azs.clone(),
            nat: spec.nat,
            flow_logs: spec.flow_logs.is_some(),
        });
        let vpc_id: Ref<String> = Ref::new(vpc_node, "vpc_id");
        let subnets: Vec<SubnetHandle> = self
            .subnets
            .iter()
            .map(|c| {
                let logical = format!("{name}-{}-{}", c.tier, c.index + 1);
                let node = stack.add_resource(Subnet {
                    logical,
                    vpc_id: vpc_id.into(),
                    cidr: c.cidr,
                    az: azs[c.index].clone(),
                    tier: c.tier.clone(),
                    kind: c.kind,
                    map_public_ip: false,
                });
                SubnetHandle {
                    tier: c.tier.clone(),
                    kind: c.kind,
                    index: c.index,
                    id: Ref::new(node, "subnet_id"),
                    az: azs[c.index].clone(),
                    node,
                }
            })
            .collect();
        let public: Vec<&SubnetHandle> = subnets
            .iter()
            .filter(|s| s.kind == TierKind::Public)
            .collect();
        let mut tables: Vec<Ref<String>> = Vec::new();
        let mut nat_ips = Vec::new();
        let mut nat_ids = Vec::new();
        if !public.is_empty() {
            let igw = stack.add_resource(InternetGateway {
                logical: name.clone(),
            });
            let igw_id: Ref<String> = Ref::new(igw, "internet_gateway_id");
            let attachment = stack.add_resource(GatewayAttachment {
                logical: name.clone(),
                igw_id: igw_id.into(),
                vpc_id: vpc_id.into(),
            });
            let table_logical = format!("{name}-public");
            let table = stack.add_resource(RouteTable {
                logical: table_logical.clone(),
                vpc_id: vpc_id.into(),
            });
            let table_id: Ref<String> = Ref::new(table, "route_table_id");
            tables.push(table_id);
            stack.add_resource(Route {
                logical: format!("{table_logical}-internet"),
                table_id: table_id.into(),
                destination: Cidr::ANY,
                target: RouteTarget::InternetGateway(igw_id.into()),
                after: vec![attachment],
            });
            for s in &public {
                stack.add_resource(Association {
                    logical: format!("{name}-{}-{}", s.tier, s.index + 1),
                    table_id: table_id.into(),
                    subnet_id: s.id.into(),
                });
            }
            // NAT gateways go in the first public tier's subnets.
            let first_tier = &public[0].tier;
            let hosts: Vec<&SubnetHandle> = public
                .iter()
                .filter(|s| &s.tier == first_tier)
                .copied()
                .collect();
            let count = match spec.nat {
                Nat::None => 0,
                Nat::Single => 1,
                Nat::PerAz => n,
            };
            for (i, host) in hosts.iter().take(count).enumerate() {
                let logical = format!("{name}-nat-{}", i + 1);
                let eip = stack.add_resource(ElasticIp {
                    logical: logical.clone(),
                });
                let nat = stack.add_resource(NatGateway {
                    logical,
                    subnet_id: host.id.into(),
                    allocation_id: Ref::new(eip, "allocation_id").into(),
                    attachment: Some(attachment),
                });
                nat_ids.push(Ref::new(nat, "nat_gateway_id"));
                nat_ips.push(Ref::new(nat, "public_ip"));
            }
        }
        let private: Vec<&SubnetHandle> = subnets
            .iter()
            .filter(|s| s.kind == TierKind::Private)
            .collect();
        if !private.is_empty() {
            // One table per NAT gateway: zone i's private subnets use NAT i (or the single one).
            for (k, nat) in nat_ids.iter().enumerate() {
                let logical = if nat_ids.len() == 1 {
                    format!("{name}-private")
                } else {
                    format!("{name}-private-{}", k + 1)
                };
                let table = stack.add_resource(RouteTable {
                    logical: logical.clone(),
                    vpc_id: vpc_id.into(),
                });
                let table_id: Ref<String> = Ref::new(table, "route_table_id");
                tables.push(table_id);
                stack.add_resource(Route {
                    logical: format!("{logical}-nat"),
                    table_id: table_id.into(),
                    destination: Cidr::ANY,
                    target: RouteTarget::NatGateway((*nat).into()),
                    after: Vec::new(),
                });
                for s in private
                    .iter()
                    .filter(|s| nat_ids.len() == 1 || s.index == k)
                {
                    stack.add_resource(Association {
                        logical: format!("{name}-{}-{}", s.tier, s.index + 1),
                        table_id: table_id.into(),
                        subnet_id: s.id.into(),
                    });
                }
            }
        }
        let isolated: Vec<&SubnetHandle> = subnets
            .iter()
            .filter(|s| s.kind == TierKind::Isolated)
            .collect();
        if !isolated.is_empty() {
            let table = stack.add_resource(RouteTable {
                logical: format!("{name}-isolated"),
                vpc_id: vpc_id.into(),
            });
            let table_id: Ref<String> = Ref::new(table, "route_table_id");
            tables.push(table_id);
            for s in &isolated {
                stack.add_resource(Association {
                    logical: format!("{name}-{}-{}", s.tier, s.index + 1),
                    table_id: table_id.into(),
                    subnet_id: s.id.into(),
                });
            }
        }
        if spec.s3_endpoint {
            stack.add_resource(S3Endpoint {
                logical: format!("{name}-s3"),
                vpc_id: vpc_id.into(),
                tables: tables.iter().map(|t| (*t).into()).collect(),
            });
        }
        if let Some(f) = spec.flow_logs {
            let logical = format!("{name}-flow-logs");
            let group = stack.add_resource(LogGroup {
                logical: logical.clone(),
                retention_days: f.retention_days,
            });
            let role = stack.add(
                flow_log_role(stack.env(), &logical)
                    .expect("a validated network makes a valid flow-log role"),
            );
            stack.add_resource(FlowLog {
                logical: name.clone(),
                vpc_id: vpc_id.into(),
                log_group: Ref::new(group, "log_group_name").into(),
                role_arn: role.arn().into(),
                traffic: match f.traffic {
                    Traffic::All => TrafficType::All,
                    Traffic::Accept => TrafficType::Accept,
                    Traffic::Reject => TrafficType::Reject,
                },
            });
        }
        NetworkHandle {
            name,
            vpc_id,
            vpc_node,
            subnets,
            nat_ips,
            nat_ids,
            azs,
        }
    }
}
