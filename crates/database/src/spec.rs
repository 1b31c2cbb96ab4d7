//! The `Postgres` builder: what a user declares.

use std::collections::BTreeMap;

use skyforge_core::{Environment, Result};
use skyforge_network::{GroupHandle, NotPublic, SubnetHandle, Subnets};
use typed_builder::TypedBuilder;

/// EBS volume type of the instance's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageType {
    /// General purpose SSD, IOPS tied to size.
    Gp2,
    /// General purpose SSD with a 3,000 IOPS / 125 MiB/s baseline; IOPS and throughput can be
    /// raised from 400 GiB.
    Gp3,
    /// Provisioned IOPS SSD.
    Io1,
    /// Provisioned IOPS SSD, block express.
    Io2,
}

impl StorageType {
    /// As RDS spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            StorageType::Gp2 => "gp2",
            StorageType::Gp3 => "gp3",
            StorageType::Io1 => "io1",
            StorageType::Io2 => "io2",
        }
    }
}

/// Storage: type, size, autoscaling ceiling, provisioned IOPS and throughput.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Storage {
    /// Volume type.
    pub kind: StorageType,
    /// Allocated size in GiB. Under autoscaling this is a floor: a larger size found is not drift.
    pub size_gib: u32,
    /// Storage autoscaling ceiling in GiB (off when `None`).
    pub max_gib: Option<u32>,
    /// Provisioned IOPS (io1/io2; gp3 from 400 GiB).
    pub iops: Option<u32>,
    /// Throughput in MiB/s (gp3 from 400 GiB).
    pub throughput_mibps: Option<u32>,
}

impl Storage {
    /// `size_gib` of gp3.
    pub fn gp3(size_gib: u32) -> Storage {
        Storage {
            kind: StorageType::Gp3,
            size_gib,
            max_gib: None,
            iops: None,
            throughput_mibps: None,
        }
    }
    /// `size_gib` of gp2.
    pub fn gp2(size_gib: u32) -> Storage {
        Storage {
            kind: StorageType::Gp2,
            ..Storage::gp3(size_gib)
        }
    }
    /// `size_gib` of io1 with `iops`.
    pub fn io1(size_gib: u32, iops: u32) -> Storage {
        Storage {
            kind: StorageType::Io1,
            iops: Some(iops),
            ..Storage::gp3(size_gib)
        }
    }
    /// Grow automatically up to `max_gib`.
    pub fn autoscale_to(mut self, max_gib: u32) -> Storage {
        self.max_gib = Some(max_gib);
        self
    }
    /// Provisioned IOPS.
    pub fn iops(mut self, iops: u32) -> Storage {
        self.iops = Some(iops);
        self
    }
    /// Throughput in MiB/s.
    pub fn throughput(mut self, mibps: u32) -> Storage {
        self.throughput_mibps = Some(mibps);
        self
    }
}

pub use skyforge_core::window::ApplyMode;

/// The database's subnets: private or isolated only (public subnets do not type-check).
#[derive(Debug, Clone)]
pub struct DbSubnets(pub(crate) Vec<SubnetHandle>);

impl<K: NotPublic> From<Subnets<K>> for DbSubnets {
    fn from(s: Subnets<K>) -> Self {
        DbSubnets(s.handles().to_vec())
    }
}

impl<K: NotPublic> From<&Subnets<K>> for DbSubnets {
    fn from(s: &Subnets<K>) -> Self {
        DbSubnets(s.handles().to_vec())
    }
}

/// A parameter of the DB parameter group and when it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// The value.
    pub value: String,
    /// Static parameters only take effect after a reboot (`pending-reboot`).
    pub needs_reboot: bool,
}

/// An RDS for PostgreSQL instance with its subnet group, parameter group, security group, log
/// groups, master credentials and connection secret.
///
/// Defaults are secure and each downgrade is a plan warning: encrypted storage, private
/// placement, TLS forced (`rds.force_ssl`), deletion protection, a final snapshot, 7+ days of
/// backups and Multi-AZ in prod.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<Postgres>))]
pub struct PostgresSpec {
    /// Logical id (`db`); names default to `project-stage[-owner]-<id>`.
    #[builder(setter(into))]
    pub logical_id: String,
    /// The VPC (`net.vpc_id()`), for the security group.
    #[builder(setter(into))]
    pub vpc: skyforge_core::Input<String>,
    /// Private or isolated subnets in at least two zones (`net.isolated()`).
    #[builder(setter(into))]
    pub subnets: DbSubnets,
    /// The only security groups allowed to connect, on the port (the app's group).
    #[builder(default)]
    pub allow_from: Vec<GroupHandle>,
    /// Engine version: a major (`"16"`) or a full version (`"16.10"`, used at creation only).
    /// Only the major is compared afterwards: minor auto-upgrades are never drift.
    #[builder(setter(into))]
    pub version: String,
    /// Instance class (`db.t3.micro`).
    #[builder(setter(into))]
    pub class: String,
    /// Storage; default 20 GiB gp3.
    #[builder(default = Storage::gp3(20))]
    pub storage: Storage,
    /// Standby in a second zone with automatic failover; default: on in prod.
    #[builder(default, setter(strip_option))]
    pub multi_az: Option<bool>,
    /// Days of automated backups (0 to 35; 0 turns backups off); default 7.
    #[builder(default = 7)]
    pub backup_retention_days: u32,
    /// Daily backup window, `hh24:mi-hh24:mi` UTC; default chosen by RDS.
    #[builder(default, setter(strip_option, into))]
    pub backup_window: Option<String>,
    /// Weekly maintenance window, `ddd:hh24:mi-ddd:hh24:mi` UTC; default chosen by RDS.
    #[builder(default, setter(strip_option, into))]
    pub maintenance_window: Option<String>,
    /// When deferrable changes are made; default: in the maintenance window in prod, now in
    /// other stages.
    #[builder(default, setter(strip_option))]
    pub apply: Option<ApplyMode>,
    /// Allow a major version upgrade (the new family's parameter group is created first).
    #[builder(default)]
    pub allow_major_version_upgrade: bool,
    /// Reboot the instance when static parameters wait for a reboot (`pending-reboot`); default:
    /// yes outside prod. When off, the plan shows them as pending until someone reboots.
    #[builder(default, setter(strip_option))]
    pub reboot_for_parameters: Option<bool>,
    /// Let RDS apply minor upgrades in the maintenance window (default on).
    #[builder(default = true)]
    pub auto_minor_version_upgrade: bool,
    /// Database created in the instance; default `app`.
    #[builder(default = "app".to_string(), setter(into))]
    pub database_name: String,
    /// Master user name; default `app_admin`.
    #[builder(default = "app_admin".to_string(), setter(into))]
    pub username: String,
    /// Port; default 5432.
    #[builder(default = 5432)]
    pub port: u16,
    /// Extra parameters of the parameter group (beside `rds.force_ssl`).
    #[builder(default)]
    pub parameters: BTreeMap<String, Parameter>,
    /// Force TLS on every connection (`rds.force_ssl = 1`); default on.
    #[builder(default = true)]
    pub force_ssl: bool,
    /// Encrypt storage at rest; default on (changing it replaces the instance).
    #[builder(default = true)]
    pub encrypted: bool,
    /// A customer managed KMS key for storage (and Performance Insights); default the account's
    /// `aws/rds` key.
    #[builder(default, setter(strip_option, into))]
    pub kms_key_id: Option<String>,
    /// Log types exported to CloudWatch Logs; default `postgresql` and `upgrade`.
    #[builder(default = vec!["postgresql".to_string(), "upgrade".to_string()])]
    pub log_exports: Vec<String>,
    /// Retention of the exported logs in days; default 30.
    #[builder(default = 30)]
    pub log_retention_days: u32,
    /// Performance Insights retention in days (7, or 31 to 731 by months); `None` turns it off.
    /// Default 7 (free tier).
    #[builder(default = Some(7))]
    pub performance_insights_days: Option<u32>,
    /// Allow IAM database authentication.
    #[builder(default)]
    pub iam_authentication: bool,
    /// Deletion protection; default on outside ephemeral stages.
    #[builder(default, setter(strip_option))]
    pub deletion_protection: Option<bool>,
    /// Take a final snapshot on deletion; default on outside ephemeral stages.
    #[builder(default, setter(strip_option))]
    pub final_snapshot: Option<bool>,
    /// Instance identifier; default the stack's name for `logical_id`.
    #[builder(default, setter(strip_option, into))]
    pub identifier: Option<String>,
    /// Name of the connection secret (`DATABASE_URL` and its parts); default
    /// `project/stage[/owner]/<id>-url`.
    #[builder(default, setter(strip_option, into))]
    pub url_secret_name: Option<String>,
    /// Also write the URL into this SSM SecureString parameter (`/delivery/prod/DATABASE_URL`).
    #[builder(default, setter(strip_option, into))]
    pub url_parameter: Option<String>,
    /// Rotation token of the master password: changing it generates a new password and changes
    /// the instance's password and the connection secret in the same apply.
    #[builder(default, setter(into))]
    pub password_rotation: String,
}

/// A validated PostgreSQL database, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct Postgres {
    pub(crate) spec: PostgresSpec,
}

impl Postgres {
    /// Start a database.
    pub fn builder() -> PostgresSpecBuilder {
        PostgresSpec::builder()
    }
    /// The spec.
    pub fn spec(&self) -> &PostgresSpec {
        &self.spec
    }
}

impl From<PostgresSpec> for Result<Postgres> {
    fn from(spec: PostgresSpec) -> Self {
        crate::validate::spec(&spec)?;
        Ok(Postgres { spec })
    }
}

impl PostgresSpec {
    /// The major version (`16` of `16.10`).
    pub(crate) fn major(&self) -> u32 {
        crate::validate::major_of(&self.version).unwrap_or(0)
    }
    pub(crate) fn family(&self) -> String {
        format!("postgres{}", self.major())
    }
    pub(crate) fn multi_az_in(&self, env: &Environment) -> bool {
        self.multi_az.unwrap_or(env.stage().is_prod())
    }
    pub(crate) fn protected_in(&self, env: &Environment) -> bool {
        self.deletion_protection.unwrap_or(!env.is_ephemeral())
    }
    pub(crate) fn snapshot_in(&self, env: &Environment) -> bool {
        self.final_snapshot.unwrap_or(!env.is_ephemeral())
    }
    pub(crate) fn apply_in(&self, env: &Environment) -> ApplyMode {
        self.apply.unwrap_or(if env.stage().is_prod() {
            ApplyMode::MaintenanceWindow
        } else {
            ApplyMode::Immediately
        })
    }
    /// Every parameter of the group, `rds.force_ssl` included.
    pub(crate) fn all_parameters(&self) -> BTreeMap<String, Parameter> {
        let mut p = self.parameters.clone();
        p.insert(
            "rds.force_ssl".into(),
            Parameter {
                value: if self.force_ssl { "1" } else { "0" }.into(),
                needs_reboot: false,
            },
        );
        p
    }
}
