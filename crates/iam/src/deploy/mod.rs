//! Deploy policies made from a stack's declarations.
//!
//! Every resource kind declares the IAM actions its calls use ([`skyforge_core::Permissions`])
//! and the names of what it writes to ([`skyforge_core::Resource::arn_names`]). From those and
//! the IAM Service Authorization Reference (which resource types each action is authorized
//! against, and which tag conditions they support), [`deploy_policy`] makes the policy a CI
//! deploy role needs, and [`release_policy`] the smaller one that only ships images:
//!
//! - reads on every resource of their types in the account and region (observation and the
//!   orphan search list resources before they know which are the stack's); reads AWS
//!   authorizes only against `*` on `*`;
//! - writes to resources whose ARNs carry a name on exactly the declared names;
//! - writes to resources whose ARNs carry generated ids (EC2, Cloud Map, Application Auto
//!   Scaling, KMS keys) on the resources carrying the stack's `skyforge:stack` tag, and creates
//!   only with that tag in the request;
//! - orphan deletes on the resources carrying the stack's tag (their names are no longer
//!   declared);
//! - `*` only where AWS has nothing narrower, each such action listed with its reason
//!   ([`GeneratedPolicy::wildcards`]).

mod facts;
mod grants;

use std::collections::BTreeMap;

use serde_json::{Value, json};
use skyforge_core::{Declaration, Inputs, Permissions, tags};

use crate::policy::{PolicyDocument, Statement};
use grants::{Grants, Scope, names_by_type};
pub use grants::{HOSTED_ZONE, LISTING, NO_RESOURCE_TYPE, Unscoped};

/// The partition, region and account ARNs are made in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnContext {
    /// `aws`, `aws-cn` or `aws-us-gov`.
    pub partition: String,
    /// `us-east-1`.
    pub region: String,
    /// The 12-digit account id.
    pub account: String,
}

impl ArnContext {
    /// The context of `region` (its partition follows from it) in `account`.
    pub fn new(region: impl Into<String>, account: impl Into<String>) -> ArnContext {
        let region = region.into();
        let partition = if region.starts_with("cn-") {
            "aws-cn"
        } else if region.starts_with("us-gov-") {
            "aws-us-gov"
        } else {
            "aws"
        };
        ArnContext {
            partition: partition.into(),
            region,
            account: account.into(),
        }
    }
}

/// An action granted on `*`, and why nothing narrower works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// `ec2:DescribeVpcs`.
    pub action: String,
    /// Why.
    pub reason: &'static str,
}

/// The resource type (`rds:db`) of `arn`, by the reference's ARN formats.
pub fn resource_type_of(arn: &str) -> Option<&'static str> {
    facts::facts().type_of(arn)
}

/// The writes `d` declares that AWS authorizes against a resource of `resource_type`, each with
/// whether it is one of `d`'s creates: what a policy must allow on that resource.
pub fn writes_against(d: &Declaration, resource_type: &str) -> Vec<(&'static str, bool)> {
    let p = d.permissions.unwrap_or(Permissions::NONE);
    writes(&p, Phase::All)
        .into_iter()
        .filter(|(action, _)| {
            facts::facts()
                .action(action)
                .is_some_and(|f| f.rows.iter().any(|r| r.resource_type == resource_type))
        })
        .collect()
}

/// Where the IAM facts the policies are made from come from.
pub fn facts_source() -> &'static str {
    &facts::facts().source
}

/// A generated policy.
#[derive(Debug, Clone)]
pub struct GeneratedPolicy {
    /// The document.
    pub document: PolicyDocument,
    /// The actions granted on `*`, with their reasons.
    pub wildcards: Vec<Wildcard>,
    /// Reads a kind declares of values held in resources of types the stack has none of
    /// (`ssm:GetParameter` for a secret whose value could come from a parameter), as
    /// `(action, kind)`: not granted, since nothing of the stack's is there to read. A value
    /// taken from outside the stack needs a grant of its own.
    pub ungranted: Vec<(String, String)>,
}

impl GeneratedPolicy {
    /// The document as JSON.
    pub fn json(&self) -> Value {
        self.document
            .render(&Inputs::none())
            .expect("a generated policy names only literal ARNs")
    }
    /// The statements packed, in order, into documents of at most `max_chars` each (IAM's
    /// 6,144 for a managed policy): one document per policy a role attaches. `None` when one
    /// statement alone is larger.
    pub fn split(&self, max_chars: usize) -> Option<Vec<PolicyDocument>> {
        let overhead = size(&json!({"Version": "2012-10-17", "Statement": []}));
        let mut out: Vec<(PolicyDocument, usize)> = Vec::new();
        for st in self.document.statements() {
            let n = size(&st.render(&Inputs::none(), None)?) + 1;
            if overhead + n > max_chars {
                return None;
            }
            match out.last_mut() {
                Some((doc, used)) if *used + n <= max_chars => {
                    doc.push(st.clone());
                    *used += n;
                }
                _ => out.push((PolicyDocument::new([st.clone()]), overhead + n)),
            }
        }
        Some(out.into_iter().map(|(d, _)| d).collect())
    }
    /// Its size as IAM counts it (characters, whitespace excluded): inline policies of one
    /// role may hold 10,240 together, a managed policy 6,144.
    pub fn size(&self) -> usize {
        size(&self.json())
    }
}

/// The characters IAM counts in a policy: its JSON without whitespace.
pub fn size(v: &Value) -> usize {
    serde_json::to_string(v)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Why a policy could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    /// Kinds declare no actions yet.
    #[error("kinds without declared permissions: {}", .0.join(", "))]
    Undeclared(Vec<String>),
    /// An action is not in the reference data.
    #[error(
        "{action} (declared by {kind}) is not in the IAM reference data; run scripts/iam-facts.py"
    )]
    UnknownAction {
        /// The kind.
        kind: String,
        /// The action.
        action: String,
    },
    /// A write cannot be scoped.
    #[error("{} of {} cannot be scoped: {}", .0.action, .0.kind, .0.reason)]
    Unscoped(Unscoped),
}

/// What a policy is made from.
#[derive(Debug, Clone, Copy)]
pub struct PolicyInput<'a> {
    /// The stack's declarations ([`skyforge_core::Stack::declarations`]).
    pub declarations: &'a [Declaration],
    /// The stack's name: the value of its `skyforge:stack` tag.
    pub stack: &'a str,
    /// Where its ARNs are.
    pub at: &'a ArnContext,
}

/// The writes a release makes: new task definition revisions, services moved to them, the
/// migration task, and the rollback.
const RELEASE_WRITES: &[(&str, Phase)] = &[
    ("ecs_task_definition", Phase::Update),
    ("ecs_service", Phase::Update),
    ("migration", Phase::All),
    ("migrate", Phase::All),
    ("rollback", Phase::All),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Update,
    All,
}

/// The policy `plan`, `apply` and `destroy` need: every declared action, scoped to the stack;
/// `extra` statements (the state bucket and lock) are appended.
pub fn deploy_policy(
    input: PolicyInput<'_>,
    extra: Vec<Statement>,
) -> Result<GeneratedPolicy, PolicyError> {
    generate(input, extra, |_, p| writes(p, Phase::All))
}

/// The policy `plan` needs: every read, and `extra` (the state, read and locked).
pub fn plan_policy(
    input: PolicyInput<'_>,
    extra: Vec<Statement>,
) -> Result<GeneratedPolicy, PolicyError> {
    generate(input, extra, |_, _| Vec::new())
}

/// The policy `deploy`, `migrate` and `rollback` need with an image already pushed: every
/// read (a release plans the whole stack), and only the writes of a release (see the module
/// docs); `extra` statements (state, image push) are appended.
pub fn release_policy(
    input: PolicyInput<'_>,
    extra: Vec<Statement>,
) -> Result<GeneratedPolicy, PolicyError> {
    generate(input, extra, |d, p| {
        let phase = RELEASE_WRITES
            .iter()
            .find(|(k, _)| *k == d.kind && !d.orphans)
            .map(|(_, ph)| *ph);
        phase.map(|ph| writes(p, ph)).unwrap_or_default()
    })
}

/// A declaration's writes in `phase`, each with whether it is one of its creates.
fn writes(p: &Permissions, phase: Phase) -> Vec<(&'static str, bool)> {
    let update = p.update.iter().map(|a| (*a, false));
    if phase == Phase::Update {
        return update.collect();
    }
    let create = p.create.iter().map(|a| (*a, true));
    create
        .chain(update)
        .chain(p.delete.iter().map(|a| (*a, false)))
        .collect()
}

fn generate(
    input: PolicyInput<'_>,
    extra: Vec<Statement>,
    writes_of: impl Fn(&Declaration, &Permissions) -> Vec<(&'static str, bool)>,
) -> Result<GeneratedPolicy, PolicyError> {
    let undeclared: Vec<String> = input
        .declarations
        .iter()
        .filter(|d| d.permissions.is_none())
        .map(|d| d.kind.clone())
        .collect();
    if !undeclared.is_empty() {
        return Err(PolicyError::Undeclared(undeclared));
    }
    let facts = facts::facts();
    let names = names_by_type(input.declarations);
    let mut g = Grants::default();
    for d in input.declarations {
        let p = d.permissions.unwrap_or(Permissions::NONE);
        let known = |action: &str| {
            facts.action(action).ok_or(PolicyError::UnknownAction {
                kind: d.kind.clone(),
                action: action.to_string(),
            })
        };
        for action in p.observe {
            g.read(facts, input.at, action, known(action)?);
        }
        for (action, creates) in writes_of(d, &p) {
            let f = known(action)?;
            g.write(
                facts, input.at, &names, &d.kind, action, f, creates, d.orphans,
            )
            .map_err(PolicyError::Unscoped)?;
        }
    }
    let mut statements = statements(&g, &names, input);
    statements.extend(extra);
    Ok(GeneratedPolicy {
        document: PolicyDocument::new(statements),
        wildcards: g.wildcards(),
        ungranted: g.ungranted.iter().cloned().collect(),
    })
}

fn statements(
    g: &Grants,
    names: &BTreeMap<&'static str, std::collections::BTreeSet<String>>,
    input: PolicyInput<'_>,
) -> Vec<Statement> {
    let facts = facts::facts();
    let tag_key = |request: bool| {
        let which = if request {
            "aws:RequestTag"
        } else {
            "aws:ResourceTag"
        };
        format!("{which}/{}", tags::STACK)
    };
    g.actions
        .iter()
        .map(|(scope, actions)| {
            let st = Statement::allow(actions.iter().cloned()).sid(sid(scope));
            let resources = g.resources.get(scope).into_iter().flatten();
            match scope {
                Scope::Any(reason) => st.on_any(reason),
                Scope::AnyCreatedTagged => {
                    st.on_any(NO_RESOURCE_TYPE)
                        .when("StringEquals", tag_key(true), [input.stack])
                }
                Scope::Named(rt) => names[rt]
                    .iter()
                    .filter_map(|n| facts.arn(rt, input.at, n))
                    .fold(st, Statement::on),
                Scope::Tagged { request, .. } => resources.fold(st, |s, r| s.on(r.clone())).when(
                    "StringEquals",
                    tag_key(*request),
                    [input.stack],
                ),
                Scope::Read | Scope::TypeWide(..) => resources.fold(st, |s, r| s.on(r.clone())),
            }
        })
        .collect()
}

/// A statement id from its scope (`Read`, `WriteRdsDb`, `TaggedEc2`, `CreateTaggedEc2`).
fn sid(scope: &Scope) -> String {
    let camel = |s: &str| {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect::<String>()
    };
    match scope {
        Scope::Read => "Read".into(),
        Scope::Any(r) if *r == NO_RESOURCE_TYPE => "AnyNoResourceType".into(),
        Scope::Any(_) => "AnyListing".into(),
        Scope::AnyCreatedTagged => "AnyCreatedWithStackTag".into(),
        Scope::Named(rt) => format!("Write{}", camel(rt)),
        Scope::Tagged { service, request } => {
            let head = if *request { "CreateTagged" } else { "Tagged" };
            format!("{head}{}", camel(service))
        }
        Scope::TypeWide(rt, _) => format!("AnyOfType{}", camel(rt)),
    }
}

#[cfg(test)]
mod tests;
