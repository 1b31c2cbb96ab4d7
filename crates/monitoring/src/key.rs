//! The topic's KMS key: customer-managed (the only kind CloudWatch can use for an encrypted
//! topic), rotated yearly, its policy granting the account and the services that publish alerts.

use async_trait::async_trait;
use aws_sdk_kms::Client;
use aws_sdk_kms::types::Tag;
use serde_json::{Value as Json, json};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};
use skyforge_iam::policy::{normalise, parse_document};

/// The kind of the topic keys.
pub const KIND_KEY: &str = "kms_key";

/// The services that encrypt messages for an alerts topic.
pub(crate) const PUBLISHERS: [&str; 4] = [
    "cloudwatch.amazonaws.com",
    "events.amazonaws.com",
    "events.rds.amazonaws.com",
    "elasticache.amazonaws.com",
];

pub(crate) struct KeyNode {
    pub(crate) logical: String,
    pub(crate) account: Ref<String>,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

/// `alias/<project>-<stage>-<logical>`.
pub(crate) fn alias(env: &Environment, logical: &str) -> String {
    format!(
        "alias/{}",
        naming::physical_name(env, NameKind::Alarm, logical).unwrap_or_default()
    )
}

/// The key policy: the account administers the key (without it nobody could), the publishers
/// may encrypt for the topic.
pub(crate) fn policy(account: &str) -> Json {
    normalise(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "AlertPublishersEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": PUBLISHERS},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}}
            }
        ]
    }))
}

impl KeyNode {
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.logical)
    }
}

/// The calls of a KMS key and its alias.
pub(crate) const KEY_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "kms:ListAliases",
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
        skyforge_core::tag_index::ACTION,
    ],
    create: &[
        "kms:CreateKey",
        "kms:TagResource",
        "kms:CreateAlias",
        "kms:EnableKeyRotation",
        "kms:PutKeyPolicy",
    ],
    update: &[
        "kms:PutKeyPolicy",
        "kms:EnableKeyRotation",
        "kms:EnableKey",
        "kms:TagResource",
        "kms:CreateAlias",
        "kms:DeleteAlias",
    ],
    delete: &["kms:ScheduleKeyDeletion", "kms:DeleteAlias"],
};

#[async_trait]
impl Resource for KeyNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(KEY_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let a = alias(env, &self.logical);
        let name = a.trim_start_matches("alias/");
        vec![skyforge_core::ArnName::new("kms:alias", name)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_KEY, &self.logical)
    }
    fn service(&self) -> &'static str {
        "kms"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.account.node()]
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "alias".into(),
            Field::new(Value::str(alias(env, &self.logical))).force_new(),
        );
        f.insert(
            "policy".into(),
            Field::new(
                inputs
                    .get(&self.account)
                    .map_or(Value::Unknown, |a: String| Value::of(policy(&a))),
            ),
        );
        f.insert("rotation".into(), Field::new(Value::of(true)));
        f.insert("state".into(), Field::new(Value::str("Enabled")));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let name = alias(ctx.env(), &self.logical);
        let Some(key_id) = alias_target(ctx, &rid, &name).await? else {
            return Ok(None);
        };
        let kms = client(ctx);
        let meta = kms
            .describe_key()
            .key_id(&key_id)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeKey", e))?;
        let Some(meta) = meta.key_metadata() else {
            return Ok(None);
        };
        let found = key_tags(ctx, &rid, &key_id).await?;
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        let state = meta
            .key_state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let policy = kms
            .get_key_policy()
            .key_id(&key_id)
            .policy_name("default")
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "GetKeyPolicy", e))?;
        let rotation = if state == "Enabled" {
            kms.get_key_rotation_status()
                .key_id(&key_id)
                .send()
                .await
                .map_err(|e| Error::aws(&rid, "GetKeyRotationStatus", e))?
                .key_rotation_enabled()
        } else {
            false
        };
        let mut o = Observed {
            physical_id: key_id.clone(),
            ..Observed::default()
        };
        o.fields.insert("alias".into(), Value::str(&name));
        o.fields.insert(
            "policy".into(),
            Value::of(normalise(&parse_document(policy.policy().unwrap_or("{}")))),
        );
        o.fields.insert("rotation".into(), Value::of(rotation));
        o.fields.insert("state".into(), Value::str(state));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs
            .insert("arn".into(), meta.arn().unwrap_or_default().into());
        o.outputs.insert("key_id".into(), key_id.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let account: String = inputs.require(&self.account, &rid)?;
        let kms = client(ctx);
        let created = guard
            .call("CreateKey", async {
                kms.create_key()
                    .description(format!(
                        "skyforge alerts topic key of {}",
                        ctx.env().prefix()
                    ))
                    .policy(policy(&account).to_string())
                    .set_tags(Some(kms_tags(&self.desired_tags(ctx.env()))))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreateKey", e))
            })
            .await?;
        let key_id = created
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .unwrap_or_default();
        let req = kms.enable_key_rotation().key_id(&key_id);
        guard.send("EnableKeyRotation", &[], req.send()).await?;
        let req = kms
            .create_alias()
            .alias_name(alias(ctx.env(), &self.logical))
            .target_key_id(&key_id);
        guard.send("CreateAlias", &[], req.send()).await?;
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
        let rid = self.id();
        let key_id = observed.physical_id.as_str();
        let kms = client(ctx);
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        if changed("state") {
            // Scheduled for deletion by an earlier destroy: take it back.
            let req = kms.cancel_key_deletion().key_id(key_id);
            guard.send("CancelKeyDeletion", &[], req.send()).await?;
            let req = kms.enable_key().key_id(key_id);
            guard.send("EnableKey", &[], req.send()).await?;
        }
        if changed("policy") {
            let account: String = inputs.require(&self.account, &rid)?;
            let req = kms
                .put_key_policy()
                .key_id(key_id)
                .policy_name("default")
                .policy(policy(&account).to_string());
            guard.send("PutKeyPolicy", &[], req.send()).await?;
        }
        if changed("rotation") || changed("state") {
            let req = kms.enable_key_rotation().key_id(key_id);
            guard.send("EnableKeyRotation", &[], req.send()).await?;
        }
        if changed("tags") {
            let current = tags::from_field(observed.fields.get("tags"));
            let d = tags::diff_tags(&self.desired_tags(ctx.env()), &current);
            if !d.set.is_empty() {
                let req = kms
                    .tag_resource()
                    .key_id(key_id)
                    .set_tags(Some(kms_tags(&d.set)));
                guard.send("TagResource", &[], req.send()).await?;
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let name = alias(ctx.env(), &self.logical);
        delete(ctx, guard, &name, &observed.physical_id).await
    }
}

/// Remove the alias and schedule the key's deletion (KMS keeps it 30 days, 7 for an ephemeral
/// stage, during which the next apply takes it back).
pub(crate) async fn delete(ctx: &Context, guard: &Guard, alias: &str, key_id: &str) -> Result<()> {
    let window = if ctx.env().is_ephemeral() { 7 } else { 30 };
    let kms = client(ctx);
    let req = kms.delete_alias().alias_name(alias);
    guard
        .send("DeleteAlias", &["NotFoundException"], req.send())
        .await?;
    let req = kms
        .schedule_key_deletion()
        .key_id(key_id)
        .pending_window_in_days(window);
    guard
        .send(
            "ScheduleKeyDeletion",
            &["NotFoundException", "KMSInvalidStateException"],
            req.send(),
        )
        .await
}

/// Every alias of the account and region with the key it names (one listing per plan, shared by
/// the key nodes and the orphan listing).
pub(crate) async fn all_aliases(
    ctx: &Context,
    rid: &ResourceId,
) -> Result<std::sync::Arc<Vec<(String, String)>>> {
    ctx.memo("kms:aliases", || async {
        let pages: Vec<_> = client(ctx)
            .list_aliases()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "ListAliases", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.aliases())
            .filter_map(|a| Some((a.alias_name()?.to_string(), a.target_key_id()?.to_string())))
            .collect::<Vec<_>>())
    })
    .await
}

/// The key an alias names, if the alias exists.
pub(crate) async fn alias_target(
    ctx: &Context,
    rid: &ResourceId,
    name: &str,
) -> Result<Option<String>> {
    Ok(all_aliases(ctx, rid)
        .await?
        .iter()
        .find(|(a, _)| a == name)
        .map(|(_, key)| key.clone()))
}

/// A key's tags: from the plan's tag index when they are the desired ones, else read once per plan
/// (its node and the orphan listing share them).
pub(crate) async fn key_tags(ctx: &Context, rid: &ResourceId, key_id: &str) -> Result<Tags> {
    let read = || async {
        let out = client(ctx)
            .list_resource_tags()
            .key_id(key_id)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListResourceTags", e))?;
        let t = out.tags().iter();
        Ok(Some(
            t.map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
                .collect(),
        ))
    };
    let key = format!("kms:{key_id}");
    let t = skyforge_core::tag_index::read_tags(ctx, KEYS, &key, read).await?;
    Ok(t.unwrap_or_default())
}

/// Keys in the plan's tag index, by `kms:` and their id.
const KEYS: skyforge_core::tag_index::IndexedType = skyforge_core::tag_index::IndexedType {
    filter: "kms:key",
    key: |arn| Some(format!("kms:{}", arn.split_once(":key/")?.1)),
};

fn kms_tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .filter_map(|(k, v)| Tag::builder().tag_key(k).tag_value(v).build().ok())
        .collect()
}
