//! The generated policies against the stack's own resources: what a deploy policy grants, and
//! every declared write evaluated on the node's ARN and on another stack's.

use serde_json::Value;
use skyforge_core::{ApplyReport, Stack};
use skyforge_iam::deploy::{ArnContext, resource_type_of, writes_against};
use skyforge_iam::eval::{Request, allows};
use skyforge_integration_tests::TestStack;

const TAG: &str = "aws:ResourceTag/skyforge:stack";
const REQUEST_TAG: &str = "aws:RequestTag/skyforge:stack";

pub fn arn_context(t: &TestStack) -> ArnContext {
    ArnContext::new(t.ctx.region(), skyforge_integration_tests::ACCOUNT)
}

/// Whether some statement of `policy` names `action`.
pub fn granted(policy: &Value, action: &str) -> bool {
    skyforge_iam::eval::names_action(policy, action)
}

/// Reads (`Get*`, `Describe*`, `List*`) are granted account-wide by design.
fn is_read(action: &str) -> bool {
    let verb = action.split(':').nth(1).unwrap_or_default();
    ["Get", "Describe", "List"]
        .iter()
        .any(|v| verb.starts_with(v))
}

/// Every write each node declares, on the node's ARN (from `report`) with the stack's tag: all
/// allowed by `policy`; on the same ARN renamed to another stack's, with its tag: all denied,
/// but for reads and the actions AWS authorizes only against `*`. Returns how many writes were
/// checked.
pub fn writes_are_scoped(stack: &Stack, policy: &Value, report: &ApplyReport) -> usize {
    let name = stack.name();
    let env = stack.env();
    let theirs = |arn: &str| {
        let flat = format!("{}-{}", env.project_name(), env.stage());
        let path = format!("{}/{}", env.project_name(), env.stage());
        arn.replace(&flat, "intruder-prod")
            .replace(&path, "intruder/prod")
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for d in stack.declarations(skyforge_integration_tests::ACCOUNT) {
        let Some(id) = &d.id else { continue };
        let outputs = report.resources.get(&id.to_string());
        let Some(arn) = outputs.and_then(|o| o.get("arn")).and_then(|a| a.as_str()) else {
            continue;
        };
        let Some(rt) = resource_type_of(arn) else {
            continue;
        };
        for (action, creates) in writes_against(&d, rt) {
            let mut ours = Request::new(action, arn).with(TAG, &name);
            if creates {
                ours = ours.with(REQUEST_TAG, &name);
            }
            if !allows(policy, &ours) {
                failures.push(format!("{id}: {action} on {arn} denied"));
            }
            let other = theirs(arn);
            let intruder = Request::new(action, &other).with(TAG, "intruder-prod");
            let anywhere = allows(policy, &Request::new(action, "*")) || is_read(action);
            if !anywhere && allows(policy, &intruder.with(REQUEST_TAG, "intruder-prod")) {
                failures.push(format!("{id}: {action} on {other} allowed"));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
    checked
}
