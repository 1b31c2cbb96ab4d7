//! The S3 calls of a bucket node: observe every setting, create, put back what drifted, empty
//! (every version and delete marker, page by page) and delete.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, BucketLocationConstraint,
    BucketVersioningStatus, CreateBucketConfiguration, Delete, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    ObjectIdentifier, ObjectOwnership, OwnershipControls, OwnershipControlsRule,
    PublicAccessBlockConfiguration, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging, Transition,
    TransitionStorageClass, VersioningConfiguration,
};
use serde_json::{Value as Json, json};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Error, FieldDiff, Guard, Observed, Resource, ResourceId, Result, Value,
};

use crate::bucket::BucketNode;
use crate::spec::Encryption;

pub(crate) fn client(ctx: &Context) -> Client {
    let path_style = ctx.endpoint_overridden();
    ctx.client(|c| {
        Client::from_conf(
            aws_sdk_s3::config::Builder::from(c)
                .force_path_style(path_style)
                .build(),
        )
    })
}

pub(crate) fn all_blocked() -> Json {
    json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true})
}

fn build_err(rid: &ResourceId, e: impl std::fmt::Display) -> Error {
    Error::Resource {
        resource: rid.to_string(),
        message: format!("request could not be built: {e}"),
    }
}

/// An absent setting: the error codes S3 answers for "not configured".
async fn optional<T>(r: Result<T>, codes: &[&str]) -> Result<Option<T>> {
    skyforge_core::none_if_aws_code(r, codes)
}

pub(crate) async fn tags_of(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Tags> {
    let r = client(ctx)
        .get_bucket_tagging()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "GetBucketTagging", e));
    Ok(optional(r, &["NoSuchTagSet"])
        .await?
        .map(|t| {
            t.tag_set()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        })
        .unwrap_or_default())
}

pub(crate) async fn observe(
    node: &BucketNode,
    ctx: &Context,
    name: &str,
) -> Result<Option<Observed>> {
    let rid = node.id();
    let s3 = client(ctx);
    let head = s3
        .head_bucket()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "HeadBucket", e));
    if optional(head, &["NotFound", "NoSuchBucket"])
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let found = tags_of(ctx, &rid, name).await?;
    let untagged = !found.keys().any(|k| k.starts_with("skyforge:"));
    if !(node.spec.adopt_untagged && untagged) {
        tags::ensure_owned(&found, ctx.env(), &rid, name)?;
    }
    let mut o = Observed {
        physical_id: name.to_string(),
        ..Observed::default()
    };
    let mut put = |k: &str, v: Value| {
        o.fields.insert(k.into(), v);
    };
    put("name", Value::str(name));
    let v = s3
        .get_bucket_versioning()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetBucketVersioning", e))?;
    put(
        "versioning",
        Value::str(if v.status() == Some(&BucketVersioningStatus::Enabled) {
            "Enabled"
        } else {
            "Suspended"
        }),
    );
    let lock = s3
        .get_object_lock_configuration()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetObjectLockConfiguration", e));
    put(
        "object_lock",
        Value::of(
            optional(lock, &["ObjectLockConfigurationNotFoundError"])
                .await?
                .is_some(),
        ),
    );
    let enc = s3
        .get_bucket_encryption()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetBucketEncryption", e));
    let enc = optional(enc, &["ServerSideEncryptionConfigurationNotFoundError"]).await?;
    let rule = enc
        .as_ref()
        .and_then(|e| e.server_side_encryption_configuration())
        .and_then(|c| c.rules().first());
    let by_default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
    put(
        "encryption",
        Value::of(match by_default.map(|d| d.sse_algorithm().as_str()) {
            Some("aws:kms") => {
                json!({"algorithm": "aws:kms", "key": by_default.and_then(|d| d.kms_master_key_id()), "bucket_key": rule.and_then(|r| r.bucket_key_enabled()).unwrap_or(false)})
            }
            Some(a) => json!({"algorithm": a}),
            None => Json::Null,
        }),
    );
    let pab = s3
        .get_public_access_block()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetPublicAccessBlock", e));
    let pab = optional(pab, &["NoSuchPublicAccessBlockConfiguration"]).await?;
    let c = pab
        .as_ref()
        .and_then(|p| p.public_access_block_configuration());
    put(
        "public_access_block",
        Value::of(json!({
            "block_public_acls": c.and_then(|c| c.block_public_acls()).unwrap_or(false),
            "ignore_public_acls": c.and_then(|c| c.ignore_public_acls()).unwrap_or(false),
            "block_public_policy": c.and_then(|c| c.block_public_policy()).unwrap_or(false),
            "restrict_public_buckets": c.and_then(|c| c.restrict_public_buckets()).unwrap_or(false),
        })),
    );
    let own = s3
        .get_bucket_ownership_controls()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetBucketOwnershipControls", e));
    let own = optional(own, &["OwnershipControlsNotFoundError"]).await?;
    put(
        "ownership",
        Value::of(
            own.as_ref()
                .and_then(|o| o.ownership_controls())
                .and_then(|c| c.rules().first())
                .map(|r| r.object_ownership().as_str().to_string()),
        ),
    );
    let pol = s3
        .get_bucket_policy()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetBucketPolicy", e));
    let pol = optional(pol, &["NoSuchBucketPolicy"]).await?;
    put(
        "policy",
        Value::of(
            pol.and_then(|p| p.policy().map(str::to_string))
                .and_then(|p| serde_json::from_str::<Json>(&p).ok()),
        ),
    );
    let lc = s3
        .get_bucket_lifecycle_configuration()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(&rid, "GetBucketLifecycleConfiguration", e));
    let lc = optional(lc, &["NoSuchLifecycleConfiguration"]).await?;
    put(
        "lifecycle",
        Value::of(lifecycle_view(
            lc.as_ref().map(|l| l.rules()).unwrap_or_default(),
        )),
    );
    let (cors, logging) = crate::extras::observe(ctx, &rid, name).await?;
    put("cors", Value::of(cors));
    put("logging", Value::of(logging));
    put(
        "tags",
        Value::of(tags::managed_view(&node.desired_tags(ctx.env()), &found)),
    );
    o.outputs.insert("name".into(), name.into());
    o.outputs
        .insert("arn".into(), crate::policy::arn(name).into());
    Ok(Some(o))
}

fn lifecycle_view(rules: &[LifecycleRule]) -> Json {
    let mut out: Vec<Json> = rules
        .iter()
        .map(|r| {
            let prefix = r.filter().and_then(|f| f.prefix()).unwrap_or("").to_string();
            json!({
                "id": r.id().unwrap_or_default(),
                "prefix": prefix,
                "expire_days": r.expiration().and_then(|e| e.days()),
                "noncurrent_expire_days": r.noncurrent_version_expiration().and_then(|e| e.noncurrent_days()),
                "abort_multipart_days": r.abort_incomplete_multipart_upload().and_then(|a| a.days_after_initiation()),
                "transitions": r.transitions().iter().map(|t| json!([t.days().unwrap_or(0), t.storage_class().map(|c| c.as_str()).unwrap_or("")])).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_string());
    Json::Array(out)
}

/// Create bucket `name` (object ownership enforced), retried while S3 still releases the name
/// of a bucket deleted a moment ago.
pub(crate) async fn create(
    ctx: &Context,
    guard: &Guard,
    name: &str,
    object_lock: bool,
) -> Result<()> {
    let mut req = client(ctx)
        .create_bucket()
        .bucket(name)
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .object_lock_enabled_for_bucket(object_lock);
    if ctx.region() != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(ctx.region()))
                .build(),
        );
    }
    guard
        .send_until(
            ctx,
            NAME_RELEASING,
            "CreateBucket",
            &["BucketAlreadyOwnedByYou"],
            || req.clone().send(),
        )
        .await
}

/// S3 answers `OperationAborted` for a while after a bucket of the same name was deleted.
const NAME_RELEASING: skyforge_core::NotYet<'static> = skyforge_core::NotYet::codes(
    &["OperationAborted"],
    std::time::Duration::from_secs(3 * 60),
);

/// Put every setting (on creation), or those in `diffs`.
pub(crate) async fn put_settings(
    node: &BucketNode,
    ctx: &Context,
    guard: &Guard,
    name: &str,
    account: &str,
    inputs: &skyforge_core::Inputs,
    update: Option<(&Observed, &[FieldDiff])>,
) -> Result<()> {
    let rid = node.id();
    let s3 = client(ctx);
    let changed = |f: &str| update.is_none_or(|(_, d)| d.iter().any(|x| x.field == f));
    if changed("public_access_block") {
        let c = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        let req = s3
            .put_public_access_block()
            .bucket(name)
            .public_access_block_configuration(c);
        guard.send("PutPublicAccessBlock", &[], req.send()).await?;
    }
    if changed("ownership") && update.is_some() {
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::BucketOwnerEnforced)
            .build()
            .map_err(|e| build_err(&rid, e))?;
        let c = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| build_err(&rid, e))?;
        let req = s3
            .put_bucket_ownership_controls()
            .bucket(name)
            .ownership_controls(c);
        guard
            .send("PutBucketOwnershipControls", &[], req.send())
            .await?;
    }
    if changed("versioning") && (node.spec.versioning || update.is_some()) {
        let status = if node.spec.versioning {
            BucketVersioningStatus::Enabled
        } else {
            BucketVersioningStatus::Suspended
        };
        let req = s3
            .put_bucket_versioning()
            .bucket(name)
            .versioning_configuration(VersioningConfiguration::builder().status(status).build());
        guard.send("PutBucketVersioning", &[], req.send()).await?;
    }
    if changed("encryption") {
        let by_default = match &node.spec.encryption {
            Encryption::S3Managed => {
                ServerSideEncryptionByDefault::builder().sse_algorithm(ServerSideEncryption::Aes256)
            }
            Encryption::Kms(k) => ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::AwsKms)
                .kms_master_key_id(k),
        }
        .build()
        .map_err(|e| build_err(&rid, e))?;
        let rule = ServerSideEncryptionRule::builder()
            .apply_server_side_encryption_by_default(by_default)
            .set_bucket_key_enabled(
                matches!(node.spec.encryption, Encryption::Kms(_)).then_some(true),
            )
            .build();
        let c = ServerSideEncryptionConfiguration::builder()
            .rules(rule)
            .build()
            .map_err(|e| build_err(&rid, e))?;
        let req = s3
            .put_bucket_encryption()
            .bucket(name)
            .server_side_encryption_configuration(c);
        guard.send("PutBucketEncryption", &[], req.send()).await?;
    }
    if changed("policy") {
        let req = s3
            .put_bucket_policy()
            .bucket(name)
            .policy(node.policy(name, account).to_string());
        guard.send("PutBucketPolicy", &[], req.send()).await?;
    }
    if changed("lifecycle") {
        put_lifecycle(node, ctx, guard, name).await?;
    }
    // On creation only what is set: a new bucket has no CORS rules and no logging.
    if changed("cors") && (update.is_some() || !node.spec.cors.is_empty()) {
        crate::extras::put_cors(ctx, guard, &rid, name, &node.spec.cors).await?;
    }
    if changed("logging") && (update.is_some() || node.spec.access_logs.is_some()) {
        let target = match &node.spec.access_logs {
            Some(l) => Some((inputs.require(&l.bucket, &rid)?, l.prefix.clone())),
            None => None,
        };
        crate::extras::put_logging(ctx, guard, &rid, name, target).await?;
    }
    if changed("tags") {
        let set: Vec<Tag> = node
            .desired_tags(ctx.env())
            .into_iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| build_err(&rid, e))
            })
            .collect::<Result<_>>()?;
        let tagging = Tagging::builder()
            .set_tag_set(Some(set))
            .build()
            .map_err(|e| build_err(&rid, e))?;
        let req = s3.put_bucket_tagging().bucket(name).tagging(tagging);
        guard.send("PutBucketTagging", &[], req.send()).await?;
    }
    Ok(())
}

async fn put_lifecycle(node: &BucketNode, ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let rid = node.id();
    let s3 = client(ctx);
    if node.spec.lifecycle.is_empty() {
        let req = s3.delete_bucket_lifecycle().bucket(name);
        return guard.send("DeleteBucketLifecycle", &[], req.send()).await;
    }
    let mut rules = Vec::new();
    for r in &node.spec.lifecycle {
        let mut b = LifecycleRule::builder()
            .id(&r.id)
            .status(ExpirationStatus::Enabled)
            .filter(LifecycleRuleFilter::builder().prefix(&r.prefix).build());
        if let Some(d) = r.expire_days {
            b = b.expiration(
                LifecycleExpiration::builder()
                    .days(i32::try_from(d).unwrap_or(i32::MAX))
                    .build(),
            );
        }
        if let Some(d) = r.noncurrent_expire_days {
            b = b.noncurrent_version_expiration(
                NoncurrentVersionExpiration::builder()
                    .noncurrent_days(i32::try_from(d).unwrap_or(i32::MAX))
                    .build(),
            );
        }
        if let Some(d) = r.abort_multipart_days {
            b = b.abort_incomplete_multipart_upload(
                AbortIncompleteMultipartUpload::builder()
                    .days_after_initiation(i32::try_from(d).unwrap_or(i32::MAX))
                    .build(),
            );
        }
        for (days, class) in &r.transitions {
            b = b.transitions(
                Transition::builder()
                    .days(i32::try_from(*days).unwrap_or(i32::MAX))
                    .storage_class(TransitionStorageClass::from(class.as_str()))
                    .build(),
            );
        }
        rules.push(b.build().map_err(|e| build_err(&rid, e))?);
    }
    let c = BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| build_err(&rid, e))?;
    let req = s3
        .put_bucket_lifecycle_configuration()
        .bucket(name)
        .lifecycle_configuration(c);
    guard
        .send("PutBucketLifecycleConfiguration", &[], req.send())
        .await
}

/// Whether the bucket holds any object version or delete marker.
pub(crate) async fn has_objects(ctx: &Context, rid: &ResourceId, name: &str) -> Result<bool> {
    let r = client(ctx)
        .list_object_versions()
        .bucket(name)
        .max_keys(1)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "ListObjectVersions", e));
    Ok(optional(r, &["NoSuchBucket"])
        .await?
        .is_some_and(|o| !o.versions().is_empty() || !o.delete_markers().is_empty()))
}

/// Delete every version and delete marker (apply only gets here for a non-empty bucket when the
/// run allows destroying it), then the bucket; success when it is already gone.
pub(crate) async fn empty_and_delete(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
) -> Result<()> {
    let s3 = client(ctx);
    loop {
        let r = s3
            .list_object_versions()
            .bucket(name)
            .max_keys(1000)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListObjectVersions", e));
        let Some(page) = optional(r, &["NoSuchBucket"]).await? else {
            return Ok(());
        };
        let mut ids = Vec::new();
        for (key, version) in page
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                page.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
        {
            let Some(key) = key else { continue };
            ids.push(
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .map_err(|e| build_err(rid, e))?,
            );
        }
        if ids.is_empty() {
            break;
        }
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| build_err(rid, e))?;
        let req = s3.delete_objects().bucket(name).delete(delete);
        guard.send("DeleteObjects", &[], req.send()).await?;
    }
    let req = s3.delete_bucket().bucket(name);
    guard
        .send("DeleteBucket", &["NoSuchBucket"], req.send())
        .await
}
