//! The SNS topic node.

use skyforge_core::Permissions;
use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::Tag;
use serde_json::{Value as Json, json};
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};
use skyforge_iam::policy::{normalise, parse_document};

use crate::key::PUBLISHERS;
use crate::topic::{Encryption, Topic};

/// The kind of topics.
pub const KIND_TOPIC: &str = "sns_topic";

pub(crate) struct TopicNode {
    pub(crate) spec: Topic,
    pub(crate) account: Ref<String>,
    pub(crate) key: Option<Ref<String>>,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

pub(crate) fn topic_name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::SnsTopic, logical).unwrap_or_default()
}

/// The topic policy: the account manages the topic; the alert publishers may publish, for this
/// account only.
pub(crate) fn policy(arn: &str, account: &str) -> Json {
    normalise(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::{account}:root")},
                "Action": [
                    "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                    "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
                    "SNS:ListSubscriptionsByTopic", "SNS:Publish"
                ],
                "Resource": arn
            },
            {
                "Sid": "AlertPublishersPublish",
                "Effect": "Allow",
                "Principal": {"Service": PUBLISHERS},
                "Action": "SNS:Publish",
                "Resource": arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}}
            }
        ]
    }))
}

impl TopicNode {
    fn name(&self, env: &Environment) -> String {
        topic_name(env, &self.spec.logical_id)
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }
    fn arn(&self, env: &Environment, account: &str) -> String {
        format!(
            "arn:aws:sns:{}:{account}:{}",
            env.region_name().unwrap_or_default(),
            self.name(env)
        )
    }
    fn kms_key(&self, inputs: &Inputs) -> Option<String> {
        match (&self.spec.encryption, &self.key) {
            (Encryption::Key(k), _) => Some(k.clone()),
            (_, Some(r)) => inputs.get(r),
            _ => None,
        }
    }
    /// The attributes CreateTopic and SetTopicAttributes take, once every input is known.
    fn attributes(
        &self,
        env: &Environment,
        inputs: &Inputs,
    ) -> Option<Vec<(&'static str, String)>> {
        let account: String = inputs.get(&self.account)?;
        Some(vec![
            ("DisplayName", self.spec.display_name.clone()),
            ("KmsMasterKeyId", self.kms_key(inputs)?),
            (
                "Policy",
                policy(&self.arn(env, &account), &account).to_string(),
            ),
        ])
    }
}

/// The calls of a topic.
pub(crate) const TOPIC_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "sns:ListTopics",
        "sns:GetTopicAttributes",
        "sns:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
    ],
    create: &[
        "sns:CreateTopic",
        "sns:SetTopicAttributes",
        "sns:TagResource",
    ],
    update: &[
        "sns:SetTopicAttributes",
        "sns:TagResource",
        "sns:UntagResource",
    ],
    delete: &["sns:DeleteTopic"],
};

#[async_trait]
impl Resource for TopicNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(TOPIC_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let n = topic_name(env, &self.spec.logical_id);
        vec![skyforge_core::ArnName::new("sns:topic", n)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_TOPIC, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "sns"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = vec![self.account.node()];
        d.extend(self.key.as_ref().map(|k| k.node()));
        d
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        self.spec.validate(env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "display_name".into(),
            Field::new(Value::str(&self.spec.display_name)),
        );
        f.insert(
            "kms_key".into(),
            Field::new(self.kms_key(inputs).map_or(Value::Unknown, Value::str)),
        );
        let account: Option<String> = inputs.get(&self.account);
        f.insert(
            "policy".into(),
            Field::new(account.map_or(Value::Unknown, |a| {
                Value::of(policy(&self.arn(env, &a), &a))
            })),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let name = self.name(ctx.env());
        let Some(arn) = find(ctx, &rid, &name).await? else {
            return Ok(None);
        };
        let sns = client(ctx);
        let Some(found) = tags_of(ctx, &rid, &arn).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        let attrs = sns
            .get_topic_attributes()
            .topic_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "GetTopicAttributes", e))?;
        let a = attrs.attributes().cloned().unwrap_or_default();
        let get = |k: &str| a.get(k).cloned().unwrap_or_default();
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields
            .insert("display_name".into(), Value::str(get("DisplayName")));
        o.fields
            .insert("kms_key".into(), Value::str(get("KmsMasterKeyId")));
        o.fields.insert(
            "policy".into(),
            Value::of(normalise(&parse_document(&get("Policy")))),
        );
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("arn".into(), arn.into());
        o.outputs.insert("name".into(), name.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let attrs = self
            .attributes(ctx.env(), inputs)
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "the account or the key is not known at apply time".into(),
            })?;
        let attributes: HashMap<String, String> =
            attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let tags: Vec<Tag> = self
            .desired_tags(ctx.env())
            .iter()
            .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
            .collect();
        let req = client(ctx)
            .create_topic()
            .name(self.name(ctx.env()))
            .set_attributes(Some(attributes))
            .set_tags(Some(tags));
        guard.send("CreateTopic", &[], req.send()).await?;
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
        let arn = observed.physical_id.as_str();
        let sns = client(ctx);
        let attrs = self
            .attributes(ctx.env(), inputs)
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "the account or the key is not known at apply time".into(),
            })?;
        for (field, (name, value)) in ["display_name", "kms_key", "policy"].iter().zip(attrs) {
            if diffs.iter().any(|d| d.field == *field) {
                let req = sns
                    .set_topic_attributes()
                    .topic_arn(arn)
                    .attribute_name(name)
                    .attribute_value(value);
                guard.send("SetTopicAttributes", &[], req.send()).await?;
            }
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let d = tags::diff_tags(
                &self.desired_tags(ctx.env()),
                &tags::from_field(observed.fields.get("tags")),
            );
            if !d.set.is_empty() {
                let t: Vec<Tag> = d
                    .set
                    .iter()
                    .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
                    .collect();
                let req = sns.tag_resource().resource_arn(arn).set_tags(Some(t));
                guard.send("TagResource", &[], req.send()).await?;
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// Delete topic `arn` (its subscriptions, confirmed or not, go with it).
pub(crate) async fn delete(ctx: &Context, guard: &Guard, arn: &str) -> Result<()> {
    let req = client(ctx).delete_topic().topic_arn(arn);
    guard.send("DeleteTopic", &["NotFound"], req.send()).await
}

/// Every topic ARN of the account and region (one listing per plan).
pub(crate) async fn all_topics(
    ctx: &Context,
    rid: &ResourceId,
) -> Result<std::sync::Arc<Vec<String>>> {
    ctx.memo("sns:topics", || async {
        let pages: Vec<_> = client(ctx)
            .list_topics()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(rid, "ListTopics", e))?;
        Ok(pages
            .iter()
            .flat_map(|p| p.topics())
            .filter_map(|t| t.topic_arn().map(String::from))
            .collect::<Vec<_>>())
    })
    .await
}

/// The ARN of topic `name`, if it exists.
pub(crate) async fn find(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<String>> {
    let suffix = format!(":{name}");
    Ok(all_topics(ctx, rid)
        .await?
        .iter()
        .find(|a| a.ends_with(&suffix))
        .cloned())
}

/// A topic's tags (`None`: it is gone): from the plan's tag index when they are the desired ones,
/// else read once per plan (its node and the orphan listing share them).
pub(crate) async fn tags_of(ctx: &Context, rid: &ResourceId, arn: &str) -> Result<Option<Tags>> {
    let read = || async {
        let t = client(ctx)
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e));
        let t = skyforge_core::none_if_aws_code(t, &["NotFound", "ResourceNotFound"])?;
        Ok(t.map(|t| {
            t.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    };
    skyforge_core::tag_index::read_tags(ctx, TOPICS, arn, read).await
}

/// Topics in the plan's tag index (a topic's ARN has no resource type: the filter is the
/// service).
const TOPICS: skyforge_core::tag_index::IndexedType =
    skyforge_core::tag_index::IndexedType::by_arn("sns");
