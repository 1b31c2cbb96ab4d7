//! The inventory helper: every resource carrying a stack's ownership tags, in every service
//! skyforge uses. It is what proves that destroy leaves nothing behind.

use skyforge_core::Error;
use skyforge_core::tags::STACK;

use crate::TestStack;

pub(crate) fn has<'a>(mut tags: impl Iterator<Item = (&'a str, &'a str)>, stack: &str) -> bool {
    tags.any(|(k, v)| k == STACK && v == stack)
}

/// A per-item call after a listing: `None` when the item was deleted in between (tests run in
/// parallel, and other stacks' resources come and go); any other error fails the helper.
pub(crate) fn listed_item<T, E, R>(
    r: Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    what: &str,
) -> Option<T>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            let e = Error::aws(what, "inventory", e);
            let code = e.aws_code().unwrap_or_default();
            // SSM answers `InvalidResourceId` for the tags of a parameter deleted since the
            // listing (by a test running in parallel).
            assert!(
                code.contains("NotFound")
                    || code.contains("NoSuchEntity")
                    || code == "InvalidResourceId",
                "{what}: {e}"
            );
            None
        }
    }
}

async fn ec2_exists(ec2: &aws_sdk_ec2::Client, id: &str) -> bool {
    let prefix = id.split('-').next().unwrap_or("");
    let r = match prefix {
        "vpc" => ec2
            .describe_vpcs()
            .vpc_ids(id)
            .send()
            .await
            .map(|o| !o.vpcs().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "subnet" => ec2
            .describe_subnets()
            .subnet_ids(id)
            .send()
            .await
            .map(|o| !o.subnets().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "sg" => ec2
            .describe_security_groups()
            .group_ids(id)
            .send()
            .await
            .map(|o| !o.security_groups().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "igw" => ec2
            .describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
            .await
            .map(|o| !o.internet_gateways().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "rtb" => ec2
            .describe_route_tables()
            .route_table_ids(id)
            .send()
            .await
            .map(|o| !o.route_tables().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "eipalloc" => ec2
            .describe_addresses()
            .allocation_ids(id)
            .send()
            .await
            .map(|o| !o.addresses().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "vpce" => ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(id)
            .send()
            .await
            .map(|o| {
                o.vpc_endpoints().iter().any(|e| {
                    !e.state().is_some_and(|s| {
                        matches!(
                            s.as_str().to_ascii_lowercase().as_str(),
                            "deleted" | "deleting"
                        )
                    })
                })
            })
            .map_err(|e| Error::aws(id, "Describe", e)),
        "fl" => ec2
            .describe_flow_logs()
            .flow_log_ids(id)
            .send()
            .await
            .map(|o| !o.flow_logs().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        "sgr" => ec2
            .describe_security_group_rules()
            .security_group_rule_ids(id)
            .send()
            .await
            .map(|o| !o.security_group_rules().is_empty())
            .map_err(|e| Error::aws(id, "Describe", e)),
        _ => return true,
    };
    // A NotFound error means it is gone; any other error is a failure of the helper.
    match r {
        Ok(found) => found,
        Err(e) => {
            assert!(
                e.aws_code().is_some_and(|c| c.ends_with("NotFound")),
                "ec2 describe {id}: {e}"
            );
            false
        }
    }
}

/// Every resource tagged `skyforge:stack = <stack>`, as `service:type id` strings, sorted.
/// Resources on their way out are counted as going, and left out: NAT gateways `deleted`, ECS
/// clusters `INACTIVE`, database instances and replication groups `deleting`.
pub async fn inventory(t: &TestStack) -> Vec<String> {
    let stack = t.name();
    let ctx = &t.ctx;
    let mut out = Vec::new();

    // EC2: one listing (every page) of every tagged EC2 resource.
    let ec2 = ctx.client(aws_sdk_ec2::Client::new);
    let tags = ec2
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("key")
                .values(STACK)
                .build(),
        )
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("value")
                .values(&stack)
                .build(),
        )
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ec2 DescribeTags");
    for d in tags.iter().flat_map(|p| p.tags()) {
        let id = d.resource_id().unwrap_or_default().to_string();
        // The emulator keeps tags of deleted resources in DescribeTags: confirm existence.
        if !ec2_exists(&ec2, &id).await {
            continue;
        }
        if id.starts_with("nat-") {
            let n = ec2
                .describe_nat_gateways()
                .nat_gateway_ids(&id)
                .send()
                .await
                .expect("nat");
            if n.nat_gateways().iter().all(|g| {
                matches!(
                    g.state(),
                    Some(aws_sdk_ec2::types::NatGatewayState::Deleted)
                )
            }) {
                continue;
            }
        }
        out.push(format!(
            "ec2:{} {id}",
            d.resource_type().map(|r| r.as_str()).unwrap_or("?")
        ));
    }

    let s3 = t.s3();
    for b in s3
        .list_buckets()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("s3 ListBuckets")
        .iter()
        .flat_map(|p| p.buckets())
    {
        let name = b.name().unwrap_or_default();
        // A bucket without tags answers NoSuchTagSet, one deleted since the listing NoSuchBucket;
        // any other error fails the helper instead of hiding a leftover.
        let tagging = s3.get_bucket_tagging().bucket(name).send().await;
        let tags = match tagging {
            Ok(tg) => tg.tag_set().to_vec(),
            Err(e) => {
                let e = Error::aws(name, "GetBucketTagging", e);
                assert!(
                    e.has_aws_code(&["NoSuchTagSet", "NoSuchBucket"]),
                    "s3 tags of {name}: {e}"
                );
                Vec::new()
            }
        };
        if has(tags.iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!("s3:bucket {name}"));
        }
    }

    let ddb = ctx.client(aws_sdk_dynamodb::Client::new);
    for name in ddb
        .list_tables()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("dynamodb ListTables")
        .iter()
        .flat_map(|p| p.table_names())
    {
        let Some(described) = listed_item(
            ddb.describe_table().table_name(name).send().await,
            "DescribeTable",
        ) else {
            continue;
        };
        let arn = described
            .table()
            .and_then(|x| x.table_arn())
            .unwrap_or_default()
            .to_string();
        let Some(tg) = listed_item(
            ddb.list_tags_of_resource().resource_arn(&arn).send().await,
            "ddb tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!("dynamodb:table {name}"));
        }
    }

    let sm = ctx.client(aws_sdk_secretsmanager::Client::new);
    for s in sm
        .list_secrets()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListSecrets")
        .iter()
        .flat_map(|p| p.secret_list())
    {
        if s.deleted_date().is_none()
            && has(
                s.tags()
                    .iter()
                    .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
                &stack,
            )
        {
            out.push(format!(
                "secretsmanager:secret {}",
                s.name().unwrap_or_default()
            ));
        }
    }

    let ssm = ctx.client(aws_sdk_ssm::Client::new);
    let params = ssm
        .describe_parameters()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeParameters");
    for p in params.iter().flat_map(|page| page.parameters()) {
        let name = p.name().unwrap_or_default();
        let Some(tg) = listed_item(
            ssm.list_tags_for_resource()
                .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
                .resource_id(name)
                .send()
                .await,
            "ssm tags",
        ) else {
            continue;
        };
        if has(tg.tag_list().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!("ssm:parameter {name}"));
        }
    }

    let iam = ctx.client(aws_sdk_iam::Client::new);
    let roles = iam
        .list_roles()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListRoles");
    for r in roles.iter().flat_map(|p| p.roles()) {
        let Some(tg) = listed_item(
            iam.list_role_tags().role_name(r.role_name()).send().await,
            "role tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!("iam:role {}", r.role_name()));
        }
    }

    let logs = ctx.client(aws_sdk_cloudwatchlogs::Client::new);
    for g in logs
        .describe_log_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeLogGroups")
        .iter()
        .flat_map(|p| p.log_groups())
    {
        let arn = g
            .arn()
            .unwrap_or_default()
            .trim_end_matches(":*")
            .to_string();
        let Some(tg) = listed_item(
            logs.list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await,
            "logs tags",
        ) else {
            continue;
        };
        if tg
            .tags()
            .is_some_and(|m| m.get(STACK).map(String::as_str) == Some(stack.as_str()))
        {
            out.push(format!(
                "logs:log-group {}",
                g.log_group_name().unwrap_or_default()
            ));
        }
    }

    let cw = ctx.client(aws_sdk_cloudwatch::Client::new);
    for a in cw
        .describe_alarms()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeAlarms")
        .iter()
        .flat_map(|p| p.metric_alarms())
    {
        let Some(tg) = listed_item(
            cw.list_tags_for_resource()
                .resource_arn(a.alarm_arn().unwrap_or_default())
                .send()
                .await,
            "cw tags",
        ) else {
            continue;
        };
        if has(
            tg.tags()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            &stack,
        ) {
            out.push(format!(
                "cloudwatch:alarm {}",
                a.alarm_name().unwrap_or_default()
            ));
        }
    }

    let sns = ctx.client(aws_sdk_sns::Client::new);
    let topics = sns
        .list_topics()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListTopics");
    for tp in topics.iter().flat_map(|p| p.topics()) {
        let arn = tp.topic_arn().unwrap_or_default();
        let Some(tg) = listed_item(
            sns.list_tags_for_resource().resource_arn(arn).send().await,
            "sns tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!("sns:topic {arn}"));
        }
    }

    out.extend(kms_and_dashboards(ctx, &stack).await);

    let ecs = ctx.client(aws_sdk_ecs::Client::new);
    let arns = ecs
        .list_clusters()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListClusters")
        .iter()
        .flat_map(|p| p.cluster_arns().iter().cloned())
        .collect::<Vec<_>>();
    if !arns.is_empty() {
        let d = ecs
            .describe_clusters()
            .set_clusters(Some(arns))
            .include(aws_sdk_ecs::types::ClusterField::Tags)
            .send()
            .await
            .expect("DescribeClusters");
        for c in d.clusters() {
            if c.status() != Some("INACTIVE")
                && has(
                    c.tags()
                        .iter()
                        .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
                    &stack,
                )
            {
                out.push(format!(
                    "ecs:cluster {}",
                    c.cluster_name().unwrap_or_default()
                ));
            }
        }
    }

    let ecr = ctx.client(aws_sdk_ecr::Client::new);
    for r in ecr
        .describe_repositories()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeRepositories")
        .iter()
        .flat_map(|p| p.repositories())
    {
        let Some(tg) = listed_item(
            ecr.list_tags_for_resource()
                .resource_arn(r.repository_arn().unwrap_or_default())
                .send()
                .await,
            "ecr tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!(
                "ecr:repository {}",
                r.repository_name().unwrap_or_default()
            ));
        }
    }

    let rds = ctx.client(aws_sdk_rds::Client::new);
    for g in rds
        .describe_db_subnet_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeDBSubnetGroups")
        .iter()
        .flat_map(|p| p.db_subnet_groups())
    {
        let Some(tg) = listed_item(
            rds.list_tags_for_resource()
                .resource_name(g.db_subnet_group_arn().unwrap_or_default())
                .send()
                .await,
            "rds tags",
        ) else {
            continue;
        };
        if has(
            tg.tag_list()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            &stack,
        ) {
            out.push(format!(
                "rds:db-subnet-group {}",
                g.db_subnet_group_name().unwrap_or_default()
            ));
        }
    }
    for g in rds
        .describe_db_parameter_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeDBParameterGroups")
        .iter()
        .flat_map(|p| p.db_parameter_groups())
    {
        let Some(tg) = listed_item(
            rds.list_tags_for_resource()
                .resource_name(g.db_parameter_group_arn().unwrap_or_default())
                .send()
                .await,
            "rds tags",
        ) else {
            continue;
        };
        if has(
            tg.tag_list()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            &stack,
        ) {
            out.push(format!(
                "rds:db-parameter-group {}",
                g.db_parameter_group_name().unwrap_or_default()
            ));
        }
    }
    for i in rds
        .describe_db_instances()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeDBInstances")
        .iter()
        .flat_map(|p| p.db_instances())
        .filter(|i| i.db_instance_status() != Some("deleting"))
    {
        if has(
            i.tag_list()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            &stack,
        ) {
            out.push(format!(
                "rds:db-instance {}",
                i.db_instance_identifier().unwrap_or_default()
            ));
        }
    }

    let ec = ctx.client(aws_sdk_elasticache::Client::new);
    for g in ec
        .describe_cache_subnet_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeCacheSubnetGroups")
        .iter()
        .flat_map(|p| p.cache_subnet_groups())
    {
        let Some(tg) = listed_item(
            ec.list_tags_for_resource()
                .resource_name(g.arn().unwrap_or_default())
                .send()
                .await,
            "elasticache tags",
        ) else {
            continue;
        };
        if has(
            tg.tag_list()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            &stack,
        ) {
            out.push(format!(
                "elasticache:subnet-group {}",
                g.cache_subnet_group_name().unwrap_or_default()
            ));
        }
    }

    out.extend(elasticache_extra(&ec, &stack).await);

    let elb = ctx.client(aws_sdk_elasticloadbalancingv2::Client::new);
    let mut arns: Vec<(String, String)> = Vec::new();
    for lb in elb
        .describe_load_balancers()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeLoadBalancers")
        .iter()
        .flat_map(|p| p.load_balancers())
    {
        arns.push((
            "load-balancer".into(),
            lb.load_balancer_arn().unwrap_or_default().into(),
        ));
    }
    for tg in elb
        .describe_target_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeTargetGroups")
        .iter()
        .flat_map(|p| p.target_groups())
    {
        arns.push((
            "target-group".into(),
            tg.target_group_arn().unwrap_or_default().into(),
        ));
    }
    for (kind, arn) in arns {
        let Some(d) = listed_item(
            elb.describe_tags().resource_arns(&arn).send().await,
            "elbv2 tags",
        ) else {
            continue;
        };
        if d.tag_descriptions().iter().any(|td| {
            has(
                td.tags()
                    .iter()
                    .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
                &stack,
            )
        }) {
            out.push(format!("elbv2:{kind} {arn}"));
        }
    }

    let aas = ctx.client(aws_sdk_applicationautoscaling::Client::new);
    let targets = aas
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("DescribeScalableTargets");
    for st in targets.scalable_targets() {
        if let Some(arn) = st.scalable_target_arn() {
            let Some(tg) = listed_item(
                aas.list_tags_for_resource().resource_arn(arn).send().await,
                "aas tags",
            ) else {
                continue;
            };
            if tg
                .tags()
                .is_some_and(|m| m.get(STACK).map(String::as_str) == Some(stack.as_str()))
            {
                out.push(format!(
                    "application-autoscaling:target {}",
                    st.resource_id()
                ));
            }
        }
    }

    let sd = ctx.client(aws_sdk_servicediscovery::Client::new);
    for ns in sd
        .list_namespaces()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListNamespaces")
        .iter()
        .flat_map(|p| p.namespaces())
    {
        let Some(tg) = listed_item(
            sd.list_tags_for_resource()
                .resource_arn(ns.arn().unwrap_or_default())
                .send()
                .await,
            "sd tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), &stack) {
            out.push(format!(
                "servicediscovery:namespace {}",
                ns.name().unwrap_or_default()
            ));
        }
    }

    out.extend(crate::inventory_ecs::ecs_extra(ctx, &stack).await);
    out.sort();
    out
}

/// Every tagged EC2 resource of the stack by `"<type> <logical id>"`, with how many resources
/// carry that pair: a stack that converged has exactly one of each.
pub async fn ec2_copies(t: &TestStack) -> std::collections::BTreeMap<String, usize> {
    ec2_copies_in(t, &inventory(t).await).await
}

/// [`ec2_copies`] over `live`, an [`inventory`] already made.
pub async fn ec2_copies_in(
    t: &TestStack,
    live: &[String],
) -> std::collections::BTreeMap<String, usize> {
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let tags = ec2
        .describe_tags()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("key")
                .values(skyforge_core::tags::LOGICAL_ID)
                .build(),
        )
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("DescribeTags");
    let mut out = std::collections::BTreeMap::new();
    for d in tags {
        let id = d.resource_id().unwrap_or_default();
        if let Some(entry) = live.iter().find(|l| l.ends_with(&format!(" {id}"))) {
            let ty = entry.split(' ').next().unwrap_or("?");
            *out.entry(format!("{ty} {}", d.value().unwrap_or("?")))
                .or_insert(0) += 1;
        }
    }
    out
}

/// Replication groups and cache parameter groups carrying the stack's tags.
async fn elasticache_extra(ec: &aws_sdk_elasticache::Client, stack: &str) -> Vec<String> {
    let mut arns: Vec<(String, String, String)> = Vec::new();
    for g in ec
        .describe_replication_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeReplicationGroups")
        .iter()
        .flat_map(|p| p.replication_groups())
        .filter(|g| g.status() != Some("deleting"))
    {
        arns.push((
            "replication-group".into(),
            g.replication_group_id().unwrap_or_default().into(),
            g.arn().unwrap_or_default().into(),
        ));
    }
    for g in ec
        .describe_cache_parameter_groups()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("DescribeCacheParameterGroups")
        .iter()
        .flat_map(|p| p.cache_parameter_groups())
    {
        arns.push((
            "parameter-group".into(),
            g.cache_parameter_group_name().unwrap_or_default().into(),
            g.arn().unwrap_or_default().into(),
        ));
    }
    let mut out = Vec::new();
    for (kind, name, arn) in arns {
        let Some(tg) = listed_item(
            ec.list_tags_for_resource().resource_name(&arn).send().await,
            "elasticache tags",
        ) else {
            continue;
        };
        if has(
            tg.tag_list()
                .iter()
                .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
            stack,
        ) {
            out.push(format!("elasticache:{kind} {name}"));
        }
    }
    out
}

/// KMS keys (by alias, unless scheduled for deletion: AWS keeps them for the waiting period) and
/// dashboards (by name and the ownership line in their body) of `stack`.
async fn kms_and_dashboards(ctx: &skyforge_core::Context, stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    let kms = ctx.client(aws_sdk_kms::Client::new);
    let aliases = kms
        .list_aliases()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListAliases");
    for a in aliases.iter().flat_map(|p| p.aliases()) {
        let (Some(name), Some(key)) = (a.alias_name(), a.target_key_id()) else {
            continue;
        };
        if !name.starts_with(&format!("alias/{stack}-")) {
            continue;
        }
        let meta = kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .expect("DescribeKey");
        let state = meta
            .key_metadata()
            .and_then(|m| m.key_state())
            .map(|s| s.as_str().to_string());
        if state.as_deref() != Some("PendingDeletion") {
            out.push(format!("kms:alias {name}"));
        }
    }
    let cw = ctx.client(aws_sdk_cloudwatch::Client::new);
    let dashboards = cw
        .list_dashboards()
        .dashboard_name_prefix(format!("{stack}-"))
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("ListDashboards");
    for d in dashboards.iter().flat_map(|p| p.dashboard_entries()) {
        out.push(format!(
            "cloudwatch:dashboard {}",
            d.dashboard_name().unwrap_or_default()
        ));
    }
    out
}
