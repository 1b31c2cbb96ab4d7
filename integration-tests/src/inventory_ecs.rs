//! The inventory's ECS and Cloud Map services and task definition families (clusters,
//! scalable targets and namespaces are listed with the rest).

use crate::inventory::{has, listed_item};

/// `ecs:service`, `ecs:task-definition` and `servicediscovery:service` entries of `stack`.
pub(crate) async fn ecs_extra(ctx: &skyforge_core::Context, stack: &str) -> Vec<String> {
    let mut out = Vec::new();
    let ecs = ctx.client(aws_sdk_ecs::Client::new);
    let clusters: Vec<String> = ecs
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListClusters");
    for c in clusters {
        let arns: Vec<String> = match ecs
            .list_services()
            .cluster(&c)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
        {
            Ok(a) => a,
            Err(e) => {
                listed_item::<(), _, _>(Err(e), "ecs services");
                continue;
            }
        };
        for chunk in arns.chunks(10) {
            let Some(d) = listed_item(
                ecs.describe_services()
                    .cluster(&c)
                    .set_services(Some(chunk.to_vec()))
                    .include(aws_sdk_ecs::types::ServiceField::Tags)
                    .send()
                    .await,
                "ecs services",
            ) else {
                continue;
            };
            for s in d
                .services()
                .iter()
                .filter(|s| s.status() != Some("INACTIVE"))
            {
                if has(
                    s.tags()
                        .iter()
                        .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
                    stack,
                ) {
                    out.push(format!(
                        "ecs:service {}",
                        s.service_name().unwrap_or_default()
                    ));
                }
            }
        }
    }
    let families: Vec<String> = ecs
        .list_task_definition_families()
        .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .expect("ListTaskDefinitionFamilies");
    for f in families {
        let d = ecs
            .describe_task_definition()
            .task_definition(&f)
            .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
            .send()
            .await;
        // A family whose last revision was deregistered since the listing.
        let Ok(d) = d else { continue };
        let active = d.task_definition().and_then(|t| t.status())
            == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active);
        if active
            && has(
                d.tags()
                    .iter()
                    .map(|x| (x.key().unwrap_or(""), x.value().unwrap_or(""))),
                stack,
            )
        {
            out.push(format!("ecs:task-definition {f}"));
        }
    }
    let sd = ctx.client(aws_sdk_servicediscovery::Client::new);
    let pages: Vec<_> = sd
        .list_services()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .expect("sd ListServices");
    for s in pages.iter().flat_map(|p| p.services()) {
        let Some(tg) = listed_item(
            sd.list_tags_for_resource()
                .resource_arn(s.arn().unwrap_or_default())
                .send()
                .await,
            "sd tags",
        ) else {
            continue;
        };
        if has(tg.tags().iter().map(|x| (x.key(), x.value())), stack) {
            out.push(format!(
                "servicediscovery:service {}",
                s.name().unwrap_or_default()
            ));
        }
    }
    out
}
