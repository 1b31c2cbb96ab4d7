//! The web-service preset (features `ecs` and `elbv2`).

use skyforge_compute::ServiceHandle;
use skyforge_loadbalancing::TargetGroupRef;

use super::{AlarmSet, Alarms, percent_above};
use crate::alarm::{Alarm, Missing, Signal};
use crate::metric;
use crate::topic::TopicHandle;

impl Alarms {
    /// A service behind a target group: CPU > 80 % and memory > 90 % for 5 minutes, error rate
    /// (target 5xx / requests) > 1 % for 5 minutes, any unhealthy target for 5 minutes, no
    /// healthy target for 2 minutes (the service is unavailable).
    pub fn web_service(name: &str, svc: &ServiceHandle, tg: &TargetGroupRef) -> WebService {
        WebService {
            name: name.to_string(),
            svc: svc.clone(),
            tg: tg.clone(),
            cpu_percent: Some(80.0),
            memory_percent: Some(90.0),
            error_rate_percent: Some(1.0),
            unhealthy_targets: true,
            unavailable: true,
        }
    }
}

/// See [`Alarms::web_service`].
#[derive(Debug, Clone)]
pub struct WebService {
    name: String,
    svc: ServiceHandle,
    tg: TargetGroupRef,
    /// CPU threshold, percent.
    pub cpu_percent: Option<f64>,
    /// Memory threshold, percent.
    pub memory_percent: Option<f64>,
    /// Error-rate threshold, percent of requests.
    pub error_rate_percent: Option<f64>,
    /// Alarm on any unhealthy target.
    pub unhealthy_targets: bool,
    /// Alarm when no target is healthy.
    pub unavailable: bool,
}

impl WebService {
    /// Change the thresholds (`|p| p.cpu_percent = Some(70.0)`).
    pub fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
    /// The alarms, notifying `topic`.
    pub fn notify(&self, topic: &TopicHandle) -> AlarmSet {
        let (n, s, t) = (
            &self.name,
            metric::service(&self.svc),
            metric::target_group(&self.tg),
        );
        let mut v = Vec::new();
        if let Some(p) = self.cpu_percent {
            v.push(percent_above(
                format!("{n}-cpu"),
                s.cpu(),
                p,
                &format!("{n} CPU"),
            ));
        }
        if let Some(p) = self.memory_percent {
            v.push(percent_above(
                format!("{n}-memory"),
                s.memory(),
                p,
                &format!("{n} memory"),
            ));
        }
        if let Some(p) = self.error_rate_percent {
            let rate = Signal::percent(t.target_5xx(), t.requests());
            v.push(
                percent_above(
                    format!("{n}-error-rate"),
                    rate,
                    p,
                    &format!("{n} 5xx answers"),
                )
                .missing(Missing::NotBreaching),
            );
        }
        if self.unhealthy_targets {
            v.push(
                Alarm::new(format!("{n}-unhealthy-targets"), t.unhealthy_hosts())
                    .above(0.0)
                    .for_minutes(5)
                    .missing(Missing::NotBreaching)
                    .describe(format!(
                        "{n}: a target failed its health checks for 5 minutes"
                    )),
            );
        }
        if self.unavailable {
            v.push(
                Alarm::new(format!("{n}-unavailable"), t.healthy_hosts())
                    .below(1.0)
                    .for_minutes(2)
                    .missing(Missing::Breaching)
                    .describe(format!(
                        "{n}: no healthy target for 2 minutes, the service is unavailable"
                    )),
            );
        }
        AlarmSet(v.into_iter().map(|a| a.notify(topic)).collect())
    }
}
