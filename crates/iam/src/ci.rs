//! The CI identity of a stack: GitHub Actions' OIDC provider (shared by the account) and three
//! roles its workflows assume without stored keys, each limited to given repositories and to
//! branches, pull requests or environments, with a policy made from the stack
//! ([`crate::deploy`]) as customer managed policies:
//!
//! The stack is `<stack>-ci` (its own state, lock and ownership tag), so the roles are
//! `<stack>-ci-plan`, `<stack>-ci-deploy` and `<stack>-ci-release`.
//!
//! - `ci-plan`: reads and the state (plan on pull requests and pushes to the branches);
//! - `ci-deploy`: everything plan, apply and destroy call (jobs of the environments);
//! - `ci-release`: deploy, migrate, rollback and the image push (jobs of the environments).

use skyforge_core::{Error, Ref, Result, Stack};

use crate::managed::{MAX_MANAGED_CHARS, ManagedPolicy};
use crate::oidc::{GITHUB_ISSUER, OidcProvider, STS_AUDIENCE};
use crate::policy::PolicyDocument;
use crate::{Role, Trust};

/// How many managed policies a role attaches (IAM's default quota).
pub const MAX_ATTACHED: usize = 10;

/// The three policies of a stack's CI roles.
#[derive(Debug, Clone)]
pub struct CiPolicies {
    /// What `plan` needs.
    pub plan: Vec<PolicyDocument>,
    /// What `plan`, `apply` and `destroy` need.
    pub deploy: Vec<PolicyDocument>,
    /// What `deploy`, `migrate`, `rollback` and the image push need.
    pub release: Vec<PolicyDocument>,
}

/// Who may assume the roles.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GithubSubjects {
    /// `owner/name` of each repository.
    pub repositories: Vec<String>,
    /// Branches whose workflows may plan (`main`).
    pub branches: Vec<String>,
    /// Environments whose jobs may deploy and release (`prod`): GitHub holds such jobs for
    /// the environment's reviewers.
    pub environments: Vec<String>,
}

impl GithubSubjects {
    /// Check names before any call: repositories `owner/name`, no empty or wildcard-only
    /// branch or environment, and somewhere to deploy from.
    pub fn validate(&self) -> Result<()> {
        let word = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
        if self.repositories.is_empty() {
            return Err(Error::validation(
                "ci.repositories",
                "(none)",
                "at least one",
            ));
        }
        for r in &self.repositories {
            let ok = r.split_once('/').is_some_and(|(o, n)| {
                !o.is_empty() && !n.is_empty() && (o.chars().chain(n.chars())).all(word)
            });
            if !ok {
                return Err(Error::validation(
                    "ci.repositories",
                    r,
                    "`owner/name` (letters, digits, `-_.`)",
                ));
            }
        }
        for (field, names) in [
            ("ci.branches", &self.branches),
            ("ci.environments", &self.environments),
        ] {
            if let Some(n) = names
                .iter()
                .find(|n| n.is_empty() || n.chars().all(|c| c == '*'))
            {
                return Err(Error::validation(field, n, "a name, not empty or only `*`"));
            }
        }
        if self.environments.is_empty() {
            return Err(Error::validation(
                "ci.environments",
                "(none)",
                "at least one GitHub environment to deploy from (its reviewers approve applies)",
            ));
        }
        Ok(())
    }

    fn plan_subjects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.repositories {
            out.push(format!("repo:{r}:pull_request"));
            out.extend(
                self.branches
                    .iter()
                    .map(|b| format!("repo:{r}:ref:refs/heads/{b}")),
            );
        }
        out
    }

    fn environment_subjects(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.repositories {
            out.extend(
                self.environments
                    .iter()
                    .map(|e| format!("repo:{r}:environment:{e}")),
            );
        }
        out
    }
}

/// The ARNs of the three roles.
#[derive(Debug, Clone)]
pub struct CiRoles {
    /// `ci-plan`.
    pub plan: Ref<String>,
    /// `ci-deploy`.
    pub deploy: Ref<String>,
    /// `ci-release`.
    pub release: Ref<String>,
}

/// Add the provider, the managed policies and the three roles to `stack` (a stack of its
/// own, applied by an administrator, as CDK's bootstrap is), with sessions of at most
/// `max_session_secs`.
pub fn add_ci_identity(
    stack: &mut Stack,
    who: &GithubSubjects,
    policies: CiPolicies,
    max_session_secs: u32,
) -> Result<CiRoles> {
    who.validate()?;
    let provider = stack.add(OidcProvider::github());
    let trust = |subjects: Vec<String>| {
        Trust::web_identity(provider.arn())
            .when(
                "StringEquals",
                format!("{GITHUB_ISSUER}:aud"),
                [STS_AUDIENCE],
            )
            .when("StringLike", format!("{GITHUB_ISSUER}:sub"), subjects)
    };
    let mut role = |name: &str, subjects: Vec<String>, docs: Vec<PolicyDocument>, what: &str| {
        if docs.len() > MAX_ATTACHED {
            return Err(Error::validation(
                format!("ci.{name}.policies"),
                format!(
                    "{} managed policies of {MAX_MANAGED_CHARS} characters",
                    docs.len()
                ),
                format!("a role attaches at most {MAX_ATTACHED} (IAM's default quota)"),
            ));
        }
        let arns = docs
            .into_iter()
            .enumerate()
            .map(|(i, d)| {
                let p = ManagedPolicy::new(format!("{name}-{}", i + 1), d)
                    .description(format!("skyforge CI {name} ({what}), part {}", i + 1));
                stack.add(p).arn().into()
            })
            .collect();
        let r = Role::builder()
            .logical_id(name)
            .trust(trust(subjects))
            .description(format!("skyforge CI: {what}"))
            .managed_policies(arns)
            .max_session_secs(max_session_secs)
            .build()?;
        Ok(stack.add(r).arn())
    };
    Ok(CiRoles {
        plan: role("plan", who.plan_subjects(), policies.plan, "plan")?,
        deploy: role(
            "deploy",
            who.environment_subjects(),
            policies.deploy,
            "plan, apply, destroy",
        )?,
        release: role(
            "release",
            who.environment_subjects(),
            policies.release,
            "deploy, migrate, rollback, image push",
        )?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who() -> GithubSubjects {
        GithubSubjects {
            repositories: vec!["acme/alva".into()],
            branches: vec!["main".into()],
            environments: vec!["prod".into()],
        }
    }

    #[test]
    fn subjects_name_the_repository_and_its_branches_pull_requests_or_environments() {
        assert_eq!(
            who().plan_subjects(),
            [
                "repo:acme/alva:pull_request",
                "repo:acme/alva:ref:refs/heads/main"
            ]
        );
        assert_eq!(
            who().environment_subjects(),
            ["repo:acme/alva:environment:prod"]
        );
    }

    #[test]
    fn bad_subjects_are_refused_naming_the_field() {
        let mut w = who();
        w.repositories = vec!["alva".into()];
        assert!(
            w.validate()
                .unwrap_err()
                .to_string()
                .contains("ci.repositories")
        );
        let mut w = who();
        w.environments = vec!["*".into()];
        assert!(
            w.validate()
                .unwrap_err()
                .to_string()
                .contains("ci.environments")
        );
        let mut w = who();
        w.environments.clear();
        assert!(
            w.validate()
                .unwrap_err()
                .to_string()
                .contains("at least one GitHub environment")
        );
        assert!(who().validate().is_ok());
    }
}
