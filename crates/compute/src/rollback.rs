//! Rollback: the service back on the revision before the one it runs, watched like a rollout;
//! the revisions after it are deregistered, so the next plan sees the restored revision as the
//! newest and does not roll forward again. An action: run it in a stack of its own through a
//! guarded run, and it is locked and journaled like an apply.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::{
    ActionNode, Context, Environment, Error, Guard, Inputs, Outputs, ResourceId, Result, Value,
};

use crate::cluster::client;

/// Resource kind `rollback` (an action).
pub const KIND_ROLLBACK: &str = "rollback";

/// Roll service `service` of cluster `cluster` (logical ids) back to its previous revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollback {
    service: String,
    cluster: String,
}

impl Rollback {
    /// The service with logical id `service` in the cluster with logical id `cluster`.
    pub fn new(cluster: impl Into<String>, service: impl Into<String>) -> Rollback {
        Rollback {
            service: service.into(),
            cluster: cluster.into(),
        }
    }
    fn names(&self, env: &Environment) -> (String, String) {
        let n = |l: &str| naming::physical_name(env, NameKind::Ecs, l).unwrap_or_default();
        (n(&self.cluster), n(&self.service))
    }
    fn fail(&self, message: String) -> Error {
        Error::Resource {
            resource: ResourceId::new(KIND_ROLLBACK, &self.service).to_string(),
            message,
        }
    }
}

/// `(family, revision)` of a task definition ARN.
fn revision_of(arn: &str) -> Option<(String, u64)> {
    let (family, rev) = arn.rsplit_once('/')?.1.rsplit_once(':')?;
    Some((family.to_string(), rev.parse().ok()?))
}

/// The calls of a rollback: the service back on its previous revision, watched to steady state, the failed one deregistered.
pub(crate) const ROLLBACK_PERMISSIONS: Permissions = Permissions {
    observe: &[],
    create: &[
        "ecs:DescribeServices",
        "ecs:DescribeTaskDefinition",
        "ecs:ListTaskDefinitions",
        "ecs:UpdateService",
        "ecs:DeregisterTaskDefinition",
        "ecs:ListTasks",
        "ecs:DescribeTasks",
    ],
    update: &[],
    delete: &[],
};

#[async_trait]
impl ActionNode for Rollback {
    fn permissions(&self) -> Option<Permissions> {
        Some(ROLLBACK_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        let (cluster, service) = self.names(env);
        vec![
            ArnName::new("ecs:service", format!("{cluster}/{service}")),
            ArnName::new("ecs:task", format!("{cluster}/*")),
            ArnName::new("ecs:container-instance", format!("{cluster}/*")),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_ROLLBACK, &self.service)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn validate(&self, _: &Environment) -> Result<()> {
        naming::validate_logical_id("rollback.service", &self.service)?;
        naming::validate_logical_id("rollback.cluster", &self.cluster)
    }
    fn trigger(&self, _: &Environment, _: &Inputs) -> Value {
        Value::str("to the previous revision")
    }
    async fn last_trigger(&self, _: &Context, _: &Inputs) -> Result<Option<String>> {
        // A rollback is asked for each time: it always runs.
        Ok(None)
    }
    async fn run(&self, ctx: &Context, _: &Inputs, _: &str, guard: &Guard) -> Result<Outputs> {
        let rid = self.id();
        let (cluster, service) = self.names(ctx.env());
        let s = crate::service::describe(ctx, &rid, &cluster, &service)
            .await?
            .ok_or_else(|| self.fail(format!("service {service} not found in {cluster}")))?;
        let current = s.task_definition().unwrap_or_default().to_string();
        let (family, _) = revision_of(&current)
            .ok_or_else(|| self.fail(format!("cannot read the revision of {current}")))?;
        // Back from the newest revision (the last deploy) to the one before it; the circuit
        // breaker may already have put the service there.
        let revisions = crate::taskdef::revisions(ctx, &rid, &family).await?;
        let (target, newest, undone) = match revisions.as_slice() {
            [(n, u), (_, t), ..] => (t.clone(), *n, u.clone()),
            _ => {
                return Err(self.fail(format!(
                    "{family} has no earlier active revision to go back to"
                )));
            }
        };
        if current != target {
            let req = client(ctx)
                .update_service()
                .cluster(&cluster)
                .service(&service)
                .task_definition(&target);
            guard.send("UpdateService", &[], req.send()).await?;
        }
        crate::steady::wait(ctx, &rid, &cluster, &service, Some(&target)).await?;
        let target_rev = revision_of(&target).map_or(0, |(_, r)| r);
        for (_, arn) in revisions
            .iter()
            .filter(|(r, _)| *r > target_rev && *r <= newest)
        {
            let req = client(ctx)
                .deregister_task_definition()
                .task_definition(arn);
            guard
                .send("DeregisterTaskDefinition", &[], req.send())
                .await?;
        }
        let mut out = Outputs::new();
        // `from`: the revision of the deploy undone (the service may already have been back
        // on `to`, put there by the circuit breaker: `serving_before` says).
        out.insert("from".into(), undone.into());
        out.insert("serving_before".into(), current.into());
        out.insert("to".into(), target.into());
        Ok(out)
    }
}
