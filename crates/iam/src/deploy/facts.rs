//! What the IAM Service Authorization Reference says of the actions skyforge calls: the
//! resource types each is authorized against, and which tag conditions those support. The data
//! (`src/deploy/actions.json`) is extracted by `scripts/iam-facts.py`.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde_json::Value;

/// One resource type an action is authorized against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Row {
    /// `service:type` (`ec2:subnet`).
    pub resource_type: String,
    /// The request always names a resource of this type.
    pub required: bool,
    /// `aws:RequestTag` can condition it (the action creates it with tags).
    pub request_tag: bool,
    /// `aws:ResourceTag` can condition it.
    pub resource_tag: bool,
}

/// The reference's facts about one action.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ActionFacts {
    /// The resource types; none means the action is authorized only against `*`.
    pub rows: Vec<Row>,
    /// An action with no resource type whose request tags can be conditioned (`kms:CreateKey`).
    pub request_tag_without_type: bool,
}

impl ActionFacts {
    /// Whether a request always names a resource of some type.
    pub fn has_required_row(&self) -> bool {
        self.rows.iter().any(|r| r.required)
    }
}

pub(crate) struct Facts {
    pub source: String,
    types: BTreeMap<String, String>,
    actions: BTreeMap<String, ActionFacts>,
}

static FACTS: LazyLock<Facts> = LazyLock::new(|| {
    let v: Value = serde_json::from_str(include_str!("actions.json"))
        .expect("src/deploy/actions.json is valid JSON");
    Facts::from_json(&v)
});

pub(crate) fn facts() -> &'static Facts {
    &FACTS
}

impl Facts {
    fn from_json(v: &Value) -> Facts {
        let types = v["types"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, t)| (k.clone(), t.as_str().unwrap_or_default().to_string()))
            .collect();
        let actions = v["actions"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(action, rows)| (action.clone(), action_facts(action, rows)))
            .collect();
        Facts {
            source: v["source"].as_str().unwrap_or_default().to_string(),
            types,
            actions,
        }
    }

    /// The facts of `action` (`ec2:CreateVpc`), `None` when the data does not have it.
    pub fn action(&self, action: &str) -> Option<&ActionFacts> {
        self.actions.get(action)
    }

    /// The ARN of `name` of `resource_type`: the type's ARN format up to its first variable,
    /// followed by `name`; `None` for a type the data does not have.
    pub fn arn(&self, resource_type: &str, at: &super::ArnContext, name: &str) -> Option<String> {
        let format = self.types.get(resource_type)?;
        let filled = format
            .replace("${Partition}", &at.partition)
            .replace("${Region}", &at.region)
            .replace("${Account}", &at.account);
        let fixed = filled.find("${").map_or(filled.as_str(), |i| &filled[..i]);
        Some(format!("{fixed}{name}"))
    }

    /// The type `arn` is of: the one whose ARN format matches it with the longest fixed part.
    /// Types of other services sharing the format (`sts:role`) do not count.
    pub fn type_of(&self, arn: &str) -> Option<&str> {
        let service = arn.split(':').nth(2).unwrap_or_default();
        self.types
            .iter()
            .filter(|(t, _)| t.split(':').next() == Some(service))
            .filter(|(_, format)| crate::eval::glob(&pattern(format), arn))
            .max_by_key(|(_, format)| format.len() - format.matches("${").count() * 3)
            .map(|(t, _)| t.as_str())
    }
}

/// An ARN format with every variable a wildcard (`arn:*:rds:*:*:db:*`).
fn pattern(format: &str) -> String {
    let mut out = String::new();
    let mut rest = format;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        out.push('*');
        rest = rest[i..].find('}').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

fn action_facts(action: &str, rows: &Value) -> ActionFacts {
    let service = action.split(':').next().unwrap_or_default();
    let mut out = ActionFacts::default();
    for (rtype, flags) in rows.as_object().into_iter().flatten() {
        let flags = flags.as_str().unwrap_or_default();
        if rtype.is_empty() {
            out.request_tag_without_type = flags.contains('R');
            continue;
        }
        out.rows.push(Row {
            resource_type: format!("{service}:{rtype}"),
            required: flags.contains('!'),
            request_tag: flags.contains('R'),
            resource_tag: flags.contains('T'),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_data_loads_with_the_actions_skyforge_calls() {
        let f = facts();
        assert!(f.source.contains("Service Authorization Reference"));
        let subnet = f.action("ec2:CreateSubnet").unwrap();
        let created = subnet.rows.iter().find(|r| r.resource_type == "ec2:subnet");
        assert!(created.is_some_and(|r| r.required && r.request_tag));
        assert!(f.action("ec2:DescribeVpcs").unwrap().rows.is_empty());
        assert!(f.action("kms:CreateKey").unwrap().request_tag_without_type);
        assert!(f.action("ec2:NoSuchAction").is_none());
    }

    #[test]
    fn arns_keep_the_fixed_part_of_the_format_and_append_the_name() {
        let at = super::super::ArnContext::new("us-east-1", "123456789012");
        let f = facts();
        assert_eq!(
            f.arn("secretsmanager:Secret", &at, "alva/staging/x-??????")
                .unwrap(),
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:alva/staging/x-??????"
        );
        assert_eq!(
            f.arn("s3:bucket", &at, "alva-staging-logs").unwrap(),
            "arn:aws:s3:::alva-staging-logs"
        );
        assert_eq!(
            f.arn("iam:role", &at, "alva-staging-api").unwrap(),
            "arn:aws:iam::123456789012:role/alva-staging-api"
        );
        assert!(f.arn("nosuch:type", &at, "x").is_none());
    }

    #[test]
    fn an_arn_is_of_the_type_whose_format_matches_it_most_closely() {
        let f = facts();
        let of = |arn: &str| f.type_of(arn);
        assert_eq!(of("arn:aws:rds:us-east-1:1:db:alva-main"), Some("rds:db"));
        assert_eq!(
            of("arn:aws:ecs:us-east-1:1:task-definition/x:3"),
            Some("ecs:task-definition")
        );
        assert_eq!(of("arn:aws:ecs:us-east-1:1:task/c/0abc"), Some("ecs:task"));
        assert_eq!(of("arn:aws:iam::1:role/alva-api"), Some("iam:role"));
        assert_eq!(of("arn:aws:s3:::alva-logs"), Some("s3:bucket"));
        assert_eq!(of("not an arn"), None);
    }
}
