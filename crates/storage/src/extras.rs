//! CORS rules and server access logging: declared, observed, put back when they drift.

use aws_sdk_s3::types::{
    BucketLoggingStatus, CorsConfiguration, CorsRule as S3Cors, LoggingEnabled,
};
use serde_json::{Value as Json, json};
use skyforge_core::{Context, Error, Guard, Input, Inputs, Ref, ResourceId, Result, Value};

use crate::component::BucketHandle;
use crate::s3::client;

/// Methods a CORS rule may allow.
pub const CORS_METHODS: [&str; 5] = ["GET", "PUT", "POST", "DELETE", "HEAD"];

/// One CORS rule: which origins may call with which methods and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsRule {
    /// Origins (`https://app.example.com`; one `*` wildcard at most per origin).
    pub allowed_origins: Vec<String>,
    /// Methods (`GET`, `PUT`, `POST`, `DELETE`, `HEAD`).
    pub allowed_methods: Vec<String>,
    /// Request headers allowed (`*` for any).
    pub allowed_headers: Vec<String>,
    /// Response headers the browser may read (`ETag`).
    pub expose_headers: Vec<String>,
    /// Seconds a browser may cache the preflight answer.
    pub max_age_secs: Option<u32>,
}

impl CorsRule {
    /// `origins` may use `methods`, any request header, no exposed header.
    pub fn new<S: Into<String>, M: Into<String>>(
        origins: impl IntoIterator<Item = S>,
        methods: impl IntoIterator<Item = M>,
    ) -> CorsRule {
        CorsRule {
            allowed_origins: origins.into_iter().map(Into::into).collect(),
            allowed_methods: methods.into_iter().map(Into::into).collect(),
            allowed_headers: vec!["*".into()],
            expose_headers: Vec::new(),
            max_age_secs: None,
        }
    }
    /// Response headers the browser may read.
    pub fn expose<S: Into<String>>(mut self, headers: impl IntoIterator<Item = S>) -> CorsRule {
        self.expose_headers = headers.into_iter().map(Into::into).collect();
        self
    }
    /// Preflight cache time.
    pub fn max_age(mut self, secs: u32) -> CorsRule {
        self.max_age_secs = Some(secs);
        self
    }
}

/// Server access logs of a bucket, delivered into another bucket (one made with
/// [`crate::Bucket::for_access_logs`], whose policy lets the logging service write).
#[derive(Debug, Clone, PartialEq)]
pub struct AccessLogs {
    pub(crate) bucket: Ref<String>,
    pub(crate) prefix: String,
}

impl AccessLogs {
    /// Into `bucket`, under `prefix` (`uploads/`).
    pub fn to(bucket: &BucketHandle, prefix: impl Into<String>) -> AccessLogs {
        AccessLogs {
            bucket: bucket.name(),
            prefix: prefix.into(),
        }
    }
    pub(crate) fn target(&self) -> Input<String> {
        Input::Ref(self.bucket)
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn cors_json(r: &CorsRule) -> Json {
    json!({
        "origins": sorted(&r.allowed_origins), "methods": sorted(&r.allowed_methods),
        "headers": sorted(&r.allowed_headers), "expose": sorted(&r.expose_headers),
        "max_age": r.max_age_secs,
    })
}

/// The desired CORS rules as compared.
pub(crate) fn cors_view(rules: &[CorsRule]) -> Json {
    Json::Array(rules.iter().map(cors_json).collect())
}

/// The desired logging as compared (`null` when off; unknown until the target exists).
pub(crate) fn logging_view(logs: Option<&AccessLogs>, inputs: &Inputs) -> Value {
    match logs {
        None => Value::of(Json::Null),
        Some(l) => match l.target().resolve(inputs) {
            Some(b) => Value::of(json!({"bucket": b, "prefix": l.prefix})),
            None => Value::Unknown,
        },
    }
}

/// The CORS rules and logging of bucket `name`, as compared.
pub(crate) async fn observe(ctx: &Context, rid: &ResourceId, name: &str) -> Result<(Json, Json)> {
    let s3 = client(ctx);
    let cors = s3
        .get_bucket_cors()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "GetBucketCors", e));
    let cors = skyforge_core::none_if_aws_code(cors, &["NoSuchCORSConfiguration"])?;
    let rules: Vec<CorsRule> = cors
        .iter()
        .flat_map(|c| c.cors_rules())
        .map(|r| CorsRule {
            allowed_origins: r.allowed_origins().to_vec(),
            allowed_methods: r.allowed_methods().to_vec(),
            allowed_headers: r.allowed_headers().to_vec(),
            expose_headers: r.expose_headers().to_vec(),
            max_age_secs: r.max_age_seconds().map(|s| s as u32),
        })
        .collect();
    let logging = s3
        .get_bucket_logging()
        .bucket(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "GetBucketLogging", e))?;
    let logging = match logging.logging_enabled() {
        Some(l) => json!({"bucket": l.target_bucket(), "prefix": l.target_prefix()}),
        None => Json::Null,
    };
    Ok((cors_view(&rules), logging))
}

/// Put the CORS rules (or delete them when there are none).
pub(crate) async fn put_cors(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
    rules: &[CorsRule],
) -> Result<()> {
    let s3 = client(ctx);
    if rules.is_empty() {
        return guard
            .send(
                "DeleteBucketCors",
                &[],
                s3.delete_bucket_cors().bucket(name).send(),
            )
            .await;
    }
    let built: Vec<S3Cors> = rules
        .iter()
        .map(|r| {
            S3Cors::builder()
                .set_allowed_origins(Some(r.allowed_origins.clone()))
                .set_allowed_methods(Some(r.allowed_methods.clone()))
                .set_allowed_headers(Some(r.allowed_headers.clone()))
                .set_expose_headers(Some(r.expose_headers.clone()))
                .set_max_age_seconds(r.max_age_secs.map(|s| s as i32))
                .build()
                .map_err(|e| Error::Resource {
                    resource: rid.to_string(),
                    message: e.to_string(),
                })
        })
        .collect::<Result<_>>()?;
    let c = CorsConfiguration::builder()
        .set_cors_rules(Some(built))
        .build()
        .map_err(|e| Error::Resource {
            resource: rid.to_string(),
            message: e.to_string(),
        })?;
    guard
        .send(
            "PutBucketCors",
            &[],
            s3.put_bucket_cors()
                .bucket(name)
                .cors_configuration(c)
                .send(),
        )
        .await
}

/// Turn access logging on into `target` (or off).
pub(crate) async fn put_logging(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    name: &str,
    target: Option<(String, String)>,
) -> Result<()> {
    let status = match target {
        Some((bucket, prefix)) => BucketLoggingStatus::builder()
            .logging_enabled(
                LoggingEnabled::builder()
                    .target_bucket(bucket)
                    .target_prefix(prefix)
                    .build()
                    .map_err(|e| Error::Resource {
                        resource: rid.to_string(),
                        message: e.to_string(),
                    })?,
            )
            .build(),
        None => BucketLoggingStatus::builder().build(),
    };
    let req = client(ctx)
        .put_bucket_logging()
        .bucket(name)
        .bucket_logging_status(status);
    guard.send("PutBucketLogging", &[], req.send()).await
}
