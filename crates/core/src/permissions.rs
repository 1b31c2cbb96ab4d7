//! The IAM actions a deploy needs: each resource kind declares the actions its calls use, next
//! to the code that makes them ([`crate::Resource::permissions`],
//! [`crate::OwnedKind::permissions`]), and a stack's deploy needs their union
//! ([`crate::Stack::deploy_actions`]). The integration suite checks the declarations against
//! every call the engine makes on the emulator.

use std::collections::BTreeSet;

/// The IAM actions one resource kind's calls need, by what the engine does with it. Actions
/// a call needs beyond its own (`iam:PassRole` for a call that hands a role to a service) are
/// declared with the call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Permissions {
    /// Observe it (plan), wait for it, and list its kind's orphans.
    pub observe: &'static [&'static str],
    /// Create it, tag it, and set what its create call cannot.
    pub create: &'static [&'static str],
    /// Change it in place.
    pub update: &'static [&'static str],
    /// Delete it.
    pub delete: &'static [&'static str],
}

impl Permissions {
    /// A kind that makes no AWS call.
    pub const NONE: Permissions = Permissions {
        observe: &[],
        create: &[],
        update: &[],
        delete: &[],
    };

    /// What listing and deleting orphans of this kind needs: its observation and its delete.
    pub const fn for_orphans(self) -> Permissions {
        Permissions {
            create: &[],
            update: &[],
            ..self
        }
    }

    /// [`Permissions::for_orphans`] for a lister with calls of its own (`listing`) instead of
    /// the nodes' observation.
    pub const fn for_orphans_listed_by(self, listing: &'static [&'static str]) -> Permissions {
        Permissions {
            observe: listing,
            ..self.for_orphans()
        }
    }

    /// Every action, in declaration order.
    pub fn actions(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.observe
            .iter()
            .chain(self.create)
            .chain(self.update)
            .chain(self.delete)
            .copied()
    }
}

/// A name a kind gives an AWS resource its calls write to, by the resource type of the IAM
/// Service Authorization Reference (`secretsmanager:Secret`, `rds:db`): what a deploy policy
/// scopes those writes to. `name` is the part of the ARN after the type's fixed prefix
/// (`alva/staging/cookie-secret-??????`, `alva-staging/api` for an ECS service in its cluster)
/// and may hold `*` and `?` where AWS adds to the name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ArnName {
    /// `service:type`, as the reference spells it.
    pub resource_type: &'static str,
    /// The name, or a pattern of the names.
    pub name: String,
}

impl ArnName {
    /// `name` of type `resource_type`.
    pub fn new(resource_type: &'static str, name: impl Into<String>) -> ArnName {
        ArnName {
            resource_type,
            name: name.into(),
        }
    }
}

/// What one node or orphan lister of a stack declares: its kind, its actions, and the names of
/// what it writes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declaration {
    /// The kind (`secret`).
    pub kind: String,
    /// The node's id; `None` for an orphan lister.
    pub id: Option<crate::ResourceId>,
    /// Whether this is a kind's orphan lister rather than a node: it deletes resources whose
    /// names the stack no longer declares, so only its ownership tags or its name prefix can
    /// scope it.
    pub orphans: bool,
    /// Its actions; `None` while undeclared.
    pub permissions: Option<Permissions>,
    /// The names its writes go to ([`crate::Resource::arn_names`]).
    pub names: Vec<ArnName>,
}

/// What a stack's deploys (plan, apply, destroy) need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeployActions {
    /// The union of the declared actions (`ec2:CreateVpc`).
    pub actions: BTreeSet<&'static str>,
    /// The kinds that declare none yet: a policy made from `actions` would deny their calls.
    pub undeclared: BTreeSet<String>,
}
