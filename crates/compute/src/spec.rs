//! The `FargateService` builder: what a user declares.

use skyforge_core::{Input, Result};
use skyforge_iam::Statement;
use skyforge_loadbalancing::TargetGroupRef;
use skyforge_network::{GroupHandle, Private, Public, SubnetHandle, Subnets};
use typed_builder::TypedBuilder;

use crate::cluster::ClusterHandle;
use crate::container::Container;
use crate::discovery::NamespaceHandle;

/// Task CPU units and memory (MiB): a pair Fargate offers (`TaskSize::new(512, 1024)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskSize {
    /// CPU units (256 = 0.25 vCPU).
    pub cpu: u32,
    /// Memory in MiB.
    pub memory: u32,
}

impl TaskSize {
    /// `cpu` units with `memory` MiB; checked against Fargate's table at build.
    pub const fn new(cpu: u32, memory: u32) -> TaskSize {
        TaskSize { cpu, memory }
    }
}

/// CPU architecture of the task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Arch {
    /// x86-64 (default).
    #[default]
    X86_64,
    /// Graviton.
    Arm64,
}

impl Arch {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "X86_64",
            Arch::Arm64 => "ARM64",
        }
    }
}

/// Where the tasks run.
#[derive(Debug, Clone)]
pub struct ServiceSubnets {
    pub(crate) subnets: Vec<SubnetHandle>,
    pub(crate) public: bool,
    pub(crate) assign_public_ip: bool,
}

impl ServiceSubnets {
    /// Public subnets, each task with a public IP (no NAT needed to pull images) or without
    /// (a plan warning: tasks could not reach ECR).
    pub fn public(subnets: Subnets<Public>, assign_public_ip: bool) -> ServiceSubnets {
        ServiceSubnets {
            subnets: subnets.handles().to_vec(),
            public: true,
            assign_public_ip,
        }
    }
}

impl From<Subnets<Private>> for ServiceSubnets {
    fn from(s: Subnets<Private>) -> Self {
        ServiceSubnets {
            subnets: s.handles().to_vec(),
            public: false,
            assign_public_ip: false,
        }
    }
}

/// Target tracking on one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleOn {
    /// Average CPU utilisation, percent.
    Cpu(f64),
    /// Average memory utilisation, percent.
    Memory(f64),
    /// Requests per target per minute through the load balancer's target group (the
    /// service's route).
    RequestsPerTarget(f64),
}

impl ScaleOn {
    pub(crate) fn name(&self) -> &'static str {
        match self {
            ScaleOn::Cpu(_) => "cpu",
            ScaleOn::Memory(_) => "memory",
            ScaleOn::RequestsPerTarget(_) => "requests",
        }
    }
    pub(crate) fn target(&self) -> f64 {
        match self {
            ScaleOn::Cpu(v) | ScaleOn::Memory(v) | ScaleOn::RequestsPerTarget(v) => *v,
        }
    }
}

/// Task-count autoscaling: bounds, metrics and cooldowns. The alarms AWS creates for target
/// tracking are AWS's (`TargetTracking-*`): skyforge neither lists nor deletes them.
#[derive(Debug, Clone, PartialEq)]
pub struct Autoscaling {
    /// Fewest tasks.
    pub min: u32,
    /// Most tasks.
    pub max: u32,
    /// Metrics tracked (one policy each).
    pub metrics: Vec<ScaleOn>,
    /// Seconds after a scale-out before another (default 60).
    pub scale_out_cooldown_secs: u32,
    /// Seconds after a scale-in before another (default 300).
    pub scale_in_cooldown_secs: u32,
}

impl Autoscaling {
    /// Between `min` and `max` tasks; add metrics with [`Autoscaling::on`].
    pub fn between(min: u32, max: u32) -> Autoscaling {
        Autoscaling {
            min,
            max,
            metrics: Vec::new(),
            scale_out_cooldown_secs: 60,
            scale_in_cooldown_secs: 300,
        }
    }
    /// Track `metric`.
    pub fn on(mut self, metric: ScaleOn) -> Self {
        self.metrics.push(metric);
        self
    }
    /// Cooldowns in seconds.
    pub fn cooldowns(mut self, scale_out_secs: u32, scale_in_secs: u32) -> Self {
        self.scale_out_cooldown_secs = scale_out_secs;
        self.scale_in_cooldown_secs = scale_in_secs;
        self
    }
}

/// Register the tasks in a private DNS namespace as `<name>.<namespace>` (A records).
#[derive(Debug, Clone)]
pub struct Discovery {
    pub(crate) namespace: NamespaceHandle,
    pub(crate) name: String,
    pub(crate) ttl_secs: u32,
}

impl Discovery {
    /// `name` in `namespace`, TTL 60 s.
    pub fn new(namespace: &NamespaceHandle, name: impl Into<String>) -> Discovery {
        Discovery {
            namespace: namespace.clone(),
            name: name.into(),
            ttl_secs: 60,
        }
    }
    /// DNS TTL in seconds.
    pub fn ttl(mut self, secs: u32) -> Self {
        self.ttl_secs = secs;
        self
    }
}

/// The load balancer route a service serves, and which container takes its traffic.
#[derive(Debug, Clone)]
pub struct Attachment {
    pub(crate) target: TargetGroupRef,
    pub(crate) container: String,
}

impl Attachment {
    /// Container `container` serves `target` (on the target group's port).
    pub fn new(target: TargetGroupRef, container: impl Into<String>) -> Attachment {
        Attachment {
            target,
            container: container.into(),
        }
    }
}

/// Capacity provider for a service or a cluster's default strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityShare {
    /// `FARGATE_SPOT` (true) or `FARGATE`.
    pub spot: bool,
    /// Relative weight.
    pub weight: u32,
    /// Tasks placed here first.
    pub base: u32,
}

impl CapacityShare {
    /// On-demand Fargate with `weight`.
    pub fn fargate(weight: u32) -> CapacityShare {
        CapacityShare {
            spot: false,
            weight,
            base: 0,
        }
    }
    /// Fargate Spot with `weight` (interruptible, no fallback to on-demand).
    pub fn spot(weight: u32) -> CapacityShare {
        CapacityShare {
            spot: true,
            weight,
            base: 0,
        }
    }
    /// The first `base` tasks go here.
    pub fn base(mut self, base: u32) -> Self {
        self.base = base;
        self
    }
    pub(crate) fn provider(&self) -> &'static str {
        if self.spot { "FARGATE_SPOT" } else { "FARGATE" }
    }
}

/// An ECS service on Fargate: its task definition, roles, log group, security group,
/// autoscaling and discovery.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<FargateService>))]
pub struct FargateServiceSpec {
    /// Logical id (`api`); the service, family and roles are named from it.
    #[builder(setter(into))]
    pub logical_id: String,
    /// The cluster.
    pub cluster: ClusterHandle,
    /// The VPC (for the service's security group).
    #[builder(setter(into))]
    pub vpc: Input<String>,
    /// Where tasks run (private subnets, or public ones with a public IP).
    #[builder(setter(into))]
    pub subnets: ServiceSubnets,
    /// CPU and memory of a task.
    pub size: TaskSize,
    /// CPU architecture.
    #[builder(default)]
    pub arch: Arch,
    /// The containers (the first is the main one).
    pub containers: Vec<Container>,
    /// Tasks on the first deploy; afterwards autoscaling and operators own the count.
    #[builder(default = 1)]
    pub desired_count: u32,
    /// The load balancer route served.
    #[builder(default, setter(strip_option))]
    pub load_balancer: Option<Attachment>,
    /// Use this security group instead of creating one (created earlier so a database can
    /// allow it); the load balancer's group is allowed on the container port either way.
    #[builder(default, setter(strip_option))]
    pub security_group: Option<GroupHandle>,
    /// Task-count autoscaling (`autoscaling_opt` takes an `Option`).
    #[builder(default, setter(strip_option(fallback = autoscaling_opt)))]
    pub autoscaling: Option<Autoscaling>,
    /// Cloud Map registration (`discovery_opt` takes an `Option`).
    #[builder(default, setter(strip_option(fallback = discovery_opt)))]
    pub discovery: Option<Discovery>,
    /// What the application may do (`bucket.grant(Access::Read)`): the task role's policy.
    #[builder(default)]
    pub grants: Vec<Statement>,
    /// Log retention in days (one CloudWatch Logs accepts); default 30.
    #[builder(default = 30)]
    pub log_retention_days: u32,
    /// A KMS key (ARN) for the log group's events; default CloudWatch Logs' own encryption.
    #[builder(default, setter(strip_option, into))]
    pub log_kms_key: Option<String>,
    /// The log group's name; default `/ecs/<project>/<stage>/<logical>`.
    #[builder(default, setter(strip_option, into))]
    pub log_group_name: Option<String>,
    /// Seconds load balancer health checks are ignored after a task starts; default 60 with a
    /// load balancer (CDK's), none without.
    #[builder(default, setter(strip_option))]
    pub health_check_grace_secs: Option<u32>,
    /// Tasks kept running during a deploy, percent of desired; default 100 (never below).
    #[builder(default = 100)]
    pub min_healthy_percent: u32,
    /// Tasks allowed during a deploy, percent of desired; default 200.
    #[builder(default = 200)]
    pub max_percent: u32,
    /// Roll back a deployment whose tasks keep failing (circuit breaker); default on.
    #[builder(default = true)]
    pub rollback_on_failure: bool,
    /// Allow `aws ecs execute-command` into tasks (adds the SSM messages permissions).
    #[builder(default)]
    pub execute_command: bool,
    /// Capacity providers; default the cluster's strategy (on-demand Fargate).
    #[builder(default)]
    pub capacity: Vec<CapacityShare>,
    /// Deploy this tag: the containers' stack-repository images use it instead of their tag,
    /// and replace what is deployed (a new revision, the migration first, then the rollout).
    /// Without it, the images deployed (by CI or an earlier deploy) are kept. `deploy_tag_opt`
    /// takes an `Option` (a release that may not be for this service).
    #[builder(default, setter(into, strip_option(fallback = deploy_tag_opt)))]
    pub deploy_tag: Option<String>,
    /// A one-off task run before the service changes whenever its image changes (database
    /// migrations); the deploy stops if it fails (`migration_opt` takes an `Option`).
    #[builder(default, setter(strip_option(fallback = migration_opt)))]
    pub migration: Option<crate::migration::Migration>,
    /// Task definition revisions kept active for rollbacks; older ones are deregistered.
    #[builder(default = 10)]
    pub keep_revisions: u32,
}

/// A validated service, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct FargateService {
    pub(crate) spec: FargateServiceSpec,
}

impl FargateService {
    /// Start a service.
    pub fn builder() -> FargateServiceSpecBuilder {
        FargateServiceSpec::builder()
    }
    /// The spec.
    pub fn spec(&self) -> &FargateServiceSpec {
        &self.spec
    }
}

impl From<FargateServiceSpec> for Result<FargateService> {
    fn from(spec: FargateServiceSpec) -> Self {
        crate::validate::service(&spec)?;
        Ok(FargateService { spec })
    }
}

impl FargateServiceSpec {
    /// The grace period in effect.
    pub(crate) fn grace(&self) -> Option<u32> {
        self.health_check_grace_secs
            .or(self.load_balancer.as_ref().map(|_| 60))
    }
}
