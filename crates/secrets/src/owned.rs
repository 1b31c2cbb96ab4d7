//! Secrets and parameters as orphan listers: what carries the stack's ownership tags but is no
//! longer declared is deleted by the next apply (a secret with its recovery window, at once in an
//! ephemeral stage). Both hold data, so outside an ephemeral stage their deletion needs an
//! explicit allowance (`--allow-destroy secret.ID`); a `String` parameter does not.

use async_trait::async_trait;
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::{Context, Guard, Owned, OwnedKind, ResourceId, Result, Stack};

use crate::parameter::KIND_PARAMETER;
use crate::secret::KIND_SECRET;

/// Recovery window of a secret deleted as an orphan (the longest AWS allows).
pub const ORPHAN_RECOVERY_DAYS: i64 = 30;

/// Register the secret and parameter kinds with `stack` (the components do it; a tool that may
/// drop every secret from its spec calls it itself).
pub fn register_kinds(stack: &mut Stack) {
    stack.own_kind(SecretsKind);
    stack.own_kind(ParametersKind);
}

/// Secrets Manager secrets, listed by tag (every page); physical id: the ARN.
struct SecretsKind;

#[async_trait]
impl OwnedKind for SecretsKind {
    fn kind(&self) -> &'static str {
        KIND_SECRET
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::secret::SECRET_PERMISSIONS
                .for_orphans_listed_by(&["secretsmanager:ListSecrets"]),
        )
    }
    fn service(&self) -> &'static str {
        "secretsmanager"
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let secrets = crate::listing::secrets(ctx).await?;
        Ok(secrets
            .iter()
            .filter_map(|s| {
                let t: Tags = s
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                Some(Owned::new(tags::owned_logical_id(&t, ctx.env())?, s.arn()?))
            })
            .collect())
    }
    async fn holds_data(&self, _: &Context, _: &Owned) -> Result<bool> {
        Ok(true)
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_SECRET, owned.logical_id.clone());
        let days = ORPHAN_RECOVERY_DAYS;
        crate::secret::delete_secret(ctx, guard, &rid, &owned.physical_id, days).await
    }
}

/// SSM parameters, listed by tag (every page); physical id: the name. `secure` is kept so that
/// only `SecureString` parameters count as holding data.
struct ParametersKind;

#[async_trait]
impl OwnedKind for ParametersKind {
    fn kind(&self) -> &'static str {
        KIND_PARAMETER
    }
    fn permissions(&self) -> Option<Permissions> {
        Some(
            crate::parameter::PARAMETER_PERMISSIONS.for_orphans_listed_by(&[
                "ssm:DescribeParameters",
                "ssm:ListTagsForResource",
                skyforge_core::tag_index::ACTION,
            ]),
        )
    }
    fn service(&self) -> &'static str {
        "ssm"
    }
    fn listing_may_lag(&self) -> bool {
        true
    }
    async fn list(&self, ctx: &Context) -> Result<Vec<Owned>> {
        let params = crate::listing::listed(ctx).await?;
        let mut found = Vec::new();
        for p in params.iter() {
            let Some(name) = p.name() else { continue };
            // Deleted since the listing (by another run): nothing to own.
            let Some(t) = crate::listing::tags_of(ctx, "ssm_parameter.*", name).await? else {
                continue;
            };
            if let Some(l) = tags::owned_logical_id(&t, ctx.env()) {
                let secure = p.r#type() == Some(&aws_sdk_ssm::types::ParameterType::SecureString);
                found.push(Owned::new(l, name).with("secure", secure.to_string()));
            }
        }
        Ok(found)
    }
    async fn holds_data(&self, _: &Context, owned: &Owned) -> Result<bool> {
        Ok(owned.get("secure") == "true")
    }
    async fn delete(&self, ctx: &Context, owned: &Owned, guard: &Guard) -> Result<()> {
        let rid = ResourceId::new(KIND_PARAMETER, owned.logical_id.clone());
        crate::parameter::delete_parameter(ctx, guard, &rid, &owned.physical_id).await
    }
}
