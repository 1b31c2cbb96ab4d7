//! Metrics named from the other crates' handles: namespace, metric name and dimensions are
//! never typed by hand, and every dimension value is an output of a node of the same stack.

use serde_json::{Value as Json, json};
use skyforge_cache::CacheHandle;
use skyforge_compute::ServiceHandle;
use skyforge_core::{Inputs, NodeId, Ref};
use skyforge_database::DatabaseHandle;
use skyforge_loadbalancing::{LoadBalancerHandle, TargetGroupRef};

/// How a dimension value is read from the output it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// The output as it is (a cluster, service or instance name).
    Whole,
    /// The part of an ELB ARN CloudWatch uses: `app/<name>/<id>` after `:loadbalancer/`, or
    /// `targetgroup/<name>/<id>` after the last `:`.
    ArnSuffix,
    /// The first node of a replication group (`<id>-001`, its primary at creation).
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

/// Metrics of an ECS service (`AWS/ECS`; running tasks from Container Insights).
pub fn service(svc: &ServiceHandle) -> ServiceMetrics {
    ServiceMetrics(svc.clone())
}

/// See [`service`].
#[derive(Debug, Clone)]
pub struct ServiceMetrics(ServiceHandle);

impl ServiceMetrics {
    fn of(&self, ns: &'static str, name: &'static str, stat: Stat) -> Metric {
        Metric::new(ns, name, stat)
            .dim("ClusterName", self.0.cluster_name(), Shape::Whole)
            .dim("ServiceName", self.0.name(), Shape::Whole)
    }
    /// Average CPU of the service's tasks, percent of what they reserve.
    pub fn cpu(&self) -> Metric {
        self.of("AWS/ECS", "CPUUtilization", Stat::Average)
    }
    /// Average memory of the service's tasks, percent of what they reserve.
    pub fn memory(&self) -> Metric {
        self.of("AWS/ECS", "MemoryUtilization", Stat::Average)
    }
    /// Tasks running (Container Insights must be on for the cluster; it is by default).
    pub fn running_tasks(&self) -> Metric {
        self.of("ECS/ContainerInsights", "RunningTaskCount", Stat::Minimum)
    }
}

/// Metrics of the load balancer itself (`AWS/ApplicationELB`, dimension `LoadBalancer`).
pub fn load_balancer(lb: &LoadBalancerHandle) -> LoadBalancerMetrics {
    LoadBalancerMetrics(lb.arn())
}

/// See [`load_balancer`].
#[derive(Debug, Clone)]
pub struct LoadBalancerMetrics(Ref<String>);

impl LoadBalancerMetrics {
    fn of(&self, name: &'static str, stat: Stat) -> Metric {
        Metric::new("AWS/ApplicationELB", name, stat).dim("LoadBalancer", self.0, Shape::ArnSuffix)
    }
    /// 5xx answers the load balancer made itself (no healthy target, a target timing out):
    /// not the application's 5xx, which are [`TargetGroupMetrics::target_5xx`].
    pub fn elb_5xx(&self) -> Metric {
        self.of("HTTPCode_ELB_5XX_Count", Stat::Sum)
    }
    /// Requests served.
    pub fn requests(&self) -> Metric {
        self.of("RequestCount", Stat::Sum)
    }
    /// Response time, 99th percentile, seconds.
    pub fn response_time_p99(&self) -> Metric {
        self.of("TargetResponseTime", Stat::Percentile(99.0))
    }
}

/// Metrics of one target group (`AWS/ApplicationELB`, dimensions `TargetGroup` and
/// `LoadBalancer`).
pub fn target_group(tg: &TargetGroupRef) -> TargetGroupMetrics {
    TargetGroupMetrics(tg.clone())
}

/// See [`target_group`].
#[derive(Debug, Clone)]
pub struct TargetGroupMetrics(TargetGroupRef);

impl TargetGroupMetrics {
    fn of(&self, name: &'static str, stat: Stat) -> Metric {
        Metric::new("AWS/ApplicationELB", name, stat)
            .dim("TargetGroup", self.0.arn, Shape::ArnSuffix)
            .dim("LoadBalancer", self.0.load_balancer_arn, Shape::ArnSuffix)
    }
    /// 5xx answers of the application behind the group.
    pub fn target_5xx(&self) -> Metric {
        self.of("HTTPCode_Target_5XX_Count", Stat::Sum)
    }
    /// Requests the group's targets received.
    pub fn requests(&self) -> Metric {
        self.of("RequestCount", Stat::Sum)
    }
    /// Targets passing their health check (the worst moment of each period).
    pub fn healthy_hosts(&self) -> Metric {
        self.of("HealthyHostCount", Stat::Minimum)
    }
    /// Targets failing their health check (the worst moment of each period).
    pub fn unhealthy_hosts(&self) -> Metric {
        self.of("UnHealthyHostCount", Stat::Maximum)
    }
    /// Response time of the group's targets, 99th percentile, seconds.
    pub fn response_time_p99(&self) -> Metric {
        self.of("TargetResponseTime", Stat::Percentile(99.0))
    }
}

/// Metrics of an RDS instance (`AWS/RDS`, dimension `DBInstanceIdentifier`).
pub fn database(db: &DatabaseHandle) -> DatabaseMetrics {
    DatabaseMetrics(db.identifier())
}

/// See [`database`].
#[derive(Debug, Clone)]
pub struct DatabaseMetrics(Ref<String>);

impl DatabaseMetrics {
    fn of(&self, name: &'static str, stat: Stat) -> Metric {
        Metric::new("AWS/RDS", name, stat).dim("DBInstanceIdentifier", self.0, Shape::Whole)
    }
    /// CPU, percent.
    pub fn cpu(&self) -> Metric {
        self.of("CPUUtilization", Stat::Average)
    }
    /// Free storage, bytes (the worst moment of each period).
    pub fn free_storage(&self) -> Metric {
        self.of("FreeStorageSpace", Stat::Minimum)
    }
    /// Open connections.
    pub fn connections(&self) -> Metric {
        self.of("DatabaseConnections", Stat::Maximum)
    }
    /// Free memory, bytes.
    pub fn freeable_memory(&self) -> Metric {
        self.of("FreeableMemory", Stat::Minimum)
    }
}

/// Metrics of an ElastiCache replication group's first node (`AWS/ElastiCache`, dimension
/// `CacheClusterId` = `<group>-001`, the primary at creation).
pub fn cache(c: &CacheHandle) -> CacheMetrics {
    CacheMetrics(c.identifier())
}

/// See [`cache`].
#[derive(Debug, Clone)]
pub struct CacheMetrics(Ref<String>);

impl CacheMetrics {
    fn of(&self, name: &'static str, stat: Stat) -> Metric {
        Metric::new("AWS/ElastiCache", name, stat).dim(
            "CacheClusterId",
            self.0,
            Shape::FirstCacheNode,
        )
    }
    /// CPU of the Redis engine thread, percent.
    pub fn engine_cpu(&self) -> Metric {
        self.of("EngineCPUUtilization", Stat::Average)
    }
    /// Memory used, percent of `maxmemory`.
    pub fn memory(&self) -> Metric {
        self.of("DatabaseMemoryUsagePercentage", Stat::Average)
    }
    /// Keys evicted for lack of memory.
    pub fn evictions(&self) -> Metric {
        self.of("Evictions", Stat::Sum)
    }
}
