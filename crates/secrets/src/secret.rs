//! Secrets Manager secrets.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::{RotationRulesType, Tag};
use sha2::{Digest, Sha256};
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Ref, Resource, ResourceId, Result, Stack, Value,
};
use typed_builder::TypedBuilder;

use crate::refs::{SecretKind, SecretRef};
use crate::value::{Generator, Resolver, SecretString, Source};

/// Resource kind `secret`.
pub const KIND_SECRET: &str = "secret";

/// Tag carrying the rotation token (see [`SecretSpec::rotation`]).
pub const ROTATION_TAG: &str = "skyforge:rotation";

/// The value of a secret: one string, or a JSON object of named values.
#[derive(Debug, Clone, PartialEq)]
pub enum SecretValue {
    /// One value.
    Single(Source),
    /// A JSON object (`{"username": "...", "password": "..."}`); ECS can inject one key.
    Json(BTreeMap<String, Source>),
}

impl SecretValue {
    /// A generated value.
    pub fn generated(g: Generator) -> SecretValue {
        SecretValue::Single(Source::Generated(g))
    }
    /// A JSON object from `(key, source)` pairs.
    pub fn json<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Source)>) -> SecretValue {
        SecretValue::Json(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl SecretValue {
    fn sources(&self) -> Vec<(Option<&str>, &Source)> {
        match self {
            SecretValue::Single(s) => vec![(None, s)],
            SecretValue::Json(m) => m.iter().map(|(k, s)| (Some(k.as_str()), s)).collect(),
        }
    }
    /// See [`Source::fingerprint`]; empty when nothing can change after creation.
    fn fingerprint(&self, inputs: &Inputs) -> Option<String> {
        let mut parts = Vec::new();
        for (k, s) in self.sources() {
            let f = s.fingerprint(inputs)?;
            if !f.is_empty() {
                parts.push(format!("{}={f}", k.unwrap_or("")));
            }
        }
        Some(parts.join(";"))
    }
}

/// The rotation token a value is written under: the user's token, plus a digest of what a
/// composed value was made from (an endpoint, another secret's version) so that a change of
/// those writes it again. `None` while one of them is unknown.
pub(crate) fn effective_rotation(rotation: &str, fingerprint: Option<String>) -> Option<String> {
    let f = fingerprint?;
    Some(if f.is_empty() {
        rotation.to_string()
    } else {
        format!("{rotation}+{}", naming::short_hash(&[&f]))
    })
}

impl From<Source> for SecretValue {
    fn from(s: Source) -> Self {
        SecretValue::Single(s)
    }
}

/// A rotation schedule run by a rotation Lambda function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The rotation function's ARN.
    pub lambda_arn: String,
    /// `rate(30 days)` or `cron(...)`.
    pub schedule: String,
}

/// A Secrets Manager secret.
///
/// The value is written when the secret is created and again only when the rotation token
/// changes: a re-apply never overwrites a value (a generated one keeps its value for good; to
/// change a supplied one, change [`rotation`](SecretSpec::rotation)). Plans show that a value is
/// present and which version is current, never the value.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Secret>))]
pub struct SecretSpec {
    /// Logical id (`jwt-secret`, `cookie-secret`).
    #[builder(setter(into))]
    pub logical_id: String,
    /// The value.
    #[builder(setter(into))]
    pub value: SecretValue,
    /// The secret's name; default `project/stage[/owner]/logical-id`.
    #[builder(default, setter(strip_option, into))]
    pub name: Option<String>,
    /// Description.
    #[builder(default, setter(into))]
    pub description: String,
    /// A customer managed KMS key (id, ARN or alias); default the account's `aws/secretsmanager`.
    #[builder(default, setter(strip_option, into))]
    pub kms_key_id: Option<String>,
    /// Rotation token: changing it writes a new value (a new generated one, or the supplied one
    /// read again) as a new version.
    #[builder(default, setter(into))]
    pub rotation: String,
    /// Scheduled rotation by a Lambda function.
    #[builder(default, setter(strip_option))]
    pub rotation_schedule: Option<Rotation>,
    /// Days a deleted secret can be restored (7 to 30). Ephemeral stages delete at once.
    #[builder(default = 30)]
    pub recovery_window_days: u32,
}

/// A validated secret, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Secret {
    spec: SecretSpec,
}

impl Secret {
    /// Start a secret.
    pub fn builder() -> SecretSpecBuilder {
        SecretSpec::builder()
    }
}

/// The rule [`valid_secret_name`] checks, as errors state it.
pub const SECRET_NAME_RULE: &str = "1 to 512 characters of letters, digits and /_+=.@-";

/// Whether `n` is a name Secrets Manager accepts: 1 to 512 characters of letters, digits and
/// `/_+=.@-` (for crates that name a secret of their own, checked with their spec).
pub fn valid_secret_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 512
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
}

fn valid_json_key(k: &str) -> bool {
    // ECS selects a key in `arn:...:KEY::`: no colon, no whitespace.
    !k.is_empty() && k.len() <= 256 && !k.contains(':') && !k.chars().any(char::is_whitespace)
}

impl From<SecretSpec> for Result<Secret> {
    fn from(spec: SecretSpec) -> Self {
        let f = format!("secret.{}", spec.logical_id);
        naming::validate_logical_id("secret.logical_id", &spec.logical_id)?;
        if let Some(n) = &spec.name
            && !valid_secret_name(n)
        {
            return Err(Error::validation(format!("{f}.name"), n, SECRET_NAME_RULE));
        }
        match &spec.value {
            SecretValue::Single(s) => s.validate(&format!("{f}.value"))?,
            SecretValue::Json(map) => {
                if map.is_empty() {
                    return Err(Error::validation(
                        format!("{f}.value"),
                        "{}",
                        "a JSON secret needs at least one key",
                    ));
                }
                for (k, s) in map {
                    if !valid_json_key(k) {
                        return Err(Error::validation(
                            format!("{f}.value"),
                            k,
                            "JSON keys are 1 to 256 characters without ':' or whitespace",
                        ));
                    }
                    s.validate(&format!("{f}.value.{k}"))?;
                }
            }
        }
        if !(7..=30).contains(&spec.recovery_window_days) {
            return Err(Error::validation(
                format!("{f}.recovery_window_days"),
                spec.recovery_window_days.to_string(),
                "Secrets Manager keeps deleted secrets 7 to 30 days",
            ));
        }
        if spec.description.len() > 2048 {
            return Err(Error::validation(
                format!("{f}.description"),
                format!("{} characters", spec.description.len()),
                "at most 2048 characters",
            ));
        }
        if let Some(r) = &spec.rotation_schedule {
            let ok_schedule = (r.schedule.starts_with("rate(") || r.schedule.starts_with("cron("))
                && r.schedule.ends_with(')');
            if !ok_schedule {
                return Err(Error::validation(
                    format!("{f}.rotation_schedule.schedule"),
                    &r.schedule,
                    "a schedule is rate(N days) or cron(...)",
                ));
            }
            if !r.lambda_arn.starts_with("arn:") || !r.lambda_arn.contains(":lambda:") {
                return Err(Error::validation(
                    format!("{f}.rotation_schedule.lambda_arn"),
                    &r.lambda_arn,
                    "the rotation function is given by its Lambda ARN",
                ));
            }
        }
        Ok(Secret { spec })
    }
}

/// A secret in a stack: references for ECS and IAM.
#[derive(Debug, Clone)]
pub struct SecretHandle {
    logical: String,
    arn: Ref<String>,
    node: NodeId,
    keys: Option<Vec<String>>,
}

impl SecretHandle {
    /// The secret's ARN.
    pub fn arn(&self) -> Ref<String> {
        self.arn
    }
    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The whole secret, for an ECS `secrets` entry.
    pub fn whole(&self) -> SecretRef {
        SecretRef::new(SecretKind::SecretsManager, self.node, self.arn, None)
    }
    /// One key of a JSON secret (`arn:...:KEY::`). A key the spec does not define, or a key of a
    /// secret that is not JSON, is an error naming the key.
    pub fn key(&self, key: &str) -> Result<SecretRef> {
        match &self.keys {
            Some(keys) if keys.iter().any(|k| k == key) => Ok(SecretRef::new(
                SecretKind::SecretsManager,
                self.node,
                self.arn,
                Some(key.to_string()),
            )),
            Some(keys) => Err(Error::validation(
                format!("secret.{}.key", self.logical),
                key,
                format!("the secret defines the keys {keys:?}"),
            )),
            None => Err(Error::validation(
                format!("secret.{}.key", self.logical),
                key,
                "the secret is a single value, not a JSON object",
            )),
        }
    }
}

impl Component for Secret {
    type Handle = SecretHandle;
    fn add_to(self, stack: &mut Stack) -> SecretHandle {
        crate::owned::register_kinds(stack);
        let logical = self.spec.logical_id.clone();
        let keys = match &self.spec.value {
            SecretValue::Json(m) => Some(m.keys().cloned().collect()),
            SecretValue::Single(_) => None,
        };
        let node = stack.add_resource(SecretNode { spec: self.spec });
        SecretHandle {
            logical,
            arn: Ref::new(node, "arn"),
            node,
            keys,
        }
    }
}

pub(crate) struct SecretNode {
    spec: SecretSpec,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

/// The rotation token recorded on the secret or parameter (its `skyforge:rotation` tag).
pub(crate) fn observed_rotation(observed: &Observed) -> Option<String> {
    observed
        .fields
        .get("tags")
        .and_then(Value::known)
        .and_then(|t| t.get(ROTATION_TAG))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A version token derived from the stack, the secret and the rotation token: a retried write
/// of the same version is idempotent, and a new rotation token makes a new version.
fn version_token(env: &Environment, logical: &str, rotation: &str) -> String {
    let mut h = Sha256::new();
    for p in [env.prefix().as_str(), logical, rotation] {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize()
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

pub(crate) async fn generate(
    ctx: &Context,
    rid: &ResourceId,
    g: Generator,
) -> Result<SecretString> {
    let out = client(ctx)
        .get_random_password()
        .password_length(i64::from(g.length))
        .exclude_lowercase(!g.lowercase)
        .exclude_uppercase(!g.uppercase)
        .exclude_numbers(!g.digits)
        .exclude_punctuation(!g.punctuation)
        .set_exclude_characters((!g.exclude.is_empty()).then(|| g.exclude.clone()))
        .require_each_included_type(g.require_each)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "GetRandomPassword", e))?;
    Ok(SecretString::new(out.random_password().unwrap_or_default()))
}

impl SecretNode {
    fn name(&self, env: &Environment) -> String {
        self.spec.name.clone().unwrap_or_else(|| {
            naming::physical_name(env, NameKind::Secret, &self.spec.logical_id).unwrap_or_default()
        })
    }

    fn desired_tags(&self, env: &Environment, rotation: &str) -> Tags {
        let mut t = tags::resource_tags(env, &self.spec.logical_id);
        t.insert(ROTATION_TAG.into(), rotation.to_string());
        t
    }

    /// The rotation token for these inputs (see [`effective_rotation`]).
    fn rotation(&self, inputs: &Inputs) -> Option<String> {
        effective_rotation(&self.spec.rotation, self.spec.value.fingerprint(inputs))
    }

    /// The rotation token at apply time, when every input must be known.
    fn rotation_now(&self, inputs: &Inputs) -> Result<String> {
        self.rotation(inputs).ok_or_else(|| Error::Resource {
            resource: self.id().to_string(),
            message: "an input of the composed value is not known at apply time".into(),
        })
    }

    async fn value(&self, ctx: &Context, inputs: &Inputs) -> Result<SecretString> {
        let rid = self.id();
        let r = Resolver {
            ctx,
            rid: &rid,
            inputs,
        };
        let field = format!("secret.{}.value", self.spec.logical_id);
        match &self.spec.value {
            SecretValue::Single(s) => s.resolve(&field, &r).await,
            SecretValue::Json(map) => {
                let mut obj = serde_json::Map::new();
                for (k, s) in map {
                    let f = format!("{field}.{k}");
                    let v = s.resolve(&f, &r).await?;
                    obj.insert(k.clone(), serde_json::Value::String(v.expose().to_string()));
                }
                Ok(SecretString::new(
                    serde_json::Value::Object(obj).to_string(),
                ))
            }
        }
    }

    async fn put_value(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        guard: &Guard,
        secret_id: &str,
    ) -> Result<()> {
        let value = self.value(ctx, inputs).await?;
        let token = version_token(
            ctx.env(),
            &self.spec.logical_id,
            &self.rotation_now(inputs)?,
        );
        let sm = client(ctx);
        let rid = self.id();
        guard
            .call("PutSecretValue", async {
                sm.put_secret_value()
                    .secret_id(secret_id)
                    .secret_string(value.expose())
                    .client_request_token(token)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, "PutSecretValue", e))
            })
            .await
    }

    async fn set_rotation(&self, ctx: &Context, guard: &Guard, secret_id: &str) -> Result<()> {
        let sm = client(ctx);
        let rid = self.id();
        match &self.spec.rotation_schedule {
            Some(r) => {
                guard
                    .call("RotateSecret", async {
                        sm.rotate_secret()
                            .secret_id(secret_id)
                            .rotation_lambda_arn(&r.lambda_arn)
                            .rotation_rules(
                                RotationRulesType::builder()
                                    .schedule_expression(&r.schedule)
                                    .build(),
                            )
                            .rotate_immediately(false)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "RotateSecret", e))
                    })
                    .await
            }
            None => {
                guard
                    .call("CancelRotateSecret", async {
                        sm.cancel_rotate_secret()
                            .secret_id(secret_id)
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "CancelRotateSecret", e))
                    })
                    .await
            }
        }
    }

    async fn sync_tags(
        &self,
        ctx: &Context,
        guard: &Guard,
        secret_id: &str,
        observed: Option<&Value>,
        rotation: &str,
    ) -> Result<()> {
        let desired = self.desired_tags(ctx.env(), rotation);
        let current: Tags = tags::from_field(observed);
        let d = tags::diff_tags(&desired, &current);
        let sm = client(ctx);
        let rid = self.id();
        if !d.set.is_empty() {
            guard
                .call("TagResource", async {
                    sm.tag_resource()
                        .secret_id(secret_id)
                        .set_tags(Some(
                            d.set
                                .iter()
                                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                                .collect(),
                        ))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "TagResource", e))
                })
                .await?;
        }
        if !d.remove.is_empty() {
            guard
                .call("UntagResource", async {
                    sm.untag_resource()
                        .secret_id(secret_id)
                        .set_tag_keys(Some(d.remove.clone()))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "UntagResource", e))
                })
                .await?;
        }
        Ok(())
    }

    /// Describe the secret by name: `Ok(None)` if it does not exist, the description (with
    /// whether it is scheduled for deletion) otherwise.
    async fn describe(
        &self,
        ctx: &Context,
    ) -> Result<Option<aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput>>
    {
        if let Some(d) = crate::listing::listed_secret(ctx, &self.name(ctx.env())).await? {
            return Ok(Some(d));
        }
        match client(ctx)
            .describe_secret()
            .secret_id(self.name(ctx.env()))
            .send()
            .await
        {
            Ok(o) => Ok(Some(o)),
            Err(e) => {
                let e = Error::aws(self.id(), "DescribeSecret", e);
                if e.aws_code() == Some("ResourceNotFoundException") {
                    Ok(None)
                } else {
                    Err(e)
                }
            }
        }
    }
}

/// The calls of a secret; its value may be generated (`GetRandomPassword`) or read from another secret or parameter.
pub(crate) const SECRET_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "secretsmanager:DescribeSecret",
        "secretsmanager:ListSecrets",
    ],
    create: &[
        "secretsmanager:CreateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ],
    update: &[
        "secretsmanager:UpdateSecret",
        "secretsmanager:PutSecretValue",
        "secretsmanager:RestoreSecret",
        "secretsmanager:RotateSecret",
        "secretsmanager:TagResource",
        "secretsmanager:UntagResource",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ],
    delete: &["secretsmanager:DeleteSecret"],
};

#[async_trait]
impl Resource for SecretNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(SECRET_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        // Secrets Manager appends `-` and six random characters.
        let name = format!("{}-??????", self.name(env));
        vec![skyforge_core::ArnName::new("secretsmanager:Secret", name)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SECRET, &self.spec.logical_id)
    }
    async fn holds_data(&self, _: &Context, _: &Observed) -> Result<bool> {
        Ok(true)
    }
    fn service(&self) -> &'static str {
        "secretsmanager"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = self
            .spec
            .value
            .sources()
            .into_iter()
            .flat_map(|(_, s)| s.dependencies())
            .collect();
        d.sort();
        d.dedup();
        d
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        let name = self.name(env);
        if !valid_secret_name(&name) {
            return Err(Error::validation(
                format!("secret.{}.name", self.spec.logical_id),
                name,
                SECRET_NAME_RULE,
            ));
        }
        Ok(())
    }
    fn warnings(&self, env: &Environment) -> Vec<String> {
        let literal = match &self.spec.value {
            SecretValue::Single(s) => matches!(s, Source::Value(_)),
            SecretValue::Json(m) => m.values().any(|s| matches!(s, Source::Value(_))),
        };
        if literal && env.stage().is_prod() {
            vec![format!(
                "secret {} takes a value written in the code: use Source::env, Source::file or a generated value",
                self.spec.logical_id
            )]
        } else {
            Vec::new()
        }
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let rotation = self.rotation(inputs);
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "description".into(),
            Field::new(Value::str(&self.spec.description)),
        );
        f.insert(
            "kms_key_id".into(),
            Field::new(Value::of(self.spec.kms_key_id.clone())),
        );
        // Presence only: an existing value is never compared, so never overwritten.
        let known =
            |v: &dyn Fn(&str) -> Value| rotation.as_deref().map(v).unwrap_or(Value::Unknown);
        f.insert(
            "value".into(),
            Field::new(known(&|r| Value::sensitive(&format!("rotation:{r}")))),
        );
        f.insert(
            "version_id".into(),
            Field::new(known(&|r| {
                Value::str(version_token(env, &self.spec.logical_id, r))
            }))
            .ignore_drift(),
        );
        f.insert(
            "rotation_schedule".into(),
            Field::new(Value::of(self.spec.rotation_schedule.as_ref().map(
                |r| serde_json::json!({"lambda_arn": r.lambda_arn, "schedule": r.schedule}),
            ))),
        );
        f.insert(
            "tags".into(),
            Field::new(known(&|r| Value::of(self.desired_tags(env, r)))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let Some(d) = self.describe(ctx).await? else {
            return Ok(None);
        };
        let name = self.name(ctx.env());
        let found: Tags = d
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
            .collect();
        tags::ensure_owned(&found, ctx.env(), &self.id(), &name)?;
        if d.deleted_date().is_some() {
            // Scheduled for deletion: create restores it.
            return Ok(None);
        }
        let current = d.version_ids_to_stages().and_then(|m| {
            m.iter()
                .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
                .map(|(v, _)| v.clone())
        });
        let mut o = Observed {
            physical_id: d.arn().unwrap_or_default().to_string(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields.insert(
            "description".into(),
            Value::str(d.description().unwrap_or_default()),
        );
        o.fields.insert(
            "kms_key_id".into(),
            Value::of(d.kms_key_id().map(str::to_string)),
        );
        if current.is_some() {
            o.fields
                .insert("value".into(), Value::Sensitive(String::new()));
        }
        o.fields.insert(
            "version_id".into(),
            Value::of(current.clone().unwrap_or_default()),
        );
        let schedule = if d.rotation_enabled().unwrap_or(false) {
            d.rotation_rules()
                .and_then(|r| r.schedule_expression())
                .map(|s| {
                    serde_json::json!({
                        "lambda_arn": d.rotation_lambda_arn().unwrap_or_default(),
                        "schedule": s
                    })
                })
        } else {
            None
        };
        o.fields
            .insert("rotation_schedule".into(), Value::of(schedule));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &self.desired_tags(ctx.env(), ""),
                &found,
            )),
        );
        o.outputs
            .insert("arn".into(), d.arn().unwrap_or_default().into());
        o.outputs.insert("name".into(), name.into());
        o.outputs
            .insert("version_id".into(), current.unwrap_or_default().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let name = self.name(ctx.env());
        let sm = client(ctx);
        if let Some(d) = self.describe(ctx).await?
            && d.deleted_date().is_some()
        {
            // Deleted within its recovery window: restore it, keeping its value.
            guard
                .call("RestoreSecret", async {
                    sm.restore_secret()
                        .secret_id(&name)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "RestoreSecret", e))
                })
                .await?;
            let observed =
                skyforge_core::observe_again(self, ctx, inputs, "after it was restored").await?;
            let desired = self.desired(ctx.env(), inputs);
            return match self.diff(&desired, &observed) {
                skyforge_core::Action::Update { diffs }
                | skyforge_core::Action::Replace { diffs, .. } => {
                    self.update(ctx, inputs, &observed, &diffs, guard).await
                }
                _ => Ok(observed),
            };
        }
        let value = self.value(ctx, inputs).await?;
        let rotation = self.rotation_now(inputs)?;
        let token = version_token(ctx.env(), &self.spec.logical_id, &rotation);
        let created = guard
            .call("CreateSecret", async {
                sm.create_secret()
                    .name(&name)
                    .description(&self.spec.description)
                    .set_kms_key_id(self.spec.kms_key_id.clone())
                    .secret_string(value.expose())
                    .client_request_token(token)
                    .set_tags(Some(
                        self.desired_tags(ctx.env(), &rotation)
                            .iter()
                            .map(|(k, v)| Tag::builder().key(k).value(v).build())
                            .collect(),
                    ))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, "CreateSecret", e))
            })
            .await;
        // A retried create (same version token) after a crash: observe decides whose it is.
        skyforge_core::ok_if_aws_code(created, &["ResourceExistsException"])?;
        if self.spec.rotation_schedule.is_some() {
            self.set_rotation(ctx, guard, &name).await?;
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
        let rid = self.id();
        let id = observed.physical_id.clone();
        let sm = client(ctx);
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        if changed("description") || changed("kms_key_id") {
            guard
                .call("UpdateSecret", async {
                    sm.update_secret()
                        .secret_id(&id)
                        .description(&self.spec.description)
                        .set_kms_key_id(self.spec.kms_key_id.clone())
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| Error::aws(&rid, "UpdateSecret", e))
                })
                .await?;
        }
        let rotation = self.rotation_now(inputs)?;
        let observed_rotation = observed_rotation(observed);
        let rotate = observed_rotation.as_deref() != Some(rotation.as_str());
        if changed("value") || (changed("tags") && rotate) {
            self.put_value(ctx, inputs, guard, &id).await?;
        }
        if changed("rotation_schedule") {
            self.set_rotation(ctx, guard, &id).await?;
        }
        if changed("tags") {
            self.sync_tags(ctx, guard, &id, observed.fields.get("tags"), &rotation)
                .await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "vanished during update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let days = i64::from(self.spec.recovery_window_days);
        delete_secret(ctx, guard, &self.id(), &observed.physical_id, days).await
    }
}

/// Delete the secret `id` (name or ARN) with a recovery window of `days`, or at once in an
/// ephemeral stage; success when it is already gone.
pub(crate) async fn delete_secret(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    id: &str,
    days: i64,
) -> Result<()> {
    let sm = client(ctx);
    let immediate = ctx.env().is_ephemeral();
    let r = guard
        .call("DeleteSecret", async {
            let req = sm.delete_secret().secret_id(id);
            let req = if immediate {
                req.force_delete_without_recovery(true)
            } else {
                req.recovery_window_in_days(days)
            };
            req.send()
                .await
                .map(|_| ())
                .map_err(|e| Error::aws(rid, "DeleteSecret", e))
        })
        .await;
    skyforge_core::ok_if_aws_code(r, &["ResourceNotFoundException"])
}
