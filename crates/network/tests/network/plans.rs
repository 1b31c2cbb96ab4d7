use skyforge_core::{Environment, Plan, ResourceId, Result, Stack, Stage};
use skyforge_network::{Azs, FlowLogs, Nat, Network, Peer, Rule, SecurityGroup, Tier};

fn with_groups(stack: &mut Stack, vpc: skyforge_core::Ref<String>) -> Result<()> {
    let alb = stack.add(
        SecurityGroup::builder()
            .vpc(vpc)
            .name("alb")
            .description("Public load balancer")
            .ingress(vec![
                Rule::tcp(443)
                    .from(Peer::any_ipv4())
                    .describe("HTTPS from the internet"),
            ])
            .build()?,
    );
    let app = stack.add(
        SecurityGroup::builder()
            .vpc(vpc)
            .name("app")
            .description("Application tasks")
            .ingress(vec![
                Rule::tcp(8000)
                    .from(&alb)
                    .describe("From the load balancer"),
            ])
            .build()?,
    );
    stack.add(
        SecurityGroup::builder()
            .vpc(vpc)
            .name("db")
            .description("PostgreSQL")
            .ingress(vec![
                Rule::tcp(5432)
                    .from(&app)
                    .describe("PostgreSQL from the app"),
            ])
            .allow_all_outbound(false)
            .build()?,
    );
    Ok(())
}

fn staging_plan() -> Result<Plan> {
    let env = Environment::new("alva", Stage::Staging)
        .owner("chuong")
        .region("us-east-1");
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::named(["us-east-1a", "us-east-1b"]))
            .tiers(vec![
                Tier::public("public", 24),
                Tier::private("app", 22),
                Tier::isolated("data", 24),
            ])
            .nat(Nat::Single)
            .build()?,
    );
    with_groups(&mut stack, net.vpc_id())?;
    stack.plan_offline()
}

fn prod_plan() -> Result<Plan> {
    let env = Environment::new("dougust", Stage::Prod).region("us-east-2");
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.1.0.0/16")
            .azs(Azs::count(3))
            .nat(Nat::PerAz)
            .flow_logs(FlowLogs::all())
            .s3_endpoint(true)
            .build()?,
    );
    with_groups(&mut stack, net.vpc_id())?;
    stack.plan_offline()
}

#[test]
fn staging_two_az_single_nat_plan() {
    let plan = staging_plan().unwrap();
    insta::assert_snapshot!("staging-2az-single-nat", plan.to_string());
    // vpc, 6 subnets, igw + attachment, 3 tables, 2 routes, 6 associations, 1 eip + nat,
    // 3 groups + 3 rules.
    assert_eq!(plan.summary.add, 1 + 6 + 2 + 3 + 2 + 6 + 2 + 6, "{plan}");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
}

#[test]
fn prod_three_az_per_az_nat_plan() {
    let plan = prod_plan().unwrap();
    insta::assert_snapshot!("prod-3az-per-az-nat", plan.to_string());
    // Zone k's private subnet is associated with table k, which routes through NAT k.
    for k in 1..=3 {
        let assoc = plan
            .get(&ResourceId::new(
                "route_table_association",
                format!("main-private-{k}"),
            ))
            .unwrap();
        assert!(
            assoc
                .depends_on
                .contains(&ResourceId::new("route_table", format!("main-private-{k}"))),
            "{assoc:?}"
        );
        let route = plan
            .get(&ResourceId::new("route", format!("main-private-{k}-nat")))
            .unwrap();
        assert!(
            route
                .depends_on
                .contains(&ResourceId::new("nat_gateway", format!("main-nat-{k}"))),
            "{route:?}"
        );
    }
    // The zones are looked up when planning, so the data source shows as a read.
    assert!(
        plan.get(&ResourceId::new("availability_zones", "main"))
            .is_some()
    );
}

#[test]
fn default_tiers_carve_in_order_without_overlap() {
    let net = Network::builder()
        .cidr("10.1.0.0/16")
        .azs(Azs::count(3))
        .build()
        .unwrap();
    assert_eq!(
        net.subnet_cidrs("public"),
        ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"]
    );
    assert_eq!(
        net.subnet_cidrs("private"),
        ["10.1.16.0/20", "10.1.32.0/20", "10.1.48.0/20"]
    );
    // Each tier keeps four zone slots: the isolated tier starts after the private tier's
    // fourth slot (10.1.64.0/20).
    assert_eq!(
        net.subnet_cidrs("isolated"),
        ["10.1.80.0/24", "10.1.81.0/24", "10.1.82.0/24"]
    );
    // Explicit blocks are kept and carving goes around them.
    let net = Network::builder()
        .cidr("10.0.0.0/16")
        .tiers(vec![
            Tier::public("public", 24),
            Tier::isolated("data", 24).cidrs(["10.0.0.0/24", "10.0.2.0/24"]),
        ])
        .nat(Nat::None)
        .build()
        .unwrap();
    assert_eq!(net.subnet_cidrs("public"), ["10.0.1.0/24", "10.0.3.0/24"]);
}

/// Every subnet CIDR of a network, by tier.
fn layout(net: &Network, tiers: &[&str]) -> Vec<(String, String)> {
    tiers
        .iter()
        .flat_map(|t| {
            net.subnet_cidrs(t)
                .into_iter()
                .map(move |c| (t.to_string(), c))
        })
        .collect()
}

#[test]
fn adding_a_zone_or_a_tier_moves_no_subnet() {
    let tiers = |extra: bool| {
        let mut t = vec![
            Tier::public("public", 24),
            Tier::private("app", 20),
            Tier::isolated("data", 24),
        ];
        if extra {
            t.push(Tier::isolated("cache", 26));
        }
        t
    };
    let net = |zones: usize, extra: bool| {
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(zones))
            .tiers(tiers(extra))
            .build()
            .unwrap()
    };
    let names = ["public", "app", "data", "cache"];
    let two = layout(&net(2, false), &names);
    for (zones, extra) in [(3, false), (4, false), (2, true), (4, true)] {
        let bigger = layout(&net(zones, extra), &names);
        for s in &two {
            assert!(
                bigger.contains(s),
                "{s:?} moved with {zones} zones, extra tier {extra}"
            );
        }
        assert!(bigger.len() > two.len());
    }
    // Past the reserved slots the zone count is refused, naming the setting.
    let err = Network::builder()
        .cidr("10.0.0.0/16")
        .azs(Azs::count(3))
        .zone_slots(2)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("network.zone_slots"), "{err}");
}

#[test]
fn a_reserved_tier_keeps_its_space_and_creates_nothing() {
    let with = |app: Tier| {
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(2))
            .tiers(vec![
                Tier::public("public", 24),
                app,
                Tier::isolated("data", 24),
            ])
            .nat(Nat::None)
            .build()
    };
    // A private tier needs NAT; reserved, it does not.
    assert!(with(Tier::private("app", 20)).is_err());
    let reserved = with(Tier::private("app", 20).reserved()).unwrap();
    assert!(reserved.subnet_cidrs("app").is_empty());
    let live = Network::builder()
        .cidr("10.0.0.0/16")
        .azs(Azs::count(2))
        .tiers(vec![
            Tier::public("public", 24),
            Tier::private("app", 20),
            Tier::isolated("data", 24),
        ])
        .build()
        .unwrap();
    assert_eq!(live.subnet_cidrs("data"), reserved.subnet_cidrs("data"));
    assert_eq!(live.subnet_cidrs("public"), reserved.subnet_cidrs("public"));
}

#[test]
fn downgrades_are_plan_warnings() {
    let env = Environment::new("alva", Stage::Prod).region("us-east-1");
    let mut stack = Stack::new(env);
    let net = stack.add(
        Network::builder()
            .cidr("10.0.0.0/16")
            .azs(Azs::count(2))
            .build()
            .unwrap(),
    );
    stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("bastion")
            .description("SSH")
            .ingress(vec![
                Rule::tcp(22)
                    .from(Peer::any_ipv4())
                    .describe("SSH from anywhere"),
                Rule::tcp(443).from(Peer::any_ipv4()).describe("HTTPS"),
            ])
            .build()
            .unwrap(),
    );
    let plan = stack.plan_offline().unwrap();
    let w: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w.iter()
            .any(|m| m.contains("one NAT gateway for a prod network")),
        "{w:?}"
    );
    assert!(w.iter().any(|m| m.contains("no VPC flow logs")), "{w:?}");
    assert!(
        w.iter().any(|m| m.contains("opens tcp 22 to the internet")),
        "{w:?}"
    );
    assert!(plan.to_string().contains("opens tcp 22 to the internet"));
}
