//! Evaluating an identity policy for one request, the way IAM does for the parts skyforge's
//! policies use: `Action` and `Resource` with `*` and `?` wildcards, `NotAction` absent, and the
//! condition operators `StringEquals`, `StringLike`, `StringEqualsIfExists` and
//! `ForAllValues:StringEquals` (any other operator never holds). An explicit deny wins.

use std::collections::BTreeMap;

use serde_json::Value;

/// One request: an action on a resource, with its condition context (`aws:ResourceTag/k`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    /// `rds:CreateDBInstance`.
    pub action: &'a str,
    /// The resource's ARN, or `*` for an action AWS authorizes only against `*`.
    pub resource: &'a str,
    /// The condition keys present in the request, with their values.
    pub context: BTreeMap<String, String>,
}

impl<'a> Request<'a> {
    /// `action` on `resource`, with no condition key.
    pub fn new(action: &'a str, resource: &'a str) -> Self {
        Request {
            action,
            resource,
            context: BTreeMap::new(),
        }
    }
    /// With the condition key `key` set to `value`.
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.context.insert(key.into(), value.into());
        self
    }
}

/// Whether `document` allows `request`.
pub fn allows(document: &Value, request: &Request<'_>) -> bool {
    let statements = match &document["Statement"] {
        Value::Array(a) => a.clone(),
        s @ Value::Object(_) => vec![s.clone()],
        _ => Vec::new(),
    };
    let matching: Vec<&Value> = statements.iter().filter(|s| applies(s, request)).collect();
    let denied = matching.iter().any(|s| s["Effect"] == "Deny");
    !denied && matching.iter().any(|s| s["Effect"] == "Allow")
}

/// Whether some Allow statement of `document` names `action` itself (no wildcard), on whatever
/// resource: what a check of calls against a generated policy asks first.
pub fn names_action(document: &Value, action: &str) -> bool {
    let statements = document["Statement"].as_array().into_iter().flatten();
    statements
        .filter(|s| s["Effect"] == "Allow")
        .any(|s| strings(&s["Action"]).contains(&action))
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn applies(statement: &Value, request: &Request<'_>) -> bool {
    let action = strings(&statement["Action"]).iter().any(|p| {
        glob(
            &p.to_ascii_lowercase(),
            &request.action.to_ascii_lowercase(),
        )
    });
    let resource = strings(&statement["Resource"])
        .iter()
        .any(|p| glob(p, request.resource));
    action && resource && conditions_hold(&statement["Condition"], request)
}

fn conditions_hold(conditions: &Value, request: &Request<'_>) -> bool {
    let Some(ops) = conditions.as_object() else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, values)| {
                let present = request
                    .context
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v.as_str());
                holds(op, present, &strings(values))
            })
        })
    })
}

fn holds(op: &str, present: Option<&str>, values: &[&str]) -> bool {
    match (op, present) {
        ("StringEqualsIfExists", None) | ("ForAllValues:StringEquals", None) => true,
        ("StringEquals" | "StringEqualsIfExists" | "ForAllValues:StringEquals", Some(v)) => {
            values.contains(&v)
        }
        ("StringLike", Some(v)) => values.iter().any(|p| glob(p, v)),
        _ => false,
    }
}

/// `*` matches any run of characters, `?` any one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> Value {
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["ec2:Describe*"], "Resource": ["*"]},
            {"Effect": "Allow", "Action": ["rds:DeleteDBInstance"],
             "Resource": ["arn:aws:rds:us-east-1:1:db:alva-staging-main"]},
            {"Effect": "Allow", "Action": ["ec2:DeleteSubnet"],
             "Resource": ["arn:aws:ec2:us-east-1:1:subnet/*"],
             "Condition": {"StringEquals": {"aws:ResourceTag/skyforge:stack": ["alva-staging"]}}},
            {"Effect": "Deny", "Action": ["rds:DeleteDBInstance"],
             "Resource": ["arn:aws:rds:us-east-1:1:db:*-prod-*"]}
        ]})
    }

    #[test]
    fn actions_and_resources_match_with_wildcards() {
        assert!(allows(&doc(), &Request::new("ec2:DescribeVpcs", "*")));
        assert!(allows(&doc(), &Request::new("EC2:describevpcs", "*")));
        assert!(!allows(&doc(), &Request::new("ec2:CreateVpc", "*")));
        let db = "arn:aws:rds:us-east-1:1:db:alva-staging-main";
        assert!(allows(&doc(), &Request::new("rds:DeleteDBInstance", db)));
        let other = "arn:aws:rds:us-east-1:1:db:alva-staging-main2";
        assert!(!allows(
            &doc(),
            &Request::new("rds:DeleteDBInstance", other)
        ));
    }

    #[test]
    fn conditions_need_their_key_with_a_listed_value() {
        let subnet = "arn:aws:ec2:us-east-1:1:subnet/subnet-1";
        let ours = Request::new("ec2:DeleteSubnet", subnet)
            .with("aws:ResourceTag/skyforge:stack", "alva-staging");
        assert!(allows(&doc(), &ours));
        let theirs = Request::new("ec2:DeleteSubnet", subnet)
            .with("aws:ResourceTag/skyforge:stack", "alva-prod");
        assert!(!allows(&doc(), &theirs));
        assert!(!allows(&doc(), &Request::new("ec2:DeleteSubnet", subnet)));
    }

    #[test]
    fn an_explicit_deny_wins() {
        let mut d = doc();
        d["Statement"][1]["Resource"] = json!(["arn:aws:rds:us-east-1:1:db:*"]);
        let prod = "arn:aws:rds:us-east-1:1:db:alva-prod-main";
        assert!(!allows(&d, &Request::new("rds:DeleteDBInstance", prod)));
    }

    #[test]
    fn an_action_is_named_by_an_allow_statement() {
        assert!(names_action(&doc(), "rds:DeleteDBInstance"));
        assert!(names_action(&doc(), "ec2:DeleteSubnet"));
        assert!(
            !names_action(&doc(), "ec2:DescribeVpcs"),
            "named only by a wildcard"
        );
        assert!(!names_action(&doc(), "s3:GetObject"));
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("secret:x-??????", "secret:x-AbCdEf"));
        assert!(!glob("secret:x-??????", "secret:x-AbCdE"));
        assert!(glob("*", ""));
        assert!(!glob("a*b", "ac"));
    }
}
