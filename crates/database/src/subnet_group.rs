//! The DB subnet group: the database's private or isolated subnets, as the network crate's
//! subnet-group node with RDS's calls.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::Tags;
use skyforge_core::{Context, Environment, Error, Guard, Observed, ResourceId, Result};
use skyforge_network::service_subnets::{DescribedGroup, SubnetGroupApi};

use crate::instance::{client, rds_tags};

/// Resource kind `db_subnet_group`.
pub const KIND_SUBNET_GROUP: &str = "db_subnet_group";

/// RDS's subnet-group calls.
pub(crate) struct Rds;

/// The node adding a DB subnet group.
pub(crate) type SubnetGroupNode = skyforge_network::service_subnets::SubnetGroupNode<Rds>;

pub(crate) fn group_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::DbSubnetGroup, logical).unwrap_or_default()
}

/// The tags of an RDS resource by ARN, read once per plan (its node and the orphan listing
/// share them).
pub(crate) async fn tags_of(ctx: &Context, rid: &ResourceId, arn: &str) -> Result<Tags> {
    let read = || async {
        let out = client(ctx)
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e))?;
        let t = out
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())));
        Ok(Some(t.collect()))
    };
    let t = skyforge_core::tags::read_once(ctx, arn, read).await?;
    Ok(t.unwrap_or_default())
}

#[async_trait]
impl SubnetGroupApi for Rds {
    const RESOURCE_TYPE: &'static str = "rds:subgrp";
    const KIND: &'static str = KIND_SUBNET_GROUP;
    const SERVICE: &'static str = "rds";
    const PERMISSIONS: Permissions = Permissions {
        observe: &["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
        create: &["rds:CreateDBSubnetGroup", "rds:AddTagsToResource"],
        update: &[
            "rds:ModifyDBSubnetGroup",
            "rds:AddTagsToResource",
            "rds:RemoveTagsFromResource",
        ],
        delete: &["rds:DeleteDBSubnetGroup"],
    };
    fn name(env: &Environment, logical: &str) -> String {
        group_name(env, logical)
    }
    async fn describe(
        ctx: &Context,
        rid: &ResourceId,
        name: &str,
    ) -> Result<Option<DescribedGroup>> {
        let r = client(ctx)
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeDBSubnetGroups", e));
        let out = skyforge_core::none_if_aws_code(r, &["DBSubnetGroupNotFoundFault"])?;
        let Some(g) = out.and_then(|o| o.db_subnet_groups().first().cloned()) else {
            return Ok(None);
        };
        let arn = g.db_subnet_group_arn().unwrap_or_default().to_string();
        Ok(Some(DescribedGroup {
            name: g.db_subnet_group_name().unwrap_or_default().to_string(),
            tags: tags_of(ctx, rid, &arn).await?,
            arn,
            subnet_ids: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier().map(str::to_string))
                .collect(),
        }))
    }
    async fn create(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
        tags: &Tags,
    ) -> Result<()> {
        let req = client(ctx)
            .create_db_subnet_group()
            .db_subnet_group_name(name)
            .db_subnet_group_description(format!(
                "skyforge {}",
                skyforge_core::tags::stack_name(ctx.env())
            ))
            .set_subnet_ids(Some(subnet_ids))
            .set_tags(Some(rds_tags(tags)));
        guard
            .send(
                "CreateDBSubnetGroup",
                &["DBSubnetGroupAlreadyExists"],
                req.send(),
            )
            .await
    }
    async fn set_subnets(
        ctx: &Context,
        guard: &Guard,
        name: &str,
        subnet_ids: Vec<String>,
    ) -> Result<()> {
        let req = client(ctx)
            .modify_db_subnet_group()
            .db_subnet_group_name(name)
            .set_subnet_ids(Some(subnet_ids));
        guard.send("ModifyDBSubnetGroup", &[], req.send()).await
    }
    async fn sync_tags(
        ctx: &Context,
        guard: &Guard,
        arn: &str,
        desired: &Tags,
        observed: &Observed,
    ) -> Result<()> {
        crate::tagging::sync(ctx, guard, arn, desired, observed).await
    }
    async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
        delete(ctx, guard, name).await
    }
}

/// RDS keeps a subnet group "in use" for a while after the last instance in it is deleted.
const STILL_IN_USE: skyforge_core::NotYet<'static> = skyforge_core::NotYet::codes(
    &["InvalidDBSubnetGroupStateFault"],
    std::time::Duration::from_secs(10 * 60),
);

/// Delete subnet group `name`; success when it is already gone. Retried while RDS still counts
/// a deleted instance in it.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let rds = client(ctx);
    guard
        .send_until(
            ctx,
            STILL_IN_USE,
            "DeleteDBSubnetGroup",
            &["DBSubnetGroupNotFoundFault"],
            || {
                rds.delete_db_subnet_group()
                    .db_subnet_group_name(name)
                    .send()
            },
        )
        .await
}
