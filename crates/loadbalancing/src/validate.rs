//! Every rule checked before any API call, each failing with the field, the value and the rule.

use std::collections::BTreeMap;

use skyforge_core::naming::{self, NameKind};
use skyforge_core::{Error, Result};

use crate::spec::{LoadBalancerSpec, Match, Route};

/// TLS policies the HTTPS listener accepts (the current ones).
pub const SSL_POLICIES: [&str; 5] = [
    "ELBSecurityPolicy-TLS13-1-2-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06",
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
];

/// Routes an ALB takes at most (its rules, besides the default one).
pub const MAX_RULES: usize = 100;
/// Condition values a rule takes at most (hosts plus paths).
pub const MAX_VALUES: usize = 5;

fn fail(
    spec: &LoadBalancerSpec,
    name: &str,
    value: impl ToString,
    rule: impl Into<String>,
) -> Error {
    Error::validation(
        format!("load_balancer.{}.{name}", spec.logical_id),
        value.to_string(),
        rule.into(),
    )
}

fn in_range(
    spec: &LoadBalancerSpec,
    field: &str,
    v: u32,
    lo: u32,
    hi: u32,
    what: &str,
) -> Result<()> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(fail(spec, field, v, format!("{what} is {lo} to {hi}")))
    }
}

fn listener(spec: &LoadBalancerSpec) -> Result<()> {
    if let Some(n) = &spec.name
        && !naming::is_valid(NameKind::LoadBalancer, n)
    {
        return Err(fail(
            spec,
            "name",
            n,
            "a load balancer name is 1 to 32 letters, digits and hyphens, not starting with internal-",
        ));
    }
    let mut zones: Vec<usize> = spec.subnets.subnets.iter().map(|s| s.index).collect();
    zones.sort_unstable();
    zones.dedup();
    if zones.len() < 2 {
        return Err(fail(
            spec,
            "subnets",
            format!("{} zone(s)", zones.len()),
            "an Application Load Balancer needs subnets in at least two zones",
        ));
    }
    if spec.redirect_http == Some(true) && !spec.https() {
        return Err(fail(
            spec,
            "redirect_http",
            "true",
            "a redirect to HTTPS needs a certificate (certificates)",
        ));
    }
    for c in &spec.certificates {
        if !(c.starts_with("arn:") && (c.contains(":acm:") || c.contains(":iam:"))) {
            return Err(fail(
                spec,
                "certificates",
                c,
                "a certificate is an ACM (or IAM server certificate) ARN",
            ));
        }
    }
    if spec.https() && !SSL_POLICIES.contains(&spec.ssl_policy.as_str()) {
        return Err(fail(
            spec,
            "ssl_policy",
            &spec.ssl_policy,
            format!("a current TLS 1.3 policy, one of {SSL_POLICIES:?}"),
        ));
    }
    in_range(
        spec,
        "idle_timeout_secs",
        spec.idle_timeout_secs,
        1,
        4000,
        "the idle timeout",
    )?;
    if let Some(d) = spec.access_log_days {
        in_range(spec, "access_log_days", d, 1, 3650, "access logs are kept")?;
    }
    for c in &spec.allow_cidrs {
        // IPv4 prefixes up to 32, IPv6 up to 128, no host bits set.
        let ok = c
            .parse::<ipnet::IpNet>()
            .is_ok_and(|n| n.trunc() == n && c.contains('/'));
        if !ok {
            return Err(fail(
                spec,
                "allow_cidrs",
                c,
                "a CIDR block with no host bits set (203.0.113.0/24, 2001:db8::/32)",
            ));
        }
    }
    Ok(())
}

fn pattern_ok(p: &str, path: bool) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "-._~/*?&=:%+@$!'(),;".contains(c);
    let wildcards = p.chars().filter(|c| *c == '*' || *c == '?').count();
    !p.is_empty()
        && p.len() <= 128
        && p.chars().all(allowed)
        && (!path || p.starts_with('/'))
        && (path || !p.contains('/'))
        && wildcards <= 5
}

fn route(spec: &LoadBalancerSpec, r: &Route) -> Result<()> {
    let f = |n: &str| format!("routes.{}.{n}", r.name);
    naming::validate_logical_id(
        &format!("load_balancer.{}.routes", spec.logical_id),
        &r.name,
    )?;
    let values = r.matches.hosts().len() + r.matches.paths().len();
    if r.matches != Match::Default && (values == 0 || values > MAX_VALUES) {
        return Err(fail(
            spec,
            &f("matches"),
            values,
            format!("a rule has 1 to {MAX_VALUES} condition values (hosts plus paths)"),
        ));
    }
    for p in r.matches.paths() {
        if !pattern_ok(p, true) {
            return Err(fail(
                spec,
                &f("path"),
                p,
                "a path pattern starts with /, up to 128 characters and 5 wildcards",
            ));
        }
    }
    for h in r.matches.hosts() {
        if !pattern_ok(h, false) || h.contains(':') {
            return Err(fail(
                spec,
                &f("host"),
                h,
                "a host name (api.example.com, *.example.com), up to 128 characters",
            ));
        }
    }
    if r.port == 0 {
        return Err(fail(
            spec,
            &f("port"),
            r.port,
            "a target port is 1 to 65535",
        ));
    }
    let h = &r.health;
    if !h.path.starts_with('/') || h.path.len() > 1024 {
        return Err(fail(
            spec,
            &f("health.path"),
            &h.path,
            "a health check path starts with /",
        ));
    }
    in_range(
        spec,
        &f("health.interval_secs"),
        h.interval_secs,
        5,
        300,
        "the interval",
    )?;
    in_range(
        spec,
        &f("health.timeout_secs"),
        h.timeout_secs,
        2,
        120,
        "the timeout",
    )?;
    if h.timeout_secs >= h.interval_secs {
        return Err(fail(
            spec,
            &f("health.timeout_secs"),
            h.timeout_secs,
            format!(
                "the timeout is shorter than the interval ({} s)",
                h.interval_secs
            ),
        ));
    }
    in_range(
        spec,
        &f("health.healthy_threshold"),
        h.healthy_threshold,
        2,
        10,
        "a threshold",
    )?;
    in_range(
        spec,
        &f("health.unhealthy_threshold"),
        h.unhealthy_threshold,
        2,
        10,
        "a threshold",
    )?;
    let matcher_ok = h
        .matcher
        .split([',', '-'])
        .all(|c| c.parse::<u32>().is_ok_and(|c| (200..=499).contains(&c)));
    if !matcher_ok {
        return Err(fail(
            spec,
            &f("health.matcher"),
            &h.matcher,
            "HTTP codes 200 to 499: 200, 200,302 or 200-399",
        ));
    }
    in_range(
        spec,
        &f("deregistration_delay_secs"),
        r.deregistration_delay_secs,
        0,
        3600,
        "the deregistration delay",
    )?;
    if let Some(s) = r.stickiness_secs {
        in_range(
            spec,
            &f("stickiness_secs"),
            s,
            1,
            604_800,
            "the stickiness duration",
        )?;
    }
    if let Some(s) = r.slow_start_secs {
        in_range(spec, &f("slow_start_secs"), s, 30, 900, "slow start")?;
    }
    Ok(())
}

fn routes(spec: &LoadBalancerSpec) -> Result<()> {
    if spec.routes.len() > MAX_RULES + 1 {
        return Err(fail(
            spec,
            "routes",
            spec.routes.len(),
            format!("an ALB has at most {MAX_RULES} rules"),
        ));
    }
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut conditions: BTreeMap<(Vec<String>, Vec<String>), &str> = BTreeMap::new();
    let mut defaults = 0;
    for r in &spec.routes {
        route(spec, r)?;
        *names.entry(&r.name).or_default() += 1;
        if names[r.name.as_str()] > 1 {
            return Err(fail(
                spec,
                "routes",
                &r.name,
                "two routes have the same name",
            ));
        }
        if r.matches == Match::Default {
            defaults += 1;
            if defaults > 1 {
                return Err(fail(
                    spec,
                    "routes",
                    &r.name,
                    "only one route is the default",
                ));
            }
            continue;
        }
        let mut hosts = r.matches.hosts().to_vec();
        let mut paths = r.matches.paths().to_vec();
        hosts.sort();
        paths.sort();
        if let Some(other) = conditions.insert((hosts, paths), &r.name) {
            return Err(fail(
                spec,
                &format!("routes.{}.matches", r.name),
                format!("{:?}", r.matches),
                format!("route {other} matches the same requests"),
            ));
        }
        for p in r.matches.paths() {
            if r.matches.hosts().is_empty() && (p == "/*" || p == "*") {
                return Err(fail(
                    spec,
                    &format!("routes.{}.path", r.name),
                    p,
                    "a path matching everything collides with the default route: use Route::default_route",
                ));
            }
        }
    }
    Ok(())
}

/// Check the whole spec.
pub(crate) fn spec(spec: &LoadBalancerSpec) -> Result<()> {
    naming::validate_logical_id("load_balancer.logical_id", &spec.logical_id)?;
    listener(spec)?;
    routes(spec)
}
