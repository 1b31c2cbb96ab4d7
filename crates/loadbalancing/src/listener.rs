//! Listeners: HTTP on 80 (a 301 to HTTPS when there is a certificate) and HTTPS on 443 with the
//! certificate and a TLS 1.3 policy. The default action forwards to the default route, or
//! answers 404.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{Certificate, Listener, ProtocolEnum};
use skyforge_core::Permissions;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed, Ref,
    Resource, ResourceId, Result, Value,
};

use crate::common::{Act, client, observed_action};

/// Resource kind `listener`.
pub const KIND_LISTENER: &str = "listener";

pub(crate) struct ListenerNode {
    pub(crate) logical: String,
    pub(crate) lb: Ref<String>,
    pub(crate) https: bool,
    pub(crate) certificate: Option<String>,
    pub(crate) ssl_policy: String,
    pub(crate) default: Act,
    pub(crate) target_groups: Vec<NodeId>,
}

impl ListenerNode {
    fn port(&self) -> i32 {
        if self.https { 443 } else { 80 }
    }
    fn protocol(&self) -> ProtocolEnum {
        if self.https {
            ProtocolEnum::Https
        } else {
            ProtocolEnum::Http
        }
    }

    async fn find(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Listener>> {
        let Some(lb) = inputs.get(&self.lb) else {
            return Ok(None);
        };
        let r = client(ctx)
            .describe_listeners()
            .load_balancer_arn(lb)
            .send()
            .await
            .map_err(|e| Error::aws(self.id(), "DescribeListeners", e));
        let out = skyforge_core::none_if_aws_code(r, &["LoadBalancerNotFound"])?;
        Ok(out.and_then(|o| {
            o.listeners()
                .iter()
                .find(|l| l.port() == Some(self.port()))
                .cloned()
        }))
    }

    fn observed_of(&self, l: &Listener) -> Observed {
        let arn = l.listener_arn().unwrap_or_default().to_string();
        let mut o = Observed {
            physical_id: arn.clone(),
            ..Observed::default()
        };
        o.fields.insert("port".into(), Value::of(l.port()));
        o.fields.insert(
            "protocol".into(),
            Value::str(l.protocol().map(|p| p.as_str()).unwrap_or_default()),
        );
        if self.https {
            o.fields.insert(
                "certificate".into(),
                Value::of(l.certificates().first().and_then(|c| c.certificate_arn())),
            );
            o.fields
                .insert("ssl_policy".into(), Value::of(l.ssl_policy()));
        }
        o.fields.insert(
            "default_action".into(),
            observed_action(l.default_actions()),
        );
        o.outputs.insert("arn".into(), arn.into());
        o
    }
}

/// The calls of a listener.
pub(crate) const LISTENER_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeTags",
    ],
    create: &[
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:AddTags",
    ],
    update: &[
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
    ],
    delete: &["elasticloadbalancing:DeleteListener"],
};

#[async_trait]
impl Resource for ListenerNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(LISTENER_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_LISTENER, &self.logical)
    }
    fn service(&self) -> &'static str {
        "elbv2"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d = vec![self.lb.node()];
        d.extend(self.target_groups.iter().copied());
        d
    }
    fn desired(&self, _: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "port".into(),
            Field::new(Value::of(self.port())).force_new(),
        );
        f.insert(
            "protocol".into(),
            Field::new(Value::str(self.protocol().as_str())),
        );
        if self.https {
            f.insert(
                "certificate".into(),
                Field::new(Value::of(&self.certificate)),
            );
            f.insert(
                "ssl_policy".into(),
                Field::new(Value::of(Some(&self.ssl_policy))),
            );
        }
        f.insert(
            "default_action".into(),
            Field::new(self.default.plan_value(inputs)),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        Ok(self.find(ctx, inputs).await?.map(|l| self.observed_of(&l)))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let mut req = client(ctx)
            .create_listener()
            .load_balancer_arn(inputs.require(&self.lb, &rid)?)
            .port(self.port())
            .protocol(self.protocol())
            .default_actions(self.default.build(inputs, &rid)?);
        if self.https {
            req = req
                .set_certificates(
                    self.certificate
                        .as_ref()
                        .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
                )
                .ssl_policy(&self.ssl_policy);
        }
        guard
            .send("CreateListener", &["DuplicateListener"], req.send())
            .await?;
        let l = skyforge_core::until_visible(ctx, &rid, "right after creation", || {
            self.find(ctx, inputs)
        })
        .await?;
        Ok(self.observed_of(&l))
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        _: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let rid = self.id();
        let mut req = client(ctx)
            .modify_listener()
            .listener_arn(&observed.physical_id)
            .protocol(self.protocol())
            .default_actions(self.default.build(inputs, &rid)?);
        if self.https {
            req = req
                .set_certificates(
                    self.certificate
                        .as_ref()
                        .map(|c| vec![Certificate::builder().certificate_arn(c).build()]),
                )
                .ssl_policy(&self.ssl_policy);
        }
        guard.send("ModifyListener", &[], req.send()).await?;
        let l =
            skyforge_core::until_visible(ctx, &rid, "after its update", || self.find(ctx, inputs))
                .await?;
        Ok(self.observed_of(&l))
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        let req = client(ctx)
            .delete_listener()
            .listener_arn(&observed.physical_id);
        guard
            .send("DeleteListener", &["ListenerNotFound"], req.send())
            .await
    }
}
