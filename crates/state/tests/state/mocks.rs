//! The DynamoDB lock against answers an emulator cannot give: a throttled lock table, a write
//! whose response was lost (the retry then meets its own record), and a lock held by another run.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemOutput;
use aws_sdk_dynamodb::operation::get_item::GetItemOutput;
use aws_sdk_dynamodb::operation::put_item::{PutItemError, PutItemOutput};
use aws_sdk_dynamodb::types::AttributeValue;
use skyforge_core::testing::{Rule, aws_error, mock, offline_context};
use skyforge_core::{Context, Environment, Stage, mocked_client};
use skyforge_state::{DynamoDbLock, Error, Locker};

const STACK: &str = "mock-staging";

async fn locker(rules: &[&Rule]) -> Locker {
    let ctx: Context = offline_context(Environment::new("mock", Stage::Staging)).await;
    let ddb = mocked_client!(aws_sdk_dynamodb, &ctx, rules);
    let ctx = ctx.with_client(ddb);
    let lock = DynamoDbLock::new(&ctx, "skyforge-locks", STACK);
    Locker::new(Arc::new(lock), Duration::from_secs(600)).with_holder("ci@runner-7")
}

fn released() -> Rule {
    mock!(Client::delete_item).then_output(|| DeleteItemOutput::builder().build())
}

fn condition_failed() -> PutItemError {
    PutItemError::generic(aws_error(
        "ConditionalCheckFailedException",
        "The conditional request failed",
    ))
}

type Item = HashMap<String, AttributeValue>;

#[tokio::test]
async fn a_throttled_lock_table_is_ridden_out() {
    let put = mock!(Client::put_item)
        .sequence()
        .error(|| {
            PutItemError::generic(aws_error(
                "ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded",
            ))
        })
        .times(3)
        .output(|| PutItemOutput::builder().build())
        .build();
    let delete = released();
    let held = locker(&[&put, &delete])
        .await
        .acquire(STACK, "apply")
        .await
        .expect("acquired after the burst");
    held.release().await.unwrap();
    assert_eq!(put.num_calls(), 4);
    assert_eq!(delete.num_calls(), 1);
}

#[tokio::test]
async fn a_lock_write_whose_response_was_lost_is_recognised_as_ours() {
    // The first attempt reaches DynamoDB but its answer is a 500; the SDK's retry then fails the
    // condition on the record that first attempt wrote.
    let written: Arc<Mutex<Option<Item>>> = Arc::default();
    let seen = written.clone();
    let put = mock!(Client::put_item)
        .match_requests(move |r| {
            *seen.lock().unwrap() = r.item().cloned();
            true
        })
        .sequence()
        .http_status(500, None)
        .error(condition_failed)
        .build();
    let stored = written.clone();
    let get = mock!(Client::get_item).then_output(move || {
        GetItemOutput::builder()
            .set_item(stored.lock().unwrap().clone())
            .build()
    });
    let delete = released();
    let held = locker(&[&put, &get, &delete])
        .await
        .acquire(STACK, "apply")
        .await
        .expect("its own record is not a refusal");
    assert_eq!(put.num_calls(), 2, "one lost answer, one retry");
    assert_eq!(get.num_calls(), 1);
    held.release().await.unwrap();
}

#[tokio::test]
async fn a_lock_held_by_another_run_is_refused_naming_the_holder() {
    let put = mock!(Client::put_item)
        .sequence()
        .error(condition_failed)
        .repeatedly()
        .build();
    let get = mock!(Client::get_item).then_output(|| {
        let s = |v: &str| AttributeValue::S(v.to_string());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        GetItemOutput::builder()
            .item("LockID", s("skyforge/mock-staging"))
            .item("lock_id", s("5f1c0e1e-other"))
            .item("stack", s(STACK))
            .item("holder", s("dev@laptop-3"))
            .item("operation", s("destroy"))
            .item("created_ms", AttributeValue::N((now - 5_000).to_string()))
            .item("expires_ms", AttributeValue::N((now + 60_000).to_string()))
            .build()
    });
    let err = locker(&[&put, &get])
        .await
        .acquire(STACK, "apply")
        .await
        .expect_err("held by another run");
    match err {
        Error::Locked {
            holder, operation, ..
        } => {
            assert_eq!(holder, "dev@laptop-3");
            assert_eq!(operation, "destroy");
        }
        other => panic!("expected Locked, got {other}"),
    }
    assert_eq!(put.num_calls(), 1);
}
