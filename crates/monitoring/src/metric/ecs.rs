//! Metrics of ECS services (feature `ecs`).

use skyforge_compute::ServiceHandle;

use super::{Metric, Shape, Stat};

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
