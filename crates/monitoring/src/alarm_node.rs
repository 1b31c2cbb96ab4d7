//! The alarm node: `PutMetricAlarm` (an upsert by name), observed through `DescribeAlarms`.

use async_trait::async_trait;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, MetricAlarm, MetricDataQuery, MetricStat, Statistic, Tag,
};
use serde::Serialize;
use skyforge_core::Permissions;
use skyforge_core::naming::{self, NameKind};
use skyforge_core::tags::{self, Tags};
use skyforge_core::{
    Context, Environment, Error, Field, FieldDiff, Fields, Guard, Inputs, NodeId, Observed,
    Resource, ResourceId, Result, Value,
};

use crate::alarm::{Alarm, Signal};
use crate::metric::{Metric, Stat};

/// The kind of alarm nodes.
pub const KIND_ALARM: &str = "cloudwatch_alarm";

pub(crate) fn client(ctx: &Context) -> Client {
    ctx.client(Client::new)
}

pub(crate) struct AlarmNode(pub(crate) Alarm);

/// One metric of a query, in the form both the spec and `DescribeAlarms` are brought to.
#[derive(Debug, PartialEq)]
struct MetricForm {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
    stat: String,
}

/// What the alarm evaluates, comparable between spec and AWS.
#[derive(Debug, PartialEq)]
enum SignalForm {
    Metric(MetricForm),
    Percent {
        numerator: MetricForm,
        denominator: MetricForm,
        expression: String,
    },
}

const PERCENT_EXPRESSION: &str = "100 * m1 / m2";

fn form(m: &Metric, inputs: &Inputs) -> Option<MetricForm> {
    let mut dimensions = m.dimensions(inputs)?;
    dimensions.sort();
    Some(MetricForm {
        dimensions,
        ..bare(m)
    })
}

/// The metric without its dimensions (known at plan time, before the resources exist).
fn bare(m: &Metric) -> MetricForm {
    MetricForm {
        namespace: m.namespace.to_string(),
        name: m.name.to_string(),
        dimensions: Vec::new(),
        stat: m.statistic.as_cloudwatch(),
    }
}

impl MetricForm {
    fn text(&self) -> String {
        format!("{} {} ({})", self.namespace, self.name, self.stat)
    }
}

impl SignalForm {
    /// What is measured, in words: `AWS/ECS CPUUtilization (Average)`.
    fn text(&self) -> String {
        match self {
            SignalForm::Metric(m) => m.text(),
            SignalForm::Percent {
                numerator,
                denominator,
                expression,
            } => format!(
                "{expression}, m1 = {}, m2 = {}",
                numerator.text(),
                denominator.text()
            ),
        }
    }
    /// Which resources it is measured on.
    fn dimensions(&self) -> serde_json::Value {
        match self {
            SignalForm::Metric(m) => serde_json::json!(m.dimensions),
            SignalForm::Percent {
                numerator,
                denominator,
                ..
            } => serde_json::json!({"m1": numerator.dimensions, "m2": denominator.dimensions}),
        }
    }
}

fn bare_signal(s: &Signal) -> SignalForm {
    match s {
        Signal::Metric(m) => SignalForm::Metric(bare(m)),
        Signal::Percent {
            numerator,
            denominator,
        } => SignalForm::Percent {
            numerator: bare(numerator),
            denominator: bare(denominator),
            expression: PERCENT_EXPRESSION.into(),
        },
    }
}

fn signal_form(s: &Signal, inputs: &Inputs) -> Option<SignalForm> {
    Some(match s {
        Signal::Metric(m) => SignalForm::Metric(form(m, inputs)?),
        Signal::Percent {
            numerator,
            denominator,
        } => SignalForm::Percent {
            numerator: form(numerator, inputs)?,
            denominator: form(denominator, inputs)?,
            expression: PERCENT_EXPRESSION.into(),
        },
    })
}

impl AlarmNode {
    pub(crate) fn name(&self, env: &Environment) -> String {
        naming::physical_name(env, NameKind::Alarm, &self.0.logical_id).unwrap_or_default()
    }
    fn desired_tags(&self, env: &Environment) -> Tags {
        tags::resource_tags(env, &self.0.logical_id)
    }
    fn actions(&self, inputs: &Inputs) -> Option<Vec<String>> {
        match &self.0.topic {
            None => Some(Vec::new()),
            Some(t) => inputs.get(&t.arn()).map(|a| vec![a]),
        }
    }
}

fn known<T: Serialize>(v: Option<T>) -> Value {
    v.map_or(Value::Unknown, Value::of)
}

/// The calls of an alarm.
pub(crate) const ALARM_PERMISSIONS: Permissions = Permissions {
    observe: &[
        "cloudwatch:DescribeAlarms",
        "cloudwatch:ListTagsForResource",
        skyforge_core::tag_index::ACTION,
    ],
    create: &["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
    update: &[
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:TagResource",
        "cloudwatch:UntagResource",
    ],
    delete: &["cloudwatch:DeleteAlarms"],
};

#[async_trait]
impl Resource for AlarmNode {
    fn permissions(&self) -> Option<Permissions> {
        Some(ALARM_PERMISSIONS)
    }
    fn arn_names(&self, env: &Environment, _account: &str) -> Vec<skyforge_core::ArnName> {
        vec![skyforge_core::ArnName::new(
            "cloudwatch:alarm",
            self.name(env),
        )]
    }
    fn id(&self) -> ResourceId {
        ResourceId::new(KIND_ALARM, &self.0.logical_id)
    }
    fn service(&self) -> &'static str {
        "cloudwatch"
    }
    fn dependencies(&self) -> Vec<NodeId> {
        self.0.nodes()
    }
    fn validate(&self, env: &Environment) -> Result<()> {
        self.0.validate(env)
    }
    fn desired(&self, env: &Environment, inputs: &Inputs) -> Fields {
        let a = &self.0;
        let mut f = Fields::new();
        f.insert(
            "name".into(),
            Field::new(Value::str(self.name(env))).force_new(),
        );
        f.insert(
            "metric".into(),
            Field::new(Value::str(bare_signal(&a.signal).text())),
        );
        f.insert(
            "dimensions".into(),
            Field::new(known(
                signal_form(&a.signal, inputs).map(|s| s.dimensions()),
            )),
        );
        f.insert(
            "comparison".into(),
            Field::new(Value::str(a.comparison.as_cloudwatch())),
        );
        f.insert("threshold".into(), Field::new(Value::of(a.threshold)));
        f.insert("period_secs".into(), Field::new(Value::of(a.period_secs)));
        f.insert(
            "evaluation_periods".into(),
            Field::new(Value::of(a.evaluation_periods)),
        );
        f.insert(
            "datapoints_to_alarm".into(),
            Field::new(Value::of(a.datapoints.unwrap_or(a.evaluation_periods))),
        );
        f.insert(
            "treat_missing_data".into(),
            Field::new(Value::str(a.missing.as_cloudwatch())),
        );
        f.insert("description".into(), Field::new(Value::str(&a.description)));
        f.insert("actions".into(), Field::new(known(self.actions(inputs))));
        f.insert("tags".into(), Field::new(Value::of(self.desired_tags(env))));
        f
    }
    async fn observe(&self, ctx: &Context, _: &Inputs) -> Result<Option<Observed>> {
        let name = self.name(ctx.env());
        let Some((found, t)) = find(ctx, &self.id(), &name).await? else {
            return Ok(None);
        };
        tags::ensure_owned(&t, ctx.env(), &self.id(), &name)?;
        let mut o = observed_of(&found);
        o.fields.insert(
            "tags".into(),
            Value::of(tags::managed_view(&self.desired_tags(ctx.env()), &t)),
        );
        Ok(Some(o))
    }
    async fn create(&self, ctx: &Context, inputs: &Inputs, guard: &Guard) -> Result<Observed> {
        self.put(ctx, inputs, guard, true).await?;
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
        if diffs.iter().any(|d| d.field != "tags") {
            self.put(ctx, inputs, guard, false).await?;
        }
        if diffs.iter().any(|d| d.field == "tags") {
            sync_tags(ctx, guard, observed, &self.desired_tags(ctx.env())).await?;
        }
        skyforge_core::observe_again(self, ctx, inputs, "after its update").await
    }
    async fn delete(&self, ctx: &Context, observed: &Observed, guard: &Guard) -> Result<()> {
        delete(ctx, guard, &observed.physical_id).await
    }
}

/// Delete alarm `name`; success when it is already gone (`DeleteAlarms` ignores unknown names).
pub(crate) async fn delete(ctx: &Context, guard: &Guard, name: &str) -> Result<()> {
    let req = client(ctx).delete_alarms().alarm_names(name);
    guard
        .send("DeleteAlarms", &["ResourceNotFound"], req.send())
        .await
}

/// The stack's prefix of alarm names (`shop-prod-`).
pub(crate) fn prefix(ctx: &Context) -> String {
    format!("{}-", ctx.env().prefix())
}

/// Every alarm named under the stack's prefix, with its tags: listed once per plan
/// ([`Context::memo`]) and shared by the alarms' observations and the orphan listing (one
/// `DescribeAlarms` and a tag read per alarm, where each alarm read on its own took two calls
/// and the orphan listing a third).
pub(crate) async fn listed(ctx: &Context) -> Result<std::sync::Arc<Vec<(MetricAlarm, Tags)>>> {
    ctx.memo("cloudwatch:alarms", || async {
        let rid = ResourceId::new(KIND_ALARM, "*");
        let pages: Vec<_> = client(ctx)
            .describe_alarms()
            .alarm_name_prefix(prefix(ctx))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| Error::aws(&rid, "DescribeAlarms", e))?;
        let mut out = Vec::new();
        for a in pages.iter().flat_map(|p| p.metric_alarms()) {
            if let Some(arn) = a.alarm_arn() {
                out.push((a.clone(), tags_of(ctx, &rid, arn).await?));
            }
        }
        Ok(out)
    })
    .await
}

/// Alarm `name` and its tags, if it exists: from the plan's listing while planning (when the
/// name is under the stack's prefix), read directly otherwise.
async fn find(ctx: &Context, rid: &ResourceId, name: &str) -> Result<Option<(MetricAlarm, Tags)>> {
    if ctx.planning() && name.starts_with(&prefix(ctx)) {
        let all = listed(ctx).await?;
        return Ok(all
            .iter()
            .find(|(a, _)| a.alarm_name() == Some(name))
            .cloned());
    }
    let Some(found) = describe(ctx, rid, name).await? else {
        return Ok(None);
    };
    let t = tags_of(ctx, rid, found.alarm_arn().unwrap_or_default()).await?;
    Ok(Some((found, t)))
}

/// The metric alarm named `name`, if any.
pub(crate) async fn describe(
    ctx: &Context,
    rid: &ResourceId,
    name: &str,
) -> Result<Option<MetricAlarm>> {
    let out = client(ctx)
        .describe_alarms()
        .alarm_names(name)
        .send()
        .await
        .map_err(|e| Error::aws(rid, "DescribeAlarms", e))?;
    Ok(out
        .metric_alarms()
        .iter()
        .find(|a| a.alarm_name() == Some(name))
        .cloned())
}

/// An alarm's tags: from the plan's tag index when they are the desired ones, else read once per
/// plan (its node and the orphan listing share them).
pub(crate) async fn tags_of(ctx: &Context, rid: &ResourceId, arn: &str) -> Result<Tags> {
    let read = || async {
        let out = client(ctx)
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| Error::aws(rid, "ListTagsForResource", e))?;
        let t = out.tags().iter();
        Ok(Some(
            t.filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect(),
        ))
    };
    let t = skyforge_core::tag_index::read_tags(ctx, ALARMS, arn, read).await?;
    Ok(t.unwrap_or_default())
}

/// Alarms in the plan's tag index.
const ALARMS: skyforge_core::tag_index::IndexedType =
    skyforge_core::tag_index::IndexedType::by_arn("cloudwatch:alarm");

async fn sync_tags(
    ctx: &Context,
    guard: &Guard,
    observed: &Observed,
    desired: &Tags,
) -> Result<()> {
    let arn = observed
        .outputs
        .get("arn")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let d = tags::diff_tags(desired, &tags::from_field(observed.fields.get("tags")));
    if !d.set.is_empty() {
        let req = client(ctx)
            .tag_resource()
            .resource_arn(arn)
            .set_tags(Some(cw_tags(&d.set)));
        guard.send("TagResource", &[], req.send()).await?;
    }
    if !d.remove.is_empty() {
        let req = client(ctx)
            .untag_resource()
            .resource_arn(arn)
            .set_tag_keys(Some(d.remove.to_vec()));
        guard.send("UntagResource", &[], req.send()).await?;
    }
    Ok(())
}

fn cw_tags(t: &Tags) -> Vec<Tag> {
    t.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn observed_form(a: &MetricAlarm) -> Option<SignalForm> {
    let dims = |d: &[Dimension]| {
        let mut v: Vec<(String, String)> = d
            .iter()
            .filter_map(|d| Some((d.name()?.to_string(), d.value()?.to_string())))
            .collect();
        v.sort();
        v
    };
    if let Some(name) = a.metric_name() {
        let stat = a
            .statistic()
            .map(|s| s.as_str().to_string())
            .or_else(|| a.extended_statistic().map(String::from))?;
        return Some(SignalForm::Metric(MetricForm {
            namespace: a.namespace()?.to_string(),
            name: name.to_string(),
            dimensions: dims(a.dimensions()),
            stat,
        }));
    }
    let by_id = |id: &str| a.metrics().iter().find(|q| q.id() == Some(id));
    let stat_form = |q: &MetricDataQuery| {
        let s = q.metric_stat()?;
        let m = s.metric()?;
        Some(MetricForm {
            namespace: m.namespace()?.to_string(),
            name: m.metric_name()?.to_string(),
            dimensions: dims(m.dimensions()),
            stat: s.stat()?.to_string(),
        })
    };
    Some(SignalForm::Percent {
        numerator: stat_form(by_id("m1")?)?,
        denominator: stat_form(by_id("m2")?)?,
        expression: by_id("e1")?.expression()?.to_string(),
    })
}

fn observed_period(a: &MetricAlarm) -> Option<i32> {
    a.period().or_else(|| {
        a.metrics()
            .iter()
            .find_map(|q| q.metric_stat().map(|s| s.period()))
            .flatten()
    })
}

fn observed_of(a: &MetricAlarm) -> Observed {
    let name = a.alarm_name().unwrap_or_default().to_string();
    let mut o = Observed {
        physical_id: name.clone(),
        ..Observed::default()
    };
    let f = &mut o.fields;
    f.insert("name".into(), Value::str(&name));
    let signal = observed_form(a);
    f.insert(
        "metric".into(),
        known(signal.as_ref().map(SignalForm::text)),
    );
    f.insert(
        "dimensions".into(),
        known(signal.as_ref().map(SignalForm::dimensions)),
    );
    f.insert(
        "comparison".into(),
        Value::of(a.comparison_operator().map(|c| c.as_str().to_string())),
    );
    f.insert("threshold".into(), Value::of(a.threshold()));
    f.insert("period_secs".into(), Value::of(observed_period(a)));
    f.insert(
        "evaluation_periods".into(),
        Value::of(a.evaluation_periods()),
    );
    f.insert(
        "datapoints_to_alarm".into(),
        Value::of(a.datapoints_to_alarm().or(a.evaluation_periods())),
    );
    f.insert(
        "treat_missing_data".into(),
        Value::of(a.treat_missing_data().unwrap_or("missing")),
    );
    f.insert(
        "description".into(),
        Value::str(a.alarm_description().unwrap_or_default()),
    );
    f.insert("actions".into(), Value::of(a.alarm_actions()));
    o.outputs
        .insert("arn".into(), a.alarm_arn().unwrap_or_default().into());
    o.outputs.insert("name".into(), name.into());
    o
}

impl AlarmNode {
    async fn put(
        &self,
        ctx: &Context,
        inputs: &Inputs,
        guard: &Guard,
        with_tags: bool,
    ) -> Result<()> {
        let rid = self.id();
        let a = &self.0;
        let actions = self
            .actions(inputs)
            .ok_or_else(|| unknown_input(&rid, "the topic's ARN"))?;
        let mut req = client(ctx)
            .put_metric_alarm()
            .alarm_name(self.name(ctx.env()))
            .alarm_description(&a.description)
            .comparison_operator(ComparisonOperator::from(a.comparison.as_cloudwatch()))
            .threshold(a.threshold)
            .evaluation_periods(a.evaluation_periods as i32)
            .datapoints_to_alarm(a.datapoints.unwrap_or(a.evaluation_periods) as i32)
            .treat_missing_data(a.missing.as_cloudwatch())
            .actions_enabled(true)
            .set_alarm_actions(Some(actions.clone()))
            .set_ok_actions(Some(actions));
        if with_tags {
            req = req.set_tags(Some(cw_tags(&self.desired_tags(ctx.env()))));
        }
        let period = a.period_secs as i32;
        req = match &a.signal {
            Signal::Metric(m) => {
                let dims = dimensions(m, inputs, &rid)?;
                let req = req
                    .namespace(m.namespace)
                    .metric_name(m.name)
                    .set_dimensions(Some(dims))
                    .period(period);
                match m.statistic {
                    Stat::Percentile(_) => req.extended_statistic(m.statistic.as_cloudwatch()),
                    s => req.statistic(Statistic::from(s.as_cloudwatch().as_str())),
                }
            }
            Signal::Percent {
                numerator,
                denominator,
            } => req
                .metrics(query("m1", numerator, period, inputs, &rid)?)
                .metrics(query("m2", denominator, period, inputs, &rid)?)
                .metrics(
                    MetricDataQuery::builder()
                        .id("e1")
                        .expression(PERCENT_EXPRESSION)
                        .label(format!("{} %", a.logical_id))
                        .return_data(true)
                        .build(),
                ),
        };
        guard.send("PutMetricAlarm", &[], req.send()).await
    }
}

fn unknown_input(rid: &ResourceId, what: &str) -> Error {
    Error::Resource {
        resource: rid.to_string(),
        message: format!("{what} is not known at apply time"),
    }
}

fn dimensions(m: &Metric, inputs: &Inputs, rid: &ResourceId) -> Result<Vec<Dimension>> {
    Ok(m.dimensions(inputs)
        .ok_or_else(|| unknown_input(rid, "a dimension of the metric"))?
        .into_iter()
        .map(|(n, v)| Dimension::builder().name(n).value(v).build())
        .collect())
}

fn query(
    id: &str,
    m: &Metric,
    period: i32,
    inputs: &Inputs,
    rid: &ResourceId,
) -> Result<MetricDataQuery> {
    let metric = aws_sdk_cloudwatch::types::Metric::builder()
        .namespace(m.namespace)
        .metric_name(m.name)
        .set_dimensions(Some(dimensions(m, inputs, rid)?))
        .build();
    Ok(MetricDataQuery::builder()
        .id(id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(period)
                .stat(m.statistic.as_cloudwatch())
                .build(),
        )
        .return_data(false)
        .build())
}
