//! The engine against AWS answers an emulator cannot give, through a log group (the smallest
//! resource): throttling bursts, a retry budget that runs out, credentials that expire mid-run,
//! and a describe that does not yet see a fresh create.

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupOutput;
use aws_sdk_cloudwatchlogs::operation::describe_log_groups::{
    DescribeLogGroupsError, DescribeLogGroupsOutput,
};
use aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::ListTagsForResourceOutput;
use aws_sdk_cloudwatchlogs::operation::put_retention_policy::{
    PutRetentionPolicyError, PutRetentionPolicyOutput,
};
use aws_sdk_cloudwatchlogs::types::LogGroup as Described;
use skyforge_core::testing::{Rule, aws_error, mock, offline_context};
use skyforge_core::{Action, Context, Environment, Stack, Stage, mocked_client, tags};

use crate::LogGroup;

const NAME: &str = "/skyforge/mock/app";

fn env() -> Environment {
    Environment::new("mock", Stage::Staging).region("us-east-1")
}

fn stack() -> Stack {
    let mut stack = Stack::new(env());
    stack.add(LogGroup::new("log_group", "app", NAME, 30));
    stack
}

async fn context(rules: &[&Rule]) -> Context {
    let ctx = offline_context(env()).await;
    let logs = mocked_client!(aws_sdk_cloudwatchlogs, &ctx, rules);
    ctx.with_client(logs)
}

fn listed(retention: Option<i32>) -> DescribeLogGroupsOutput {
    DescribeLogGroupsOutput::builder()
        .log_groups(
            Described::builder()
                .log_group_name(NAME)
                .arn(format!(
                    "arn:aws:logs:us-east-1:111122223333:log-group:{NAME}:*"
                ))
                .set_retention_in_days(retention)
                .build(),
        )
        .build()
}

fn none_listed() -> DescribeLogGroupsOutput {
    DescribeLogGroupsOutput::builder().build()
}

fn owned_tags() -> Rule {
    mock!(Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder()
            .set_tags(Some(
                tags::resource_tags(&env(), "app").into_iter().collect(),
            ))
            .build()
    })
}

fn throttled() -> DescribeLogGroupsError {
    DescribeLogGroupsError::generic(aws_error("ThrottlingException", "Rate exceeded"))
}

#[tokio::test]
async fn a_throttling_burst_is_ridden_out_by_the_retry_policy() {
    let describe = mock!(Client::describe_log_groups)
        .sequence()
        .error(throttled)
        .times(5)
        .output(none_listed)
        .build();
    let ctx = context(&[&describe]).await;
    let plan = stack().plan(&ctx).await.expect("plan rides out throttling");
    assert!(matches!(plan.resources[0].action, Action::Create { .. }));
    assert_eq!(
        describe.num_calls(),
        6,
        "five throttled attempts, then the answer"
    );
}

#[tokio::test]
async fn throttling_past_the_retry_budget_fails_naming_call_and_code() {
    let describe = mock!(Client::describe_log_groups)
        .sequence()
        .error(throttled)
        .repeatedly()
        .build();
    let ctx = context(&[&describe]).await;
    let err = stack().plan(&ctx).await.expect_err("throttled forever");
    let text = err.to_string();
    assert!(text.contains("DescribeLogGroups"), "{text}");
    assert!(text.contains("ThrottlingException"), "{text}");
    assert_eq!(
        describe.num_calls() as u32,
        skyforge_core::context::MAX_ATTEMPTS,
        "every attempt of the budget, no more"
    );
}

#[tokio::test]
async fn expired_credentials_stop_the_run_at_once_and_the_next_run_resumes() {
    let describe = mock!(Client::describe_log_groups)
        .sequence()
        .output(none_listed)
        .output(|| listed(None))
        .output(|| listed(Some(30)))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_log_group).then_output(|| CreateLogGroupOutput::builder().build());
    let retention = mock!(Client::put_retention_policy)
        .sequence()
        .error(|| {
            PutRetentionPolicyError::generic(aws_error(
                "ExpiredTokenException",
                "The security token included in the request is expired",
            ))
        })
        .output(|| PutRetentionPolicyOutput::builder().build())
        .build();
    let tags = owned_tags();
    let ctx = context(&[&describe, &create, &retention, &tags]).await;
    let stack = stack();
    let plan = stack.plan(&ctx).await.unwrap();
    let err = stack
        .apply(&ctx, &plan)
        .await
        .expect_err("credentials expired");
    let failure = &err.failures()[0];
    assert_eq!(failure.operation, "create");
    assert!(
        failure.message.contains("PutRetentionPolicy"),
        "{}",
        failure.message
    );
    assert!(
        failure.message.contains("ExpiredTokenException"),
        "{}",
        failure.message
    );
    assert_eq!(retention.num_calls(), 1, "an expired token is not retried");
    // Fresh credentials: the next plan finds the group (created before the failure) and only
    // updates its retention; nothing is created twice.
    let again = stack.plan(&ctx).await.unwrap();
    let Action::Update { diffs } = &again.resources[0].action else {
        panic!("expected an update, got {:?}", again.resources[0].action);
    };
    assert_eq!(
        diffs.iter().map(|d| d.field.as_str()).collect::<Vec<_>>(),
        ["retention_days"]
    );
    stack.apply(&ctx, &again).await.unwrap();
    assert_eq!(create.num_calls(), 1);
    assert_eq!(retention.num_calls(), 2);
}

#[tokio::test]
async fn a_group_not_yet_listed_after_its_creation_is_waited_for() {
    // Plan sees nothing; right after CreateLogGroup the listing still misses it twice.
    let describe = mock!(Client::describe_log_groups)
        .sequence()
        .output(none_listed)
        .times(3)
        .output(|| listed(Some(30)))
        .repeatedly()
        .build();
    let create =
        mock!(Client::create_log_group).then_output(|| CreateLogGroupOutput::builder().build());
    let retention = mock!(Client::put_retention_policy)
        .then_output(|| PutRetentionPolicyOutput::builder().build());
    let tags = owned_tags();
    let ctx = context(&[&describe, &create, &retention, &tags]).await;
    let stack = stack();
    let plan = stack.plan(&ctx).await.unwrap();
    let report = stack
        .apply(&ctx, &plan)
        .await
        .expect("apply waits for visibility");
    assert_eq!(report.physical_ids["log_group.app"], NAME);
    assert!(
        describe.num_calls() >= 4,
        "observed until visible: {}",
        describe.num_calls()
    );
    assert_eq!(create.num_calls(), 1);
}
