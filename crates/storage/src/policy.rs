//! Bucket policies: TLS only, the load balancers' log delivery, and typed grants for roles.

use serde_json::{Value, json};
use skyforge_iam::Statement;

/// ELB accounts of the regions launched before August 2022 (AWS: "Enable access logs for your
/// Application Load Balancer"); later regions use the log delivery service principal.
const ELB_ACCOUNTS: [(&str, &str); 21] = [
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-southeast-3", "589379963580"),
    ("ap-south-1", "718504428378"),
    ("ap-northeast-3", "383597477331"),
    ("ap-northeast-2", "600734575887"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-northeast-1", "582318560864"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-south-1", "635631232127"),
    ("eu-west-3", "009996457667"),
    ("eu-north-1", "897822967062"),
    ("sa-east-1", "507241528517"),
];

pub(crate) fn arn(bucket: &str) -> String {
    format!("arn:aws:s3:::{bucket}")
}

/// Deny every request made without TLS.
pub(crate) fn deny_insecure(bucket: &str) -> Value {
    json!({
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn(bucket), format!("{}/*", arn(bucket))],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}
    })
}

/// Let the load balancers of `region` write their logs under `prefix/AWSLogs/<account>/`.
pub(crate) fn alb_logs(bucket: &str, region: &str, prefix: &str, account: &str) -> Value {
    let principal = match ELB_ACCOUNTS.iter().find(|(r, _)| *r == region) {
        Some((_, a)) => json!({"AWS": format!("arn:aws:iam::{a}:root")}),
        None => json!({"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}),
    };
    json!({
        "Sid": "AlbLogDelivery",
        "Effect": "Allow",
        "Principal": principal,
        "Action": "s3:PutObject",
        "Resource": format!("{}/{prefix}/AWSLogs/{account}/*", arn(bucket))
    })
}

/// Let S3 server access logging write this account's logs.
pub(crate) fn access_logs(bucket: &str, account: &str) -> Value {
    json!({
        "Sid": "S3ServerAccessLogs",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": format!("{}/*", arn(bucket)),
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}
    })
}

/// Whether a policy document lets anyone in (a statement allowing `*` without a condition).
pub(crate) fn allows_public(policy: &Value) -> bool {
    policy["Statement"].as_array().is_some_and(|s| {
        s.iter().any(|st| {
            st["Effect"] == "Allow"
                && (st["Principal"] == "*" || st["Principal"]["AWS"] == "*")
                && st.get("Condition").is_none()
        })
    })
}

/// What a role may do with a bucket's objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// List the bucket, read objects.
    Read,
    /// Put and delete objects.
    Write,
    /// Both.
    ReadWrite,
}

/// The IAM statements granting `access` to the bucket named `bucket` (its ARN for listing,
/// `bucket/*` for objects; no wildcard beyond the bucket).
pub fn grant_statements(bucket: &str, access: Access) -> Vec<Statement> {
    let a = arn(bucket);
    statements(access, |s| s.on(a.clone()), |s| s.on(format!("{a}/*")))
}

/// The statements for `access`, with `bucket` and `objects` naming the bucket's ARN and its
/// objects' ARNs.
pub(crate) fn statements(
    access: Access,
    bucket: impl Fn(Statement) -> Statement,
    objects: impl Fn(Statement) -> Statement,
) -> Vec<Statement> {
    let mut out = Vec::new();
    if access != Access::Write {
        out.push(bucket(Statement::allow(["s3:ListBucket"])));
        out.push(objects(Statement::allow(["s3:GetObject"])));
    }
    if access != Access::Read {
        out.push(objects(Statement::allow([
            "s3:PutObject",
            "s3:DeleteObject",
            "s3:AbortMultipartUpload",
        ])));
    }
    out
}
