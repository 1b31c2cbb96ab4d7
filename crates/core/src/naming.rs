//! Deterministic physical names.
//!
//! A physical name is derived from (project, stage, owner, logical id) and the kind of resource
//! it names. It fits that AWS service's length and character rules; when the readable form is too
//! long it is truncated and a stable 8-hex-digit hash of the full input is appended, so the same
//! input always gives the same name and different inputs give different names.
//!
//! ```
//! use skyforge_core::{Environment, Stage, naming::{NameKind, physical_name}};
//! let env = Environment::new("alva", Stage::Staging);
//! assert_eq!(physical_name(&env, NameKind::LoadBalancer, "public").unwrap(), "alva-staging-public");
//! assert_eq!(physical_name(&env, NameKind::Secret, "cookie-secret").unwrap(), "alva/staging/cookie-secret");
//! let long = physical_name(&env, NameKind::TargetGroup, "admin-portal-frontend-blue").unwrap();
//! assert!(long.len() <= 32);
//! ```

use sha2::{Digest, Sha256};

use crate::env::Environment;
use crate::error::{Error, Result};

/// The kinds of named AWS resources, each with its service's naming rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum NameKind {
    /// Application/Network Load Balancer: 32, alphanumerics and hyphens.
    LoadBalancer,
    /// ELBv2 target group: 32, alphanumerics and hyphens.
    TargetGroup,
    /// ElastiCache cluster or replication group id: 40, lowercase, letter first, no `--`.
    CacheCluster,
    /// ElastiCache subnet or parameter group: 255, lowercase.
    CacheSubnetGroup,
    /// RDS DB instance or cluster identifier: 63, letter first, no `--`.
    DbInstance,
    /// RDS DB subnet or parameter group: 255, lowercase.
    DbSubnetGroup,
    /// IAM role: 64.
    IamRole,
    /// IAM managed or inline policy: 128.
    IamPolicy,
    /// ECR repository: 256, lowercase, `project/stage/logical` path.
    EcrRepository,
    /// Secrets Manager secret: 512, `project/stage/logical` path.
    Secret,
    /// SSM parameter: `/project/stage/logical` hierarchy.
    SsmParameter,
    /// CloudWatch Logs group: `/project/stage/logical`.
    LogGroup,
    /// ECS cluster, service or task definition family: 255, letters, digits, `-`, `_`.
    Ecs,
    /// EC2 security group name: 255.
    SecurityGroup,
    /// S3 bucket: 63, lowercase, globally unique (add the account id to the logical id).
    S3Bucket,
    /// DynamoDB table: 255.
    DynamoDbTable,
    /// SNS topic: 256.
    SnsTopic,
    /// CloudWatch alarm: 255.
    Alarm,
    /// Cloud Map namespace or service name (DNS label rules): 63.
    DnsLabel,
    /// The `Name` tag of EC2 resources (VPC, subnets, ...): 255.
    NameTag,
}

/// How a kind's name is assembled and what it may contain.
#[derive(Debug, Clone, Copy)]
pub struct NameRules {
    /// Maximum length in bytes.
    pub max_len: usize,
    /// Separator between segments (`-`) or a path separator (`/`).
    pub sep: char,
    /// Whether the name starts with the separator (`/project/...`).
    pub leading_sep: bool,
    /// Only lowercase letters allowed.
    pub lowercase_only: bool,
    /// First character must be a letter.
    pub letter_first: bool,
    /// `--` is forbidden and the name may not end with `-`.
    pub hyphen_rules: bool,
}

impl NameKind {
    /// Every kind, for tests and documentation.
    pub const ALL: &'static [NameKind] = &[
        NameKind::LoadBalancer,
        NameKind::TargetGroup,
        NameKind::CacheCluster,
        NameKind::CacheSubnetGroup,
        NameKind::DbInstance,
        NameKind::DbSubnetGroup,
        NameKind::IamRole,
        NameKind::IamPolicy,
        NameKind::EcrRepository,
        NameKind::Secret,
        NameKind::SsmParameter,
        NameKind::LogGroup,
        NameKind::Ecs,
        NameKind::SecurityGroup,
        NameKind::S3Bucket,
        NameKind::DynamoDbTable,
        NameKind::SnsTopic,
        NameKind::Alarm,
        NameKind::DnsLabel,
        NameKind::NameTag,
    ];

    /// The rules of this kind.
    pub fn rules(self) -> NameRules {
        let flat = |max_len, lowercase_only, letter_first, hyphen_rules| NameRules {
            max_len,
            sep: '-',
            leading_sep: false,
            lowercase_only,
            letter_first,
            hyphen_rules,
        };
        let path = |max_len, leading_sep, lowercase_only| NameRules {
            max_len,
            sep: '/',
            leading_sep,
            lowercase_only,
            letter_first: false,
            hyphen_rules: true,
        };
        match self {
            NameKind::LoadBalancer | NameKind::TargetGroup => flat(32, false, false, true),
            NameKind::CacheCluster => flat(40, true, true, true),
            NameKind::CacheSubnetGroup | NameKind::DbSubnetGroup => flat(255, true, true, true),
            NameKind::DbInstance => flat(63, true, true, true),
            NameKind::IamRole => flat(64, false, false, false),
            NameKind::IamPolicy => flat(128, false, false, false),
            NameKind::EcrRepository => path(256, false, true),
            NameKind::Secret => path(512, false, false),
            NameKind::SsmParameter => path(1011, true, false),
            NameKind::LogGroup => path(512, true, false),
            NameKind::Ecs | NameKind::SecurityGroup | NameKind::DynamoDbTable => {
                flat(255, false, false, false)
            }
            NameKind::S3Bucket => flat(63, true, true, true),
            NameKind::SnsTopic => flat(256, false, false, false),
            NameKind::Alarm | NameKind::NameTag => flat(255, false, false, false),
            NameKind::DnsLabel => flat(63, true, true, true),
        }
    }
}

/// Check a logical id: lowercase letters, digits and single hyphens, starting with a letter,
/// not ending with a hyphen, at most 64 characters.
pub fn validate_logical_id(field: &str, id: &str) -> Result<()> {
    let ok_chars = id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let rule = "lowercase letters, digits and single hyphens, starting with a letter, not ending with a hyphen, 1 to 64 characters";
    if id.is_empty()
        || id.len() > 64
        || !ok_chars
        || !id.starts_with(|c: char| c.is_ascii_lowercase())
        || id.ends_with('-')
        || id.contains("--")
    {
        return Err(Error::validation(field, id, rule));
    }
    Ok(())
}

/// A stable short hash (8 hex digits of SHA-256) of the parts, separated unambiguously.
pub fn short_hash(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p.as_bytes());
    }
    let d = h.finalize();
    d.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// The physical name of the resource with `logical_id` of `kind` in `env`.
///
/// Fails only on an invalid logical id or environment (with the field and the rule).
pub fn physical_name(env: &Environment, kind: NameKind, logical_id: &str) -> Result<String> {
    env.validate()?;
    validate_logical_id("logical_id", logical_id)?;
    let rules = kind.rules();
    let mut segments: Vec<&str> = vec![env.project_name(), env.stage().as_str()];
    if let Some(o) = env.owner_id() {
        segments.push(o);
    }
    segments.push(logical_id);
    let sep = rules.sep.to_string();
    let mut readable = segments.join(&sep);
    if rules.leading_sep {
        readable.insert(0, rules.sep);
    }
    if readable.len() <= rules.max_len {
        return Ok(readable);
    }
    let hash = short_hash(&[
        env.project_name(),
        env.stage().as_str(),
        env.owner_id().unwrap_or(""),
        logical_id,
    ]);
    // Keep room for "-" + hash; cut on a char boundary (all ASCII) and drop trailing separators
    // so no `--` or `/-` appears.
    let keep = rules.max_len - hash.len() - 1;
    let mut head: String = readable.chars().take(keep).collect();
    while head.ends_with('-') || head.ends_with('/') {
        head.pop();
    }
    Ok(format!("{head}-{hash}"))
}

/// Whether `name` satisfies `kind`'s rules (used by tests and by validation of user-given names).
pub fn is_valid(kind: NameKind, name: &str) -> bool {
    let r = kind.rules();
    if name.is_empty() || name.len() > r.max_len {
        return false;
    }
    let allowed = |c: char| {
        c.is_ascii_digit()
            || c == '-'
            || c == r.sep
            || (c.is_ascii_alphabetic() && (!r.lowercase_only || c.is_ascii_lowercase()))
    };
    if !name.chars().all(allowed) {
        return false;
    }
    let body = if r.leading_sep {
        match name.strip_prefix(r.sep) {
            Some(b) => b,
            None => return false,
        }
    } else {
        name
    };
    if r.letter_first && !body.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return false;
    }
    if body.starts_with('-') || name.ends_with('-') || name.ends_with(r.sep) {
        return false;
    }
    if r.hyphen_rules && (name.contains("--") || name.contains("/-") || name.contains("-/")) {
        return false;
    }
    if r.sep == '/' && name.contains("//") {
        return false;
    }
    match kind {
        NameKind::SecurityGroup => !name.starts_with("sg-"),
        NameKind::LoadBalancer => !name.starts_with("internal-"),
        NameKind::DbSubnetGroup => name != "default",
        _ => true,
    }
}
