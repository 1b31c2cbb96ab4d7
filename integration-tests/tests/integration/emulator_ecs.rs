//! The harness's ECS model is regional, as ECS is: calls made in another region neither see a
//! region's tasks nor advance them. Before this was so, a ListTasks in us-west-1 advanced the
//! tasks of us-east-1 and released their network interfaces from the wrong region's EC2: the
//! interfaces stayed `in-use` and the subnet could never be deleted (the crash test met it when
//! spendsense ran beside it).

use std::time::{Duration, Instant};

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, DesiredStatus,
    LaunchType, NetworkConfiguration, NetworkMode,
};
use skyforge_core::{Environment, Stage};
use skyforge_integration_tests::TestStack;

/// A new VPC of `t`'s region with a subnet and a group: (vpc, subnet, group).
async fn subnet_and_group(t: &TestStack) -> (String, String, String) {
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.91.0.0/16")
        .send()
        .await
        .unwrap();
    let vpc = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let subnet = ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.91.1.0/24")
        .send()
        .await
        .unwrap();
    let subnet = subnet.subnet().unwrap().subnet_id().unwrap().to_string();
    let group = ec2
        .create_security_group()
        .vpc_id(&vpc)
        .group_name(format!("{}-tasks", t.app))
        .description("tasks")
        .send()
        .await
        .unwrap();
    (vpc, subnet, group.group_id().unwrap().to_string())
}

/// A Fargate service `api` with one task in `cluster`, on `subnet` and `group`.
async fn one_task_service(t: &TestStack, cluster: &str, subnet: &str, group: &str) {
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    ecs.create_cluster()
        .cluster_name(cluster)
        .send()
        .await
        .unwrap();
    let family = format!("{}-api", t.app);
    ecs.register_task_definition()
        .family(&family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .container_definitions(
            ContainerDefinition::builder()
                .name("api")
                .image("nginx")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let awsvpc = AwsVpcConfiguration::builder()
        .subnets(subnet)
        .security_groups(group)
        .assign_public_ip(AssignPublicIp::Disabled)
        .build()
        .unwrap();
    ecs.create_service()
        .cluster(cluster)
        .service_name("api")
        .task_definition(family)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(
            NetworkConfiguration::builder()
                .awsvpc_configuration(awsvpc)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

/// The ARNs of `cluster`'s tasks in `t`'s region whose desired status is `want`.
async fn tasks(t: &TestStack, cluster: &str, want: DesiredStatus) -> Vec<String> {
    let ecs = t.ctx.client(aws_sdk_ecs::Client::new);
    let out = ecs
        .list_tasks()
        .cluster(cluster)
        .desired_status(want)
        .send()
        .await
        .unwrap();
    out.task_arns().to_vec()
}

/// The network interfaces in `subnet` (EC2 of `t`'s region).
async fn interfaces(t: &TestStack, subnet: &str) -> Vec<String> {
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let filter = aws_sdk_ec2::types::Filter::builder()
        .name("subnet-id")
        .values(subnet)
        .build();
    let out = ec2
        .describe_network_interfaces()
        .filters(filter)
        .send()
        .await
        .unwrap();
    out.network_interfaces()
        .iter()
        .filter_map(|n| n.network_interface_id().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn ecs_tasks_belong_to_their_region() {
    let east = TestStack::new().await;
    // 40 s to start and 30 s to stop at scale 1: 2 s and 1.5 s here.
    east.set_latency(0.05).await;
    let west_env = Environment::new(east.app.clone(), Stage::Staging).region("us-west-1");
    let west = TestStack::with_env(west_env).await;
    let cluster = format!("{}-main", east.app);
    let (vpc, subnet, group) = subnet_and_group(&east).await;
    one_task_service(&east, &cluster, &subnet, &group).await;
    west.ctx
        .client(aws_sdk_ecs::Client::new)
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tasks(&east, &cluster, DesiredStatus::Running).await.len(),
        1
    );
    assert_eq!(
        tasks(&west, &cluster, DesiredStatus::Running).await,
        Vec::<String>::new(),
        "us-west-1's cluster of the same name lists us-east-1's task"
    );
    assert_eq!(
        interfaces(&east, &subnet).await.len(),
        1,
        "the task's interface"
    );

    let ecs = east.ctx.client(aws_sdk_ecs::Client::new);
    ecs.delete_service()
        .cluster(&cluster)
        .service("api")
        .force(true)
        .send()
        .await
        .unwrap();
    // Only us-west-1 looks while the task stops; before the fix it was the one to advance the
    // task to STOPPED and released the interface from its own (wrong) EC2.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        tasks(&west, &cluster, DesiredStatus::Stopped).await;
        interfaces(&west, &subnet).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        tasks(&east, &cluster, DesiredStatus::Stopped).await.len(),
        1
    );
    assert_eq!(
        interfaces(&east, &subnet).await,
        Vec::<String>::new(),
        "the stopped task's interface stays"
    );
    let ec2 = east.ctx.client(aws_sdk_ec2::Client::new);
    ec2.delete_subnet().subnet_id(&subnet).send().await.unwrap();
    ec2.delete_security_group()
        .group_id(&group)
        .send()
        .await
        .unwrap();
    ec2.delete_vpc().vpc_id(vpc).send().await.unwrap();
}
