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

fn rendered(statements: Vec<skyforge_iam::Statement>) -> String {
    skyforge_iam::PolicyDocument::new(statements)
        .render(&skyforge_core::Inputs::none())
        .expect("literal ARNs render")
        .to_string()
}

#[test]
fn grants_name_exact_actions_and_arns() {
    let read = rendered(grant_statements("b", Access::Read));
    assert!(
        read.contains("s3:GetObject") && read.contains("arn:aws:s3:::b/*"),
        "{read}"
    );
    assert!(!read.contains("PutObject"), "{read}");
    let write = rendered(grant_statements("b", Access::Write));
    assert!(
        write.contains("s3:PutObject") && !write.contains("GetObject"),
        "{write}"
    );
    assert!(!rendered(grant_statements("b", Access::ReadWrite)).contains("s3:*"));
}

#[test]
fn a_handle_grants_on_the_bucket_it_creates() {
    let mut stack = skyforge_core::Stack::new(skyforge_core::Environment::new(
        "shop",
        skyforge_core::Stage::Staging,
    ));
    let uploads = stack.add(Bucket::builder().logical_id("uploads").build().unwrap());
    let doc = skyforge_iam::PolicyDocument::new(uploads.grant(Access::Read));
    assert_eq!(doc.dependencies(), vec![uploads.node(), uploads.node()]);
    assert_eq!(doc.render(&skyforge_core::Inputs::none()), None);
    let known = skyforge_core::Inputs::none().with(&uploads.arn(), "arn:aws:s3:::u-1".to_string());
    let v = doc.render(&known).unwrap().to_string();
    assert!(v.contains(r#""Resource":["arn:aws:s3:::u-1/*"]"#), "{v}");
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
