//! skyforge-network against the emulator: validation with no API call, apply / no-op / drift /
//! abort and re-apply / destroy, and the graph's concurrency under latency mode.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use skyforge_core::{Action, ApplyReport, Environment, Error, Plan, ResourceId, Result, Stack};
use skyforge_integration_tests::{TestStack, calls_between, changes, ec2_copies, inventory};
use skyforge_network::{
    Azs, FlowLogs, Nat, Network, NetworkHandle, Peer, Protocol, Rule, SecurityGroup, Tier,
};

type Calls = BTreeMap<(String, String), u64>;

fn is_read(op: &str) -> bool {
    ["Describe", "Get", "List"]
        .iter()
        .any(|p| op.starts_with(p))
}

fn mutating(c: &Calls) -> Calls {
    c.iter()
        .filter(|((_, op), _)| !is_read(op))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn total(c: &Calls) -> u64 {
    c.values().sum()
}

/// The four security groups every source system asks for: internet -> ALB -> app -> db/cache.
pub(crate) fn groups(stack: &mut Stack, net: &NetworkHandle) -> Result<()> {
    let alb = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("alb")
            .description("Public load balancer")
            .ingress(vec![
                Rule::tcp(443)
                    .from(Peer::any_ipv4())
                    .describe("HTTPS from the internet"),
                Rule::tcp(80)
                    .from(Peer::any_ipv4())
                    .describe("HTTP redirect to HTTPS"),
            ])
            .build()?,
    );
    let app = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("app")
            .description("Application tasks")
            .ingress(vec![
                Rule::tcp(8000)
                    .from(&alb)
                    .describe("From the load balancer only"),
            ])
            .build()?,
    );
    for (name, port, what) in [("db", 5432, "PostgreSQL"), ("cache", 6379, "Redis")] {
        stack.add(
            SecurityGroup::builder()
                .vpc(net.vpc_id())
                .name(name)
                .description(format!("{what}, reachable from the app only"))
                .ingress(vec![
                    Rule::tcp(port)
                        .from(&app)
                        .describe(format!("{what} from the app")),
                ])
                .allow_all_outbound(false)
                .build()?,
        );
    }
    Ok(())
}

fn staging(env: Environment) -> Result<Stack> {
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![
                Tier::public("public", 24),
                Tier::private("app", 22),
                Tier::isolated("data", 24),
            ])
            .nat(Nat::Single)
            .build()?,
    );
    groups(&mut stack, &net)?;
    net.export(&mut stack);
    Ok(stack)
}

pub(crate) fn prod(env: Environment) -> Result<Stack> {
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.1.0.0/16")
            .azs(Azs::count(3))
            .nat(Nat::PerAz)
            .flow_logs(FlowLogs::all().retention_days(90))
            .s3_endpoint(true)
            .build()?,
    );
    groups(&mut stack, &net)?;
    net.export(&mut stack);
    Ok(stack)
}

async fn plan_apply(t: &TestStack, stack: &Stack) -> (Plan, ApplyReport) {
    let plan = stack.plan(&t.ctx).await.expect("plan");
    let report = stack.apply(&t.ctx, &plan).await.expect("apply");
    (plan, report)
}

async fn destroy(t: &TestStack, stack: &Stack) -> Calls {
    let before = t.calls().await;
    let plan = stack.plan_destroy(&t.ctx).await.expect("plan destroy");
    assert!(plan.summary.destroy > 0, "{plan}");
    stack.apply(&t.ctx, &plan).await.expect("destroy");
    let used = calls_between(&before, &t.calls().await);
    let left = inventory(t).await;
    assert!(left.is_empty(), "destroy left {left:?}");
    used
}

#[tokio::test]
async fn bad_network_specs_fail_before_any_api_call() {
    let t = TestStack::new().await;
    let env = t.env.clone();
    let vpc = |c: &str| Network::builder().cidr(c.to_string());
    let group = |rules: Vec<Rule>| {
        SecurityGroup::builder()
            .vpc("vpc-0123456789abcdef0")
            .name("app")
            .description("App")
            .ingress(rules)
            .build()
    };
    let net_only = |n: Result<Network>, env: Environment| -> Result<Stack> {
        let mut s = Stack::new(env);
        s.add(n?);
        Ok(s)
    };
    let group_only = |g: Result<SecurityGroup>| -> Result<Stack> {
        let mut s = Stack::new(t.env.clone());
        s.add(g?);
        Ok(s)
    };
    let pub_priv = || vec![Tier::public("public", 24), Tier::private("app", 24)];
    let cases: Vec<(&str, Result<Stack>)> = vec![
        (
            "network.cidr",
            net_only(vpc("10.0.0/16").build(), env.clone()),
        ),
        (
            "network.cidr",
            net_only(vpc("10.0.0.1/16").build(), env.clone()),
        ),
        (
            "network.cidr",
            net_only(vpc("10.0.0.0/8").build(), env.clone()),
        ),
        (
            "network.name",
            net_only(vpc("10.0.0.0/16").name("Main").build(), env.clone()),
        ),
        (
            "network.azs",
            net_only(vpc("10.0.0.0/16").azs(Azs::count(0)).build(), env.clone()),
        ),
        (
            "network.azs",
            net_only(
                vpc("10.0.0.0/16").azs(Azs::count(3)).build(),
                env.clone().region("us-west-1"),
            ),
        ),
        (
            "network.azs",
            net_only(
                vpc("10.0.0.0/16")
                    .azs(Azs::named(["us-east-1a", "us-east-1a"]))
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.azs",
            net_only(
                vpc("10.0.0.0/16")
                    .azs(Azs::named(["eu-west-1a", "eu-west-1b"]))
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers",
            net_only(vpc("10.0.0.0/16").tiers(vec![]).build(), env.clone()),
        ),
        (
            "network.tiers.a",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![Tier::public("a", 24), Tier::isolated("a", 24)])
                    .nat(Nat::None)
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.public.prefix",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![Tier::public("public", 29)])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.public.prefix",
            net_only(
                vpc("10.0.0.0/20")
                    .tiers(vec![Tier::public("public", 16)])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.public.cidrs",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![Tier::public("public", 24).cidrs(["10.0.0.0/24"])])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.public.cidrs[1]",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![
                        Tier::public("public", 24).cidrs(["10.0.0.0/24", "10.9.0.0/24"]),
                    ])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.app.cidrs[0]",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![
                        Tier::public("public", 24).cidrs(["10.0.0.0/24", "10.0.1.0/24"]),
                        Tier::private("app", 24).cidrs(["10.0.1.0/24", "10.0.2.0/24"]),
                    ])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.tiers.data.prefix",
            net_only(
                vpc("10.0.0.0/24")
                    .zone_slots(2)
                    .tiers(vec![
                        Tier::public("public", 26),
                        Tier::private("app", 26),
                        Tier::isolated("data", 26),
                    ])
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.nat",
            net_only(
                vpc("10.0.0.0/16")
                    .tiers(vec![Tier::isolated("data", 24)])
                    .nat(Nat::Single)
                    .build(),
                env.clone(),
            ),
        ),
        (
            "network.nat",
            net_only(
                vpc("10.0.0.0/16").tiers(pub_priv()).nat(Nat::None).build(),
                env.clone(),
            ),
        ),
        (
            "network.flow_logs.retention_days",
            net_only(
                vpc("10.0.0.0/16")
                    .flow_logs(FlowLogs::all().retention_days(45))
                    .build(),
                env.clone(),
            ),
        ),
        (
            "ingress[0].ports",
            group_only(group(vec![
                Rule::tcp_range(0, 80).from(Peer::any_ipv4()).describe("x"),
            ])),
        ),
        (
            "ingress[0].ports",
            group_only(group(vec![
                Rule::tcp_range(9000, 8000)
                    .from(Peer::any_ipv4())
                    .describe("x"),
            ])),
        ),
        (
            "ingress[0].ports",
            group_only(group(vec![
                Rule::custom(Protocol::All, 0, 80)
                    .from(Peer::cidr("10.0.0.0/16"))
                    .describe("x"),
            ])),
        ),
        (
            "ingress[0].icmp",
            group_only(group(vec![
                Rule::icmp(300, 0)
                    .from(Peer::cidr("10.0.0.0/16"))
                    .describe("x"),
            ])),
        ),
        (
            "ingress[1]",
            group_only(group(vec![
                Rule::tcp(443).from(Peer::any_ipv4()).describe("a"),
                Rule::tcp(443).from(Peer::any_ipv4()).describe("b"),
            ])),
        ),
        (
            "ingress[0].peer",
            group_only(group(vec![Rule::tcp(443).describe("x")])),
        ),
        (
            "ingress[0].peer",
            group_only(group(vec![
                Rule::tcp(443).from(Peer::cidr("10.0.0.0/33")).describe("x"),
            ])),
        ),
        (
            "ingress[0].peer",
            group_only(group(vec![
                Rule::tcp(443)
                    .from(Peer::prefix_list("pl-xyz"))
                    .describe("x"),
            ])),
        ),
        (
            "ingress[0].description",
            group_only(group(vec![Rule::tcp(443).from(Peer::any_ipv4())])),
        ),
        (
            "ingress[0]",
            group_only(group(vec![
                Rule::tcp(443).to(Peer::any_ipv4()).describe("x"),
            ])),
        ),
        (
            "security_group.description",
            group_only(
                SecurityGroup::builder()
                    .vpc("vpc-0123456789abcdef0")
                    .name("app")
                    .description("")
                    .build(),
            ),
        ),
    ];
    let before = t.calls().await;
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, (field, built)) in cases.into_iter().enumerate() {
        let err = match built {
            Err(e) => e,
            Ok(stack) => match stack.plan(&t.ctx).await {
                Err(e) => e,
                Ok(p) => panic!("case {i} ({field}) was accepted:\n{p}"),
            },
        };
        let Error::Validation {
            field: f,
            value,
            rule,
        } = &err
        else {
            panic!("case {i}: expected a validation error, got {err}");
        };
        assert!(
            f.contains(field),
            "case {i}: field {f} should name {field}: {err}"
        );
        assert!(
            !rule.is_empty() && !value.is_empty() || f.contains("description"),
            "case {i}: {err}"
        );
        let key = (f.clone(), rule.clone());
        assert!(
            !seen.contains(&key),
            "case {i} repeats an earlier error: {err}"
        );
        seen.push(key);
    }
    // What the cases produced, not how many were written: each a distinct (field, rule).
    assert!(
        seen.len() >= 15,
        "only {} distinct validation errors: {seen:?}",
        seen.len()
    );
    let after = t.calls().await;
    assert_eq!(
        calls_between(&before, &after),
        Calls::new(),
        "validation made API calls"
    );
}

#[tokio::test]
async fn staging_network_applies_converges_repairs_drift_and_destroys() {
    staging_cycle(None).await;
}

#[tokio::test]
async fn staging_network_cycle_under_latency_mode() {
    staging_cycle(Some(0.05)).await;
}

async fn staging_cycle(latency: Option<f64>) {
    let t = TestStack::new().await;
    if let Some(scale) = latency {
        t.set_latency(scale).await;
    }
    let stack = staging(t.env.clone()).expect("spec");

    let c0 = t.calls().await;
    let (plan, report) = plan_apply(&t, &stack).await;
    assert_eq!(
        plan.summary.add,
        plan.resources
            .iter()
            .filter(|r| r.action.is_change())
            .count()
    );
    let c1 = t.calls().await;
    let apply_calls = calls_between(&c0, &c1);
    for key in [
        "main.vpc_id",
        "main.subnet.app.1",
        "main.subnet.data.2",
        "main.nat.1.public_ip",
    ] {
        assert!(
            report.outputs.contains_key(key),
            "missing output {key}: {:?}",
            report.outputs
        );
    }

    // Plan again: nothing to do; applying it makes no mutating call.
    let again = stack.plan(&t.ctx).await.expect("replan");
    assert!(!again.has_changes(), "second plan has changes:\n{again}");
    let c2 = t.calls().await;
    let noop_plan_calls = calls_between(&c1, &c2);
    println!("staging no-op plan calls by operation: {noop_plan_calls:?}");
    // One shared listing per kind, made once per plan; the VPC adds its two attributes and its
    // default group (not the stack's: a group and its rules looked up on their own).
    for ((_, op), n) in &noop_plan_calls {
        let most = match op.as_str() {
            "DescribeVpcAttribute" | "DescribeSecurityGroups" | "DescribeSecurityGroupRules" => 2,
            _ => 1,
        };
        assert!(*n <= most, "{op} made {n} calls in one plan");
    }
    stack.apply(&t.ctx, &again).await.expect("no-op apply");
    let c3 = t.calls().await;
    let noop_apply = calls_between(&c2, &c3);
    assert_eq!(mutating(&noop_apply), Calls::new(), "no-op apply mutated");

    // Drift by hand: an SSH rule open to the world on the app group, the private default route
    // deleted.
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let app_sg = report.resources["security_group.app"]["group_id"]
        .as_str()
        .unwrap()
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&app_sg)
        .ip_protocol("tcp")
        .from_port(22)
        .to_port(22)
        .cidr_ip("0.0.0.0/0")
        .send()
        .await
        .expect("hand-made rule");
    let private_rt = report.resources["route_table.main-private"]["route_table_id"]
        .as_str()
        .unwrap()
        .to_string();
    ec2.delete_route()
        .route_table_id(&private_rt)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .expect("hand-deleted route");
    let drift = stack.plan(&t.ctx).await.expect("drift plan");
    assert_eq!(
        changes(&drift),
        vec![
            "+ route.main-private-nat".to_string(),
            "~ security_group.app".to_string()
        ],
        "{drift}"
    );
    let sg = drift
        .get(&ResourceId::new("security_group", "app"))
        .unwrap();
    let Action::Update { diffs } = &sg.action else {
        panic!("{drift}")
    };
    assert!(
        diffs[0].field == "unmanaged_rules"
            && format!("{:?}", diffs[0].old).contains("0.0.0.0/0 tcp 22"),
        "{drift}"
    );
    stack.apply(&t.ctx, &drift).await.expect("repair");
    let repaired = stack.plan(&t.ctx).await.expect("plan after repair");
    assert!(!repaired.has_changes(), "{repaired}");

    let destroy_calls = destroy(&t, &stack).await;
    println!(
        "staging network{} ({} resources): apply {} calls ({} mutating), no-op plan {} calls, no-op apply {} calls (0 mutating), destroy {} calls ({} mutating)",
        if latency.is_some() {
            " under latency"
        } else {
            ""
        },
        plan.resources.len(),
        total(&apply_calls),
        total(&mutating(&apply_calls)),
        total(&noop_plan_calls),
        total(&noop_apply),
        total(&destroy_calls),
        total(&mutating(&destroy_calls)),
    );
    println!("staging apply calls: {apply_calls:?}");
}

#[tokio::test]
async fn aborted_apply_is_reapplied_to_exactly_one_copy_of_each_resource() {
    aborted_cycle(None).await;
}

#[tokio::test]
async fn aborted_apply_under_latency_mode_is_reapplied_to_one_copy_each() {
    aborted_cycle(Some(0.05)).await;
}

async fn aborted_cycle(latency: Option<f64>) {
    let t = TestStack::new().await;
    if let Some(scale) = latency {
        t.set_latency(scale).await;
    }
    let stack = staging(t.env.clone()).expect("spec");
    // The private default route fails: by then the VPC, subnets, gateways and groups exist.
    t.inject_fault("ec2", "CreateRoute", "InvalidParameterValue", 400, 1)
        .await;
    let plan = stack.plan(&t.ctx).await.expect("plan");
    let err = stack.apply(&t.ctx, &plan).await.unwrap_err();
    let Error::Failed { failures } = &err else {
        panic!("{err}")
    };
    assert!(
        failures
            .iter()
            .all(|f| f.resource.kind == "route" && f.message.contains("CreateRoute")),
        "{err}"
    );
    let partial = ec2_copies(&t).await;
    assert!(partial.len() > 5, "only {partial:?} before the abort");

    let resumed = stack.plan(&t.ctx).await.expect("plan after abort");
    assert!(
        resumed.summary.add > 0 && resumed.summary.add < plan.summary.add,
        "{resumed}"
    );
    stack.apply(&t.ctx, &resumed).await.expect("re-apply");
    assert!(!stack.plan(&t.ctx).await.expect("plan").has_changes());
    let all = ec2_copies(&t).await;
    let dupes: Vec<_> = all.iter().filter(|(_, n)| **n != 1).collect();
    assert!(dupes.is_empty(), "duplicates after re-apply: {dupes:?}");
    // Every tagged EC2 resource of the plan exists once: vpc, 6 subnets, igw, eip, nat, 3 route
    // tables, 4 groups and their 5 rules.
    assert_eq!(all.len(), 1 + 6 + 1 + 1 + 1 + 3 + 4 + 5, "{all:?}");
    destroy(&t, &stack).await;
}

/// Records each resource's mutating calls with a timestamp.
#[derive(Default)]
struct Clock {
    events: Mutex<Vec<(std::time::Duration, String, String)>>,
    t0: Mutex<Option<std::time::Instant>>,
}

#[async_trait::async_trait]
impl skyforge_core::RunHooks for Clock {
    async fn before_mutation(&self, r: &ResourceId, op: &str) -> Result<()> {
        let t0 = *self
            .t0
            .lock()
            .unwrap()
            .get_or_insert_with(std::time::Instant::now);
        self.events
            .lock()
            .unwrap()
            .push((t0.elapsed(), r.to_string(), op.to_string()));
        Ok(())
    }
    async fn after_mutation(&self, _: &ResourceId, _: &str, _: bool) -> Result<()> {
        Ok(())
    }
}

/// Longest path through the graph with each resource weighted by its measured duration.
fn critical_path_ms(plan: &Plan, report: &ApplyReport) -> (u64, Vec<String>) {
    let mut best: BTreeMap<String, (u64, Vec<String>)> = BTreeMap::new();
    for r in &plan.resources {
        let id = r.id.to_string();
        let own = report
            .timings
            .get(&id)
            .map(|t| t.end_ms - t.start_ms)
            .unwrap_or(0);
        let (pre, mut path) = r
            .depends_on
            .iter()
            .filter_map(|d| best.get(&d.to_string()))
            .max_by_key(|(ms, _)| *ms)
            .cloned()
            .unwrap_or((0, Vec::new()));
        path.push(id.clone());
        best.insert(id, (pre + own, path));
    }
    best.into_values()
        .max_by_key(|(ms, _)| *ms)
        .unwrap_or_default()
}

#[tokio::test]
async fn prod_network_under_latency_starts_dependents_while_nat_is_pending() {
    let t = TestStack::new().await;
    // NAT gateways: pending 90 s x 0.05 = 4.5 s; deleting 3 s.
    t.set_latency(0.05).await;
    let stack = prod(t.env.clone()).expect("spec");
    let c0 = t.calls().await;
    let plan = stack.plan(&t.ctx).await.expect("plan");
    let c1 = t.calls().await;
    let clock = Arc::new(Clock::default());
    let started = std::time::Instant::now();
    let report = stack
        .apply_with_hooks(&t.ctx, &plan, clock.clone())
        .await
        .expect("apply");
    let wall = started.elapsed();
    let c2 = t.calls().await;
    let apply_calls = calls_between(&c1, &c2);

    let nat = report.timings["nat_gateway.main-nat-1"];
    assert!(
        nat.end_ms - nat.start_ms >= 4_000,
        "NAT gateway was not pending under latency mode: {nat:?}"
    );
    // Resources that do not need a NAT gateway start while it is still pending.
    let nat_dependent = |id: &str| id.starts_with("route.main-private");
    let during: Vec<&String> = report
        .timings
        .iter()
        .filter(|(id, t)| {
            !id.starts_with("nat_gateway")
                && !nat_dependent(id)
                && t.start_ms > nat.start_ms
                && t.start_ms < nat.end_ms
        })
        .map(|(id, _)| id)
        .collect();
    assert!(
        !during.is_empty(),
        "nothing started while the NAT gateway was pending: {:?}",
        report.timings
    );
    // Each private zone's route waits for its own NAT gateway only.
    for k in 1..=3 {
        let route = report.timings[&format!("route.main-private-{k}-nat")];
        let nat = report.timings[&format!("nat_gateway.main-nat-{k}")];
        assert!(
            route.start_ms >= nat.end_ms,
            "route {k} started before its NAT was available"
        );
    }
    let (critical, path) = critical_path_ms(&plan, &report);
    let ratio = wall.as_millis() as f64 / critical as f64;
    let serial: u64 = report.timings.values().map(|t| t.end_ms - t.start_ms).sum();
    println!(
        "prod network under latency: wall {} ms, critical path {critical} ms ({}), ratio {ratio:.3}, serial sum {serial} ms, {} resources started while NAT 1 was pending, {} mutating calls recorded",
        wall.as_millis(),
        path.join(" -> "),
        during.len(),
        clock.events.lock().unwrap().len(),
    );
    assert!(ratio < 1.5, "wall {wall:?} vs critical path {critical} ms");

    let again = stack.plan(&t.ctx).await.expect("replan");
    assert!(!again.has_changes(), "{again}");
    let c3 = t.calls().await;
    let noop_plan_calls = calls_between(&c2, &c3);
    stack.apply(&t.ctx, &again).await.expect("no-op apply");
    let noop_apply = calls_between(&c3, &t.calls().await);
    assert_eq!(mutating(&noop_apply), Calls::new(), "no-op apply mutated");
    let destroy_calls = destroy(&t, &stack).await;
    println!(
        "prod network ({} resources): plan {} calls, apply {} calls ({} mutating), no-op plan {} calls, destroy {} calls ({} mutating)",
        plan.resources.len(),
        total(&calls_between(&c0, &c1)),
        total(&apply_calls),
        total(&mutating(&apply_calls)),
        total(&noop_plan_calls),
        total(&destroy_calls),
        total(&mutating(&destroy_calls)),
    );
}

#[tokio::test]
async fn destroy_names_foreign_blockers_then_completes_once_they_are_gone() {
    let t = TestStack::new().await;
    let mut stack = Stack::new(t.env.clone());
    let net = stack.add(
        Network::builder()
            .cidr("10.2.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![Tier::isolated("data", 24)])
            .nat(Nat::None)
            .build()
            .unwrap(),
    );
    let db = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("db")
            .description("PostgreSQL")
            .build()
            .unwrap(),
    );
    let _ = db;
    let (_, report) = plan_apply(&t, &stack).await;
    let subnet = report.resources["subnet.main-data-1"]["subnet_id"]
        .as_str()
        .unwrap()
        .to_string();
    let group = report.resources["security_group.db"]["group_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Somebody else's interface in our subnet, using our group.
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let eni = ec2
        .create_network_interface()
        .subnet_id(&subnet)
        .groups(&group)
        .description("hand-made")
        .send()
        .await
        .expect("hand-made interface")
        .network_interface()
        .and_then(|n| n.network_interface_id())
        .unwrap()
        .to_string();
    let plan = stack.plan_destroy(&t.ctx).await.expect("plan destroy");
    let started = std::time::Instant::now();
    let err = stack.apply(&t.ctx, &plan).await.unwrap_err();
    assert!(
        started.elapsed().as_secs() < 30,
        "foreign blockers must fail fast"
    );
    let Error::Failed { failures } = &err else {
        panic!("{err}")
    };
    let blocked: Vec<String> = failures.iter().map(|f| f.resource.to_string()).collect();
    assert!(
        blocked.contains(&"subnet.main-data-1".to_string())
            && blocked.contains(&"security_group.db".to_string()),
        "{err}"
    );
    assert!(
        failures
            .iter()
            .all(|f| f.message.contains(&eni) && f.message.contains("does not own")),
        "{err}"
    );
    // The failure keeps the network crate's own error, with the blockers as data.
    for f in failures {
        let typed = f
            .error
            .as_deref()
            .and_then(|e| e.area_error::<skyforge_network::Error>());
        match typed {
            Some(skyforge_network::Error::Blocked { blockers, .. }) => {
                assert!(blockers.iter().any(|b| b.contains(&eni)), "{blockers:?}");
            }
            other => panic!("{}: {other:?}", f.resource),
        }
    }
    ec2.delete_network_interface()
        .network_interface_id(&eni)
        .send()
        .await
        .expect("delete interface");
    destroy(&t, &stack).await;
}
