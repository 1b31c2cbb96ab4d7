//! Migrations: a one-off task run before a service changes, whenever its image changes, gated
//! on the essential container's exit code. An action node of the engine: its trigger is the
//! image of the migration task definition's newest revision; a successful run tags that
//! revision (`skyforge:migrated`), so a run resumed after a crash does not migrate twice.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, LaunchType, NetworkConfiguration, Tag, Task,
    TaskDefinitionField,
};
use skyforge_core::wait::Poll;
use skyforge_core::{
    ActionNode, Context, Environment, Error, Guard, Inputs, NodeId, Outputs, Ref, ResourceId,
    Result, Value,
};

use crate::cluster::client;
use crate::spec::TaskSize;

/// Resource kind `migration` (an action).
pub const KIND_MIGRATION: &str = "migration";
/// The tag recording the image a migration revision ran with.
pub const MIGRATED_TAG: &str = "skyforge:migrated";
/// Log lines quoted when a migration fails.
pub const LOG_LINES: i32 = 50;

/// The migration of a service: the main container's image with another command and size.
#[derive(Debug, Clone, PartialEq)]
pub struct Migration {
    pub(crate) command: Vec<String>,
    pub(crate) size: TaskSize,
    pub(crate) container: Option<String>,
}

impl Migration {
    /// Run `command` (`["pnpm", "db:migrate"]`) in a 256/512 task.
    pub fn command<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Migration {
        Migration {
            command: command.into_iter().map(Into::into).collect(),
            size: TaskSize::new(256, 512),
            container: None,
        }
    }
    /// The task's size.
    pub fn size(mut self, size: TaskSize) -> Migration {
        self.size = size;
        self
    }
    /// Run in this container's image (default the first container).
    pub fn container(mut self, name: impl Into<String>) -> Migration {
        self.container = Some(name.into());
        self
    }
}

pub(crate) struct MigrationAction {
    pub(crate) logical: String,
    pub(crate) container: String,
    pub(crate) family: String,
    pub(crate) task_definition: Ref<String>,
    pub(crate) images: Ref<BTreeMap<String, String>>,
    pub(crate) cluster: Ref<String>,
    pub(crate) subnets: Vec<Ref<String>>,
    pub(crate) security_group: Ref<String>,
    pub(crate) public_ip: bool,
    pub(crate) log_group: String,
    /// The log stream prefix of the migration task definition (`api-migrate`).
    pub(crate) stream_prefix: String,
}

impl MigrationAction {
    fn network(&self, inputs: &Inputs, rid: &ResourceId) -> Result<NetworkConfiguration> {
        let subnets: Vec<String> = self
            .subnets
            .iter()
            .map(|s| inputs.require(s, rid))
            .collect::<Result<_>>()?;
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(subnets))
            .security_groups(inputs.require(&self.security_group, rid)?)
            .assign_public_ip(if self.public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| Error::validation("migration.network", "-", e.to_string()))?;
        Ok(NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build())
    }
}

#[async_trait]
impl ActionNode for MigrationAction {
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_MIGRATION, &self.logical)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = vec![
            self.task_definition.node(),
            self.cluster.node(),
            self.security_group.node(),
        ];
        d.extend(self.subnets.iter().map(|s| s.node()));
        d.sort();
        d.dedup();
        d
    }
    fn trigger(&self, _: &Environment, inputs: &Inputs) -> Value {
        match inputs
            .get(&self.images)
            .and_then(|m| m.get(&self.container).cloned())
        {
            Some(image) => Value::str(image),
            None => Value::Unknown,
        }
    }
    async fn last_trigger(&self, ctx: &Context, _: &Inputs) -> Result<Option<String>> {
        let out = client(ctx)
            .describe_task_definition()
            .task_definition(&self.family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeTaskDefinition", e));
        let Some(out) = skyforge_core::none_if_aws_code(out, &["ClientException"])? else {
            return Ok(None);
        };
        Ok(out
            .tags()
            .iter()
            .find(|t| t.key() == Some(MIGRATED_TAG))
            .and_then(|t| t.value().map(String::from)))
    }
    async fn run(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        trigger: &str,
        guard: &Guard,
    ) -> Result<Outputs> {
        let rid = self.id();
        let td = inputs.require(&self.task_definition, &rid)?;
        let task = self.start(ctx, inputs, &rid, &td, guard).await?;
        let done = wait_stopped(ctx, &rid, &self.cluster_name(inputs, &rid)?, &task).await?;
        self.verdict(ctx, &rid, &done).await?;
        let tag = Tag::builder().key(MIGRATED_TAG).value(trigger).build();
        let req = client(ctx).tag_resource().resource_arn(&td).tags(tag);
        guard.send("TagResource", &[], req.send()).await?;
        let mut out = Outputs::new();
        out.insert("task".into(), task.into());
        out.insert("image".into(), trigger.into());
        Ok(out)
    }
}

impl MigrationAction {
    fn cluster_name(&self, inputs: &Inputs, rid: &ResourceId) -> Result<String> {
        inputs.require(&self.cluster, rid)
    }
    /// Run the task; `failures[]` can be non-empty on success (HTTP 200).
    async fn start(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        rid: &ResourceId,
        td: &str,
        guard: &Guard,
    ) -> Result<String> {
        let req = client(ctx)
            .run_task()
            .cluster(self.cluster_name(inputs, rid)?)
            .task_definition(td)
            .launch_type(LaunchType::Fargate)
            .network_configuration(self.network(inputs, rid)?)
            .started_by("skyforge-migration")
            .count(1);
        let out = guard
            .call("RunTask", async {
                req.send().await.map_err(|e| Error::aws(rid, "RunTask", e))
            })
            .await?;
        if let Some(f) = out.failures().first() {
            return Err(Error::Resource {
                resource: rid.to_string(),
                message: format!(
                    "the migration task was not started: {} ({})",
                    f.reason().unwrap_or("?"),
                    f.detail().or(f.arn()).unwrap_or("-")
                ),
            });
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn().map(String::from))
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "RunTask started no task".into(),
            })
    }
    /// A stopped migration passed when its essential container exited 0.
    async fn verdict(&self, ctx: &Context, rid: &ResourceId, t: &Task) -> Result<()> {
        let container = t
            .containers()
            .iter()
            .find(|c| c.name() == Some(self.container.as_str()))
            .or_else(|| t.containers().first());
        let exit = container.and_then(|c| c.exit_code());
        if exit == Some(0) {
            return Ok(());
        }
        let id = t
            .task_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("?");
        let lines = log_tail(
            ctx,
            &self.log_group,
            &format!("{}/{}/{id}", self.stream_prefix, self.container),
        )
        .await;
        Err(Error::Resource {
            resource: rid.to_string(),
            message: format!(
                "the migration failed before any service changed: task {id} stopped ({}): {}; exit code {}\nlast {} log lines of {}:\n{}",
                t.stop_code().map_or("-", |c| c.as_str()),
                t.stopped_reason().unwrap_or("-"),
                exit.map_or("none".to_string(), |e| e.to_string()),
                LOG_LINES,
                self.log_group,
                lines
            ),
        })
    }
}

/// Poll the task until it is STOPPED, without requiring RUNNING first (a quick migration goes
/// from PENDING to STOPPED between two polls).
async fn wait_stopped(ctx: &Context, rid: &ResourceId, cluster: &str, task: &str) -> Result<Task> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "STOPPED", || async {
            let out = client(ctx)
                .describe_tasks()
                .cluster(cluster)
                .tasks(task)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "DescribeTasks", e))?;
            Ok(match out.tasks().first() {
                Some(t) if t.last_status() == Some("STOPPED") => Poll::Ready(t.clone()),
                Some(t) => Poll::Pending(t.last_status().unwrap_or("?").to_string()),
                None => Poll::Pending("not visible yet".into()),
            })
        })
        .await
}

/// The last lines of a log stream, or why they could not be read.
async fn log_tail(ctx: &Context, group: &str, stream: &str) -> String {
    let logs = ctx.client(aws_sdk_cloudwatchlogs::Client::new);
    let out = logs
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(LOG_LINES)
        .send()
        .await;
    match out {
        Ok(o) => {
            let lines: Vec<&str> = o.events().iter().filter_map(|e| e.message()).collect();
            if lines.is_empty() {
                format!("(stream {stream} is empty)")
            } else {
                lines.join("\n")
            }
        }
        Err(e) => format!(
            "(stream {stream} could not be read: {})",
            Error::aws("logs", "GetLogEvents", e)
        ),
    }
}
