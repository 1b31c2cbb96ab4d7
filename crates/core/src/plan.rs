//! Plans: what `apply` will do, as a typed, serialisable value.
//!
//! A [`Plan`] lists, per resource, one [`Action`]: create, update (with field diffs), replace
//! (with the reason), delete or nothing. Values not known before apply are
//! [`Value::Unknown`]; sensitive values are [`Value::Sensitive`] and are never rendered or
//! serialised. `Display` reads like `terraform plan`; the JSON form is documented in
//! `docs/plan-format.md` and versioned by [`Plan::FORMAT_VERSION`].

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use serde::de::{self, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// Identity of a resource in a stack: its kind (`vpc`, `security_group_rule`) and logical id
/// (`main`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceId {
    /// Resource kind, one flat snake-case word per AWS resource type (`vpc`, `subnet`,
    /// `security_group_rule`, `secret`).
    pub kind: String,
    /// Logical id, unique per kind within a stack.
    pub logical_id: String,
}

impl ResourceId {
    /// A resource id.
    pub fn new(kind: impl Into<String>, logical_id: impl Into<String>) -> Self {
        ResourceId {
            kind: kind.into(),
            logical_id: logical_id.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.logical_id)
    }
}

/// A field value in a plan.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A known value.
    Known(serde_json::Value),
    /// Known only after apply (an id AWS assigns, an output of a resource still to be created).
    Unknown,
    /// A sensitive value. The fingerprint lets two sensitive values be compared in memory; it is
    /// never displayed nor serialised. An empty fingerprint means "present, content unknown".
    Sensitive(String),
}

impl Value {
    /// A known string.
    pub fn str(s: impl Into<String>) -> Self {
        Value::Known(serde_json::Value::String(s.into()))
    }
    /// A known value from anything serialisable (`Null` if it cannot be serialised), its object
    /// keys sorted: plans render and serialise the same whether or not some dependency turned on
    /// serde_json's `preserve_order` (aws-smithy-mocks does, in test builds).
    pub fn of<T: Serialize>(v: T) -> Self {
        Value::Known(canonical(
            serde_json::to_value(v).unwrap_or(serde_json::Value::Null),
        ))
    }
    /// A sensitive value. Its fingerprint (SHA-256 of the secret under a fixed domain key,
    /// shortened) only lets two sensitive values be compared in memory: it is never displayed
    /// nor serialised, so no plan file or output carries anything derived from the secret.
    pub fn sensitive(secret: &str) -> Self {
        Value::Sensitive(crate::naming::short_hash(&["skyforge-sensitive", secret]))
    }
    /// The known JSON value, if any.
    pub fn known(&self) -> Option<&serde_json::Value> {
        match self {
            Value::Known(v) => Some(v),
            _ => None,
        }
    }
}

/// `v` with the keys of every object in sorted order.
fn canonical(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut entries: Vec<_> = m.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            serde_json::Value::Object(entries.into_iter().collect())
        }
        serde_json::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(canonical).collect())
        }
        other => other,
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Known(v) => write!(f, "{v}"),
            Value::Unknown => f.write_str("(known after apply)"),
            Value::Sensitive(_) => f.write_str("(sensitive value)"),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Value::Known(v) => m.serialize_entry("value", v)?,
            Value::Unknown => m.serialize_entry("unknown", &true)?,
            Value::Sensitive(_) => m.serialize_entry("sensitive", &true)?,
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        if let Some(v) = m.get("value") {
            Ok(Value::Known(v.clone()))
        } else if m.contains_key("unknown") {
            Ok(Value::Unknown)
        } else if m.contains_key("sensitive") {
            Ok(Value::Sensitive(String::new()))
        } else {
            Err(de::Error::custom(
                "expected one of `value`, `unknown`, `sensitive`",
            ))
        }
    }
}

/// One changed field: old and new value (`None` when absent on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldDiff {
    /// Field name (`cidr_block`, `tags`).
    pub field: String,
    /// Value now, `None` when the field is not set.
    pub old: Option<Value>,
    /// Value after apply, `None` when the field will be unset.
    pub new: Option<Value>,
    /// Whether this change forces the resource to be replaced.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub forces_replacement: bool,
    /// How AWS applies it, when that is not simply "now" (`at the next maintenance window,
    /// with downtime`, `now, with a reboot`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What apply will do to one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// Create the resource with these field values.
    Create {
        /// Field values of the new resource.
        fields: BTreeMap<String, Value>,
    },
    /// Change fields in place.
    Update {
        /// The changed fields.
        diffs: Vec<FieldDiff>,
    },
    /// Replace: a new resource, the old one deleted (before or after, see `order`).
    Replace {
        /// Why (the fields that force it, or the replaced resource it must follow).
        reason: String,
        /// All changed fields.
        diffs: Vec<FieldDiff>,
        /// Whether the old resource goes before the new one is created or after.
        #[serde(default)]
        order: ReplaceOrder,
        /// The replaced resources whose new identity forces this one to be replaced too (it
        /// is dragged along: destroyed before them, recreated after them).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        dragged_by: Vec<ResourceId>,
    },
    /// Delete the resource.
    Delete,
    /// Run an action (see [`crate::actions`]): its trigger changed since its last run.
    Run {
        /// The trigger: last run's value and the new one.
        trigger: FieldDiff,
    },
    /// Nothing to do.
    #[serde(rename = "no_op")]
    NoOp,
}

impl Action {
    /// The symbol `terraform plan` would show.
    pub fn symbol(&self) -> &'static str {
        match self {
            Action::Create { .. } => "+",
            Action::Update { .. } => "~",
            Action::Replace { .. } => "-/+",
            Action::Delete => "-",
            Action::Run { .. } => ">",
            Action::NoOp => " ",
        }
    }
    /// Whether applying it makes any mutating call.
    pub fn is_change(&self) -> bool {
        !matches!(self, Action::NoOp)
    }
}

/// A change AWS accepted but applies later: shown in the plan, never sent again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    /// The field.
    pub field: String,
    /// The value it will have.
    pub value: Value,
    /// When it applies (`at the next maintenance window`).
    pub applies: String,
}

/// The order of a replacement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaceOrder {
    /// Destroy phase first (dependents that cannot survive it go before it, in reverse order),
    /// then the new resource is created in the forward phase. The only order possible when the
    /// new resource would clash with the old one (a fixed name, an overlapping CIDR block).
    #[default]
    DestroyBeforeCreate,
    /// The new resource is created first (under a fresh name), dependents move to it, then the
    /// old one is deleted: no moment without the resource.
    CreateBeforeDestroy,
}

impl ReplaceOrder {
    /// As shown in the plan text.
    pub fn describe(self) -> &'static str {
        match self {
            ReplaceOrder::DestroyBeforeCreate => "destroy before create",
            ReplaceOrder::CreateBeforeDestroy => "create before destroy",
        }
    }
}

/// A change the plan refuses to make without an explicit allowance: the deletion or replacement
/// of a resource holding data (a database, a cache, a secret, a repository with images) outside
/// an ephemeral stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The protected resource.
    pub resource: ResourceId,
    /// `destroy` or `replace`.
    pub action: String,
    /// What it holds and how to allow the change.
    pub message: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.resource, self.message)
    }
}

/// A warning shown with the plan (a security downgrade, a costly choice).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// The resource concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<ResourceId>,
    /// What is weakened and why it matters.
    pub message: String,
}

/// The plan of one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourcePlan {
    /// Which resource.
    pub id: ResourceId,
    /// Its physical id (ARN, `vpc-...`, name) when it exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    /// The AWS service its calls go to (the executor's concurrency bucket).
    pub service: String,
    /// Resources it depends on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ResourceId>,
    /// Owned by the stack (by its tags) but no longer declared: planned for deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphan: bool,
    /// Holds data and the stage is not ephemeral: deleting or replacing it needs an explicit
    /// allowance (`allow_destroy`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protected: bool,
    /// Exists but is not ready, in this state: apply waits for it before the dependents that
    /// need it ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<String>,
    /// Changes AWS accepted that apply later; not sent again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingChange>,
    /// What apply does.
    #[serde(flatten)]
    pub action: Action,
}

/// Counts of a plan's actions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Resources to create.
    pub add: usize,
    /// Resources to update in place.
    pub change: usize,
    /// Resources to replace.
    pub replace: usize,
    /// Resources to delete.
    pub destroy: usize,
    /// Actions to run.
    #[serde(default)]
    pub run: usize,
    /// Resources unchanged.
    pub unchanged: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} to add, {} to change, {} to replace, {} to destroy",
            self.add, self.change, self.replace, self.destroy
        )?;
        if self.run > 0 {
            write!(f, ", {} to run", self.run)?;
        }
        f.write_str(".")
    }
}

/// Whether a plan converges the stack or tears it down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanMode {
    /// Make AWS match the spec.
    Apply,
    /// Delete everything the stack owns.
    Destroy,
}

/// A plan: a pure function of (spec, observed state).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// JSON format version ([`Plan::FORMAT_VERSION`]).
    pub format_version: u32,
    /// Stack name (`alva-staging`).
    pub stack: String,
    /// Apply or destroy.
    pub mode: PlanMode,
    /// Digest of the spec the plan was made for; apply refuses a plan whose digest differs.
    pub spec_digest: String,
    /// Per resource, in dependency order.
    pub resources: Vec<ResourcePlan>,
    /// Warnings (security downgrades).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<Warning>,
    /// Changes refused without an allowance; apply refuses a plan that has any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<Refusal>,
    /// Action counts.
    pub summary: Summary,
    /// What observation found, for apply; not serialised (a plan read back from JSON is
    /// re-observed at apply time and refused if the world changed).
    #[serde(skip)]
    pub(crate) observed: BTreeMap<ResourceId, crate::resource::Observed>,
    /// What the listing found of each orphan (its kind and listing), for apply; not serialised.
    #[serde(skip)]
    pub(crate) orphans: BTreeMap<ResourceId, (String, crate::owned::Owned)>,
    /// Made by this process's `plan` (not read back from JSON): its observations are at hand.
    #[serde(skip)]
    pub(crate) observed_here: bool,
}

impl Plan {
    /// Version of the JSON form documented in `docs/plan-format.md`.
    pub const FORMAT_VERSION: u32 = 2;

    /// A plan over `resources`; the summary is computed.
    pub fn new(
        stack: impl Into<String>,
        mode: PlanMode,
        spec_digest: impl Into<String>,
        resources: Vec<ResourcePlan>,
        warnings: Vec<Warning>,
    ) -> Self {
        let summary = Plan::summarize(&resources);
        Plan {
            format_version: Plan::FORMAT_VERSION,
            stack: stack.into(),
            mode,
            spec_digest: spec_digest.into(),
            resources,
            warnings,
            refused: Vec::new(),
            summary,
            observed: BTreeMap::new(),
            orphans: BTreeMap::new(),
            observed_here: false,
        }
    }

    /// Count the actions of `resources`.
    pub fn summarize(resources: &[ResourcePlan]) -> Summary {
        let mut s = Summary::default();
        for r in resources {
            match r.action {
                Action::Create { .. } => s.add += 1,
                Action::Update { .. } => s.change += 1,
                Action::Replace { .. } => s.replace += 1,
                Action::Delete => s.destroy += 1,
                Action::Run { .. } => s.run += 1,
                Action::NoOp => s.unchanged += 1,
            }
        }
        s
    }

    /// Whether the plan refuses a change (see [`Plan::refused`]): apply will not run it.
    pub fn is_refused(&self) -> bool {
        !self.refused.is_empty()
    }

    /// Whether apply would make any change.
    pub fn has_changes(&self) -> bool {
        self.resources.iter().any(|r| r.action.is_change())
    }

    /// The plan of one resource.
    pub fn get(&self, id: &ResourceId) -> Option<&ResourcePlan> {
        self.resources.iter().find(|r| &r.id == id)
    }

    /// The JSON form (pretty-printed).
    pub fn to_json(&self) -> String {
        // Serialising these types cannot fail: every map key is a string.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn write_fields<'a>(
    out: &mut String,
    rows: impl Iterator<Item = (&'a str, &'a str, String, Option<String>)>,
) {
    let rows: Vec<_> = rows.collect();
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    for (sym, name, val, comment) in rows {
        let _ = write!(out, "      {sym} {name:<width$} = {val}");
        if let Some(c) = comment {
            let _ = write!(out, " # {c}");
        }
        out.push('\n');
    }
}

/// The comment after a changed field: whether it forces replacement, and how AWS applies it.
fn diff_comment(d: &FieldDiff) -> Option<String> {
    match (d.forces_replacement, &d.note) {
        (true, Some(n)) => Some(format!("forces replacement; {n}")),
        (true, None) => Some("forces replacement".into()),
        (false, Some(n)) => Some(format!("applies {n}")),
        (false, None) => None,
    }
}

fn render_diff(d: &FieldDiff) -> (&'static str, String) {
    match (&d.old, &d.new) {
        (None, Some(n)) => ("+", n.to_string()),
        (Some(o), None) => ("-", format!("{o} -> null")),
        (Some(o), Some(n)) => ("~", format!("{o} -> {n}")),
        (None, None) => ("~", "null".into()),
    }
}

/// The resources apply will wait for, and the changes AWS holds for later.
fn render_waits(out: &mut String, resources: &[ResourcePlan]) {
    let waiting: Vec<&ResourcePlan> = resources.iter().filter(|r| r.not_ready.is_some()).collect();
    if !waiting.is_empty() {
        out.push_str(
            "Not ready yet (apply waits for them before the dependents that need them):\n",
        );
        for r in waiting {
            let state = r.not_ready.as_deref().unwrap_or_default();
            let _ = writeln!(out, "  ~ {} is {state}", r.id);
        }
        out.push('\n');
    }
    let pending: Vec<&ResourcePlan> = resources.iter().filter(|r| !r.pending.is_empty()).collect();
    if !pending.is_empty() {
        out.push_str("Pending (accepted by AWS, applied later; not sent again):\n");
        for r in pending {
            for p in &r.pending {
                let _ = writeln!(
                    out,
                    "  ~ {}: {} = {} ({})",
                    r.id, p.field, p.value, p.applies
                );
            }
        }
        out.push('\n');
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::new();
        for r in &self.refused {
            let _ = writeln!(out, "Error: {r}");
        }
        if !self.refused.is_empty() {
            out.push('\n');
        }
        let changes: Vec<&ResourcePlan> = self
            .resources
            .iter()
            .filter(|r| r.action.is_change())
            .collect();
        if changes.is_empty() {
            let _ = writeln!(
                out,
                "No changes. Stack {} matches the spec ({} resources).",
                self.stack, self.summary.unchanged
            );
        } else {
            let _ = writeln!(
                out,
                "Stack {} ({}): skyforge will perform the following actions:\n",
                self.stack,
                match self.mode {
                    PlanMode::Apply => "apply",
                    PlanMode::Destroy => "destroy",
                }
            );
            for r in changes {
                let what = match &r.action {
                    Action::Create { .. } => "will be created".to_string(),
                    Action::Update { .. } => "will be updated in-place".to_string(),
                    Action::Replace { reason, order, .. } => {
                        format!("must be replaced ({reason}; {})", order.describe())
                    }
                    Action::Delete if r.orphan => {
                        "will be destroyed (owned by the stack, no longer declared)".to_string()
                    }
                    Action::Delete => "will be destroyed".to_string(),
                    Action::Run { .. } => "will run (its trigger changed)".to_string(),
                    Action::NoOp => String::new(),
                };
                let held = if r.protected { " [holds data]" } else { "" };
                let _ = writeln!(out, "  # {} {what}{held}", r.id);
                let pid = r
                    .physical_id
                    .as_deref()
                    .map(|p| format!(" ({p})"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:>3} resource \"{}\" \"{}\"{pid} {{",
                    r.action.symbol(),
                    r.id.kind,
                    r.id.logical_id
                );
                match &r.action {
                    Action::Create { fields } => write_fields(
                        &mut out,
                        fields
                            .iter()
                            .map(|(k, v)| ("+", k.as_str(), v.to_string(), None)),
                    ),
                    Action::Update { diffs } | Action::Replace { diffs, .. } => write_fields(
                        &mut out,
                        diffs.iter().map(|d| {
                            let (sym, val) = render_diff(d);
                            (sym, d.field.as_str(), val, diff_comment(d))
                        }),
                    ),
                    Action::Run { trigger } => {
                        let (sym, val) = render_diff(trigger);
                        write_fields(&mut out, std::iter::once((sym, "trigger", val, None)));
                    }
                    Action::Delete | Action::NoOp => {}
                }
                out.push_str("    }\n\n");
            }
        }
        render_waits(&mut out, &self.resources);
        if !self.warnings.is_empty() {
            out.push_str("Warnings:\n");
            for w in &self.warnings {
                match &w.resource {
                    Some(id) => {
                        let _ = writeln!(out, "  ! {id}: {}", w.message);
                    }
                    None => {
                        let _ = writeln!(out, "  ! {}", w.message);
                    }
                }
            }
            out.push('\n');
        }
        let _ = write!(out, "Plan: {}", self.summary);
        f.write_str(&out)
    }
}
