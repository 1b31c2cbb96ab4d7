//! VPC flow logs to CloudWatch Logs: the log group, the role the flow-logs service assumes, and
//! the flow log itself.

use async_trait::async_trait;
use aws_sdk_ec2::types::{FlowLogsResourceType, LogDestinationType, ResourceType, TrafficType};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Resource, Result, Value,
};

use crate::ec2;
use crate::subnet::resolve;
use skyforge_iam::{PolicyDocument, Role, Statement, Trust};

/// Resource kind `log_group`.
pub const KIND_LOG_GROUP: &str = "log_group";
/// Resource kind `iam_role` (the role is a skyforge-iam role).
pub const KIND_ROLE: &str = skyforge_iam::KIND_ROLE;
/// Resource kind `flow_log`.
pub const KIND_FLOW_LOG: &str = "flow_log";

/// Retention periods CloudWatch Logs accepts, in days.
pub const RETENTION_DAYS: [u32; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

fn name_of(env: &Environment, kind: NameKind, logical: &str) -> String {
    naming::physical_name(env, kind, logical).unwrap_or_default()
}

/// A CloudWatch Logs group.
pub(crate) struct LogGroup {
    pub(crate) logical: String,
    pub(crate) retention_days: u32,
}

impl LogGroup {
    fn client(ctx: &Context) -> aws_sdk_cloudwatchlogs::Client {
        ctx.client(aws_sdk_cloudwatchlogs::Client::new)
    }
}

/// The calls of the flow logs' log group.
pub(crate) const FLOW_LOG_GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &["logs:DescribeLogGroups", "logs:ListTagsForResource"],
    create: &[
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:TagResource",
    ],
    update: &[
        "logs:PutRetentionPolicy",
        "logs:TagResource",
        "logs:UntagResource",
    ],
    delete: &["logs:DeleteLogGroup"],
};

#[async_trait]
impl Resource for LogGroup {
    fn permissions(&self) -> Option<Permissions> {
        Some(FLOW_LOG_GROUP_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let group = name_of(env, NameKind::LogGroup, &self.logical);
        vec![
            skyforge_core::ArnName::new("logs:log-group", format!("{group}*")),
            skyforge_core::ArnName::new("logs:log-stream", format!("{group}:log-stream:*")),
        ]
    }
    crate::node_identity!(KIND_LOG_GROUP, "logs");
    fn validate(&self, _: &Environment) -> Result<()> {
        if !RETENTION_DAYS.contains(&self.retention_days) {
            return Err(Error::validation(
                "network.flow_logs.retention_days",
                self.retention_days.to_string(),
                format!("CloudWatch Logs accepts {RETENTION_DAYS:?}"),
            ));
        }
        Ok(())
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(name_of(env, NameKind::LogGroup, &self.logical))).force_new(),
        );
        f.insert(
            "retention_days".into(),
            Field::new(Value::of(self.retention_days)),
        );
        f.insert(
            "tags".into(),
            Field::new(Value::of(tags::resource_tags(env, &self.logical))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let logs = Self::client(ctx);
        let name = name_of(ctx.env(), NameKind::LogGroup, &self.logical);
        let out = logs
            .describe_log_groups()
            .log_group_name_prefix(&name)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeLogGroups", e))?;
        let Some(g) = out
            .log_groups()
            .iter()
            .find(|g| g.log_group_name() == Some(name.as_str()))
        else {
            return Ok(None);
        };
        let arn = g
            .arn()
            .unwrap_or_default()
            .trim_end_matches(":*")
            .to_string();
        let t = logs
            .list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "ListTagsForResource", e))?;
        let observed_tags: Tags = t
            .tags()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        tags::ensure_owned(&observed_tags, ctx.env(), &self.id(), &name)?;
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields.insert(
            "retention_days".into(),
            g.retention_in_days()
                .map(Value::of)
                .unwrap_or(Value::of(serde_json::Value::Null)),
        );
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &tags::resource_tags(ctx.env(), &self.logical),
                &observed_tags,
            )),
        );
        o.outputs.insert("log_group_name".into(), name.into());
        o.outputs.insert("log_group_arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let logs = Self::client(ctx);
        let rid = self.id();
        let name = name_of(ctx.env(), NameKind::LogGroup, &self.logical);
        let created = guard
            .call("CreateLogGroup", async {
                logs.create_log_group()
                    .log_group_name(&name)
                    .set_tags(Some(
                        tags::resource_tags(ctx.env(), &self.logical)
                            .into_iter()
                            .collect(),
                    ))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, "CreateLogGroup", e))
            })
            .await;
        skyforge_core::ok_if_aws_code(created, &["ResourceAlreadyExistsException"])?;
        self.put_retention(&logs, guard, &name).await?;
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
        let logs = Self::client(ctx);
        let rid = self.id();
        for d in diffs {
            match d.field.as_str() {
                "retention_days" => {
                    self.put_retention(&logs, guard, &observed.physical_id)
                        .await?
                }
                "tags" => {
                    let arn = observed
                        .outputs
                        .get("log_group_arn")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    guard
                        .call("TagResource", async {
                            logs.tag_resource()
                                .resource_arn(&arn)
                                .set_tags(Some(
                                    tags::resource_tags(ctx.env(), &self.logical)
                                        .into_iter()
                                        .collect(),
                                ))
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| Error::aws(&rid, "TagResource", e))
                        })
                        .await?
                }
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let logs = Self::client(ctx);
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DeleteLogGroup", async {
                    logs.delete_log_group()
                        .log_group_name(&observed.physical_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteLogGroup", e))
                })
                .await,
            &["ResourceNotFoundException"],
        )
    }
}

impl LogGroup {
    async fn put_retention(
        &self,
        logs: &aws_sdk_cloudwatchlogs::Client,
        guard: &Guard,
        name: &str,
    ) -> Result<()> {
        let days = i32::try_from(self.retention_days).unwrap_or(i32::MAX);
        guard
            .call("PutRetentionPolicy", async {
                logs.put_retention_policy()
                    .log_group_name(name)
                    .retention_in_days(days)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(self.id(), "PutRetentionPolicy", e))
            })
            .await
    }
}

/// The IAM role VPC Flow Logs assumes to write into the log group (and nothing else), as a
/// skyforge-iam role.
pub(crate) fn flow_log_role(env: &Environment, logical: &str) -> skyforge_core::Result<Role> {
    let region = env.region_name().unwrap_or("*");
    let group = name_of(env, NameKind::LogGroup, logical);
    let base = format!(
        "arn:{}:logs:{region}:*:log-group:{group}",
        partition(region)
    );
    let delivery = Statement::allow([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
    ])
    .on(base.clone())
    .on(format!("{base}:*"));
    Role::builder()
        .logical_id(logical)
        .trust(Trust::service("vpc-flow-logs.amazonaws.com"))
        .description("VPC Flow Logs delivery to CloudWatch Logs (skyforge)")
        .policies(
            [(
                "flow-logs-delivery".to_string(),
                PolicyDocument::new([delivery]),
            )]
            .into(),
        )
        .build()
}

/// The VPC flow log.
pub(crate) struct FlowLog {
    pub(crate) logical: String,
    pub(crate) vpc_id: Input<String>,
    pub(crate) log_group: Input<String>,
    pub(crate) role_arn: Input<String>,
    pub(crate) traffic: TrafficType,
}

/// The calls of a flow log; creating it hands the delivery role to the service (`iam:PassRole`).
pub(crate) const FLOW_LOG_PERMISSIONS: Permissions = Permissions {
    observe: &["ec2:DescribeFlowLogs"],
    create: &["ec2:CreateFlowLogs", "ec2:CreateTags", "iam:PassRole"],
    update: &["ec2:CreateTags", "ec2:DeleteTags"],
    delete: &["ec2:DeleteFlowLogs"],
};

#[async_trait]
impl Resource for FlowLog {
    fn permissions(&self) -> Option<Permissions> {
        Some(FLOW_LOG_PERMISSIONS)
    }
    crate::node_identity!(KIND_FLOW_LOG, "ec2");
    fn dependencies(&self) -> Vec<NodeId> {
        [
            self.vpc_id.dependency(),
            self.log_group.dependency(),
            self.role_arn.dependency(),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "vpc_id".into(),
            Field::new(self.vpc_id.plan_value(inputs)).force_new(),
        );
        f.insert(
            "log_group_name".into(),
            Field::new(self.log_group.plan_value(inputs)).force_new(),
        );
        f.insert(
            "deliver_logs_permission_arn".into(),
            Field::new(self.role_arn.plan_value(inputs)).force_new(),
        );
        f.insert(
            "traffic_type".into(),
            Field::new(Value::str(self.traffic.as_str())).force_new(),
        );
        f.insert("tags".into(), ec2::tags_field(env, &self.logical));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let all = ec2::stack_flow_logs(ctx).await?;
        let mine = ec2::with_logical(&all, &self.logical, |f| f.tags());
        let Some(fl) = ec2::single(&self.id(), mine, |f| {
            f.flow_log_id().unwrap_or("").to_string()
        })?
        else {
            return Ok(None);
        };
        let id = fl.flow_log_id().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: id.clone(),
            ..Observed::default()
        };
        o.fields.insert(
            "vpc_id".into(),
            Value::str(fl.resource_id().unwrap_or_default()),
        );
        o.fields.insert(
            "log_group_name".into(),
            Value::str(fl.log_group_name().unwrap_or_default()),
        );
        o.fields.insert(
            "deliver_logs_permission_arn".into(),
            Value::str(fl.deliver_logs_permission_arn().unwrap_or_default()),
        );
        o.fields.insert(
            "traffic_type".into(),
            Value::str(fl.traffic_type().map(|t| t.as_str()).unwrap_or_default()),
        );
        o.fields.insert(
            "tags".into(),
            ec2::tags_value(ctx.env(), &self.logical, fl.tags()),
        );
        o.outputs.insert("flow_log_id".into(), id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = resolve(&self.vpc_id, inputs, &rid)?;
        let group = resolve(&self.log_group, inputs, &rid)?;
        let role = resolve(&self.role_arn, inputs, &rid)?;
        let ec2c = ec2::client(ctx);
        let out = guard
            .call("CreateFlowLogs", async {
                ec2c.create_flow_logs()
                    .resource_type(FlowLogsResourceType::Vpc)
                    .resource_ids(&vpc)
                    .traffic_type(self.traffic.clone())
                    .log_destination_type(LogDestinationType::CloudWatchLogs)
                    .log_group_name(&group)
                    .deliver_logs_permission_arn(&role)
                    .tag_specifications(ec2::tag_spec(
                        ResourceType::VpcFlowLog,
                        ctx.env(),
                        &self.logical,
                    ))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateFlowLogs", e))
            })
            .await?;
        if let Some(u) = out.unsuccessful().first() {
            return Err(Error::Aws {
                resource: rid.to_string(),
                operation: "CreateFlowLogs".into(),
                code: u
                    .error()
                    .and_then(|e| e.code())
                    .unwrap_or("Unsuccessful")
                    .into(),
                message: u
                    .error()
                    .and_then(|e| e.message())
                    .unwrap_or("flow log not created")
                    .into(),
                origin: Box::new(skyforge_core::AwsOrigin {
                    service: Some("ec2".into()),
                    request_id: aws_sdk_ec2::operation::RequestId::request_id(&out)
                        .map(str::to_string),
                    sdk_error: None,
                }),
            });
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
        ec2::update_tags(ctx, &self.id(), observed, diffs, guard).await?;
        ec2::reobserve(self, ctx, inputs).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let ec2c = ec2::client(ctx);
        let rid = self.id();
        skyforge_core::ok_if_aws_code(
            guard
                .call("DeleteFlowLogs", async {
                    ec2c.delete_flow_logs()
                        .flow_log_ids(&observed.physical_id)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "DeleteFlowLogs", e))
                })
                .await,
            &["InvalidFlowLogId.NotFound"],
        )
    }
}

/// Delete an orphan flow log (by the id the listing found).
pub(crate) async fn delete_flow_log(
    ctx: &Context,
    guard: &Guard,
    rid: &skyforge_core::ResourceId,
    owned: &skyforge_core::Owned,
) -> Result<()> {
    FlowLog {
        logical: rid.logical_id.clone(),
        vpc_id: Input::Value(String::new()),
        log_group: Input::Value(String::new()),
        role_arn: Input::Value(String::new()),
        traffic: TrafficType::All,
    }
    .delete(
        ctx,
        &Observed {
            physical_id: owned.physical_id.clone(),
            ..Observed::default()
        },
        guard,
    )
    .await
}

/// Register the flow logs' log-group and role kinds for orphan listing.
pub(crate) fn register_kinds(stack: &mut skyforge_core::Stack) {
    stack.own_kind(NamedKind(KIND_LOG_GROUP));
    skyforge_iam::register_kinds(stack);
}

/// The start every physical name of the stack shares in a path-style (`/alva/staging/`) or
/// flat (`alva-staging-`) namespace.
fn stack_prefix(env: &Environment, sep: char, leading: bool) -> String {
    let mut segments = vec![env.project_name(), env.stage().as_str()];
    if let Some(o) = env.owner_id() {
        segments.push(o);
    }
    let mut p = segments.join(&sep.to_string());
    if leading {
        p.insert(0, sep);
    }
    p.push(sep);
    p
}

/// Log groups and IAM roles, which have no tag filter on their list calls: listed by the
/// stack's name prefix, then kept only when their tags name this stack.
struct NamedKind(&'static str);

impl NamedKind {
    async fn log_groups(&self, ctx: &Context) -> Result<Vec<skyforge_core::Owned>> {
        let logs = LogGroup::client(ctx);
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix(stack_prefix(ctx.env(), '/', true))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("log_group.*", "DescribeLogGroups", e))?;
        let mut found = Vec::new();
        for g in groups {
            let arn = g.arn().unwrap_or_default().trim_end_matches(":*");
            let t = logs
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .map_err(|e| Error::aws("log_group.*", "ListTagsForResource", e));
            // Deleted since the listing (by another run): nothing to own.
            let Some(t) = skyforge_core::none_if_aws_code(t, &["ResourceNotFoundException"])?
            else {
                continue;
            };
            let t: Tags = t
                .tags()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(skyforge_core::Owned::new(
                    l,
                    g.log_group_name().unwrap_or_default(),
                ));
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl skyforge_core::OwnedKind for NamedKind {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(FLOW_LOG_GROUP_PERMISSIONS.for_orphans())
    }
    fn service(&self) -> &'static str {
        "logs"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<skyforge_core::Owned>> {
        self.log_groups(ctx).await
    }
    async fn delete(
        &self,
        ctx: &Context,
        owned: &skyforge_core::Owned,
        guard: &Guard,
    ) -> Result<()> {
        let obs = Observed {
            physical_id: owned.physical_id.clone(),
            ..Observed::default()
        };
        LogGroup {
            logical: owned.logical_id.clone(),
            retention_days: 1,
        }
        .delete(ctx, &obs, guard)
        .await
    }
}
