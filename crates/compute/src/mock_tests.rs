//! ECS answers an emulator cannot give: a cluster still holding the tasks of a deleted service,
//! and a role that IAM created a moment ago and ECS cannot assume yet.

use aws_sdk_ecs::Client;
use aws_sdk_ecs::operation::create_service::{CreateServiceError, CreateServiceOutput};
use aws_sdk_ecs::operation::delete_cluster::{DeleteClusterError, DeleteClusterOutput};
use skyforge_core::testing::{Rule, aws_error, mock, offline_context};
use skyforge_core::{Context, Environment, Guard, ResourceId, Stage, mocked_client};

async fn context(rules: &[&Rule]) -> Context {
    let ctx = offline_context(Environment::new("mock", Stage::Staging)).await;
    let ecs = mocked_client!(aws_sdk_ecs, &ctx, rules);
    ctx.with_client(ecs)
}

#[tokio::test]
async fn a_cluster_still_stopping_tasks_is_deleted_once_they_are_gone() {
    let delete = mock!(Client::delete_cluster)
        .sequence()
        .error(|| {
            DeleteClusterError::generic(aws_error(
                "ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active.",
            ))
        })
        .times(2)
        .output(|| DeleteClusterOutput::builder().build())
        .build();
    let ctx = context(&[&delete]).await;
    let guard = Guard::unguarded(ResourceId::new("ecs_cluster", "main"));
    crate::cluster::delete_cluster(&ctx, &guard, "mock-staging-main")
        .await
        .expect("deleted once the tasks stopped");
    assert_eq!(delete.num_calls(), 3);
}

fn create_service_refused(message: &'static str) -> Rule {
    mock!(Client::create_service)
        .sequence()
        .error(move || CreateServiceError::generic(aws_error("InvalidParameterException", message)))
        .times(2)
        .output(|| CreateServiceOutput::builder().build())
        .build()
}

async fn create_service(ctx: &Context) -> skyforge_core::Result<()> {
    let ecs = ctx.client(Client::new);
    Guard::unguarded(ResourceId::new("ecs_service", "api"))
        .send_until(
            ctx,
            crate::service::ROLE_PROPAGATING,
            "CreateService",
            &[],
            || ecs.create_service().service_name("mock-staging-api").send(),
        )
        .await
}

#[tokio::test]
async fn a_role_ecs_cannot_assume_yet_is_waited_for() {
    let create = create_service_refused(
        "Unable to assume the service linked role. Please verify that the ECS service linked role exists.",
    );
    let ctx = context(&[&create]).await;
    create_service(&ctx)
        .await
        .expect("created once IAM propagated the role");
    assert_eq!(create.num_calls(), 3);
}

#[tokio::test]
async fn another_invalid_parameter_fails_at_once() {
    let create = create_service_refused("Invalid revision number. Number: 0");
    let ctx = context(&[&create]).await;
    let err = create_service(&ctx)
        .await
        .expect_err("a bad argument is not lag");
    assert_eq!(err.aws_code(), Some("InvalidParameterException"));
    assert_eq!(create.num_calls(), 1);
}
