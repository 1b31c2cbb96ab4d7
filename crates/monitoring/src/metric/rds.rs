//! Metrics of RDS instances (feature `rds`).

use skyforge_core::Ref;
use skyforge_database::DatabaseHandle;

use super::{Metric, Shape, Stat};

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
