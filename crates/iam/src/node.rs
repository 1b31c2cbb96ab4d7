//! The role node: observe, create, update in place, delete.

use skyforge_core::Permissions;
use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_iam::Client;
use serde_json::Value as Json;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

use crate::policy::parse_document;
use crate::role::RoleSpec;

/// Resource kind `iam_role`.
pub const KIND_ROLE: &str = "iam_role";

pub(crate) struct RoleNode {
    pub(crate) spec: RoleSpec,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

/// IAM's tags as a tag set.
pub(crate) fn from_iam_tags(t: &[aws_sdk_iam::types::Tag]) -> Tags {
    t.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

pub(crate) fn iam_tags(t: Tags) -> Vec<aws_sdk_iam::types::Tag> {
    t.into_iter()
        .filter_map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .ok()
        })
        .collect()
}

impl RoleNode {
    fn name(&self, env: &Environment) -> String {
        naming::physical_name(env, NameKind::IamRole, &self.spec.logical_id).unwrap_or_default()
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }
    /// The inline policies as JSON by name, `None` while an ARN they name is unknown.
    fn policies(&self, inputs: &Inputs) -> Option<BTreeMap<String, Json>> {
        self.spec
            .policies
            .iter()
            .map(|(n, d)| Some((n.clone(), d.render(inputs)?)))
            .collect()
    }
    /// The managed policies' ARNs, `None` while one is unknown.
    fn managed(&self, inputs: &Inputs) -> Option<BTreeSet<String>> {
        self.spec
            .managed_policies
            .iter()
            .map(|a| a.resolve(inputs))
            .collect()
    }
    fn resolved_managed(&self, inputs: &Inputs) -> Result<BTreeSet<String>> {
        self.managed(inputs).ok_or_else(|| self.unknown("managed"))
    }
}

/// The calls of a role.
pub(crate) const ROLE_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "iam:GetRole",
        "iam:ListRolePolicies",
        "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies",
    ],
    create: &[
        "iam:CreateRole",
        "iam:PutRolePolicy",
        "iam:AttachRolePolicy",
        "iam:TagRole",
    ],
    update: &[
        "iam:UpdateAssumeRolePolicy",
        "iam:UpdateRole",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
    ],
    delete: &[
        "iam:DeleteRole",
        "iam:DeleteRolePolicy",
        "iam:DetachRolePolicy",
        "iam:ListRolePolicies",
        "iam:ListAttachedRolePolicies",
    ],
};

#[async_trait]
impl Resource for RoleNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(ROLE_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![skyforge_core::ArnName::new("iam:role", self.name(env))]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_ROLE, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let docs = self.spec.policies.values().flat_map(|d| d.dependencies());
        let managed = self
            .spec
            .managed_policies
            .iter()
            .filter_map(|a| a.dependency());
        let mut deps: Vec<NodeId> = self
            .spec
            .trust
            .dependencies()
            .into_iter()
            .chain(docs)
            .chain(managed)
            .collect();
        deps.sort();
        deps.dedup();
        deps
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        crate::validate::role(&self.spec)?;
        naming::physical_name(env, NameKind::IamRole, &self.spec.logical_id).map(|_| ())
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        let trust = self
            .spec
            .trust
            .render(inputs)
            .map_or(Value::Unknown, Value::of);
        f.insert("assume_role_policy".into(), Field::new(trust));
        let policies = self.policies(inputs).map_or(Value::Unknown, Value::of);
        f.insert("policies".into(), Field::new(policies));
        let managed = self.managed(inputs).map_or(Value::Unknown, Value::of);
        f.insert("managed_policies".into(), Field::new(managed));
        f.insert(
            "description".into(),
            Field::new(Value::str(&self.spec.description)),
        );
        f.insert(
            "max_session_secs".into(),
            Field::new(Value::of(self.spec.max_session_secs)),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let name = self.name(ctx.env());
        let Some(found) = read(ctx, &rid, &name).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found.tags, ctx.env(), &rid, &name)?;
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        let view = tags::managed_view(&self.desired_tags(ctx.env()), &found.tags);
        o.fields.insert("name".into(), Value::str(&name));
        o.fields
            .insert("assume_role_policy".into(), Value::of(found.trust));
        o.fields
            .insert("policies".into(), Value::of(found.policies));
        o.fields
            .insert("managed_policies".into(), Value::of(found.managed));
        o.fields
            .insert("description".into(), Value::str(found.description));
        o.fields
            .insert("max_session_secs".into(), Value::of(found.max_session));
        o.fields.insert("tags".into(), Value::of(view));
        o.outputs.insert("arn".into(), found.arn.into());
        o.outputs.insert("name".into(), name.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let name = self.name(ctx.env());
        let policies = self.resolved_policies(inputs)?;
        let trust = self.trust(inputs)?;
        let iam = client(ctx);
        // A retry after a crash between the role and its policies finds the role (ours, by
        // its tags, checked by the observe at the end) and goes on.
        guard
            .send(
                "CreateRole",
                &["EntityAlreadyExists"],
                iam.create_role()
                    .role_name(&name)
                    .assume_role_policy_document(trust)
                    .description(&self.spec.description)
                    .max_session_duration(self.spec.max_session_secs as i32)
                    .set_tags(Some(iam_tags(self.desired_tags(ctx.env()))))
                    .send(),
            )
            .await?;
        for (pname, doc) in &policies {
            put_policy(&iam, guard, &name, pname, doc).await?;
        }
        for arn in self.resolved_managed(inputs)? {
            attach(&iam, guard, &name, &arn).await?;
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
        let iam = client(ctx);
        let name = observed.physical_id.clone();
        for d in diffs {
            match d.field.as_str() {
                "assume_role_policy" => {
                    let doc = self.trust(inputs)?;
                    guard
                        .send(
                            "UpdateAssumeRolePolicy",
                            &[],
                            iam.update_assume_role_policy()
                                .role_name(&name)
                                .policy_document(doc)
                                .send(),
                        )
                        .await?
                }
                "policies" => {
                    self.sync_policies(&iam, guard, &name, inputs, observed)
                        .await?
                }
                "managed_policies" => {
                    self.sync_managed(&iam, guard, &name, inputs, observed)
                        .await?
                }
                "description" | "max_session_secs" => {
                    guard
                        .send(
                            "UpdateRole",
                            &[],
                            iam.update_role()
                                .role_name(&name)
                                .description(&self.spec.description)
                                .max_session_duration(self.spec.max_session_secs as i32)
                                .send(),
                        )
                        .await?
                }
                "tags" => self.sync_tags(ctx, &iam, guard, &name, observed).await?,
                other => return Err(Error::not_updatable(&self.id(), other)),
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_role(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

impl RoleNode {
    fn trust(&self, inputs: &Inputs) -> Result<String> {
        let doc = self
            .spec
            .trust
            .render(inputs)
            .ok_or_else(|| self.unknown("trust"))?;
        Ok(doc.to_string())
    }
    fn unknown(&self, what: &str) -> Error {
        Error::Resource {
            resource: self.id().to_string(),
            message: format!("the {what} policy names an ARN that is not known at apply time"),
        }
    }
    fn resolved_policies(&self, inputs: &Inputs) -> Result<BTreeMap<String, String>> {
        let docs = self
            .policies(inputs)
            .ok_or_else(|| self.unknown("inline"))?;
        let docs: BTreeMap<String, String> =
            docs.into_iter().map(|(n, d)| (n, d.to_string())).collect();
        crate::validate::inline_size(&self.spec.logical_id, docs.values().map(String::len).sum())?;
        Ok(docs)
    }
    async fn sync_policies(
        &self,
        iam: &Client,
        guard: &Guard,
        name: &str,
        inputs: &Inputs,
        observed: &Observed,
    ) -> Result<()> {
        let want = self.resolved_policies(inputs)?;
        let want_json = self.policies(inputs).unwrap_or_default();
        let have: BTreeMap<String, Json> = observed
            .fields
            .get("policies")
            .and_then(|v| v.known())
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        for (pname, doc) in &want {
            if have.get(pname) != want_json.get(pname) {
                put_policy(iam, guard, name, pname, doc).await?;
            }
        }
        for gone in have.keys().filter(|k| !want.contains_key(*k)) {
            delete_policy(iam, guard, name, gone).await?;
        }
        Ok(())
    }
    async fn sync_managed(
        &self,
        iam: &Client,
        guard: &Guard,
        name: &str,
        inputs: &Inputs,
        observed: &Observed,
    ) -> Result<()> {
        let have: BTreeSet<String> = observed
            .fields
            .get("managed_policies")
            .and_then(|v| v.known())
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .unwrap_or_default();
        let want = self.resolved_managed(inputs)?;
        for arn in want.difference(&have) {
            attach(iam, guard, name, arn).await?;
        }
        for arn in have.difference(&want) {
            detach(iam, guard, name, arn).await?;
        }
        Ok(())
    }
    async fn sync_tags(
        &self,
        ctx: &Context,
        iam: &Client,
        guard: &Guard,
        name: &str,
        observed: &Observed,
    ) -> Result<()> {
        let current = tags::from_field(observed.fields.get("tags"));
        let d = tags::diff_tags(&self.desired_tags(ctx.env()), &current);
        if !d.set.is_empty() {
            guard
                .send(
                    "TagRole",
                    &[],
                    iam.tag_role()
                        .role_name(name)
                        .set_tags(Some(iam_tags(d.set.clone())))
                        .send(),
                )
                .await?;
        }
        if !d.remove.is_empty() {
            guard
                .send(
                    "UntagRole",
                    &[],
                    iam.untag_role()
                        .role_name(name)
                        .set_tag_keys(Some(d.remove.clone()))
                        .send(),
                )
                .await?;
        }
        Ok(())
    }
}

/// A role as IAM describes it.
struct Found {
    arn: String,
    trust: Json,
    description: String,
    max_session: i32,
    tags: Tags,
    policies: BTreeMap<String, Json>,
    managed: BTreeSet<String>,
}

/// The role `name` (with its tags); `None` when it does not exist. Read once per plan: the
/// role's observation and the orphan listing (for its tags) share it.
pub(crate) async fn get_role(
    ctx: &Context,
    rid: impl std::fmt::Display,
    name: &str,
) -> Result<Option<aws_sdk_iam::types::Role>> {
    let read = || async {
        let got = client(ctx).get_role().role_name(name).send().await;
        let got = got.map_err(|e| Error::aws(rid, "GetRole", e));
        let got = skyforge_core::none_if_aws_code(got, &["NoSuchEntity"])?;
        Ok(got.and_then(|g| g.role))
    };
    let got = ctx.memo(&format!("iam:GetRole:{name}"), read).await?;
    Ok(got.as_ref().clone())
}

async fn read(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<Found>> {
    let iam = client(ctx);
    let Some(role) = get_role(ctx, rid, name).await? else {
        return Ok(None);
    };
    let mut policies = BTreeMap::new();
    for pname in inline_names(&iam, rid, name).await? {
        let doc = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(&pname)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "GetRolePolicy", e))?;
        policies.insert(pname, parse_document(doc.policy_document()));
    }
    Ok(Some(Found {
        arn: role.arn().to_string(),
        trust: parse_document(role.assume_role_policy_document().unwrap_or("{}")),
        description: role.description().unwrap_or_default().to_string(),
        max_session: role.max_session_duration().unwrap_or(3600),
        tags: from_iam_tags(role.tags()),
        policies,
        managed: attached(&iam, rid, name).await?,
    }))
}

async fn inline_names(iam: &Client, rid: &ResourceId, name: &str) -> Result<Vec<String>> {
    let pages: Vec<_> = iam
        .list_role_policies()
        .role_name(name)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::aws(rid, "ListRolePolicies", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.policy_names().iter().cloned())
        .collect())
}

async fn attached(iam: &Client, rid: &ResourceId, name: &str) -> Result<BTreeSet<String>> {
    let pages: Vec<_> = iam
        .list_attached_role_policies()
        .role_name(name)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| Error::aws(rid, "ListAttachedRolePolicies", e))?;
    Ok(pages
        .iter()
        .flat_map(|p| p.attached_policies())
        .filter_map(|a| a.policy_arn().map(String::from))
        .collect())
}

async fn put_policy(iam: &Client, guard: &Guard, role: &str, name: &str, doc: &str) -> Result<()> {
    guard
        .send(
            "PutRolePolicy",
            &[],
            iam.put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(doc)
                .send(),
        )
        .await
}

async fn delete_policy(iam: &Client, guard: &Guard, role: &str, name: &str) -> Result<()> {
    guard
        .send(
            "DeleteRolePolicy",
            &["NoSuchEntity"],
            iam.delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send(),
        )
        .await
}

async fn attach(iam: &Client, guard: &Guard, role: &str, arn: &str) -> Result<()> {
    guard
        .send(
            "AttachRolePolicy",
            &[],
            iam.attach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send(),
        )
        .await
}

async fn detach(iam: &Client, guard: &Guard, role: &str, arn: &str) -> Result<()> {
    guard
        .send(
            "DetachRolePolicy",
            &["NoSuchEntity"],
            iam.detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send(),
        )
        .await
}

/// Delete role `name` with everything IAM refuses to delete it with (inline policies, attached
/// managed policies); success when it is already gone.
pub(crate) async fn delete_role(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
) -> Result<()> {
    let iam = client(ctx);
    let names =
        skyforge_core::none_if_aws_code(inline_names(&iam, rid, name).await, &["NoSuchEntity"])?;
    let Some(names) = names else { return Ok(()) };
    for p in names {
        delete_policy(&iam, guard, name, &p).await?;
    }
    let managed =
        skyforge_core::none_if_aws_code(attached(&iam, rid, name).await, &["NoSuchEntity"])?;
    for arn in managed.unwrap_or_default() {
        detach(&iam, guard, name, &arn).await?;
    }
    guard
        .send(
            "DeleteRole",
            &["NoSuchEntity"],
            iam.delete_role().role_name(name).send(),
        )
        .await
}
