//! Route tables, routes, subnet associations and the S3 gateway endpoint.

use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, VpcEndpointType};
use skyforge_core::Permissions;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

use crate::cidr::Cidr;
use crate::ec2;
use crate::subnet::resolve;

/// Resource kind `route_table`.
pub const KIND_TABLE: &str = "route_table";
/// Resource kind `route`.
pub const KIND_ROUTE: &str = "route";
/// Resource kind `route_table_association`.
pub const KIND_ASSOC: &str = "route_table_association";
/// Resource kind `vpc_endpoint`.
pub const KIND_ENDPOINT: &str = "vpc_endpoint";

async fn describe_table(
    ec2: &aws_sdk_ec2::Client,
    rid: &ResourceId,
    id: &str,
) -> Result<Option<aws_sdk_ec2::types::RouteTable>> {
    match ec2.describe_route_tables().route_table_ids(id).send().await {
        Ok(o) => Ok(o.route_tables().first().cloned()),
        Err(e) => {
            let e = Error::aws(rid, "DescribeRouteTables", e);
            if e.has_aws_code(&["InvalidRouteTableID.NotFound"]) {
                Ok(None)
            } else {
                Err(e)
            }
        }
    }
}

/// A route table.
pub(crate) struct RouteTable {
    pub(crate) logical: String,
    pub(crate) vpc_id: Input<String>,
}

/// The calls of a route table.
pub(crate) const TABLE_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeRouteTables"],
    create: &["ec2:CreateRouteTable", "ec2:CreateTags"],
    update: &["ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:DeleteRouteTable"],
};

#[async_trait]
impl Resource for RouteTable {
    fn permissions(&self) -> Option<Permissions> {
        Some(TABLE_PERMISSIONS)
    }
    crate::node_identity!(KIND_TABLE, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        self.vpc_id.dependency().into_iter().collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_tables(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |t| t.tags());
        let Some(t) = ec2::single(&self.id(), mine, |t| {
            t.route_table_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = t.route_table_id().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields
            .insert("vpc_id".into(), Value::str(t.vpc_id().unwrap_or_default()));
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, t.tags()),
        );
        o.outputs.insert("route_table_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = resolve(&self.vpc_id, inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("CreateRouteTable", async {
                ec2.create_route_table()
                    .vpc_id(&vpc)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::RouteTable,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateRouteTable", e))
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
                operation: "DeleteRouteTable",
                gone: &["InvalidRouteTableID.NotFound"],
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move {
                    ec2.delete_route_table()
                        .route_table_id(&id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteRouteTable", e))
                }
            },
            || {
                let (ec2, id, rid) = (ec2.clone(), id.clone(), rid.clone());
                async move {
                    // Our own associations are removed before the table; any left are foreign.
                    Ok(describe_table(&ec2, &rid, &id)
                        .await?
                        .map(|t| {
                            t.associations()
                                .iter()
                                .filter(|a| a.main() != Some(true))
                                .map(|a| ec2::Blocker {
                                    describe: format!(
                                        "association {} with {}",
                                        a.route_table_association_id().unwrap_or("?"),
                                        a.subnet_id().or(a.gateway_id()).unwrap_or("?")
                                    ),
                                    transient: false,
                                })
                                .collect()
                        })
                        .unwrap_or_default())
                }
            },
        )
        .await
    }
}

/// Where a route sends traffic.
#[derive(Debug, Clone)]
pub(crate) enum RouteTarget {
    InternetGateway(Input<String>),
    NatGateway(Input<String>),
}

impl RouteTarget {
    fn field(&self) -> &'static str {
        match self {
            RouteTarget::InternetGateway(_) => "gateway_id",
            RouteTarget::NatGateway(_) => "nat_gateway_id",
        }
    }
    fn input(&self) -> &Input<String> {
        match self {
            RouteTarget::InternetGateway(i) | RouteTarget::NatGateway(i) => i,
        }
    }
}

/// One route of a route table.
pub(crate) struct Route {
    pub(crate) logical: String,
    pub(crate) table_id: Input<String>,
    pub(crate) destination: Cidr,
    pub(crate) target: RouteTarget,
    /// Nodes that must exist first beyond the inputs (the gateway attachment).
    pub(crate) after: Vec<NodeId>,
}

/// The calls of a route.
pub(crate) const ROUTE_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeRouteTables"],
    create: &["ec2:CreateRoute"],
    update: &["ec2:ReplaceRoute"],
    delete: &["ec2:DeleteRoute"],
};

#[async_trait]
impl Resource for Route {
    fn permissions(&self) -> Option<Permissions> {
        Some(ROUTE_PERMISSIONS)
    }
    crate::node_identity!(KIND_ROUTE, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = [self.table_id.dependency(), self.target.input().dependency()]
            .into_iter()
            .flatten()
            .collect();
        d.extend(&self.after);
        d
    }
    fn desired(&self, _: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "route_table_id".into(),
            Field::new(self.table_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "destination_cidr_block".into(),
            Field::new(Value::str(self.destination.to_string())).force_new(),
        );
        f.insert(
            self.target.field().into(),
            Field::new(self.target.input().plan_value(inputs)),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(table) = self.table_id.resolve(inputs) else {
            return Ok(None);
        };
        // The stack's tables, listed once per plan.
        let tables = ec2::stack_tables(ctx).await?;
        let Some(t) = tables
            .iter()
            .find(|t| t.route_table_id() == Some(table.as_str()))
        else {
            return Ok(None);
        };
        let dest = self.destination.to_string();
        let Some(r) = t
            .routes()
            .iter()
            .find(|r| r.destination_cidr_block() == Some(dest.as_str()))
        else {
            return Ok(None);
        };
        let target = match self.target {
            RouteTarget::InternetGateway(_) => r.gateway_id(),
            RouteTarget::NatGateway(_) => r.nat_gateway_id(),
        }
        .or(r.gateway_id())
        .or(r.nat_gateway_id())
        .or(r.network_interface_id())
        .or(r.transit_gateway_id())
        .or(r.vpc_peering_connection_id())
        .unwrap_or("blackhole");
        let mut o = Observed {
            physical_id: format!("{table}_{dest}"),
            ..Observed::default()
        };
        o.fields
            .insert("route_table_id".into(), Value::str(table.clone()));
        o.fields
            .insert("destination_cidr_block".into(), Value::str(dest));
        o.fields
            .insert(self.target.field().into(), Value::str(target));
        o.outputs.insert("route_table_id".into(), table.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let table = resolve(&self.table_id, inputs, &rid)?;
        let target = resolve(self.target.input(), inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("CreateRoute", async {
                let mut req = ec2
                    .create_route()
                    .route_table_id(&table)
                    .destination_cidr_block(self.destination.to_string());
                req = match self.target {
                    RouteTarget::InternetGateway(_) => req.gateway_id(&target),
                    RouteTarget::NatGateway(_) => req.nat_gateway_id(&target),
                };
                req.send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateRoute", e))
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
        guard: &Guard,
    ) -> Result<Observed> {
        let rid = self.id();
        let table = resolve(&self.table_id, inputs, &rid)?;
        let target = resolve(self.target.input(), inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("ReplaceRoute", async {
                let mut req = ec2
                    .replace_route()
                    .route_table_id(&table)
                    .destination_cidr_block(self.destination.to_string());
                req = match self.target {
                    RouteTarget::InternetGateway(_) => req.gateway_id(&target),
                    RouteTarget::NatGateway(_) => req.nat_gateway_id(&target),
                };
                req.send()
                    .await
                    .map_err(|e| Error::aws(&rid, "ReplaceRoute", e))
            })
            .await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let Some((table, dest)) = observed.physical_id.split_once('_') else {
            return Ok(());
        };
        let ec2 = ec2::client(ctx);
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DeleteRoute", async {
                    ec2.delete_route()
                        .route_table_id(table)
                        .destination_cidr_block(dest)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteRoute", e))
                })
                .await,
            &["InvalidRoute.NotFound", "InvalidRouteTableID.NotFound"],
        )
    }
}

/// The association of a subnet with a route table.
pub(crate) struct Association {
    pub(crate) logical: String,
    pub(crate) table_id: Input<String>,
    pub(crate) subnet_id: Input<String>,
}

/// The calls of a route table association.
pub(crate) const ASSOC_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeRouteTables"],
    create: &["ec2:AssociateRouteTable"],
    update: &["ec2:ReplaceRouteTableAssociation"],
    delete: &["ec2:DisassociateRouteTable"],
};

#[async_trait]
impl Resource for Association {
    fn permissions(&self) -> Option<Permissions> {
        Some(ASSOC_PERMISSIONS)
    }
    crate::node_identity!(KIND_ASSOC, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        ec2::deps(&[&self.table_id, &self.subnet_id])
    }
    fn desired(&self, _: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "subnet_id".into(),
            Field::new(self.subnet_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "route_table_id".into(),
            Field::new(self.table_id.plan_value(inputs)),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(subnet) = self.subnet_id.resolve(inputs) else {
            return Ok(None);
        };
        // The stack's tables first (listed once per plan); a subnet associated with a table the
        // stack does not own (drift) is looked up by its own call.
        let find = |tables: &[aws_sdk_ec2::types::RouteTable]| {
            tables.iter().any(|t| {
                t.associations()
                    .iter()
                    .any(|a| a.subnet_id() == Some(subnet.as_str()))
            })
        };
        let stack_tables = ec2::stack_tables(ctx).await?;
        let tables: Vec<aws_sdk_ec2::types::RouteTable> = if find(&stack_tables) {
            stack_tables.to_vec()
        } else {
            ec2::client(ctx)
                .describe_route_tables()
                .filters(ec2::filter("association.subnet-id", &subnet))
                .send()
                .await
                .map_err(|e| Error::aws(self.id(), "DescribeRouteTables", e))?
                .route_tables()
                .to_vec()
        };
        let found = tables.iter().find_map(|t| {
            t.associations()
                .iter()
                .find(|a| a.subnet_id() == Some(subnet.as_str()))
                .map(|a| {
                    (
                        t.route_table_id().unwrap_or_default().to_string(),
                        a.route_table_association_id()
                            .unwrap_or_default()
                            .to_string(),
                    )
                })
        });
        let Some((table, assoc)) = found else {
            return Ok(None);
        };
        let mut o = Observed {
            physical_id: assoc.clone(),
            ..Observed::default()
        };
        o.fields.insert("subnet_id".into(), Value::str(subnet));
        o.fields.insert("route_table_id".into(), Value::str(table));
        o.outputs.insert("association_id".into(), assoc.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let table = resolve(&self.table_id, inputs, &rid)?;
        let subnet = resolve(&self.subnet_id, inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("AssociateRouteTable", async {
                ec2.associate_route_table()
                    .route_table_id(&table)
                    .subnet_id(&subnet)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "AssociateRouteTable", e))
            })
            .await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        _: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let rid = self.id();
        let table = resolve(&self.table_id, inputs, &rid)?;
        let ec2 = ec2::client(ctx);
        guard
            .call("ReplaceRouteTableAssociation", async {
                ec2.replace_route_table_association()
                    .association_id(&observed.physical_id)
                    .route_table_id(&table)
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "ReplaceRouteTableAssociation", e))
            })
            .await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2 = ec2::client(ctx);
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DisassociateRouteTable", async {
                    ec2.disassociate_route_table()
                        .association_id(&observed.physical_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DisassociateRouteTable", e))
                })
                .await,
            &["InvalidAssociationID.NotFound"],
        )
    }
}

/// A gateway VPC endpoint for S3 on the given route tables.
pub(crate) struct S3Endpoint {
    pub(crate) logical: String,
    pub(crate) vpc_id: Input<String>,
    pub(crate) tables: Vec<Input<String>>,
}

impl S3Endpoint {
    fn tables_value(&self, inputs: &Inputs) -> Value {
        let ids: Option<Vec<String>> = self.tables.iter().map(|t| t.resolve(inputs)).collect();
        match ids {
            Some(mut ids) => {
                ids.sort();
                Value::of(ids)
            }
            None => Value::Unknown,
        }
    }
}

/// The calls of the S3 gateway endpoint.
pub(crate) const ENDPOINT_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeVpcEndpoints"],
    create: &["ec2:CreateVpcEndpoint", "ec2:CreateTags"],
    update: &["ec2:ModifyVpcEndpoint", "ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:DeleteVpcEndpoints"],
};

#[async_trait]
impl Resource for S3Endpoint {
    fn permissions(&self) -> Option<Permissions> {
        Some(ENDPOINT_PERMISSIONS)
    }
    crate::node_identity!(KIND_ENDPOINT, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        std::iter::once(&self.vpc_id)
            .chain(&self.tables)
            .filter_map(Input::dependency)
            .collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "service_name".into(),
            Field::new(Value::str(format!(
                "com.amazonaws.{}.s3",
                env.region_name().unwrap_or("<region>")
            )))
            .force_new(),
        );
        f.insert(
            "route_table_ids".into(),
            Field::new(self.tables_value(inputs)),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_endpoints(ctx).await?;
        let live: Vec<_> = ec2::with_logical(&all, &self.logical, |e| e.tags())
            .iter()
            .filter(|e| {
                !e.state().is_some_and(|s| {
                    matches!(
                        s.as_str().to_ascii_lowercase().as_str(),
                        "deleted" | "deleting"
                    )
                })
            })
            .cloned()
            .collect();
        let Some(e) = ec2::single(&self.id(), live, |e| {
            e.vpc_endpoint_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = e.vpc_endpoint_id().unwrap_or_default().to_string();
        let mut tables: Vec<String> = e.route_table_ids().to_vec();
        tables.sort();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields
            .insert("vpc_id".into(), Value::str(e.vpc_id().unwrap_or_default()));
        o.fields.insert(
            "service_name".into(),
            Value::str(e.service_name().unwrap_or_default()),
        );
        o.fields.insert("route_table_ids".into(), Value::of(tables));
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, e.tags()),
        );
        o.outputs.insert("vpc_endpoint_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = resolve(&self.vpc_id, inputs, &rid)?;
        let tables = self
            .tables
            .iter()
            .map(|t| resolve(t, inputs, &rid))
            .collect::<Result<Vec<_>>>()?;
        let ec2 = ec2::client(ctx);
        guard
            .call("CreateVpcEndpoint", async {
                ec2.create_vpc_endpoint()
                    .vpc_endpoint_type(VpcEndpointType::Gateway)
                    .vpc_id(&vpc)
                    .service_name(format!("com.amazonaws.{}.s3", ctx.region()))
                    .set_route_table_ids(Some(tables))
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::VpcEndpoint,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateVpcEndpoint", e))
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
        let rid = self.id();
        let ec2 = ec2::client(ctx);
        for d in diffs {
            match d.field.as_str() {
                "route_table_ids" => {
                    let want = self
                        .tables
                        .iter()
                        .map(|t| resolve(t, inputs, &rid))
                        .collect::<Result<Vec<_>>>()?;
                    let have: Vec<String> = observed
                        .fields
                        .get("route_table_ids")
                        .and_then(Value::known)
                        .and_then(|v| serde_json::from_value(v.clone()).ok())
                        .unwrap_or_default();
                    let add: Vec<String> =
                        want.iter().filter(|t| !have.contains(t)).cloned().collect();
                    let remove: Vec<String> =
                        have.iter().filter(|t| !want.contains(t)).cloned().collect();
                    guard
                        .call("ModifyVpcEndpoint", async {
                            ec2.modify_vpc_endpoint()
                                .vpc_endpoint_id(&observed.physical_id)
                                .set_add_route_table_ids(Some(add))
                                .set_remove_route_table_ids(Some(remove))
                                .send()
                                .await
                                .map_err(|e| Error::aws(&rid, "ModifyVpcEndpoint", e))
                        })
                        .await?;
                }
                "tags" => {
                    ec2::sync_tags(
                        &ec2,
                        guard,
                        &rid,
                        &observed.physical_id,
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
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DeleteVpcEndpoints", async {
                    ec2.delete_vpc_endpoints()
                        .vpc_endpoint_ids(&observed.physical_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteVpcEndpoints", e))
                })
                .await,
            &["InvalidVpcEndpointId.NotFound"],
        )
    }
}
