//! The account the stack deploys into, as a data source: bucket names, log-delivery paths and
//! the confused-deputy conditions of trust policies need it, and a plan reads it once (STS
//! `GetCallerIdentity`).

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::{
    Context, Environment, Error, FieldDiff, Fields, Guard, Inputs, Observed, Ref, Resource,
    ResourceId, Result, Stack,
};

/// Resource kind `aws_account` (a data source).
pub const KIND_ACCOUNT: &str = "aws_account";

struct AccountNode;

/// The account of the credentials `ctx` uses (`sts:GetCallerIdentity`, which needs no
/// permission).
pub async fn caller_account(ctx: &Context) -> Result<String> {
    let out = ctx
        .client(aws_sdk_sts::Client::new)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            Error::aws(
                ResourceId::new(KIND_ACCOUNT, "current"),
                "GetCallerIdentity",
                e,
            )
        })?;
    Ok(out.account().unwrap_or_default().to_string())
}

/// The account id, read once per stack: every crate asking gets the same data-source node.
pub fn current_account(stack: &mut Stack) -> Ref<String> {
    let node = stack
        .find(&ResourceId::new(KIND_ACCOUNT, "current"))
        .unwrap_or_else(|| stack.add_resource(AccountNode));
    Ref::new(node, "account_id")
}

/// `sts:GetCallerIdentity` needs no permission.
pub(crate) const ACCOUNT_PERMISSIONS: Permissions = Permissions::NONE;

#[async_trait]
impl Resource for AccountNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(ACCOUNT_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_ACCOUNT, "current")
    }
    fn service(&self) -> &'static str {
        "sts"
    }
    fn read_only(&self) -> bool {
        true
    }
    fn desired(&self, _: &Environment, _: &Inputs) -> Fields {
        Fields::new()
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let account = caller_account(ctx).await?;
        let mut o = Observed {
            physical_id: account.clone(),
            ..Observed::default()
        };
        o.outputs.insert("account_id".into(), account.into());
        Ok(Some(o))
    }
    async fn create(&self, _: &Context, _: &Inputs, _: &Guard) -> Result<Observed> {
        Err(Error::not_updatable(&self.id(), "account"))
    }
    async fn update(
        &self,
        _: &Context,
        _: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        _: &Guard,
    ) -> Result<Observed> {
        Err(Error::not_updatable(&self.id(), "account"))
    }
    async fn delete(&self, _: &Context, _: &Observed, _: &Guard) -> Result<()> {
        Ok(())
    }
}
