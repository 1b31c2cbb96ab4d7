//! Alarm sets with the thresholds the source systems ask for, each threshold overridable or
//! switched off (`None`).

use skyforge_core::{Component, NodeId, Stack};

use crate::alarm::Alarm;
#[cfg(any(
    all(feature = "ecs", feature = "elbv2"),
    feature = "rds",
    feature = "elasticache"
))]
use crate::alarm::Signal;

#[cfg(feature = "elasticache")]
mod cache;
#[cfg(feature = "rds")]
mod database;
#[cfg(feature = "elbv2")]
mod load_balancer;
#[cfg(all(feature = "ecs", feature = "elbv2"))]
mod web;

#[cfg(feature = "elasticache")]
pub use cache::Cache;
#[cfg(feature = "rds")]
pub use database::Database;
#[cfg(feature = "elbv2")]
pub use load_balancer::LoadBalancer;
#[cfg(all(feature = "ecs", feature = "elbv2"))]
pub use web::WebService;

/// Several alarms added at once.
#[derive(Debug, Clone, Default)]
pub struct AlarmSet(pub Vec<Alarm>);

impl AlarmSet {
    /// The alarms.
    pub fn alarms(&self) -> &[Alarm] {
        &self.0
    }
}

impl Component for AlarmSet {
    type Handle = Vec<NodeId>;
    fn add_to(self, stack: &mut Stack) -> Vec<NodeId> {
        self.0.into_iter().map(|a| stack.add(a)).collect()
    }
}

/// The preset alarm sets, one constructor per source crate's handle, each behind that source's
/// feature (`ecs` and `elbv2` for a web service; `elbv2`, `rds`, `elasticache`).
pub struct Alarms;

#[cfg(any(
    all(feature = "ecs", feature = "elbv2"),
    feature = "rds",
    feature = "elasticache"
))]
fn percent_above(id: String, signal: impl Into<Signal>, threshold: f64, what: &str) -> Alarm {
    Alarm::new(id, signal)
        .above(threshold)
        .for_minutes(5)
        .describe(format!("{what} above {threshold} % for 5 minutes"))
}
