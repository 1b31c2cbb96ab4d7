//! The emulator validates across services the way AWS does.

use skyforge_core::Error;
use skyforge_integration_tests::TestStack;

#[tokio::test]
async fn alb_on_a_bogus_subnet_is_rejected() {
    let t = TestStack::new().await;
    let elb = t.ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let err = elb
        .create_load_balancer()
        .name(format!("{}-bogus", t.app))
        .subnets("subnet-00000000deadbeef1")
        .subnets("subnet-00000000deadbeef2")
        .send()
        .await
        .unwrap_err();
    let e = Error::aws("elbv2:load-balancer.public", "CreateLoadBalancer", err);
    assert_eq!(e.aws_code(), Some("SubnetNotFound"), "{e}");
}

#[tokio::test]
async fn rds_subnet_group_on_a_bogus_subnet_is_rejected() {
    let t = TestStack::new().await;
    let rds = t.ctx.client(aws_sdk_rds::Client::new);
    let err = rds
        .create_db_subnet_group()
        .db_subnet_group_name(format!("{}-bogus", t.app))
        .db_subnet_group_description("bogus")
        .subnet_ids("subnet-00000000deadbeef1")
        .send()
        .await
        .unwrap_err();
    let e = Error::aws("rds:db-subnet-group.db", "CreateDBSubnetGroup", err);
    assert_eq!(e.aws_code(), Some("InvalidSubnet"), "{e}");
    assert!(
        e.to_string()
            .starts_with("rds:db-subnet-group.db: rds:CreateDBSubnetGroup failed: InvalidSubnet"),
        "{e}"
    );
}
