//! The alerts topic: encrypted with a key CloudWatch may use, with a policy that lets CloudWatch,
//! EventBridge, RDS and ElastiCache publish, and its subscriptions.

use skyforge_core::{Component, Environment, Error, NodeId, Ref, Result, Stack};

use crate::key::KeyNode;
use crate::subscription::SubscriptionNode;
use crate::topic_node::TopicNode;

/// How the topic's messages are encrypted at rest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Encryption {
    /// A customer-managed KMS key made with the topic, whose policy lets CloudWatch,
    /// EventBridge, RDS and ElastiCache encrypt for it (the default).
    #[default]
    StackKey,
    /// An existing customer-managed key (ARN, id or alias). Its policy must grant
    /// `cloudwatch.amazonaws.com` `kms:Decrypt` and `kms:GenerateDataKey*`: an account-root
    /// `kms:*` statement does not cover the service, and notifications then drop silently.
    Key(String),
    /// No encryption: refused (alarm notifications describe the system's failures).
    None,
}

/// Someone or something told of alarms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// An email address; AWS mails it a confirmation link, and until a person follows it the
    /// plan shows the subscription as pending on them (not as an error).
    Email(String),
    /// An HTTPS endpoint (a chat or paging webhook); it must confirm like an email.
    Https(String),
}

impl Subscription {
    pub(crate) fn protocol(&self) -> &'static str {
        match self {
            Subscription::Email(_) => "email",
            Subscription::Https(_) => "https",
        }
    }
    pub(crate) fn endpoint(&self) -> &str {
        match self {
            Subscription::Email(e) | Subscription::Https(e) => e,
        }
    }
}

/// An SNS topic for alarm notifications, with its key and subscriptions.
///
/// ```
/// use skyforge_core::{Environment, Stack, Stage};
/// use skyforge_monitoring::{Subscription, Topic};
/// let mut stack = Stack::new(Environment::new("dougust", Stage::Prod).region("us-east-1"));
/// let topic = stack.add(
///     Topic::new("alerts").subscribe(Subscription::Email("oncall@example.com".into())),
/// );
/// # let _ = topic;
/// ```
#[derive(Debug, Clone)]
pub struct Topic {
    pub(crate) logical_id: String,
    pub(crate) display_name: String,
    pub(crate) encryption: Encryption,
    pub(crate) subscriptions: Vec<Subscription>,
}

impl Topic {
    /// A topic named `<project>-<stage>-<logical_id>`, encrypted with a key of its own.
    pub fn new(logical_id: impl Into<String>) -> Topic {
        let logical_id = logical_id.into();
        Topic {
            display_name: logical_id.clone(),
            logical_id,
            encryption: Encryption::StackKey,
            subscriptions: Vec::new(),
        }
    }
    /// How messages are encrypted.
    pub fn encryption(mut self, e: Encryption) -> Topic {
        self.encryption = e;
        self
    }
    /// The sender name in emails (at most 100 characters).
    pub fn display_name(mut self, name: impl Into<String>) -> Topic {
        self.display_name = name.into();
        self
    }
    /// Add a subscription.
    pub fn subscribe(mut self, s: Subscription) -> Topic {
        self.subscriptions.push(s);
        self
    }

    /// Every rule a topic must keep, checked before any API call.
    pub(crate) fn validate(&self, env: &Environment) -> Result<()> {
        let field = |f: &str| format!("topic.{}.{f}", self.logical_id);
        skyforge_core::naming::validate_logical_id(&field("logical_id"), &self.logical_id)?;
        skyforge_core::naming::physical_name(
            env,
            skyforge_core::naming::NameKind::SnsTopic,
            &self.logical_id,
        )?;
        match &self.encryption {
            Encryption::None => {
                return Err(Error::validation(
                    field("encryption"),
                    "none",
                    "alarm topics are encrypted: use Encryption::StackKey (a key made with the topic that CloudWatch may use) or Encryption::Key with a customer-managed key granting cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*",
                ));
            }
            Encryption::Key(k) if is_aws_managed_sns_key(k) => {
                return Err(Error::validation(
                    field("encryption"),
                    k,
                    "the AWS-managed key alias/aws/sns cannot be used: its policy cannot grant CloudWatch, so alarm notifications would be dropped without an error (visible only in the alarm history); use Encryption::StackKey or a customer-managed key",
                ));
            }
            Encryption::Key(k) if k.trim().is_empty() => {
                return Err(Error::validation(
                    field("encryption"),
                    k,
                    "a key ARN, id or alias",
                ));
            }
            _ => {}
        }
        if self.display_name.is_empty() || self.display_name.len() > 100 {
            return Err(Error::validation(
                field("display_name"),
                &self.display_name,
                "1 to 100 characters",
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        for s in &self.subscriptions {
            validate_subscription(&field("subscriptions"), s)?;
            if !seen.insert((s.protocol(), s.endpoint().to_ascii_lowercase())) {
                return Err(Error::validation(
                    field("subscriptions"),
                    s.endpoint(),
                    "listed twice",
                ));
            }
        }
        Ok(())
    }
}

fn is_aws_managed_sns_key(k: &str) -> bool {
    let k = k.trim().to_ascii_lowercase();
    k == "alias/aws/sns" || k.ends_with(":alias/aws/sns")
}

fn validate_subscription(field: &str, s: &Subscription) -> Result<()> {
    let e = s.endpoint();
    let ok = match s {
        Subscription::Email(_) => {
            let parts: Vec<&str> = e.split('@').collect();
            parts.len() == 2
                && !parts[0].is_empty()
                && parts[1].contains('.')
                && !e.chars().any(char::is_whitespace)
        }
        Subscription::Https(_) => e.starts_with("https://") && e.len() > "https://".len(),
    };
    if ok {
        return Ok(());
    }
    let rule = match s {
        Subscription::Email(_) => "an email address (name@domain)",
        Subscription::Https(_) => {
            "an https:// URL (SNS does not deliver to plain http in skyforge)"
        }
    };
    Err(Error::validation(field, e, rule))
}

/// What the other nodes need of a topic.
#[derive(Debug, Clone)]
pub struct TopicHandle {
    topic: NodeId,
    key: Option<NodeId>,
}

impl TopicHandle {
    /// The topic's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.topic, "arn")
    }
    /// The topic node.
    pub fn node(&self) -> NodeId {
        self.topic
    }
    /// The key's ARN, when the topic has a key of its own.
    pub fn key_arn(&self) -> Option<Ref<String>> {
        self.key.map(|k| Ref::new(k, "arn"))
    }
}

impl Component for Topic {
    type Handle = TopicHandle;
    fn add_to(self, stack: &mut Stack) -> TopicHandle {
        crate::owned::register_kinds(stack);
        let account = skyforge_iam::current_account(stack);
        let key = matches!(self.encryption, Encryption::StackKey).then(|| {
            stack.add_resource(KeyNode {
                logical: format!("{}-key", self.logical_id),
                account,
            })
        });
        let topic = stack.add_resource(TopicNode {
            spec: self.clone(),
            account,
            key: key.map(|k| Ref::new(k, "arn")),
        });
        // A subscription listed twice is refused by validation; its node is added once.
        let mut added = std::collections::BTreeSet::new();
        for s in &self.subscriptions {
            if added.insert((s.protocol(), s.endpoint().to_ascii_lowercase())) {
                stack.add_resource(SubscriptionNode::new(&self.logical_id, topic, s.clone()));
            }
        }
        TopicHandle { topic, key }
    }
}
