//! Adding a service to a stack: log group, security group, roles, Cloud Map service, task
//! definition, service and autoscaling.

use skyforge_core::naming::{self, NameKind};
use skyforge_core::{Component, NodeId, Ref, Stack};
use skyforge_iam::RoleHandle;
use skyforge_logs::LogGroup;
use skyforge_network::{GroupHandle, Rule, SecurityGroup};

use crate::discovery::SdServiceNode;
use crate::migration::{Migration, MigrationAction};
use crate::owned::{KIND_LOG_GROUP, log_prefix};
use crate::scaling::ScalingNode;
use crate::service::ServiceNode;
use crate::spec::{FargateService, FargateServiceSpec};
use crate::taskdef::TaskDefNode;

/// A service in a stack.
#[derive(Debug, Clone)]
pub struct ServiceHandle {
    service: NodeId,
    task_definition: NodeId,
    log_group: NodeId,
    security_group: GroupHandle,
    execution_role: RoleHandle,
    task_role: RoleHandle,
    dns_name: Option<String>,
}

impl ServiceHandle {
    /// The service's name.
    pub fn name(&self) -> Ref<String> {
        Ref::new(self.service, "name")
    }
    /// The service's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.service, "arn")
    }
    /// The name of the service's cluster (with the service's name, what CloudWatch's `AWS/ECS`
    /// metrics are keyed by).
    pub fn cluster_name(&self) -> Ref<String> {
        Ref::new(self.service, "cluster")
    }
    /// The service node.
    pub fn node(&self) -> NodeId {
        self.service
    }
    /// The current task definition revision's ARN.
    pub fn task_definition_arn(&self) -> Ref<String> {
        Ref::new(self.task_definition, "arn")
    }
    /// The task definition node.
    pub fn task_definition_node(&self) -> NodeId {
        self.task_definition
    }
    /// The log group's name.
    pub fn log_group_name(&self) -> Ref<String> {
        Ref::new(self.log_group, "name")
    }
    /// The tasks' security group (allow it on a database or cache: `allow_from`).
    pub fn security_group(&self) -> &GroupHandle {
        &self.security_group
    }
    /// The execution role (ECS's agent).
    pub fn execution_role(&self) -> RoleHandle {
        self.execution_role
    }
    /// The task role (the application).
    pub fn task_role(&self) -> RoleHandle {
        self.task_role
    }
    /// `<name>.<namespace>` when registered in Cloud Map.
    pub fn dns_name(&self) -> Option<&str> {
        self.dns_name.as_deref()
    }
}

fn own_group(stack: &mut Stack, s: &FargateServiceSpec) -> GroupHandle {
    stack.add(
        SecurityGroup::builder()
            .vpc(s.vpc.clone())
            .name(format!("{}-tasks", s.logical_id))
            .description(format!("tasks of service {}", s.logical_id))
            .build()
            .expect("a validated service makes a valid security group"),
    )
}

/// The migration's task definition (the container's image and secrets, the migration's
/// command and size, its own log stream prefix) and the action running it.
fn add_migration(
    stack: &mut Stack,
    s: &FargateServiceSpec,
    m: &Migration,
    roles: (Ref<String>, Ref<String>),
    logs: (Ref<String>, String),
    security_group: Ref<String>,
) -> NodeId {
    let name = m
        .container
        .clone()
        .unwrap_or_else(|| s.containers[0].name.clone());
    let mut c = s
        .containers
        .iter()
        .find(|c| c.name == name)
        .cloned()
        .expect("a validated migration names a container of the task");
    c.ports.clear();
    c.health = None;
    c.depends_on.clear();
    c.essential = true;
    c.command = m.command.clone();
    let mut spec = s.clone();
    spec.logical_id = format!("{}-migrate", s.logical_id);
    spec.containers = vec![c];
    spec.size = m.size;
    let family =
        naming::physical_name(stack.env(), NameKind::Ecs, &spec.logical_id).unwrap_or_default();
    let td = stack.add_resource(TaskDefNode {
        spec: spec.clone(),
        family: family.clone(),
        log_group: logs.0,
        log_group_name: logs.1.clone(),
        execution_role: roles.0,
        task_role: roles.1,
    });
    stack.add_action(MigrationAction {
        logical: s.logical_id.clone(),
        container: name,
        family,
        task_definition: Ref::new(td, "arn"),
        images: Ref::new(td, "images"),
        cluster: s.cluster.name(),
        subnets: s.subnets.subnets.iter().map(|h| h.id).collect(),
        security_group,
        public_ip: s.subnets.assign_public_ip,
        log_group: logs.1,
        stream_prefix: spec.logical_id,
    })
}

impl Component for FargateService {
    type Handle = ServiceHandle;
    fn add_to(self, stack: &mut Stack) -> ServiceHandle {
        crate::owned::register_kinds(stack);
        let s = self.spec;
        let id = s.logical_id.clone();
        let account = skyforge_iam::current_account(stack);
        let log_name = s
            .log_group_name
            .clone()
            .unwrap_or_else(|| format!("{}{id}", log_prefix(stack.env())));
        let mut logs = LogGroup::new(
            KIND_LOG_GROUP,
            format!("{id}-logs"),
            log_name.clone(),
            s.log_retention_days,
        );
        if let Some(k) = &s.log_kms_key {
            logs = logs.kms_key(k.clone());
        }
        let log_group = stack.add(logs);
        let sg = s
            .security_group
            .clone()
            .unwrap_or_else(|| own_group(stack, &s));
        if let Some(lb) = &s.load_balancer {
            let from = &lb.target.load_balancer_group;
            stack.add(sg.rules(vec![
                    Rule::tcp(lb.target.port)
                        .from(from)
                        .describe(format!("load balancer to {id}")),
                ]));
        }
        let log_arn = Ref::new(log_group, "arn");
        let exec = stack.add(
            crate::roles::execution_role(&s, account, log_arn)
                .expect("a validated service makes a valid execution role"),
        );
        let task = stack.add(
            crate::roles::task_role(&s, account)
                .expect("a validated service makes a valid task role"),
        );
        let registry = s.discovery.as_ref().map(|d| {
            let node = stack.add_resource(SdServiceNode {
                logical: id.clone(),
                name: d.name.clone(),
                ttl_secs: d.ttl_secs,
                namespace: d.namespace.id(),
            });
            Ref::new(node, "arn")
        });
        let family = naming::physical_name(stack.env(), NameKind::Ecs, &id).unwrap_or_default();
        let td = stack.add_resource(TaskDefNode {
            spec: s.clone(),
            family,
            log_group: log_arn,
            log_group_name: log_name.clone(),
            execution_role: exec.arn(),
            task_role: task.arn(),
        });
        let roles = (exec.arn(), task.arn());
        let migration = s.migration.as_ref().map(|m| {
            let logs = (log_arn, log_name.clone());
            add_migration(stack, &s, m, roles, logs, sg.id())
        });
        let after = s.load_balancer.iter().map(|a| a.target.attached_by);
        let service = stack.add_resource(ServiceNode {
            spec: s.clone(),
            cluster: s.cluster.name(),
            task_definition: Ref::new(td, "arn"),
            security_group: sg.id(),
            registry,
            after: after.chain(migration).collect(),
        });
        if let Some(a) = &s.autoscaling {
            stack.add_resource(ScalingNode {
                logical: id.clone(),
                scaling: a.clone(),
                cluster: s.cluster.name(),
                service: Ref::new(service, "name"),
                target: s
                    .load_balancer
                    .as_ref()
                    .map(|l| (l.target.load_balancer_arn, l.target.arn)),
            });
        }
        ServiceHandle {
            service,
            task_definition: td,
            log_group,
            security_group: sg,
            execution_role: exec,
            task_role: task,
            dns_name: s
                .discovery
                .as_ref()
                .map(|d| format!("{}.{}", d.name, d.namespace.name())),
        }
    }
}
