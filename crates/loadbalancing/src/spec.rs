//! The `LoadBalancer` builder and its routes: what a user declares.

use skyforge_core::{Environment, Result};
use skyforge_network::{Private, Public, SubnetHandle, Subnets};
use typed_builder::TypedBuilder;

/// The load balancer's subnets: public ones make it internet-facing, private ones internal.
#[derive(Debug, Clone)]
pub struct LbSubnets {
    pub(crate) subnets: Vec<SubnetHandle>,
    pub(crate) internet_facing: bool,
}

impl From<Subnets<Public>> for LbSubnets {
    fn from(s: Subnets<Public>) -> Self {
        LbSubnets {
            subnets: s.handles().to_vec(),
            internet_facing: true,
        }
    }
}

impl From<Subnets<Private>> for LbSubnets {
    fn from(s: Subnets<Private>) -> Self {
        LbSubnets {
            subnets: s.handles().to_vec(),
            internet_facing: false,
        }
    }
}

/// What requests a route takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Match {
    /// Path patterns (`/api/*`).
    Path(Vec<String>),
    /// Host names (`api.example.com`, `*.example.com`).
    Host(Vec<String>),
    /// Both: one of the hosts and one of the paths.
    HostAndPath(Vec<String>, Vec<String>),
    /// Every request no other route takes: the listener's default action.
    Default,
}

impl Match {
    pub(crate) fn hosts(&self) -> &[String] {
        match self {
            Match::Host(h) | Match::HostAndPath(h, _) => h,
            _ => &[],
        }
    }
    pub(crate) fn paths(&self) -> &[String] {
        match self {
            Match::Path(p) | Match::HostAndPath(_, p) => p,
            _ => &[],
        }
    }
}

/// The target group's health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    /// Path (`/health`).
    pub path: String,
    /// Seconds between checks (5 to 300); default 15.
    pub interval_secs: u32,
    /// Seconds before a check fails (2 to 120, less than the interval); default 5.
    pub timeout_secs: u32,
    /// Successes before healthy (2 to 10); default 2.
    pub healthy_threshold: u32,
    /// Failures before unhealthy (2 to 10); default 2.
    pub unhealthy_threshold: u32,
    /// HTTP codes that mean healthy (`200`, `200-299`); default `200-399`.
    pub matcher: String,
}

impl HealthCheck {
    /// A check of `path` with skyforge's fast defaults (15 s, 5 s, 2 / 2, `200-399`).
    pub fn path(path: impl Into<String>) -> HealthCheck {
        HealthCheck {
            path: path.into(),
            interval_secs: 15,
            timeout_secs: 5,
            healthy_threshold: 2,
            unhealthy_threshold: 2,
            matcher: "200-399".into(),
        }
    }
    /// Seconds between checks.
    pub fn interval(mut self, secs: u32) -> HealthCheck {
        self.interval_secs = secs;
        self
    }
    /// Seconds before a check fails.
    pub fn timeout(mut self, secs: u32) -> HealthCheck {
        self.timeout_secs = secs;
        self
    }
    /// Healthy and unhealthy thresholds.
    pub fn thresholds(mut self, healthy: u32, unhealthy: u32) -> HealthCheck {
        self.healthy_threshold = healthy;
        self.unhealthy_threshold = unhealthy;
        self
    }
    /// Codes that mean healthy.
    pub fn matcher(mut self, codes: impl Into<String>) -> HealthCheck {
        self.matcher = codes.into();
        self
    }
}

/// One route: what it matches and the target group behind it (type `ip`, for Fargate tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Name (`api`): the target group's logical id, and how compute refers to it.
    pub name: String,
    /// What it matches.
    pub matches: Match,
    /// The targets' port.
    pub port: u16,
    /// Health check; default `/` with the fast defaults.
    pub health: HealthCheck,
    /// Seconds a target drains before deregistration (0 to 3600); default 30.
    pub deregistration_delay_secs: u32,
    /// Sticky sessions by a load-balancer cookie for this many seconds (1 to 604800).
    pub stickiness_secs: Option<u32>,
    /// Seconds a new target ramps up (30 to 900); none by default.
    pub slow_start_secs: Option<u32>,
}

impl Route {
    fn new(name: impl Into<String>, matches: Match, port: u16) -> Route {
        Route {
            name: name.into(),
            matches,
            port,
            health: HealthCheck::path("/"),
            deregistration_delay_secs: 30,
            stickiness_secs: None,
            slow_start_secs: None,
        }
    }
    /// Requests whose path matches one of `patterns`, to targets on `port`.
    pub fn path<S: Into<String>>(
        name: impl Into<String>,
        patterns: impl IntoIterator<Item = S>,
        port: u16,
    ) -> Route {
        let p = patterns.into_iter().map(Into::into).collect();
        Route::new(name, Match::Path(p), port)
    }
    /// Requests for one of `hosts`, to targets on `port`.
    pub fn host<S: Into<String>>(
        name: impl Into<String>,
        hosts: impl IntoIterator<Item = S>,
        port: u16,
    ) -> Route {
        let h = hosts.into_iter().map(Into::into).collect();
        Route::new(name, Match::Host(h), port)
    }
    /// Requests for one of `hosts` whose path matches one of `patterns`.
    pub fn host_and_path<S: Into<String>, T: Into<String>>(
        name: impl Into<String>,
        hosts: impl IntoIterator<Item = S>,
        patterns: impl IntoIterator<Item = T>,
        port: u16,
    ) -> Route {
        let h = hosts.into_iter().map(Into::into).collect();
        let p = patterns.into_iter().map(Into::into).collect();
        Route::new(name, Match::HostAndPath(h, p), port)
    }
    /// Every request no other route takes (the listener's default instead of a 404).
    pub fn default_route(name: impl Into<String>, port: u16) -> Route {
        Route::new(name, Match::Default, port)
    }
    /// The health check.
    pub fn health(mut self, h: HealthCheck) -> Route {
        self.health = h;
        self
    }
    /// Deregistration delay in seconds.
    pub fn deregistration_delay(mut self, secs: u32) -> Route {
        self.deregistration_delay_secs = secs;
        self
    }
    /// Sticky sessions for `secs` seconds.
    pub fn sticky(mut self, secs: u32) -> Route {
        self.stickiness_secs = Some(secs);
        self
    }
    /// Slow start over `secs` seconds.
    pub fn slow_start(mut self, secs: u32) -> Route {
        self.slow_start_secs = Some(secs);
        self
    }
}

/// An Application Load Balancer shared by several services: its security group, an HTTP
/// listener (redirecting to HTTPS when there is a certificate), an HTTPS listener, one rule and
/// one target group per route.
#[derive(Debug, Clone, TypedBuilder)]
#[builder(build_method(into = Result<LoadBalancer>))]
pub struct LoadBalancerSpec {
    /// Logical id (`public`).
    #[builder(setter(into))]
    pub logical_id: String,
    /// The VPC (`net.vpc_id()`).
    #[builder(setter(into))]
    pub vpc: skyforge_core::Input<String>,
    /// Public subnets (internet-facing) or private ones (internal), in at least two zones.
    #[builder(setter(into))]
    pub subnets: LbSubnets,
    /// Who may connect to the listeners; default anyone (`0.0.0.0/0`).
    #[builder(default = vec!["0.0.0.0/0".to_string()])]
    pub allow_cidrs: Vec<String>,
    /// ACM certificate ARNs: the first is the HTTPS listener's default; none means HTTP only
    /// (a plan warning).
    #[builder(default)]
    pub certificates: Vec<String>,
    /// Answer HTTP with a 301 to HTTPS; default: when there is a certificate. Asking for it
    /// without one is an error.
    #[builder(default, setter(strip_option))]
    pub redirect_http: Option<bool>,
    /// TLS policy of the HTTPS listener.
    #[builder(default = "ELBSecurityPolicy-TLS13-1-2-2021-06".to_string(), setter(into))]
    pub ssl_policy: String,
    /// The routes, in any order (priorities come from what each matches, see the crate docs).
    #[builder(default)]
    pub routes: Vec<Route>,
    /// Idle timeout in seconds (1 to 4000); default 60.
    #[builder(default = 60)]
    pub idle_timeout_secs: u32,
    /// HTTP/2 to clients (default on).
    #[builder(default = true)]
    pub http2: bool,
    /// Drop requests with invalid header fields (default on).
    #[builder(default = true)]
    pub drop_invalid_header_fields: bool,
    /// Access logs into a bucket the load balancer's component creates
    /// (`skyforge_storage::Bucket::for_alb_logs`), kept this many days; off by default (a plan
    /// warning in prod).
    #[builder(default, setter(strip_option))]
    pub access_log_days: Option<u32>,
    /// Deletion protection; default on in prod.
    #[builder(default, setter(strip_option))]
    pub deletion_protection: Option<bool>,
    /// The load balancer's name (at most 32 characters); default the stack's name.
    #[builder(default, setter(strip_option, into))]
    pub name: Option<String>,
}

/// A validated load balancer, ready to add to a stack.
#[derive(Debug, Clone)]
pub struct LoadBalancer {
    pub(crate) spec: LoadBalancerSpec,
}

impl LoadBalancer {
    /// Start a load balancer.
    pub fn builder() -> LoadBalancerSpecBuilder {
        LoadBalancerSpec::builder()
    }
    /// The spec.
    pub fn spec(&self) -> &LoadBalancerSpec {
        &self.spec
    }
}

impl From<LoadBalancerSpec> for Result<LoadBalancer> {
    fn from(spec: LoadBalancerSpec) -> Self {
        crate::validate::spec(&spec)?;
        Ok(LoadBalancer { spec })
    }
}

impl LoadBalancerSpec {
    pub(crate) fn https(&self) -> bool {
        !self.certificates.is_empty()
    }
    pub(crate) fn redirects(&self) -> bool {
        self.redirect_http.unwrap_or(self.https())
    }
    pub(crate) fn protected_in(&self, env: &Environment) -> bool {
        self.deletion_protection.unwrap_or(env.stage().is_prod())
    }
    pub(crate) fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.matches == Match::Default)
    }
}
