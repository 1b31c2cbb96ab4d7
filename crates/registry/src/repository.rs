//! ECR repositories.

use std::sync::Arc;

use async_trait::async_trait;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository as ApiRepository, Tag,
};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Ref, Resource, ResourceId, Result, Stack, Value,
};
use typed_builder::TypedBuilder;

use crate::lifecycle::Lifecycle;

/// Resource kind `ecr_repository`.
pub const KIND_REPOSITORY: &str = "ecr_repository";

/// Encryption at rest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Encryption {
    /// AES-256 with keys ECR manages.
    #[default]
    Aes256,
    /// A KMS key (`None`: the account's `aws/ecr` key).
    Kms(Option<String>),
}

/// An ECR repository, one per service.
///
/// Secure by default: scan on push, immutable tags, encryption; turning any of those off is a
/// plan warning. Deleting a repository that still holds images fails unless the stage is
/// ephemeral (then the images go with it).
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Repository>))]
pub struct RepositorySpec {
    /// Logical id, usually the service (`web`, `api`, `auth`, `admin`).
    #[builder(setter(into))]
    pub logical_id: String,
    /// The repository name; default `project/stage[/owner]/logical-id`.
    #[builder(default, setter(strip_option, into))]
    pub name: Option<String>,
    /// Scan images when pushed.
    #[builder(default = true)]
    pub scan_on_push: bool,
    /// Tags cannot be pushed again to another image.
    #[builder(default = true)]
    pub immutable_tags: bool,
    /// Encryption at rest (cannot change after creation).
    #[builder(default)]
    pub encryption: Encryption,
    /// Which images expire.
    #[builder(default, setter(strip_option))]
    pub lifecycle: Option<Lifecycle>,
    /// A repository policy (who else may pull or push).
    #[builder(default, setter(strip_option))]
    pub policy: Option<serde_json::Value>,
}

/// A validated repository.
#[derive(Debug, Clone)]
pub struct Repository {
    spec: RepositorySpec,
}

impl Repository {
    /// Start a repository.
    pub fn builder() -> RepositorySpecBuilder {
        RepositorySpec::builder()
    }
    /// The validated spec.
    pub fn spec(&self) -> &RepositorySpec {
        &self.spec
    }
}

/// ECR's name rule: lowercase segments of letters and digits joined by `.`, `_` or `-`,
/// separated by `/`; 2 to 256 characters.
pub fn valid_repository_name(n: &str) -> bool {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
            && !s.contains("..")
            && !s.contains("__")
            && !s.contains("--")
    };
    (2..=256).contains(&n.len()) && n.split('/').all(segment_ok)
}

impl From<RepositorySpec> for Result<Repository> {
    fn from(spec: RepositorySpec) -> Self {
        let f = format!("repository.{}", spec.logical_id);
        naming::validate_logical_id("repository.logical_id", &spec.logical_id)?;
        if let Some(n) = &spec.name
            && !valid_repository_name(n)
        {
            return Err(Error::validation(
                format!("{f}.name"),
                n,
                "2 to 256 characters: lowercase letters and digits, separated by single . _ - or /",
            ));
        }
        if let Some(l) = &spec.lifecycle {
            l.validate(&format!("{f}.lifecycle"))?;
        }
        if let Some(p) = &spec.policy
            && p.get("Statement").is_none_or(|s| !s.is_array())
        {
            return Err(Error::validation(
                format!("{f}.policy"),
                p.to_string(),
                "a repository policy is a JSON object with a Statement array",
            ));
        }
        if let Encryption::Kms(Some(k)) = &spec.encryption
            && k.is_empty()
        {
            return Err(Error::validation(
                format!("{f}.encryption"),
                "",
                "give a KMS key id or ARN, or None for the aws/ecr key",
            ));
        }
        Ok(Repository { spec })
    }
}

/// A repository in a stack.
#[derive(Debug, Clone)]
pub struct RepositoryHandle {
    uri: Ref<String>,
    arn: Ref<String>,
    node: NodeId,
}

impl RepositoryHandle {
    /// `<account>.dkr.ecr.<region>.amazonaws.com/<name>`.
    pub fn uri(&self) -> Ref<String> {
        self.uri
    }
    /// The repository ARN (for pull permissions).
    pub fn arn(&self) -> Ref<String> {
        self.arn
    }
    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
}

impl Component for Repository {
    type Handle = RepositoryHandle;
    fn add_to(self, stack: &mut Stack) -> RepositoryHandle {
        crate::owned::register_kinds(stack);
        let node = stack.add_resource(RepositoryNode { spec: self.spec });
        RepositoryHandle {
            uri: Ref::new(node, "repository_uri"),
            arn: Ref::new(node, "arn"),
            node,
        }
    }
}

pub(crate) struct RepositoryNode {
    spec: RepositorySpec,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

fn ecr_tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

fn encryption_value(e: &Encryption) -> serde_json::Value {
    match e {
        Encryption::Aes256 => serde_json::json!({"type": "AES256"}),
        Encryption::Kms(k) => serde_json::json!({"type": "KMS", "kms_key": k}),
    }
}

impl RepositoryNode {
    fn name(&self, env: &Environment) -> String {
        self.spec.name.clone().unwrap_or_else(|| {
            naming::physical_name(env, NameKind::EcrRepository, &self.spec.logical_id)
                .unwrap_or_default()
        })
    }

    async fn put_lifecycle(&self, ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
        let ecr = client(ctx);
        let rid = self.id();
        match &self.spec.lifecycle {
            Some(l) => {
                let text = l.to_json()?;
                guard
                    .call("PutLifecyclePolicy", async {
                        ecr.put_lifecycle_policy()
                            .repository_name(name)
                            .lifecycle_policy_text(text)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "PutLifecyclePolicy", e))
                    })
                    .await
            }
            None => {
                let r = guard
                    .call("DeleteLifecyclePolicy", async {
                        ecr.delete_lifecycle_policy()
                            .repository_name(name)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "DeleteLifecyclePolicy", e))
                    })
                    .await;
                skyforge_core::ok_if_aws_code(r, &["LifecyclePolicyNotFoundException"])
            }
        }
    }

    async fn put_policy(&self, ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
        let ecr = client(ctx);
        let rid = self.id();
        match &self.spec.policy {
            Some(p) => {
                let text = p.to_string();
                guard
                    .call("SetRepositoryPolicy", async {
                        ecr.set_repository_policy()
                            .repository_name(name)
                            .policy_text(text)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "SetRepositoryPolicy", e))
                    })
                    .await
            }
            None => {
                let r = guard
                    .call("DeleteRepositoryPolicy", async {
                        ecr.delete_repository_policy()
                            .repository_name(name)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "DeleteRepositoryPolicy", e))
                    })
                    .await;
                skyforge_core::ok_if_aws_code(r, &["RepositoryPolicyNotFoundException"])
            }
        }
    }
}

/// A policy document as stored, parsed (ECR keeps the text as given; comparing parsed JSON
/// ignores whitespace).
fn parsed(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(serde_json::Value::Null)
}

/// The calls of a repository; a deletion first checks whether it holds images (`ListImages`).
pub(crate) const REPOSITORY_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "ecr:DescribeRepositories",
        "ecr:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
        "ecr:GetLifecyclePolicy",
        "ecr:GetRepositoryPolicy",
    ],
    create: &[
        "ecr:CreateRepository",
        "ecr:TagResource",
        "ecr:PutLifecyclePolicy",
        "ecr:SetRepositoryPolicy",
    ],
    update: &[
        "ecr:PutImageScanningConfiguration",
        "ecr:PutImageTagMutability",
        "ecr:PutLifecyclePolicy",
        "ecr:DeleteLifecyclePolicy",
        "ecr:SetRepositoryPolicy",
        "ecr:DeleteRepositoryPolicy",
        "ecr:TagResource",
        "ecr:UntagResource",
    ],
    delete: &["ecr:DeleteRepository", "ecr:ListImages"],
};

#[async_trait]
impl Resource for RepositoryNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(REPOSITORY_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![skyforge_core::ArnName::new(
            "ecr:repository",
            self.name(env),
        )]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_REPOSITORY, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "ecr"
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        let name = self.name(env);
        if !valid_repository_name(&name) {
            return Err(Error::validation(
                format!("repository.{}.name", self.spec.logical_id),
                name,
                "2 to 256 characters: lowercase letters and digits, separated by single . _ - or /",
            ));
        }
        Ok(())
    }
    fn warnings(&self, _: &Environment) -> Vec<String> {
        let mut w = Vec::new();
        if !self.spec.scan_on_push {
            w.push(format!(
                "repository {}: images are not scanned on push",
                self.spec.logical_id
            ));
        }
        if !self.spec.immutable_tags {
            w.push(format!(
                "repository {}: tags are mutable, so a tag no longer names one image",
                self.spec.logical_id
            ));
        }
        w
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "image_tag_mutability".into(),
            Field::new(Value::str(if self.spec.immutable_tags {
                "IMMUTABLE"
            } else {
                "MUTABLE"
            })),
        );
        f.insert(
            "scan_on_push".into(),
            Field::new(Value::of(self.spec.scan_on_push)),
        );
        f.insert(
            "encryption".into(),
            Field::new(Value::of(encryption_value(&self.spec.encryption))).force_new(),
        );
        f.insert(
            "lifecycle_policy".into(),
            Field::new(Value::of(
                self.spec
                    .lifecycle
                    .as_ref()
                    .map(Lifecycle::document)
                    .unwrap_or(serde_json::Value::Null),
            )),
        );
        f.insert(
            "repository_policy".into(),
            Field::new(Value::of(
                self.spec.policy.clone().unwrap_or(serde_json::Value::Null),
            )),
        );
        f.insert(
            "tags".into(),
            Field::new(Value::of(tags::resource_tags(env, &self.spec.logical_id))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let ecr = client(ctx);
        let name = self.name(ctx.env());
        let Some(repo) = find(ctx, &self.id(), &name).await? else {
            return Ok(None);
        };
        let arn = repo.repository_arn().unwrap_or_default().to_string();
        let Some(found) = tags_of(ctx, &self.id(), &arn).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &self.id(), &name)?;
        let lifecycle = match ecr
            .get_lifecycle_policy()
            .repository_name(&name)
            .send()
            .await
        {
            Ok(o) => parsed(o.lifecycle_policy_text()),
            Err(e) => {
                let e = Error::aws(self.id(), "GetLifecyclePolicy", e);
                if e.aws_code() != Some("LifecyclePolicyNotFoundException") {
                    return Err(e);
                }
                serde_json::Value::Null
            }
        };
        let policy = match ecr
            .get_repository_policy()
            .repository_name(&name)
            .send()
            .await
        {
            Ok(o) => parsed(o.policy_text()),
            Err(e) => {
                let e = Error::aws(self.id(), "GetRepositoryPolicy", e);
                if e.aws_code() != Some("RepositoryPolicyNotFoundException") {
                    return Err(e);
                }
                serde_json::Value::Null
            }
        };
        let encryption = match repo.encryption_configuration() {
            Some(e) if e.encryption_type() == &EncryptionType::Kms => {
                encryption_value(&Encryption::Kms(e.kms_key().map(str::to_string)))
            }
            _ => encryption_value(&Encryption::Aes256),
        };
        // Comparing a KMS repository created with the default key: ECR reports the key ARN.
        let encryption = match (&self.spec.encryption, &encryption) {
            (Encryption::Kms(None), e) if e["type"] == "KMS" => {
                encryption_value(&Encryption::Kms(None))
            }
            _ => encryption,
        };
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields.insert(
            "image_tag_mutability".into(),
            Value::str(
                repo.image_tag_mutability()
                    .map(|m| m.as_str())
                    .unwrap_or("MUTABLE"),
            ),
        );
        o.fields.insert(
            "scan_on_push".into(),
            Value::of(
                repo.image_scanning_configuration()
                    .map(|c| c.scan_on_push())
                    .unwrap_or(false),
            ),
        );
        o.fields.insert("encryption".into(), Value::of(encryption));
        o.fields
            .insert("lifecycle_policy".into(), Value::of(lifecycle));
        o.fields
            .insert("repository_policy".into(), Value::of(policy));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &tags::resource_tags(ctx.env(), &self.spec.logical_id),
                &found,
            )),
        );
        o.outputs.insert(
            "repository_uri".into(),
            repo.repository_uri().unwrap_or_default().into(),
        );
        o.outputs.insert("arn".into(), arn.into());
        o.outputs.insert("name".into(), name.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let ecr = client(ctx);
        let rid = self.id();
        let name = self.name(ctx.env());
        let encryption = match &self.spec.encryption {
            Encryption::Aes256 => EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Aes256)
                .build(),
            Encryption::Kms(k) => EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Kms)
                .set_kms_key(k.clone())
                .build(),
        }
        .map_err(|e| -> Error {
            crate::Error::Request {
                resource: rid.clone(),
                message: e.to_string(),
            }
            .into()
        })?;
        let created = guard
            .call("CreateRepository", async {
                ecr.create_repository()
                    .repository_name(&name)
                    .image_tag_mutability(if self.spec.immutable_tags {
                        ImageTagMutability::Immutable
                    } else {
                        ImageTagMutability::Mutable
                    })
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(self.spec.scan_on_push)
                            .build(),
                    )
                    .encryption_configuration(encryption)
                    .set_tags(Some(ecr_tags(&tags::resource_tags(
                        ctx.env(),
                        &self.spec.logical_id,
                    ))))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, "CreateRepository", e))
            })
            .await;
        // A retried create after a crash: observe decides whose it is.
        skyforge_core::ok_if_aws_code(created, &["RepositoryAlreadyExistsException"])?;
        if self.spec.lifecycle.is_some() {
            self.put_lifecycle(ctx, guard, &name).await?;
        }
        if self.spec.policy.is_some() {
            self.put_policy(ctx, guard, &name).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "right after creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let ecr = client(ctx);
        let rid = self.id();
        let name = observed.physical_id.clone();
        for d in diffs {
            match d.field.as_str() {
                "image_tag_mutability" => {
                    guard
                        .call("PutImageTagMutability", async {
                            ecr.put_image_tag_mutability()
                                .repository_name(&name)
                                .image_tag_mutability(if self.spec.immutable_tags {
                                    ImageTagMutability::Immutable
                                } else {
                                    ImageTagMutability::Mutable
                                })
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| Error::aws(&rid, "PutImageTagMutability", e))
                        })
                        .await?
                }
                "scan_on_push" => {
                    guard
                        .call("PutImageScanningConfiguration", async {
                            ecr.put_image_scanning_configuration()
                                .repository_name(&name)
                                .image_scanning_configuration(
                                    ImageScanningConfiguration::builder()
                                        .scan_on_push(self.spec.scan_on_push)
                                        .build(),
                                )
                                .send()
                                .await
                                .map(|_| ())
                                .map_err(|e| Error::aws(&rid, "PutImageScanningConfiguration", e))
                        })
                        .await?
                }
                "lifecycle_policy" => self.put_lifecycle(ctx, guard, &name).await?,
                "repository_policy" => self.put_policy(ctx, guard, &name).await?,
                "tags" => {
                    let arn = observed
                        .outputs
                        .get("arn")
                        .and_then(|v| v.as_str())
                        .unwrap_or_default()
                        .to_string();
                    let desired = tags::resource_tags(ctx.env(), &self.spec.logical_id);
                    let current: Tags = tags::from_field(observed.fields.get("tags"));
                    let diff = tags::diff_tags(&desired, &current);
                    if !diff.set.is_empty() {
                        guard
                            .call("TagResource", async {
                                ecr.tag_resource()
                                    .resource_arn(&arn)
                                    .set_tags(Some(ecr_tags(&diff.set)))
                                    .send()
                                    .await
                                    .map(|_| ())
                                    .map_err(|e| Error::aws(&rid, "TagResource", e))
                            })
                            .await?;
                    }
                    if !diff.remove.is_empty() {
                        guard
                            .call("UntagResource", async {
                                ecr.untag_resource()
                                    .resource_arn(&arn)
                                    .set_tag_keys(Some(diff.remove.clone()))
                                    .send()
                                    .await
                                    .map(|_| ())
                                    .map_err(|e| Error::aws(&rid, "UntagResource", e))
                            })
                            .await?;
                    }
                }
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "vanished during update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_repository(ctx, guard, &self.id(), &observed.physical_id).await
    }
    async fn holds_data(&self, ctx: &Context, observed: &Observed) -> Result<bool> {
        crate::owned::has_images(ctx, &self.id(), &observed.physical_id).await
    }
}

/// Delete the repository `name`: with its images only in an ephemeral stage; elsewhere a
/// repository that still holds images is refused with a message saying so.
pub(crate) async fn delete_repository(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
) -> Result<()> {
    let ecr = client(ctx);
    let force = ctx.env().is_ephemeral();
    let r = guard
        .call("DeleteRepository", async {
            ecr.delete_repository()
                .repository_name(name)
                .force(force)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::aws(rid, "DeleteRepository", e))
        })
        .await;
    match r {
        Err(e) if e.aws_code() == Some("RepositoryNotFoundException") => Ok(()),
        Err(e) if e.aws_code() == Some("RepositoryNotEmptyException") => {
            Err(crate::Error::NotEmpty {
                resource: rid.clone(),
                repository: name.to_string(),
            }
            .into())
        }
        other => other,
    }
}

/// A repository's tags (`None`: it is gone): from the plan's tag index when they are the desired
/// ones, else read once per plan (its node and the orphan listing share them).
pub(crate) async fn tags_of(
    ctx: &Context,
    rid: impl std::fmt::Display,
    arn: &str,
) -> Result<Option<Tags>> {
    let read = || async {
        let t = client(ctx)
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e));
        let t = skyforge_core::none_if_aws_code(t, &["RepositoryNotFoundException"])?;
        Ok(t.map(|t| {
            t.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    };
    skyforge_core::tag_index::read_tags(ctx, REPOSITORIES, arn, read).await
}

/// Repositories in the plan's tag index.
const REPOSITORIES: skyforge_core::tag_index::IndexedType =
    skyforge_core::tag_index::IndexedType::by_arn("ecr:repository");

/// The repository `name`; `None` when it does not exist. While planning, from the listing.
async fn find(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<ApiRepository>> {
    if ctx.planning() {
        let all = all(ctx).await?;
        let found = all.iter().find(|r| r.repository_name() == Some(name));
        if let Some(r) = found {
            return Ok(Some(r.clone()));
        }
    }
    let out = client(ctx)
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeRepositories", e));
    let out = skyforge_core::none_if_aws_code(out, &["RepositoryNotFoundException"])?;
    Ok(out.and_then(|o| o.repositories().first().cloned()))
}

/// Every repository of the account and region, every page (ECR has no tag filter). Listed once
/// per plan, shared by every repository's observation and the orphan listing; outside a plan,
/// each call lists.
pub(crate) async fn all(ctx: &Context) -> Result<Arc<Vec<ApiRepository>>> {
    ctx.memo("ecr:DescribeRepositories", || async {
        client(ctx)
            .describe_repositories()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws("ecr_repository.*", "DescribeRepositories", e))
    })
    .await
}
