//! The `Redis` builder: what a user declares.

use std::collections::BTreeMap;

use skyforge_core::{Environment, Result};
use skyforge_network::{GroupHandle, NotPublic, SubnetHandle, Subnets};
use typed_builder::TypedBuilder;

pub use skyforge_core::window::ApplyMode;

/// The engine: Redis OSS or Valkey (same API).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// Redis OSS.
    Redis,
    /// Valkey.
    Valkey,
}

impl Engine {
    /// As ElastiCache spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Redis => "redis",
            Engine::Valkey => "valkey",
        }
    }
}

/// The cache's subnets: private or isolated only (public subnets do not type-check).
#[derive(Debug, Clone)]
pub struct CacheSubnets(pub(crate) Vec<SubnetHandle>);

impl<K: NotPublic> From<Subnets<K>> for CacheSubnets {
    fn from(s: Subnets<K>) -> Self {
        CacheSubnets(s.handles().to_vec())
    }
}

impl<K: NotPublic> From<&Subnets<K>> for CacheSubnets {
    fn from(s: &Subnets<K>) -> Self {
        CacheSubnets(s.handles().to_vec())
    }
}

/// An ElastiCache replication group (cluster mode disabled: one primary and up to five
/// replicas) with its subnet group, parameter group, security group, slow-log delivery, AUTH
/// token and `REDIS_URL` secret.
///
/// Defaults are secure and each downgrade is a plan warning: encryption at rest and in transit,
/// an AUTH token generated into Secrets Manager, private placement, a final snapshot on deletion
/// outside ephemeral stages.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Redis>))]
pub struct RedisSpec {
    /// Logical id (`cache`); the group id defaults to `project-stage[-owner]-<id>`.
    #[builder(setter(into))]
    pub logical_id: String,
    /// The VPC (`net.vpc_id()`), for the security group.
    #[builder(setter(into))]
    pub vpc: skyforge_core::Input<String>,
    /// Private or isolated subnets (`net.private()`).
    #[builder(setter(into))]
    pub subnets: CacheSubnets,
    /// The only security groups allowed to connect, on the port (the API's group).
    #[builder(default)]
    pub allow_from: Vec<GroupHandle>,
    /// Redis OSS (default) or Valkey.
    #[builder(default = Engine::Redis)]
    pub engine: Engine,
    /// Engine version, `major.minor` (`"7.1"`).
    #[builder(setter(into))]
    pub version: String,
    /// Node type (`cache.t3.micro`).
    #[builder(setter(into))]
    pub node_type: String,
    /// Read replicas besides the primary (0 to 5), in every shard.
    #[builder(default)]
    pub replicas: u32,
    /// Cluster mode enabled with this many shards (1 to 500), each a primary and `replicas`
    /// replicas; clients connect to the configuration endpoint. `None` (the default): cluster
    /// mode disabled, one primary. Switching between the two replaces the group; the shard count
    /// changes in place.
    #[builder(default, setter(strip_option))]
    pub shards: Option<u32>,
    /// Promote a replica when the primary fails; default: on when there is a replica.
    #[builder(default, setter(strip_option))]
    pub automatic_failover: Option<bool>,
    /// Place the replicas in other zones than the primary; default: on in prod when failover is.
    #[builder(default, setter(strip_option))]
    pub multi_az: Option<bool>,
    /// Port; default 6379.
    #[builder(default = 6379)]
    pub port: u16,
    /// Days of automatic snapshots (0 to 35, 0 = none); default 7 in prod, 0 elsewhere.
    #[builder(default, setter(strip_option))]
    pub snapshot_retention_days: Option<u32>,
    /// Daily snapshot window `hh24:mi-hh24:mi` UTC; default chosen by ElastiCache.
    #[builder(default, setter(strip_option, into))]
    pub snapshot_window: Option<String>,
    /// Weekly maintenance window `ddd:hh24:mi-ddd:hh24:mi` UTC; default chosen by ElastiCache.
    #[builder(default, setter(strip_option, into))]
    pub maintenance_window: Option<String>,
    /// When node-type and engine changes are made; default: in the maintenance window in prod,
    /// now elsewhere.
    #[builder(default, setter(strip_option))]
    pub apply: Option<ApplyMode>,
    /// Encrypt at rest (default on; changing it replaces the group).
    #[builder(default = true)]
    pub at_rest_encryption: bool,
    /// A customer managed KMS key for encryption at rest.
    #[builder(default, setter(strip_option, into))]
    pub kms_key_id: Option<String>,
    /// TLS between clients and the cache (default on; changing it replaces the group).
    #[builder(default = true)]
    pub transit_encryption: bool,
    /// Require an AUTH token, generated into Secrets Manager (default on; needs TLS).
    #[builder(default = true)]
    pub auth: bool,
    /// Length of the generated token (16 to 128); default 32.
    #[builder(default = 32)]
    pub token_length: u32,
    /// Rotation token of the AUTH token: changing it generates a new one and sets it on the
    /// group (strategy `SET`) and in the URL secret in the same apply.
    #[builder(default, setter(into))]
    pub token_rotation: String,
    /// Parameters of the parameter group (`maxmemory-policy`).
    #[builder(default)]
    pub parameters: BTreeMap<String, String>,
    /// Deliver the slow log to CloudWatch Logs (default on).
    #[builder(default = true)]
    pub slow_log: bool,
    /// Retention of the delivered logs in days; default 14.
    #[builder(default = 14)]
    pub log_retention_days: u32,
    /// Take a final snapshot on deletion; default on outside ephemeral stages.
    #[builder(default, setter(strip_option))]
    pub final_snapshot: Option<bool>,
    /// Replication group id (at most 40 characters); default the stack's name for `logical_id`.
    #[builder(default, setter(strip_option, into))]
    pub identifier: Option<String>,
    /// Name of the `REDIS_URL` secret; default `project/stage[/owner]/<id>-url`.
    #[builder(default, setter(strip_option, into))]
    pub url_secret_name: Option<String>,
}

/// A validated cache, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Redis {
    pub(crate) spec: RedisSpec,
}

impl Redis {
    /// Start a cache.
    pub fn builder() -> RedisSpecBuilder {
        RedisSpec::builder()
    }
    /// The spec.
    pub fn spec(&self) -> &RedisSpec {
        &self.spec
    }
}

impl From<RedisSpec> for Result<Redis> {
    fn from(spec: RedisSpec) -> Self {
        crate::validate::spec(&spec)?;
        Ok(Redis { spec })
    }
}

impl RedisSpec {
    /// The parameter group family (`redis7`, `redis6.x`, `valkey8`).
    pub(crate) fn family(&self) -> String {
        crate::validate::family(self.engine, &self.version)
    }
    pub(crate) fn failover(&self) -> bool {
        self.automatic_failover
            .unwrap_or(self.replicas > 0 || self.shards.is_some())
    }
    /// The parameter group's values: the spec's, plus `cluster-enabled` in cluster mode.
    pub(crate) fn all_parameters(&self) -> std::collections::BTreeMap<String, String> {
        let mut p = self.parameters.clone();
        if self.shards.is_some() {
            p.insert("cluster-enabled".into(), "yes".into());
        }
        p
    }
    pub(crate) fn multi_az_in(&self, env: &Environment) -> bool {
        self.multi_az
            .unwrap_or(env.stage().is_prod() && self.failover())
    }
    pub(crate) fn snapshots_in(&self, env: &Environment) -> u32 {
        self.snapshot_retention_days
            .unwrap_or(if env.stage().is_prod() { 7 } else { 0 })
    }
    pub(crate) fn final_snapshot_in(&self, env: &Environment) -> bool {
        self.final_snapshot.unwrap_or(!env.is_ephemeral())
    }
    pub(crate) fn apply_in(&self, env: &Environment) -> ApplyMode {
        self.apply.unwrap_or(if env.stage().is_prod() {
            ApplyMode::MaintenanceWindow
        } else {
            ApplyMode::Immediately
        })
    }
    pub(crate) fn authenticated(&self) -> bool {
        self.auth && self.transit_encryption
    }
}
