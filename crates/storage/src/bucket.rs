//! The bucket node: observed setting by setting, each one put back when it drifts.

use async_trait::async_trait;
use serde_json::{Value as Json, json};
use skyforge_core::Permissions;
use skyforge_core::naming::short_hash;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Action, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Ref, Resource, ResourceId, Result, Value,
};

use crate::extras;
use crate::policy;
use crate::s3;
use crate::spec::{BucketSpec, Encryption, Purpose};

/// Resource kind `s3_bucket`.
pub const KIND_BUCKET: &str = "s3_bucket";

pub(crate) struct BucketNode {
    pub(crate) spec: BucketSpec,
    pub(crate) account: Ref<String>,
}

/// The derived name: the stack's prefix, the logical id, and a digest of the account, the region
/// and the owner (S3 names are global).
pub(crate) fn derived_name(env: &Environment, logical: &str, account: &str) -> String {
    let digest = short_hash(&[
        account,
        env.region_name().unwrap_or(""),
        env.owner_id().unwrap_or(""),
        &env.prefix(),
        logical,
    ]);
    let mut head: String = format!("{}-{logical}", env.prefix().to_ascii_lowercase())
        .chars()
        .take(63 - 9)
        .collect();
    while head.ends_with(['-', '.']) {
        head.pop();
    }
    format!("{head}-{digest}")
}

impl BucketNode {
    pub(crate) fn name(&self, env: &Environment, inputs: &Inputs) -> Option<String> {
        if let Some(n) = &self.spec.name {
            return Some(n.clone());
        }
        let account = inputs.get(&self.account)?;
        Some(derived_name(env, &self.spec.logical_id, &account))
    }

    pub(crate) fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }

    pub(crate) fn policy(&self, bucket: &str, account: &str) -> Json {
        let mut statements = vec![policy::deny_insecure(bucket)];
        if let Purpose::AlbLogs { region, prefix } = &self.spec.purpose {
            statements.push(policy::alb_logs(bucket, region, prefix, account));
        }
        if self.spec.purpose == Purpose::AccessLogs {
            statements.push(policy::access_logs(bucket, account));
        }
        json!({"Version": "2012-10-17", "Statement": statements})
    }

    pub(crate) fn encryption(&self) -> Json {
        match &self.spec.encryption {
            Encryption::S3Managed => json!({"algorithm": "AES256"}),
            Encryption::Kms(k) => json!({"algorithm": "aws:kms", "key": k, "bucket_key": true}),
        }
    }

    pub(crate) fn lifecycle(&self) -> Json {
        Json::Array(
            self.spec
                .lifecycle
                .iter()
                .map(|r| {
                    json!({
                        "id": r.id, "prefix": r.prefix, "expire_days": r.expire_days,
                        "noncurrent_expire_days": r.noncurrent_expire_days,
                        "abort_multipart_days": r.abort_multipart_days,
                        "transitions": r.transitions,
                    })
                })
                .collect(),
        )
    }
}

/// The calls of a bucket; an allowed delete empties it first, every version and delete marker (`DeleteObjectVersion`).
pub(crate) const BUCKET_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "s3:ListBucket",
        "s3:GetBucketTagging",
        "s3:GetBucketPolicy",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketVersioning",
        "s3:GetLifecycleConfiguration",
        "s3:GetBucketOwnershipControls",
        "s3:GetBucketPublicAccessBlock",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketCORS",
        "s3:GetBucketLogging",
    ],
    create: &[
        "s3:CreateBucket",
        "s3:PutBucketObjectLockConfiguration",
        "s3:PutBucketTagging",
        "s3:PutBucketPolicy",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketCORS",
        "s3:PutBucketLogging",
    ],
    update: &[
        "s3:PutBucketTagging",
        "s3:PutBucketPolicy",
        "s3:PutEncryptionConfiguration",
        "s3:PutBucketVersioning",
        "s3:PutLifecycleConfiguration",
        "s3:PutBucketOwnershipControls",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketCORS",
        "s3:PutBucketLogging",
    ],
    delete: &[
        "s3:DeleteBucket",
        "s3:ListBucketVersions",
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    ],
};

#[async_trait]
impl Resource for BucketNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(BUCKET_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, account: &str) -> Vec<skyforge_core::ArnName> {
        let name = match &self.spec.name {
            Some(n) => n.clone(),
            None => derived_name(env, &self.spec.logical_id, account),
        };
        vec![
            skyforge_core::ArnName::new("s3:bucket", &name),
            skyforge_core::ArnName::new("s3:object", format!("{name}/*")),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_BUCKET, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "s3"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let logs = self.spec.access_logs.iter().map(|l| l.bucket.node());
        std::iter::once(self.account.node()).chain(logs).collect()
    }
    async fn holds_data(&self, ctx: &Context, observed: &Observed) -> Result<bool> {
        s3::has_objects(ctx, &self.id(), &observed.physical_id).await
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let name = self.name(env, inputs);
        let account = inputs.get(&self.account);
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(name.clone().map(Value::str).unwrap_or(Value::Unknown)).force_new(),
        );
        f.insert(
            "object_lock".into(),
            Field::new(Value::of(self.spec.object_lock)).force_new(),
        );
        let put = |f: &mut Fields, k: &str, v: Value| {
            f.insert(k.into(), Field::new(v));
        };
        put(
            &mut f,
            "versioning",
            Value::str(if self.spec.versioning {
                "Enabled"
            } else {
                "Suspended"
            }),
        );
        put(&mut f, "encryption", Value::of(self.encryption()));
        put(&mut f, "public_access_block", Value::of(s3::all_blocked()));
        put(&mut f, "ownership", Value::str("BucketOwnerEnforced"));
        let policy = match (&name, &account) {
            (Some(n), Some(a)) => Value::of(self.policy(n, a)),
            _ => Value::Unknown,
        };
        put(&mut f, "policy", policy);
        put(&mut f, "lifecycle", Value::of(self.lifecycle()));
        put(
            &mut f,
            "cors",
            Value::of(extras::cors_view(&self.spec.cors)),
        );
        let logging = extras::logging_view(self.spec.access_logs.as_ref(), inputs);
        put(&mut f, "logging", logging);
        put(&mut f, "tags", Value::of(self.desired_tags(env)));
        f
    }
    fn diff(&self, desired: &Fields, observed: &Observed) -> Action {
        crate::drift::diff(desired, observed)
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(name) = self.name(ctx.env(), inputs) else {
            return Ok(None);
        };
        s3::observe(self, ctx, &name).await
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let name = self
            .name(ctx.env(), inputs)
            .ok_or_else(|| Error::Resource {
                resource: rid.to_string(),
                message: "the account is not known at apply time".into(),
            })?;
        s3::create(ctx, guard, &name, self.spec.object_lock).await?;
        let account = inputs.require(&self.account, &rid)?;
        s3::put_settings(self, ctx, guard, &name, &account, inputs, None).await?;
        skyforge_core::until_visible(ctx, &rid, "right after creation", || {
            s3::observe(self, ctx, &name)
        })
        .await
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
        let account = inputs.require(&self.account, &rid)?;
        let name = observed.physical_id.clone();
        s3::put_settings(
            self,
            ctx,
            guard,
            &name,
            &account,
            inputs,
            Some((observed, diffs)),
        )
        .await?;
        skyforge_core::until_visible(ctx, &rid, "after its update", || {
            s3::observe(self, ctx, &name)
        })
        .await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        s3::empty_and_delete(ctx, guard, &self.id(), &observed.physical_id).await
    }
}
