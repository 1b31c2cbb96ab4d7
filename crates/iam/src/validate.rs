//! Checks on a role before any API call.

use skyforge_core::{Error, Input, Result, naming};

use crate::policy::{PolicyDocument, Target};
use crate::role::RoleSpec;

/// Inline policy documents of one role together may hold this many characters (IAM quota).
pub const MAX_INLINE_CHARS: usize = 10_240;

fn is_policy_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 128
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

fn is_action(a: &str) -> bool {
    let Some((svc, op)) = a.split_once(':') else {
        return false;
    };
    !svc.is_empty()
        && svc
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !op.is_empty()
        && op.chars().all(|c| c.is_ascii_alphanumeric() || c == '*')
}

pub(crate) fn document(field: &str, doc: &PolicyDocument) -> Result<()> {
    if doc.statements.is_empty() {
        return Err(Error::validation(
            field,
            "[]",
            "a policy needs at least one statement",
        ));
    }
    for (i, st) in doc.statements.iter().enumerate() {
        let f = format!("{field}.statement[{i}]");
        if st.actions.is_empty() {
            return Err(Error::validation(
                &f,
                "[]",
                "a statement names at least one action",
            ));
        }
        if let Some(a) = st.actions.iter().find(|a| !is_action(a)) {
            return Err(Error::validation(
                format!("{f}.action"),
                a,
                "an action is `service:Operation` (a `*` only inside the operation)",
            ));
        }
        if st.targets.is_empty() {
            return Err(Error::validation(
                format!("{f}.resource"),
                "[]",
                "a statement names what it applies to (on, under, or on_any with the reason)",
            ));
        }
        for t in &st.targets {
            if let Target::Arn(Input::Value(v)) = t
                && (v == "*" || !v.starts_with("arn:"))
            {
                return Err(Error::validation(
                    format!("{f}.resource"),
                    v,
                    "an ARN; `*` only through on_any(reason), where AWS offers nothing narrower",
                ));
            }
        }
    }
    Ok(())
}

pub(crate) fn role(spec: &RoleSpec) -> Result<()> {
    naming::validate_logical_id("role.logical_id", &spec.logical_id)?;
    if !(3600..=43_200).contains(&spec.max_session_secs) {
        return Err(Error::validation(
            "role.max_session_secs",
            spec.max_session_secs.to_string(),
            "between 3600 and 43200",
        ));
    }
    if spec.description.len() > 1000 {
        return Err(Error::validation(
            "role.description",
            format!("{} characters", spec.description.len()),
            "at most 1000 characters",
        ));
    }
    for (name, doc) in &spec.policies {
        if !is_policy_name(name) {
            return Err(Error::validation(
                "role.policies",
                name,
                "1 to 128 of letters, digits and +=,.@_-",
            ));
        }
        document(&format!("role.policies.{name}"), doc)?;
    }
    if let Some(a) = spec.managed_policies.iter().find_map(|a| match a {
        Input::Value(a) if !a.starts_with("arn:") || !a.contains(":policy/") => Some(a),
        _ => None,
    }) {
        return Err(Error::validation(
            "role.managed_policies",
            a,
            "a managed policy ARN (`arn:aws:iam::aws:policy/...`)",
        ));
    }
    if spec.managed_policies.len() > 20 {
        return Err(Error::validation(
            "role.managed_policies",
            spec.managed_policies.len().to_string(),
            "at most 20 managed policies per role",
        ));
    }
    Ok(())
}

/// The rendered inline policies' total size against IAM's quota (checked once ARNs are known).
pub(crate) fn inline_size(role: &str, total: usize) -> Result<()> {
    if total > MAX_INLINE_CHARS {
        return Err(Error::validation(
            format!("role.{role}.policies"),
            format!("{total} characters"),
            format!("inline policies of a role hold at most {MAX_INLINE_CHARS} characters"),
        ));
    }
    Ok(())
}
