//! Subnet group deletion while RDS still counts a deleted instance in it: the AWS answer an
//! emulator never gives.

use std::time::Duration;

use aws_sdk_rds::Client;
use aws_sdk_rds::operation::delete_db_subnet_group::{
    DeleteDBSubnetGroupError, DeleteDbSubnetGroupOutput,
};
use skyforge_core::testing::{Rule, aws_error, mock, offline_context};
use skyforge_core::{Context, Environment, Error, Guard, ResourceId, Stage, mocked_client};

fn guard() -> Guard {
    Guard::unguarded(ResourceId::new("db_subnet_group", "db"))
}

async fn context(rules: &[&Rule]) -> Context {
    let ctx = offline_context(Environment::new("mock", Stage::Staging)).await;
    let rds = mocked_client!(aws_sdk_rds, &ctx, rules);
    ctx.with_client(rds)
}

fn in_use() -> DeleteDBSubnetGroupError {
    DeleteDBSubnetGroupError::generic(aws_error(
        "InvalidDBSubnetGroupStateFault",
        "Cannot delete the subnet group because at least one database instance is still using it",
    ))
}

#[tokio::test]
async fn a_subnet_group_still_in_use_after_its_instance_is_deleted_is_retried() {
    let delete = mock!(Client::delete_db_subnet_group)
        .sequence()
        .error(in_use)
        .times(2)
        .output(|| DeleteDbSubnetGroupOutput::builder().build())
        .build();
    let ctx = context(&[&delete]).await;
    crate::subnet_group::delete(&ctx, &guard(), "mock-staging-db")
        .await
        .expect("deleted once RDS lets go");
    assert_eq!(delete.num_calls(), 3);
}

#[tokio::test]
async fn a_subnet_group_that_stays_in_use_times_out_with_the_aws_answer() {
    let delete = mock!(Client::delete_db_subnet_group)
        .sequence()
        .error(in_use)
        .repeatedly()
        .build();
    let ctx = context(&[&delete])
        .await
        .with_deadline("db_subnet_group", Duration::from_millis(400));
    let err = crate::subnet_group::delete(&ctx, &guard(), "mock-staging-db")
        .await
        .expect_err("still in use at the deadline");
    match &err {
        Error::Timeout { last_state, .. } => {
            assert!(
                last_state.contains("InvalidDBSubnetGroupStateFault"),
                "{err}"
            )
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(delete.num_calls() >= 2, "{}", delete.num_calls());
}

#[tokio::test]
async fn any_other_refusal_of_the_deletion_fails_at_once() {
    let delete = mock!(Client::delete_db_subnet_group)
        .sequence()
        .error(|| {
            DeleteDBSubnetGroupError::generic(aws_error(
                "AccessDenied",
                "User is not authorized to perform: rds:DeleteDBSubnetGroup",
            ))
        })
        .repeatedly()
        .build();
    let ctx = context(&[&delete]).await;
    let err = crate::subnet_group::delete(&ctx, &guard(), "mock-staging-db")
        .await
        .expect_err("access denied is not lag");
    assert_eq!(err.aws_code(), Some("AccessDenied"));
    assert_eq!(delete.num_calls(), 1);
}
