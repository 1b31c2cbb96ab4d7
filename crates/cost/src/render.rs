//! The estimate as a table: one row per priced resource, the totals, then what it assumed.

use std::fmt;

use crate::Estimate;

fn usd(n: f64) -> String {
    format!("${n:.2}")
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Monthly estimate of {} in {} (list prices of {}, USD):",
            self.stack, self.region, self.prices_as_of
        )?;
        let width = self
            .lines
            .iter()
            .map(|l| l.resource.len())
            .max()
            .unwrap_or(8)
            .max(8);
        let item_width = self.lines.iter().map(|l| l.item.len()).max().unwrap_or(4);
        writeln!(
            f,
            "  {:width$}  {:item_width$}  {:>10}  {:>10}",
            "resource", "item", "monthly", "at max"
        )?;
        for l in &self.lines {
            writeln!(
                f,
                "  {:width$}  {:item_width$}  {:>10}  {:>10}",
                l.resource,
                l.item,
                usd(l.monthly),
                usd(l.at_max)
            )?;
        }
        writeln!(
            f,
            "  {:width$}  {:item_width$}  {:>10}  {:>10}",
            "total",
            "",
            usd(self.monthly),
            usd(self.at_max)
        )?;
        for u in &self.unpriced {
            writeln!(f, "  not priced: {u}")?;
        }
        let a = &self.assumptions;
        write!(
            f,
            "Assumed per month: {} h; per load balancer {} LCU, {} GB out; per NAT gateway {} GB; \
             logs {} GB per service, {} GB of flow logs, {} GB per other group; {} GB per \
             repository; {} GB per bucket. Not counted: data transfer between zones, backups \
             beyond the free allowance, free tiers.",
            a.hours_per_month,
            a.alb_lcus,
            a.egress_gb_per_load_balancer,
            a.nat_gb,
            a.service_log_gb,
            a.flow_log_gb,
            a.other_log_gb,
            a.ecr_gb_per_repository,
            a.s3_gb_per_bucket
        )
    }
}
