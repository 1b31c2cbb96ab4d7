//! The two roles of a service. The execution role (ECS's agent) may pull from exactly the
//! stack's repositories the containers use, write to the service's log group and read exactly
//! the secrets and parameters the containers reference. The task role (the application) gets
//! the grants the spec lists, and the SSM channels when `execute_command` is on.

use std::collections::BTreeMap;

use skyforge_core::{Input, Ref, Result};
use skyforge_iam::{PolicyDocument, Role, Statement, Trust};
use skyforge_secrets::SecretKind;

use crate::container::Image;
use crate::spec::FargateServiceSpec;

/// Why `ecr:GetAuthorizationToken` names `*`.
pub const ECR_TOKEN_REASON: &str =
    "ecr:GetAuthorizationToken has no resource type: IAM accepts only * for it";
/// Why the SSM message channels of ECS Exec name `*`.
pub const EXEC_CHANNELS_REASON: &str =
    "ssmmessages channel actions have no resource type: IAM accepts only * for them";

fn trust(account: Ref<String>) -> Trust {
    // Confused-deputy guard: only ECS acting for this account may assume the role.
    Trust::service("ecs-tasks.amazonaws.com").when("StringEquals", "aws:SourceAccount", [account])
}

fn push_unique(v: &mut Vec<Input<String>>, x: Input<String>) {
    if !v.contains(&x) {
        v.push(x);
    }
}

/// The execution role's statements.
pub fn execution_statements(
    spec: &FargateServiceSpec,
    log_group_arn: Ref<String>,
) -> Vec<Statement> {
    let mut repos = Vec::new();
    let mut by_action: BTreeMap<&'static str, Vec<Input<String>>> = BTreeMap::new();
    for c in &spec.containers {
        if let Image::Registry { arn, .. } = &c.image {
            push_unique(&mut repos, Input::Ref(*arn));
        }
        for s in c.secrets.values() {
            let action = match s.kind() {
                SecretKind::SecretsManager => "secretsmanager:GetSecretValue",
                SecretKind::Parameter => "ssm:GetParameters",
            };
            push_unique(by_action.entry(action).or_default(), Input::Ref(s.arn()));
        }
    }
    let mut out = Vec::new();
    if !repos.is_empty() {
        out.push(
            Statement::allow(["ecr:GetAuthorizationToken"])
                .sid("EcrToken")
                .on_any(ECR_TOKEN_REASON),
        );
        let pull = Statement::allow([
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:BatchGetImage",
        ])
        .sid("EcrPull");
        out.push(repos.into_iter().fold(pull, Statement::on));
    }
    out.push(
        Statement::allow(["logs:CreateLogStream", "logs:PutLogEvents"])
            .sid("Logs")
            .under(log_group_arn, ":*"),
    );
    for (action, arns) in by_action {
        let sid = if action.starts_with("ssm") {
            "Parameters"
        } else {
            "Secrets"
        };
        out.push(
            arns.into_iter()
                .fold(Statement::allow([action]).sid(sid), Statement::on),
        );
    }
    out
}

pub(crate) fn execution_role(
    spec: &FargateServiceSpec,
    account: Ref<String>,
    log_group_arn: Ref<String>,
) -> Result<Role> {
    let doc = PolicyDocument::new(execution_statements(spec, log_group_arn));
    Role::builder()
        .logical_id(format!("{}-execution", spec.logical_id))
        .trust(trust(account))
        .description(format!(
            "ECS execution role of service {} (skyforge)",
            spec.logical_id
        ))
        .policies([("execution".to_string(), doc)].into())
        .build()
}

pub(crate) fn task_role(spec: &FargateServiceSpec, account: Ref<String>) -> Result<Role> {
    let mut statements = spec.grants.clone();
    if spec.execute_command {
        statements.push(
            Statement::allow([
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ])
            .sid("EcsExec")
            .on_any(EXEC_CHANNELS_REASON),
        );
    }
    let policies = if statements.is_empty() {
        BTreeMap::new()
    } else {
        [("app".to_string(), PolicyDocument::new(statements))].into()
    };
    Role::builder()
        .logical_id(format!("{}-task", spec.logical_id))
        .trust(trust(account))
        .description(format!(
            "ECS task role of service {} (skyforge)",
            spec.logical_id
        ))
        .policies(policies)
        .build()
}
