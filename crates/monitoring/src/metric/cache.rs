//! Metrics of ElastiCache replication groups (feature `elasticache`).

use skyforge_cache::CacheHandle;
use skyforge_core::Ref;

use super::{Metric, Shape, Stat};

/// Metrics of an ElastiCache replication group's first node (`AWS/ElastiCache`, dimension
/// `CacheClusterId` = `<group>-001`, the primary at creation).
pub fn cache(c: &CacheHandle) -> CacheMetrics {
    CacheMetrics(c.identifier())
}

/// See [`cache`].
#[derive(Debug, Clone)]
pub struct CacheMetrics(Ref<String>);

impl CacheMetrics {
    fn of(&self, name: &'static str, stat: Stat) -> Metric {
        Metric::new("AWS/ElastiCache", name, stat).dim(
            "CacheClusterId",
            self.0,
            Shape::FirstCacheNode,
        )
    }
    /// CPU of the Redis engine thread, percent.
    pub fn engine_cpu(&self) -> Metric {
        self.of("EngineCPUUtilization", Stat::Average)
    }
    /// Memory used, percent of `maxmemory`.
    pub fn memory(&self) -> Metric {
        self.of("DatabaseMemoryUsagePercentage", Stat::Average)
    }
    /// Keys evicted for lack of memory.
    pub fn evictions(&self) -> Metric {
        self.of("Evictions", Stat::Sum)
    }
}
