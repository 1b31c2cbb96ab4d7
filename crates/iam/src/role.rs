//! The `Role` builder, its trust, and what its handle gives other crates.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use skyforge_core::{Component, Input, Inputs, NodeId, Ref, Result, Stack};
use typed_builder::TypedBuilder;

use crate::node::RoleNode;
use crate::policy::{PolicyDocument, Statement};

/// Who may assume a role.
#[derive(Debug, Clone, PartialEq)]
pub struct Trust {
    pub(crate) principal: Value,
    pub(crate) statement: Statement,
}

impl Trust {
    /// An AWS service (`ecs-tasks.amazonaws.com`) assumes it.
    pub fn service(service: impl Into<String>) -> Trust {
        Trust {
            principal: json!({"Service": service.into()}),
            statement: Statement::allow(["sts:AssumeRole"]),
        }
    }
    /// A web identity (an OIDC provider's ARN) assumes it with `sts:AssumeRoleWithWebIdentity`;
    /// narrow it with [`Trust::when`] (the token's `sub` and `aud`).
    pub fn web_identity(provider_arn: impl Into<Input<String>>) -> Trust {
        let arn = provider_arn.into();
        Trust {
            principal: json!({"Federated": match &arn {
                Input::Value(v) => Value::String(v.clone()),
                Input::Ref(_) => Value::Null,
            }}),
            statement: Statement::allow(["sts:AssumeRoleWithWebIdentity"]).on(arn),
        }
    }
    /// Only when condition `operator` / `key` holds one of `values` (`StringEquals`,
    /// `aws:SourceAccount`): the confused-deputy guard for service principals.
    pub fn when<V: Into<Input<String>>>(
        mut self,
        operator: impl Into<String>,
        key: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Trust {
        self.statement = self.statement.when(operator, key, values);
        self
    }
    pub(crate) fn dependencies(&self) -> Vec<NodeId> {
        self.statement.dependencies()
    }
    /// The trust policy document, `None` while a value it reads is unknown.
    pub fn render(&self, inputs: &Inputs) -> Option<Value> {
        // A federated principal's ARN travels as the statement's only target so that it can be
        // another node's output; it belongs in `Principal`.
        let mut st = self.statement.render(inputs, Some(&self.principal))?;
        if let Some(obj) = st.as_object_mut()
            && self.principal.get("Federated").is_some()
        {
            let arn = obj
                .remove("Resource")
                .and_then(|r| r[0].as_str().map(String::from));
            obj.insert("Principal".into(), json!({"Federated": arn?}));
        }
        Some(json!({"Version": "2012-10-17", "Statement": [st]}))
    }
}

/// An IAM role: a trust, inline policies by name, and AWS managed policies attached.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Role>))]
pub struct RoleSpec {
    /// Logical id (`api-execution`); the name is `<project>-<stage>-<logical>` (64 at most).
    #[builder(setter(into))]
    pub logical_id: String,
    /// Who may assume it.
    pub trust: Trust,
    /// What it is for (shown in the console).
    #[builder(default, setter(into))]
    pub description: String,
    /// Inline policies by name.
    #[builder(default)]
    pub policies: BTreeMap<String, PolicyDocument>,
    /// ARNs of managed policies to attach: AWS's (`arn:aws:iam::aws:policy/...`) or a
    /// [`crate::ManagedPolicy`]'s ([`crate::ManagedPolicyHandle::arn`]).
    #[builder(default)]
    pub managed_policies: Vec<Input<String>>,
    /// Longest session, in seconds (3600 to 43200); default 3600.
    #[builder(default = 3600)]
    pub max_session_secs: u32,
}

/// A validated role, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Role {
    pub(crate) spec: RoleSpec,
}

impl Role {
    /// Start a role.
    pub fn builder() -> RoleSpecBuilder {
        RoleSpec::builder()
    }
    /// The spec.
    pub fn spec(&self) -> &RoleSpec {
        &self.spec
    }
}

impl From<RoleSpec> for Result<Role> {
    fn from(spec: RoleSpec) -> Self {
        crate::validate::role(&spec)?;
        Ok(Role { spec })
    }
}

/// A role in a stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RoleHandle {
    node: NodeId,
}

impl RoleHandle {
    /// The role node.
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The role's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.node, "arn")
    }
    /// The role's name.
    pub fn name(&self) -> Ref<String> {
        Ref::new(self.node, "name")
    }
}

impl Component for Role {
    type Handle = RoleHandle;
    fn add_to(self, stack: &mut Stack) -> RoleHandle {
        crate::owned::register_kinds(stack);
        let node = stack.add_resource(RoleNode { spec: self.spec });
        RoleHandle { node }
    }
}
