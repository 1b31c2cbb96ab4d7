//! Container definitions as JSON: one canonical form built from the spec and read back from
//! ECS, so a re-apply compares equal and only a real change registers a revision.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, HealthCheck, KeyValuePair,
    LogConfiguration, LogDriver, PortMapping, Secret, TransportProtocol,
};
use serde_json::{Value as Json, json};
use skyforge_core::Inputs;

use crate::container::Container;

/// Where a container's logs go.
pub(crate) struct LogTarget<'a> {
    pub(crate) group: &'a str,
    pub(crate) region: &'a str,
    pub(crate) prefix: &'a str,
}

/// The canonical JSON of `c` (image excluded), `None` while a secret ARN or an environment
/// value is unknown.
pub(crate) fn container_json(c: &Container, inputs: &Inputs, log: &LogTarget) -> Option<Json> {
    let env: Option<BTreeMap<String, String>> = c
        .env
        .iter()
        .map(|(k, v)| Some((k.clone(), v.resolve(inputs)?)))
        .collect();
    let secrets: Option<BTreeMap<String, String>> = c
        .secrets
        .iter()
        .map(|(k, s)| Some((k.clone(), s.value_from(inputs)?)))
        .collect();
    let mut ports = c.ports.clone();
    ports.sort_unstable();
    Some(json!({
        "name": c.name,
        "essential": c.essential,
        "ports": ports,
        "environment": env?,
        "secrets": secrets?,
        "health": c.health.as_ref().map(|h| json!({
            "command": h.command, "interval": h.interval_secs, "timeout": h.timeout_secs,
            "retries": h.retries, "start_period": h.start_period_secs,
        })),
        "depends_on": c.depends_on.iter().map(|(n, w)| json!([n, w.as_str()])).collect::<Vec<_>>(),
        "read_only_root": c.read_only_root,
        "user": c.user,
        "command": c.command,
        "memory_reservation": c.memory_reservation,
        "logs": {"group": log.group, "region": log.region, "prefix": log.prefix},
    }))
}

/// The canonical JSON of a container definition ECS returned.
pub(crate) fn observed_json(d: &ContainerDefinition) -> Json {
    let mut ports: Vec<i32> = d
        .port_mappings()
        .iter()
        .filter_map(|p| p.container_port())
        .collect();
    ports.sort_unstable();
    let env: BTreeMap<&str, &str> = d
        .environment()
        .iter()
        .filter_map(|kv| Some((kv.name()?, kv.value()?)))
        .collect();
    let secrets: BTreeMap<&str, &str> = d
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    let opts = d.log_configuration().and_then(|l| l.options());
    let opt = |k: &str| opts.and_then(|o| o.get(k)).cloned().unwrap_or_default();
    json!({
        "name": d.name().unwrap_or_default(),
        "essential": d.essential().unwrap_or(true),
        "ports": ports,
        "environment": env,
        "secrets": secrets,
        "health": d.health_check().map(|h| json!({
            "command": h.command(), "interval": h.interval().unwrap_or(30),
            "timeout": h.timeout().unwrap_or(5), "retries": h.retries().unwrap_or(3),
            "start_period": h.start_period().unwrap_or(0),
        })),
        "depends_on": d.depends_on().iter().map(|x| json!([x.container_name(), x.condition().as_str()])).collect::<Vec<_>>(),
        "read_only_root": d.readonly_root_filesystem().unwrap_or(false),
        "user": d.user(),
        "command": d.command(),
        "memory_reservation": d.memory_reservation(),
        "logs": {"group": opt("awslogs-group"), "region": opt("awslogs-region"), "prefix": opt("awslogs-stream-prefix")},
    })
}

fn health(h: &Json) -> Option<HealthCheck> {
    let n = |k: &str| h[k].as_i64().map(|v| v as i32);
    HealthCheck::builder()
        .set_command(serde_json::from_value(h["command"].clone()).ok())
        .set_interval(n("interval"))
        .set_timeout(n("timeout"))
        .set_retries(n("retries"))
        .set_start_period(n("start_period"))
        .build()
        .ok()
}

fn strings(v: &Json) -> Vec<String> {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// The SDK definition of canonical container `c` running `image`.
pub(crate) fn to_sdk(c: &Json, image: &str) -> ContainerDefinition {
    let pairs = |k: &str| -> Vec<(String, String)> {
        c[k].as_object()
            .map(|m| {
                m.iter()
                    .map(|(a, b)| (a.clone(), b.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ports = c["ports"].as_array().cloned().unwrap_or_default();
    let logs = &c["logs"];
    let log = LogConfiguration::builder()
        .log_driver(LogDriver::Awslogs)
        .options("awslogs-group", logs["group"].as_str().unwrap_or_default())
        .options(
            "awslogs-region",
            logs["region"].as_str().unwrap_or_default(),
        )
        .options(
            "awslogs-stream-prefix",
            logs["prefix"].as_str().unwrap_or_default(),
        )
        .build()
        .ok();
    let deps = c["depends_on"].as_array().cloned().unwrap_or_default();
    ContainerDefinition::builder()
        .name(c["name"].as_str().unwrap_or_default())
        .image(image)
        .essential(c["essential"].as_bool().unwrap_or(true))
        .set_port_mappings(Some(
            ports
                .iter()
                .filter_map(|p| p.as_i64())
                .map(|p| {
                    PortMapping::builder()
                        .container_port(p as i32)
                        .protocol(TransportProtocol::Tcp)
                        .build()
                })
                .collect(),
        ))
        .set_environment(Some(
            pairs("environment")
                .into_iter()
                .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                .collect(),
        ))
        .set_secrets(Some(
            pairs("secrets")
                .into_iter()
                .filter_map(|(k, v)| Secret::builder().name(k).value_from(v).build().ok())
                .collect(),
        ))
        .set_health_check(health(&c["health"]))
        .set_depends_on(Some(
            deps.iter()
                .filter_map(|d| {
                    ContainerDependency::builder()
                        .container_name(d[0].as_str()?)
                        .condition(ContainerCondition::from(d[1].as_str()?))
                        .build()
                        .ok()
                })
                .collect(),
        ))
        .readonly_root_filesystem(c["read_only_root"].as_bool().unwrap_or(false))
        .set_user(c["user"].as_str().map(String::from))
        .set_command(Some(strings(&c["command"])).filter(|v| !v.is_empty()))
        .set_memory_reservation(c["memory_reservation"].as_i64().map(|v| v as i32))
        .set_log_configuration(log)
        .build()
}
