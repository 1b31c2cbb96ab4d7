//! The IAM action each API call the harness records needs, to check the crates' permission
//! declarations ([`skyforge_core::Permissions`]) against what the engine really calls.

/// S3 operations whose IAM action is not `s3:<Operation>`.
const S3_ACTIONS: [(&str, &str); 19] = [
    ("ListBuckets", "ListAllMyBuckets"),
    (
        "GetObjectLockConfiguration",
        "GetBucketObjectLockConfiguration",
    ),
    ("DeleteBucketLifecycle", "PutLifecycleConfiguration"),
    ("HeadBucket", "ListBucket"),
    ("ListObjects", "ListBucket"),
    ("ListObjectsV2", "ListBucket"),
    ("ListObjectVersions", "ListBucketVersions"),
    ("HeadObject", "GetObject"),
    ("DeleteObjects", "DeleteObject"),
    ("GetBucketEncryption", "GetEncryptionConfiguration"),
    ("PutBucketEncryption", "PutEncryptionConfiguration"),
    (
        "GetBucketLifecycleConfiguration",
        "GetLifecycleConfiguration",
    ),
    (
        "PutBucketLifecycleConfiguration",
        "PutLifecycleConfiguration",
    ),
    ("GetPublicAccessBlock", "GetBucketPublicAccessBlock"),
    ("PutPublicAccessBlock", "PutBucketPublicAccessBlock"),
    ("DeletePublicAccessBlock", "PutBucketPublicAccessBlock"),
    ("GetBucketCors", "GetBucketCORS"),
    ("PutBucketCors", "PutBucketCORS"),
    ("DeleteBucketCors", "PutBucketCORS"),
];

/// The IAM action the call `service:operation` (as the harness records it) needs; `None` for a
/// call that needs none (`sts:GetCallerIdentity`).
pub fn iam_action(service: &str, operation: &str) -> Option<String> {
    if (service, operation) == ("sts", "GetCallerIdentity") {
        return None;
    }
    let prefix = match service {
        "elbv2" => "elasticloadbalancing",
        "monitoring" => "cloudwatch",
        "resourcegroupstaggingapi" | "tagging" => "tag",
        other => other,
    };
    let op = match service {
        "s3" => S3_ACTIONS
            .iter()
            .find(|(call, _)| *call == operation)
            .map_or(operation, |(_, action)| action),
        _ => operation,
    };
    Some(format!("{prefix}:{op}"))
}
