//! Every rule checked before any API call, each failing with the field, the value and the rule.

use std::collections::BTreeSet;

use skyforge_core::naming;
use skyforge_core::{Error, Result};

use crate::spec::{BucketSpec, Encryption, LifecycleRule, Purpose};

/// Storage classes a lifecycle transition may move objects to.
pub const STORAGE_CLASSES: [&str; 6] = [
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

fn fail(spec: &BucketSpec, name: &str, value: impl ToString, rule: impl Into<String>) -> Error {
    Error::validation(
        format!("bucket.{}.{name}", spec.logical_id),
        value.to_string(),
        rule.into(),
    )
}

/// Whether `name` is a valid S3 bucket name (general purpose buckets).
pub fn valid_name(name: &str) -> bool {
    let ip_shaped =
        name.split('.').count() == 4 && name.split('.').all(|p| p.parse::<u8>().is_ok());
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..")
        && !ip_shaped
        && !name.starts_with("xn--")
        && !name.starts_with("sthree-")
        && !name.ends_with("-s3alias")
        && !name.ends_with("--ol-s3")
}

fn rule(spec: &BucketSpec, r: &LifecycleRule, seen: &mut BTreeSet<(String, String)>) -> Result<()> {
    let f = |n: &str| format!("lifecycle.{}.{n}", r.id);
    if r.id.is_empty() || r.id.len() > 255 {
        return Err(fail(
            spec,
            "lifecycle",
            &r.id,
            "a rule id is 1 to 255 characters",
        ));
    }
    if !seen.insert(("id".into(), r.id.clone())) {
        return Err(fail(
            spec,
            &f("id"),
            &r.id,
            "two lifecycle rules have the same id",
        ));
    }
    let does_something = r.expire_days.is_some()
        || r.noncurrent_expire_days.is_some()
        || r.abort_multipart_days.is_some()
        || !r.transitions.is_empty();
    if !does_something {
        return Err(fail(
            spec,
            &f("actions"),
            "none",
            "a lifecycle rule expires, transitions or aborts something",
        ));
    }
    for (name, d) in [
        ("expire_days", r.expire_days),
        ("noncurrent_expire_days", r.noncurrent_expire_days),
        ("abort_multipart_days", r.abort_multipart_days),
    ] {
        if d == Some(0) {
            return Err(fail(spec, &f(name), 0, "days are 1 or more"));
        }
    }
    if r.noncurrent_expire_days.is_some() && !spec.versioning {
        return Err(fail(
            spec,
            &f("noncurrent_expire_days"),
            r.noncurrent_expire_days.unwrap_or(0),
            "noncurrent versions exist only with versioning",
        ));
    }
    for (days, class) in &r.transitions {
        if !STORAGE_CLASSES.contains(&class.as_str()) {
            return Err(fail(
                spec,
                &f("transitions"),
                class,
                format!("a storage class, one of {STORAGE_CLASSES:?}"),
            ));
        }
        if let Some(e) = r.expire_days
            && *days >= e
        {
            return Err(fail(
                spec,
                &f("transitions"),
                days,
                format!("a transition after the expiry ({e} days) never happens"),
            ));
        }
    }
    // Two rules with the same prefix both expiring objects contradict each other.
    if r.expire_days.is_some() && !seen.insert(("expire".into(), r.prefix.clone())) {
        return Err(fail(
            spec,
            &f("expire_days"),
            r.expire_days.unwrap_or(0),
            format!("another rule already expires objects under {:?}", r.prefix),
        ));
    }
    Ok(())
}

/// Check the whole spec.
pub(crate) fn spec(spec: &BucketSpec) -> Result<()> {
    naming::validate_logical_id("bucket.logical_id", &spec.logical_id)?;
    if let Some(n) = &spec.name
        && !valid_name(n)
    {
        return Err(fail(
            spec,
            "name",
            n,
            "3 to 63 lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit, not IP-shaped, not xn--, sthree- or -s3alias",
        ));
    }
    if spec.adopt_untagged && spec.name.is_none() {
        return Err(fail(
            spec,
            "adopt_untagged",
            "true",
            "only a bucket with an explicit name can be taken over",
        ));
    }
    if let Encryption::Kms(k) = &spec.encryption
        && k.trim().is_empty()
    {
        return Err(fail(
            spec,
            "encryption",
            "kms()",
            "SSE-KMS needs a key id, ARN or alias",
        ));
    }
    if spec.object_lock && !spec.versioning {
        return Err(fail(
            spec,
            "object_lock",
            "true",
            "Object Lock needs versioning (it cannot be suspended)",
        ));
    }
    if let Purpose::AlbLogs { region, .. } = &spec.purpose {
        if spec.encryption != Encryption::S3Managed {
            return Err(fail(
                spec,
                "encryption",
                "kms",
                "ALB access logs are delivered to SSE-S3 buckets only",
            ));
        }
        if region.is_empty() {
            return Err(fail(
                spec,
                "purpose.region",
                "",
                "the load balancers' region",
            ));
        }
    }
    if spec.purpose == Purpose::AccessLogs && spec.encryption != Encryption::S3Managed {
        return Err(fail(
            spec,
            "encryption",
            "kms",
            "server access logs are delivered to SSE-S3 buckets only",
        ));
    }
    if spec.purpose == Purpose::AccessLogs && spec.access_logs.is_some() {
        return Err(fail(
            spec,
            "access_logs",
            "set",
            "a log bucket does not log its own access (every delivery would log again)",
        ));
    }
    if let Some(l) = &spec.access_logs
        && l.prefix.len() > 1024
    {
        return Err(fail(
            spec,
            "access_logs.prefix",
            format!("{} characters", l.prefix.len()),
            "at most 1024 characters",
        ));
    }
    let mut seen = BTreeSet::new();
    for r in &spec.lifecycle {
        rule(spec, r, &mut seen)?;
    }
    cors(spec)
}

fn cors(spec: &BucketSpec) -> Result<()> {
    if spec.cors.len() > 100 {
        return Err(fail(
            spec,
            "cors",
            spec.cors.len(),
            "at most 100 CORS rules",
        ));
    }
    for (i, r) in spec.cors.iter().enumerate() {
        let f = format!("cors[{i}]");
        if r.allowed_origins.is_empty() {
            return Err(fail(
                spec,
                &format!("{f}.allowed_origins"),
                "[]",
                "at least one origin",
            ));
        }
        if let Some(o) = r
            .allowed_origins
            .iter()
            .find(|o| o.matches('*').count() > 1)
        {
            return Err(fail(
                spec,
                &format!("{f}.allowed_origins"),
                o,
                "one `*` wildcard at most per origin",
            ));
        }
        if r.allowed_methods.is_empty() {
            return Err(fail(
                spec,
                &format!("{f}.allowed_methods"),
                "[]",
                "at least one method",
            ));
        }
        if let Some(m) = r
            .allowed_methods
            .iter()
            .find(|m| !crate::extras::CORS_METHODS.contains(&m.as_str()))
        {
            return Err(fail(
                spec,
                &format!("{f}.allowed_methods"),
                m,
                format!("one of {:?}", crate::extras::CORS_METHODS),
            ));
        }
    }
    Ok(())
}
