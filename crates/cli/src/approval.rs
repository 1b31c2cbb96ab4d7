//! Confirmation before changes: `yes` typed on a terminal, `--auto-approve` for CI, and a second
//! confirmation, even under `--auto-approve`, for a plan that broadens access (CDK's
//! `--require-approval broadening`), unless `--require-approval never`.

use std::collections::BTreeSet;
use std::io::IsTerminal;

use clap::ValueEnum;
use skyforge::core::{Action, FieldDiff, Plan, ResourcePlan, Value};
use skyforge::state::Review;

use crate::{Command, Error, Options};

/// When a plan that broadens access needs a person's `yes` even under `--auto-approve`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum RequireApproval {
    /// A plan that opens ingress to the internet, adds IAM permissions or makes a resource
    /// public is confirmed on a terminal, and refused without one.
    #[default]
    Broadening,
    /// `--auto-approve` covers every change.
    Never,
}

/// Peers that mean "anyone on the internet".
const OPEN_PEERS: [&str; 2] = ["cidr:0.0.0.0/0", "cidr:::/0"];

/// The new value of `field` in `r`'s plan: from a create's fields, or a change's diffs.
fn new_value<'a>(r: &'a ResourcePlan, field: &str) -> Option<&'a Value> {
    match &r.action {
        Action::Create { fields } => fields.get(field),
        Action::Update { diffs } | Action::Replace { diffs, .. } => diffs
            .iter()
            .find(|d| d.field == field)
            .and_then(|d| d.new.as_ref()),
        _ => None,
    }
}

fn known_str<'a>(r: &'a ResourcePlan, field: &str) -> Option<&'a str> {
    new_value(r, field)?.known()?.as_str()
}

/// The IAM actions a policy value allows (every `Action` of every `Allow` statement, in any
/// nesting: a map of named documents or one document).
fn allowed_actions(v: &serde_json::Value, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("Effect").and_then(|e| e.as_str()) == Some("Allow") {
                match m.get("Action") {
                    Some(serde_json::Value::String(a)) => {
                        out.insert(a.clone());
                    }
                    Some(serde_json::Value::Array(a)) => {
                        out.extend(a.iter().filter_map(|x| x.as_str()).map(String::from));
                    }
                    _ => {}
                }
            }
            m.values().for_each(|x| allowed_actions(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| allowed_actions(x, out)),
        serde_json::Value::String(s) => {
            // A document kept as JSON text.
            if let Ok(doc) = serde_json::from_str::<serde_json::Value>(s)
                && doc.is_object()
            {
                allowed_actions(&doc, out);
            }
        }
        _ => {}
    }
}

fn actions_of(v: Option<&Value>) -> Option<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    allowed_actions(v?.known()?, &mut out);
    Some(out)
}

/// What an IAM role's change grants that it did not before.
fn role_grants(r: &ResourcePlan) -> Option<String> {
    let policy_fields = ["policies", "managed_policies", "assume_role_policy"];
    match &r.action {
        Action::Create { fields } => {
            let actions = actions_of(fields.get("policies"));
            Some(match actions {
                Some(a) if !a.is_empty() => format!("a new role allowed {}", join(&a)),
                Some(_) => "a new role".to_string(),
                None => "a new role with permissions known after apply".to_string(),
            })
        }
        Action::Update { diffs } | Action::Replace { diffs, .. } => {
            let changed: Vec<&FieldDiff> = diffs
                .iter()
                .filter(|d| policy_fields.contains(&d.field.as_str()))
                .collect();
            let policies = changed.iter().find(|d| d.field == "policies");
            let added = policies.and_then(|d| {
                let new = actions_of(d.new.as_ref())?;
                let old = actions_of(d.old.as_ref()).unwrap_or_default();
                Some(new.difference(&old).cloned().collect::<BTreeSet<_>>())
            });
            match added {
                Some(a) if !a.is_empty() => Some(format!("newly allowed {}", join(&a))),
                // Only narrowed: nothing broadens.
                Some(_) if changed.len() == 1 => None,
                _ if changed.is_empty() => None,
                _ => Some(format!(
                    "{} change",
                    changed
                        .iter()
                        .map(|d| d.field.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        _ => None,
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// The changes of `plan` that broaden access, one line each (`security_group_rule.x: ingress
/// from cidr:0.0.0.0/0 on tcp 443`): ingress opened to the internet, IAM permissions added, a
/// load balancer or database made reachable from the internet.
pub fn broadening(plan: &Plan) -> Vec<String> {
    plan.resources
        .iter()
        .filter(|r| r.action.is_change())
        .filter_map(|r| Some(format!("{}: {}", r.id, broadens(r)?)))
        .collect()
}

fn broadens(r: &ResourcePlan) -> Option<String> {
    match r.id.kind.as_str() {
        "security_group_rule" => {
            let peer = known_str(r, "peer")?;
            let ingress = known_str(r, "direction").is_none_or(|d| d == "ingress");
            (ingress && OPEN_PEERS.contains(&peer)).then(|| {
                let port = new_value(r, "from_port")
                    .and_then(Value::known)
                    .map(|p| format!(" on port {p}"))
                    .unwrap_or_default();
                format!("ingress from {peer}{port}")
            })
        }
        "iam_role" => role_grants(r),
        "load_balancer" => (known_str(r, "scheme") == Some("internet-facing"))
            .then(|| "reachable from the internet".to_string()),
        "db_instance" => {
            let public = new_value(r, "publicly_accessible")
                .and_then(Value::known)
                .and_then(|v| v.as_bool());
            (public == Some(true)).then(|| "publicly accessible".to_string())
        }
        _ => None,
    }
}

/// Proceed with `plan`? At once when it changes nothing or `--auto-approve` covers it, else when
/// the person at the terminal types `yes`.
pub(crate) fn review(plan: &Plan, opts: &Options) -> Review {
    if !plan.has_changes() {
        return Review::Proceed;
    }
    let wider = broadening(plan);
    let must_ask = !opts.auto_approve
        || (opts.require_approval == RequireApproval::Broadening && !wider.is_empty());
    if !must_ask {
        return Review::Proceed;
    }
    if !wider.is_empty() {
        println!("This plan broadens access:");
        for w in &wider {
            println!("  {w}");
        }
    }
    if !std::io::stdin().is_terminal() {
        eprintln!(
            "error: the plan broadens access and there is no terminal to confirm it: review it, then rerun with --require-approval never"
        );
        return Review::Stop;
    }
    print!("Do you want to perform these actions? Only 'yes' will be accepted: ");
    let _ = std::io::Write::flush(&mut std::io::stdout());
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_ok() && answer.trim() == "yes" {
        Review::Proceed
    } else {
        Review::Stop
    }
}

/// Refuse a run that would need a confirmation nobody can give (no terminal, no
/// `--auto-approve`), before any API call.
pub(crate) fn check_approval(opts: &Options) -> Result<(), Error> {
    // A saved plan was reviewed when it was made (`plan --out`): applying it asks nothing.
    let saved = opts.plan_file.is_some();
    let mutating = match opts.command {
        Command::Apply => !saved,
        Command::Destroy | Command::Deploy => true,
        _ => false,
    };
    if mutating && !opts.auto_approve && !std::io::stdin().is_terminal() {
        return Err("apply, destroy and deploy ask for confirmation on a terminal; there is none here: pass --auto-approve (CI) or run it on a terminal".into());
    }
    Ok(())
}
