//! Alarm sets with the thresholds the source systems ask for, each threshold overridable or
//! switched off (`None`).

use skyforge_cache::CacheHandle;
use skyforge_compute::ServiceHandle;
use skyforge_core::{Component, NodeId, Stack};
use skyforge_database::DatabaseHandle;
use skyforge_loadbalancing::{LoadBalancerHandle, TargetGroupRef};

use crate::alarm::{Alarm, Comparison, Missing, Signal};
use crate::metric;
use crate::topic::TopicHandle;

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

/// The preset alarm sets.
pub struct Alarms;

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
    /// The load balancer itself: more than 10 5xx answers of its own in 5 minutes (a load
    /// balancer shared by several services gets one such alarm, not one per service).
    pub fn load_balancer(name: &str, lb: &LoadBalancerHandle) -> LoadBalancer {
        LoadBalancer {
            name: name.to_string(),
            lb: lb.clone(),
            elb_5xx: Some(10.0),
        }
    }
    /// A database of `allocated_gb`: CPU > 80 % for 5 minutes, free storage < 20 % of the
    /// allocation, no open connection for 5 minutes (the application cannot reach it).
    pub fn database(db: &DatabaseHandle, allocated_gb: u32) -> Database {
        Database {
            db: db.clone(),
            allocated_gb,
            cpu_percent: Some(80.0),
            free_storage_percent: Some(20.0),
            no_connections: true,
            max_connections: None,
        }
    }
    /// A cache: engine CPU > 80 % and memory > 80 % for 5 minutes, evictions.
    pub fn cache(c: &CacheHandle) -> Cache {
        Cache {
            c: c.clone(),
            engine_cpu_percent: Some(80.0),
            memory_percent: Some(80.0),
            evictions: true,
        }
    }
}

fn percent_above(id: String, signal: impl Into<Signal>, threshold: f64, what: &str) -> Alarm {
    Alarm::new(id, signal)
        .above(threshold)
        .for_minutes(5)
        .describe(format!("{what} above {threshold} % for 5 minutes"))
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

/// See [`Alarms::database`].
#[derive(Debug, Clone)]
pub struct Database {
    db: DatabaseHandle,
    allocated_gb: u32,
    /// CPU threshold, percent.
    pub cpu_percent: Option<f64>,
    /// Free storage threshold, percent of the allocation.
    pub free_storage_percent: Option<f64>,
    /// Alarm when no connection is open for 5 minutes.
    pub no_connections: bool,
    /// Alarm above this many connections for 5 minutes.
    pub max_connections: Option<f64>,
}

impl Database {
    /// Change the thresholds.
    pub fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
    /// The alarms, notifying `topic`.
    pub fn notify(&self, topic: &TopicHandle) -> AlarmSet {
        let n = self.db.logical_id();
        let m = metric::database(&self.db);
        let mut v = Vec::new();
        if let Some(p) = self.cpu_percent {
            v.push(percent_above(
                format!("{n}-cpu"),
                m.cpu(),
                p,
                &format!("{n} CPU"),
            ));
        }
        if let Some(p) = self.free_storage_percent {
            let bytes = f64::from(self.allocated_gb) * 1024.0 * 1024.0 * 1024.0 * p / 100.0;
            v.push(
                Alarm::new(format!("{n}-free-storage"), m.free_storage())
                    .below(bytes)
                    .for_minutes(5)
                    .describe(format!(
                        "{n}: less than {p} % of its {} GB free",
                        self.allocated_gb
                    )),
            );
        }
        if self.no_connections {
            v.push(
                Alarm::new(format!("{n}-no-connections"), m.connections())
                    .when(Comparison::Below, 1.0)
                    .for_minutes(5)
                    .missing(Missing::Breaching)
                    .describe(format!(
                        "{n}: no open connection for 5 minutes (the application cannot reach it)"
                    )),
            );
        }
        if let Some(c) = self.max_connections {
            v.push(
                Alarm::new(format!("{n}-connections"), m.connections())
                    .above(c)
                    .for_minutes(5)
                    .describe(format!("{n}: more than {c} connections for 5 minutes")),
            );
        }
        AlarmSet(v.into_iter().map(|a| a.notify(topic)).collect())
    }
}

/// See [`Alarms::cache`].
#[derive(Debug, Clone)]
pub struct Cache {
    c: CacheHandle,
    /// Engine CPU threshold, percent.
    pub engine_cpu_percent: Option<f64>,
    /// Memory threshold, percent of `maxmemory`.
    pub memory_percent: Option<f64>,
    /// Alarm on evictions.
    pub evictions: bool,
}

impl Cache {
    /// Change the thresholds.
    pub fn with(mut self, f: impl FnOnce(&mut Self)) -> Self {
        f(&mut self);
        self
    }
    /// The alarms, notifying `topic`.
    pub fn notify(&self, topic: &TopicHandle) -> AlarmSet {
        let n = self.c.logical_id();
        let m = metric::cache(&self.c);
        let mut v = Vec::new();
        if let Some(p) = self.engine_cpu_percent {
            v.push(percent_above(
                format!("{n}-engine-cpu"),
                m.engine_cpu(),
                p,
                &format!("{n} engine CPU"),
            ));
        }
        if let Some(p) = self.memory_percent {
            v.push(percent_above(
                format!("{n}-memory"),
                m.memory(),
                p,
                &format!("{n} memory"),
            ));
        }
        if self.evictions {
            v.push(
                Alarm::new(format!("{n}-evictions"), m.evictions())
                    .above(0.0)
                    .for_minutes(5)
                    .missing(Missing::NotBreaching)
                    .describe(format!(
                        "{n}: keys evicted for lack of memory for 5 minutes"
                    )),
            );
        }
        AlarmSet(v.into_iter().map(|a| a.notify(topic)).collect())
    }
}
