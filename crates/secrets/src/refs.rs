//! Typed references to secrets for ECS task definitions and the IAM policy of the execution
//! role that reads them.

use skyforge_core::{Context, Error, Inputs, NodeId, Ref, ResourceId, Result};

use crate::value::SecretString;

/// Which store a reference points into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SecretKind {
    /// Secrets Manager.
    SecretsManager,
    /// SSM Parameter Store.
    Parameter,
}

/// A reference to a secret value that ECS injects into a container (never as plain text in the
/// task definition).
#[derive(Debug, Clone, PartialEq)]
pub struct SecretRef {
    kind: SecretKind,
    node: NodeId,
    arn: Ref<String>,
    json_key: Option<String>,
}

impl SecretRef {
    pub(crate) fn new(
        kind: SecretKind,
        node: NodeId,
        arn: Ref<String>,
        json_key: Option<String>,
    ) -> Self {
        SecretRef {
            kind,
            node,
            arn,
            json_key,
        }
    }
    /// The store.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }
    /// The node holding the secret (a task definition depends on it).
    pub fn node(&self) -> NodeId {
        self.node
    }
    /// The secret's or parameter's ARN.
    pub fn arn(&self) -> Ref<String> {
        self.arn
    }
    /// The JSON key, for a reference to one key of a JSON secret.
    pub fn json_key(&self) -> Option<&str> {
        self.json_key.as_deref()
    }
    /// The `valueFrom` of an ECS secret: the ARN, or `arn:KEY::` for one JSON key. `None` while
    /// the secret is not created.
    pub fn value_from(&self, inputs: &Inputs) -> Option<String> {
        let arn = inputs.get(&self.arn)?;
        Some(match &self.json_key {
            Some(k) => format!("{arn}:{k}::"),
            None => arn,
        })
    }
    /// The version of the secret or parameter referred to (a new value makes a new version).
    pub fn version(&self) -> Ref<serde_json::Value> {
        Ref::new(
            self.node,
            match self.kind {
                SecretKind::SecretsManager => "version_id",
                SecretKind::Parameter => "version",
            },
        )
    }
    /// The IAM action reading it.
    pub fn read_action(&self) -> &'static str {
        match self.kind {
            SecretKind::SecretsManager => "secretsmanager:GetSecretValue",
            SecretKind::Parameter => "ssm:GetParameters",
        }
    }
}

/// Read the value `r` refers to (one key of a JSON secret, or the whole value), for a call that
/// needs it (a database's master password). Errors name the reference, never the value.
pub async fn read_secret(
    ctx: &Context,
    rid: &ResourceId,
    r: &SecretRef,
    inputs: &Inputs,
) -> Result<SecretString> {
    let arn = inputs.require(&r.arn, rid)?;
    let whole = match r.kind {
        SecretKind::SecretsManager => crate::secret::client(ctx)
            .get_secret_value()
            .secret_id(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "GetSecretValue", e))?
            .secret_string()
            .map(SecretString::new),
        SecretKind::Parameter => crate::parameter::client(ctx)
            .get_parameter()
            .name(&arn)
            .with_decryption(true)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "GetParameter", e))?
            .parameter()
            .and_then(|p| p.value())
            .map(SecretString::new),
    };
    let whole = whole.ok_or_else(|| Error::Resource {
        resource: rid.to_string(),
        message: format!("{arn} has no string value"),
    })?;
    let Some(key) = &r.json_key else {
        return Ok(whole);
    };
    let v = serde_json::from_str::<serde_json::Value>(whole.expose())
        .ok()
        .and_then(|o| o.get(key)?.as_str().map(SecretString::new));
    v.ok_or_else(|| Error::Resource {
        resource: rid.to_string(),
        message: format!("{arn} is not a JSON object with the string key {key}"),
    })
}
