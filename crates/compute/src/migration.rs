//! Migrations: a one-off task run before a service changes, whenever its image changes, gated
//! on the essential container's exit code. An action node of the engine: its trigger is the
//! image of the migration task definition's newest revision; a successful run tags that
//! revision (`skyforge:migrated`), so a run resumed after a crash does not migrate twice.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::NetworkConfiguration;
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
        let sg = inputs.require(&self.security_group, rid)?;
        crate::service::awsvpc(rid, subnets, sg, self.public_ip)
    }
}

/// The calls of a migration run (and of `migrate`, which finds the newest migration revision):
/// the task, its roles handed to ECS, its log read when it fails.
pub(crate) const MIGRATION_PERMISSIONS: Permissions = Permissions {
    observe: &[],
    create: &[
        "ecs:DescribeTaskDefinition",
        "ecs:RunTask",
        "ecs:DescribeTasks",
        "ecs:TagResource",
        "iam:PassRole",
        "logs:GetLogEvents",
        "ecs:ListTaskDefinitions",
    ],
    update: &[],
    delete: &[],
};

#[async_trait]
impl ActionNode for MigrationAction {
    fn permissions(&self) -> Option<Permissions> {
        Some(MIGRATION_PERMISSIONS)
    }
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        vec![
            ArnName::new("ecs:task-definition", format!("{}:*", self.family)),
            ArnName::new(
                "logs:log-stream",
                format!("{}:log-stream:*", self.log_group),
            ),
        ]
    }
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
        let Some(out) = crate::taskdef::described(ctx, self.id(), &self.family).await? else {
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
        let run = crate::runner::OneOff {
            cluster: inputs.require(&self.cluster, &rid)?,
            task_definition: inputs.require(&self.task_definition, &rid)?,
            network: self.network(inputs, &rid)?,
            container: self.container.clone(),
            log_group: self.log_group.clone(),
            stream_prefix: self.stream_prefix.clone(),
        };
        let task = run.execute(ctx, &rid, trigger, guard).await?;
        let mut out = Outputs::new();
        out.insert("task".into(), task.into());
        out.insert("image".into(), trigger.into());
        Ok(out)
    }
}

/// Resource kind `migrate` (an action run on request).
pub const KIND_MIGRATE: &str = "migrate";

/// Run a service's migration now, whatever its record says (the driver's `migrate`: after
/// fixing what made it fail): the newest revision of the migration task definition, in the
/// service's own network configuration. An action: run it in a stack of its own through a
/// guarded run, and it is locked and journaled like an apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migrate {
    cluster: String,
    service: String,
}

impl Migrate {
    /// The migration of the service with logical id `service` in cluster `cluster`.
    pub fn new(cluster: impl Into<String>, service: impl Into<String>) -> Migrate {
        Migrate {
            cluster: cluster.into(),
            service: service.into(),
        }
    }
    fn missing(&self, what: String) -> Error {
        Error::Resource {
            resource: ResourceId::new(KIND_MIGRATE, &self.service).to_string(),
            message: what,
        }
    }
    async fn one_off(
        &self,
        ctx: &Context,
        rid: &ResourceId,
    ) -> Result<(crate::runner::OneOff, String)> {
        let name = |l: &str| {
            skyforge_core::naming::physical_name(ctx.env(), skyforge_core::naming::NameKind::Ecs, l)
        };
        let (cluster, service) = (name(&self.cluster)?, name(&self.service)?);
        let family = name(&format!("{}-migrate", self.service))?;
        let s = crate::service::describe(ctx, rid, &cluster, &service)
            .await?
            .ok_or_else(|| self.missing(format!("service {service} not found in {cluster}")))?;
        let network = s.network_configuration().cloned().ok_or_else(|| {
            self.missing(format!("service {service} has no awsvpc configuration"))
        })?;
        let td = client(ctx)
            .describe_task_definition()
            .task_definition(&family)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeTaskDefinition", e))?
            .task_definition
            .ok_or_else(|| self.missing(format!("{family} has no active revision")))?;
        let c = td
            .container_definitions()
            .first()
            .ok_or_else(|| self.missing(format!("{family} has no container")))?;
        let opts = c.log_configuration().and_then(|l| l.options());
        let opt = |k: &str| opts.and_then(|o| o.get(k)).cloned().unwrap_or_default();
        let run = crate::runner::OneOff {
            cluster,
            task_definition: td.task_definition_arn().unwrap_or_default().to_string(),
            network,
            container: c.name().unwrap_or_default().to_string(),
            log_group: opt("awslogs-group"),
            stream_prefix: opt("awslogs-stream-prefix"),
        };
        Ok((run, c.image().unwrap_or_default().to_string()))
    }
}

#[async_trait]
impl ActionNode for Migrate {
    fn permissions(&self) -> Option<Permissions> {
        // `migrate` runs the newest migration revision as a deploy runs it.
        Some(MIGRATION_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        use skyforge_core::naming::{NameKind, physical_name};
        let name = |l: &str| physical_name(env, NameKind::Ecs, l).unwrap_or_default();
        let family = name(&format!("{}-migrate", self.service));
        vec![
            ArnName::new("ecs:task-definition", format!("{family}:*")),
            ArnName::new("ecs:task", format!("{}/*", name(&self.cluster))),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_MIGRATE, &self.service)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn validate(&self, _: &Environment) -> Result<()> {
        skyforge_core::naming::validate_logical_id("migrate.service", &self.service)?;
        skyforge_core::naming::validate_logical_id("migrate.cluster", &self.cluster)
    }
    fn trigger(&self, _: &Environment, _: &Inputs) -> Value {
        Value::str("now")
    }
    async fn last_trigger(&self, _: &Context, _: &Inputs) -> Result<Option<String>> {
        // Asked for each time: it always runs.
        Ok(None)
    }
    async fn run(&self, ctx: &Context, _: &Inputs, _: &str, guard: &Guard) -> Result<Outputs> {
        let rid = self.id();
        let (run, image) = self.one_off(ctx, &rid).await?;
        let task = run.execute(ctx, &rid, &image, guard).await?;
        let mut out = Outputs::new();
        out.insert("task".into(), task.into());
        out.insert("image".into(), image.into());
        Ok(out)
    }
}
