//! # skyforge-monitoring
//!
//! CloudWatch alarms bound to the other crates' handles, an SNS topic whose notifications really
//! arrive, and a dashboard generated from the same handles.
//!
//! - **Metrics** ([`metrics`]) come from handles: `metrics::service(&svc).cpu()`,
//!   `metrics::target_group(&tg).healthy_hosts()`; namespace, metric name and dimensions are
//!   never typed by hand, and a handle of another stack is refused when the stack is planned.
//! - **Alarms** ([`Alarm`]): above / below a threshold for some periods, missing data counted
//!   as the signal needs (`NotBreaching` for sparse 5xx counts, `Breaching` for healthy
//!   hosts), metric math for percentages ([`Signal::percent`], an error rate is target 5xx over
//!   requests). ELB 5xx (the load balancer's own) and target 5xx (the application's) are
//!   separate metrics. `PutMetricAlarm` is an upsert, so every change is in place.
//! - **Presets** ([`Alarms`]): a web service, a load balancer, a database, a cache, with the
//!   source systems' thresholds, each overridable.
//! - **Topic** ([`Topic`]): encrypted with a customer-managed key made with it, whose policy
//!   lets CloudWatch, EventBridge, RDS and ElastiCache encrypt (the AWS-managed `alias/aws/sns`
//!   key makes CloudWatch drop notifications silently, so it is refused); a topic policy that
//!   lets those services publish; email and HTTPS subscriptions, shown as pending on a person
//!   until confirmed.
//! - **Dashboard** ([`Dashboard`]): a row of graphs per resource.
//! - The `TargetTracking-*` alarms autoscaling creates are never listed, touched or drift.
//! - **Features**: each source of metrics is a feature, all on by default: `ecs`
//!   (`skyforge-compute`), `elbv2` (`skyforge-loadbalancing`), `rds` (`skyforge-database`),
//!   `elasticache` (`skyforge-cache`). A tool that watches only an ECS service behind a load
//!   balancer adds `default-features = false, features = ["ecs", "elbv2"]` and builds neither
//!   RDS's nor ElastiCache's SDK crates.
//!
//! ```
//! # #[cfg(feature = "ecs")] {
//! use skyforge_core::{Environment, Stack, Stage};
//! use skyforge_monitoring::{Alarm, Subscription, Topic, metrics};
//! # fn f(svc: &skyforge_compute::ServiceHandle) {
//! let mut stack = Stack::new(Environment::new("dougust", Stage::Prod).region("us-east-1"));
//! let topic = stack.add(Topic::new("alerts").subscribe(Subscription::Email("oncall@example.com".into())));
//! stack.add(
//!     Alarm::new("api-cpu", metrics::service(svc).cpu())
//!         .above(80.0)
//!         .for_minutes(5)
//!         .notify(&topic),
//! );
//! # }
//! # }
//! ```
#![warn(missing_docs)]

mod alarm;
mod alarm_node;
mod dashboard;
mod key;
mod metric;
mod owned;
mod presets;
mod subscription;
mod topic;
mod topic_node;

/// Metrics of the other crates' resources (each source behind its feature: `ecs`, `elbv2`,
/// `rds`, `elasticache`).
pub mod metrics {
    #[cfg(feature = "elasticache")]
    pub use crate::metric::{CacheMetrics, cache};
    #[cfg(feature = "rds")]
    pub use crate::metric::{DatabaseMetrics, database};
    #[cfg(feature = "elbv2")]
    pub use crate::metric::{LoadBalancerMetrics, TargetGroupMetrics, load_balancer, target_group};
    pub use crate::metric::{Metric, Stat};
    #[cfg(feature = "ecs")]
    pub use crate::metric::{ServiceMetrics, service};
}

pub use alarm::{Alarm, Comparison, Missing, Signal};
pub use alarm_node::KIND_ALARM;
pub use dashboard::{Dashboard, KIND_DASHBOARD};
pub use key::KIND_KEY;
pub use owned::register_kinds;
#[cfg(feature = "elasticache")]
pub use presets::Cache;
#[cfg(feature = "rds")]
pub use presets::Database;
#[cfg(feature = "elbv2")]
pub use presets::LoadBalancer;
#[cfg(all(feature = "ecs", feature = "elbv2"))]
pub use presets::WebService;
pub use presets::{AlarmSet, Alarms};
pub use subscription::KIND_SUBSCRIPTION;
pub use topic::{Encryption, Subscription, Topic, TopicHandle};
pub use topic_node::KIND_TOPIC;

impl skyforge_core::Component for Alarm {
    type Handle = skyforge_core::NodeId;
    fn add_to(self, stack: &mut skyforge_core::Stack) -> skyforge_core::NodeId {
        owned::register_kinds(stack);
        stack.add_resource(alarm_node::AlarmNode(self))
    }
}

/// The README's example, compiled (and run where it needs no AWS account) as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
