//! What a run's state and lock need from IAM, for the deploy policies `skyforge-iam` makes:
//! declared here, next to the calls.

/// Where the CLI keeps a stack's state and its S3 lock in the bucket, and the item key of its
/// DynamoDB lock: one place for the stores, the locks and the grants below.
pub const STATE_PREFIX: &str = "skyforge/";
/// The S3 locks' prefix in the state bucket.
pub const S3_LOCK_PREFIX: &str = "skyforge/locks/";

/// The state object's key of `stack` (`skyforge/<stack>.json`).
pub fn state_key(stack: &str) -> String {
    format!("{STATE_PREFIX}{stack}.json")
}

/// The DynamoDB lock item's key of `stack` (`skyforge/<stack>`).
pub fn lock_item_key(stack: &str) -> String {
    format!("{STATE_PREFIX}{stack}")
}

/// The S3 lock object's key of `stack` under `prefix`.
pub fn lock_object_key(prefix: &str, stack: &str) -> String {
    format!("{prefix}{stack}.lock")
}

/// Where the S3 lock writes its conditional-write probes under `prefix`.
pub fn probe_prefix(prefix: &str) -> String {
    format!("{prefix}.skyforge-probe/")
}

/// One grant: actions on resources, optionally under one condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    /// A statement id (`StateObject`).
    pub sid: &'static str,
    /// The actions.
    pub actions: &'static [&'static str],
    /// The ARNs.
    pub resources: Vec<String>,
    /// `(operator, key, value)`.
    pub condition: Option<(&'static str, &'static str, String)>,
}

/// Where a stack's state lives in AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateLocation<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: &'a str,
    /// The lock table's region.
    pub region: &'a str,
    /// The lock table's account.
    pub account: &'a str,
    /// The state bucket.
    pub bucket: &'a str,
    /// The DynamoDB lock table, if the lock is not in S3.
    pub lock_table: Option<&'a str>,
    /// The stack's name.
    pub stack: &'a str,
}

/// The grants a locked, journaled run of `at.stack` needs: its state object
/// (`skyforge/<stack>.json`: `GetObject`, `PutObject`), its lock (the S3 lock object and the
/// conditional-write probe, or its one DynamoDB item, by `dynamodb:LeadingKeys`), and
/// `s3:ListBucket` on the bucket, without which S3 answers a missing state object with 403
/// instead of 404. A plan (`locked` false) only reads the state object: no lock, no write.
pub fn access(at: &StateLocation<'_>, locked: bool) -> Vec<Access> {
    let object = |key: &str| format!("arn:{}:s3:::{}/{key}", at.partition, at.bucket);
    let mut out = vec![
        Access {
            sid: "StateBucketList",
            actions: &["s3:ListBucket"],
            resources: vec![format!("arn:{}:s3:::{}", at.partition, at.bucket)],
            condition: None,
        },
        Access {
            sid: "StateObject",
            actions: if locked {
                &["s3:GetObject", "s3:PutObject"]
            } else {
                &["s3:GetObject"]
            },
            resources: vec![object(&state_key(at.stack))],
            condition: None,
        },
    ];
    if !locked {
        return out;
    }
    match at.lock_table {
        Some(table) => out.push(Access {
            sid: "StateLockItem",
            actions: &[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "dynamodb:DeleteItem",
            ],
            resources: vec![format!(
                "arn:{}:dynamodb:{}:{}:table/{table}",
                at.partition, at.region, at.account
            )],
            condition: Some((
                "ForAllValues:StringEquals",
                "dynamodb:LeadingKeys",
                lock_item_key(at.stack),
            )),
        }),
        None => out.push(Access {
            sid: "StateLockObject",
            actions: &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            resources: vec![
                object(&lock_object_key(S3_LOCK_PREFIX, at.stack)),
                object(&format!("{}*", probe_prefix(S3_LOCK_PREFIX))),
            ],
            condition: None,
        }),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lock_table: Option<&str>) -> StateLocation<'_> {
        StateLocation {
            partition: "aws",
            region: "us-east-1",
            account: "123456789012",
            bucket: "acme-state",
            lock_table,
            stack: "alva-prod",
        }
    }

    #[test]
    fn the_state_object_and_the_s3_lock_are_the_stacks_own_keys() {
        let a = access(&at(None), true);
        let keys: Vec<&str> = a
            .iter()
            .flat_map(|x| &x.resources)
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                "arn:aws:s3:::acme-state",
                "arn:aws:s3:::acme-state/skyforge/alva-prod.json",
                "arn:aws:s3:::acme-state/skyforge/locks/alva-prod.lock",
                "arn:aws:s3:::acme-state/skyforge/locks/.skyforge-probe/*",
            ]
        );
    }

    #[test]
    fn a_dynamodb_lock_is_limited_to_the_stacks_item() {
        let a = access(&at(Some("locks")), true);
        let lock = a.iter().find(|x| x.sid == "StateLockItem").unwrap();
        assert_eq!(
            lock.resources,
            ["arn:aws:dynamodb:us-east-1:123456789012:table/locks"]
        );
        let (_, key, value) = lock.condition.clone().unwrap();
        assert_eq!(
            (key, value.as_str()),
            ("dynamodb:LeadingKeys", "skyforge/alva-prod")
        );
        assert!(!a.iter().any(|x| x.sid == "StateLockObject"));
    }

    #[test]
    fn a_plan_reads_the_state_and_takes_no_lock() {
        let a = access(&at(Some("locks")), false);
        let actions: Vec<&str> = a.iter().flat_map(|x| x.actions).copied().collect();
        assert_eq!(actions, ["s3:ListBucket", "s3:GetObject"]);
    }
}
