//! Target group deletion while ELB still counts a deleted listener rule as using it.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::operation::delete_target_group::{
    DeleteTargetGroupError, DeleteTargetGroupOutput,
};
use skyforge_core::testing::{aws_error, mock, offline_context};
use skyforge_core::{Environment, Guard, ResourceId, Stage, mocked_client};

#[tokio::test]
async fn a_target_group_still_in_use_by_a_deleted_rule_is_retried() {
    let arn =
        "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/mock-api/6d0ecf831eec9f09";
    let delete = mock!(Client::delete_target_group)
        .match_requests(move |r| r.target_group_arn() == Some(arn))
        .sequence()
        .error(|| {
            DeleteTargetGroupError::generic(aws_error(
                "ResourceInUse",
                "Target group is currently in use by a listener or a rule",
            ))
        })
        .times(3)
        .output(|| DeleteTargetGroupOutput::builder().build())
        .build();
    let ctx = offline_context(Environment::new("mock", Stage::Staging)).await;
    let elb = mocked_client!(aws_sdk_elasticloadbalancingv2, &ctx, [&delete]);
    let ctx = ctx.with_client(elb);
    let guard = Guard::unguarded(ResourceId::new("target_group", "api"));
    crate::target_group::delete(&ctx, &guard, arn)
        .await
        .expect("deleted once the rule is gone");
    assert_eq!(delete.num_calls(), 4);
}
