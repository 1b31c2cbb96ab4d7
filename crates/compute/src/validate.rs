//! Checks on a service before any API call: each error names the field, the value and the
//! rule.

use std::collections::BTreeSet;

use skyforge_core::{Error, Result, naming};

use crate::container::{Container, StartAfter};
use crate::spec::{CapacityShare, FargateServiceSpec, ScaleOn};

/// Fargate's CPU units with the memory (MiB) each allows: (cpu, from, to, step).
pub const FARGATE_SIZES: [(u32, u32, u32, u32); 7] = [
    (256, 512, 2048, 512),
    (512, 1024, 4096, 1024),
    (1024, 2048, 8192, 1024),
    (2048, 4096, 16384, 1024),
    (4096, 8192, 30720, 1024),
    (8192, 16384, 61440, 4096),
    (16384, 32768, 122880, 8192),
];

/// Most tasks a service may run (ECS quota).
pub const MAX_TASKS: u32 = 5000;

fn err(field: impl Into<String>, value: impl ToString, rule: impl Into<String>) -> Error {
    Error::validation(field, value.to_string(), rule)
}

/// Whether Fargate offers `cpu` units with `memory` MiB.
pub fn fargate_size_ok(cpu: u32, memory: u32) -> bool {
    FARGATE_SIZES.iter().any(|&(c, from, to, step)| {
        c == cpu && (from..=to).contains(&memory) && (memory - from).is_multiple_of(step)
    })
}

pub(crate) fn service(s: &FargateServiceSpec) -> Result<()> {
    naming::validate_logical_id("service.logical_id", &s.logical_id)?;
    if !fargate_size_ok(s.size.cpu, s.size.memory) {
        let allowed = FARGATE_SIZES
            .iter()
            .find(|(c, ..)| *c == s.size.cpu)
            .map(|(_, f, t, st)| {
                format!(
                    "with {} CPU units: {f} to {t} MiB in steps of {st}",
                    s.size.cpu
                )
            })
            .unwrap_or_else(|| "CPU units are 256, 512, 1024, 2048, 4096, 8192 or 16384".into());
        return Err(err(
            "service.size",
            format!("{}/{}", s.size.cpu, s.size.memory),
            format!("a Fargate CPU/memory pair ({allowed})"),
        ));
    }
    containers(s)?;
    deployment(s)?;
    if let Some(a) = &s.autoscaling {
        autoscaling(s, a)?;
    }
    if let Some(lb) = &s.load_balancer {
        let c = s
            .containers
            .iter()
            .find(|c| c.name == lb.container)
            .ok_or_else(|| {
                err(
                    "service.load_balancer.container",
                    &lb.container,
                    "one of the task's containers",
                )
            })?;
        if !c.ports.contains(&lb.target.port) {
            return Err(err(
                "service.load_balancer.container",
                &lb.container,
                format!(
                    "a container listening on the target group's port {}",
                    lb.target.port
                ),
            ));
        }
    }
    if let Some(d) = &s.discovery {
        if !is_dns_label(&d.name) {
            return Err(err(
                "service.discovery.name",
                &d.name,
                "a DNS label: 1 to 63 letters, digits and hyphens, not starting or ending with a hyphen",
            ));
        }
        if d.ttl_secs > 86_400 {
            return Err(err(
                "service.discovery.ttl",
                d.ttl_secs,
                "at most 86400 seconds",
            ));
        }
    }
    if let Some(m) = &s.migration {
        migration(s, m)?;
    }
    if !skyforge_logs::RETENTION_DAYS.contains(&s.log_retention_days) {
        return Err(err(
            "service.log_retention_days",
            s.log_retention_days,
            format!("one of {:?}", skyforge_logs::RETENTION_DAYS),
        ));
    }
    if let Some(k) = &s.log_kms_key
        && !(k.starts_with("arn:") && k.contains(":kms:") && k.contains(":key/"))
    {
        return Err(err(
            "service.log_kms_key",
            k,
            "a KMS key ARN (`arn:aws:kms:<region>:<account>:key/<id>`)",
        ));
    }
    if s.keep_revisions == 0 || s.keep_revisions > 100 {
        return Err(err(
            "service.keep_revisions",
            s.keep_revisions,
            "between 1 and 100",
        ));
    }
    if s.grace().is_some_and(|g| g > 2_147_483_647 / 1000) {
        return Err(err(
            "service.health_check_grace_secs",
            s.grace().unwrap_or_default(),
            "at most 2147483 seconds",
        ));
    }
    capacity("service.capacity", &s.capacity)
}

fn migration(s: &FargateServiceSpec, m: &crate::migration::Migration) -> Result<()> {
    if m.command.is_empty()
        || m.command
            .iter()
            .any(|a| a.trim().is_empty() && m.command.len() == 1)
    {
        return Err(err(
            "service.migration.command",
            "[]",
            "the migration's command (`pnpm db:migrate`)",
        ));
    }
    if !fargate_size_ok(m.size.cpu, m.size.memory) {
        return Err(err(
            "service.migration.size",
            format!("{}/{}", m.size.cpu, m.size.memory),
            "a Fargate CPU/memory pair",
        ));
    }
    if let Some(c) = &m.container
        && !s.containers.iter().any(|x| &x.name == c)
    {
        return Err(err(
            "service.migration.container",
            c,
            "one of the task's containers",
        ));
    }
    Ok(())
}

fn is_dns_label(n: &str) -> bool {
    (1..=63).contains(&n.len())
        && !n.starts_with('-')
        && !n.ends_with('-')
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

fn containers(s: &FargateServiceSpec) -> Result<()> {
    if s.containers.is_empty() {
        return Err(err("service.containers", "[]", "at least one container"));
    }
    if s.containers.len() > 10 {
        return Err(err(
            "service.containers",
            s.containers.len(),
            "at most 10 containers per task",
        ));
    }
    let names: Vec<&str> = s.containers.iter().map(|c| c.name.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut ports = BTreeSet::new();
    for c in &s.containers {
        let f = format!("service.containers.{}", c.name);
        if !seen.insert(c.name.as_str()) {
            return Err(err(
                "service.containers",
                &c.name,
                "container names are unique in a task",
            ));
        }
        container(&f, c, &names, &s.containers)?;
        for p in &c.ports {
            if !ports.insert(*p) {
                return Err(err(
                    format!("{f}.port"),
                    p,
                    "a port is used by one container of the task (awsvpc: they share one network interface)",
                ));
            }
        }
    }
    if !s.containers.iter().any(|c| c.essential) {
        return Err(err(
            "service.containers",
            "no essential container",
            "at least one container is essential",
        ));
    }
    let reserved: u32 = s
        .containers
        .iter()
        .filter_map(|c| c.memory_reservation)
        .sum();
    if reserved > s.size.memory {
        return Err(err(
            "service.containers.memory_reservation",
            format!("{reserved} MiB"),
            format!("the reservations fit in the task's {} MiB", s.size.memory),
        ));
    }
    Ok(())
}

fn container(f: &str, c: &Container, names: &[&str], all: &[Container]) -> Result<()> {
    let name_ok = (1..=255).contains(&c.name.len())
        && c.name
            .chars()
            .all(|x| x.is_ascii_alphanumeric() || x == '-' || x == '_');
    if !name_ok {
        return Err(err(
            f,
            &c.name,
            "a container name: 1 to 255 letters, digits, hyphens and underscores",
        ));
    }
    if c.ports.contains(&0) {
        return Err(err(format!("{f}.port"), 0, "a port from 1 to 65535"));
    }
    for k in c.env.keys().chain(c.secrets.keys()) {
        let ok = !k.is_empty()
            && !k.starts_with(|x: char| x.is_ascii_digit())
            && k.chars().all(|x| x.is_ascii_alphanumeric() || x == '_');
        if !ok {
            return Err(err(
                format!("{f}.environment"),
                k,
                "a variable name: letters, digits and underscores, not starting with a digit",
            ));
        }
    }
    if let Some(k) = c.env.keys().find(|k| c.secrets.contains_key(*k)) {
        return Err(err(
            format!("{f}.secrets"),
            k,
            "a variable is either plain or a secret, not both",
        ));
    }
    for (other, when) in &c.depends_on {
        if other == &c.name || !names.contains(&other.as_str()) {
            return Err(err(
                format!("{f}.depends_on"),
                other,
                "another container of the task",
            ));
        }
        let healthy = all
            .iter()
            .find(|x| &x.name == other)
            .is_some_and(|x| x.health.is_some());
        if *when == StartAfter::Healthy && !healthy {
            return Err(err(
                format!("{f}.depends_on"),
                other,
                "a HEALTHY dependency has a health check",
            ));
        }
    }
    if let Some(h) = &c.health {
        let kind_ok = matches!(
            h.command.first().map(String::as_str),
            Some("CMD") | Some("CMD-SHELL")
        ) && h.command.len() >= 2;
        let checks = [
            (
                kind_ok,
                "command",
                h.command.join(" "),
                "[\"CMD-SHELL\", command] or [\"CMD\", args...]",
            ),
            (
                (5..=300).contains(&h.interval_secs),
                "interval",
                h.interval_secs.to_string(),
                "5 to 300 seconds",
            ),
            (
                (2..=120).contains(&h.timeout_secs),
                "timeout",
                h.timeout_secs.to_string(),
                "2 to 120 seconds",
            ),
            (
                h.timeout_secs < h.interval_secs,
                "timeout",
                h.timeout_secs.to_string(),
                "less than the interval",
            ),
            (
                (1..=10).contains(&h.retries),
                "retries",
                h.retries.to_string(),
                "1 to 10",
            ),
            (
                h.start_period_secs <= 300,
                "start_period",
                h.start_period_secs.to_string(),
                "0 to 300 seconds",
            ),
        ];
        if let Some((_, field, value, rule)) = checks.into_iter().find(|c| !c.0) {
            return Err(err(format!("{f}.health.{field}"), value, rule));
        }
    }
    Ok(())
}

fn deployment(s: &FargateServiceSpec) -> Result<()> {
    if s.min_healthy_percent > 100 {
        return Err(err(
            "service.min_healthy_percent",
            s.min_healthy_percent,
            "0 to 100",
        ));
    }
    if !(100..=200).contains(&s.max_percent) {
        return Err(err("service.max_percent", s.max_percent, "100 to 200"));
    }
    if s.desired_count > MAX_TASKS {
        return Err(err(
            "service.desired_count",
            s.desired_count,
            format!("at most {MAX_TASKS}"),
        ));
    }
    Ok(())
}

fn autoscaling(s: &FargateServiceSpec, a: &crate::spec::Autoscaling) -> Result<()> {
    if a.min > a.max {
        return Err(err(
            "service.autoscaling.min",
            format!("{} > max {}", a.min, a.max),
            "min is at most max",
        ));
    }
    if a.max == 0 || a.max > MAX_TASKS {
        return Err(err(
            "service.autoscaling.max",
            a.max,
            format!("1 to {MAX_TASKS}"),
        ));
    }
    if !(a.min..=a.max).contains(&s.desired_count) {
        return Err(err(
            "service.desired_count",
            s.desired_count,
            format!("within the autoscaling bounds {}..={}", a.min, a.max),
        ));
    }
    if a.metrics.is_empty() {
        return Err(err(
            "service.autoscaling.metrics",
            "[]",
            "at least one metric to track",
        ));
    }
    let mut seen = BTreeSet::new();
    for m in &a.metrics {
        let f = format!("service.autoscaling.{}", m.name());
        if !seen.insert(m.name()) {
            return Err(err(&f, m.target(), "one policy per metric"));
        }
        let ok = match m {
            ScaleOn::Cpu(v) | ScaleOn::Memory(v) => *v > 0.0 && *v <= 100.0,
            ScaleOn::RequestsPerTarget(v) => *v > 0.0,
        };
        if !ok {
            return Err(err(
                &f,
                m.target(),
                "a percentage above 0 and at most 100 (requests: above 0)",
            ));
        }
        if matches!(m, ScaleOn::RequestsPerTarget(_)) && s.load_balancer.is_none() {
            return Err(err(
                &f,
                m.target(),
                "request-count scaling needs the service behind a load balancer",
            ));
        }
    }
    for (k, v) in [
        ("scale_out_cooldown_secs", a.scale_out_cooldown_secs),
        ("scale_in_cooldown_secs", a.scale_in_cooldown_secs),
    ] {
        if v > 31_536_000 {
            return Err(err(
                format!("service.autoscaling.{k}"),
                v,
                "at most one year (31536000 seconds)",
            ));
        }
    }
    Ok(())
}

pub(crate) fn capacity(field: &str, shares: &[CapacityShare]) -> Result<()> {
    let mut seen = BTreeSet::new();
    for c in shares {
        if !seen.insert(c.provider()) {
            return Err(err(field, c.provider(), "each capacity provider once"));
        }
        if c.weight > 1000 || c.base > 100_000 {
            return Err(err(
                field,
                format!("{} weight {} base {}", c.provider(), c.weight, c.base),
                "weight 0 to 1000, base 0 to 100000",
            ));
        }
    }
    if !shares.is_empty() && shares.iter().all(|c| c.weight == 0) {
        return Err(err(
            field,
            "all weights 0",
            "at least one provider with a weight above 0",
        ));
    }
    if shares.iter().filter(|c| c.base > 0).count() > 1 {
        return Err(err(
            field,
            "base on several providers",
            "a base on one provider only",
        ));
    }
    Ok(())
}

/// Plan warnings: settings that work but are likely not meant.
pub(crate) fn service_warnings(s: &FargateServiceSpec) -> Vec<String> {
    let mut w = Vec::new();
    if s.subnets.public && !s.subnets.assign_public_ip {
        w.push(format!("service {}: public subnets without a public IP: tasks cannot reach ECR or Secrets Manager (no NAT from a public subnet); use private subnets behind a NAT, or assign a public IP", s.logical_id));
    }
    let floor = s.autoscaling.as_ref().map_or(s.desired_count, |a| a.min);
    if floor <= 1 && s.min_healthy_percent < 100 {
        w.push(format!("service {}: min_healthy_percent {} with {} task(s): a deploy can stop every running task first", s.logical_id, s.min_healthy_percent, floor));
    }
    if !s.capacity.is_empty() && s.capacity.iter().all(|c| c.spot || c.weight == 0) {
        w.push(format!(
            "service {}: Fargate Spot only: an interruption is not replaced by on-demand capacity",
            s.logical_id
        ));
    }
    w
}
