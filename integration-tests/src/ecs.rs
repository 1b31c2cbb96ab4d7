//! ECS helpers for tests of services: the service as ECS describes it, the image a revision
//! runs.

use crate::TestStack;

/// Service `<prefix>-<service>` of cluster `<prefix>-<cluster>` (logical ids), as described.
pub async fn ecs_service(
    t: &TestStack,
    cluster: &str,
    service: &str,
) -> aws_sdk_ecs::types::Service {
    let p = t.env.prefix();
    let out = t
        .ctx
        .client(aws_sdk_ecs::Client::new)
        .describe_services()
        .cluster(format!("{p}-{cluster}"))
        .services(format!("{p}-{service}"))
        .send()
        .await
        .expect("DescribeServices");
    out.services().first().cloned().expect("the service exists")
}

/// The image of the first container of task definition `task_definition`.
pub async fn task_image(t: &TestStack, task_definition: &str) -> String {
    let out = t
        .ctx
        .client(aws_sdk_ecs::Client::new)
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let td = out.task_definition().expect("a task definition");
    td.container_definitions()[0]
        .image()
        .unwrap_or_default()
        .to_string()
}
