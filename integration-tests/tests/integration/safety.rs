//! Engine safety against the emulator, on a deployed network: a replaced security group drags the
//! rules that reference it (the harness refuses to delete a referenced group, as AWS does), a VPC
//! CIDR change rebuilds the network in order, resources removed from the spec are deleted as
//! orphans, and adding a zone only creates.

use skyforge_core::{Action, Environment, Plan, ReplaceOrder, ResourceId, Result, Stack};
use skyforge_integration_tests::{TestStack, changes, ec2_copies, inventory};
use skyforge_network::{Azs, Nat, Network, Peer, Rule, SecurityGroup, Tier};

/// What varies between the versions of the deployed spec.
#[derive(Clone)]
struct Spec {
    cidr: &'static str,
    zones: usize,
    app_tier: bool,
    app_description: &'static str,
    db_description: &'static str,
    ssh: bool,
}

const BASE: Spec = Spec {
    cidr: "10.0.0.0/16",
    zones: 2,
    app_tier: true,
    app_description: "Application tasks",
    db_description: "PostgreSQL from the app",
    ssh: true,
};

fn build(env: Environment, s: &Spec) -> Result<Stack> {
    let mut stack = Stack::new(env);
    let app_tier = Tier::private("app", 22);
    let net = stack.add(
        Network::builder()
            .cidr(s.cidr)
            .azs(Azs::count(s.zones))
            .tiers(vec![
                Tier::public("public", 24),
                if s.app_tier {
                    app_tier
                } else {
                    app_tier.reserved()
                },
                Tier::isolated("data", 24),
            ])
            .nat(if s.app_tier { Nat::Single } else { Nat::None })
            .build()?,
    );
    let alb = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("alb")
            .description("Public load balancer")
            .ingress(vec![
                Rule::tcp(443).from(Peer::any_ipv4()).describe("HTTPS"),
            ])
            .build()?,
    );
    let mut app_rules = vec![Rule::tcp(8000).from(&alb).describe("From the ALB")];
    if s.ssh {
        app_rules.push(Rule::tcp(22).from(Peer::cidr("10.0.0.0/8")).describe("SSH"));
    }
    let app = stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("app")
            .description(s.app_description)
            .ingress(app_rules)
            .build()?,
    );
    stack.add(
        SecurityGroup::builder()
            .vpc(net.vpc_id())
            .name("db")
            .description(s.db_description)
            .ingress(vec![Rule::tcp(5432).from(&app).describe("PostgreSQL")])
            .allow_all_outbound(false)
            .build()?,
    );
    Ok(stack)
}

/// Apply `s`, then check that planning it again finds nothing to do.
async fn converge(t: &TestStack, s: &Spec) -> Plan {
    let stack = build(t.env.clone(), s).expect("spec");
    let plan = stack.plan(&t.ctx).await.expect("plan");
    stack.apply(&t.ctx, &plan).await.expect("apply");
    let again = stack.plan(&t.ctx).await.expect("plan again");
    assert!(!again.has_changes(), "not converged:\n{again}");
    plan
}

async fn destroy(t: &TestStack, s: &Spec) {
    let stack = build(t.env.clone(), s).expect("spec");
    let plan = stack.plan_destroy(&t.ctx).await.expect("plan destroy");
    stack.apply(&t.ctx, &plan).await.expect("destroy");
    let left = inventory(t).await;
    assert!(left.is_empty(), "destroy left {left:?}");
}

fn group_id(plan: &Plan, logical: &str) -> String {
    plan.resources
        .iter()
        .find(|r| r.id == ResourceId::new("security_group", logical))
        .and_then(|r| r.physical_id.clone())
        .expect("group observed")
}

#[tokio::test]
async fn a_replaced_group_drags_the_rules_referencing_it() {
    let t = TestStack::new().await;
    converge(&t, &BASE).await;
    let before = ec2_copies(&t).await;

    // The harness refuses what AWS refuses: the app group is referenced by the db group's rule.
    let stack = build(t.env.clone(), &BASE).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    let app = group_id(&plan, "app");
    let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
    let err = ec2
        .delete_security_group()
        .group_id(&app)
        .send()
        .await
        .expect_err("a referenced group must not be deletable");
    let code = skyforge_core::Error::aws("test", "DeleteSecurityGroup", err);
    assert_eq!(code.aws_code(), Some("DependencyViolation"), "{code}");

    // A new description forces the app group's replacement; its own rules and the db group's
    // rule referencing it are replaced with it, nothing else.
    let next = Spec {
        app_description: "Application tasks (v2)",
        ..BASE
    };
    let stack = build(t.env.clone(), &next).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    println!("replacement plan (referenced group):\n{plan}");
    let mut got = changes(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            "-/+ security_group.app",
            "-/+ security_group_rule.app-in-tcp-22-10-0-0-0-8",
            "-/+ security_group_rule.app-in-tcp-8000-alb",
            "-/+ security_group_rule.db-in-tcp-5432-app",
        ],
        "{plan}"
    );
    for r in plan.resources.iter().filter(|r| r.action.is_change()) {
        let Action::Replace {
            dragged_by, order, ..
        } = &r.action
        else {
            panic!("{}: {:?}", r.id, r.action);
        };
        // Groups and rules are replaced create-before-destroy: the new group (a new name, with
        // the description's digest) and the rules referencing it exist before the old ones go.
        assert_eq!(*order, ReplaceOrder::CreateBeforeDestroy, "{}", r.id);
        if r.id.kind == "security_group_rule" {
            let app = ResourceId::new("security_group", "app");
            assert_eq!(dragged_by, &[app], "{}", r.id);
        }
    }
    stack
        .apply(&t.ctx, &plan)
        .await
        .expect("replacement applies");
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());
    assert_eq!(ec2_copies(&t).await, before, "one copy of everything");

    // A group nothing references (db) is a leaf: it and its own rule only.
    let leaf = Spec {
        db_description: "PostgreSQL (v2)",
        ..next.clone()
    };
    let stack = build(t.env.clone(), &leaf).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    let mut got = changes(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            "-/+ security_group.db",
            "-/+ security_group_rule.db-in-tcp-5432-app"
        ]
    );
    stack
        .apply(&t.ctx, &plan)
        .await
        .expect("leaf replacement applies");
    assert_eq!(ec2_copies(&t).await, before);
    destroy(&t, &leaf).await;
}

#[tokio::test]
async fn a_new_vpc_cidr_rebuilds_the_network_in_order() {
    let t = TestStack::new().await;
    converge(&t, &BASE).await;
    let before = ec2_copies(&t).await;
    let next = Spec {
        cidr: "10.2.0.0/16",
        ..BASE
    };
    let stack = build(t.env.clone(), &next).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    let vpc = plan.get(&ResourceId::new("vpc", "main")).unwrap();
    assert!(
        matches!(&vpc.action, Action::Replace { reason, .. } if reason.contains("cidr_block")),
        "{plan}"
    );
    // Everything in the VPC goes with it; the zones data source, the internet gateway (only its
    // attachment is replaced) and the Elastic IP stay.
    assert_eq!(
        plan.summary.add + plan.summary.change + plan.summary.destroy,
        0
    );
    let kept: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| !r.action.is_change())
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        kept,
        [
            "availability_zones.main",
            "internet_gateway.main",
            "eip.main-nat-1"
        ],
        "{plan}"
    );
    println!(
        "VPC CIDR change: {} replacements, {} unchanged",
        plan.summary.replace, plan.summary.unchanged
    );
    // Everything in the old VPC must be gone before it: groups and rules, create-before-destroy
    // elsewhere, follow the VPC's order here.
    for r in &plan.resources {
        if let Action::Replace { order, .. } = &r.action {
            assert_eq!(*order, ReplaceOrder::DestroyBeforeCreate, "{}", r.id);
        }
    }
    stack.apply(&t.ctx, &plan).await.expect("rebuild applies");
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());
    assert_eq!(ec2_copies(&t).await, before, "one copy of everything");
    destroy(&t, &next).await;
}

#[tokio::test]
async fn what_leaves_the_spec_is_deleted_as_an_orphan() {
    let t = TestStack::new().await;
    converge(&t, &BASE).await;
    // The private tier (reserved, so the data tier stays put), its NAT gateway and the SSH rule
    // leave the spec.
    let next = Spec {
        app_tier: false,
        ssh: false,
        ..BASE
    };
    let stack = build(t.env.clone(), &next).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    println!("orphan plan:\n{plan}");
    let mut got = changes(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            "- eip.main-nat-1",
            "- nat_gateway.main-nat-1",
            "- route.main-private-nat",
            "- route_table.main-private",
            "- route_table_association.main-app-1",
            "- route_table_association.main-app-2",
            "- security_group_rule.app-in-tcp-22-10-0-0-0-8",
            "- subnet.main-app-1",
            "- subnet.main-app-2",
        ],
        "{plan}"
    );
    assert!(
        plan.resources
            .iter()
            .filter(|r| r.action.is_change())
            .all(|r| r.orphan)
    );
    stack.apply(&t.ctx, &plan).await.expect("orphans deleted");
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());
    let live = ec2_copies(&t).await;
    for gone in [" main-nat-1", " main-app-1", " main-app-2", " main-private"] {
        assert!(
            !live.keys().any(|k| k.ends_with(gone)),
            "{gone} still there: {live:?}"
        );
    }
    assert!(live.values().all(|&n| n == 1), "{live:?}");
    destroy(&t, &next).await;
}

#[tokio::test]
async fn adding_a_zone_only_creates() {
    let t = TestStack::new().await;
    converge(&t, &BASE).await;
    let next = Spec { zones: 3, ..BASE };
    let stack = build(t.env.clone(), &next).unwrap();
    let plan = stack.plan(&t.ctx).await.unwrap();
    let s = plan.summary;
    assert_eq!((s.change, s.replace, s.destroy), (0, 0, 0), "{plan}");
    let mut got = changes(&plan);
    got.sort();
    assert_eq!(
        got,
        [
            "+ route_table_association.main-app-3",
            "+ route_table_association.main-data-3",
            "+ route_table_association.main-public-3",
            "+ subnet.main-app-3",
            "+ subnet.main-data-3",
            "+ subnet.main-public-3",
        ],
        "{plan}"
    );
    stack.apply(&t.ctx, &plan).await.expect("new zone applies");
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());
    destroy(&t, &next).await;
}
