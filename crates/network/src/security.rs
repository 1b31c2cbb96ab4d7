//! Security groups and their rules, as typed values.
//!
//! A group is one node; each rule is a node of its own that depends on the group it belongs to
//! and on the group it references, so groups referencing each other never form a cycle. Rules
//! carry ownership tags; any other rule found on a group (added by hand) shows up as drift of
//! the group and is revoked by the next apply.

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, UserIdGroupPair,
};
use serde::Serialize;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags;
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId,
    Observed, Ref, ReplaceOrder, Resource, ResourceId, Result, Stack, Value,
};
use typed_builder::TypedBuilder;

use crate::cidr::Cidr;
use crate::ec2;
use crate::rule::RuleNode;
use crate::subnet::resolve;

/// Resource kind `security_group`.
pub const KIND_GROUP: &str = "security_group";
/// Resource kind `security_group_rule`.
pub const KIND_RULE: &str = "security_group_rule";

/// Ports open to the internet without a warning: the public listener ports.
pub const DEFAULT_PUBLIC_PORTS: [u16; 2] = [80, 443];

/// IP protocol of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// TCP (ports).
    Tcp,
    /// UDP (ports).
    Udp,
    /// ICMP (type and code, -1 for any).
    Icmp,
    /// Every protocol and port.
    All,
}

impl Protocol {
    pub(crate) fn api(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::All => "-1",
        }
    }
    pub(crate) fn slug(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Icmp => "icmp",
            Protocol::All => "all",
        }
    }
}

/// Traffic direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Inbound.
    Ingress,
    /// Outbound.
    Egress,
}

/// The other side of a rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Peer {
    /// An IPv4 or IPv6 CIDR block (`0.0.0.0/0`, `10.0.0.0/16`, `::/0`).
    Cidr(String),
    /// Another security group, by handle.
    Group {
        /// Its logical id (for naming the rule).
        logical: String,
        /// Its id.
        id: Input<String>,
    },
    /// The rule's own group.
    SelfGroup,
    /// A managed prefix list (`pl-63a5400a`, the S3 prefix list).
    PrefixList(String),
}

impl Peer {
    /// `0.0.0.0/0`.
    pub fn any_ipv4() -> Peer {
        Peer::Cidr("0.0.0.0/0".into())
    }
    /// `::/0`.
    pub fn any_ipv6() -> Peer {
        Peer::Cidr("::/0".into())
    }
    /// A CIDR block.
    pub fn cidr(c: impl Into<String>) -> Peer {
        Peer::Cidr(c.into())
    }
    /// A prefix list.
    pub fn prefix_list(id: impl Into<String>) -> Peer {
        Peer::PrefixList(id.into())
    }
    pub(crate) fn is_internet(&self) -> bool {
        matches!(self, Peer::Cidr(c) if c == "0.0.0.0/0" || c == "::/0")
    }
    pub(crate) fn slug(&self) -> String {
        match self {
            Peer::Cidr(c) if c == "0.0.0.0/0" => "internet".into(),
            Peer::Cidr(c) if c == "::/0" => "internet6".into(),
            Peer::Cidr(c) => c
                .replace(['.', '/', ':'], "-")
                .trim_matches('-')
                .replace("--", "-"),
            Peer::Group { logical, .. } => logical.clone(),
            Peer::SelfGroup => "self".into(),
            Peer::PrefixList(p) => p.to_ascii_lowercase(),
        }
    }
    pub(crate) fn plan_value(&self, inputs: &Inputs, own: &Input<String>) -> Value {
        let known = |i: &Input<String>, prefix: &str| match i.resolve(inputs) {
            Some(id) => Value::str(format!("{prefix}{id}")),
            None => Value::Unknown,
        };
        match self {
            Peer::Cidr(c) => Value::str(format!("cidr:{c}")),
            Peer::PrefixList(p) => Value::str(format!("prefix-list:{p}")),
            Peer::Group { id, .. } => known(id, "group:"),
            Peer::SelfGroup => known(own, "group:"),
        }
    }
    pub(crate) fn dependency(&self) -> Option<NodeId> {
        match self {
            Peer::Group { id, .. } => id.dependency(),
            _ => None,
        }
    }
}

impl From<&GroupHandle> for Peer {
    fn from(g: &GroupHandle) -> Peer {
        Peer::Group {
            logical: g.logical.clone(),
            id: Input::Ref(g.id),
        }
    }
}

/// One rule: protocol, ports, peer, direction and description.
///
/// ```
/// use skyforge_network::{Peer, Rule};
/// let https = Rule::tcp(443).from(Peer::any_ipv4()).describe("HTTPS from the internet");
/// let out = Rule::all_traffic().to(Peer::any_ipv4()).describe("Outbound");
/// # let _ = (https, out);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) protocol: Protocol,
    pub(crate) from_port: i32,
    pub(crate) to_port: i32,
    pub(crate) peer: Option<Peer>,
    pub(crate) direction: Direction,
    pub(crate) description: String,
}

impl Rule {
    /// Any protocol, with explicit ports (for ICMP: type and code). Prefer the shorthands.
    pub fn custom(protocol: Protocol, from_port: i32, to_port: i32) -> Rule {
        Rule {
            protocol,
            from_port,
            to_port,
            peer: None,
            direction: Direction::Ingress,
            description: String::new(),
        }
    }
    /// One TCP port.
    pub fn tcp(port: u16) -> Rule {
        Rule::custom(Protocol::Tcp, port.into(), port.into())
    }
    /// A TCP port range.
    pub fn tcp_range(from: u16, to: u16) -> Rule {
        Rule::custom(Protocol::Tcp, from.into(), to.into())
    }
    /// One UDP port.
    pub fn udp(port: u16) -> Rule {
        Rule::custom(Protocol::Udp, port.into(), port.into())
    }
    /// ICMP of a type and code (-1 for any).
    pub fn icmp(icmp_type: i32, code: i32) -> Rule {
        Rule::custom(Protocol::Icmp, icmp_type, code)
    }
    /// All traffic.
    pub fn all_traffic() -> Rule {
        Rule::custom(Protocol::All, -1, -1)
    }
    /// Inbound from `peer`.
    pub fn from(mut self, peer: impl Into<Peer>) -> Rule {
        self.peer = Some(peer.into());
        self.direction = Direction::Ingress;
        self
    }
    /// Outbound to `peer`.
    pub fn to(mut self, peer: impl Into<Peer>) -> Rule {
        self.peer = Some(peer.into());
        self.direction = Direction::Egress;
        self
    }
    /// The rule's description (shown in the console; required).
    pub fn describe(mut self, description: impl Into<String>) -> Rule {
        self.description = description.into();
        self
    }

    pub(crate) fn ports(&self) -> String {
        match self.protocol {
            Protocol::All => "all".into(),
            _ if self.from_port == self.to_port => self.from_port.to_string(),
            _ => format!("{}-{}", self.from_port, self.to_port),
        }
    }

    /// Identity of the rule within its group (protocol, ports, peer, direction).
    pub(crate) fn key(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            match self.direction {
                Direction::Ingress => "in",
                Direction::Egress => "out",
            },
            self.protocol.slug(),
            self.ports().replace("-1", "any"),
            self.peer.as_ref().map(Peer::slug).unwrap_or_default()
        )
    }

    fn logical_id(&self, group: &str) -> String {
        let full = format!("{group}-{}", self.key()).replace("--", "-");
        if full.len() <= 64 {
            return full;
        }
        let hash = naming::short_hash(&[&full]);
        let mut head: String = full.chars().take(64 - 9).collect();
        while head.ends_with('-') {
            head.pop();
        }
        format!("{head}-{hash}")
    }

    /// Check the rule; `field` names it in errors.
    pub(crate) fn validate(&self, field: &str) -> Result<()> {
        let ports = format!("{}..{}", self.from_port, self.to_port);
        match self.protocol {
            Protocol::Tcp | Protocol::Udp => {
                if !(1..=65535).contains(&self.from_port) || !(1..=65535).contains(&self.to_port) {
                    return Err(Error::validation(
                        format!("{field}.ports"),
                        ports,
                        "TCP and UDP ports must be 1 to 65535",
                    ));
                }
                if self.from_port > self.to_port {
                    return Err(Error::validation(
                        format!("{field}.ports"),
                        ports,
                        "the range's first port is above its last",
                    ));
                }
            }
            Protocol::Icmp => {
                if !(-1..=255).contains(&self.from_port) || !(-1..=255).contains(&self.to_port) {
                    return Err(Error::validation(
                        format!("{field}.icmp"),
                        ports,
                        "ICMP type and code must be -1 (any) or 0 to 255",
                    ));
                }
            }
            Protocol::All => {
                if self.from_port != -1 || self.to_port != -1 {
                    return Err(Error::validation(
                        format!("{field}.ports"),
                        ports,
                        "a rule for all protocols covers all ports; ports cannot be restricted",
                    ));
                }
            }
        }
        let peer = self.peer.as_ref().ok_or_else(|| {
            Error::validation(
                format!("{field}.peer"),
                "(none)",
                "a rule needs a peer: call .from(..) for ingress or .to(..) for egress",
            )
        })?;
        match peer {
            Peer::Cidr(c) if c.contains(':') => {
                if !crate::cidr::is_ipv6_block(c) {
                    return Err(Error::validation(
                        format!("{field}.peer"),
                        c,
                        "not an IPv6 CIDR block",
                    ));
                }
            }
            Peer::Cidr(c) => {
                c.parse::<Cidr>()
                    .map_err(|e| Error::validation(format!("{field}.peer"), c, e.to_string()))?;
            }
            Peer::PrefixList(p) => {
                let ok = p
                    .strip_prefix("pl-")
                    .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()));
                if !ok {
                    return Err(Error::validation(
                        format!("{field}.peer"),
                        p,
                        "a prefix list id looks like pl-63a5400a",
                    ));
                }
            }
            Peer::Group { .. } | Peer::SelfGroup => {}
        }
        validate_description(&format!("{field}.description"), &self.description, true)
    }

    pub(crate) fn permission(&self, own_group: &str, peer_group: Option<&str>) -> IpPermission {
        let mut p = IpPermission::builder().ip_protocol(self.protocol.api());
        if self.protocol != Protocol::All {
            p = p.from_port(self.from_port).to_port(self.to_port);
        }
        let d = self.description.clone();
        match self.peer.as_ref() {
            Some(Peer::Cidr(c)) if c.contains(':') => {
                p = p.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(c).description(d).build())
            }
            Some(Peer::Cidr(c)) => {
                p = p.ip_ranges(IpRange::builder().cidr_ip(c).description(d).build())
            }
            Some(Peer::PrefixList(pl)) => {
                p = p.prefix_list_ids(
                    PrefixListId::builder()
                        .prefix_list_id(pl)
                        .description(d)
                        .build(),
                )
            }
            Some(Peer::Group { .. }) | Some(Peer::SelfGroup) => {
                p = p.user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .group_id(peer_group.unwrap_or(own_group))
                        .description(d)
                        .build(),
                )
            }
            None => {}
        }
        p.build()
    }
}

fn validate_description(field: &str, d: &str, required: bool) -> Result<()> {
    if required && d.trim().is_empty() {
        return Err(Error::validation(
            field,
            d,
            "a description is required (it is what the console shows reviewers)",
        ));
    }
    // EC2's allowed characters for group and rule descriptions.
    let allowed = |c: char| c.is_ascii_alphanumeric() || " ._-:/()#,@[]+=&;{}!$*".contains(c);
    if d.len() > 255 || !d.chars().all(allowed) {
        return Err(Error::validation(
            field,
            d,
            "at most 255 characters of a-z A-Z 0-9 space and ._-:/()#,@[]+=&;{}!$*",
        ));
    }
    Ok(())
}

/// A security group with its rules.
///
/// By default it allows all outbound traffic (like a new EC2 group, and CDK's default) and no
/// inbound traffic. Ingress from `0.0.0.0/0` or `::/0` on a port outside
/// [`public_ports`](SecurityGroupSpec::public_ports) is allowed but shows as a plan warning.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<SecurityGroup>))]
pub struct SecurityGroupSpec {
    /// The VPC (`net.vpc_id()`).
    #[builder(setter(into))]
    pub vpc: Input<String>,
    /// Logical id (`alb`, `app`, `db`).
    #[builder(setter(into))]
    pub name: String,
    /// What the group is for (required; cannot change without replacing the group).
    #[builder(setter(into))]
    pub description: String,
    /// Inbound rules.
    #[builder(default)]
    pub ingress: Vec<Rule>,
    /// Outbound rules (besides the allow-all rule when `allow_all_outbound`).
    #[builder(default)]
    pub egress: Vec<Rule>,
    /// Keep EC2's default allow-all outbound rule.
    #[builder(default = true)]
    pub allow_all_outbound: bool,
    /// Ports that may be open to the internet without a warning.
    #[builder(default = DEFAULT_PUBLIC_PORTS.to_vec())]
    pub public_ports: Vec<u16>,
}

/// A validated security group, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct SecurityGroup {
    spec: SecurityGroupSpec,
}

impl SecurityGroup {
    /// Start a group.
    pub fn builder() -> SecurityGroupSpecBuilder {
        SecurityGroupSpec::builder()
    }
    /// The validated spec.
    pub fn spec(&self) -> &SecurityGroupSpec {
        &self.spec
    }
}

fn check_rules(group: &str, rules: &[(&str, &Rule)]) -> Result<()> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (field, r) in rules {
        r.validate(field)?;
        let key = r.key();
        if let Some((first, _)) = seen.iter().find(|(_, k)| *k == key) {
            return Err(Error::validation(
                *field,
                key,
                format!("duplicates {first} of security group {group}"),
            ));
        }
        seen.push((field.to_string(), key));
    }
    Ok(())
}

impl From<SecurityGroupSpec> for Result<SecurityGroup> {
    fn from(spec: SecurityGroupSpec) -> Self {
        let g = &spec.name;
        naming::validate_logical_id("security_group.name", g)?;
        validate_description("security_group.description", &spec.description, true)?;
        let fields: Vec<(String, &Rule)> = spec
            .ingress
            .iter()
            .enumerate()
            .map(|(i, r)| (format!("security_group.{g}.ingress[{i}]"), r))
            .chain(
                spec.egress
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (format!("security_group.{g}.egress[{i}]"), r)),
            )
            .collect();
        for (f, r) in &fields {
            let expected = if f.contains(".ingress[") {
                Direction::Ingress
            } else {
                Direction::Egress
            };
            if r.direction != expected {
                return Err(Error::validation(
                    f.as_str(),
                    r.key(),
                    "an ingress rule takes .from(peer), an egress rule .to(peer)",
                ));
            }
        }
        if spec.allow_all_outbound
            && let Some((f, _)) = fields.iter().find(|(_, r)| {
                r.direction == Direction::Egress
                    && r.protocol == Protocol::All
                    && r.peer == Some(Peer::any_ipv4())
            })
        {
            return Err(Error::validation(
                f.as_str(),
                "all traffic to 0.0.0.0/0",
                "duplicates the allow-all outbound rule kept by allow_all_outbound(true)",
            ));
        }
        let refs: Vec<(&str, &Rule)> = fields.iter().map(|(f, r)| (f.as_str(), *r)).collect();
        check_rules(g, &refs)?;
        Ok(SecurityGroup { spec })
    }
}

/// The handle of a group in a stack: its id for other resources (RDS, ElastiCache, ECS, ALB)
/// and for rules of other groups.
#[derive(Debug, Clone)]
pub struct GroupHandle {
    logical: String,
    id: Ref<String>,
    node: NodeId,
    public_ports: Vec<u16>,
}

impl GroupHandle {
    /// The group id (`sg-...`).
    pub fn id(&self) -> Ref<String> {
        self.id
    }
    /// The group node.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical
    }
    /// More rules for this group, added after other groups exist (for rules referencing groups
    /// created later): `stack.add(app.rules(vec![Rule::tcp(5432).to(&db)]))`.
    pub fn rules(&self, rules: Vec<Rule>) -> ExtraRules {
        ExtraRules {
            group: self.clone(),
            rules,
        }
    }
}

/// Rules added to an existing group handle; see [`GroupHandle::rules`].
#[derive(Debug, Clone)]
pub struct ExtraRules {
    group: GroupHandle,
    rules: Vec<Rule>,
}

impl Component for ExtraRules {
    type Handle = Vec<NodeId>;
    fn add_to(self, stack: &mut Stack) -> Vec<NodeId> {
        self.rules
            .into_iter()
            .map(|r| stack.add_resource(rule_node(&self.group, r)))
            .collect()
    }
}

fn rule_node(g: &GroupHandle, rule: Rule) -> RuleNode {
    RuleNode {
        logical: rule.logical_id(&g.logical),
        group_logical: g.logical.clone(),
        group_id: Input::Ref(g.id),
        public_ports: g.public_ports.clone(),
        rule,
    }
}

impl Component for SecurityGroup {
    type Handle = GroupHandle;
    fn add_to(self, stack: &mut Stack) -> GroupHandle {
        crate::owned::register_kinds(stack);
        let s = self.spec;
        let node = stack.add_resource(GroupNode {
            logical: s.name.clone(),
            vpc_id: s.vpc.clone(),
            description: s.description.clone(),
            allow_all_outbound: s.allow_all_outbound,
        });
        let handle = GroupHandle {
            logical: s.name,
            id: Ref::new(node, "group_id"),
            node,
            public_ports: s.public_ports,
        };
        for r in s.ingress.into_iter().chain(s.egress) {
            stack.add_resource(rule_node(&handle, r));
        }
        handle
    }
}

/// The group node.
pub(crate) struct GroupNode {
    pub(crate) logical: String,
    pub(crate) vpc_id: Input<String>,
    pub(crate) description: String,
    pub(crate) allow_all_outbound: bool,
}

fn is_default_egress(r: &aws_sdk_ec2::types::SecurityGroupRule) -> bool {
    r.is_egress() == Some(true)
        && r.ip_protocol() == Some("-1")
        && r.cidr_ipv4() == Some("0.0.0.0/0")
}

fn describe_rule(r: &aws_sdk_ec2::types::SecurityGroupRule) -> String {
    let dir = if r.is_egress() == Some(true) {
        "egress to"
    } else {
        "ingress from"
    };
    let proto = match r.ip_protocol() {
        Some("-1") | None => "all".to_string(),
        Some(p) => format!(
            "{p} {}",
            if r.from_port() == r.to_port() {
                r.from_port().unwrap_or(-1).to_string()
            } else {
                format!(
                    "{}-{}",
                    r.from_port().unwrap_or(-1),
                    r.to_port().unwrap_or(-1)
                )
            }
        ),
    };
    let peer = r
        .cidr_ipv4()
        .or(r.cidr_ipv6())
        .or(r.prefix_list_id())
        .or(r.referenced_group_info().and_then(|g| g.group_id()))
        .unwrap_or("?");
    format!(
        "{} {dir} {peer} {proto}",
        r.security_group_rule_id().unwrap_or("?")
    )
}

impl GroupNode {
    /// The group's name: the stack's name for it and a digest of its description, so that the
    /// replacement of a group (a new description) can be created beside the old one.
    fn group_name(&self, env: &Environment) -> Result<String> {
        let base = naming::physical_name(env, NameKind::SecurityGroup, &self.logical)?;
        Ok(format!(
            "{base}-{}",
            naming::short_hash(&[&self.description])
        ))
    }

    /// Every rule of the group (from one listing of all the stack's groups' rules).
    async fn rules(
        &self,
        ctx: &Context,
        group_id: &str,
    ) -> Result<Vec<aws_sdk_ec2::types::SecurityGroupRule>> {
        Ok(rules_of_group(&ec2::stack_rules(ctx).await?, group_id))
    }

    async fn authorize_default_egress(
        &self,
        ec2: &aws_sdk_ec2::Client,
        guard: &Guard,
        group_id: &str,
    ) -> Result<()> {
        guard
            .call("AuthorizeSecurityGroupEgress", async {
                ec2.authorize_security_group_egress()
                    .group_id(group_id)
                    .ip_permissions(
                        IpPermission::builder()
                            .ip_protocol("-1")
                            .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                            .build(),
                    )
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(self.id(), "AuthorizeSecurityGroupEgress", e))
            })
            .await
    }

    async fn revoke(
        &self,
        ec2: &aws_sdk_ec2::Client,
        guard: &Guard,
        group_id: &str,
        ingress: Vec<String>,
        egress: Vec<String>,
    ) -> Result<()> {
        if !ingress.is_empty() {
            guard
                .call("RevokeSecurityGroupIngress", async {
                    ec2.revoke_security_group_ingress()
                        .group_id(group_id)
                        .set_security_group_rule_ids(Some(ingress))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(self.id(), "RevokeSecurityGroupIngress", e))
                })
                .await?;
        }
        if !egress.is_empty() {
            guard
                .call("RevokeSecurityGroupEgress", async {
                    ec2.revoke_security_group_egress()
                        .group_id(group_id)
                        .set_security_group_rule_ids(Some(egress))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(self.id(), "RevokeSecurityGroupEgress", e))
                })
                .await?;
        }
        Ok(())
    }

    /// Revoke every rule that is neither tagged by this stack nor the kept default egress;
    /// restore the default egress if it should be there and is not.
    async fn converge_rules(&self, ctx: &Context, guard: &Guard, group_id: &str) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let rules = self.rules(ctx, group_id).await?;
        let (mut ingress, mut egress) = (Vec::new(), Vec::new());
        let mut has_default = false;
        for r in &rules {
            let owned = tags::is_owned_by(&ec2::from_ec2(r.tags()), ctx.env());
            if owned {
                continue;
            }
            if is_default_egress(r) && self.allow_all_outbound {
                has_default = true;
                continue;
            }
            let id = r.security_group_rule_id().unwrap_or_default().to_string();
            if r.is_egress() == Some(true) {
                egress.push(id);
            } else {
                ingress.push(id);
            }
        }
        self.revoke(&ec2, guard, group_id, ingress, egress).await?;
        if self.allow_all_outbound && !has_default {
            self.authorize_default_egress(&ec2, guard, group_id).await?;
        }
        Ok(())
    }
}

/// The calls of a security group: its default egress rule is revoked at creation, rules added by hand are revoked as drift.
pub(crate) const GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
    ],
    create: &[
        "ec2:CreateSecurityGroup",
        "ec2:CreateTags",
        "ec2:RevokeSecurityGroupEgress",
    ],
    update: &[
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ],
    delete: &["ec2:DeleteSecurityGroup", "ec2:DescribeNetworkInterfaces"],
};

#[async_trait]
impl Resource for GroupNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(GROUP_PERMISSIONS)
    }
    crate::node_identity!(KIND_GROUP, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        self.vpc_id.dependency().into_iter().collect()
    }
    fn replace_order(&self) -> ReplaceOrder {
        ReplaceOrder::CreateBeforeDestroy
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        let name = self.group_name(env)?;
        if !naming::is_valid(NameKind::SecurityGroup, &name) {
            return Err(Error::validation(
                "security_group.name",
                name,
                "security group names are at most 255 characters and cannot start with sg-",
            ));
        }
        Ok(())
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        // Not compared: groups named before 0.2 (without the digest) keep their names.
        f.insert(
            "group_name".into(),
            Field::new(Value::str(self.group_name(env).unwrap_or_default())).ignore_drift(),
        );
        f.insert(
            "description".into(),
            Field::new(Value::str(&self.description)).force_new(),
        );
        f.insert(
            "allow_all_outbound".into(),
            Field::new(Value::of(self.allow_all_outbound)),
        );
        f.insert(
            "unmanaged_rules".into(),
            Field::new(Value::of(Vec::<String>::new())),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_groups(ctx).await?;
        let mut found = ec2::with_logical(&all, &self.logical, |g| g.tags());
        if found.len() > 1 {
            // A replacement was created beside the old group: the current one has the name
            // derived from the spec's description.
            let name = self.group_name(ctx.env())?;
            found.retain(|g| g.group_name() == Some(name.as_str()));
        }
        let Some(g) = ec2::single(&self.id(), found, |g| {
            g.group_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = g.group_id().unwrap_or_default().to_string();
        let rules = self.rules(ctx, &id).await?;
        let mut has_default = false;
        let mut unmanaged = Vec::new();
        for r in &rules {
            if tags::is_owned_by(&ec2::from_ec2(r.tags()), ctx.env()) {
                continue;
            }
            if is_default_egress(r) {
                has_default = true;
                if self.allow_all_outbound {
                    continue;
                }
            }
            unmanaged.push(describe_rule(r));
        }
        unmanaged.sort();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields
            .insert("vpc_id".into(), Value::str(g.vpc_id().unwrap_or_default()));
        o.fields.insert(
            "group_name".into(),
            Value::str(g.group_name().unwrap_or_default()),
        );
        o.fields.insert(
            "description".into(),
            Value::str(g.description().unwrap_or_default()),
        );
        o.fields
            .insert("allow_all_outbound".into(), Value::of(has_default));
        o.fields
            .insert("unmanaged_rules".into(), Value::of(unmanaged));
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, g.tags()),
        );
        o.outputs.insert("group_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = resolve(&self.vpc_id, inputs, &rid)?;
        let name = self.group_name(ctx.env())?;
        let ec2 = ec2::client(ctx);
        let created = guard
            .call("CreateSecurityGroup", async {
                ec2.create_security_group()
                    .group_name(&name)
                    .description(&self.description)
                    .vpc_id(&vpc)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::SecurityGroup,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateSecurityGroup", e))
            })
            .await;
        let id = match created {
            Ok(o) => o.group_id().unwrap_or_default().to_string(),
            // The name is taken in this VPC by a group this stack does not own (its own would
            // have been found by tag).
            Err(e) if e.has_aws_code(&["InvalidGroup.Duplicate"]) => {
                return Err(Error::NotOwned {
                    resource: rid,
                    physical_id: name,
                    detail: "a security group with this name exists in the VPC without this stack's ownership tags".into(),
                });
            }
            Err(e) => return Err(e),
        };
        self.converge_rules(ctx, guard, &id).await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let id = &observed.physical_id;
        if diffs
            .iter()
            .any(|d| d.field == "unmanaged_rules" || d.field == "allow_all_outbound")
        {
            self.converge_rules(ctx, guard, id).await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            ec2::sync_tags(
                &ec2::client(ctx),
                guard,
                &self.id(),
                id,
                ctx.env(),
                observed.fields.get("tags"),
            )
            .await?;
        }
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_group(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

/// Delete security group `id`, waiting while only interfaces an AWS service manages still use
/// it (see [`crate::delete`]).
pub(crate) async fn delete_group(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    id: &str,
) -> Result<()> {
    let ec2 = ec2::client(ctx);
    crate::delete::with_blockers(
        ctx,
        guard,
        crate::delete::Deletion {
            rid,
            physical_id: id,
            operation: "DeleteSecurityGroup",
            gone: &["InvalidGroup.NotFound"],
        },
        || async {
            ec2.delete_security_group()
                .group_id(id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::aws(rid, "DeleteSecurityGroup", e))
        },
        || ec2::interface_blockers(&ec2, rid, "group-id", id),
    )
    .await
}

/// The rules of `group_id` among `all`.
pub(crate) fn rules_of_group(
    all: &[aws_sdk_ec2::types::SecurityGroupRule],
    group_id: &str,
) -> Vec<aws_sdk_ec2::types::SecurityGroupRule> {
    all.iter()
        .filter(|r| r.group_id() == Some(group_id))
        .cloned()
        .collect()
}
