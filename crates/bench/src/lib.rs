//! # skyforge-bench
//!
//! Benchmarks of what makes skyforge faster than the stack-by-stack deploys it replaces:
//!
//! - the apply and destroy makespans of the five reference deploys (every stage) under the
//!   harness's latency model: skyforge's engine, run over fakes of the same graph on a paused
//!   clock, against the critical path, CDK's stack-by-stack layers and Terraform's walk at its
//!   default parallelism of 10 ([`makespan`]);
//! - the engine at scale: synthetic stacks of 1,000 and 5,000 nodes ([`scale`]);
//! - no-op plans of the reference deploys against the emulator, requests per kind ([`noop`]);
//! - the AWS SDK crates (and, on request, the cold build time) of each area crate
//!   ([`buildcost`]).
//!
//! `cargo run -p skyforge-bench --release -- [--quick]` prints the tables; `docs/performance.md`
//! records them. The quick form is a test of this crate (`tests/bench`), so CI runs it with the
//! rest and fails when a ratio goal is missed by more than 10 %.

pub mod buildcost;
pub mod fake;
pub mod makespan;
pub mod model;
pub mod noop;
pub mod reference;
pub mod scale;
pub mod schedule;

use makespan::Makespan;

/// Apply: skyforge at most this times the critical path.
pub const GOAL_OVER_CRITICAL: f64 = 1.05;
/// Apply and destroy: skyforge below this times Terraform's makespan.
pub const GOAL_OVER_TERRAFORM: f64 = 1.0;
/// How far CI lets a goal be missed before it fails.
pub const TOLERANCE: f64 = 1.10;

/// The goals `apply` and `destroy` miss by more than [`TOLERANCE`], one line each.
pub fn missed_goals(apply: &[Makespan], destroy: &[Makespan]) -> Vec<String> {
    let mut out = Vec::new();
    for m in apply {
        if m.over_critical() > GOAL_OVER_CRITICAL * TOLERANCE {
            out.push(format!(
                "apply {}: {:.3} x the critical path (goal {GOAL_OVER_CRITICAL})",
                m.system,
                m.over_critical()
            ));
        }
    }
    for (what, rows) in [("apply", apply), ("destroy", destroy)] {
        for m in rows {
            if m.over_terraform() >= GOAL_OVER_TERRAFORM * TOLERANCE {
                out.push(format!(
                    "{what} {}: {:.3} x Terraform's (goal below {GOAL_OVER_TERRAFORM})",
                    m.system,
                    m.over_terraform()
                ));
            }
        }
    }
    out
}

fn minutes(s: f64) -> String {
    format!("{:.1}", s / 60.0)
}

/// A makespan table (minutes of modelled AWS time, and ratios).
pub fn makespan_table(rows: &[Makespan]) -> String {
    let mut t = String::from(
        "| deploy | nodes | skyforge | critical path | x | CDK layers | x | Terraform -parallelism=10 | x |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for m in rows {
        t.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {} | {:.2} | {} | {:.2} |\n",
            m.system,
            m.nodes,
            minutes(m.skyforge),
            minutes(m.critical),
            m.over_critical(),
            minutes(m.layered),
            m.over_layered(),
            minutes(m.terraform),
            m.over_terraform()
        ));
    }
    t
}

/// Each apply's critical path, a line per deploy: the nodes in order, with the time of those
/// that take more than a call.
pub fn chains(rows: &[Makespan]) -> String {
    let mut t = String::new();
    for m in rows {
        let steps: Vec<String> = m
            .chain
            .iter()
            .map(|(id, s)| {
                if *s > model::CALL {
                    format!("**{id}** ({})", minutes(*s))
                } else {
                    id.clone()
                }
            })
            .collect();
        t.push_str(&format!(
            "- {}: {}
",
            m.system,
            steps.join(" → ")
        ));
    }
    t
}

/// The scale table.
pub fn scale_table(rows: &[scale::Scale]) -> String {
    let mut t = String::from(
        "| nodes | plan (s) | apply (s) | per node (ms) | peak memory (MiB) |\n| --- | --- | --- | --- | --- |\n",
    );
    for s in rows {
        t.push_str(&format!(
            "| {} | {:.2} | {:.2} | {:.2} | {:.0} |\n",
            s.nodes,
            s.plan,
            s.apply,
            (s.plan + s.apply) * 1000.0 / s.nodes as f64,
            s.peak_mib
        ));
    }
    t
}

/// The no-op plan table.
pub fn noop_table(rows: &[noop::Noop]) -> String {
    let mut t = String::from(
        "| deploy | resources | kinds | requests | per kind | seconds |\n| --- | --- | --- | --- | --- | --- |\n",
    );
    for n in rows {
        t.push_str(&format!(
            "| {} | {} | {} | {} | {:.2} | {:.2} |\n",
            n.system,
            n.resources,
            n.kinds,
            n.requests,
            n.per_kind(),
            n.seconds
        ));
    }
    for n in rows {
        let top: Vec<String> = n
            .calls
            .iter()
            .take(12)
            .map(|(c, k)| format!("{c} {k}"))
            .collect();
        t.push_str(&format!("\n{}: {}\n", n.system, top.join(", ")));
    }
    t
}

/// The build cost table.
pub fn build_table(rows: &[buildcost::BuildCost]) -> String {
    let mut t = String::from("| crate | cold build (s) | AWS SDK crates |\n| --- | --- | --- |\n");
    for b in rows {
        t.push_str(&format!(
            "| {} | {} | {} |\n",
            b.krate,
            b.cold_seconds
                .map(|s| format!("{s:.0}"))
                .unwrap_or_else(|| "-".into()),
            b.sdk_crates.join(", ")
        ));
    }
    t
}
