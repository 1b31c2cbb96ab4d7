//! The task definition node. Revisions are immutable: a change registers a new revision with
//! the images currently deployed (CI owns the image tag after the first deploy), and revisions
//! beyond the newest `keep_revisions` are deregistered.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::operation::describe_task_definition::DescribeTaskDefinitionOutput;
use aws_sdk_ecs::types::{
    Compatibility, CpuArchitecture, NetworkMode, RuntimePlatform, TaskDefinition,
    TaskDefinitionField, TaskDefinitionStatus,
};
use serde_json::{Value as Json, json};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};

use crate::cluster::{client, ecs_tags};
use crate::definition::{LogTarget, container_json, observed_json, to_sdk};
use crate::spec::FargateServiceSpec;

/// Resource kind `ecs_task_definition`.
pub const KIND_TASK_DEFINITION: &str = "ecs_task_definition";

pub(crate) struct TaskDefNode {
    pub(crate) spec: FargateServiceSpec,
    pub(crate) family: String,
    pub(crate) log_group: Ref<String>,
    pub(crate) log_group_name: String,
    pub(crate) execution_role: Ref<String>,
    pub(crate) task_role: Ref<String>,
}

impl TaskDefNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }
    fn containers(&self, env: &Environment, inputs: &Inputs) -> Option<Json> {
        let region = env.region_name().unwrap_or("us-east-1");
        let log = LogTarget {
            group: &self.log_group_name,
            region,
            prefix: &self.spec.logical_id,
        };
        let all: Option<Vec<Json>> = self
            .spec
            .containers
            .iter()
            .map(|c| container_json(c, inputs, &log))
            .collect();
        all.map(Json::Array)
    }
    fn images(&self, inputs: &Inputs) -> Option<BTreeMap<String, String>> {
        self.spec
            .containers
            .iter()
            .map(|c| {
                let release = self.spec.deploy_tag.as_deref();
                Some((c.name.clone(), c.image.reference(inputs, release)?))
            })
            .collect()
    }
    fn unknown(&self, what: &str) -> Error {
        Error::Resource {
            resource: self.id().to_string(),
            message: format!("{what} is not known at apply time"),
        }
    }
}

/// The calls of a task definition; registering one hands its task and execution roles to ECS (`iam:PassRole`), old revisions beyond those kept are deregistered.
pub(crate) const TASK_DEFINITION_PERMISSIONS: Permissions = Permissions {
    observe: &["ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"],
    create: &[
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "iam:PassRole",
    ],
    update: &[
        "ecs:RegisterTaskDefinition",
        "ecs:DeregisterTaskDefinition",
        "ecs:TagResource",
        "iam:PassRole",
    ],
    delete: &["ecs:DeregisterTaskDefinition", "ecs:ListTaskDefinitions"],
};

#[async_trait]
impl Resource for TaskDefNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(TASK_DEFINITION_PERMISSIONS)
    }
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let revisions = format!("{}:*", self.family);
        vec![skyforge_core::ArnName::new(
            "ecs:task-definition",
            revisions,
        )]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_TASK_DEFINITION, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "ecs"
    }
    fn outputs_changed_by_update(&self) -> &'static [&'static str] {
        // An update registers a new revision; a deploy's also has new images.
        if self.spec.deploy_tag.is_some() {
            &["arn", "revision", "images"]
        } else {
            &["arn", "revision"]
        }
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = self
            .spec
            .containers
            .iter()
            .flat_map(|c| c.dependencies())
            .collect();
        d.extend([
            self.log_group.node(),
            self.execution_role.node(),
            self.task_role.node(),
        ]);
        d.sort();
        d.dedup();
        d
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "family".into(),
            Field::new(Value::str(&self.family)).force_new(),
        );
        f.insert("cpu".into(), Field::new(Value::of(self.spec.size.cpu)));
        f.insert(
            "memory".into(),
            Field::new(Value::of(self.spec.size.memory)),
        );
        f.insert(
            "arch".into(),
            Field::new(Value::str(self.spec.arch.as_str())),
        );
        let containers = self
            .containers(env, inputs)
            .map_or(Value::Unknown, Value::of);
        f.insert("containers".into(), Field::new(containers));
        // CI deploys new images; the first deploy's tag is only where it starts. A deploy
        // through skyforge (`deploy_tag`) makes the images part of the definition.
        let images = Field::new(self.images(inputs).map_or(Value::Unknown, Value::of));
        let images = if self.spec.deploy_tag.is_some() {
            images
        } else {
            images.ignore_drift()
        };
        f.insert("images".into(), images);
        for (k, r) in [
            ("execution_role", &self.execution_role),
            ("task_role", &self.task_role),
        ] {
            let v = inputs
                .get(r)
                .map_or(Value::Unknown, |a: String| Value::str(a));
            f.insert(k.into(), Field::new(v));
        }
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let Some((td, found)) = describe(ctx, &rid, &self.family).await? else {
            return Ok(None);
        };
        // A revision registered by CI carries no tags: the family is ours (and tagged) when a
        // revision we registered is.
        let found = if found.is_empty() {
            tagged_revision(ctx, &rid, &self.family).await?
        } else {
            found
        };
        tags::ensure_owned(&found, ctx.env(), &rid, &self.family)?;
        // The migration's record is the migration action's, not a tag to manage here.
        let mut found = found;
        found.remove(crate::migration::MIGRATED_TAG);
        let mut o = Observed {
            physical_id: self.family.clone(),
            ..Observed::default()
        };
        let defs = td.container_definitions();
        let images: BTreeMap<String, String> = defs
            .iter()
            .filter_map(|d| Some((d.name()?.to_string(), d.image()?.to_string())))
            .collect();
        let num = |s: Option<&str>| s.and_then(|v| v.parse::<u32>().ok());
        let arch = td
            .runtime_platform()
            .and_then(|p| p.cpu_architecture())
            .map_or("X86_64", |a| a.as_str());
        o.fields.insert("family".into(), Value::str(&self.family));
        o.fields.insert("cpu".into(), Value::of(num(td.cpu())));
        o.fields
            .insert("memory".into(), Value::of(num(td.memory())));
        o.fields.insert("arch".into(), Value::str(arch));
        let containers: Vec<Json> = defs.iter().map(observed_json).collect();
        o.fields.insert("containers".into(), Value::of(containers));
        o.fields.insert("images".into(), Value::of(&images));
        o.fields
            .insert("execution_role".into(), Value::of(td.execution_role_arn()));
        o.fields
            .insert("task_role".into(), Value::of(td.task_role_arn()));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        let arn = td.task_definition_arn().unwrap_or_default().to_string();
        o.outputs.insert("arn".into(), arn.into());
        o.outputs
            .insert("family".into(), self.family.clone().into());
        o.outputs.insert("revision".into(), json!(td.revision()));
        o.outputs.insert("images".into(), json!(images));
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let images = self
            .images(inputs)
            .ok_or_else(|| self.unknown("an image repository"))?;
        self.register(ctx, inputs, &images, guard).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        _: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        // Keep what is deployed: the images of the current revision, by container; a new
        // container takes its declared image.
        let deployed: BTreeMap<String, String> = observed
            .outputs
            .get("images")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let declared = self
            .images(inputs)
            .ok_or_else(|| self.unknown("an image repository"))?;
        let images = match self.spec.deploy_tag {
            Some(_) => declared,
            None => declared
                .into_iter()
                .map(|(n, i)| (n.clone(), deployed.get(&n).cloned().unwrap_or(i)))
                .collect(),
        };
        let o = self.register(ctx, inputs, &images, guard).await?;
        self.prune(ctx, guard).await?;
        Ok(o)
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        deregister_family(ctx, guard, &self.id(), &observed.physical_id, 0).await
    }
}

impl TaskDefNode {
    async fn register(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        images: &BTreeMap<String, String>,
        guard: &Guard,
    ) -> Result<Observed> {
        let containers = self
            .containers(ctx.env(), inputs)
            .ok_or_else(|| self.unknown("a secret ARN or environment value"))?;
        let defs = containers
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                to_sdk(
                    c,
                    images
                        .get(c["name"].as_str().unwrap_or_default())
                        .map_or("", |s| s),
                )
            })
            .collect();
        let rid = self.id();
        let req = client(ctx)
            .register_task_definition()
            .family(&self.family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(self.spec.size.cpu.to_string())
            .memory(self.spec.size.memory.to_string())
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::from(self.spec.arch.as_str()))
                    .operating_system_family("LINUX".into())
                    .build(),
            )
            .execution_role_arn(inputs.require(&self.execution_role, &rid)?)
            .task_role_arn(inputs.require(&self.task_role, &rid)?)
            .set_container_definitions(Some(defs))
            .set_tags(Some(ecs_tags(self.desired_tags(ctx.env()))));
        guard
            .send("RegisterTaskDefinition", &[], req.send())
            .await?;
        self.observe(ctx, inputs)
            .await?
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "the registered revision is not visible".into(),
            })
    }
    async fn prune(&self, ctx: &Context, guard: &Guard) -> Result<()> {
        let keep = self.spec.keep_revisions.max(1) as usize;
        deregister_family(ctx, guard, &self.id(), &self.family, keep).await
    }
}

/// `DescribeTaskDefinition` of `family`'s newest revision with its tags; `None` when the family
/// has none. Read once per plan: the task definition's node, the migration's and the orphan
/// listing all ask.
pub(crate) async fn described(
    ctx: &Context,
    rid: impl std::fmt::Display,
    family: &str,
) -> Result<Option<DescribeTaskDefinitionOutput>> {
    let read = || async {
        let out = client(ctx)
            .describe_task_definition()
            .task_definition(family)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeTaskDefinition", e));
        skyforge_core::none_if_aws_code(out, &["ClientException"])
    };
    let key = format!("ecs:DescribeTaskDefinition:{family}");
    Ok(ctx.memo(&key, read).await?.as_ref().clone())
}

/// The newest ACTIVE revision of `family`, with its tags.
async fn describe(
    ctx: &Context,
    rid: &ResourceId,
    family: &str,
) -> Result<Option<(TaskDefinition, Tags)>> {
    let Some(out) = described(ctx, rid, family).await? else {
        return Ok(None);
    };
    let found: Tags = out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    Ok(out
        .task_definition
        .filter(|t| t.status() != Some(&TaskDefinitionStatus::Inactive))
        .map(|t| (t, found)))
}

/// The tags of the newest tagged ACTIVE revision of `family` (none when no revision has tags).
async fn tagged_revision(ctx: &Context, rid: &ResourceId, family: &str) -> Result<Tags> {
    let ecs = client(ctx);
    for (_, arn) in revisions(ctx, rid, family).await? {
        let out = ecs
            .describe_task_definition()
            .task_definition(&arn)
            .include(TaskDefinitionField::Tags)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "DescribeTaskDefinition", e))?;
        let t: Tags = out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        if !t.is_empty() {
            return Ok(t);
        }
    }
    Ok(Tags::new())
}

/// The ACTIVE revisions of exactly `family`, newest first.
pub(crate) async fn revisions(
    ctx: &Context,
    rid: &ResourceId,
    family: &str,
) -> Result<Vec<(u64, String)>> {
    let pages: Vec<_> = client(ctx)
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::aws(rid, "ListTaskDefinitions", e))?;
    // The prefix also matches `family-x`: keep exact `family:N` ARNs.
    let mut arns: Vec<(u64, String)> = pages
        .iter()
        .flat_map(|p| p.task_definition_arns())
        .filter_map(|a| {
            let (f, rev) = a.rsplit_once('/')?.1.rsplit_once(':')?;
            (f == family).then(|| Some((rev.parse().ok()?, a.clone())))?
        })
        .collect();
    arns.sort_by_key(|b| std::cmp::Reverse(b.0));
    Ok(arns)
}

/// Deregister the ACTIVE revisions of `family` except the newest `keep`.
pub(crate) async fn deregister_family(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    family: &str,
    keep: usize,
) -> Result<()> {
    let ecs = client(ctx);
    for (_, arn) in revisions(ctx, rid, family).await?.into_iter().skip(keep) {
        guard
            .send(
                "DeregisterTaskDefinition",
                &[],
                ecs.deregister_task_definition()
                    .task_definition(&arn)
                    .send(),
            )
            .await?;
    }
    Ok(())
}
