//! Deletions against `DependencyViolation` sequences an emulator cannot produce: a group still
//! held by a load balancer's interface for a while after the load balancer went, and a group held
//! by an interface nobody will release.

use aws_sdk_ec2::Client;
use aws_sdk_ec2::operation::delete_security_group::{
    DeleteSecurityGroupError, DeleteSecurityGroupOutput,
};
use aws_sdk_ec2::operation::describe_network_interfaces::DescribeNetworkInterfacesOutput;
use aws_sdk_ec2::types::{NetworkInterface, NetworkInterfaceStatus, NetworkInterfaceType};
use skyforge_core::testing::{Rule, aws_error, mock, offline_context};
use skyforge_core::{Context, Environment, Guard, ResourceId, Stage, mocked_client};

fn rid() -> ResourceId {
    ResourceId::new("security_group", "app")
}

async fn context(rules: &[&Rule]) -> Context {
    let ctx = offline_context(Environment::new("mock", Stage::Staging)).await;
    let ec2 = mocked_client!(aws_sdk_ec2, &ctx, rules);
    ctx.with_client(ec2)
}

fn dependency_violation() -> DeleteSecurityGroupError {
    DeleteSecurityGroupError::generic(aws_error(
        "DependencyViolation",
        "resource sg-0123 has a dependent object",
    ))
}

fn interface(requester_managed: bool, description: &str) -> DescribeNetworkInterfacesOutput {
    DescribeNetworkInterfacesOutput::builder()
        .network_interfaces(
            NetworkInterface::builder()
                .network_interface_id("eni-0abc")
                .requester_managed(requester_managed)
                .description(description)
                .interface_type(NetworkInterfaceType::Interface)
                .status(NetworkInterfaceStatus::InUse)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn a_group_held_only_by_a_service_interface_is_deleted_once_it_is_released() {
    let delete = mock!(Client::delete_security_group)
        .sequence()
        .error(dependency_violation)
        .times(3)
        .output(|| DeleteSecurityGroupOutput::builder().build())
        .build();
    let interfaces = mock!(Client::describe_network_interfaces)
        .match_requests(|r| r.filters().iter().any(|f| f.name() == Some("group-id")))
        .then_output(|| interface(true, "ELB app/shop-staging-web/50dc6c495c0c9188"));
    let ctx = context(&[&delete, &interfaces]).await;
    crate::security::delete_group(&ctx, &Guard::unguarded(rid()), &rid(), "sg-0123")
        .await
        .expect("deleted once the load balancer's interface is released");
    assert_eq!(delete.num_calls(), 4);
    assert_eq!(
        interfaces.num_calls(),
        3,
        "blockers looked up after each refusal"
    );
}

#[tokio::test]
async fn a_group_held_by_a_foreign_interface_fails_at_once_naming_it() {
    let delete = mock!(Client::delete_security_group)
        .sequence()
        .error(dependency_violation)
        .repeatedly()
        .build();
    let interfaces = mock!(Client::describe_network_interfaces)
        .then_output(|| interface(false, "attached by hand to a debugging instance"));
    let ctx = context(&[&delete, &interfaces]).await;
    let err = crate::security::delete_group(&ctx, &Guard::unguarded(rid()), &rid(), "sg-0123")
        .await
        .expect_err("a foreign interface never goes away by itself");
    match err.area_error::<crate::Error>() {
        Some(crate::Error::Blocked { blockers, .. }) => {
            assert_eq!(blockers.len(), 1);
            assert!(blockers[0].contains("eni-0abc"), "{blockers:?}");
            assert!(blockers[0].contains("debugging instance"), "{blockers:?}");
        }
        other => panic!("expected Blocked, got {other:?} ({err})"),
    }
    assert_eq!(
        delete.num_calls(),
        1,
        "no waiting on a blocker that will not leave"
    );
}
