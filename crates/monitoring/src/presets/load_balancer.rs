//! The load-balancer preset (feature `elbv2`).

use skyforge_loadbalancing::LoadBalancerHandle;

use super::{AlarmSet, Alarms};
use crate::alarm::{Alarm, Missing};
use crate::metric;
use crate::topic::TopicHandle;

impl Alarms {
    /// The load balancer itself: more than 10 5xx answers of its own in 5 minutes (a load
    /// balancer shared by several services gets one such alarm, not one per service).
    pub fn load_balancer(name: &str, lb: &LoadBalancerHandle) -> LoadBalancer {
        LoadBalancer {
            name: name.to_string(),
            lb: lb.clone(),
            elb_5xx: Some(10.0),
        }
    }
}

/// See [`Alarms::load_balancer`].
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    name: String,
    lb: LoadBalancerHandle,
    /// ELB 5xx answers in 5 minutes.
    pub elb_5xx: Option<f64>,
}

impl LoadBalancer {
    /// Change the threshold.
    pub fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
    /// The alarms, notifying `topic`.
    pub fn notify(&self, topic: &TopicHandle) -> AlarmSet {
        let m = metric::load_balancer(&self.lb);
        let v = self.elb_5xx.map(|n| {
            Alarm::new(format!("{}-elb-5xx", self.name), m.elb_5xx())
                .above(n)
                .periods(300, 1)
                .missing(Missing::NotBreaching)
                .describe(format!(
                    "more than {n} 5xx answers of the load balancer itself in 5 minutes (not the application's)"
                ))
                .notify(topic)
        });
        AlarmSet(v.into_iter().collect())
    }
}
