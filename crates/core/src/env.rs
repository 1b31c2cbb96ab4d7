//! Environments: project, stage, owner, region and user tags.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The deployment stage of an environment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Stage {
    /// `staging`
    Staging,
    /// `prod`
    Prod,
    /// Any other stage (`test`, `dev`, `pr42`): lowercase letters and digits, starting with a letter.
    Named(String),
}

impl Stage {
    /// The stage as used in names and tags.
    pub fn as_str(&self) -> &str {
        match self {
            Stage::Staging => "staging",
            Stage::Prod => "prod",
            Stage::Named(n) => n,
        }
    }

    /// Whether this is the production stage (enables deletion protection, final snapshots, ...).
    pub fn is_prod(&self) -> bool {
        matches!(self, Stage::Prod)
    }

    /// Parse a stage; `staging` and `prod` map to their variants.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "staging" => Ok(Stage::Staging),
            "prod" => Ok(Stage::Prod),
            other => {
                check_segment("environment.stage", other, 12)?;
                Ok(Stage::Named(other.to_string()))
            }
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Stage> for String {
    fn from(s: Stage) -> String {
        s.as_str().to_string()
    }
}

impl TryFrom<String> for Stage {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Stage::parse(&s)
    }
}

/// Project names that would make a derived name illegal for some AWS service
/// (security groups may not start with `sg-`, load balancers with `internal-`,
/// RDS subnet groups may not be called `default`).
const RESERVED: &[&str] = &["sg", "internal", "default", "aws", "amazon"];

/// A name segment (project, stage, owner): lowercase ASCII letters and digits, starting with a
/// letter, at most `max` characters. Segments carry no hyphen so that the derived names
/// `project-stage-owner-logical` stay unambiguous.
pub(crate) fn check_segment(field: &str, value: &str, max: usize) -> Result<()> {
    let mut chars = value.chars();
    match chars.next() {
        None => return Err(Error::validation(field, value, "must not be empty")),
        Some(c) if !c.is_ascii_lowercase() => {
            return Err(Error::validation(
                field,
                value,
                "must start with a lowercase ASCII letter",
            ));
        }
        _ => {}
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    {
        return Err(Error::validation(
            field,
            value,
            "may contain only lowercase ASCII letters and digits (no hyphens)",
        ));
    }
    if value.len() > max {
        return Err(Error::validation(
            field,
            value,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// Where and for whom a stack is deployed.
///
/// ```
/// use skyforge_core::{Environment, Stage};
/// let env = Environment::new("alva", Stage::Staging).owner("chuong").region("us-east-1");
/// env.validate().unwrap();
/// assert_eq!(env.prefix(), "alva-staging-chuong");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Environment {
    project: String,
    stage: Stage,
    owner: Option<String>,
    region: Option<String>,
    ephemeral: bool,
    tags: BTreeMap<String, String>,
}

impl Environment {
    /// A new environment for `project` at `stage`. Call [`Environment::validate`] (or let
    /// [`crate::Stack::new`] do it) before use.
    pub fn new(project: impl Into<String>, stage: Stage) -> Self {
        Environment {
            project: project.into(),
            stage,
            owner: None,
            region: None,
            ephemeral: false,
            tags: BTreeMap::new(),
        }
    }

    /// Owner id, for accounts shared by several people or teams: it becomes part of every name
    /// and of the ownership tags, so two owners' stacks never touch each other.
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = Some(owner.into());
        self
    }

    /// Region; without it the standard chain (`AWS_REGION`, profile) decides.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Mark the environment ephemeral (preview environments, tests): secrets are deleted without a
    /// recovery window, repositories are force-deleted, no final snapshots are taken.
    pub fn ephemeral(mut self, ephemeral: bool) -> Self {
        self.ephemeral = ephemeral;
        self
    }

    /// A user tag put on every resource. Keys starting with `skyforge:` or `aws:` are reserved.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Project name.
    pub fn project_name(&self) -> &str {
        &self.project
    }
    /// Stage.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }
    /// Owner id, if any.
    pub fn owner_id(&self) -> Option<&str> {
        self.owner.as_deref()
    }
    /// Region, if set explicitly.
    pub fn region_name(&self) -> Option<&str> {
        self.region.as_deref()
    }
    /// Whether the environment is ephemeral.
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }
    /// User tags.
    pub fn user_tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// `project-stage` or `project-stage-owner`: the prefix of every derived name.
    pub fn prefix(&self) -> String {
        match &self.owner {
            Some(o) => format!("{}-{}-{}", self.project, self.stage, o),
            None => format!("{}-{}", self.project, self.stage),
        }
    }

    /// Check every field; the error names the field, the value and the rule.
    pub fn validate(&self) -> Result<()> {
        check_segment("environment.project", &self.project, 20)?;
        if RESERVED.contains(&self.project.as_str()) {
            return Err(Error::validation(
                "environment.project",
                &self.project,
                format!(
                    "is reserved (derived names would be illegal for some AWS service): {}",
                    RESERVED.join(", ")
                ),
            ));
        }
        if let Stage::Named(n) = &self.stage {
            check_segment("environment.stage", n, 12)?;
        }
        if let Some(o) = &self.owner {
            check_segment("environment.owner", o, 16)?;
        }
        if let Some(r) = &self.region {
            let ok = !r.is_empty()
                && r.split('-').count() >= 3
                && r.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !ok {
                return Err(Error::validation(
                    "environment.region",
                    r,
                    "must look like an AWS region (us-east-1)",
                ));
            }
        }
        crate::tags::validate_user_tags(&self.tags)?;
        Ok(())
    }
}
