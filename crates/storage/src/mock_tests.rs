//! Bucket creation right after a bucket of the same name was deleted.

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::create_bucket::{CreateBucketError, CreateBucketOutput};
use skyforge_core::testing::{aws_error, mock, offline_context};
use skyforge_core::{Environment, Guard, ResourceId, Stage, mocked_client};

#[tokio::test]
async fn a_bucket_name_still_being_released_is_retried() {
    let create = mock!(Client::create_bucket)
        .match_requests(|r| r.bucket() == Some("mock-staging-assets-1a2b3c"))
        .sequence()
        .error(|| {
            CreateBucketError::generic(aws_error(
                "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            ))
        })
        .times(2)
        .output(|| CreateBucketOutput::builder().build())
        .build();
    let ctx = offline_context(Environment::new("mock", Stage::Staging).region("eu-west-1")).await;
    let s3 = mocked_client!(aws_sdk_s3, &ctx, [&create]);
    let ctx = ctx.with_client(s3);
    let guard = Guard::unguarded(ResourceId::new("bucket", "assets"));
    crate::s3::create(&ctx, &guard, "mock-staging-assets-1a2b3c", false)
        .await
        .expect("created once S3 released the name");
    assert_eq!(create.num_calls(), 3);
}
