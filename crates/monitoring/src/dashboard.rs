//! A CloudWatch dashboard generated from the handles: one row of widgets per resource.

use async_trait::async_trait;
use serde_json::{Value as Json, json};
#[cfg(feature = "elasticache")]
use skyforge_cache::CacheHandle;
#[cfg(feature = "ecs")]
use skyforge_compute::ServiceHandle;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::{
    Component, Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId,
    Observed, Resource, ResourceId, Result, Stack, Value,
};
#[cfg(feature = "rds")]
use skyforge_database::DatabaseHandle;
#[cfg(feature = "elbv2")]
use skyforge_loadbalancing::{LoadBalancerHandle, TargetGroupRef};

use crate::alarm_node::client;
use crate::metric::Metric;

/// The kind of dashboards.
pub const KIND_DASHBOARD: &str = "cloudwatch_dashboard";

/// One graph: a title and its metrics with their labels.
#[derive(Debug, Clone)]
struct Widget {
    title: String,
    lines: Vec<(Metric, &'static str)>,
}

/// A dashboard of the stack, named `<project>-<stage>-<logical id>`.
///
/// CloudWatch dashboards carry no tags: ownership is a line at the bottom of the dashboard
/// naming the stack, which the orphan listing reads back.
#[derive(Debug, Clone)]
pub struct Dashboard {
    logical_id: String,
    widgets: Vec<Widget>,
}

impl Dashboard {
    /// An empty dashboard.
    pub fn new(logical_id: impl Into<String>) -> Dashboard {
        Dashboard {
            logical_id: logical_id.into(),
            widgets: Vec::new(),
        }
    }
    #[cfg_attr(
        not(any(
            feature = "ecs",
            feature = "elbv2",
            feature = "rds",
            feature = "elasticache"
        )),
        allow(dead_code)
    )]
    fn widget(mut self, title: String, lines: Vec<(Metric, &'static str)>) -> Dashboard {
        self.widgets.push(Widget { title, lines });
        self
    }
    /// CPU and memory of a service (`name` titles its row).
    #[cfg(feature = "ecs")]
    pub fn service(self, name: &str, svc: &ServiceHandle) -> Dashboard {
        let m = crate::metric::service(svc);
        self.widget(
            format!("{name}: CPU and memory (%)"),
            vec![(m.cpu(), "CPU"), (m.memory(), "memory")],
        )
        .widget(
            format!("{name}: running tasks"),
            vec![(m.running_tasks(), "running")],
        )
    }
    /// Requests, ELB 5xx and response time of the load balancer.
    #[cfg(feature = "elbv2")]
    pub fn load_balancer(self, lb: &LoadBalancerHandle) -> Dashboard {
        let m = crate::metric::load_balancer(lb);
        self.widget(
            "load balancer: requests and ELB 5xx".into(),
            vec![(m.requests(), "requests"), (m.elb_5xx(), "ELB 5xx")],
        )
        .widget(
            "load balancer: response time p99 (s)".into(),
            vec![(m.response_time_p99(), "p99")],
        )
    }
    /// Target health and application 5xx of a target group (`name` titles its row).
    #[cfg(feature = "elbv2")]
    pub fn target_group(self, name: &str, tg: &TargetGroupRef) -> Dashboard {
        let m = crate::metric::target_group(tg);
        self.widget(
            format!("{name}: target health"),
            vec![
                (m.healthy_hosts(), "healthy"),
                (m.unhealthy_hosts(), "unhealthy"),
            ],
        )
        .widget(format!("{name}: target 5xx"), vec![(m.target_5xx(), "5xx")])
    }
    /// CPU, free storage and connections of a database.
    #[cfg(feature = "rds")]
    pub fn database(self, db: &DatabaseHandle) -> Dashboard {
        let m = crate::metric::database(db);
        self.widget(
            format!("{}: CPU (%) and connections", db.logical_id()),
            vec![(m.cpu(), "CPU"), (m.connections(), "connections")],
        )
        .widget(
            format!("{}: free storage (bytes)", db.logical_id()),
            vec![(m.free_storage(), "free storage")],
        )
    }
    /// Engine CPU and memory of a cache.
    #[cfg(feature = "elasticache")]
    pub fn cache(self, c: &CacheHandle) -> Dashboard {
        let m = crate::metric::cache(c);
        self.widget(
            format!("{}: engine CPU and memory (%)", c.logical_id()),
            vec![(m.engine_cpu(), "engine CPU"), (m.memory(), "memory")],
        )
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        let field = format!("dashboard.{}", self.logical_id);
        naming::validate_logical_id(&format!("{field}.logical_id"), &self.logical_id)?;
        naming::physical_name(env, NameKind::Alarm, &self.logical_id)?;
        if self.widgets.is_empty() {
            return Err(Error::validation(
                format!("{field}.widgets"),
                "[]",
                "a dashboard shows at least one resource",
            ));
        }
        Ok(())
    }
}

pub(crate) fn name(env: &Environment, logical: &str) -> String {
    naming::physical_name(env, NameKind::Alarm, logical).unwrap_or_default()
}

fn owner_line(env: &Environment, logical: &str) -> String {
    format!(
        "Managed by skyforge: stack {}, dashboard {logical}.",
        env.prefix()
    )
}

/// The logical id of dashboard `dashboard_name` when this stack made it: the name carries the
/// stack's prefix and the body the stack's ownership line.
pub(crate) async fn owned_logical(
    ctx: &Context,
    rid: &ResourceId,
    dashboard_name: &str,
) -> Result<Option<String>> {
    let Some(logical) = dashboard_name.strip_prefix(&format!("{}-", ctx.env().prefix())) else {
        return Ok(None);
    };
    let got = client(ctx)
        .get_dashboard()
        .dashboard_name(dashboard_name)
        .send()
        .await;
    let got = skyforge_core::none_if_aws_code(
        got.map_err(|e| Error::aws(rid, "GetDashboard", e)),
        &["ResourceNotFound", "ResourceNotFoundException"],
    )?;
    let owned = got
        .and_then(|g| g.dashboard_body().map(String::from))
        .is_some_and(|b| b.contains(&owner_line(ctx.env(), logical)));
    Ok(owned.then(|| logical.to_string()))
}

impl Component for Dashboard {
    type Handle = NodeId;
    fn add_to(self, stack: &mut Stack) -> NodeId {
        crate::owned::register_kinds(stack);
        stack.add_resource(DashboardNode(self))
    }
}

struct DashboardNode(Dashboard);

impl DashboardNode {
    fn body(&self, env: &Environment, inputs: &Inputs) -> Option<Json> {
        let region = env.region_name().unwrap_or("us-east-1");
        let mut widgets = Vec::new();
        for (i, w) in self.0.widgets.iter().enumerate() {
            let lines: Option<Vec<Json>> = w
                .lines
                .iter()
                .map(|(m, label)| m.widget_line(inputs, label))
                .collect();
            widgets.push(json!({
                "type": "metric",
                "x": (i % 2) * 12, "y": (i / 2) * 6, "width": 12, "height": 6,
                "properties": {
                    "title": w.title, "region": region, "view": "timeSeries",
                    "period": 60, "metrics": lines?
                }
            }));
        }
        let y = self.0.widgets.len().div_ceil(2) * 6;
        widgets.push(json!({
            "type": "text", "x": 0, "y": y, "width": 24, "height": 1,
            "properties": {"markdown": owner_line(env, &self.0.logical_id)}
        }));
        Some(json!({ "widgets": widgets }))
    }
}

/// The calls of a dashboard.
pub(crate) const DASHBOARD_PERMISSIONS: Permissions = Permissions {
    observe: &["cloudwatch:GetDashboard"],
    create: &["cloudwatch:PutDashboard"],
    update: &["cloudwatch:PutDashboard"],
    delete: &["cloudwatch:DeleteDashboards"],
};

#[async_trait]
impl Resource for DashboardNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(DASHBOARD_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        let n = name(env, &self.0.logical_id);
        vec![skyforge_core::ArnName::new("cloudwatch:dashboard", n)]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_DASHBOARD, &self.0.logical_id)
    }
    fn service(&self) -> &'static str {
        "cloudwatch"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        let mut n: Vec<NodeId> = self
            .0
            .widgets
            .iter()
            .flat_map(|w| w.lines.iter().flat_map(|(m, _)| m.nodes()))
            .collect();
        n.sort_by_key(|n| n.index());
        n.dedup();
        n
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        self.0.validate(env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(name(env, &self.0.logical_id))).force_new(),
        );
        f.insert(
            "body".into(),
            Field::new(self.body(env, inputs).map_or(Value::Unknown, Value::of)),
        );
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let rid = self.id();
        let n = name(ctx.env(), &self.0.logical_id);
        let got = client(ctx).get_dashboard().dashboard_name(&n).send().await;
        let got = skyforge_core::none_if_aws_code(
            got.map_err(|e| Error::aws(&rid, "GetDashboard", e)),
            &["ResourceNotFound", "ResourceNotFoundException"],
        )?;
        let Some(got) = got else {
            return Ok(None);
        };
        let body: Json =
            serde_json::from_str(got.dashboard_body().unwrap_or("{}")).unwrap_or(Json::Null);
        if !body
            .to_string()
            .contains(&owner_line(ctx.env(), &self.0.logical_id))
        {
            return Err(Error::NotOwned {
                resource: rid,
                physical_id: n,
                detail: "the dashboard has no skyforge ownership line for this stack".into(),
            });
        }
        let mut o = Observed {
            physical_id: n.clone(),
            ..Observed::default()
        };
        o.fields.insert("name".into(), Value::str(&n));
        o.fields.insert("body".into(), Value::of(body));
        o.outputs.insert("name".into(), n.into());
        o.outputs
            .insert("arn".into(), got.dashboard_arn().unwrap_or_default().into());
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        self.put(ctx, inputs, guard).await?;
        skyforge_core::observe_again(self, ctx, inputs, "right after creation").await
    }
    async fn update(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        _: &Observed,
        _: &[FieldDiff],
        guard: &Guard,
    ) -> Result<Observed> {
        self.put(ctx, inputs, guard).await?;
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

impl DashboardNode {
    async fn put(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<()> {
        let body = self
            .body(ctx.env(), inputs)
            .ok_or_else(|| Error::Resource {
                resource: self.id().to_string(),
                message: "a metric dimension is not known at apply time".into(),
            })?;
        let req = client(ctx)
            .put_dashboard()
            .dashboard_name(name(ctx.env(), &self.0.logical_id))
            .dashboard_body(body.to_string());
        guard.send("PutDashboard", &[], req.send()).await
    }
}

/// Delete dashboard `name`; success when it is already gone.
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let req = client(ctx).delete_dashboards().dashboard_names(name);
    guard
        .send(
            "DeleteDashboards",
            &["ResourceNotFound", "DashboardNotFoundError"],
            req.send(),
        )
        .await
}
