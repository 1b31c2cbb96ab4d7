//! Orphan listing: clusters, services, task definition families, autoscaling targets, Cloud Map
//! namespaces and services, and service log groups that carry the stack's tags but are no longer
//! declared.

use async_trait::async_trait;
use aws_sdk_ecs::types::{ClusterField, TaskDefinitionFamilyStatus};
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Guard, Owned, OwnedKind, ResourceId, Result, Stack,
};

use crate::cluster::{KIND_CLUSTER, client, delete_cluster};
use crate::discovery::{KIND_NAMESPACE, KIND_SD_SERVICE, delete_namespace, delete_sd_service};
use crate::scaling::{KIND_SCALING, deregister};
use crate::service::{KIND_SERVICE, delete_service};
use crate::taskdef::{KIND_TASK_DEFINITION, deregister_family};

/// Resource kind `ecs_log_group`.
pub const KIND_LOG_GROUP: &str = "ecs_log_group";

/// `/ecs/<project>/<stage>[/<owner>]/`: where the services' log groups live.
pub(crate) fn log_prefix(env: &Environment) -> String {
    let mut p = format!("/ecs/{}/{}/", env.project_name(), env.stage().as_str());
    if let Some(o) = env.owner_id() {
        p.push_str(o);
        p.push('/');
    }
    p
}

/// Register the compute kinds for orphan listing (every component does, once per stack).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(Kind(KIND_CLUSTER));
    stack.own_kind(Kind(KIND_SERVICE));
    stack.own_kind(Kind(KIND_TASK_DEFINITION));
    stack.own_kind(Kind(KIND_SCALING));
    stack.own_kind(Kind(KIND_NAMESPACE));
    stack.own_kind(Kind(KIND_SD_SERVICE));
    skyforge_logs::register_prefix(stack, KIND_LOG_GROUP, log_prefix);
    skyforge_iam::register_kinds(stack);
}

struct Kind(&'static str);

fn tag_map<'a>(it: impl Iterator<Item = (Option<&'a str>, Option<&'a str>)>) -> Tags {
    it.filter_map(|(k, v)| Some((k?.to_string(), v?.to_string())))
        .collect()
}

/// Every active cluster with its tags: listed once per plan, shared by the cluster and the
/// service orphan listings.
async fn clusters(ctx: &Context, rid: &ResourceId) -> Result<Vec<(String, Tags)>> {
    let listed = ctx
        .memo("ecs:ListClusters+DescribeClusters", || {
            list_clusters(ctx, rid)
        })
        .await?;
    Ok(listed.as_ref().clone())
}

async fn list_clusters(ctx: &Context, rid: &ResourceId) -> Result<Vec<(String, Tags)>> {
    let ecs = client(ctx);
    let arns: Vec<String> = ecs
        .list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::aws(rid, "ListClusters", e))?;
    let mut out = Vec::new();
    for chunk in arns.chunks(100) {
        let d = ecs
            .describe_clusters()
            .set_clusters(Some(chunk.to_vec()))
            .include(ClusterField::Tags)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeClusters", e))?;
        for c in d
            .clusters()
            .iter()
            .filter(|c| c.status() != Some("INACTIVE"))
        {
            out.push((
                c.cluster_name().unwrap_or_default().to_string(),
                tag_map(c.tags().iter().map(|t| (t.key(), t.value()))),
            ));
        }
    }
    Ok(out)
}

impl Kind {
    async fn list_services(&self, ctx: &Context, rid: &ResourceId) -> Result<Vec<Owned>> {
        let mut found = Vec::new();
        for (cluster, _) in clusters(ctx, rid).await? {
            let services = crate::service::in_cluster(ctx, rid, &cluster).await?;
            for s in services.iter().filter(|s| s.status() == Some("ACTIVE")) {
                let t = tag_map(s.tags().iter().map(|t| (t.key(), t.value())));
                if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                    found.push(Owned::new(
                        l,
                        format!("{cluster}/{}", s.service_name().unwrap_or_default()),
                    ));
                }
            }
        }
        Ok(found)
    }
    async fn list_families(&self, ctx: &Context, rid: &ResourceId) -> Result<Vec<Owned>> {
        let ecs = client(ctx);
        let families: Vec<String> = ecs
            .list_task_definition_families()
            .family_prefix(format!("{}-", ctx.env().prefix()))
            .status(TaskDefinitionFamilyStatus::Active)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "ListTaskDefinitionFamilies", e))?;
        let mut found = Vec::new();
        for f in families {
            let Some(d) = crate::taskdef::described(ctx, rid, &f).await? else {
                continue;
            };
            let t = tag_map(d.tags().iter().map(|t| (t.key(), t.value())));
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, f));
            }
        }
        Ok(found)
    }
    async fn list_scaling(&self, ctx: &Context, rid: &ResourceId) -> Result<Vec<Owned>> {
        use aws_sdk_applicationautoscaling::types::ServiceNamespace;
        let aas = ctx.client(aws_sdk_applicationautoscaling::Client::new);
        let targets: Vec<_> = aas
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "DescribeScalableTargets", e))?;
        let mut found = Vec::new();
        for t in targets {
            let arn = t.scalable_target_arn().unwrap_or_default();
            let Some(t2) = crate::scaling::tags_of(ctx, rid, arn).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t2, ctx.env()) {
                found.push(Owned::new(l, t.resource_id()));
            }
        }
        Ok(found)
    }
    async fn list_discovery(&self, ctx: &Context, rid: &ResourceId) -> Result<Vec<Owned>> {
        let sd = crate::discovery::client(ctx);
        let arns: Vec<(String, String)> = if self.0 == KIND_NAMESPACE {
            let pages: Vec<_> = sd
                .list_namespaces()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| Error::aws(rid, "ListNamespaces", e))?;
            pages
                .iter()
                .flat_map(|p| p.namespaces())
                .map(|n| {
                    (
                        n.id().unwrap_or_default().to_string(),
                        n.arn().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        } else {
            let pages: Vec<_> = sd
                .list_services()
                .into_paginator()
                .send()
                .try_collect()
                .await
                .map_err(|e| Error::aws(rid, "ListServices", e))?;
            pages
                .iter()
                .flat_map(|p| p.services())
                .map(|s| {
                    (
                        s.id().unwrap_or_default().to_string(),
                        s.arn().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        };
        let mut found = Vec::new();
        for (id, arn) in arns {
            let Some(t) = crate::discovery::tags_of(ctx, rid, &arn).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                found.push(Owned::new(l, id));
            }
        }
        Ok(found)
    }
}

#[async_trait]
impl OwnedKind for Kind {
    fn kind(&self) -> &'static str {
        self.0
    }
    fn permissions(&self) -> Option<Permissions> {
        let p = match self.0 {
            KIND_CLUSTER => crate::cluster::CLUSTER_PERMISSIONS,
            KIND_SERVICE => crate::service::SERVICE_PERMISSIONS,
            KIND_TASK_DEFINITION => crate::taskdef::TASK_DEFINITION_PERMISSIONS,
            KIND_SCALING => crate::scaling::SCALING_PERMISSIONS,
            KIND_NAMESPACE => crate::discovery::NAMESPACE_PERMISSIONS,
            KIND_SD_SERVICE => crate::discovery::SD_SERVICE_PERMISSIONS,
            _ => return None,
        };
        // The listings: clusters, their services, task definition families, tags.
        const LIST: &[&str] = &[
            "ecs:ListClusters",
            "ecs:DescribeClusters",
            "ecs:ListServices",
            "ecs:DescribeServices",
            "ecs:ListTaskDefinitionFamilies",
            "ecs:DescribeTaskDefinition",
            "application-autoscaling:DescribeScalableTargets",
            "application-autoscaling:ListTagsForResource",
            "servicediscovery:ListNamespaces",
            "servicediscovery:ListServices",
            "servicediscovery:ListTagsForResource",
        ];
        Some(p.for_orphans_listed_by(LIST))
    }
    fn service(&self) -> &'static str {
        match self.0 {
            KIND_SCALING => "application-autoscaling",
            KIND_NAMESPACE | KIND_SD_SERVICE => "servicediscovery",
            _ => "ecs",
        }
    }
    fn inside(&self) -> &'static [&'static str] {
        match self.0 {
            KIND_SERVICE => &[
                KIND_CLUSTER,
                KIND_TASK_DEFINITION,
                KIND_SD_SERVICE,
                "security_group",
                "subnet",
                "target_group",
            ],
            KIND_SCALING => &[KIND_SERVICE],
            KIND_SD_SERVICE => &[KIND_NAMESPACE],
            KIND_NAMESPACE => &["vpc"],
            _ => &[],
        }
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let rid = ResourceId::new(self.0, "*");
        match self.0 {
            KIND_CLUSTER => Ok(clusters(ctx, &rid)
                .await?
                .into_iter()
                .filter_map(|(name, t)| {
                    Some(Owned::new(tags::owned_logical_id(&t, ctx.env())?, name))
                })
                .collect()),
            KIND_SERVICE => self.list_services(ctx, &rid).await,
            KIND_TASK_DEFINITION => self.list_families(ctx, &rid).await,
            KIND_SCALING => self.list_scaling(ctx, &rid).await,
            _ => self.list_discovery(ctx, &rid).await,
        }
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(self.0, &owned.logical_id);
        let id = owned.physical_id.as_str();
        match self.0 {
            KIND_CLUSTER => delete_cluster(ctx, guard, id).await,
            KIND_SERVICE => {
                let (cluster, name) = id.split_once('/').unwrap_or(("default", id));
                delete_service(ctx, guard, &rid, cluster, name).await
            }
            KIND_TASK_DEFINITION => deregister_family(ctx, guard, &rid, id, 0).await,
            KIND_SCALING => deregister(ctx, guard, &rid, id).await,
            KIND_NAMESPACE => delete_namespace(ctx, guard, &rid, id).await,
            _ => delete_sd_service(ctx, guard, &rid, id).await,
        }
    }
}
