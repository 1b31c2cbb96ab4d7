//! The reverse of the permission check: every declared action is called by some run, or is
//! listed here with the reason no run on the emulator calls it.

use std::collections::BTreeSet;

/// What a scenario's kinds declared, and what its runs called (as IAM actions).
#[derive(Debug, Default)]
pub struct Coverage {
    pub declared: BTreeSet<&'static str>,
    pub called: BTreeSet<String>,
}

impl Coverage {
    /// Both scenarios' together.
    pub fn and(mut self, other: Coverage) -> Coverage {
        self.declared.extend(other.declared);
        self.called.extend(other.called);
        self
    }
}

/// Required by AWS of another call, with no API call of its own: the emulator enforces no IAM.
const IMPLIED: &str = "required by AWS of another call; the emulator enforces no IAM";
/// Removing tags: a user tag dropped from a spec is left in place (`skyforge_core::tags`), so
/// the scenarios' re-tag calls only the tagging action; removal is for `skyforge:` keys.
const UNTAG: &str = "removes a `skyforge:` key no longer desired; never a dropped user tag";
/// An in-place change the scenarios do not make (their one change is the user tags); the
/// crates' own integration tests make them (database, cache, lb, network, ...).
const UPDATE: &str =
    "an in-place change of a field the scenarios keep; the crate's tests change it";
/// A path taken only on a state these runs do not reach.
const RARE: &str = "a path taken only in a state these runs do not reach";

/// Declared actions that no scenario calls, each with why.
pub const NOT_CALLED: &[(&str, &str)] = &[
    ("iam:PassRole", IMPLIED),
    ("iam:CreateServiceLinkedRole", IMPLIED),
    ("route53:CreateHostedZone", IMPLIED), // Cloud Map's namespace makes its zone
    ("route53:DeleteHostedZone", IMPLIED),
    ("route53:GetHostedZone", IMPLIED),
    ("rds:CreateDBSnapshot", IMPLIED), // a final snapshot; ephemeral test stages skip it
    ("elasticache:CreateSnapshot", IMPLIED),
    ("s3:PutBucketObjectLockConfiguration", IMPLIED), // creating a bucket with Object Lock
    ("s3:DeleteObjectVersion", IMPLIED), // emptying a versioned bucket before an allowed delete
    ("application-autoscaling:UntagResource", UNTAG),
    ("cloudwatch:UntagResource", UNTAG),
    ("ec2:DeleteTags", UNTAG),
    ("ecr:UntagResource", UNTAG),
    ("ecs:UntagResource", UNTAG),
    ("elasticache:RemoveTagsFromResource", UNTAG),
    ("elasticloadbalancing:RemoveTags", UNTAG),
    ("iam:UntagRole", UNTAG),
    ("logs:UntagResource", UNTAG),
    ("rds:RemoveTagsFromResource", UNTAG),
    ("secretsmanager:UntagResource", UNTAG),
    ("servicediscovery:UntagResource", UNTAG),
    ("sns:UntagResource", UNTAG),
    ("ssm:RemoveTagsFromResource", UNTAG),
    ("ec2:ModifySecurityGroupRules", UPDATE),
    ("ec2:ModifySubnetAttribute", UPDATE),
    ("ec2:ModifyVpcEndpoint", UPDATE),
    ("ec2:ReplaceRoute", UPDATE),
    ("ec2:ReplaceRouteTableAssociation", UPDATE),
    ("ecr:DeleteLifecyclePolicy", UPDATE),
    ("ecr:DeleteRepositoryPolicy", UPDATE),
    ("ecr:PutImageScanningConfiguration", UPDATE),
    ("ecr:PutImageTagMutability", UPDATE),
    ("ecr:SetRepositoryPolicy", UPDATE),
    ("ecs:PutClusterCapacityProviders", UPDATE),
    ("ecs:UpdateCluster", UPDATE),
    ("elasticache:DecreaseReplicaCount", UPDATE),
    ("elasticache:IncreaseReplicaCount", UPDATE),
    ("elasticache:ModifyCacheParameterGroup", UPDATE),
    ("elasticache:ModifyCacheSubnetGroup", UPDATE),
    ("elasticache:ModifyReplicationGroup", UPDATE),
    (
        "elasticache:ModifyReplicationGroupShardConfiguration",
        UPDATE,
    ),
    ("elasticloadbalancing:ModifyListener", UPDATE),
    ("elasticloadbalancing:ModifyRule", UPDATE),
    ("elasticloadbalancing:ModifyTargetGroup", UPDATE),
    ("elasticloadbalancing:SetRulePriorities", UPDATE),
    ("elasticloadbalancing:SetSecurityGroups", UPDATE),
    ("elasticloadbalancing:SetSubnets", UPDATE),
    ("iam:AttachRolePolicy", UPDATE), // the scenarios' roles attach no managed policy
    ("iam:DetachRolePolicy", UPDATE),
    ("iam:UpdateAssumeRolePolicy", UPDATE),
    ("iam:UpdateRole", UPDATE),
    ("kms:PutKeyPolicy", UPDATE),
    ("logs:AssociateKmsKey", UPDATE),
    ("logs:DisassociateKmsKey", UPDATE),
    ("rds:ModifyDBInstance", UPDATE),
    ("rds:ModifyDBSubnetGroup", UPDATE),
    ("rds:RebootDBInstance", UPDATE), // a static parameter changed
    ("s3:PutBucketCORS", UPDATE),
    ("s3:PutBucketLogging", UPDATE),
    ("s3:PutBucketOwnershipControls", UPDATE),
    ("secretsmanager:PutSecretValue", UPDATE),
    ("secretsmanager:UpdateSecret", UPDATE),
    ("secretsmanager:RotateSecret", UPDATE),
    ("servicediscovery:UpdateService", UPDATE),
    ("sns:SetTopicAttributes", UPDATE),
    ("ec2:AuthorizeSecurityGroupEgress", RARE), // a group's default egress put back
    ("ec2:DescribeNetworkInterfaces", RARE),    // what blocks a subnet or group delete
    ("ecr:ListImages", RARE),                   // a repository deleted with images in it
    ("ecs:ListTasks", RARE),                    // a rollout that fails: its stopped tasks
    ("logs:GetLogEvents", RARE),                // a migration that fails: its last lines
    ("kms:EnableKey", RARE),                    // the topic's key found disabled
    ("s3:DeleteObject", RARE),                  // a bucket with objects, deletion allowed
    ("secretsmanager:RestoreSecret", RARE),     // a secret scheduled for deletion, re-created
    ("sns:Unsubscribe", RARE),                  // a subscription removed from the spec
];

/// Every declared action is called, or listed in [`NOT_CALLED`]; every listed one is still
/// declared (the list keeps up with the declarations).
pub fn assert_used(c: &Coverage) {
    let listed: BTreeSet<&str> = NOT_CALLED.iter().map(|(a, _)| *a).collect();
    let unused: Vec<&&str> = c
        .declared
        .iter()
        .filter(|a| !c.called.contains(**a) && !listed.contains(**a))
        .collect();
    let stale: Vec<&&str> = listed
        .iter()
        .filter(|a| !c.declared.contains(**a))
        .collect();
    println!(
        "{} actions declared, {} called, {} listed as not called",
        c.declared.len(),
        c.declared.iter().filter(|a| c.called.contains(**a)).count(),
        listed.len()
    );
    assert!(
        unused.is_empty(),
        "declared, never called, not listed: {unused:?}"
    );
    assert!(
        stale.is_empty(),
        "listed as not called but no longer declared: {stale:?}"
    );
}
