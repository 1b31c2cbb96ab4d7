//! Metrics named from the other crates' handles: namespace, metric name and dimensions are
//! never typed by hand, and every dimension value is an output of a node of the same stack.

use serde_json::{Value as Json, json};
use skyforge_core::{Inputs, NodeId, Ref};

#[cfg(feature = "elasticache")]
mod cache;
#[cfg(feature = "ecs")]
mod ecs;
#[cfg(feature = "elbv2")]
mod elb;
#[cfg(feature = "rds")]
mod rds;

#[cfg(feature = "elasticache")]
pub use cache::{CacheMetrics, cache};
#[cfg(feature = "ecs")]
pub use ecs::{ServiceMetrics, service};
#[cfg(feature = "elbv2")]
pub use elb::{LoadBalancerMetrics, TargetGroupMetrics, load_balancer, target_group};
#[cfg(feature = "rds")]
pub use rds::{DatabaseMetrics, database};

/// How a dimension value is read from the output it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The output as it is (a cluster, service or instance name).
    #[cfg_attr(not(any(feature = "ecs", feature = "rds")), allow(dead_code))]
    Whole,
    /// The part of an ELB ARN CloudWatch uses: `app/<name>/<id>` after `:loadbalancer/`, or
    /// `targetgroup/<name>/<id>` after the last `:`.
    #[cfg_attr(not(feature = "elbv2"), allow(dead_code))]
    ArnSuffix,
    /// The first node of a replication group (`<id>-001`, its primary at creation).
    #[cfg_attr(not(feature = "elasticache"), allow(dead_code))]
    FirstCacheNode,
}

/// One dimension: its name and the output its value comes from.
#[derive(Debug, Clone)]
pub(crate) struct Dimension {
    pub(crate) name: &'static str,
    pub(crate) from: Ref<String>,
    pub(crate) shape: Shape,
}

impl Dimension {
    fn resolve(&self, inputs: &Inputs) -> Option<String> {
        let raw: String = inputs.get(&self.from)?;
        Some(match self.shape {
            Shape::Whole => raw,
            Shape::ArnSuffix => match raw.split_once(":loadbalancer/") {
                Some((_, suffix)) => suffix.to_string(),
                None => raw.rsplit(':').next().unwrap_or_default().to_string(),
            },
            Shape::FirstCacheNode => format!("{raw}-001"),
        })
    }
}

/// A CloudWatch metric of a resource of the stack.
#[derive(Debug, Clone)]
pub struct Metric {
    pub(crate) namespace: &'static str,
    pub(crate) name: &'static str,
    pub(crate) dimensions: Vec<Dimension>,
    pub(crate) statistic: Stat,
}

/// The statistic of a metric over each period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stat {
    /// The mean.
    Average,
    /// The total (counts).
    Sum,
    /// The largest value.
    Maximum,
    /// The smallest value (healthy hosts: the worst moment of the period).
    Minimum,
    /// A percentile, 0 < p < 100 (`p99` response time).
    Percentile(f64),
}

impl Stat {
    /// CloudWatch's name of it (`Average`, `p99`).
    pub fn as_cloudwatch(&self) -> String {
        match self {
            Stat::Average => "Average".into(),
            Stat::Sum => "Sum".into(),
            Stat::Maximum => "Maximum".into(),
            Stat::Minimum => "Minimum".into(),
            Stat::Percentile(p) => format!("p{p}"),
        }
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
impl Metric {
    fn new(namespace: &'static str, name: &'static str, statistic: Stat) -> Metric {
        Metric {
            namespace,
            name,
            dimensions: Vec::new(),
            statistic,
        }
    }
    fn dim(mut self, name: &'static str, from: Ref<String>, shape: Shape) -> Metric {
        self.dimensions.push(Dimension { name, from, shape });
        self
    }
    /// The same metric with another statistic.
    pub fn stat(mut self, statistic: Stat) -> Metric {
        self.statistic = statistic;
        self
    }
    /// `AWS/ECS`, `CPUUtilization`, ...
    pub fn namespace(&self) -> &str {
        self.namespace
    }
    /// The metric name.
    pub fn name(&self) -> &str {
        self.name
    }
    /// The nodes whose outputs the dimensions come from.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.dimensions.iter().map(|d| d.from.node()).collect()
    }
    /// The dimensions with their values, once every output is known.
    pub fn dimensions(&self, inputs: &Inputs) -> Option<Vec<(String, String)>> {
        self.dimensions
            .iter()
            .map(|d| d.resolve(inputs).map(|v| (d.name.to_string(), v)))
            .collect()
    }
    /// The dashboard form: `[namespace, name, dim, value, ..., {stat}]`.
    pub(crate) fn widget_line(&self, inputs: &Inputs, label: &str) -> Option<Json> {
        let mut line = vec![json!(self.namespace), json!(self.name)];
        for (n, v) in self.dimensions(inputs)? {
            line.push(json!(n));
            line.push(json!(v));
        }
        line.push(json!({"stat": self.statistic.as_cloudwatch(), "label": label}));
        Some(Json::Array(line))
    }
}
