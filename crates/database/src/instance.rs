//! The RDS instance node: observe, create, modify (one `ModifyDBInstance` per apply), wait
//! through RDS's states, delete with protection lifted and a final snapshot.

use async_trait::async_trait;
use aws_sdk_rds::Client;
use aws_sdk_rds::types::{DbInstance, Tag};
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::{
    Context, Environment, Error, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result,
};

use skyforge_secrets::{SecretRef, SecretString};

use crate::fields::{instance_tags, observed_fields, pending};
use crate::spec::{ApplyMode, PostgresSpec};
use crate::status;

/// Resource kind `db_instance`.
pub const KIND_INSTANCE: &str = "db_instance";

/// What the instance takes from the other nodes of the database.
#[derive(Debug, Clone)]
pub(crate) struct Wiring {
    pub(crate) parameter_group: Input<String>,
    pub(crate) subnet_group: Input<String>,
    pub(crate) security_group: Input<String>,
    /// The `password` key of the credentials secret.
    pub(crate) password: SecretRef,
    pub(crate) credentials_version: Ref<String>,
    /// Log groups: created first so RDS exports into groups with a retention.
    pub(crate) log_groups: Vec<NodeId>,
}

pub(crate) struct InstanceNode {
    pub(crate) spec: PostgresSpec,
    pub(crate) wiring: Wiring,
    /// The apply mode in the stack's stage (the diff is pure and gets no environment).
    pub(crate) mode: ApplyMode,
}

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

impl InstanceNode {
    pub(crate) fn identifier(&self, env: &Environment) -> String {
        identifier(&self.spec, env)
    }

    pub(crate) async fn describe(&self, ctx: &Context) -> Result<Option<DbInstance>> {
        describe(ctx, &self.id(), &self.identifier(ctx.env())).await
    }

    fn observed_of(&self, ctx: &Context, inputs: &Inputs, i: &DbInstance) -> Observed {
        let env = ctx.env();
        let tags = self.desired_tags(env, self.password_digest(inputs).as_deref());
        let fields = observed_fields(i, &tags);
        let window = i.preferred_maintenance_window();
        let mut pending = pending(i, window);
        if self.reboots_for_parameters(env) {
            pending.remove("parameter_status");
        }
        let state = i.db_instance_status().unwrap_or("unknown");
        if state == "modifying" {
            for p in pending.values_mut() {
                p.applies = "now (the instance is modifying)".into();
            }
        }
        let mut o = Observed {
            physical_id: i.db_instance_identifier().unwrap_or_default().to_string(),
            fields,
            ready: status::readiness(i),
            pending,
            ..Observed::default()
        };
        status::outputs(i, &mut o.outputs);
        o
    }

    /// `i` observed after a wait, keeping `before`'s fields compared with the plan's inputs
    /// (the password digest).
    fn observed_again(&self, ctx: &Context, i: &DbInstance, before: Observed) -> Observed {
        let mut o = self.observed_of(ctx, &Inputs::none(), i);
        o.fields = before.fields;
        o
    }

    fn reboots_for_parameters(&self, env: &Environment) -> bool {
        self.spec
            .reboot_for_parameters
            .unwrap_or(!env.stage().is_prod())
    }

    pub(crate) async fn master_password(
        &self,
        ctx: &Context,
        inputs: &Inputs,
    ) -> Result<SecretString> {
        skyforge_secrets::read_secret(ctx, &self.id(), &self.wiring.password, inputs).await
    }
}

/// The instance identifier of `spec` in `env`.
pub(crate) fn identifier(spec: &PostgresSpec, env: &Environment) -> String {
    spec.identifier.clone().unwrap_or_else(|| {
        naming::physical_name(env, NameKind::DbInstance, &spec.logical_id).unwrap_or_default()
    })
}

/// DescribeDBInstances of one identifier; `None` when there is none.
pub(crate) async fn describe(
    ctx: &Context,
    rid: &ResourceId,
    identifier: &str,
) -> Result<Option<DbInstance>> {
    let r = client(ctx)
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeDBInstances", e));
    let out = skyforge_core::none_if_aws_code(r, &["DBInstanceNotFound"])?;
    Ok(out.and_then(|o| o.db_instances().first().cloned()))
}

pub(crate) fn rds_tags(t: &skyforge_core::tags::Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The calls of a DB instance; its master password is read from its credentials secret, a protected delete turns deletion protection off and takes a final snapshot (`CreateDBSnapshot`).
pub(crate) const INSTANCE_PERMISSIONS: Permissions = Permissions {
    observe: &["rds:DescribeDBInstances"],
    create: &[
        "rds:CreateDBInstance",
        "rds:AddTagsToResource",
        "secretsmanager:GetSecretValue",
    ],
    update: &[
        "rds:ModifyDBInstance",
        "rds:RebootDBInstance",
        "secretsmanager:GetSecretValue",
        "rds:AddTagsToResource",
        "rds:RemoveTagsFromResource",
    ],
    delete: &[
        "rds:DeleteDBInstance",
        "rds:ModifyDBInstance",
        "rds:CreateDBSnapshot",
    ],
};

#[async_trait]
impl Resource for InstanceNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(INSTANCE_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        let id = self.identifier(env);
        let mut names = vec![
            ArnName::new("rds:db", &id),
            // Final snapshots: `<id>-final-<time>` (crate::delete::final_snapshot_id).
            ArnName::new("rds:snapshot", format!("{id}-final-*")),
        ];
        if let Input::Value(group) = &self.wiring.parameter_group {
            names.push(ArnName::new("rds:pg", group));
        }
        names
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_INSTANCE, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "rds"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = [
            self.wiring.parameter_group.dependency(),
            self.wiring.subnet_group.dependency(),
            self.wiring.security_group.dependency(),
            Some(self.wiring.password.node()),
        ]
        .into_iter()
        .flatten()
        .collect();
        d.extend(self.wiring.log_groups.iter().copied());
        d
    }
    async fn holds_data(&self, _: &Context, _: &Observed) -> Result<bool> {
        Ok(true)
    }
    fn warnings(&self, env: &Environment) -> Vec<String> {
        crate::warnings::of(&self.spec, env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        self.desired_fields(env, inputs)
    }
    fn diff(&self, desired: &Fields, observed: &Observed) -> skyforge_core::Action {
        self.diff_instance(desired, observed)
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(i) = self.describe(ctx).await? else {
            return Ok(None);
        };
        let id = self.identifier(ctx.env());
        skyforge_core::tags::ensure_owned(&instance_tags(&i), ctx.env(), &self.id(), &id)?;
        let o = self.observed_of(ctx, inputs, &i);
        if i.db_instance_status() == Some("deleting") {
            return Ok(Some(o.going()));
        }
        Ok(Some(o))
    }
    async fn wait_ready(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let i = status::wait_serving(ctx, &self.id(), &self.identifier(ctx.env())).await?;
        Ok(self.observed_again(ctx, &i, observed))
    }
    async fn wait_settled(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let i = status::wait_available(ctx, &self.id(), &self.identifier(ctx.env())).await?;
        Ok(self.observed_again(ctx, &i, observed))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let password = self.master_password(ctx, inputs).await?;
        let digest = self.password_digest(inputs);
        let req = crate::create::request(self, ctx, inputs, &password, digest.as_deref())?;
        let rid = self.id();
        guard
            .send("CreateDBInstance", &["DBInstanceAlreadyExists"], req.send())
            .await?;
        let i = status::wait_visible(ctx, &rid, &self.identifier(ctx.env())).await?;
        Ok(self.observed_of(ctx, inputs, &i))
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        crate::modify::run(self, ctx, inputs, observed, diffs, guard).await?;
        let i = skyforge_core::until_visible(ctx, &self.id(), "after its modification", || {
            self.describe(ctx)
        })
        .await?;
        Ok(self.observed_of(ctx, inputs, &i))
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let snapshot = self.spec.snapshot_in(ctx.env());
        crate::delete::instance(ctx, guard, &self.id(), &observed.physical_id, snapshot).await
    }
}
