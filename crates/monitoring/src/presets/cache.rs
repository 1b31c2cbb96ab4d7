//! The cache preset (feature `elasticache`).

use skyforge_cache::CacheHandle;

use super::{AlarmSet, Alarms, percent_above};
use crate::alarm::{Alarm, Missing};
use crate::metric;
use crate::topic::TopicHandle;

impl Alarms {
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
