//! SSM Parameter Store parameters: plain `String` configuration and `SecureString` secrets, in
//! a hierarchy per stage (`/delivery/test/DATABASE_URL`).

use async_trait::async_trait;
use aws_sdk_ssm::Client;
use aws_sdk_ssm::types::{ParameterTier, ParameterType, ResourceTypeForTagging};
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Ref, Resource, ResourceId, Result, Stack, Value,
};
use typed_builder::TypedBuilder;

use crate::listing;
use crate::refs::{SecretKind, SecretRef};
use crate::secret::{ROTATION_TAG, effective_rotation, observed_rotation};
use crate::value::Resolver;
use crate::value::{SecretString, Source};

/// Resource kind `ssm_parameter`.
pub const KIND_PARAMETER: &str = "ssm_parameter";

/// A parameter's value.
#[derive(Debug, Clone, PartialEq)]
pub enum ParameterValue {
    /// A `String` parameter: configuration, shown in plans and updated when it changes.
    Plain(String),
    /// A `SecureString` parameter: written at creation and when the rotation token changes,
    /// never shown.
    Secure(Source),
}

/// Storage tier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tier {
    /// Up to 4 KB, free.
    #[default]
    Standard,
    /// Up to 8 KB, policies, charged.
    Advanced,
}

impl Tier {
    fn api(self) -> ParameterTier {
        match self {
            Tier::Standard => ParameterTier::Standard,
            Tier::Advanced => ParameterTier::Advanced,
        }
    }
    fn max_bytes(self) -> usize {
        match self {
            Tier::Standard => 4096,
            Tier::Advanced => 8192,
        }
    }
}

/// An SSM parameter, named `/<project>/<stage>[/<owner>]/<key>` unless a full path is given.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Parameter>))]
pub struct ParameterSpec {
    /// The last segment of the name (`DATABASE_URL`).
    #[builder(setter(into))]
    pub key: String,
    /// The value.
    pub value: ParameterValue,
    /// The full name instead of the stage hierarchy (`/delivery/test/DATABASE_URL`).
    #[builder(default, setter(strip_option, into))]
    pub path: Option<String>,
    /// Description.
    #[builder(default, setter(into))]
    pub description: String,
    /// Tier.
    #[builder(default)]
    pub tier: Tier,
    /// KMS key of a `SecureString` (default `alias/aws/ssm`).
    #[builder(default, setter(strip_option, into))]
    pub kms_key_id: Option<String>,
    /// Rotation token of a `SecureString` (changing it writes the value again).
    #[builder(default, setter(into))]
    pub rotation: String,
}

/// A validated parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    spec: ParameterSpec,
    logical: String,
}

impl Parameter {
    /// Start a parameter.
    pub fn builder() -> ParameterSpecBuilder {
        ParameterSpec::builder()
    }
}

fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn check_path(field: &str, p: &str) -> Result<()> {
    let segments: Vec<&str> = p.strip_prefix('/').unwrap_or("").split('/').collect();
    let rule = "a path /a/b/KEY of letters, digits and _.- segments, at most 15 levels and 1011 characters, not under /aws or /ssm";
    let reserved = segments
        .first()
        .is_some_and(|s| s.eq_ignore_ascii_case("aws") || s.eq_ignore_ascii_case("ssm"));
    if !p.starts_with('/')
        || p.len() > 1011
        || segments.len() > 15
        || reserved
        || !segments.iter().all(|s| valid_key(s))
    {
        return Err(Error::validation(field, p, rule));
    }
    Ok(())
}

impl From<ParameterSpec> for Result<Parameter> {
    fn from(spec: ParameterSpec) -> Self {
        let f = format!("parameter.{}", spec.key);
        if !valid_key(&spec.key) {
            return Err(Error::validation(
                format!("{f}.key"),
                &spec.key,
                "a key is letters, digits and _.-",
            ));
        }
        if let Some(p) = &spec.path {
            check_path(&format!("{f}.path"), p)?;
            if !p.ends_with(&format!("/{}", spec.key)) {
                return Err(Error::validation(
                    format!("{f}.path"),
                    p,
                    "the path must end with the key",
                ));
            }
        }
        match &spec.value {
            ParameterValue::Plain(v) => {
                if v.is_empty() || v.len() > spec.tier.max_bytes() {
                    return Err(Error::validation(
                        format!("{f}.value"),
                        format!("{} bytes", v.len()),
                        format!("1 to {} bytes in this tier", spec.tier.max_bytes()),
                    ));
                }
            }
            ParameterValue::Secure(s) => s.validate(&format!("{f}.value"))?,
        }
        if spec.kms_key_id.is_some() && matches!(spec.value, ParameterValue::Plain(_)) {
            return Err(Error::validation(
                format!("{f}.kms_key_id"),
                spec.kms_key_id.clone().unwrap_or_default(),
                "only SecureString parameters are encrypted",
            ));
        }
        if spec.description.len() > 1024 {
            return Err(Error::validation(
                format!("{f}.description"),
                format!("{} characters", spec.description.len()),
                "at most 1024 characters",
            ));
        }
        let mut logical = spec.key.to_ascii_lowercase().replace(['_', '.'], "-");
        while logical.contains("--") {
            logical = logical.replace("--", "-");
        }
        let logical = logical.trim_matches('-').to_string();
        skyforge_core::naming::validate_logical_id(&format!("{f}.key"), &logical)?;
        Ok(Parameter { spec, logical })
    }
}

/// A parameter in a stack.
#[derive(Debug, Clone)]
pub struct ParameterHandle {
    arn: Ref<String>,
    node: NodeId,
    secure: bool,
}

impl ParameterHandle {
    /// The parameter's ARN.
    pub fn arn(&self) -> Ref<String> {
        self.arn
    }
    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// Whether it is a `SecureString`.
    pub fn is_secure(&self) -> bool {
        self.secure
    }
    /// A reference for an ECS `secrets` entry.
    pub fn reference(&self) -> SecretRef {
        SecretRef::new(SecretKind::Parameter, self.node, self.arn, None)
    }
}

impl Component for Parameter {
    type Handle = ParameterHandle;
    fn add_to(self, stack: &mut Stack) -> ParameterHandle {
        crate::owned::register_kinds(stack);
        let secure = matches!(self.spec.value, ParameterValue::Secure(_));
        let node = stack.add_resource(ParameterNode {
            spec: self.spec,
            logical: self.logical,
        });
        ParameterHandle {
            arn: Ref::new(node, "arn"),
            node,
            secure,
        }
    }
}

pub(crate) struct ParameterNode {
    spec: ParameterSpec,
    logical: String,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

impl ParameterNode {
    fn name(&self, env: &Environment) -> String {
        self.spec.path.clone().unwrap_or_else(|| {
            let mut p = format!("/{}/{}", env.project_name(), env.stage().as_str());
            if let Some(o) = env.owner_id() {
                p.push('/');
                p.push_str(o);
            }
            format!("{p}/{}", self.spec.key)
        })
    }
    fn secure(&self) -> bool {
        matches!(self.spec.value, ParameterValue::Secure(_))
    }
    fn desired_tags(&self, env: &Environment, rotation: &str) -> Tags {
        let mut t = tags::resource_tags(env, &self.logical);
        if self.secure() {
            t.insert(ROTATION_TAG.into(), rotation.to_string());
        }
        t
    }
    /// The rotation token for these inputs (see [`effective_rotation`]).
    fn rotation(&self, inputs: &Inputs) -> Option<String> {
        match &self.spec.value {
            ParameterValue::Plain(_) => Some(self.spec.rotation.clone()),
            ParameterValue::Secure(s) => {
                effective_rotation(&self.spec.rotation, s.fingerprint(inputs))
            }
        }
    }
    fn rotation_now(&self, inputs: &Inputs) -> Result<String> {
        self.rotation(inputs).ok_or_else(|| Error::Resource {
            resource: self.id().to_string(),
            message: "an input of the composed value is not known at apply time".into(),
        })
    }
    async fn value(&self, ctx: &Context, inputs: &Inputs) -> Result<SecretString> {
        let rid = self.id();
        let field = format!("parameter.{}.value", self.spec.key);
        let r = Resolver {
            ctx,
            rid: &rid,
            inputs,
        };
        let v = match &self.spec.value {
            ParameterValue::Plain(v) => SecretString::new(v.clone()),
            ParameterValue::Secure(s) => s.resolve(&field, &r).await?,
        };
        if v.expose().len() > self.spec.tier.max_bytes() {
            return Err(Error::validation(
                field,
                format!("{} bytes", v.expose().len()),
                format!("at most {} bytes in this tier", self.spec.tier.max_bytes()),
            ));
        }
        Ok(v)
    }
    async fn current_value(&self, ctx: &Context, name: &str) -> Result<SecretString> {
        let out = client(ctx)
            .get_parameter()
            .name(name)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "GetParameter", e))?;
        Ok(SecretString::new(
            out.parameter().and_then(|p| p.value()).unwrap_or_default(),
        ))
    }
    async fn put(
        &self,
        ctx: &Context,
        guard: &Guard,
        value: &SecretString,
        overwrite: bool,
        rotation: &str,
    ) -> Result<()> {
        let rid = self.id();
        let ssm = client(ctx);
        let name = self.name(ctx.env());
        let tags = (!overwrite).then(|| {
            self.desired_tags(ctx.env(), rotation)
                .iter()
                .filter_map(|(k, v)| {
                    aws_sdk_ssm::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .ok()
                })
                .collect::<Vec<_>>()
        });
        guard
            .call("PutParameter", async {
                ssm.put_parameter()
                    .name(&name)
                    .value(value.expose())
                    .r#type(if self.secure() {
                        ParameterType::SecureString
                    } else {
                        ParameterType::String
                    })
                    .description(&self.spec.description)
                    .tier(self.spec.tier.api())
                    .set_key_id(self.spec.kms_key_id.clone())
                    .overwrite(overwrite)
                    .set_tags(tags)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| Error::aws(&rid, "PutParameter", e))
            })
            .await
    }
}

/// The calls of a parameter; a SecureString's value may come from a generator, a secret or another parameter.
pub(crate) const PARAMETER_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "ssm:DescribeParameters",
        "ssm:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
        "ssm:GetParameter",
        "ssm:GetParameters",
    ],
    create: &[
        "ssm:PutParameter",
        "ssm:AddTagsToResource",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ],
    update: &[
        "ssm:PutParameter",
        "ssm:AddTagsToResource",
        "ssm:RemoveTagsFromResource",
        "secretsmanager:GetRandomPassword",
        "secretsmanager:GetSecretValue",
        "ssm:GetParameter",
    ],
    delete: &["ssm:DeleteParameter"],
};

#[async_trait]
impl Resource for ParameterNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(PARAMETER_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let name = self.name(env);
        let path = name.trim_start_matches('/');
        vec![skyforge_core::ArnName::new("ssm:parameter", path)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_PARAMETER, &self.logical)
    }
    async fn holds_data(&self, _: &Context, _: &Observed) -> Result<bool> {
        Ok(matches!(self.spec.value, ParameterValue::Secure(_)))
    }
    fn service(&self) -> &'static str {
        "ssm"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        match &self.spec.value {
            ParameterValue::Plain(_) => Vec::new(),
            ParameterValue::Secure(s) => s.dependencies(),
        }
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        check_path(
            &format!("parameter.{}.path", self.spec.key),
            &self.name(env),
        )
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let rotation = self.rotation(inputs);
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "type".into(),
            Field::new(Value::str(if self.secure() {
                "SecureString"
            } else {
                "String"
            })),
        );
        let value = match &self.spec.value {
            ParameterValue::Plain(v) => Value::str(v),
            ParameterValue::Secure(_) => match &rotation {
                Some(r) => Value::sensitive(&format!("rotation:{r}")),
                None => Value::Unknown,
            },
        };
        f.insert("value".into(), Field::new(value));
        f.insert(
            "description".into(),
            Field::new(Value::str(&self.spec.description)),
        );
        f.insert(
            "tier".into(),
            Field::new(Value::str(self.spec.tier.api().as_str())),
        );
        if self.secure() {
            f.insert(
                "kms_key_id".into(),
                Field::new(Value::str(
                    self.spec.kms_key_id.as_deref().unwrap_or("alias/aws/ssm"),
                )),
            );
        }
        let tags = match &rotation {
            Some(r) => Value::of(self.desired_tags(env, r)),
            None => Value::Unknown,
        };
        f.insert("tags".into(), Field::new(tags));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let name = self.name(ctx.env());
        let rid = self.id();
        let Some(p) = listing::parameter(ctx, &rid, &name).await? else {
            return Ok(None);
        };
        let Some(found) = listing::tags_of(ctx, &rid, &name).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        let meta = listing::metadata(ctx, &rid, &name).await?;
        let meta = meta.as_ref();
        let secure = p.r#type() == Some(&ParameterType::SecureString);
        let mut o = Observed {
            physical_id: name.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&name));
        o.fields.insert(
            "type".into(),
            Value::str(p.r#type().map(|t| t.as_str()).unwrap_or_default()),
        );
        o.fields.insert(
            "value".into(),
            if secure {
                Value::Sensitive(String::new())
            } else {
                Value::str(p.value().unwrap_or_default())
            },
        );
        o.fields.insert(
            "description".into(),
            Value::str(meta.and_then(|m| m.description()).unwrap_or_default()),
        );
        o.fields.insert(
            "tier".into(),
            Value::str(
                meta.and_then(|m| m.tier())
                    .map(|t| t.as_str())
                    .unwrap_or("Standard"),
            ),
        );
        if secure {
            o.fields.insert(
                "kms_key_id".into(),
                Value::str(meta.and_then(|m| m.key_id()).unwrap_or("alias/aws/ssm")),
            );
        }
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &self.desired_tags(ctx.env(), ""),
                &found,
            )),
        );
        o.outputs
            .insert("arn".into(), p.arn().unwrap_or_default().into());
        o.outputs.insert("name".into(), name.into());
        o.outputs.insert("version".into(), p.version().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let value = self.value(ctx, inputs).await?;
        let rotation = self.rotation_now(inputs)?;
        let r = self.put(ctx, guard, &value, false, &rotation).await;
        // A retried create after a crash: observe decides whose it is.
        skyforge_core::ok_if_aws_code(r, &["ParameterAlreadyExists"])?;
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
        let name = observed.physical_id.clone();
        let rotation = self.rotation_now(inputs)?;
        let observed_rotation = observed_rotation(observed);
        let rotate = self.secure() && observed_rotation.as_deref() != Some(rotation.as_str());
        let rewrite = diffs.iter().any(|d| d.field != "tags") || rotate;
        if rewrite {
            // A SecureString keeps its value unless rotated: PutParameter needs the value, so
            // the current one is written back.
            let value = if !self.secure() || rotate || !observed.fields.contains_key("value") {
                self.value(ctx, inputs).await?
            } else {
                self.current_value(ctx, &name).await?
            };
            self.put(ctx, guard, &value, true, &rotation).await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let desired = self.desired_tags(ctx.env(), &rotation);
            let current: Tags = tags::from_field(observed.fields.get("tags"));
            let d = tags::diff_tags(&desired, &current);
            let ssm = client(ctx);
            let rid = self.id();
            if !d.set.is_empty() {
                guard
                    .call("AddTagsToResource", async {
                        ssm.add_tags_to_resource()
                            .resource_type(ResourceTypeForTagging::Parameter)
                            .resource_id(&name)
                            .set_tags(Some(
                                d.set
                                    .iter()
                                    .filter_map(|(k, v)| {
                                        aws_sdk_ssm::types::Tag::builder()
                                            .key(k)
                                            .value(v)
                                            .build()
                                            .ok()
                                    })
                                    .collect(),
                            ))
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "AddTagsToResource", e))
                    })
                    .await?;
            }
            if !d.remove.is_empty() {
                guard
                    .call("RemoveTagsFromResource", async {
                        ssm.remove_tags_from_resource()
                            .resource_type(ResourceTypeForTagging::Parameter)
                            .resource_id(&name)
                            .set_tag_keys(Some(d.remove.clone()))
                            .send()
                            .await
                            .map(|_| ())
                            .map_err(|e| Error::aws(&rid, "RemoveTagsFromResource", e))
                    })
                    .await?;
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "vanished during update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_parameter(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

/// Delete the parameter `name`; success when it is already gone.
pub(crate) async fn delete_parameter(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
) -> Result<()> {
    let ssm = client(ctx);
    let r = guard
        .call("DeleteParameter", async {
            ssm.delete_parameter()
                .name(name)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| Error::aws(rid, "DeleteParameter", e))
        })
        .await;
    skyforge_core::ok_if_aws_code(r, &["ParameterNotFound"])
}
