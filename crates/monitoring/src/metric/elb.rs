//! Metrics of load balancers and target groups (feature `elbv2`).

use skyforge_core::Ref;
use skyforge_loadbalancing::{LoadBalancerHandle, TargetGroupRef};

use super::{Metric, Shape, Stat};

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
