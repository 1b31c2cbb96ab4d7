//! A plan of seed 002's application bucket and a load balancer's log bucket, compared with a
//! snapshot (insta; see docs/testing.md); names and grants.

use skyforge_core::{Environment, Stack, Stage};
use skyforge_storage::{Access, Bucket, Encryption, grant_statements, valid_name};

#[test]
fn application_and_log_buckets_plan() {
    let env = Environment::new("dougust", Stage::Prod)
        .owner("ops")
        .region("us-east-1");
    let mut stack = Stack::new(env);
    stack.add(
        Bucket::builder()
            .logical_id("uploads")
            .encryption(Encryption::Kms("alias/uploads".into()))
            .build()
            .unwrap(),
    );
    stack.add(Bucket::for_alb_logs("alb-logs", "us-east-1", 90).unwrap());
    let plan = stack.plan_offline().unwrap();
    insta::assert_snapshot!("buckets", plan.to_string());
    // One account lookup serves both buckets.
    assert_eq!(
        plan.resources
            .iter()
            .filter(|r| r.id.kind == "aws_account")
            .count(),
        1
    );
}

#[test]
fn grants_name_exact_actions_and_arns() {
    let read = grant_statements("b", Access::Read).to_string();
    assert!(
        read.contains("s3:GetObject") && read.contains("arn:aws:s3:::b/*"),
        "{read}"
    );
    assert!(!read.contains("PutObject"), "{read}");
    let write = grant_statements("b", Access::Write).to_string();
    assert!(
        write.contains("s3:PutObject") && !write.contains("GetObject"),
        "{write}"
    );
    assert!(
        !grant_statements("b", Access::ReadWrite)
            .to_string()
            .contains("s3:*")
    );
}

#[test]
fn bucket_names_follow_s3_rules() {
    for ok in ["my-bucket", "a.b.c", "abc"] {
        assert!(valid_name(ok), "{ok}");
    }
    for bad in [
        "ab",
        "My-Bucket",
        "192.168.1.1",
        "xn--abc",
        "abc-s3alias",
        "a..b",
        "-abc",
        "abc-",
    ] {
        assert!(!valid_name(bad), "{bad}");
    }
}
