//! Running a migration task to its end: `RunTask` (its `failures[]` checked even on success),
//! polled until `STOPPED` without waiting for `RUNNING`, gated on the essential container's exit
//! code, the task's log tail quoted on failure, and the revision tagged with what it migrated.

use aws_sdk_ecs::types::{LaunchType, NetworkConfiguration, Tag, Task};
use skyforge_core::wait::Poll;
use skyforge_core::{Context, Error, Guard, ResourceId, Result};

use crate::cluster::client;
use crate::migration::{LOG_LINES, MIGRATED_TAG};

/// One run of a migration task definition.
pub(crate) struct OneOff {
    pub(crate) cluster: String,
    pub(crate) task_definition: String,
    pub(crate) network: NetworkConfiguration,
    pub(crate) container: String,
    pub(crate) log_group: String,
    pub(crate) stream_prefix: String,
}

impl OneOff {
    /// Run it; on success tag the revision with `migrated` and return the task's ARN.
    pub(crate) async fn execute(
        &self,
        ctx: &Context,
        rid: &ResourceId,
        migrated: &str,
        guard: &Guard,
    ) -> Result<String> {
        let task = self.start(ctx, rid, guard).await?;
        let done = wait_stopped(ctx, rid, &self.cluster, &task).await?;
        self.verdict(ctx, rid, &done).await?;
        let tag = Tag::builder().key(MIGRATED_TAG).value(migrated).build();
        let req = client(ctx)
            .tag_resource()
            .resource_arn(&self.task_definition)
            .tags(tag);
        guard.send("TagResource", &[], req.send()).await?;
        Ok(task)
    }

    /// Start the task; `failures[]` can be non-empty on success (HTTP 200).
    async fn start(&self, ctx: &Context, rid: &ResourceId, guard: &Guard) -> Result<String> {
        let req = client(ctx)
            .run_task()
            .cluster(&self.cluster)
            .task_definition(&self.task_definition)
            .launch_type(LaunchType::Fargate)
            .network_configuration(self.network.clone())
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
        let stream = format!("{}/{}/{id}", self.stream_prefix, self.container);
        let lines = log_tail(ctx, &self.log_group, &stream).await;
        Err(Error::Resource {
            resource: rid.to_string(),
            message: format!(
                "the migration failed before any service changed: task {id} stopped ({}): {}; exit code {}\nlast {LOG_LINES} log lines of {}:\n{lines}",
                t.stop_code().map_or("-", |c| c.as_str()),
                t.stopped_reason().unwrap_or("-"),
                exit.map_or("none".to_string(), |e| e.to_string()),
                self.log_group,
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
