//! Cloud Map: a private DNS namespace per stack and a service per ECS service (A records, a
//! custom health check driven by ECS), so `api.<namespace>` resolves to the running tasks.

use async_trait::async_trait;
use aws_sdk_servicediscovery::Client;
use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsConfigChange, DnsRecord, HealthCheckCustomConfig, NamespaceFilter,
    NamespaceFilterName, RecordType, RoutingPolicy, ServiceChange, ServiceFilter,
    ServiceFilterName, Tag,
};
use skyforge_core::Permissions;
use skyforge_core::tags::{self, Tags};
use skyforge_core::wait::Poll;
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Input, Inputs, NodeId,
    Observed, Ref, Resource, ResourceId, Result, Stack, Value,
};

/// Resource kind `sd_namespace`.
pub const KIND_NAMESPACE: &str = "sd_namespace";
/// Resource kind `sd_service`.
pub const KIND_SD_SERVICE: &str = "sd_service";

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

fn sd_tags(t: Tags) -> Vec<Tag> {
    t.into_iter()
        .filter_map(|(k, v)| Tag::builder().key(k).value(v).build().ok())
        .collect()
}

/// A namespace's or service's tags (`None`: it is gone), read once per plan (its node and the
/// orphan listing share them).
pub(crate) async fn tags_of(
    ctx: &Context,
    rid: impl std::fmt::Display,
    arn: &str,
) -> Result<Option<Tags>> {
    let read = || async {
        let t = client(ctx)
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e));
        let t = skyforge_core::none_if_aws_code(t, &["ResourceNotFoundException"])?;
        Ok(t.map(|t| {
            t.tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect()
        }))
    };
    tags::read_once(ctx, arn, read).await
}

/// Wait for a Cloud Map operation to succeed; `FAIL` is an error quoting Cloud Map.
async fn wait_operation(ctx: &Context, rid: &ResourceId, op: &str) -> Result<()> {
    ctx.poller(std::time::Duration::from_secs(600))
        .wait(&rid.to_string(), "SUCCESS", || async {
            let out = client(ctx)
                .get_operation()
                .operation_id(op)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "GetOperation", e))?;
            let Some(o) = out.operation() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            Ok(match o.status().map(|s| s.as_str()) {
                Some("SUCCESS") => Poll::Ready(()),
                Some("FAIL") => Poll::Failed {
                    state: "FAIL".into(),
                    reason: format!(
                        "{}: {}",
                        o.error_code().unwrap_or("?"),
                        o.error_message().unwrap_or_default()
                    ),
                },
                other => Poll::Pending(other.unwrap_or("?").to_string()),
            })
        })
        .await
}

/// A private DNS namespace (`alva-staging.local`) in a VPC.
#[derive(Debug, Clone)]
pub struct Namespace {
    logical_id: String,
    name: String,
    vpc: Input<String>,
}

impl Namespace {
    /// Namespace `name` resolvable inside `vpc`.
    pub fn private(
        logical_id: impl Into<String>,
        name: impl Into<String>,
        vpc: impl Into<Input<String>>,
    ) -> Result<Namespace> {
        let (logical_id, name) = (logical_id.into(), name.into());
        skyforge_core::naming::validate_logical_id("namespace.logical_id", &logical_id)?;
        let labels_ok = name.len() <= 253
            && name.split('.').all(|l| {
                (1..=63).contains(&l.len())
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !labels_ok || !name.contains('.') {
            return Err(Error::validation(
                "namespace.name",
                &name,
                "a DNS name of at least two labels (`app.local`), each 1 to 63 letters, digits and hyphens",
            ));
        }
        Ok(Namespace {
            logical_id,
            name,
            vpc: vpc.into(),
        })
    }
}

/// A namespace in a stack.
#[derive(Debug, Clone, PartialEq)]
pub struct NamespaceHandle {
    node: NodeId,
    name: String,
}

impl NamespaceHandle {
    /// The namespace id.
    pub fn id(&self) -> Ref<String> {
        Ref::new(self.node, "id")
    }
    /// Its DNS name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The node.
    pub fn node(&self) -> NodeId {
        self.node
    }
}

impl Component for Namespace {
    type Handle = NamespaceHandle;
    fn add_to(self, stack: &mut Stack) -> NamespaceHandle {
        crate::owned::register_kinds(stack);
        let name = self.name.clone();
        let node = stack.add_resource(NamespaceNode { ns: self });
        NamespaceHandle { node, name }
    }
}

struct NamespaceNode {
    ns: Namespace,
}

/// The calls of a private DNS namespace; Cloud Map makes and deletes its Route 53 hosted zone on the caller's permissions.
pub(crate) const NAMESPACE_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "servicediscovery:ListNamespaces",
        "servicediscovery:ListTagsForResource",
        "servicediscovery:GetOperation",
    ],
    create: &[
        "servicediscovery:CreatePrivateDnsNamespace",
        "servicediscovery:TagResource",
        "servicediscovery:GetOperation",
        "route53:CreateHostedZone",
        "route53:GetHostedZone",
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
    ],
    update: &[
        "servicediscovery:TagResource",
        "servicediscovery:UntagResource",
    ],
    delete: &[
        "servicediscovery:DeleteNamespace",
        "servicediscovery:GetOperation",
        "route53:DeleteHostedZone",
        "route53:GetHostedZone",
    ],
};

#[async_trait]
impl Resource for NamespaceNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(NAMESPACE_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_NAMESPACE, &self.ns.logical_id)
    }
    fn service(&self) -> &'static str {
        "servicediscovery"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.ns.vpc.dependency().into_iter().collect()
    }
    fn desired(&self, env: &Environment, _: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(&self.ns.name)).force_new(),
        );
        f.insert(
            "tags".into(),
            Field::new(Value::of(tags::resource_tags(env, &self.ns.logical_id))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let filter = NamespaceFilter::builder()
            .name(NamespaceFilterName::Type)
            .values("DNS_PRIVATE")
            .build()
            .map_err(|e| Error::validation("namespace", &self.ns.name, e.to_string()))?;
        let pages: Vec<_> = client(ctx)
            .list_namespaces()
            .filters(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListNamespaces", e))?;
        let mut ours = None;
        for n in pages.iter().flat_map(|p| p.namespaces()) {
            if n.name() != Some(self.ns.name.as_str()) {
                continue;
            }
            let found = tags_of(ctx, &rid, n.arn().unwrap_or_default()).await?;
            let found = found.unwrap_or_default();
            // A same-named namespace of another stack (another VPC) is not ours.
            if tags::owned_logical_id(&found, ctx.env()).is_some() {
                ours = Some((n.clone(), found));
            }
        }
        let Some((n, found)) = ours else {
            return Ok(None);
        };
        let mut o = Observed {
            physical_id: n.id().unwrap_or_default().to_string(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&self.ns.name));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &tags::resource_tags(ctx.env(), &self.ns.logical_id),
                &found,
            )),
        );
        o.outputs
            .insert("id".into(), n.id().unwrap_or_default().into());
        o.outputs
            .insert("arn".into(), n.arn().unwrap_or_default().into());
        o.outputs.insert("name".into(), self.ns.name.clone().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let vpc = self.ns.vpc.resolve(inputs).ok_or_else(|| Error::Resource {
            resource: rid.to_string(),
            message: "the VPC id is not known at apply time".into(),
        })?;
        let out = guard
            .call("CreatePrivateDnsNamespace", async {
                client(ctx)
                    .create_private_dns_namespace()
                    .name(&self.ns.name)
                    .vpc(&vpc)
                    .creator_request_id(format!("{}-{}", ctx.env().prefix(), self.ns.logical_id))
                    .set_tags(Some(sd_tags(tags::resource_tags(
                        ctx.env(),
                        &self.ns.logical_id,
                    ))))
                    .send()
                    .await
                    .map_err(|e| Error::aws(&rid, "CreatePrivateDnsNamespace", e))
            })
            .await?;
        if let Some(op) = out.operation_id() {
            wait_operation(ctx, &rid, op).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        observed: &Observed,
        _: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        let arn = observed
            .outputs
            .get("arn")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let req = client(ctx)
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(sd_tags(tags::resource_tags(
                ctx.env(),
                &self.ns.logical_id,
            ))));
        guard.send("TagResource", &[], req.send()).await?;
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_namespace(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

/// Delete namespace `id` and wait for the operation.
pub(crate) async fn delete_namespace(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    id: &str,
) -> Result<()> {
    let out = guard
        .call("DeleteNamespace", async {
            client(ctx)
                .delete_namespace()
                .id(id)
                .send()
                .await
                .map_err(|e| Error::aws(rid, "DeleteNamespace", e))
        })
        .await;
    let Some(out) = skyforge_core::none_if_aws_code(out, &["NamespaceNotFound"])? else {
        return Ok(());
    };
    match out.operation_id() {
        Some(op) => wait_operation(ctx, rid, op).await,
        None => Ok(()),
    }
}

/// The Cloud Map service of an ECS service.
pub(crate) struct SdServiceNode {
    pub(crate) logical: String,
    pub(crate) name: String,
    pub(crate) ttl_secs: u32,
    pub(crate) namespace: Ref<String>,
}

impl SdServiceNode {
    fn dns(&self) -> DnsConfig {
        DnsConfig::builder()
            .routing_policy(RoutingPolicy::Multivalue)
            .dns_records(
                DnsRecord::builder()
                    .r#type(RecordType::A)
                    .ttl(i64::from(self.ttl_secs))
                    .build()
                    .expect("type and ttl are set"),
            )
            .build()
            .expect("records are set")
    }
}

/// The calls of a Cloud Map service.
pub(crate) const SD_SERVICE_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "servicediscovery:ListServices",
        "servicediscovery:ListTagsForResource",
    ],
    create: &[
        "servicediscovery:CreateService",
        "servicediscovery:TagResource",
    ],
    update: &[
        "servicediscovery:UpdateService",
        "servicediscovery:TagResource",
        "servicediscovery:UntagResource",
    ],
    delete: &["servicediscovery:DeleteService"],
};

#[async_trait]
impl Resource for SdServiceNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(SD_SERVICE_PERMISSIONS)
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_SD_SERVICE, &self.logical)
    }
    fn service(&self) -> &'static str {
        "servicediscovery"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        vec![self.namespace.node()]
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(&self.name)).force_new(),
        );
        let ns = inputs
            .get(&self.namespace)
            .map_or(Value::Unknown, |n: String| Value::str(n));
        f.insert("namespace".into(), Field::new(ns).force_new());
        f.insert("ttl_secs".into(), Field::new(Value::of(self.ttl_secs)));
        f.insert(
            "tags".into(),
            Field::new(Value::of(tags::resource_tags(env, &self.logical))),
        );
        f
    }
    async fn observe(&self, ctx: &Context, inputs: &Inputs) -> Result<Option<Observed>> {
        let Some(ns) = inputs.get::<String>(&self.namespace) else {
            return Ok(None);
        };
        let rid = self.id();
        let filter = ServiceFilter::builder()
            .name(ServiceFilterName::NamespaceId)
            .values(&ns)
            .build()
            .map_err(|e| Error::validation("discovery", &self.name, e.to_string()))?;
        let pages: Vec<_> = client(ctx)
            .list_services()
            .filters(filter)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "ListServices", e))?;
        let Some(s) = pages
            .iter()
            .flat_map(|p| p.services())
            .find(|s| s.name() == Some(self.name.as_str()))
            .cloned()
        else {
            return Ok(None);
        };
        let arn = s.arn().unwrap_or_default().to_string();
        let Some(found) = tags_of(ctx, &rid, &arn).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&found, ctx.env(), &rid, &self.name)?;
        let ttl = s
            .dns_config()
            .and_then(|d| d.dns_records().first())
            .map(|r| r.ttl());
        let mut o = Observed {
            physical_id: s.id().unwrap_or_default().to_string(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&self.name));
        o.fields.insert("namespace".into(), Value::str(&ns));
        o.fields.insert("ttl_secs".into(), Value::of(ttl));
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(
                &tags::resource_tags(ctx.env(), &self.logical),
                &found,
            )),
        );
        o.outputs.insert("arn".into(), arn.into());
        o.outputs
            .insert("id".into(), s.id().unwrap_or_default().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        let rid = self.id();
        let ns = inputs.require(&self.namespace, &rid)?;
        let req = client(ctx)
            .create_service()
            .name(&self.name)
            .namespace_id(ns)
            .dns_config(self.dns())
            .health_check_custom_config(HealthCheckCustomConfig::builder().build())
            .set_tags(Some(sd_tags(tags::resource_tags(ctx.env(), &self.logical))));
        guard
            .send("CreateService", &["ServiceAlreadyExists"], req.send())
            .await?;
        skyforge_core::observe_again(self, ctx, inputs, "after its creation").await
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
        if diffs.iter().any(|d| d.field == "ttl_secs") {
            let change = ServiceChange::builder()
                .dns_config(
                    DnsConfigChange::builder()
                        .set_dns_records(Some(self.dns().dns_records().to_vec()))
                        .build()
                        .expect("records are set"),
                )
                .build();
            let out = guard
                .call("UpdateService", async {
                    client(ctx)
                        .update_service()
                        .id(&observed.physical_id)
                        .service(change)
                        .send()
                        .await
                        .map_err(|e| Error::aws(&rid, "UpdateService", e))
                })
                .await?;
            if let Some(op) = out.operation_id() {
                wait_operation(ctx, &rid, op).await?;
            }
        }
        if diffs.iter().any(|d| d.field == "tags") {
            let arn = observed
                .outputs
                .get("arn")
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            let req = client(ctx)
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sd_tags(tags::resource_tags(ctx.env(), &self.logical))));
            guard.send("TagResource", &[], req.send()).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete_sd_service(ctx, guard, &self.id(), &observed.physical_id).await
    }
}

/// Delete Cloud Map service `id`, waiting while instances are still registered (ECS
/// deregisters them as tasks stop).
pub(crate) async fn delete_sd_service(
    ctx: &Context,
    guard: &Guard,
    rid: &ResourceId,
    id: &str,
) -> Result<()> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "deleted", || async {
            let r = guard
                .send(
                    "DeleteService",
                    &["ServiceNotFound"],
                    client(ctx).delete_service().id(id).send(),
                )
                .await;
            match r {
                Ok(()) => Ok(Poll::Ready(())),
                Err(e) if e.has_aws_code(&["ResourceInUse"]) => {
                    Ok(Poll::Pending("instances still registered".into()))
                }
                Err(e) => Err(e),
            }
        })
        .await
}
