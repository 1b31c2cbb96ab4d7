//! The database preset (feature `rds`).

use skyforge_database::DatabaseHandle;

use super::{AlarmSet, Alarms, percent_above};
use crate::alarm::{Alarm, Comparison, Missing};
use crate::metric;
use crate::topic::TopicHandle;

impl Alarms {
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
