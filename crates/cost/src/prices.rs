//! The price table: on-demand list prices, USD, per region, with the date they were compiled.

use serde::{Deserialize, Serialize};

/// Hourly or monthly list prices of one region (USD). Serialisable, so a table can be kept in
/// a file and given instead of the built-in one (`cost --prices FILE`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Region code (`us-east-1`).
    pub region: String,
    /// When the figures were compiled (ISO date).
    pub as_of: String,
    /// Where they come from.
    pub source: String,
    /// Fargate Linux/x86, per vCPU-hour.
    pub fargate_vcpu_hour: f64,
    /// Fargate Linux/x86, per GB-hour.
    pub fargate_gb_hour: f64,
    /// Fargate Linux/ARM (Graviton), per vCPU-hour.
    pub fargate_arm_vcpu_hour: f64,
    /// Fargate Linux/ARM (Graviton), per GB-hour.
    pub fargate_arm_gb_hour: f64,
    /// RDS for PostgreSQL, single-AZ, per instance-hour by class (Multi-AZ is twice).
    pub rds_postgres_hour: Vec<(String, f64)>,
    /// RDS storage, single-AZ, per GB-month by type (`gp2`, `gp3`, `io1`; Multi-AZ is twice).
    pub rds_storage_gb_month: Vec<(String, f64)>,
    /// RDS provisioned IOPS (io1), per IOPS-month.
    pub rds_iops_month: f64,
    /// ElastiCache (Redis OSS / Valkey on-demand node), per node-hour by node type.
    pub elasticache_node_hour: Vec<(String, f64)>,
    /// Application Load Balancer, per hour.
    pub alb_hour: f64,
    /// Application Load Balancer, per LCU-hour.
    pub alb_lcu_hour: f64,
    /// NAT gateway, per hour.
    pub nat_hour: f64,
    /// NAT gateway, per GB processed.
    pub nat_gb: f64,
    /// Public IPv4 address (Elastic IP, load balancer address), per hour.
    pub public_ipv4_hour: f64,
    /// Interface VPC endpoint, per endpoint-AZ-hour.
    pub interface_endpoint_hour: f64,
    /// CloudWatch Logs ingestion, per GB.
    pub logs_ingest_gb: f64,
    /// CloudWatch standard-resolution alarm, per metric-month.
    pub alarm_metric_month: f64,
    /// CloudWatch dashboard, per month.
    pub dashboard_month: f64,
    /// Secrets Manager, per secret-month.
    pub secret_month: f64,
    /// SSM Parameter Store advanced parameter, per month (standard ones are free).
    pub ssm_advanced_month: f64,
    /// ECR storage, per GB-month.
    pub ecr_gb_month: f64,
    /// S3 Standard storage, per GB-month (first tier).
    pub s3_gb_month: f64,
    /// KMS customer managed key, per month.
    pub kms_key_month: f64,
    /// Route 53 hosted zone (a Cloud Map private DNS namespace makes one), per month.
    pub hosted_zone_month: f64,
    /// Data transfer out to the internet, per GB (first paid tier).
    pub egress_gb: f64,
}

/// The date the built-in tables were compiled.
pub const PRICES_AS_OF: &str = "2025-06-01";

const SOURCE: &str = "AWS public pricing pages (on-demand, Linux, USD), compiled by hand; \
     check with the AWS Pricing Calculator before committing a budget";

fn pairs(p: &[(&str, f64)]) -> Vec<(String, f64)> {
    p.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

impl PriceTable {
    /// The built-in table of `region`, if skyforge ships one (`us-east-1`, `us-west-1`).
    pub fn for_region(region: &str) -> Option<PriceTable> {
        match region {
            "us-east-1" => Some(us_east_1()),
            "us-west-1" => Some(us_west_1()),
            _ => None,
        }
    }
    /// The regions with a built-in table.
    pub fn regions() -> [&'static str; 2] {
        ["us-east-1", "us-west-1"]
    }
    /// Price of `key` in a by-name list.
    pub(crate) fn lookup(list: &[(String, f64)], key: &str) -> Option<f64> {
        list.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

fn us_east_1() -> PriceTable {
    PriceTable {
        region: "us-east-1".into(),
        as_of: PRICES_AS_OF.into(),
        source: SOURCE.into(),
        fargate_vcpu_hour: 0.04048,
        fargate_gb_hour: 0.004445,
        fargate_arm_vcpu_hour: 0.03238,
        fargate_arm_gb_hour: 0.00356,
        rds_postgres_hour: pairs(&[
            ("db.t3.micro", 0.018),
            ("db.t3.small", 0.036),
            ("db.t3.medium", 0.072),
            ("db.t3.large", 0.145),
            ("db.t3.xlarge", 0.290),
            ("db.t4g.micro", 0.016),
            ("db.t4g.small", 0.032),
            ("db.t4g.medium", 0.065),
            ("db.t4g.large", 0.129),
            ("db.m5.large", 0.178),
            ("db.m6g.large", 0.159),
            ("db.m6i.large", 0.178),
            ("db.r6g.large", 0.225),
        ]),
        rds_storage_gb_month: pairs(&[("gp2", 0.115), ("gp3", 0.115), ("io1", 0.125)]),
        rds_iops_month: 0.10,
        elasticache_node_hour: pairs(&[
            ("cache.t3.micro", 0.017),
            ("cache.t3.small", 0.034),
            ("cache.t3.medium", 0.068),
            ("cache.t4g.micro", 0.016),
            ("cache.t4g.small", 0.032),
            ("cache.t4g.medium", 0.065),
            ("cache.m6g.large", 0.149),
            ("cache.r6g.large", 0.206),
        ]),
        alb_hour: 0.0225,
        alb_lcu_hour: 0.008,
        nat_hour: 0.045,
        nat_gb: 0.045,
        public_ipv4_hour: 0.005,
        interface_endpoint_hour: 0.01,
        logs_ingest_gb: 0.50,
        alarm_metric_month: 0.10,
        dashboard_month: 3.00,
        secret_month: 0.40,
        ssm_advanced_month: 0.05,
        ecr_gb_month: 0.10,
        s3_gb_month: 0.023,
        kms_key_month: 1.00,
        hosted_zone_month: 0.50,
        egress_gb: 0.09,
    }
}

fn us_west_1() -> PriceTable {
    PriceTable {
        region: "us-west-1".into(),
        as_of: PRICES_AS_OF.into(),
        source: SOURCE.into(),
        fargate_vcpu_hour: 0.04656,
        fargate_gb_hour: 0.00511,
        fargate_arm_vcpu_hour: 0.03725,
        fargate_arm_gb_hour: 0.00409,
        rds_postgres_hour: pairs(&[
            ("db.t3.micro", 0.021),
            ("db.t3.small", 0.042),
            ("db.t3.medium", 0.084),
            ("db.t3.large", 0.168),
            ("db.t3.xlarge", 0.336),
            ("db.t4g.micro", 0.019),
            ("db.t4g.small", 0.037),
            ("db.t4g.medium", 0.075),
            ("db.t4g.large", 0.150),
            ("db.m5.large", 0.205),
            ("db.m6g.large", 0.183),
            ("db.m6i.large", 0.205),
            ("db.r6g.large", 0.259),
        ]),
        rds_storage_gb_month: pairs(&[("gp2", 0.132), ("gp3", 0.132), ("io1", 0.138)]),
        rds_iops_month: 0.11,
        elasticache_node_hour: pairs(&[
            ("cache.t3.micro", 0.019),
            ("cache.t3.small", 0.038),
            ("cache.t3.medium", 0.076),
            ("cache.t4g.micro", 0.018),
            ("cache.t4g.small", 0.036),
            ("cache.t4g.medium", 0.073),
            ("cache.m6g.large", 0.167),
            ("cache.r6g.large", 0.231),
        ]),
        alb_hour: 0.0252,
        alb_lcu_hour: 0.008,
        nat_hour: 0.048,
        nat_gb: 0.048,
        public_ipv4_hour: 0.005,
        interface_endpoint_hour: 0.011,
        logs_ingest_gb: 0.50,
        alarm_metric_month: 0.10,
        dashboard_month: 3.00,
        secret_month: 0.40,
        ssm_advanced_month: 0.05,
        ecr_gb_month: 0.10,
        s3_gb_month: 0.026,
        kms_key_month: 1.00,
        hosted_zone_month: 0.50,
        egress_gb: 0.09,
    }
}
