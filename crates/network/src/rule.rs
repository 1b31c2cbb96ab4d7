//! Security group rules as nodes of their own: observed in the stack's shared rule listing,
//! authorized, described, revoked; replaced create-before-destroy.

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use skyforge_core::Permissions;
use skyforge_core::tags;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    ReplaceOrder, Resource, Result, Value,
};

use crate::ec2;
use crate::security::{Direction, KIND_RULE, Peer, Protocol, Rule, rules_of_group};
use crate::subnet::resolve;

/// One rule node.
pub(crate) struct RuleNode {
    pub(crate) logical: String,
    pub(crate) group_logical: String,
    pub(crate) group_id: Input<String>,
    pub(crate) public_ports: Vec<u16>,
    pub(crate) rule: Rule,
}

impl RuleNode {
    fn peer_id(&self, inputs: &Inputs) -> Result<Option<String>> {
        match &self.rule.peer {
            Some(Peer::Group { id, .. }) => Ok(Some(resolve(id, inputs, &self.id())?)),
            _ => Ok(None),
        }
    }
}

/// The calls of a security group rule.
pub(crate) const RULE_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
    ],
    create: &[
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
        "ec2:CreateTags",
    ],
    update: &[
        "ec2:ModifySecurityGroupRules",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ],
    delete: &[
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ],
};

#[async_trait]
impl Resource for RuleNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(RULE_PERMISSIONS)
    }
    crate::node_identity!(KIND_RULE, "ec2");
    fn replace_order(&self) -> ReplaceOrder {
        // A replaced rule always differs from the old one in its group or its peer (everything
        // else is part of its logical id), so both can exist at once.
        ReplaceOrder::CreateBeforeDestroy
    }
    fn dependencies(&self) -> Vec<NodeId> {
        [
            self.group_id.dependency(),
            self.rule.peer.as_ref().and_then(Peer::dependency),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn validate(&self, _: &Environment) -> Result<()> {
        self.rule.validate(&format!(
            "security_group.{}.rule.{}",
            self.group_logical,
            self.rule.key()
        ))
    }
    fn warnings(&self, _: &Environment) -> Vec<String> {
        let r = &self.rule;
        let internet = r.peer.as_ref().is_some_and(Peer::is_internet);
        if r.direction != Direction::Ingress || !internet {
            return Vec::new();
        }
        let listener_only = matches!(r.protocol, Protocol::Tcp)
            && (r.from_port..=r.to_port)
                .all(|p| u16::try_from(p).is_ok_and(|p| self.public_ports.contains(&p)));
        if listener_only {
            return Vec::new();
        }
        vec![format!(
            "security group {} opens {} {} to the internet ({}); only listener ports {:?} are expected to be public",
            self.group_logical,
            r.protocol.slug(),
            r.ports(),
            r.peer.as_ref().map(Peer::slug).unwrap_or_default(),
            self.public_ports
        )]
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let r = &self.rule;
        let mut f = Fields::new();
        f.insert(
            "group_id".into(),
            Field::new(self.group_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "direction".into(),
            Field::new(Value::of(r.direction)).force_new(),
        );
        f.insert(
            "protocol".into(),
            Field::new(Value::str(r.protocol.api())).force_new(),
        );
        f.insert(
            "from_port".into(),
            Field::new(Value::of(r.from_port)).force_new(),
        );
        f.insert(
            "to_port".into(),
            Field::new(Value::of(r.to_port)).force_new(),
        );
        f.insert(
            "peer".into(),
            Field::new(
                r.peer
                    .as_ref()
                    .map(|p| p.plan_value(inputs, &self.group_id))
                    .unwrap_or(Value::Unknown),
            )
            .force_new(),
        );
        f.insert("description".into(), Field::new(Value::str(&r.description)));
        f.insert(
            "tags".into(),
            Field::new(Value::of(tags::resource_tags(env, &self.logical))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(group) = self.group_id.resolve(inputs) else {
            return Ok(None);
        };
        let in_group = rules_of_group(&ec2::stack_rules(ctx).await?, &group);
        let mut mine: Vec<_> = in_group
            .iter()
            .filter(|r| {
                let t = ec2::from_ec2(r.tags());
                tags::is_owned_by(&t, ctx.env()) && t.get(tags::LOGICAL_ID) == Some(&self.logical)
            })
            .cloned()
            .collect();
        if mine.len() > 1 {
            // A replacement was created beside the old rule: the current one has the peer the
            // spec asks for.
            let want = self
                .rule
                .peer
                .as_ref()
                .map(|p| p.plan_value(inputs, &self.group_id));
            mine.retain(|r| want.as_ref() == Some(&Value::str(observed_peer(r))));
        }
        let Some(r) = ec2::single(&self.id(), mine, |r| {
            r.security_group_rule_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = r.security_group_rule_id().unwrap_or_default().to_string();
        let peer = observed_peer(&r);
        let protocol = match r.ip_protocol().unwrap_or("-1") {
            "6" => "tcp",
            "17" => "udp",
            "1" => "icmp",
            p => p,
        }
        .to_string();
        let (from, to) = if protocol == "-1" {
            (-1, -1)
        } else {
            (r.from_port().unwrap_or(-1), r.to_port().unwrap_or(-1))
        };
        let mut o = Observed {
            physical_id: format!("{group}:{id}"),
            ..Observed::default()
        };
        o.fields
            .insert("group_id".into(), Value::str(group.clone()));
        o.fields.insert(
            "direction".into(),
            Value::of(if r.is_egress() == Some(true) {
                Direction::Egress
            } else {
                Direction::Ingress
            }),
        );
        o.fields.insert("protocol".into(), Value::str(protocol));
        o.fields.insert("from_port".into(), Value::of(from));
        o.fields.insert("to_port".into(), Value::of(to));
        o.fields.insert("peer".into(), Value::str(peer));
        o.fields.insert(
            "description".into(),
            Value::str(r.description().unwrap_or_default()),
        );
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &tags::resource_tags(ctx.env(), &self.logical),
                &ec2::from_ec2(r.tags()),
            )),
        );
        o.outputs.insert("rule_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let group = resolve(&self.group_id, inputs, &rid)?;
        let peer = self.peer_id(inputs)?;
        let perm = self.rule.permission(&group, peer.as_deref());
        let ec2 = ec2::client(ctx);
        let spec = aws_sdk_ec2::types::TagSpecification::builder()
            .resource_type(ResourceType::SecurityGroupRule)
            .set_tags(Some(ec2::to_ec2(&tags::resource_tags(
                ctx.env(),
                &self.logical,
            ))))
            .build();
        let res = match self.rule.direction {
            Direction::Ingress => {
                guard
                    .call("AuthorizeSecurityGroupIngress", async {
                        ec2.authorize_security_group_ingress()
                            .group_id(&group)
                            .ip_permissions(perm)
                            .tag_specifications(spec)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "AuthorizeSecurityGroupIngress", e))
                    })
                    .await
            }
            Direction::Egress => {
                guard
                    .call("AuthorizeSecurityGroupEgress", async {
                        ec2.authorize_security_group_egress()
                            .group_id(&group)
                            .ip_permissions(perm)
                            .tag_specifications(spec)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "AuthorizeSecurityGroupEgress", e))
                    })
                    .await
            }
        };
        // An identical untagged rule (added by hand) makes this fail with
        // InvalidPermission.Duplicate; the group node revokes such rules, so the next apply
        // converges.
        res?;
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
        let rid = self.id();
        let Some((group, rule_id)) = observed.physical_id.split_once(':') else {
            return Err(Error::Resource {
                resource: rid.to_string(),
                message: format!("unexpected physical id {}", observed.physical_id),
            });
        };
        let ec2 = ec2::client(ctx);
        if diffs.iter().any(|d| d.field == "description") {
            let peer = self.peer_id(inputs)?;
            let p = self.rule.permission(group, peer.as_deref());
            let mut req = aws_sdk_ec2::types::SecurityGroupRuleRequest::builder()
                .ip_protocol(self.rule.protocol.api())
                .from_port(self.rule.from_port)
                .to_port(self.rule.to_port)
                .description(&self.rule.description);
            req = match &self.rule.peer {
                Some(Peer::Cidr(c)) if c.contains(':') => req.cidr_ipv6(c),
                Some(Peer::Cidr(c)) => req.cidr_ipv4(c),
                Some(Peer::PrefixList(pl)) => req.prefix_list_id(pl),
                _ => req.referenced_group_id(
                    p.user_id_group_pairs()
                        .first()
                        .and_then(|g| g.group_id())
                        .unwrap_or(group),
                ),
            };
            guard
                .call("ModifySecurityGroupRules", async {
                    ec2.modify_security_group_rules()
                        .group_id(group)
                        .security_group_rules(
                            aws_sdk_ec2::types::SecurityGroupRuleUpdate::builder()
                                .security_group_rule_id(rule_id)
                                .security_group_rule(req.build())
                                .build(),
                        )
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "ModifySecurityGroupRules", e))
                })
                .await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            guard
                .call("CreateTags", async {
                    ec2.create_tags()
                        .resources(rule_id)
                        .set_tags(Some(ec2::to_ec2(&tags::resource_tags(
                            ctx.env(),
                            &self.logical,
                        ))))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "CreateTags", e))
                })
                .await?;
        }
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let egress = self.rule.direction == Direction::Egress;
        revoke(ctx, guard, &self.id(), &observed.physical_id, egress).await
    }
}

/// Revoke an orphan rule found by the listing (physical id `group:rule`).
pub(crate) async fn revoke_rule(
    ctx: &Context,
    guard: &Guard,
    rid: &skyforge_core::ResourceId,
    owned: &skyforge_core::Owned,
) -> Result<()> {
    let egress = owned.get("direction") == "egress";
    revoke(ctx, guard, rid, &owned.physical_id, egress).await
}

/// Revoke one rule by its physical id `group:rule`; success when it is already gone.
async fn revoke(
    ctx: &Context,
    guard: &Guard,
    rid: &skyforge_core::ResourceId,
    physical_id: &str,
    egress: bool,
) -> Result<()> {
    let Some((group, rule_id)) = physical_id.split_once(':') else {
        return Ok(());
    };
    let ec2 = ec2::client(ctx);
    let gone = [
        "InvalidGroup.NotFound",
        "InvalidPermission.NotFound",
        "InvalidSecurityGroupRuleId.NotFound",
    ];
    let r = if egress {
        guard
            .call("RevokeSecurityGroupEgress", async {
                ec2.revoke_security_group_egress()
                    .group_id(group)
                    .security_group_rule_ids(rule_id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(rid, "RevokeSecurityGroupEgress", e))
            })
            .await
    } else {
        guard
            .call("RevokeSecurityGroupIngress", async {
                ec2.revoke_security_group_ingress()
                    .group_id(group)
                    .security_group_rule_ids(rule_id)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(rid, "RevokeSecurityGroupIngress", e))
            })
            .await
    };
    skyforge_core::ok_if_aws_code(r, &gone)
}

/// A rule's peer as the plan shows it (`cidr:..`, `prefix-list:..`, `group:sg-..`).
fn observed_peer(r: &aws_sdk_ec2::types::SecurityGroupRule) -> String {
    if let Some(c) = r.cidr_ipv4().or(r.cidr_ipv6()) {
        format!("cidr:{c}")
    } else if let Some(p) = r.prefix_list_id() {
        format!("prefix-list:{p}")
    } else {
        format!(
            "group:{}",
            r.referenced_group_info()
                .and_then(|g| g.group_id())
                .unwrap_or("?")
        )
    }
}
