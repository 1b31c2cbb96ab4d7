//! Subnets.

use skyforge_core::Permissions;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::ResourceType;
use skyforge_core::wait::Poll;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

use crate::cidr::Cidr;
use crate::ec2;
use crate::spec::TierKind;

/// Resource kind `subnet`.
pub const KIND: &str = "subnet";

pub(crate) struct Subnet {
    pub(crate) logical: String,
    pub(crate) vpc_id: Input<String>,
    pub(crate) cidr: Cidr,
    pub(crate) az: Input<String>,
    pub(crate) tier: String,
    pub(crate) kind: TierKind,
    pub(crate) map_public_ip: bool,
}

/// The calls of a subnet: a delete refused while interfaces remain names them.
pub(crate) const SUBNET_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeSubnets"],
    create: &[
        "ec2:CreateSubnet",
        "ec2:CreateTags",
        "ec2:ModifySubnetAttribute",
    ],
    update: &[
        "ec2:ModifySubnetAttribute",
        "ec2:CreateTags",
        "ec2:DeleteTags",
    ],
    delete: &["ec2:DeleteSubnet", "ec2:DescribeNetworkInterfaces"],
};

#[async_trait]
impl Resource for Subnet {
    fn permissions(&self) -> Option<Permissions> {
        Some(SUBNET_PERMISSIONS)
    }
    crate::node_identity!(KIND, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        ec2::deps(&[&self.vpc_id, &self.az])
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "cidr_block".into(),
            Field::new(Value::str(self.cidr.to_string())).force_new(),
        );
        f.insert(
            "availability_zone".into(),
            Field::new(self.az.plan_value(inputs)).force_new(),
        );
        f.insert(
            "map_public_ip_on_launch".into(),
            Field::new(Value::of(self.map_public_ip)),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }

    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_subnets(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |s| s.tags());
        let Some(s) = ec2::single(&self.id(), mine, |s| {
            s.subnet_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = s.subnet_id().unwrap_or_default().to_string();
        let az = s.availability_zone().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields
            .insert("vpc_id".into(), Value::str(s.vpc_id().unwrap_or_default()));
        o.fields.insert(
            "cidr_block".into(),
            Value::str(s.cidr_block().unwrap_or_default()),
        );
        o.fields
            .insert("availability_zone".into(), Value::str(az.clone()));
        o.fields.insert(
            "map_public_ip_on_launch".into(),
            Value::of(s.map_public_ip_on_launch().unwrap_or(false)),
        );
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, s.tags()),
        );
        o.outputs.insert("subnet_id".into(), id.into());
        o.outputs.insert("availability_zone".into(), az.into());
        o.outputs
            .insert("cidr_block".into(), self.cidr.to_string().into());
        o.outputs.insert("tier".into(), self.tier.clone().into());
        o.outputs
            .insert("tier_kind".into(), self.kind.as_str().into());
        Ok(Some(o))
    }

    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ec2 = ec2::client(ctx);
        let rid = self.id();
        let vpc_id = resolve(&self.vpc_id, inputs, &rid)?;
        let az = resolve(&self.az, inputs, &rid)?;
        let out = guard
            .call("CreateSubnet", async {
                ec2.create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(self.cidr.to_string())
                    .availability_zone(&az)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::Subnet,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateSubnet", e))
            })
            .await?;
        let id = out
            .subnet()
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_string();
        let label = rid.to_string();
        ctx.poller(Duration::from_secs(300))
            .wait(&label, "available", || async {
                match ec2.describe_subnets().subnet_ids(&id).send().await {
                    Ok(o) => Ok(match o.subnets().first().and_then(|s| s.state()) {
                        Some(s) if s.as_str() == "available" => Poll::Ready(()),
                        s => Poll::Pending(s.map(|s| s.as_str().to_string()).unwrap_or_default()),
                    }),
                    Err(e) => {
                        let e = Error::aws(&rid, "DescribeSubnets", e);
                        if e.has_aws_code(&["InvalidSubnetID.NotFound"]) {
                            Ok(Poll::Pending("not visible yet".into()))
                        } else {
                            Err(e)
                        }
                    }
                }
            })
            .await?;
        if self.map_public_ip {
            self.set_map_public_ip(&ec2, guard, &id).await?;
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
                "map_public_ip_on_launch" => self.set_map_public_ip(&ec2, guard, id).await?,
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
                operation: "DeleteSubnet",
                gone: &["InvalidSubnetID.NotFound"],
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move {
                    ec2.delete_subnet()
                        .subnet_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteSubnet", e))
                }
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move { ec2::interface_blockers(&ec2, &rid, "subnet-id", &id).await }
            },
        )
        .await
    }
}

impl Subnet {
    async fn set_map_public_ip(
        &self,
        ec2: &aws_sdk_ec2::Client,
        guard: &Guard,
        id: &str,
    ) -> Result<()> {
        guard
            .call("ModifySubnetAttribute", async {
                ec2.modify_subnet_attribute()
                    .subnet_id(id)
                    .map_public_ip_on_launch(
                        aws_sdk_ec2::types::AttributeBooleanValue::builder()
                            .value(self.map_public_ip)
                            .build(),
                    )
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(self.id(), "ModifySubnetAttribute", e))
            })
            .await
    }
}

/// The value of an input that must be known when the resource is created.
pub(crate) fn resolve(input: &Input<String>, inputs: &Inputs, rid: &ResourceId) -> Result<String> {
    match input {
        Input::Value(v) => Ok(v.clone()),
        Input::Ref(r) => inputs.require(r, rid),
    }
}
