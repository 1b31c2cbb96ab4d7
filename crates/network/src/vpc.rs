//! The VPC (with its default security group locked down) and the availability-zone data source.

use skyforge_core::Permissions;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{Filter, ResourceType, VpcAttributeName};
use skyforge_core::wait::Poll;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, Observed, Outputs,
    Resource, ResourceId, Result, Value,
};

use crate::cidr::Cidr;
use crate::ec2;

/// Resource kind `vpc`.
pub const KIND_VPC: &str = "vpc";
/// Resource kind `availability_zones`.
pub const KIND_AZS: &str = "availability_zones";

/// Output keys of the availability-zone data source, one per zone, in name order.
pub(crate) const AZ_KEYS: [&str; 6] = ["az0", "az1", "az2", "az3", "az4", "az5"];

/// The VPC node.
pub(crate) struct Vpc {
    pub(crate) logical: String,
    pub(crate) cidr: Cidr,
    pub(crate) dns_hostnames: bool,
    pub(crate) dns_support: bool,
    pub(crate) azs: crate::spec::Azs,
    pub(crate) nat: crate::spec::Nat,
    pub(crate) flow_logs: bool,
}

/// Availability zones open to new accounts, by region (for validation before any API call;
/// planning also checks what the region reports).
const REGION_AZS: &[(&str, usize)] = &[
    ("us-east-1", 6),
    ("us-east-2", 3),
    ("us-west-1", 2),
    ("us-west-2", 4),
    ("ca-central-1", 3),
    ("sa-east-1", 3),
    ("eu-west-1", 3),
    ("eu-west-2", 3),
    ("eu-west-3", 3),
    ("eu-central-1", 3),
    ("eu-north-1", 3),
    ("eu-south-1", 3),
    ("ap-south-1", 3),
    ("ap-southeast-1", 3),
    ("ap-southeast-2", 3),
    ("ap-northeast-1", 3),
    ("ap-northeast-2", 4),
    ("ap-northeast-3", 3),
    ("me-south-1", 3),
    ("af-south-1", 3),
];

impl Vpc {
    async fn attribute(
        &self,
        ec2: &aws_sdk_ec2::Client,
        vpc_id: &str,
        attr: VpcAttributeName,
    ) -> Result<bool> {
        let out = ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attr)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeVpcAttribute", e))?;
        let v = match out.enable_dns_hostnames() {
            Some(h) if out.enable_dns_support().is_none() => h.value(),
            _ => out.enable_dns_support().and_then(|s| s.value()),
        };
        Ok(v.unwrap_or(false))
    }

    async fn default_group(
        &self,
        ec2: &aws_sdk_ec2::Client,
        vpc_id: &str,
    ) -> Result<Option<String>> {
        let out = ec2
            .describe_security_groups()
            .filters(ec2::filter("vpc-id", vpc_id))
            .filters(ec2::filter("group-name", "default"))
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeSecurityGroups", e))?;
        Ok(out
            .security_groups()
            .first()
            .and_then(|g| g.group_id().map(str::to_string)))
    }

    async fn rules_of(
        &self,
        ec2: &aws_sdk_ec2::Client,
        group_id: &str,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let out = ec2
            .describe_security_group_rules()
            .filters(ec2::filter("group-id", group_id))
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeSecurityGroupRules", e))?;
        let (mut ingress, mut egress) = (Vec::new(), Vec::new());
        for r in out.security_group_rules() {
            let Some(id) = r.security_group_rule_id() else {
                continue;
            };
            if r.is_egress().unwrap_or(false) {
                egress.push(id.to_string());
            } else {
                ingress.push(id.to_string());
            }
        }
        Ok((ingress, egress))
    }

    async fn lock_down_default_group(
        &self,
        ec2: &aws_sdk_ec2::Client,
        guard: &Guard,
        group_id: &str,
    ) -> Result<()> {
        let (ingress, egress) = self.rules_of(ec2, group_id).await?;
        if !ingress.is_empty() {
            guard
                .call("RevokeSecurityGroupIngress", async {
                    ec2.revoke_security_group_ingress()
                        .group_id(group_id)
                        .set_security_group_rule_ids(Some(ingress))
                        .send()
                        .await
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
                        .map_err(|e| Error::aws(self.id(), "RevokeSecurityGroupEgress", e))
                })
                .await?;
        }
        Ok(())
    }

    async fn set_attribute(
        &self,
        ec2: &aws_sdk_ec2::Client,
        guard: &Guard,
        vpc_id: &str,
        hostnames: Option<bool>,
        support: Option<bool>,
    ) -> Result<()> {
        let flag = |v: bool| {
            aws_sdk_ec2::types::AttributeBooleanValue::builder()
                .value(v)
                .build()
        };
        guard
            .call("ModifyVpcAttribute", async {
                ec2.modify_vpc_attribute()
                    .vpc_id(vpc_id)
                    .set_enable_dns_hostnames(hostnames.map(flag))
                    .set_enable_dns_support(support.map(flag))
                    .send()
                    .await
                    .map_err(|e| Error::aws(self.id(), "ModifyVpcAttribute", e))
            })
            .await?;
        Ok(())
    }
}

/// The calls of a VPC: its default security group is emptied at creation; a blocked delete names what blocks it.
pub(crate) const VPC_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeVpcs", "ec2:DescribeVpcAttribute"],
    create: &[
        "ec2:CreateVpc",
        "ec2:CreateTags",
        "ec2:ModifyVpcAttribute",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ],
    update: &["ec2:ModifyVpcAttribute", "ec2:CreateTags", "ec2:DeleteTags"],
    delete: &[
        "ec2:DeleteVpc",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeRouteTables",
    ],
};

#[async_trait]
impl Resource for Vpc {
    fn permissions(&self) -> Option<Permissions> {
        Some(VPC_PERMISSIONS)
    }
    crate::node_identity!(KIND_VPC, "ec2");
    fn validate(&self, env: &Environment) -> Result<()> {
        use crate::spec::Azs;
        let Some(region) = env.region_name() else {
            return Ok(());
        };
        match &self.azs {
            Azs::Count(n) => {
                if let Some((_, max)) = REGION_AZS.iter().find(|(r, _)| *r == region)
                    && n > max
                {
                    return Err(Error::validation(
                        "network.azs",
                        n.to_string(),
                        format!("{region} has {max} availability zones"),
                    ));
                }
            }
            Azs::Named(names) => {
                for a in names {
                    let ok = a
                        .strip_prefix(region)
                        .is_some_and(|l| l.len() == 1 && l.chars().all(|c| c.is_ascii_lowercase()));
                    if !ok {
                        return Err(Error::validation(
                            "network.azs",
                            a,
                            format!(
                                "not an availability zone of {region} ({region}a, {region}b, ...)"
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }
    fn warnings(&self, env: &Environment) -> Vec<String> {
        use crate::spec::{Azs, Nat};
        let mut w = Vec::new();
        let n = match &self.azs {
            Azs::Count(n) => *n,
            Azs::Named(v) => v.len(),
        };
        if n == 1 {
            w.push("the network spans one availability zone: load balancers and Multi-AZ databases need two".to_string());
        }
        if env.stage().is_prod() && self.nat == Nat::Single && n > 1 {
            w.push("one NAT gateway for a prod network: losing its zone cuts every zone's outbound traffic (use Nat::PerAz)".to_string());
        }
        if env.stage().is_prod() && !self.flow_logs {
            w.push("no VPC flow logs on a prod network".to_string());
        }
        w
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "cidr_block".into(),
            Field::new(Value::str(self.cidr.to_string())).force_new(),
        );
        f.insert(
            "enable_dns_hostnames".into(),
            Field::new(Value::of(self.dns_hostnames)),
        );
        f.insert(
            "enable_dns_support".into(),
            Field::new(Value::of(self.dns_support)),
        );
        f.insert(
            "default_security_group_rules".into(),
            Field::new(Value::of(0)),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }

    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let ec2 = ec2::client(ctx);
        let all = ec2::stack_vpcs(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |v| v.tags());
        let Some(vpc) = ec2::single(&self.id(), mine, |v| v.vpc_id().unwrap_or("").to_string())?
        else {
            return Ok(None);
        };
        let id = vpc.vpc_id().unwrap_or_default().to_string();
        let hostnames = self
            .attribute(&ec2, &id, VpcAttributeName::EnableDnsHostnames)
            .await?;
        let support = self
            .attribute(&ec2, &id, VpcAttributeName::EnableDnsSupport)
            .await?;
        let default_group = self.default_group(&ec2, &id).await?;
        let rules = match &default_group {
            Some(g) => {
                let (i, e) = self.rules_of(&ec2, g).await?;
                i.len() + e.len()
            }
            None => 0,
        };
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        let cidr = vpc.cidr_block().unwrap_or_default().to_string();
        o.fields
            .insert("cidr_block".into(), Value::str(cidr.clone()));
        o.fields
            .insert("enable_dns_hostnames".into(), Value::of(hostnames));
        o.fields
            .insert("enable_dns_support".into(), Value::of(support));
        o.fields
            .insert("default_security_group_rules".into(), Value::of(rules));
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, vpc.tags()),
        );
        o.outputs.insert("vpc_id".into(), id.into());
        o.outputs.insert("cidr_block".into(), cidr.into());
        if let Some(g) = default_group {
            o.outputs
                .insert("default_security_group_id".into(), g.into());
        }
        Ok(Some(o))
    }

    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ec2 = ec2::client(ctx);
        let out = guard
            .call("CreateVpc", async {
                ec2.create_vpc()
                    .cidr_block(self.cidr.to_string())
                    .tag_specifications(ec2::tag_spec(ResourceType::Vpc, ctx.env(), &self.logical))
                    .send()
                    .await
                    .map_err(|e| Error::aws(self.id(), "CreateVpc", e))
            })
            .await?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        let rid = self.id().to_string();
        ctx.poller(Duration::from_secs(300))
            .wait(&rid, "available", || async {
                let o = ec2
                    .describe_vpcs()
                    .vpc_ids(&id)
                    .send()
                    .await
                    .map_err(|e| Error::aws(self.id(), "DescribeVpcs", e));
                match o {
                    Ok(o) => Ok(match o.vpcs().first().and_then(|v| v.state()) {
                        Some(s) if s.as_str() == "available" => Poll::Ready(()),
                        s => Poll::Pending(s.map(|s| s.as_str().to_string()).unwrap_or_default()),
                    }),
                    // Eventual consistency right after create.
                    Err(e) if e.has_aws_code(&["InvalidVpcID.NotFound"]) => {
                        Ok(Poll::Pending("not visible yet".into()))
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        // AWS defaults: DNS support on, hostnames off.
        if self.dns_hostnames {
            self.set_attribute(&ec2, guard, &id, Some(true), None)
                .await?;
        }
        if !self.dns_support {
            self.set_attribute(&ec2, guard, &id, None, Some(false))
                .await?;
        }
        if let Some(g) = self.default_group(&ec2, &id).await? {
            self.lock_down_default_group(&ec2, guard, &g).await?;
        }
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
        let ec2 = ec2::client(ctx);
        let id = &observed.physical_id;
        for d in diffs {
            match d.field.as_str() {
                "enable_dns_hostnames" => {
                    self.set_attribute(&ec2, guard, id, Some(self.dns_hostnames), None)
                        .await?
                }
                "enable_dns_support" => {
                    self.set_attribute(&ec2, guard, id, None, Some(self.dns_support))
                        .await?
                }
                "default_security_group_rules" => {
                    if let Some(g) = self.default_group(&ec2, id).await? {
                        self.lock_down_default_group(&ec2, guard, &g).await?;
                    }
                }
                "tags" => {
                    ec2::sync_tags(
                        &ec2,
                        guard,
                        &self.id(),
                        id,
                        ctx.env(),
                        observed.fields.get("tags"),
                    )
                    .await?
                }
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        ec2::reobserve(self, ctx, inputs).await
    }

    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let id = observed.physical_id.clone();
        let rid = self.id();
        crate::delete::with_blockers(
            ctx,
            guard,
            crate::delete::Deletion {
                rid: &rid,
                physical_id: &id,
                operation: "DeleteVpc",
                gone: &["InvalidVpcID.NotFound"],
            },
            || {
                let ec2 = ec2.clone();
                let id = id.clone();
                let rid = rid.clone();
                async move {
                    ec2.delete_vpc()
                        .vpc_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteVpc", e))
                }
            },
            || {
                let ec2 = ec2.clone();
                let id = id.clone();
                let rid = rid.clone();
                async move { vpc_blockers(&ec2, &rid, &id).await }
            },
        )
        .await
    }
}

/// Data source: the region's available zones, in name order.
pub(crate) struct AvailabilityZones {
    pub(crate) logical: String,
    pub(crate) count: usize,
}

/// The zones data source reads them.
pub(crate) const AZ_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeAvailabilityZones"],
    create: &[],
    update: &[],
    delete: &[],
};

#[async_trait]
impl Resource for AvailabilityZones {
    fn permissions(&self) -> Option<Permissions> {
        Some(AZ_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_AZS, &self.logical)
    }
    fn service(&self) -> &'static str {
        "ec2"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn desired(&self, _: &Environment, _: &Inputs) -> Fields {
        Fields::new()
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let ec2 = ec2::client(ctx);
        let out = ec2
            .describe_availability_zones()
            .filters(Filter::builder().name("state").values("available").build())
            .filters(ec2::filter("zone-type", "availability-zone"))
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeAvailabilityZones", e))?;
        let mut names: Vec<String> = out
            .availability_zones()
            .iter()
            .filter_map(|z| z.zone_name().map(str::to_string))
            .collect();
        names.sort();
        if names.len() < self.count {
            return Err(Error::validation(
                "network.azs",
                self.count.to_string(),
                format!(
                    "region {} has {} available zones ({})",
                    ctx.region(),
                    names.len(),
                    names.join(", ")
                ),
            ));
        }
        let mut outputs = Outputs::new();
        for (k, n) in AZ_KEYS.iter().zip(&names).take(self.count) {
            outputs.insert((*k).to_string(), n.clone().into());
        }
        Ok(Some(Observed {
            physical_id: ctx.region().to_string(),
            outputs,
            ..Observed::default()
        }))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, _: &Guard) -> Result<Observed> {
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        g: &Guard,
    ) -> Result<Observed> {
        self.create(ctx, inputs, g).await
    }
    async fn delete(&self, _: &Context, _: &Observed, _: &Guard) -> Result<()> {
        Ok(())
    }
}

/// What keeps a VPC from being deleted: interfaces, and subnets, groups, gateways and route
/// tables the stack does not own (its own are deleted before the VPC).
async fn vpc_blockers(
    ec2: &aws_sdk_ec2::Client,
    rid: &ResourceId,
    vpc_id: &str,
) -> Result<Vec<ec2::Blocker>> {
    let mut found = ec2::interface_blockers(ec2, rid, "vpc-id", vpc_id).await?;
    let permanent = |describe: String| ec2::Blocker {
        describe,
        transient: false,
    };
    let subnets = ec2
        .describe_subnets()
        .filters(ec2::filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeSubnets", e))?;
    for s in subnets.subnets() {
        found.push(permanent(format!(
            "subnet {}",
            s.subnet_id().unwrap_or("?")
        )));
    }
    let groups = ec2
        .describe_security_groups()
        .filters(ec2::filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeSecurityGroups", e))?;
    for g in groups.security_groups() {
        if g.group_name() != Some("default") {
            found.push(permanent(format!(
                "security group {}",
                g.group_id().unwrap_or("?")
            )));
        }
    }
    let igws = ec2
        .describe_internet_gateways()
        .filters(ec2::filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeInternetGateways", e))?;
    for g in igws.internet_gateways() {
        found.push(permanent(format!(
            "internet gateway {} (attached)",
            g.internet_gateway_id().unwrap_or("?")
        )));
    }
    let tables = ec2
        .describe_route_tables()
        .filters(ec2::filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeRouteTables", e))?;
    for t in tables.route_tables() {
        if !t.associations().iter().any(|a| a.main() == Some(true)) {
            found.push(permanent(format!(
                "route table {}",
                t.route_table_id().unwrap_or("?")
            )));
        }
    }
    Ok(found)
}
