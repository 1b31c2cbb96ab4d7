//! The replication group node: observe (the group and its first member), create, modify in the
//! order ElastiCache requires, wait through its states, delete with a final snapshot.

use async_trait::async_trait;
use aws_sdk_elasticache::Client;
use aws_sdk_elasticache::types::{CacheCluster, ReplicationGroup, Tag};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::window::ApplyMode;
use skyforge_core::{
    Action, Context, Environment, Error, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Ref, Resource, ResourceId, Result,
};
use skyforge_secrets::{SecretRef, SecretString};

use crate::fields::{observed_fields, pending};
use crate::spec::RedisSpec;
use crate::status;

/// Resource kind `cache_replication_group`.
pub const KIND_GROUP: &str = "cache_replication_group";

/// What the group takes from the other nodes of the cache.
#[derive(Debug, Clone)]
pub(crate) struct Wiring {
    pub(crate) parameter_group: Input<String>,
    pub(crate) subnet_group: Input<String>,
    pub(crate) security_group: Input<String>,
    /// The AUTH token secret, when the group has a token.
    pub(crate) token: Option<SecretRef>,
    pub(crate) token_version: Option<Ref<String>>,
    /// The slow-log group's name, when delivered.
    pub(crate) slow_log: Option<String>,
    pub(crate) log_groups: Vec<NodeId>,
}

pub(crate) struct GroupNode {
    pub(crate) spec: RedisSpec,
    pub(crate) wiring: Wiring,
    pub(crate) mode: ApplyMode,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

pub(crate) fn ec_tags(t: &skyforge_core::tags::Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The replication group id of `spec` in `env`.
pub(crate) fn identifier(spec: &RedisSpec, env: &Environment) -> String {
    spec.identifier.clone().unwrap_or_else(|| {
        naming::physical_name(env, NameKind::CacheCluster, &spec.logical_id).unwrap_or_default()
    })
}

/// DescribeReplicationGroups of one id; `None` when there is none.
pub(crate) async fn describe(
    ctx: &Context,
    rid: &ResourceId,
    id: &str,
) -> Result<Option<ReplicationGroup>> {
    let r = client(ctx)
        .describe_replication_groups()
        .replication_group_id(id)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeReplicationGroups", e));
    let out = skyforge_core::none_if_aws_code(r, &["ReplicationGroupNotFoundFault"])?;
    Ok(out.and_then(|o| o.replication_groups().first().cloned()))
}

/// The first member cluster, which carries the version, groups and windows.
pub(crate) async fn first_member(
    ctx: &Context,
    rid: &ResourceId,
    g: &ReplicationGroup,
) -> Result<Option<CacheCluster>> {
    let Some(id) = g.member_clusters().first() else {
        return Ok(None);
    };
    let r = client(ctx)
        .describe_cache_clusters()
        .cache_cluster_id(id)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeCacheClusters", e));
    let out = skyforge_core::none_if_aws_code(r, &["CacheClusterNotFound"])?;
    Ok(out.and_then(|o| o.cache_clusters().first().cloned()))
}

/// The tags of an ElastiCache resource: from the plan's tag index when they are the desired ones,
/// else read once per plan (its node and the orphan listing share them).
pub(crate) async fn tags_of(
    ctx: &Context,
    rid: &ResourceId,
    arn: &str,
) -> Result<skyforge_core::tags::Tags> {
    let read = || async {
        let out = client(ctx)
            .list_tags_for_resource()
            .resource_name(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e))?;
        let t = out
            .tag_list()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())));
        Ok(Some(t.collect()))
    };
    let t = skyforge_core::tag_index::read_tags(ctx, ELASTICACHE, arn, read).await?;
    Ok(t.unwrap_or_default())
}

/// ElastiCache's replication groups, parameter groups and subnet groups in the plan's tag index
/// (one listing of the service's types).
const ELASTICACHE: skyforge_core::tag_index::IndexedType =
    skyforge_core::tag_index::IndexedType::by_arn("elasticache");

impl GroupNode {
    pub(crate) fn identifier(&self, env: &Environment) -> String {
        identifier(&self.spec, env)
    }

    pub(crate) async fn observe_group(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        g: &ReplicationGroup,
    ) -> Result<Observed> {
        let rid = self.id();
        let member = first_member(ctx, &rid, g).await?;
        let found = tags_of(ctx, &rid, g.arn().unwrap_or_default()).await?;
        skyforge_core::tags::ensure_owned(&found, ctx.env(), &rid, &self.identifier(ctx.env()))?;
        let desired_tags = self.desired_tags(ctx.env(), self.token_digest(inputs).as_deref());
        let state = g.status().unwrap_or("unknown");
        let window = member
            .as_ref()
            .and_then(|m| m.preferred_maintenance_window());
        let mut o = Observed {
            physical_id: g.replication_group_id().unwrap_or_default().to_string(),
            fields: observed_fields(g, member.as_ref(), &desired_tags, &found),
            ready: status::readiness(g),
            pending: pending(member.as_ref(), window, state == "modifying"),
            ..Observed::default()
        };
        status::outputs(g, member.as_ref(), &mut o.outputs);
        Ok(o)
    }

    pub(crate) async fn token(
        &self,
        ctx: &Context,
        inputs: &Inputs,
    ) -> Result<Option<SecretString>> {
        match &self.wiring.token {
            Some(r) => Ok(Some(
                skyforge_secrets::read_secret(ctx, &self.id(), r, inputs).await?,
            )),
            None => Ok(None),
        }
    }
}

/// The calls of a replication group; its AUTH token is read from its secret, a protected delete takes a final snapshot.
pub(crate) const GROUP_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticache:DescribeReplicationGroups",
        "elasticache:DescribeCacheClusters",
        "elasticache:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
    ],
    create: &[
        "elasticache:CreateReplicationGroup",
        "elasticache:AddTagsToResource",
        "secretsmanager:GetSecretValue",
    ],
    update: &[
        "elasticache:ModifyReplicationGroup",
        "elasticache:ModifyReplicationGroupShardConfiguration",
        "elasticache:IncreaseReplicaCount",
        "elasticache:DecreaseReplicaCount",
        "secretsmanager:GetSecretValue",
        "elasticache:AddTagsToResource",
        "elasticache:RemoveTagsFromResource",
    ],
    delete: &[
        "elasticache:DeleteReplicationGroup",
        "elasticache:CreateSnapshot",
    ],
};

#[async_trait]
impl Resource for GroupNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(GROUP_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        let id = identifier(&self.spec, env);
        let mut names = vec![
            ArnName::new("elasticache:replicationgroup", &id),
            // Member clusters (`<id>-001`) and final snapshots (`<id>-final-<time>`).
            ArnName::new("elasticache:cluster", format!("{id}-*")),
            ArnName::new("elasticache:snapshot", format!("{id}-final-*")),
        ];
        if let Input::Value(group) = &self.wiring.parameter_group {
            names.push(ArnName::new("elasticache:parametergroup", group));
        }
        names
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_GROUP, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "elasticache"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = [
            self.wiring.parameter_group.dependency(),
            self.wiring.subnet_group.dependency(),
            self.wiring.security_group.dependency(),
            self.wiring.token.as_ref().map(SecretRef::node),
        ]
        .into_iter()
        .flatten()
        .collect();
        d.extend(self.wiring.log_groups.iter().copied());
        d
    }
    async fn holds_data(&self, _: &Context, _: &Observed) -> Result<bool> {
        Ok(true)
    }
    fn warnings(&self, env: &Environment) -> Vec<String> {
        crate::warnings::of(&self.spec, env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        self.desired_fields(env, inputs)
    }
    fn diff(&self, desired: &Fields, observed: &Observed) -> Action {
        self.diff_group(desired, observed)
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(g) = describe(ctx, &self.id(), &self.identifier(ctx.env())).await? else {
            return Ok(None);
        };
        if g.status() == Some("deleting") {
            // Its members may be gone already: nothing more to read, only a deletion to await.
            let o = Observed {
                physical_id: g.replication_group_id().unwrap_or_default().to_string(),
                ..Observed::default()
            };
            return Ok(Some(o.going()));
        }
        Ok(Some(self.observe_group(ctx, inputs, &g).await?))
    }
    async fn wait_ready(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let g = status::wait_available(ctx, &self.id(), &self.identifier(ctx.env())).await?;
        let mut o = self.observe_group(ctx, &Inputs::none(), &g).await?;
        // Keep the fields compared with the plan's inputs (the token digest).
        o.fields = observed.fields;
        Ok(o)
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let token = self.token(ctx, inputs).await?;
        let req = crate::create::request(self, ctx, inputs, token.as_ref())?;
        guard
            .send(
                "CreateReplicationGroup",
                &["ReplicationGroupAlreadyExists"],
                req.send(),
            )
            .await?;
        let rid = self.id();
        let g = status::wait_visible(ctx, &rid, &self.identifier(ctx.env())).await?;
        self.observe_group(ctx, inputs, &g).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        crate::modify::run(self, ctx, inputs, observed, diffs, guard).await?;
        let rid = self.id();
        let g = skyforge_core::until_visible(ctx, &rid, "after its modification", || {
            describe(ctx, &rid, &observed.physical_id)
        })
        .await?;
        self.observe_group(ctx, inputs, &g).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let snapshot = self.spec.final_snapshot_in(ctx.env());
        crate::delete::group(ctx, guard, &self.id(), &observed.physical_id, snapshot).await
    }
}
