//! What the estimate assumes about usage: a plan says what exists, not how much traffic it
//! carries. Every assumption is a field, shown with the estimate and changeable.

use serde::{Deserialize, Serialize};

/// Usage assumptions of an estimate (per month unless said otherwise).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assumptions {
    /// Hours in a month (AWS's calculator uses 730).
    pub hours_per_month: f64,
    /// Average load balancer capacity units in use per hour, per load balancer.
    pub alb_lcus: f64,
    /// Public IPv4 addresses of an internet-facing load balancer (one per zone; skyforge
    /// networks have at least two).
    pub alb_public_ips: f64,
    /// GB processed by each NAT gateway (image pulls, third-party APIs, OS updates).
    pub nat_gb: f64,
    /// GB sent to the internet through each load balancer.
    pub egress_gb_per_load_balancer: f64,
    /// GB of logs ingested into each service's log group.
    pub service_log_gb: f64,
    /// GB of VPC flow logs ingested per flow log group.
    pub flow_log_gb: f64,
    /// GB ingested into each other log group (database and cache logs, application extras).
    pub other_log_gb: f64,
    /// GB of images kept in each ECR repository.
    pub ecr_gb_per_repository: f64,
    /// GB stored in each S3 bucket.
    pub s3_gb_per_bucket: f64,
    /// Zones an interface VPC endpoint is placed in.
    pub endpoint_zones: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            hours_per_month: 730.0,
            alb_lcus: 1.0,
            alb_public_ips: 2.0,
            nat_gb: 20.0,
            egress_gb_per_load_balancer: 50.0,
            service_log_gb: 2.0,
            flow_log_gb: 5.0,
            other_log_gb: 0.5,
            ecr_gb_per_repository: 2.0,
            s3_gb_per_bucket: 10.0,
            endpoint_zones: 2.0,
        }
    }
}
