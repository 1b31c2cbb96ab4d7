//! Waiting for a service: steady state with progress, failing fast on tasks that cannot start
//! (quoting ECS's reason) instead of waiting for the circuit breaker's ten failed launches;
//! and INACTIVE after deletion.

use aws_sdk_ecs::types::{DesiredStatus, Service, Task};
use skyforge_core::wait::Poll;
use skyforge_core::{Context, Error, ResourceId, Result};

use crate::cluster::client;

/// Stop reasons no retry fixes: the first such stop ends the wait.
const HOPELESS: [&str; 3] = [
    "CannotPullContainerError",
    "ResourceInitializationError",
    "CannotStartContainerError",
];

/// An essential container exiting may be transient (a dependency not ready): the wait ends at
/// this many such stops of the current deployment.
pub const EXIT_LIMIT: usize = 2;

/// Ready when the service runs its desired count on one deployment that is not rolling out.
pub(crate) fn readiness(s: &Service) -> skyforge_core::Readiness {
    let rollout = s
        .deployments()
        .first()
        .and_then(|d| d.rollout_state())
        .map_or("-", |r| r.as_str());
    let steady = s.deployments().len() == 1
        && s.running_count() == s.desired_count()
        && !matches!(rollout, "IN_PROGRESS" | "FAILED");
    if steady {
        skyforge_core::Readiness::Ready
    } else {
        skyforge_core::Readiness::NotReady(format!(
            "{}/{} running, rollout {rollout}",
            s.running_count(),
            s.desired_count()
        ))
    }
}

/// Wait until `name` runs its desired count on one completed deployment.
/// With `expected`, the service must end on that task definition: a deployment the circuit
/// breaker rolled back is a failure even when the rollback itself completed between two polls.
pub(crate) async fn wait(
    ctx: &Context,
    rid: &ResourceId,
    cluster: &str,
    name: &str,
    expected: Option<&str>,
) -> Result<()> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "steady state", || async {
            let Some(s) = crate::service::describe(ctx, rid, cluster, name).await? else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            check(ctx, rid, cluster, &s, expected).await
        })
        .await
}

async fn check(
    ctx: &Context,
    rid: &ResourceId,
    cluster: &str,
    s: &Service,
    expected: Option<&str>,
) -> Result<Poll<()>> {
    let primary = s
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"));
    let rollout = primary
        .and_then(|d| d.rollout_state())
        .map_or("-", |r| r.as_str());
    let serving = primary.and_then(|d| d.task_definition()).unwrap_or("-");
    // A failed deployment of what this wait is for (a rollback's wait does not fail on the
    // deployment it is undoing).
    let failed_one = s.deployments().iter().find(|d| {
        d.rollout_state().map(|r| r.as_str()) == Some("FAILED")
            && expected.is_none_or(|want| d.task_definition() == Some(want))
    });
    let rolled_back = expected.filter(|want| *want != serving);
    if failed_one.is_some() || rolled_back.is_some() {
        let td = rolled_back
            .or(failed_one.and_then(|d| d.task_definition()))
            .unwrap_or(serving);
        let why = failed_one
            .and_then(|d| d.rollout_state_reason())
            .unwrap_or("rolled back by the circuit breaker");
        let tasks = stopped_reason(ctx, rid, cluster, s, Which::TaskDefinition(td)).await?;
        let tasks = tasks.map(|t| format!("; {t}")).unwrap_or_default();
        return Ok(failed(
            "FAILED",
            format!("the deployment of {td} failed ({why}); now serving {serving}{tasks}"),
        ));
    }
    let (running, desired) = (s.running_count(), s.desired_count());
    let settled = s.deployments().len() == 1 && running == desired;
    // The new deployment's own tasks: the old one's keep `running` up during a rollout.
    let primary_running = primary.map_or(0, |d| d.running_count());
    if settled && rollout != "IN_PROGRESS" {
        return Ok(Poll::Ready(()));
    }
    if let Some(d) = primary.and_then(|d| d.id())
        && primary_running < desired
        && let Some(reason) = stopped_reason(ctx, rid, cluster, s, Which::Deployment(d)).await?
    {
        return Ok(failed("tasks stopping", reason));
    }
    Ok(Poll::Pending(format!(
        "{running}/{desired} running, {} pending, {} deployments, rollout {rollout}",
        s.pending_count(),
        s.deployments().len()
    )))
}

/// Whose stopped tasks to read.
enum Which<'a> {
    /// A deployment's (by `startedBy`): only stops that will not heal count.
    Deployment(&'a str),
    /// A task definition's, after its deployment failed: any stop explains it.
    TaskDefinition(&'a str),
}

fn failed(state: &str, reason: String) -> Poll<()> {
    Poll::Failed {
        state: state.into(),
        reason,
    }
}

/// Why the tasks `which` names stopped (for a deployment: only when they stop in a way that
/// will not heal).
async fn stopped_reason(
    ctx: &Context,
    rid: &ResourceId,
    cluster: &str,
    s: &Service,
    which: Which<'_>,
) -> Result<Option<String>> {
    let ecs = client(ctx);
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(s.service_name().unwrap_or_default())
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "ListTasks", e))?;
    if listed.task_arns().is_empty() {
        return Ok(None);
    }
    let tasks = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(listed.task_arns().iter().take(100).cloned().collect()))
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeTasks", e))?;
    let stopped = tasks
        .tasks()
        .iter()
        .filter(|t| t.stopped_reason().is_some());
    Ok(match which {
        Which::Deployment(d) => verdict(
            &stopped
                .filter(|t| t.started_by() == Some(d))
                .collect::<Vec<_>>(),
        ),
        Which::TaskDefinition(td) => stopped
            .filter(|t| t.task_definition_arn() == Some(td))
            .map(describe)
            .next(),
    })
}

/// A stopped task, its stop code, reason and exit codes.
fn describe(t: &Task) -> String {
    let exit = t
        .containers()
        .iter()
        .filter_map(|c| Some(format!("{} exited {}", c.name()?, c.exit_code()?)))
        .collect::<Vec<_>>();
    format!(
        "task {} stopped ({}): {}{}",
        t.task_arn()
            .and_then(|a| a.rsplit('/').next())
            .unwrap_or("?"),
        t.stop_code().map_or("-", |c| c.as_str()),
        t.stopped_reason().unwrap_or_default(),
        if exit.is_empty() {
            String::new()
        } else {
            format!("; {}", exit.join(", "))
        }
    )
}

/// The failure to report, if a deployment's stopped tasks show one.
fn verdict(stopped: &[&Task]) -> Option<String> {
    if let Some(t) = stopped.iter().find(|t| {
        HOPELESS
            .iter()
            .any(|h| t.stopped_reason().unwrap_or_default().contains(h))
    }) {
        return Some(describe(t));
    }
    let exited: Vec<&&Task> = stopped
        .iter()
        .filter(|t| t.stop_code().map(|c| c.as_str()) == Some("EssentialContainerExited"))
        .collect();
    (exited.len() >= EXIT_LIMIT).then(|| describe(exited[0]))
}

/// Wait until deleted service `name` is INACTIVE (or gone).
pub(crate) async fn wait_inactive(
    ctx: &Context,
    rid: &ResourceId,
    cluster: &str,
    name: &str,
) -> Result<()> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "INACTIVE", || async {
            let out = client(ctx)
                .describe_services()
                .cluster(cluster)
                .services(name)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "DescribeServices", e));
            let Some(out) = skyforge_core::none_if_aws_code(out, &["ClusterNotFoundException"])?
            else {
                return Ok(Poll::Ready(()));
            };
            Ok(
                match out
                    .services()
                    .iter()
                    .find(|s| s.status() != Some("INACTIVE"))
                {
                    Some(s) => Poll::Pending(format!(
                        "{}, {} running",
                        s.status().unwrap_or("?"),
                        s.running_count()
                    )),
                    None => Poll::Ready(()),
                },
            )
        })
        .await
}
