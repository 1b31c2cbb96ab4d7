//! Policy documents: statements whose resources may be other nodes' outputs (a secret's ARN),
//! rendered once those are known.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use skyforge_core::{Input, Inputs, NodeId, Ref};

/// What a statement applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// One ARN, literal or another node's output.
    Arn(Input<String>),
    /// Another node's ARN output followed by `suffix` (`:*` for a log group's streams, `/*`
    /// for a bucket's objects).
    Under(Ref<String>, String),
    /// Every resource (`"*"`): only where AWS offers nothing narrower, with the reason, which
    /// the policy's docs repeat.
    Any(&'static str),
}

impl Target {
    fn dependency(&self) -> Option<NodeId> {
        match self {
            Target::Arn(i) => i.dependency(),
            Target::Under(r, _) => Some(r.node()),
            Target::Any(_) => None,
        }
    }
    fn render(&self, inputs: &Inputs) -> Option<String> {
        match self {
            Target::Arn(i) => i.resolve(inputs),
            Target::Under(r, suffix) => inputs.get(r).map(|a: String| format!("{a}{suffix}")),
            Target::Any(_) => Some("*".into()),
        }
    }
}

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `Allow`.
    Allow,
    /// `Deny`.
    Deny,
}

/// One statement: an effect, actions, what they apply to and conditions.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) sid: Option<String>,
    pub(crate) effect: Effect,
    pub(crate) actions: Vec<String>,
    pub(crate) targets: Vec<Target>,
    pub(crate) conditions: Vec<(String, String, Vec<Input<String>>)>,
}

impl Statement {
    /// Allow `actions` (`service:Action`); give what they apply to with [`Statement::on`].
    pub fn allow<S: Into<String>>(actions: impl IntoIterator<Item = S>) -> Statement {
        Statement {
            sid: None,
            effect: Effect::Allow,
            actions: actions.into_iter().map(Into::into).collect(),
            targets: Vec::new(),
            conditions: Vec::new(),
        }
    }
    /// Deny `actions`.
    pub fn deny<S: Into<String>>(actions: impl IntoIterator<Item = S>) -> Statement {
        Statement {
            effect: Effect::Deny,
            ..Statement::allow(actions)
        }
    }
    /// Apply to the ARN `arn` (a literal or another node's output).
    pub fn on(mut self, arn: impl Into<Input<String>>) -> Statement {
        self.targets.push(Target::Arn(arn.into()));
        self
    }
    /// Apply to what is under another node's ARN output (`arn` + `suffix`).
    pub fn under(mut self, arn: Ref<String>, suffix: impl Into<String>) -> Statement {
        self.targets.push(Target::Under(arn, suffix.into()));
        self
    }
    /// Apply to every resource, where AWS has no narrower resource for the actions
    /// (`ecr:GetAuthorizationToken`); `reason` says so.
    pub fn on_any(mut self, reason: &'static str) -> Statement {
        self.targets.push(Target::Any(reason));
        self
    }
    /// Add the condition `operator` / `key` / `values` (`StringEquals`, `aws:SourceAccount`).
    pub fn when<V: Into<Input<String>>>(
        mut self,
        operator: impl Into<String>,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Statement {
        self.conditions.push((
            operator.into(),
            key.into(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }
    /// Name the statement (`Sid`).
    pub fn sid(mut self, sid: impl Into<String>) -> Statement {
        self.sid = Some(sid.into());
        self
    }
    /// The actions.
    pub fn actions(&self) -> &[String] {
        &self.actions
    }
    /// What it applies to.
    pub fn targets(&self) -> &[Target] {
        &self.targets
    }
    /// The nodes whose outputs it reads.
    pub fn dependencies(&self) -> Vec<NodeId> {
        let conds = self.conditions.iter().flat_map(|(_, _, v)| v);
        self.targets
            .iter()
            .filter_map(Target::dependency)
            .chain(conds.filter_map(Input::dependency))
            .collect()
    }
    fn conditions_json(&self, inputs: &Inputs) -> Option<Value> {
        let mut by_op: BTreeMap<&str, serde_json::Map<String, Value>> = BTreeMap::new();
        for (op, key, values) in &self.conditions {
            let vals: Option<Vec<String>> = values.iter().map(|v| v.resolve(inputs)).collect();
            by_op
                .entry(op)
                .or_default()
                .insert(key.clone(), json!(vals?));
        }
        Some(json!(by_op))
    }
    /// The statement as JSON, `None` while an ARN or condition value it reads is unknown.
    pub fn render(&self, inputs: &Inputs, principal: Option<&Value>) -> Option<Value> {
        let mut st = serde_json::Map::new();
        if let Some(s) = &self.sid {
            st.insert("Sid".into(), json!(s));
        }
        let effect = match self.effect {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        };
        st.insert("Effect".into(), json!(effect));
        if let Some(p) = principal {
            st.insert("Principal".into(), p.clone());
        }
        st.insert("Action".into(), json!(self.actions));
        if !self.targets.is_empty() {
            let arns: Option<Vec<String>> = self.targets.iter().map(|t| t.render(inputs)).collect();
            st.insert("Resource".into(), json!(arns?));
        }
        if !self.conditions.is_empty() {
            st.insert("Condition".into(), self.conditions_json(inputs)?);
        }
        Some(normalise(&Value::Object(st)))
    }
}

/// A policy document: statements in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PolicyDocument {
    pub(crate) statements: Vec<Statement>,
}

impl PolicyDocument {
    /// A document of `statements`.
    pub fn new(statements: impl IntoIterator<Item = Statement>) -> PolicyDocument {
        PolicyDocument {
            statements: statements.into_iter().collect(),
        }
    }
    /// Add a statement.
    pub fn push(&mut self, s: Statement) {
        self.statements.push(s);
    }
    /// The statements.
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }
    /// The nodes whose outputs it reads.
    pub fn dependencies(&self) -> Vec<NodeId> {
        self.statements
            .iter()
            .flat_map(Statement::dependencies)
            .collect()
    }
    /// The document as JSON, `None` while an ARN it names is unknown.
    pub fn render(&self, inputs: &Inputs) -> Option<Value> {
        let st: Option<Vec<Value>> = self
            .statements
            .iter()
            .map(|s| s.render(inputs, None))
            .collect();
        Some(normalise(
            &json!({"Version": "2012-10-17", "Statement": st?}),
        ))
    }
}

/// One canonical form of a statement or document, so that what IAM returns compares equal to
/// what was sent: a single action or resource becomes a one-element list, lists are sorted and
/// deduplicated, and condition values likewise.
pub fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            // Keys sorted, whether or not serde_json preserves insertion order in this build.
            let mut entries: Vec<(String, Value)> = m
                .iter()
                .map(|(k, x)| {
                    let x = match k.as_str() {
                        "Action" | "NotAction" | "Resource" | "NotResource" => sorted_list(x),
                        _ => normalise(x),
                    };
                    (k.clone(), x)
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        other => other.clone(),
    }
    .pipe_conditions()
}

trait PipeConditions {
    fn pipe_conditions(self) -> Value;
}

impl PipeConditions for Value {
    /// Condition values (`{"StringEquals": {"k": "v"}}`) as sorted lists.
    fn pipe_conditions(mut self) -> Value {
        if let Some(Value::Object(ops)) = self.get_mut("Condition") {
            for keys in ops.values_mut() {
                if let Value::Object(keys) = keys {
                    for v in keys.values_mut() {
                        *v = sorted_list(v);
                    }
                }
            }
        }
        self
    }
}

fn sorted_list(v: &Value) -> Value {
    let mut items: Vec<Value> = match v {
        Value::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    items.sort_by_key(|x| x.to_string());
    items.dedup();
    Value::Array(items)
}

/// Decode a document as IAM returns it (URL-encoded JSON).
pub fn parse_document(doc: &str) -> Value {
    let decoded = percent_decode(doc);
    serde_json::from_str::<Value>(&decoded)
        .map(|v| normalise(&v))
        .unwrap_or(Value::String(decoded))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_action_and_a_list_compare_equal() {
        let a = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["b", "a", "a"]});
        let b = json!({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["a", "b"]});
        assert_eq!(normalise(&a), normalise(&b));
    }

    #[test]
    fn documents_are_decoded() {
        let doc = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            parse_document(doc),
            json!({"Version": "2012-10-17", "Statement": []})
        );
        assert_eq!(parse_document("100%"), Value::String("100%".into()));
    }

    #[test]
    fn an_unknown_arn_leaves_the_document_unknown() {
        let mut stack = skyforge_core::Stack::new(skyforge_core::Environment::new(
            "shop",
            skyforge_core::Stage::Staging,
        ));
        let r = crate::current_account(&mut stack);
        let doc = PolicyDocument::new([Statement::allow(["logs:PutLogEvents"]).under(r, ":*")]);
        assert_eq!(doc.render(&Inputs::none()), None);
        assert_eq!(doc.dependencies(), vec![r.node()]);
        let known = Inputs::none().with(&r, "arn:aws:logs:x:1:log-group:/g".to_string());
        let v = doc.render(&known).unwrap();
        assert_eq!(
            v["Statement"][0]["Resource"],
            json!(["arn:aws:logs:x:1:log-group:/g:*"])
        );
    }

    #[test]
    fn conditions_group_by_operator() {
        let s = Statement::allow(["sts:AssumeRole"])
            .when("StringEquals", "aws:SourceAccount", ["1"])
            .when("ArnLike", "aws:SourceArn", ["arn:aws:ecs:*"]);
        let v = s.render(&Inputs::none(), None).unwrap();
        assert_eq!(
            v["Condition"]["StringEquals"]["aws:SourceAccount"],
            json!(["1"])
        );
        assert_eq!(
            v["Condition"]["ArnLike"]["aws:SourceArn"],
            json!(["arn:aws:ecs:*"])
        );
    }
}
