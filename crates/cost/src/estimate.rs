//! The estimate: one line per priced resource of a plan's creates, at the desired task count and
//! at the autoscaling maximum.

use std::collections::BTreeMap;

use serde::Serialize;
use skyforge_core::{Action, Plan, ResourcePlan, Value};

use crate::{Assumptions, PriceTable};

/// One priced resource.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Line {
    /// The resource (`ecs_service.backend`).
    pub resource: String,
    /// What is charged and how it was counted (`Fargate 0.5 vCPU / 1 GB x 2 tasks`).
    pub item: String,
    /// USD per month as planned (the desired task count).
    pub monthly: f64,
    /// USD per month with every autoscaled service at its maximum.
    pub at_max: f64,
}

/// A monthly estimate of a stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    /// The stack (`alva-staging`).
    pub stack: String,
    /// The region priced.
    pub region: String,
    /// When the price table was compiled.
    pub prices_as_of: String,
    /// Priced resources, in plan order.
    pub lines: Vec<Line>,
    /// Resources that cost money but have no price in the table (an instance class it does not
    /// list): the totals leave them out.
    pub unpriced: Vec<String>,
    /// The usage assumptions the lines use.
    pub assumptions: Assumptions,
    /// USD per month as planned.
    pub monthly: f64,
    /// USD per month with every autoscaled service at its maximum.
    pub at_max: f64,
}

type Fields = BTreeMap<String, Value>;

fn fields(r: &ResourcePlan) -> Option<&Fields> {
    match &r.action {
        Action::Create { fields } => Some(fields),
        _ => None,
    }
}

fn num(f: &Fields, key: &str) -> Option<f64> {
    f.get(key)?.known()?.as_f64()
}

fn text<'a>(f: &'a Fields, key: &str) -> Option<&'a str> {
    f.get(key)?.known()?.as_str()
}

fn flag(f: &Fields, key: &str) -> bool {
    f.get(key)
        .and_then(Value::known)
        .and_then(|v| v.as_bool())
        .unwrap_or(false)
}

/// Work out the estimate of `plan`'s creates. Give it the plan of the whole stack against an
/// empty account (`Stack::plan_offline`), where every resource is a create with its fields: a
/// plan against live resources carries only what changes.
pub fn estimate(plan: &Plan, prices: &PriceTable, assume: &Assumptions) -> Estimate {
    let mut p = Pricer {
        prices,
        assume,
        lines: Vec::new(),
        unpriced: Vec::new(),
        by_id: plan
            .resources
            .iter()
            .filter_map(|r| Some((r.id.to_string(), fields(r)?)))
            .collect(),
    };
    for r in &plan.resources {
        if let Some(f) = fields(r) {
            p.price(&r.id.kind, &r.id.logical_id, f);
        }
    }
    let monthly = p.lines.iter().map(|l| l.monthly).sum();
    let at_max = p.lines.iter().map(|l| l.at_max).sum();
    Estimate {
        stack: plan.stack.clone(),
        region: prices.region.clone(),
        prices_as_of: prices.as_of.clone(),
        lines: p.lines,
        unpriced: p.unpriced,
        assumptions: assume.clone(),
        monthly,
        at_max,
    }
}

struct Pricer<'a> {
    prices: &'a PriceTable,
    assume: &'a Assumptions,
    lines: Vec<Line>,
    unpriced: Vec<String>,
    by_id: BTreeMap<String, &'a Fields>,
}

/// `n` with at most two decimals and no trailing zeros (`0.5`, `1`, `0.25`).
fn short(n: f64) -> String {
    let s = format!("{n:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Pricer<'_> {
    fn hours(&self) -> f64 {
        self.assume.hours_per_month
    }
    fn add(&mut self, kind: &str, id: &str, item: String, monthly: f64, at_max: f64) {
        self.lines.push(Line {
            resource: format!("{kind}.{id}"),
            item,
            monthly,
            at_max,
        });
    }
    fn flat(&mut self, kind: &str, id: &str, item: String, monthly: f64) {
        self.add(kind, id, item, monthly, monthly);
    }

    fn price(&mut self, kind: &str, id: &str, f: &Fields) {
        let (a, p, h) = (self.assume, self.prices, self.hours());
        match kind {
            "ecs_service" => self.service(id, f),
            "db_instance" => self.database(id, f),
            "cache_replication_group" => self.cache(id, f),
            "load_balancer" => self.load_balancer(id, f),
            "nat_gateway" => self.flat(
                kind,
                id,
                format!("NAT gateway, {} GB processed", short(a.nat_gb)),
                p.nat_hour * h + p.nat_gb * a.nat_gb,
            ),
            "eip" => self.flat(kind, id, "public IPv4".into(), p.public_ipv4_hour * h),
            "vpc_endpoint" => {
                let service = text(f, "service_name").unwrap_or_default();
                if !(service.ends_with(".s3") || service.ends_with(".dynamodb")) {
                    let zones = a.endpoint_zones;
                    let item = format!("interface endpoint in {} zones", short(zones));
                    self.flat(kind, id, item, p.interface_endpoint_hour * h * zones);
                }
            }
            "ecs_log_group" => self.logs(kind, id, a.service_log_gb),
            "log_group" => self.logs(kind, id, a.flow_log_gb),
            k if k.ends_with("_log_group") => self.logs(kind, id, a.other_log_gb),
            "cloudwatch_alarm" => {
                let metrics = text(f, "metric").map_or(1, |m| m.matches(" = ").count().max(1));
                let item = format!("alarm on {metrics} metric(s)");
                self.flat(kind, id, item, p.alarm_metric_month * metrics as f64);
            }
            "cloudwatch_dashboard" => self.flat(kind, id, "dashboard".into(), p.dashboard_month),
            "secret" => self.flat(kind, id, "secret".into(), p.secret_month),
            "ssm_parameter" if text(f, "tier") == Some("Advanced") => {
                self.flat(kind, id, "advanced parameter".into(), p.ssm_advanced_month)
            }
            "ecr_repository" => {
                let gb = a.ecr_gb_per_repository;
                let item = format!("{} GB of images", short(gb));
                self.flat(kind, id, item, p.ecr_gb_month * gb);
            }
            "s3_bucket" => {
                let gb = a.s3_gb_per_bucket;
                let item = format!("{} GB stored", short(gb));
                self.flat(kind, id, item, p.s3_gb_month * gb);
            }
            "kms_key" => self.flat(kind, id, "KMS key".into(), p.kms_key_month),
            "sd_namespace" => self.flat(
                kind,
                id,
                "private DNS namespace (hosted zone)".into(),
                p.hosted_zone_month,
            ),
            _ => {}
        }
    }

    fn logs(&mut self, kind: &str, id: &str, gb: f64) {
        let item = format!("{} GB ingested", short(gb));
        let monthly = self.prices.logs_ingest_gb * gb;
        self.flat(kind, id, item, monthly);
    }

    fn service(&mut self, id: &str, f: &Fields) {
        let Some(td) = self
            .by_id
            .get(&format!("ecs_task_definition.{id}"))
            .copied()
        else {
            self.unpriced
                .push(format!("ecs_service.{id}: no task definition in the plan"));
            return;
        };
        let (cpu, mem) = (
            num(td, "cpu").unwrap_or(0.0) / 1024.0,
            num(td, "memory").unwrap_or(0.0) / 1024.0,
        );
        let p = self.prices;
        let (vcpu_h, gb_h) = if text(td, "arch") == Some("ARM64") {
            (p.fargate_arm_vcpu_hour, p.fargate_arm_gb_hour)
        } else {
            (p.fargate_vcpu_hour, p.fargate_gb_hour)
        };
        let per_task = (cpu * vcpu_h + mem * gb_h) * self.hours();
        let desired = num(f, "desired_count").unwrap_or(1.0);
        let scaling = self.by_id.get(&format!("ecs_autoscaling.{id}")).copied();
        let (tasks, max) = match scaling {
            Some(s) => {
                let min = num(s, "min").unwrap_or(desired);
                (desired.max(min), num(s, "max").unwrap_or(desired).max(min))
            }
            None => (desired, desired),
        };
        let item = format!(
            "Fargate {} vCPU / {} GB x {} task(s){}",
            short(cpu),
            short(mem),
            short(tasks),
            if max > tasks {
                format!(" (max {})", short(max))
            } else {
                String::new()
            }
        );
        self.add("ecs_service", id, item, per_task * tasks, per_task * max);
    }

    fn database(&mut self, id: &str, f: &Fields) {
        let class = text(f, "class").unwrap_or_default();
        let p = self.prices;
        let Some(hourly) = PriceTable::lookup(&p.rds_postgres_hour, class) else {
            self.unpriced.push(format!(
                "db_instance.{id}: no price for {class} in {}",
                p.region
            ));
            return;
        };
        let copies = if flag(f, "multi_az") { 2.0 } else { 1.0 };
        let storage_type = text(f, "storage_type").unwrap_or("gp3");
        let gb = num(f, "storage_gib").unwrap_or(0.0);
        let per_gb = PriceTable::lookup(&p.rds_storage_gb_month, storage_type).unwrap_or(0.0);
        let iops = if storage_type == "io1" {
            num(f, "iops").unwrap_or(0.0) * p.rds_iops_month
        } else {
            0.0
        };
        let monthly = copies * (hourly * self.hours() + gb * per_gb + iops);
        let item = format!(
            "{class}{}, {} GB {storage_type}",
            if copies > 1.0 { " Multi-AZ" } else { "" },
            short(gb)
        );
        self.flat("db_instance", id, item, monthly);
    }

    fn cache(&mut self, id: &str, f: &Fields) {
        let node = text(f, "node_type").unwrap_or_default();
        let p = self.prices;
        let Some(hourly) = PriceTable::lookup(&p.elasticache_node_hour, node) else {
            self.unpriced.push(format!(
                "cache_replication_group.{id}: no price for {node} in {}",
                p.region
            ));
            return;
        };
        let shards = num(f, "shards").unwrap_or(1.0).max(1.0);
        let nodes = shards * (1.0 + num(f, "replicas").unwrap_or(0.0));
        let item = format!("{} x {node}", short(nodes));
        self.flat(
            "cache_replication_group",
            id,
            item,
            nodes * hourly * self.hours(),
        );
    }

    fn load_balancer(&mut self, id: &str, f: &Fields) {
        let (p, a, h) = (self.prices, self.assume, self.hours());
        let public = text(f, "scheme") != Some("internal");
        let mut monthly = (p.alb_hour + a.alb_lcus * p.alb_lcu_hour) * h;
        let mut item = format!("ALB, {} LCU", short(a.alb_lcus));
        if public {
            monthly += a.alb_public_ips * p.public_ipv4_hour * h
                + a.egress_gb_per_load_balancer * p.egress_gb;
            item.push_str(&format!(
                ", {} public IPv4, {} GB out",
                short(a.alb_public_ips),
                short(a.egress_gb_per_load_balancer)
            ));
        }
        self.flat("load_balancer", id, item, monthly);
    }
}
