//! Internet gateway and its attachment, Elastic IPs, NAT gateways.

use async_trait::async_trait;
use aws_sdk_ec2::types::{DomainType, NatGatewayState, ResourceType};
use sha2::{Digest, Sha256};
use skyforge_core::Permissions;
use skyforge_core::wait::Poll;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Readiness, Resource, Result, Value,
};

use crate::ec2;
use crate::subnet::resolve;

/// Resource kind `internet_gateway`.
pub const KIND_IGW: &str = "internet_gateway";
/// Resource kind `internet_gateway_attachment`.
pub const KIND_ATTACH: &str = "internet_gateway_attachment";
/// Resource kind `eip`.
pub const KIND_EIP: &str = "eip";
/// Resource kind `nat_gateway`.
pub const KIND_NAT: &str = "nat_gateway";

/// The internet gateway.
pub(crate) struct InternetGateway {
    pub(crate) logical: String,
}

/// The calls of an internet gateway.
pub(crate) const IGW_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeInternetGateways"],
    create: &["ec2:CreateInternetGateway", "ec2:CreateTags"],
    update: &["ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:DeleteInternetGateway"],
};

#[async_trait]
impl Resource for InternetGateway {
    fn permissions(&self) -> Option<Permissions> {
        Some(IGW_PERMISSIONS)
    }
    crate::node_identity!(KIND_IGW, "ec2");
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_gateways(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |g| g.tags());
        let Some(g) = ec2::single(&self.id(), mine, |g| {
            g.internet_gateway_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = g.internet_gateway_id().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, g.tags()),
        );
        o.outputs.insert("internet_gateway_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ec2 = ec2::client(ctx);
        guard
            .call("CreateInternetGateway", async {
                ec2.create_internet_gateway()
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::InternetGateway,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(self.id(), "CreateInternetGateway", e))
            })
            .await?;
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
        ec2::update_tags(ctx, &self.id(), observed, diffs, guard).await?;
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
                operation: "DeleteInternetGateway",
                gone: &["InvalidInternetGatewayID.NotFound"],
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move {
                    ec2.delete_internet_gateway()
                        .internet_gateway_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteInternetGateway", e))
                }
            },
            || async { Ok(Vec::new()) },
        )
        .await
    }
}

/// The attachment of the internet gateway to the VPC.
pub(crate) struct GatewayAttachment {
    pub(crate) logical: String,
    pub(crate) igw_id: Input<String>,
    pub(crate) vpc_id: Input<String>,
}

/// The calls of an internet gateway attachment.
pub(crate) const ATTACH_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeInternetGateways"],
    create: &["ec2:AttachInternetGateway"],
    update: &[],
    delete: &["ec2:DetachInternetGateway"],
};

#[async_trait]
impl Resource for GatewayAttachment {
    fn permissions(&self) -> Option<Permissions> {
        Some(ATTACH_PERMISSIONS)
    }
    crate::node_identity!(KIND_ATTACH, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        ec2::deps(&[&self.igw_id, &self.vpc_id])
    }
    fn desired(&self, _: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "internet_gateway_id".into(),
            Field::new(self.igw_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let (Some(igw), Some(vpc)) = (self.igw_id.resolve(inputs), self.vpc_id.resolve(inputs))
        else {
            return Ok(None);
        };
        // The stack's gateways, listed once per plan.
        let gateways = ec2::stack_gateways(ctx).await?;
        let attached = gateways
            .iter()
            .filter(|g| g.internet_gateway_id() == Some(igw.as_str()))
            .flat_map(|g| g.attachments())
            .any(|a| {
                a.vpc_id() == Some(vpc.as_str())
                    && a.state().is_some_and(|s| {
                        matches!(s.as_str(), "available" | "attached" | "attaching")
                    })
            });
        if !attached {
            return Ok(None);
        }
        let mut o = Observed {
            physical_id: format!("{igw}:{vpc}"),
            ..Observed::default()
        };
        o.fields
            .insert("internet_gateway_id".into(), Value::str(igw.clone()));
        o.fields.insert("vpc_id".into(), Value::str(vpc));
        o.outputs.insert("internet_gateway_id".into(), igw.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let igw = resolve(&self.igw_id, inputs, &rid)?;
        let vpc = resolve(&self.vpc_id, inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("AttachInternetGateway", async {
                ec2.attach_internet_gateway()
                    .internet_gateway_id(&igw)
                    .vpc_id(&vpc)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "AttachInternetGateway", e))
            })
            .await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        _: &Guard,
    ) -> Result<Observed> {
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let Some((igw, vpc)) = observed.physical_id.split_once(':') else {
            return Ok(());
        };
        let rid = self.id();
        // Detaching fails while addresses in the VPC are still mapped (a NAT gateway being
        // deleted releases its address a little later): retried until they are released.
        crate::delete::with_blockers(
            ctx,
            guard,
            crate::delete::Deletion {
                rid: &rid,
                physical_id: &observed.physical_id,
                operation: "DetachInternetGateway",
                gone: &["Gateway.NotAttached", "InvalidInternetGatewayID.NotFound"],
            },
            || {
                let (ec2, igw, vpc, rid) =
                    (ec2.clone(), igw.to_string(), vpc.to_string(), rid.clone());
                async move {
                    ec2.detach_internet_gateway()
                        .internet_gateway_id(&igw)
                        .vpc_id(&vpc)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DetachInternetGateway", e))
                }
            },
            || async { Ok(Vec::new()) },
        )
        .await
    }
}

/// An Elastic IP for a NAT gateway.
pub(crate) struct ElasticIp {
    pub(crate) logical: String,
}

/// The calls of an Elastic IP.
pub(crate) const EIP_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeAddresses"],
    create: &["ec2:AllocateAddress", "ec2:CreateTags"],
    update: &["ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:ReleaseAddress"],
};

#[async_trait]
impl Resource for ElasticIp {
    fn permissions(&self) -> Option<Permissions> {
        Some(EIP_PERMISSIONS)
    }
    crate::node_identity!(KIND_EIP, "ec2");
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert("domain".into(), Field::new(Value::str("vpc")).force_new());
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_addresses(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |a| a.tags());
        let Some(a) = ec2::single(&self.id(), mine, |a| {
            a.allocation_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = a.allocation_id().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields.insert(
            "domain".into(),
            Value::str(a.domain().map(|d| d.as_str()).unwrap_or("vpc")),
        );
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, a.tags()),
        );
        o.outputs.insert("allocation_id".into(), id.into());
        o.outputs
            .insert("public_ip".into(), a.public_ip().unwrap_or_default().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ec2 = ec2::client(ctx);
        guard
            .call("AllocateAddress", async {
                ec2.allocate_address()
                    .domain(DomainType::Vpc)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::ElasticIp,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(self.id(), "AllocateAddress", e))
            })
            .await?;
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
        ec2::update_tags(ctx, &self.id(), observed, diffs, guard).await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let id = observed.physical_id.clone();
        let rid = self.id();
        // Still associated while its NAT gateway finishes deleting: retried.
        crate::delete::with_blockers(
            ctx,
            guard,
            crate::delete::Deletion {
                rid: &rid,
                physical_id: &id,
                operation: "ReleaseAddress",
                gone: &["InvalidAllocationID.NotFound"],
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move {
                    ec2.release_address()
                        .allocation_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "ReleaseAddress", e))
                }
            },
            || async { Ok(Vec::new()) },
        )
        .await
    }
}

/// A public NAT gateway.
pub(crate) struct NatGateway {
    pub(crate) logical: String,
    pub(crate) subnet_id: Input<String>,
    pub(crate) allocation_id: Input<String>,
    /// The gateway attachment: a public NAT gateway needs the VPC's internet gateway, and must
    /// be gone before the gateway is detached.
    pub(crate) attachment: Option<NodeId>,
}

impl NatGateway {
    fn client_token(&self, env: &Environment, subnet: &str, alloc: &str, attempt: u8) -> String {
        let mut h = Sha256::new();
        for p in [env.prefix().as_str(), &self.logical, subnet, alloc] {
            h.update(p.as_bytes());
            h.update([0]);
        }
        h.update([attempt]);
        h.finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    fn observed_of(&self, env: &Environment, n: &aws_sdk_ec2::types::NatGateway) -> Observed {
        let id = n.nat_gateway_id().unwrap_or_default().to_string();
        let addr = n.nat_gateway_addresses().first();
        let alloc = addr.and_then(|a| a.allocation_id()).unwrap_or_default();
        let ip = addr.and_then(|a| a.public_ip()).unwrap_or_default();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields.insert(
            "subnet_id".into(),
            Value::str(n.subnet_id().unwrap_or_default()),
        );
        o.fields.insert("allocation_id".into(), Value::str(alloc));
        o.fields.insert(
            "connectivity_type".into(),
            Value::str(
                n.connectivity_type()
                    .map(|c| c.as_str())
                    .unwrap_or("public"),
            ),
        );
        o.fields
            .insert("tags".into(), ec2::tags_value(env, &self.logical, n.tags()));
        o.outputs.insert("nat_gateway_id".into(), id.into());
        o.outputs.insert("public_ip".into(), ip.into());
        o.ready = match n.state() {
            Some(NatGatewayState::Available) => Readiness::Ready,
            Some(s) => Readiness::NotReady(s.as_str().to_string()),
            None => Readiness::NotReady("unknown".into()),
        };
        o
    }

    async fn describe(
        &self,
        ec2: &aws_sdk_ec2::Client,
        id: &str,
    ) -> Result<Option<aws_sdk_ec2::types::NatGateway>> {
        let out = ec2
            .describe_nat_gateways()
            .nat_gateway_ids(id)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeNatGateways", e));
        match out {
            Ok(o) => Ok(o.nat_gateways().first().cloned()),
            Err(e) if e.has_aws_code(&["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"]) => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

/// The calls of a NAT gateway.
pub(crate) const NAT_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeNatGateways"],
    create: &["ec2:CreateNatGateway", "ec2:CreateTags"],
    update: &["ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:DeleteNatGateway"],
};

#[async_trait]
impl Resource for NatGateway {
    fn permissions(&self) -> Option<Permissions> {
        Some(NAT_PERMISSIONS)
    }
    crate::node_identity!(KIND_NAT, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        [
            self.subnet_id.dependency(),
            self.allocation_id.dependency(),
            self.attachment,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "subnet_id".into(),
            Field::new(self.subnet_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "allocation_id".into(),
            Field::new(self.allocation_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "connectivity_type".into(),
            Field::new(Value::str("public")).force_new(),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_nats(ctx).await?;
        let mut mine = ec2::with_logical(&all, &self.logical, |n| n.tags());
        mine.retain(|n| {
            matches!(
                n.state(),
                Some(NatGatewayState::Pending | NatGatewayState::Available)
            )
        });
        Ok(ec2::single(&self.id(), mine, |n| {
            n.nat_gateway_id().unwrap_or("").to_string()
        })?
        .map(|n| self.observed_of(ctx.env(), &n)))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let ec2 = ec2::client(ctx);
        let subnet = resolve(&self.subnet_id, inputs, &rid)?;
        let alloc = resolve(&self.allocation_id, inputs, &rid)?;
        // A deterministic client token makes a retried create (after a timeout or a crash)
        // return the same gateway. AWS remembers tokens for a while, so a token that answers with
        // a gateway already deleted (destroy, then apply again) is salted and tried again.
        let mut created = None;
        for attempt in 0..3u8 {
            let token = self.client_token(ctx.env(), &subnet, &alloc, attempt);
            let out = guard
                .call("CreateNatGateway", async {
                    ec2.create_nat_gateway()
                        .subnet_id(&subnet)
                        .allocation_id(&alloc)
                        .client_token(token)
                        .tag_specifications(ec2::tag_spec(
                            ResourceType::Natgateway,
                            ctx.env(),
                            &self.logical,
                        ))
                        .send()
                        .await
                        .map_err(|e| Error::aws(&rid, "CreateNatGateway", e))
                })
                .await?;
            let n = out.nat_gateway().cloned();
            let stale = n
                .as_ref()
                .and_then(|n| n.state())
                .is_some_and(|s| matches!(s, NatGatewayState::Deleted | NatGatewayState::Deleting));
            created = n;
            if !stale {
                break;
            }
        }
        // Its id is known now; readiness (`available`, minutes later) is `wait_ready`'s, so that
        // what needs only the id does not wait for it.
        let n = created.ok_or_else(|| Error::Resource {
            resource: rid.to_string(),
            message: "CreateNatGateway answered without a gateway".into(),
        })?;
        Ok(self.observed_of(ctx.env(), &n))
    }
    async fn wait_ready(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let ec2 = ec2::client(ctx);
        let id = observed.physical_id.clone();
        let label = self.id().to_string();
        let n = ctx
            .poller_for(&self.id())
            .wait(&label, "available", || async {
                let Some(n) = self.describe(&ec2, &id).await? else {
                    return Ok(Poll::Pending("not visible yet".into()));
                };
                Ok(match n.state() {
                    Some(NatGatewayState::Available) => Poll::Ready(n),
                    Some(NatGatewayState::Failed) => Poll::Failed {
                        state: "failed".into(),
                        reason: format!(
                            "{}: {}",
                            n.failure_code().unwrap_or("?"),
                            n.failure_message().unwrap_or("no message")
                        ),
                    },
                    Some(s @ (NatGatewayState::Deleted | NatGatewayState::Deleting)) => {
                        Poll::Failed {
                            state: s.as_str().into(),
                            reason: "the gateway was deleted while being created".into(),
                        }
                    }
                    s => Poll::Pending(s.map(|s| s.as_str().to_string()).unwrap_or_default()),
                })
            })
            .await?;
        Ok(self.observed_of(ctx.env(), &n))
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        ec2::update_tags(ctx, &self.id(), observed, diffs, guard).await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let id = observed.physical_id.clone();
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DeleteNatGateway", async {
                    ec2.delete_nat_gateway()
                        .nat_gateway_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteNatGateway", e))
                })
                .await,
            &["NatGatewayNotFound", "InvalidNatGatewayID.NotFound"],
        )?;
        let label = rid.to_string();
        ctx.poller_for(&self.id())
            .wait(&label, "deleted", || async {
                Ok(
                    match self
                        .describe(&ec2, &id)
                        .await?
                        .and_then(|n| n.state().cloned())
                    {
                        None | Some(NatGatewayState::Deleted) => Poll::Ready(()),
                        Some(s) => Poll::Pending(s.as_str().to_string()),
                    },
                )
            })
            .await
    }
}
