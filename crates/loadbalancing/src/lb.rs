//! The load balancer node: created, given its attributes, waited for until `active`.

use skyforge_core::Permissions;
use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancer as ApiLb, LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerTypeEnum,
};
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::wait::Poll;
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId, Observed,
    Readiness, Resource, ResourceId, Result, Value,
};

use crate::common::{build_err, client, elb_tags, need, sync_tags, tags_of};
use crate::spec::LoadBalancerSpec;

/// Resource kind `load_balancer`.
pub const KIND_LB: &str = "load_balancer";

pub(crate) struct LbNode {
    pub(crate) spec: LoadBalancerSpec,
    pub(crate) security_group: Input<String>,
    /// The access-log bucket's name, when logs are on.
    pub(crate) log_bucket: Option<skyforge_core::Ref<String>>,
}

pub(crate) fn lb_name(spec: &LoadBalancerSpec, env: &Environment) -> String {
    spec.name.clone().unwrap_or_else(|| {
        naming::physical_name(env, NameKind::LoadBalancer, &spec.logical_id).unwrap_or_default()
    })
}

impl LbNode {
    fn subnets(&self, inputs: &Inputs) -> Option<Vec<String>> {
        let mut ids: Vec<String> = self
            .spec
            .subnets
            .subnets
            .iter()
            .map(|s| inputs.get(&s.id))
            .collect::<Option<_>>()?;
        ids.sort();
        Some(ids)
    }

    /// The attributes for these inputs; `None` while the log bucket's name is unknown.
    fn attributes_with(
        &self,
        env: &Environment,
        inputs: &Inputs,
    ) -> Option<BTreeMap<String, String>> {
        let mut a = self.attributes(env);
        if let Some(b) = &self.log_bucket {
            a.insert("access_logs.s3.enabled".into(), "true".into());
            a.insert("access_logs.s3.bucket".into(), inputs.get(b)?);
            a.insert("access_logs.s3.prefix".into(), "alb".into());
        }
        Some(a)
    }

    fn attributes(&self, env: &Environment) -> BTreeMap<String, String> {
        let s = &self.spec;
        BTreeMap::from([
            (
                "idle_timeout.timeout_seconds".into(),
                s.idle_timeout_secs.to_string(),
            ),
            ("routing.http2.enabled".into(), s.http2.to_string()),
            (
                "routing.http.drop_invalid_header_fields.enabled".into(),
                s.drop_invalid_header_fields.to_string(),
            ),
            (
                "deletion_protection.enabled".into(),
                s.protected_in(env).to_string(),
            ),
            ("access_logs.s3.enabled".into(), "false".into()),
        ])
    }

    async fn describe(&self, ctx: &Context) -> Result<Option<ApiLb>> {
        describe(ctx, &self.id(), &lb_name(&self.spec, ctx.env())).await
    }

    async fn observed_of(&self, ctx: &Context, lb: &ApiLb) -> Result<Observed> {
        let rid = self.id();
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        let found: Tags = tags_of(ctx, &rid, std::slice::from_ref(&arn))
            .await?
            .into_iter()
            .next()
            .map(|(_, t)| t)
            .unwrap_or_default();
        let name = lb.load_balancer_name().unwrap_or_default().to_string();
        tags::ensure_owned(&found, ctx.env(), &rid, &name)?;
        let attrs = client(ctx)
            .describe_load_balancer_attributes()
            .load_balancer_arn(&arn)
            .send()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeLoadBalancerAttributes", e))?;
        let mut wanted = self.attributes(ctx.env());
        if self.log_bucket.is_some() {
            wanted.insert("access_logs.s3.bucket".into(), String::new());
            wanted.insert("access_logs.s3.prefix".into(), String::new());
        }
        let seen: BTreeMap<String, String> = attrs
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value().unwrap_or("").to_string())))
            .filter(|(k, _)| wanted.contains_key(k))
            .collect();
        let mut subnets: Vec<String> = lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_string))
            .collect();
        subnets.sort();
        let mut o = Observed {
            physical_id: arn.clone(),
            ready: readiness(lb),
            ..Observed::default()
        };
        let mut put = |k: &str, v: Value| {
            o.fields.insert(k.into(), v);
        };
        put("name", Value::str(&name));
        put(
            "scheme",
            Value::str(lb.scheme().map(|s| s.as_str()).unwrap_or_default()),
        );
        put("subnets", Value::of(subnets));
        put("security_groups", Value::of(lb.security_groups().to_vec()));
        put("attributes", Value::of(seen));
        put(
            "tags",
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &found)),
        );
        o.outputs.insert("arn".into(), arn.into());
        o.outputs.insert("name".into(), name.into());
        o.outputs
            .insert("dns_name".into(), lb.dns_name().unwrap_or_default().into());
        o.outputs.insert(
            "zone_id".into(),
            lb.canonical_hosted_zone_id().unwrap_or_default().into(),
        );
        Ok(o)
    }

    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.spec.logical_id)
    }

    async fn set_attributes(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        guard: &Guard,
        arn: &str,
    ) -> Result<()> {
        let rid = self.id();
        let attrs = self
            .attributes_with(ctx.env(), inputs)
            .ok_or_else(|| build_err(&rid, "the access-log bucket is not known at apply time"))?
            .into_iter()
            .map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build())
            .collect();
        let req = client(ctx)
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attrs));
        guard
            .send("ModifyLoadBalancerAttributes", &[], req.send())
            .await
    }
}

/// DescribeLoadBalancers of one name; `None` when there is none.
pub(crate) async fn describe(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<ApiLb>> {
    let r = client(ctx)
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeLoadBalancers", e));
    let out = skyforge_core::none_if_aws_code(r, &["LoadBalancerNotFound"])?;
    Ok(out.and_then(|o| o.load_balancers().first().cloned()))
}

fn state(lb: &ApiLb) -> &str {
    lb.state()
        .and_then(|s| s.code())
        .map(|c| c.as_str())
        .unwrap_or("unknown")
}

fn readiness(lb: &ApiLb) -> Readiness {
    match state(lb) {
        "active" | "active_impaired" => Readiness::Ready,
        s => Readiness::NotReady(s.to_string()),
    }
}

/// The calls of a load balancer (deletion protection is turned off before an allowed delete).
pub(crate) const LB_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    ],
    create: &[
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
    ],
    update: &[
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:RemoveTags",
    ],
    delete: &[
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
    ],
};

#[async_trait]
impl Resource for LbNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(LB_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        use skyforge_core::ArnName;
        // The load balancer, its listeners and their rules all carry its name, then ids.
        let under = format!("{}/*", lb_name(&self.spec, env));
        vec![
            ArnName::new("elasticloadbalancing:loadbalancer/app/", &under),
            ArnName::new("elasticloadbalancing:listener/app", &under),
            ArnName::new("elasticloadbalancing:listener-rule/app", &under),
        ]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_LB, &self.spec.logical_id)
    }
    fn service(&self) -> &'static str {
        "elbv2"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut d: Vec<NodeId> = self.spec.subnets.subnets.iter().map(|s| s.node).collect();
        d.extend(self.security_group.dependency());
        d.extend(self.log_bucket.map(|b| b.node()));
        d
    }
    async fn holds_data(&self, _: &Context, observed: &Observed) -> Result<bool> {
        // A load balancer under deletion protection is protected like data: removing it takes
        // every service behind it off the internet.
        Ok(observed
            .fields
            .get("attributes")
            .and_then(Value::known)
            .and_then(|a| a.get("deletion_protection.enabled"))
            .and_then(|v| v.as_str())
            == Some("true"))
    }
    fn warnings(&self, env: &Environment) -> Vec<String> {
        crate::warnings::of(&self.spec, env)
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        if self.log_bucket.is_some() && env.region_name().is_none() {
            return Err(Error::validation(
                format!("load_balancer.{}.access_log_days", self.spec.logical_id),
                "set",
                "access logs need the environment's region (the log delivery principal is per region)",
            ));
        }
        Ok(())
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(lb_name(&self.spec, env))).force_new(),
        );
        let scheme = if self.spec.subnets.internet_facing {
            "internet-facing"
        } else {
            "internal"
        };
        f.insert("scheme".into(), Field::new(Value::str(scheme)).force_new());
        f.insert(
            "subnets".into(),
            Field::new(
                self.subnets(inputs)
                    .map(Value::of)
                    .unwrap_or(Value::Unknown),
            ),
        );
        f.insert(
            "security_groups".into(),
            Field::new(
                self.security_group
                    .resolve(inputs)
                    .map(|g| Value::of(vec![g]))
                    .unwrap_or(Value::Unknown),
            ),
        );
        f.insert(
            "attributes".into(),
            Field::new(
                self.attributes_with(env, inputs)
                    .map(Value::of)
                    .unwrap_or(Value::Unknown),
            ),
        );
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        match self.describe(ctx).await? {
            Some(lb) => Ok(Some(self.observed_of(ctx, &lb).await?)),
            None => Ok(None),
        }
    }
    async fn wait_ready(&self, ctx: &Context, observed: Observed) -> Result<Observed> {
        let rid = self.id();
        let name = lb_name(&self.spec, ctx.env());
        let lb = ctx
            .poller_for(&rid)
            .wait(&rid.to_string(), "active", || async {
                let Some(lb) = describe(ctx, &rid, &name).await? else {
                    return Ok(Poll::Pending("not visible yet".into()));
                };
                Ok(match state(&lb) {
                    "active" | "active_impaired" => Poll::Ready(lb),
                    "failed" => Poll::Failed {
                        state: "failed".into(),
                        reason: lb
                            .state()
                            .and_then(|s| s.reason())
                            .unwrap_or("the load balancer could not be provisioned")
                            .to_string(),
                    },
                    s => Poll::Pending(s.to_string()),
                })
            })
            .await?;
        let mut o = self.observed_of(ctx, &lb).await?;
        o.fields = observed.fields;
        Ok(o)
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let env = ctx.env();
        let subnets = self
            .subnets(inputs)
            .ok_or_else(|| build_err(&rid, "subnet ids unknown"))?;
        let scheme = if self.spec.subnets.internet_facing {
            LoadBalancerSchemeEnum::InternetFacing
        } else {
            LoadBalancerSchemeEnum::Internal
        };
        let req = client(ctx)
            .create_load_balancer()
            .name(lb_name(&self.spec, env))
            .r#type(LoadBalancerTypeEnum::Application)
            .scheme(scheme)
            .set_subnets(Some(subnets))
            .security_groups(need(&self.security_group, inputs, &rid)?)
            .set_tags(Some(elb_tags(&self.desired_tags(env))));
        guard
            .send(
                "CreateLoadBalancer",
                &["DuplicateLoadBalancerName"],
                req.send(),
            )
            .await?;
        let lb =
            skyforge_core::until_visible(ctx, &rid, "right after creation", || self.describe(ctx))
                .await?;
        let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
        self.set_attributes(ctx, inputs, guard, &arn).await?;
        self.observed_of(ctx, &lb).await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        diffs: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let rid = self.id();
        let arn = observed.physical_id.as_str();
        let changed = |f: &str| diffs.iter().any(|d| d.field == f);
        let elb = client(ctx);
        if changed("subnets") {
            let req = elb
                .set_subnets()
                .load_balancer_arn(arn)
                .set_subnets(self.subnets(inputs));
            guard.send("SetSubnets", &[], req.send()).await?;
        }
        if changed("security_groups") {
            let req = elb
                .set_security_groups()
                .load_balancer_arn(arn)
                .security_groups(need(&self.security_group, inputs, &rid)?);
            guard.send("SetSecurityGroups", &[], req.send()).await?;
        }
        if changed("attributes") {
            self.set_attributes(ctx, inputs, guard, arn).await?;
        }
        if changed("tags") {
            sync_tags(ctx, guard, arn, &self.desired_tags(ctx.env()), observed).await?;
        }
        let lb = skyforge_core::until_visible(ctx, &rid, "after its update", || self.describe(ctx))
            .await?;
        self.observed_of(ctx, &lb).await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

/// Delete load balancer `arn` (lifting deletion protection: apply only gets here when the run
/// allows it), and wait until it is gone.
pub(crate) async fn delete(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    arn: &str,
) -> Result<()> {
    let elb = client(ctx);
    let off = LoadBalancerAttribute::builder()
        .key("deletion_protection.enabled")
        .value("false")
        .build();
    let req = elb
        .modify_load_balancer_attributes()
        .load_balancer_arn(arn)
        .attributes(off);
    guard
        .send(
            "ModifyLoadBalancerAttributes",
            &["LoadBalancerNotFound"],
            req.send(),
        )
        .await?;
    let req = elb.delete_load_balancer().load_balancer_arn(arn);
    guard
        .send("DeleteLoadBalancer", &["LoadBalancerNotFound"], req.send())
        .await?;
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "deleted", || async {
            let r = elb
                .describe_load_balancers()
                .load_balancer_arns(arn)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "DescribeLoadBalancers", e));
            Ok(
                match skyforge_core::none_if_aws_code(r, &["LoadBalancerNotFound"])? {
                    Some(o) if !o.load_balancers().is_empty() => Poll::Pending("deleting".into()),
                    _ => Poll::Ready(()),
                },
            )
        })
        .await
}
