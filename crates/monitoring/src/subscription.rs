//! A subscription to the alerts topic. AWS sends the endpoint a confirmation; until a person
//! confirms, the subscription is pending on them: shown in the plan, never an error, never sent
//! again.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Pending, Ref, Resource, ResourceId, Result, Value,
};

use crate::topic::Subscription;
use crate::topic_node::client;

/// The kind of subscriptions.
pub const KIND_SUBSCRIPTION: &str = "sns_subscription";

/// What `ListSubscriptionsByTopic` answers for a subscription nobody confirmed yet.
const PENDING: &str = "PendingConfirmation";

pub(crate) struct SubscriptionNode {
    logical: String,
    topic: Ref<String>,
    sub: Subscription,
}

impl SubscriptionNode {
    pub(crate) fn new(topic_logical: &str, topic: NodeId, sub: Subscription) -> Self {
        let digest = skyforge_core::naming::short_hash(&[
            sub.protocol(),
            &sub.endpoint().to_ascii_lowercase(),
        ]);
        SubscriptionNode {
            logical: format!(
                "{topic_logical}-{}-{}",
                sub.protocol(),
                &digest[..8.min(digest.len())]
            ),
            topic: Ref::new(topic, "arn"),
            sub,
        }
    }
}

/// The calls of a subscription.
pub(crate) const SUBSCRIPTION_PERMISSIONS: Permissions = Permissions {
    observe: &["sns:ListSubscriptionsByTopic"],
    create: &["sns:Subscribe"],
    update: &[],
    delete: &["sns:Unsubscribe"],
};

#[async_trait]
impl Resource for SubscriptionNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(SUBSCRIPTION_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SUBSCRIPTION, &self.logical)
    }
    fn service(&self) -> &'static str {
        "sns"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.topic.node()]
    }
    fn desired(&self, _: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "protocol".into(),
            Field::new(Value::str(self.sub.protocol())).force_new(),
        );
        f.insert(
            "endpoint".into(),
            Field::new(Value::str(self.sub.endpoint())).force_new(),
        );
        f.insert(
            "topic".into(),
            Field::new(self.topic_value(inputs)).force_new(),
        );
        f.insert("confirmed".into(), Field::new(Value::of(true)));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let Some(topic) = inputs.get(&self.topic) else {
            return Ok(None);
        };
        let pages: Result<Vec<_>> = client(ctx)
            .list_subscriptions_by_topic()
            .topic_arn(&topic)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListSubscriptionsByTopic", e));
        let pages = match skyforge_core::none_if_aws_code(pages, &["NotFound"])? {
            Some(p) => p,
            None => return Ok(None),
        };
        let Some(s) = pages.iter().flat_map(|p| p.subscriptions()).find(|s| {
            s.protocol() == Some(self.sub.protocol())
                && s.endpoint()
                    .is_some_and(|e| e.eq_ignore_ascii_case(self.sub.endpoint()))
        }) else {
            return Ok(None);
        };
        let arn = s.subscription_arn().unwrap_or_default();
        let confirmed = arn != PENDING && arn.starts_with("arn:");
        let mut o = Observed {
            physical_id: arn.to_string(),
            ..Observed::default()
        };
        o.fields
            .insert("protocol".into(), Value::str(self.sub.protocol()));
        o.fields.insert(
            "endpoint".into(),
            Value::str(s.endpoint().unwrap_or_default()),
        );
        o.fields.insert("topic".into(), Value::str(&topic));
        o.fields.insert("confirmed".into(), Value::of(confirmed));
        if !confirmed {
            o.pending.insert(
                "confirmed".into(),
                Pending {
                    value: Value::of(true),
                    applies: format!(
                        "when a person at {} follows the confirmation AWS sent (skyforge cannot)",
                        self.sub.endpoint()
                    ),
                },
            );
        }
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let topic: String = inputs.require(&self.topic, &rid)?;
        let req = client(ctx)
            .subscribe()
            .topic_arn(topic)
            .protocol(self.sub.protocol())
            .endpoint(self.sub.endpoint())
            .return_subscription_arn(true);
        guard.send("Subscribe", &[], req.send()).await?;
        skyforge_core::observe_again(self, ctx, inputs, "right after subscribing").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        _: &Guard,
    ) -> Result<Observed> {
        // Only `confirmed` can differ in place, and only a person can change it.
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        if !observed.physical_id.starts_with("arn:") {
            // AWS refuses to unsubscribe a pending subscription; it lapses after three days,
            // or goes with its topic.
            tracing::info!(subscription = %self.id(), "pending confirmation: left to lapse");
            return Ok(());
        }
        let req = client(ctx)
            .unsubscribe()
            .subscription_arn(&observed.physical_id);
        guard.send("Unsubscribe", &["NotFound"], req.send()).await
    }
}

impl SubscriptionNode {
    fn topic_value(&self, inputs: &Inputs) -> Value {
        inputs
            .get(&self.topic)
            .map_or(Value::Unknown, |t: String| Value::str(t))
    }
}
