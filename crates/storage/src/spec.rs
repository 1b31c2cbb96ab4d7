//! The `Bucket` builder, its lifecycle rules and purpose presets.

use skyforge_core::Result;
use typed_builder::TypedBuilder;

use crate::extras::{AccessLogs, CorsRule};

/// Server-side encryption of new objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3 (AES-256), the default; the only one ALB access logs accept.
    S3Managed,
    /// SSE-KMS with this key (id, ARN or alias), with S3 Bucket Keys to cut KMS calls.
    Kms(String),
}

/// One lifecycle rule, on the objects under `prefix` (all objects when empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// Rule id (unique in the bucket).
    pub id: String,
    /// Key prefix it applies to.
    pub prefix: String,
    /// Delete current objects this many days after creation.
    pub expire_days: Option<u32>,
    /// Delete noncurrent versions this many days after they became noncurrent.
    pub noncurrent_expire_days: Option<u32>,
    /// Abort incomplete multipart uploads after this many days.
    pub abort_multipart_days: Option<u32>,
    /// Move current objects to a storage class after some days (`STANDARD_IA`, `GLACIER_IR`...).
    pub transitions: Vec<(u32, String)>,
}

impl LifecycleRule {
    /// A rule `id` on every object.
    pub fn new(id: impl Into<String>) -> LifecycleRule {
        LifecycleRule {
            id: id.into(),
            prefix: String::new(),
            expire_days: None,
            noncurrent_expire_days: None,
            abort_multipart_days: None,
            transitions: Vec::new(),
        }
    }
    /// Only objects under `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> LifecycleRule {
        self.prefix = prefix.into();
        self
    }
    /// Expire current objects after `days`.
    pub fn expire_after(mut self, days: u32) -> LifecycleRule {
        self.expire_days = Some(days);
        self
    }
    /// Expire noncurrent versions after `days`.
    pub fn expire_noncurrent_after(mut self, days: u32) -> LifecycleRule {
        self.noncurrent_expire_days = Some(days);
        self
    }
    /// Abort incomplete multipart uploads after `days`.
    pub fn abort_multipart_after(mut self, days: u32) -> LifecycleRule {
        self.abort_multipart_days = Some(days);
        self
    }
    /// Move objects to `class` after `days`.
    pub fn transition(mut self, days: u32, class: impl Into<String>) -> LifecycleRule {
        self.transitions.push((days, class.into()));
        self
    }
}

/// What a bucket is for, when a preset set it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// Application data.
    General,
    /// Access logs of Application Load Balancers in `region`, under `prefix`.
    AlbLogs {
        /// The region of the load balancers.
        region: String,
        /// Key prefix the load balancers write under.
        prefix: String,
    },
    /// Server access logs of other buckets of the account.
    AccessLogs,
}

/// An S3 bucket: private (public access block all on, no ACLs), encrypted, TLS only, versioned
/// by default, with lifecycle rules, tags and typed grants.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Bucket>))]
pub struct BucketSpec {
    /// Logical id (`uploads`).
    #[builder(setter(into))]
    pub logical_id: String,
    /// Keep every version of every object (default on).
    #[builder(default = true)]
    pub versioning: bool,
    /// Encryption of new objects (default SSE-S3).
    #[builder(default = Encryption::S3Managed)]
    pub encryption: Encryption,
    /// Lifecycle rules; default: noncurrent versions expire after 30 days and incomplete
    /// uploads are aborted after 7.
    #[builder(default = vec![LifecycleRule::new("skyforge-default").expire_noncurrent_after(30).abort_multipart_after(7)])]
    pub lifecycle: Vec<LifecycleRule>,
    /// Object Lock (needs versioning; set at creation only).
    #[builder(default)]
    pub object_lock: bool,
    /// The bucket's name instead of the derived one (must be globally unique).
    #[builder(default, setter(strip_option, into))]
    pub name: Option<String>,
    /// CORS rules (browser uploads and downloads); default none.
    #[builder(default)]
    pub cors: Vec<CorsRule>,
    /// Server access logs into another bucket; default off.
    #[builder(default, setter(strip_option))]
    pub access_logs: Option<AccessLogs>,
    /// What the bucket is for (presets set it).
    #[builder(default = Purpose::General)]
    pub purpose: Purpose,
    /// Take over a bucket of this name that carries no skyforge tags at all (one made by hand
    /// or by an earlier tool) instead of refusing it as not owned; a bucket of another skyforge
    /// stack is still refused. Only with an explicit `name`.
    #[builder(default)]
    pub adopt_untagged: bool,
}

/// A validated bucket, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Bucket {
    pub(crate) spec: BucketSpec,
}

impl Bucket {
    /// Start a bucket.
    pub fn builder() -> BucketSpecBuilder {
        BucketSpec::builder()
    }
    /// A bucket for the access logs of Application Load Balancers in `region`: SSE-S3 (the only
    /// encryption log delivery accepts), a policy letting the region's log delivery write under
    /// `alb/AWSLogs/<account>/`, logs expiring after `retention_days`.
    pub fn for_alb_logs(
        logical_id: impl Into<String>,
        region: impl Into<String>,
        retention_days: u32,
    ) -> Result<Bucket> {
        Bucket::builder()
            .logical_id(logical_id)
            .versioning(false)
            .lifecycle(vec![
                LifecycleRule::new("expire-logs")
                    .expire_after(retention_days)
                    .abort_multipart_after(7),
            ])
            .purpose(Purpose::AlbLogs {
                region: region.into(),
                prefix: "alb".into(),
            })
            .build()
    }
    /// A bucket for the server access logs of the account's other buckets: SSE-S3 (log
    /// delivery writes with it), unversioned, a policy letting `logging.s3.amazonaws.com` write
    /// for this account only, logs expiring after `retention_days`.
    pub fn for_access_logs(logical_id: impl Into<String>, retention_days: u32) -> Result<Bucket> {
        Bucket::builder()
            .logical_id(logical_id)
            .versioning(false)
            .lifecycle(vec![
                LifecycleRule::new("expire-logs")
                    .expire_after(retention_days)
                    .abort_multipart_after(7),
            ])
            .purpose(Purpose::AccessLogs)
            .build()
    }
    /// The bucket holding a stack's state (`skyforge-state`'s bootstrap): an explicit name,
    /// versioned (every state document stays recoverable), SSE-S3, noncurrent versions kept 90
    /// days; an existing untagged bucket of that name is taken over.
    pub fn for_state(name: impl Into<String>) -> Result<Bucket> {
        Bucket::builder()
            .logical_id("state")
            .name(name)
            .adopt_untagged(true)
            .lifecycle(vec![
                LifecycleRule::new("state-history")
                    .expire_noncurrent_after(90)
                    .abort_multipart_after(7),
            ])
            .build()
    }
    /// The spec.
    pub fn spec(&self) -> &BucketSpec {
        &self.spec
    }
}

impl From<BucketSpec> for Result<Bucket> {
    fn from(spec: BucketSpec) -> Self {
        crate::validate::spec(&spec)?;
        Ok(Bucket { spec })
    }
}
