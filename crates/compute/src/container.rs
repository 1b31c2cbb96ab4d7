//! Containers of a task: image, ports, plain environment, secrets, health check, order.

use std::collections::BTreeMap;

use skyforge_core::{Input, Inputs, NodeId, Ref};
use skyforge_registry::RepositoryHandle;
use skyforge_secrets::SecretRef;

/// Where a container's image comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// A repository of the stack and a tag (`api:2024-06-01`): the execution role may pull
    /// from exactly this repository.
    Registry {
        /// The repository's URI.
        uri: Ref<String>,
        /// Its ARN (for the pull permission).
        arn: Ref<String>,
        /// The tag the first deploy uses; later deploys are CI's.
        tag: String,
    },
    /// An image outside the stack (`public.ecr.aws/docker/library/redis:7-alpine`).
    External(String),
}

impl Image {
    /// `repo`'s image `tag`.
    pub fn registry(repo: &RepositoryHandle, tag: impl Into<String>) -> Image {
        Image::Registry {
            uri: repo.uri(),
            arn: repo.arn(),
            tag: tag.into(),
        }
    }
    /// An image by its full reference.
    pub fn external(reference: impl Into<String>) -> Image {
        Image::External(reference.into())
    }
    /// The image reference; a stack repository's image with `release` instead of its tag when
    /// a deploy gives one.
    pub(crate) fn reference(&self, inputs: &Inputs, release: Option<&str>) -> Option<String> {
        match self {
            Image::Registry { uri, tag, .. } => {
                let tag = release.unwrap_or(tag);
                inputs.get(uri).map(|u: String| format!("{u}:{tag}"))
            }
            Image::External(r) => Some(r.clone()),
        }
    }
    pub(crate) fn dependency(&self) -> Option<NodeId> {
        match self {
            Image::Registry { uri, .. } => Some(uri.node()),
            Image::External(_) => None,
        }
    }
}

/// A container health check (ECS runs it inside the container).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerHealth {
    /// The command, `["CMD-SHELL", "curl -f http://localhost:8000/health"]` or `["CMD", ...]`.
    pub command: Vec<String>,
    /// Seconds between checks (5 to 300); default 30.
    pub interval_secs: u32,
    /// Seconds a check may take (2 to 60); default 5.
    pub timeout_secs: u32,
    /// Failures before unhealthy (1 to 10); default 3.
    pub retries: u32,
    /// Grace after start in which failures do not count (0 to 300); default 0.
    pub start_period_secs: u32,
}

impl ContainerHealth {
    /// `CMD-SHELL` `command` with ECS's defaults (30 s, 5 s, 3 retries, no start period).
    pub fn shell(command: impl Into<String>) -> ContainerHealth {
        ContainerHealth {
            command: vec!["CMD-SHELL".into(), command.into()],
            interval_secs: 30,
            timeout_secs: 5,
            retries: 3,
            start_period_secs: 0,
        }
    }
    /// Seconds between checks.
    pub fn interval(mut self, secs: u32) -> Self {
        self.interval_secs = secs;
        self
    }
    /// Seconds a check may take.
    pub fn timeout(mut self, secs: u32) -> Self {
        self.timeout_secs = secs;
        self
    }
    /// Failures before unhealthy.
    pub fn retries(mut self, n: u32) -> Self {
        self.retries = n;
        self
    }
    /// Start period.
    pub fn start_period(mut self, secs: u32) -> Self {
        self.start_period_secs = secs;
        self
    }
}

/// When a container may start relative to another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAfter {
    /// The other one started.
    Start,
    /// The other one exited with 0 (a one-off init container).
    Success,
    /// The other one's health check passes.
    Healthy,
}

impl StartAfter {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StartAfter::Start => "START",
            StartAfter::Success => "SUCCESS",
            StartAfter::Healthy => "HEALTHY",
        }
    }
}

/// One container of a task.
#[derive(Debug, Clone, PartialEq)]
pub struct Container {
    pub(crate) name: String,
    pub(crate) image: Image,
    pub(crate) ports: Vec<u16>,
    pub(crate) env: BTreeMap<String, Input<String>>,
    pub(crate) secrets: BTreeMap<String, SecretRef>,
    pub(crate) health: Option<ContainerHealth>,
    pub(crate) essential: bool,
    pub(crate) depends_on: Vec<(String, StartAfter)>,
    pub(crate) read_only_root: bool,
    pub(crate) user: Option<String>,
    pub(crate) command: Vec<String>,
    pub(crate) memory_reservation: Option<u32>,
}

impl Container {
    /// Container `name` running `image`: essential, no ports, no environment.
    pub fn new(name: impl Into<String>, image: Image) -> Container {
        Container {
            name: name.into(),
            image,
            ports: Vec::new(),
            env: BTreeMap::new(),
            secrets: BTreeMap::new(),
            health: None,
            essential: true,
            depends_on: Vec::new(),
            read_only_root: false,
            user: None,
            command: Vec::new(),
            memory_reservation: None,
        }
    }
    /// A Redis server for this task only, listening on loopback `port` (the MVP alternative
    /// to ElastiCache: data lives as long as the task, nothing outside the task reaches it).
    pub fn redis_sidecar(port: u16) -> Container {
        let mut c = Container::new(
            "redis",
            Image::external("public.ecr.aws/docker/library/redis:7-alpine"),
        );
        c.command = [
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ]
        .into_iter()
        .chain(["--save", "", "--appendonly", "no"])
        .map(String::from)
        .collect();
        c.health = Some(ContainerHealth::shell(format!("redis-cli -p {port} ping")).interval(10));
        c.memory_reservation = Some(64);
        c
    }
    /// Listen on TCP `port` (awsvpc: container port = host port).
    pub fn port(mut self, port: u16) -> Self {
        self.ports.push(port);
        self
    }
    /// A plain environment variable (never a secret: use [`Container::secret`]).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<Input<String>>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }
    /// An environment variable ECS fills from a secret or parameter at start (the value is never
    /// in the task definition; the execution role may read exactly this ARN).
    pub fn secret(mut self, key: impl Into<String>, value: SecretRef) -> Self {
        self.secrets.insert(key.into(), value);
        self
    }
    /// The health check.
    pub fn health(mut self, h: ContainerHealth) -> Self {
        self.health = Some(h);
        self
    }
    /// Whether the task stops when this container stops (default true).
    pub fn essential(mut self, essential: bool) -> Self {
        self.essential = essential;
        self
    }
    /// Start after `other` reached `when`.
    pub fn depends_on(mut self, other: impl Into<String>, when: StartAfter) -> Self {
        self.depends_on.push((other.into(), when));
        self
    }
    /// Mount the root filesystem read-only.
    pub fn read_only_root(mut self, yes: bool) -> Self {
        self.read_only_root = yes;
        self
    }
    /// Run as this user (`1000`, `node`): not root.
    pub fn user(mut self, user: impl Into<String>) -> Self {
        self.user = Some(user.into());
        self
    }
    /// Override the image's command.
    pub fn command<S: Into<String>>(mut self, args: impl IntoIterator<Item = S>) -> Self {
        self.command = args.into_iter().map(Into::into).collect();
        self
    }
    /// Soft memory limit in MiB.
    pub fn memory_reservation(mut self, mib: u32) -> Self {
        self.memory_reservation = Some(mib);
        self
    }
    /// The container's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The secrets it references, by variable.
    pub fn secrets(&self) -> &BTreeMap<String, SecretRef> {
        &self.secrets
    }
    pub(crate) fn dependencies(&self) -> Vec<NodeId> {
        let env = self.env.values().filter_map(Input::dependency);
        let secrets = self.secrets.values().map(|s| s.arn().node());
        self.image
            .dependency()
            .into_iter()
            .chain(env)
            .chain(secrets)
            .collect()
    }
}
