//! Grants: which actions go on which resources, collected per statement.

use std::collections::{BTreeMap, BTreeSet};

use skyforge_core::{ArnName, Declaration};

use super::facts::{ActionFacts, Facts, Row};
use super::{ArnContext, Wildcard};

/// Why an action is granted on `*`.
pub const NO_RESOURCE_TYPE: &str = "AWS authorizes it only against `*`: the Service \
                                    Authorization Reference lists no resource type for it";
/// Why a read is granted on `*`.
pub const LISTING: &str = "a listing or search (observation, the orphan search) that AWS \
                           authorizes against `*`: it names no resource, or names one only \
                           optionally";
/// Why hosted zones are granted by type.
pub const HOSTED_ZONE: &str = "Cloud Map creates the namespace's private hosted zone, with a \
                               generated id and without the stack's tags";

/// Types whose ARNs carry generated ids, so writes are scoped by the ownership tag.
const TAGGED_SERVICES: &[&str] = &["ec2", "servicediscovery", "application-autoscaling"];
const TAGGED_TYPES: &[&str] = &["kms:key"];
/// Types whose ARNs carry generated ids and that AWS cannot condition on tags.
const TYPE_WIDE: &[(&str, &str)] = &[("route53:hostedzone", HOSTED_ZONE)];

/// Where a group of actions is allowed: one statement each.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Scope {
    /// Reads on every resource of the types (account and region).
    Read,
    /// `*`, for the reason given.
    Any(&'static str),
    /// `*` with the stack's tag in the request.
    AnyCreatedTagged,
    /// The named resources of one type.
    Named(&'static str),
    /// Resources of a service's types carrying the stack's tag (`request`: in the request).
    Tagged { service: String, request: bool },
    /// Every resource of one type, for the reason given.
    TypeWide(&'static str, &'static str),
}

#[derive(Default)]
pub(crate) struct Grants {
    pub actions: BTreeMap<Scope, BTreeSet<String>>,
    /// Type-wide ARNs per scope (reads, tagged scopes, type-wide scopes).
    pub resources: BTreeMap<Scope, BTreeSet<String>>,
    pub wildcards: BTreeMap<String, &'static str>,
    /// Reads of values from resources of types the stack holds none of: `(action, kind)`.
    pub ungranted: BTreeSet<(String, String)>,
}

/// The names declared per type, across a stack's declarations.
pub(crate) fn names_by_type(decls: &[Declaration]) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut out: BTreeMap<&'static str, BTreeSet<String>> = BTreeMap::new();
    for ArnName {
        resource_type,
        name,
    } in decls.iter().flat_map(|d| &d.names)
    {
        out.entry(*resource_type).or_default().insert(name.clone());
    }
    out
}

/// `arn:aws:ec2:us-east-1:123456789012:*` from any ARN of the service in that account and
/// region (its first five fields).
/// IAM's own ARNs must name a type (`role/*`): those stay as they are.
fn service_wide(arn: &str) -> String {
    let head: Vec<&str> = arn.splitn(6, ':').take(5).collect();
    if head.get(2) == Some(&"iam") {
        return arn.to_string();
    }
    format!("{}:*", head.join(":"))
}

fn tagged(resource_type: &str) -> bool {
    let service = resource_type.split(':').next().unwrap_or_default();
    TAGGED_SERVICES.contains(&service) || TAGGED_TYPES.contains(&resource_type)
}

fn type_wide(resource_type: &str) -> Option<&'static str> {
    TYPE_WIDE
        .iter()
        .find(|(t, _)| *t == resource_type)
        .map(|(_, reason)| *reason)
}

/// A write the policy cannot scope: what the caller must fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unscoped {
    /// The kind declaring the action.
    pub kind: String,
    /// The action.
    pub action: String,
    /// What is missing.
    pub reason: String,
}

impl Grants {
    fn add(&mut self, scope: Scope, action: &str, resource: Option<String>) {
        if let Some(r) = resource {
            self.resources.entry(scope.clone()).or_default().insert(r);
        }
        self.actions
            .entry(scope)
            .or_default()
            .insert(action.to_string());
    }

    fn wildcard(&mut self, scope: Scope, action: &str, reason: &'static str) {
        self.wildcards.insert(action.to_string(), reason);
        self.add(scope, action, None);
    }

    /// A read: on every resource of its required types, or on `*`.
    pub fn read(&mut self, facts: &Facts, at: &ArnContext, action: &str, f: &ActionFacts) {
        if !f.has_required_row() {
            let reason = if f.rows.is_empty() {
                NO_RESOURCE_TYPE
            } else {
                LISTING
            };
            return self.wildcard(Scope::Any(reason), action, reason);
        }
        for row in f.rows.iter().filter(|r| r.required) {
            let all = facts.arn(&row.resource_type, at, "*");
            self.add(Scope::Read, action, all.map(|a| service_wide(&a)));
        }
    }

    /// A write by a node (`creates`: the action is one of its creates) or an orphan lister.
    #[allow(clippy::too_many_arguments)]
    pub fn write(
        &mut self,
        facts: &Facts,
        at: &ArnContext,
        names: &BTreeMap<&'static str, BTreeSet<String>>,
        kind: &str,
        action: &str,
        f: &ActionFacts,
        creates: bool,
        orphans: bool,
    ) -> Result<(), Unscoped> {
        if f.rows.is_empty() {
            if f.request_tag_without_type && creates {
                self.wildcards.insert(action.to_string(), NO_RESOURCE_TYPE);
                self.add(Scope::AnyCreatedTagged, action, None);
                return Ok(());
            }
            self.wildcard(Scope::Any(NO_RESOURCE_TYPE), action, NO_RESOURCE_TYPE);
            return Ok(());
        }
        // Required rows of one action are often alternatives (a listener of an application,
        // network or gateway load balancer): the write is scoped if any of them is.
        let mut missing = Vec::new();
        let mut scoped = false;
        for row in &f.rows {
            match self.write_row(facts, at, names, action, row, creates, orphans) {
                Ok(true) => scoped = true,
                Ok(false) => {}
                Err(reason) => missing.push(reason),
            }
        }
        if scoped {
            return Ok(());
        }
        let verb = action.split(':').nth(1).unwrap_or_default();
        let reads = ["Get", "Describe", "List"]
            .iter()
            .any(|v| verb.starts_with(v));
        if reads
            && f.rows
                .iter()
                .all(|r| !names.contains_key(r.resource_type.as_str()))
        {
            // A value read from a resource the stack does not hold (a secret's value taken
            // from a parameter when the stack has none): nothing of the stack's to grant.
            self.ungranted
                .insert((action.to_string(), kind.to_string()));
            return Ok(());
        }
        let types: Vec<&str> = f.rows.iter().map(|r| r.resource_type.as_str()).collect();
        Err(Unscoped {
            kind: kind.to_string(),
            action: action.to_string(),
            reason: missing.first().cloned().unwrap_or_else(|| {
                format!("no name of its types ({}) is declared", types.join(", "))
            }),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn write_row(
        &mut self,
        facts: &Facts,
        at: &ArnContext,
        names: &BTreeMap<&'static str, BTreeSet<String>>,
        action: &str,
        row: &Row,
        creates: bool,
        orphans: bool,
    ) -> Result<bool, String> {
        let rt = row.resource_type.as_str();
        let all = facts.arn(rt, at, "*");
        if let Some(reason) = type_wide(rt) {
            let key = TYPE_WIDE.iter().find(|(t, _)| *t == rt).map(|(t, _)| *t);
            self.add(
                Scope::TypeWide(key.unwrap_or_default(), reason),
                action,
                all,
            );
            return Ok(true);
        }
        let service = rt.split(':').next().unwrap_or_default().to_string();
        // The tag condition scopes these; the ARN only narrows them to the service, account
        // and region.
        let all = all.map(|a| service_wide(&a));
        let by_tag = tagged(rt) || (orphans && row.resource_tag);
        if by_tag {
            if !row.resource_tag && !row.request_tag {
                return Err(format!("{rt} cannot be conditioned on tags"));
            }
            if creates {
                let scope = Scope::Tagged {
                    service: service.clone(),
                    request: true,
                };
                self.add(scope, action, all.clone());
            }
            if row.resource_tag {
                let scope = Scope::Tagged {
                    service,
                    request: false,
                };
                self.add(scope, action, all);
            }
            return Ok(true);
        }
        let key = names.keys().find(|k| **k == rt).copied();
        match key {
            Some(k) => {
                self.add(Scope::Named(k), action, None);
                Ok(true)
            }
            None if !row.required => Ok(false),
            None => Err(format!(
                "no name of type {rt} is declared (Resource::arn_names), so the write cannot be scoped"
            )),
        }
    }

    pub fn wildcards(&self) -> Vec<Wildcard> {
        self.wildcards
            .iter()
            .map(|(action, reason)| Wildcard {
                action: action.clone(),
                reason,
            })
            .collect()
    }
}
