//! Adding a load balancer to a stack: its security group, the load balancer, a target group
//! and a rule per route, and the listeners.

use std::collections::BTreeMap;

use skyforge_core::{Component, NodeId, Ref, Result, Stack};
use skyforge_network::{GroupHandle, Peer, Rule, SecurityGroup};

use crate::common::Act;
use crate::lb::LbNode;
use crate::listener::ListenerNode;
use crate::rule::RuleNode;
use crate::spec::{LoadBalancer, LoadBalancerSpec, Match};
use crate::target_group::TgNode;

/// A route's target group, for compute to register a service with: the group's ARN, the port,
/// and the node the service must wait for (the rule or listener forwarding to the group: ECS
/// refuses a target group no listener uses).
#[derive(Debug, Clone)]
pub struct TargetGroupRef {
    /// The target group's ARN.
    pub arn: Ref<String>,
    /// The targets' port.
    pub port: u16,
    /// The node that makes the group reachable (rule or listener).
    pub attached_by: NodeId,
    /// The load balancer's security group (the service's group allows it on `port`).
    pub load_balancer_group: GroupHandle,
    /// The load balancer's ARN (request-count autoscaling names the pair).
    pub load_balancer_arn: Ref<String>,
}

/// A load balancer in a stack.
#[derive(Debug, Clone)]
pub struct LoadBalancerHandle {
    lb: NodeId,
    security_group: GroupHandle,
    listeners: Vec<NodeId>,
    routes: BTreeMap<String, TargetGroupRef>,
    priorities: BTreeMap<String, u32>,
}

impl LoadBalancerHandle {
    /// The DNS name (what a CNAME or alias points at).
    pub fn dns_name(&self) -> Ref<String> {
        Ref::new(self.lb, "dns_name")
    }
    /// The canonical hosted zone id (for a Route 53 alias).
    pub fn zone_id(&self) -> Ref<String> {
        Ref::new(self.lb, "zone_id")
    }
    /// The load balancer's ARN.
    pub fn arn(&self) -> Ref<String> {
        Ref::new(self.lb, "arn")
    }
    /// The load balancer node.
    pub fn node(&self) -> NodeId {
        self.lb
    }
    /// Its security group.
    pub fn security_group(&self) -> &GroupHandle {
        &self.security_group
    }
    /// The listeners' ARNs (HTTP, then HTTPS when there is a certificate).
    pub fn listener_arns(&self) -> Vec<Ref<String>> {
        self.listeners.iter().map(|n| Ref::new(*n, "arn")).collect()
    }
    /// The target group of route `name`; an unknown route is an error naming it.
    pub fn target_group(&self, name: &str) -> Result<TargetGroupRef> {
        self.routes.get(name).cloned().ok_or_else(|| {
            skyforge_core::Error::validation(
                "load_balancer.route",
                name,
                format!(
                    "the load balancer routes {:?}",
                    self.routes.keys().collect::<Vec<_>>()
                ),
            )
        })
    }
    /// The rule priorities allocated, by route.
    pub fn priorities(&self) -> &BTreeMap<String, u32> {
        &self.priorities
    }
}

fn security_group(s: &LoadBalancerSpec) -> SecurityGroup {
    let mut ports = vec![80];
    if s.https() {
        ports.push(443);
    }
    let ingress = ports
        .iter()
        .flat_map(|p| {
            s.allow_cidrs.iter().map(move |c| {
                Rule::tcp(*p)
                    .from(Peer::cidr(c.clone()))
                    .describe(format!("port {p}"))
            })
        })
        .collect();
    SecurityGroup::builder()
        .vpc(s.vpc.clone())
        .name(format!("{}-lb", s.logical_id))
        .description(format!("load balancer {}", s.logical_id))
        .ingress(ingress)
        .public_ports(ports)
        .build()
        .expect("a validated load balancer makes a valid security group")
}

impl Component for LoadBalancer {
    type Handle = LoadBalancerHandle;
    fn add_to(self, stack: &mut Stack) -> LoadBalancerHandle {
        crate::owned::register_kinds(stack);
        let s = self.spec;
        let id = s.logical_id.clone();
        let sg = stack.add(security_group(&s));
        let region = stack.env().region_name().unwrap_or("us-east-1").to_string();
        let logs = s.access_log_days.map(|days| {
            stack.add(
                skyforge_storage::Bucket::for_alb_logs(format!("{id}-logs"), region, days)
                    .expect("a validated load balancer makes a valid log bucket"),
            )
        });
        let lb = stack.add_resource(LbNode {
            spec: s.clone(),
            security_group: sg.id().into(),
            log_bucket: logs.as_ref().map(|b| b.name()),
        });
        let lb_arn: Ref<String> = Ref::new(lb, "arn");
        let tgs: BTreeMap<String, NodeId> = s
            .routes
            .iter()
            .map(|r| {
                let node = stack.add_resource(TgNode {
                    lb: id.clone(),
                    route: r.clone(),
                    vpc: s.vpc.clone(),
                });
                (r.name.clone(), node)
            })
            .collect();
        let tg_arn = |name: &str| -> Ref<String> { Ref::new(tgs[name], "arn") };
        let default = match s.default_route() {
            Some(r) => Act::Forward(tg_arn(&r.name).into()),
            None => Act::NotFound,
        };
        let default_tg: Vec<NodeId> = s
            .default_route()
            .map(|r| tgs[&r.name])
            .into_iter()
            .collect();
        let http = stack.add_resource(ListenerNode {
            logical: format!("{id}-http"),
            lb: lb_arn,
            https: false,
            certificate: None,
            ssl_policy: String::new(),
            default: if s.redirects() {
                Act::RedirectHttps
            } else {
                default.clone()
            },
            target_groups: if s.redirects() {
                Vec::new()
            } else {
                default_tg.clone()
            },
        });
        let https = s.https().then(|| {
            stack.add_resource(ListenerNode {
                logical: format!("{id}-https"),
                lb: lb_arn,
                https: true,
                certificate: s.certificates.first().cloned(),
                ssl_policy: s.ssl_policy.clone(),
                default: default.clone(),
                target_groups: default_tg.clone(),
            })
        });
        let serving = https.unwrap_or(http);
        let priorities = crate::priority::allocate(&s.routes);
        let mut routes = BTreeMap::new();
        for r in &s.routes {
            let attached_by = if r.matches == Match::Default {
                serving
            } else {
                stack.add_resource(RuleNode {
                    logical: format!("{id}-{}", r.name),
                    listener: Ref::new(serving, "arn"),
                    matches: r.matches.clone(),
                    priority: priorities[&r.name],
                    target: Act::Forward(tg_arn(&r.name).into()),
                    target_group: tgs[&r.name],
                })
            };
            routes.insert(
                r.name.clone(),
                TargetGroupRef {
                    arn: tg_arn(&r.name),
                    port: r.port,
                    attached_by,
                    load_balancer_group: sg.clone(),
                    load_balancer_arn: lb_arn,
                },
            );
        }
        LoadBalancerHandle {
            lb,
            security_group: sg,
            listeners: [Some(http), https].into_iter().flatten().collect(),
            routes,
            priorities,
        }
    }
}
