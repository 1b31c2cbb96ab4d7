//! An OIDC identity provider (GitHub Actions'), one per account and shared by every stack that
//! trusts it: created when absent, adopted when present, never deleted by a stack's destroy.

use std::collections::BTreeSet;

use async_trait::async_trait;
use skyforge_core::tags;
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Permissions, Ref, Resource, ResourceId, Result, Stack, Value,
};

use crate::node::{client, iam_tags};

/// Resource kind `iam_oidc_provider`.
pub const KIND_OIDC_PROVIDER: &str = "iam_oidc_provider";
/// GitHub Actions' token issuer.
pub const GITHUB_ISSUER: &str = "token.actions.githubusercontent.com";
/// The audience GitHub's `aws-actions/configure-aws-credentials` asks tokens for.
pub const STS_AUDIENCE: &str = "sts.amazonaws.com";

/// An OIDC provider trusted for web identities.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProvider {
    logical_id: String,
    host: String,
    audiences: BTreeSet<String>,
}

impl OidcProvider {
    /// GitHub Actions' provider, for the STS audience.
    pub fn github() -> OidcProvider {
        OidcProvider {
            logical_id: "github".into(),
            host: GITHUB_ISSUER.into(),
            audiences: [STS_AUDIENCE.to_string()].into(),
        }
    }
    /// The issuer's host (`token.actions.githubusercontent.com`).
    pub fn host(&self) -> &str {
        &self.host
    }
}

/// The provider in a stack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OidcProviderHandle {
    node: NodeId,
}

impl OidcProviderHandle {
    /// Its ARN, for [`crate::Trust::web_identity`].
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.node, "arn")
    }
}

impl Component for OidcProvider {
    type Handle = OidcProviderHandle;
    fn add_to(self, stack: &mut Stack) -> OidcProviderHandle {
        let account = crate::current_account(stack);
        let node = stack.add_resource(ProviderNode {
            spec: self,
            account,
        });
        OidcProviderHandle { node }
    }
}

struct ProviderNode {
    spec: OidcProvider,
    account: Ref<String>,
}

/// The calls of a provider (no delete: it is shared).
pub(crate) const OIDC_PERMISSIONS: Permissions = Permissions {
    observe: &["iam:GetOpenIDConnectProvider"],
    create: &[
        "iam:CreateOpenIDConnectProvider",
        "iam:TagOpenIDConnectProvider",
    ],
    update: &["iam:AddClientIDToOpenIDConnectProvider"],
    delete: &[],
};

impl ProviderNode {
    fn arn(&self, env: &Environment, account: &str) -> String {
        let at = crate::deploy::ArnContext::new(env.region_name().unwrap_or_default(), account);
        format!(
            "arn:{}:iam::{account}:oidc-provider/{}",
            at.partition, self.spec.host
        )
    }
}

#[async_trait]
impl Resource for ProviderNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(OIDC_PERMISSIONS)
    }
    fn arn_names(&self, _env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![skyforge_core::ArnName::new(
            "iam:oidc-provider",
            &self.spec.host,
        )]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_OIDC_PROVIDER, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "iam"
    }
    fn shared(&self) -> bool {
        true
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.account.node()]
    }
    fn desired(&self, _env: &Environment, _inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        let url = Value::str(format!("https://{}", self.spec.host));
        f.insert("url".into(), Field::new(url).force_new());
        let aud = Value::of(&self.spec.audiences);
        f.insert("audiences".into(), Field::new(aud));
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let account: String = inputs.require(&self.account, &rid)?;
        let arn = self.arn(ctx.env(), &account);
        let got = client(ctx)
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "GetOpenIDConnectProvider", e));
        let Some(got) = skyforge_core::none_if_aws_code(got, &["NoSuchEntity"])? else {
            return Ok(None);
        };
        // Shared: other stacks' audiences are theirs; only whether ours are there matters.
        let present: BTreeSet<String> = got.client_id_list().iter().cloned().collect();
        let ours: BTreeSet<&String> = self.spec.audiences.intersection(&present).collect();
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        let url = got.url().unwrap_or_default();
        let url = if url.starts_with("https://") {
            url.to_string()
        } else {
            format!("https://{url}")
        };
        o.fields.insert("url".into(), Value::str(url));
        o.fields.insert("audiences".into(), Value::of(ours));
        o.outputs.insert("arn".into(), arn.into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let mut t = tags::Tags::new();
        t.insert(tags::MANAGED_BY.into(), tags::MANAGED_BY_VALUE.into());
        let call = client(ctx)
            .create_open_id_connect_provider()
            .url(format!("https://{}", self.spec.host))
            .set_client_id_list(Some(self.spec.audiences.iter().cloned().collect()))
            .set_tags(Some(iam_tags(t)))
            .send();
        // Another stack may have made it since the plan: then it is adopted.
        guard
            .send(
                "CreateOpenIDConnectProvider",
                &["EntityAlreadyExists"],
                call,
            )
            .await?;
        skyforge_core::observe_again(self, ctx, inputs, "right after creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        for d in diffs {
            if d.field != "audiences" {
                return Err(Error::not_updatable(&self.id(), &d.field));
            }
            let present: BTreeSet<String> = observed
                .fields
                .get("audiences")
                .and_then(|v| v.known())
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            for aud in self.spec.audiences.difference(&present) {
                let call = client(ctx)
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(&observed.physical_id)
                    .client_id(aud)
                    .send();
                guard
                    .send("AddClientIDToOpenIDConnectProvider", &[], call)
                    .await?;
            }
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, _ctx: &Context, _observed: &Observed, _guard: &Guard) -> Result<()> {
        // Never reached from a destroy (shared); kept if a plan ever asks.
        Ok(())
    }
}
