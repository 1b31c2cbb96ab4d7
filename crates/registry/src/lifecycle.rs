//! Lifecycle policies: which images ECR expires.

use serde_json::json;
use skyforge_core::{Error, Result};

/// Which images a rule selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagStatus {
    /// Images with a tag starting with one of these prefixes.
    Tagged(Vec<String>),
    /// Images without a tag.
    Untagged,
    /// Every image (must be the last rule).
    Any,
}

/// When selected images expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// Beyond the newest N.
    MoreThan(u32),
    /// Pushed more than N days ago.
    SinceDays(u32),
}

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleRule {
    /// What the rule is for.
    pub description: String,
    /// Which images.
    pub tag_status: TagStatus,
    /// When they expire.
    pub count: Count,
}

/// A lifecycle policy: rules in priority order.
///
/// ```
/// use skyforge_registry::Lifecycle;
/// // One of the source systems: untagged images go after 7 days, the last 10 images stay.
/// let policy = Lifecycle::new().expire_untagged_after_days(7).keep_last(10);
/// assert!(policy.to_json().unwrap().contains("imageCountMoreThan"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lifecycle {
    rules: Vec<LifecycleRule>,
}

impl Lifecycle {
    /// No rules yet.
    pub fn new() -> Lifecycle {
        Lifecycle::default()
    }
    /// Add a rule (after the ones already there).
    pub fn rule(mut self, rule: LifecycleRule) -> Lifecycle {
        self.rules.push(rule);
        self
    }
    /// Expire untagged images `days` after they were pushed.
    pub fn expire_untagged_after_days(self, days: u32) -> Lifecycle {
        self.rule(LifecycleRule {
            description: format!("Expire untagged images after {days} days"),
            tag_status: TagStatus::Untagged,
            count: Count::SinceDays(days),
        })
    }
    /// Keep the newest `n` images of any tag (must be the last rule).
    pub fn keep_last(self, n: u32) -> Lifecycle {
        self.rule(LifecycleRule {
            description: format!("Keep the last {n} images"),
            tag_status: TagStatus::Any,
            count: Count::MoreThan(n),
        })
    }
    /// The rules.
    pub fn rules(&self) -> &[LifecycleRule] {
        &self.rules
    }

    /// Check the rules the way ECR does, before any API call.
    pub fn validate(&self, field: &str) -> Result<()> {
        if self.rules.is_empty() {
            return Err(Error::validation(
                field,
                "[]",
                "a lifecycle policy needs at least one rule",
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            let f = format!("{field}.rules[{i}]");
            let n = match r.count {
                Count::MoreThan(n) | Count::SinceDays(n) => n,
            };
            if n == 0 {
                return Err(Error::validation(
                    format!("{f}.count"),
                    "0",
                    "the count must be at least 1",
                ));
            }
            if r.tag_status == TagStatus::Any && i + 1 != self.rules.len() {
                return Err(Error::validation(
                    format!("{f}.tag_status"),
                    "any",
                    "a rule selecting any image must come last (ECR evaluates it with the lowest priority)",
                ));
            }
            if let TagStatus::Tagged(p) = &r.tag_status
                && (p.is_empty() || p.iter().any(String::is_empty))
            {
                return Err(Error::validation(
                    format!("{f}.tag_status"),
                    format!("{p:?}"),
                    "a rule on tagged images needs non-empty tag prefixes",
                ));
            }
            if r.description.len() > 255 {
                return Err(Error::validation(
                    format!("{f}.description"),
                    format!("{} characters", r.description.len()),
                    "at most 255 characters",
                ));
            }
            if let Some(j) = self.rules[..i]
                .iter()
                .position(|o| o.tag_status == r.tag_status && o.count == r.count)
            {
                return Err(Error::validation(
                    f,
                    format!("{:?} {:?}", r.tag_status, r.count),
                    format!("repeats rules[{j}]"),
                ));
            }
        }
        Ok(())
    }

    /// The policy document.
    pub fn document(&self) -> serde_json::Value {
        let rules: Vec<serde_json::Value> = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut selection = match &r.tag_status {
                    TagStatus::Tagged(p) => json!({"tagStatus": "tagged", "tagPrefixList": p}),
                    TagStatus::Untagged => json!({"tagStatus": "untagged"}),
                    TagStatus::Any => json!({"tagStatus": "any"}),
                };
                match r.count {
                    Count::MoreThan(n) => {
                        selection["countType"] = json!("imageCountMoreThan");
                        selection["countNumber"] = json!(n);
                    }
                    Count::SinceDays(n) => {
                        selection["countType"] = json!("sinceImagePushed");
                        selection["countUnit"] = json!("days");
                        selection["countNumber"] = json!(n);
                    }
                }
                json!({
                    "rulePriority": i + 1,
                    "description": r.description,
                    "selection": selection,
                    "action": {"type": "expire"}
                })
            })
            .collect();
        json!({ "rules": rules })
    }

    /// The policy as ECR takes it.
    pub fn to_json(&self) -> Result<String> {
        self.validate("lifecycle")?;
        Ok(self.document().to_string())
    }
}
