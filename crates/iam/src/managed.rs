//! Customer managed policies: a role's inline policies hold 10,240 characters in all, a managed
//! policy 6,144 and a role may attach 10 (20 on request), which is what a generated deploy
//! policy needs.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_iam::Client;
use serde_json::Value as Json;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Permissions, Ref, Resource, ResourceId, Result, Stack, Value,
};

use crate::node::{client, iam_tags};
use crate::policy::{PolicyDocument, parse_document};

/// Resource kind `iam_policy`.
pub const KIND_POLICY: &str = "iam_policy";

/// IAM's limit on one managed policy (characters, whitespace excluded).
pub const MAX_MANAGED_CHARS: usize = 6_144;

/// A customer managed policy, named `<project>-<stage>[-<owner>]-<logical>`.
#[derive(Debug, Clone)]
pub struct ManagedPolicy {
    logical_id: String,
    description: String,
    document: PolicyDocument,
}

impl ManagedPolicy {
    /// Policy `logical_id` holding `document`.
    pub fn new(logical_id: impl Into<String>, document: PolicyDocument) -> ManagedPolicy {
        ManagedPolicy {
            logical_id: logical_id.into(),
            description: String::new(),
            document,
        }
    }
    /// What it is for (fixed at creation: IAM cannot change it).
    pub fn description(mut self, d: impl Into<String>) -> ManagedPolicy {
        self.description = d.into();
        self
    }
}

/// A managed policy in a stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManagedPolicyHandle {
    node: NodeId,
}

impl ManagedPolicyHandle {
    /// Its ARN, for [`crate::RoleSpec::managed_policies`].
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.node, "arn")
    }
}

impl Component for ManagedPolicy {
    type Handle = ManagedPolicyHandle;
    fn add_to(self, stack: &mut Stack) -> ManagedPolicyHandle {
        crate::owned::register_policy_kind(stack);
        let account = crate::current_account(stack);
        let node = stack.add_resource(PolicyNode {
            spec: self,
            account,
        });
        ManagedPolicyHandle { node }
    }
}

struct PolicyNode {
    spec: ManagedPolicy,
    account: Ref<String>,
}

pub(crate) fn policy_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::IamPolicy, logical).unwrap_or_default()
}

fn policy_arn(env: &Environment, account: &str, name: &str) -> String {
    let region = env.region_name().unwrap_or_default();
    let at = crate::deploy::ArnContext::new(region, account);
    format!("arn:{}:iam::{account}:policy/{name}", at.partition)
}

/// The calls of a managed policy.
pub(crate) const POLICY_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "iam:GetPolicy",
        "iam:GetPolicyVersion",
        "iam:ListPolicyTags",
    ],
    create: &["iam:CreatePolicy", "iam:TagPolicy"],
    update: &[
        "iam:CreatePolicyVersion",
        "iam:ListPolicyVersions",
        "iam:DeletePolicyVersion",
        "iam:TagPolicy",
        "iam:UntagPolicy",
    ],
    delete: &[
        "iam:DeletePolicy",
        "iam:ListPolicyVersions",
        "iam:DeletePolicyVersion",
    ],
};

impl PolicyNode {
    fn name(&self, env: &Environment) -> String {
        policy_name(env, &self.spec.logical_id)
    }
    fn document(&self) -> Json {
        self.spec
            .document
            .render(&Inputs::none())
            .unwrap_or(Json::Null)
    }
}

#[async_trait]
impl Resource for PolicyNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(POLICY_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![skyforge_core::ArnName::new("iam:policy", self.name(env))]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_POLICY, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.account.node()]
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        let field = format!("managed_policy.{}.document", self.spec.logical_id);
        let doc = self.spec.document.render(&Inputs::none()).ok_or_else(|| {
            Error::validation(&field, "an ARN of another node", "only literal ARNs")
        })?;
        let size = crate::deploy::size(&doc);
        if size > MAX_MANAGED_CHARS {
            return Err(Error::validation(
                field,
                format!("{size} characters"),
                format!("a managed policy holds at most {MAX_MANAGED_CHARS}"),
            ));
        }
        naming::physical_name(env, NameKind::IamPolicy, &self.spec.logical_id).map(|_| ())
    }
    fn desired(&self, env: &Environment, _inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        let name = Value::str(self.name(env));
        f.insert("name".into(), Field::new(name).force_new());
        let description = Value::str(&self.spec.description);
        f.insert("description".into(), Field::new(description).force_new());
        f.insert("document".into(), Field::new(Value::of(self.document())));
        let t = tags::resource_tags(env, &self.spec.logical_id);
        f.insert("tags".into(), Field::new(Value::of(t)));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let account: String = inputs.require(&self.account, &rid)?;
        let name = self.name(ctx.env());
        let arn = policy_arn(ctx.env(), &account, &name);
        let Some(found) = read(ctx, &rid, &arn).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found.tags, ctx.env(), &rid, &name)?;
        let desired = tags::resource_tags(ctx.env(), &self.spec.logical_id);
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        let description = Value::str(found.description);
        o.fields.insert("description".into(), description);
        o.fields
            .insert("document".into(), Value::of(found.document));
        let view = tags::managed_view(&desired, &found.tags);
        o.fields.insert("tags".into(), Value::of(view));
        o.outputs.insert("arn".into(), arn.into());
        o.outputs.insert("name".into(), name.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let t = tags::resource_tags(ctx.env(), &self.spec.logical_id);
        let call = client(ctx)
            .create_policy()
            .policy_name(self.name(ctx.env()))
            .policy_document(self.document().to_string())
            .description(&self.spec.description)
            .set_tags(Some(iam_tags(t)))
            .send();
        // A retry after a crash finds it; observation then checks the tags are the stack's.
        guard
            .send("CreatePolicy", &["EntityAlreadyExists"], call)
            .await?;
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
        let arn = &observed.physical_id;
        for d in diffs {
            match d.field.as_str() {
                "document" => new_version(ctx, guard, &self.id(), arn, &self.document()).await?,
                "tags" => {
                    let desired = tags::resource_tags(ctx.env(), &self.spec.logical_id);
                    sync_tags(ctx, guard, arn, &desired, observed).await?
                }
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_policy(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

struct Found {
    description: String,
    document: Json,
    tags: Tags,
}

async fn read(ctx: &Context, rid: &ResourceId, arn: &str) -> Result<Option<Found>> {
    let iam = client(ctx);
    let got = iam.get_policy().policy_arn(arn).send().await;
    let got = got.map_err(|e| Error::aws(rid, "GetPolicy", e));
    let Some(got) = skyforge_core::none_if_aws_code(got, &["NoSuchEntity"])? else {
        return Ok(None);
    };
    let p = got.policy();
    let version = p.and_then(|p| p.default_version_id()).unwrap_or("v1");
    let v = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "GetPolicyVersion", e))?;
    let text = v
        .policy_version()
        .and_then(|v| v.document())
        .unwrap_or("{}");
    let t = iam.list_policy_tags().policy_arn(arn).send().await;
    let t = t.map_err(|e| Error::aws(rid, "ListPolicyTags", e))?;
    Ok(Some(Found {
        description: p.and_then(|p| p.description()).unwrap_or("").to_string(),
        document: parse_document(text),
        tags: crate::node::from_iam_tags(t.tags()),
    }))
}

/// The policy's non-default versions, oldest first.
async fn old_versions(iam: &Client, rid: &ResourceId, arn: &str) -> Result<Vec<String>> {
    let out = iam.list_policy_versions().policy_arn(arn).send().await;
    let out = out.map_err(|e| Error::aws(rid, "ListPolicyVersions", e))?;
    let mut v: Vec<_> = out
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .filter_map(|v| Some((v.create_date()?.secs(), v.version_id()?.to_string())))
        .collect();
    v.sort();
    Ok(v.into_iter().map(|(_, id)| id).collect())
}

async fn delete_version(iam: &Client, guard: &Guard, arn: &str, id: &str) -> Result<()> {
    let call = iam
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(id)
        .send();
    guard
        .send("DeletePolicyVersion", &["NoSuchEntity"], call)
        .await
}

/// A new default version; IAM keeps five, so the oldest other one goes first when full.
async fn new_version(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    arn: &str,
    doc: &Json,
) -> Result<()> {
    let iam = client(ctx);
    let old = old_versions(&iam, rid, arn).await?;
    if old.len() >= 4 {
        delete_version(&iam, guard, arn, &old[0]).await?;
    }
    let call = iam
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(doc.to_string())
        .set_as_default(true)
        .send();
    guard.send("CreatePolicyVersion", &[], call).await
}

async fn sync_tags(
    ctx: &Context,
    guard: &Guard,
    arn: &str,
    desired: &Tags,
    observed: &Observed,
) -> Result<()> {
    let iam = client(ctx);
    let current = tags::from_field(observed.fields.get("tags"));
    let d = tags::diff_tags(desired, &current);
    if !d.set.is_empty() {
        let call = iam
            .tag_policy()
            .policy_arn(arn)
            .set_tags(Some(iam_tags(d.set.clone())))
            .send();
        guard.send("TagPolicy", &[], call).await?;
    }
    if !d.remove.is_empty() {
        let keys: BTreeSet<String> = d.remove.iter().cloned().collect();
        let call = iam
            .untag_policy()
            .policy_arn(arn)
            .set_tag_keys(Some(keys.into_iter().collect()))
            .send();
        guard.send("UntagPolicy", &[], call).await?;
    }
    Ok(())
}

/// Delete policy `arn` and its old versions (IAM refuses to delete a policy that has them);
/// success when it is already gone. The roles attaching it depend on it and go first.
pub(crate) async fn delete_policy(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    arn: &str,
) -> Result<()> {
    let iam = client(ctx);
    let old = old_versions(&iam, rid, arn).await;
    let Some(old) = skyforge_core::none_if_aws_code(old, &["NoSuchEntity"])? else {
        return Ok(());
    };
    for id in old {
        delete_version(&iam, guard, arn, &id).await?;
    }
    let call = iam.delete_policy().policy_arn(arn).send();
    guard.send("DeletePolicy", &["NoSuchEntity"], call).await
}
