//! The command line's parsing: options anywhere, defaults, the region chain, refusals.

use clap::Parser;
use skyforge::core::Stage;

use crate::{Cli, Command, NoArgs, RequireApproval, options};

fn parse(args: &[&str], region: Option<&str>) -> Result<crate::Options, String> {
    let cli = Cli::<NoArgs>::try_parse_from(std::iter::once("tool").chain(args.iter().copied()))
        .map_err(|e| e.to_string())?;
    options(cli, "shop", Stage::Staging, region.map(String::from))
}

#[test]
fn options_stand_before_or_after_the_subcommand() {
    let a = parse(
        &[
            "--stage",
            "prod",
            "apply",
            "--auto-approve",
            "--owner",
            "chuong",
        ],
        Some("us-west-1"),
    )
    .unwrap();
    assert_eq!(a.command, Command::Apply);
    assert_eq!(a.env.prefix(), "shop-prod-chuong");
    assert_eq!(a.env.region_name(), Some("us-west-1"));
    assert!(a.auto_approve);
    let p = parse(
        &["plan", "--detailed-exitcode", "--region", "eu-west-1"],
        Some("us-west-1"),
    )
    .unwrap();
    assert!(p.detailed_exitcode && !p.auto_approve);
    assert_eq!(
        p.env.region_name(),
        Some("eu-west-1"),
        "--region wins over the profile's"
    );
}

#[test]
fn subcommands_carry_their_arguments() {
    let d = parse(
        &[
            "deploy",
            "--image",
            "v2",
            "--service",
            "api",
            "--service",
            "web",
        ],
        Some("us-east-1"),
    )
    .unwrap();
    assert_eq!(d.release.image.as_deref(), Some("v2"));
    assert_eq!(d.release.services.len(), 2);
    let r = parse(&["rollback", "--service", "api"], Some("us-east-1")).unwrap();
    assert_eq!(
        (r.service.as_deref(), r.cluster.as_str()),
        (Some("api"), "main")
    );
    let u = parse(&["force-unlock", "5f1c"], Some("us-east-1")).unwrap();
    assert_eq!(u.unlock_id.as_deref(), Some("5f1c"));
    let demo = parse(&["demo"], Some("us-east-1")).unwrap();
    assert!(
        demo.auto_approve
            && demo.require_approval == RequireApproval::Never
            && demo.env.is_ephemeral(),
        "a demo is ephemeral and asks nothing"
    );
    let p = parse(&["plan", "--out", "plan.json"], Some("us-east-1")).unwrap();
    assert_eq!(
        p.plan_out.as_deref(),
        Some(std::path::Path::new("plan.json"))
    );
    let a = parse(&["apply", "plan.json"], Some("us-east-1")).unwrap();
    assert_eq!(
        a.plan_file.as_deref(),
        Some(std::path::Path::new("plan.json"))
    );
    let c = parse(&["cost", "--prices", "p.json", "--json"], Some("us-west-1")).unwrap();
    assert_eq!(
        (c.command, c.prices.is_some(), c.json),
        (Command::Cost, true, true)
    );
    let a = parse(&["apply", "--auto-approve"], Some("us-east-1")).unwrap();
    assert_eq!(
        a.require_approval,
        RequireApproval::Broadening,
        "the default"
    );
    let a = parse(
        &["apply", "--auto-approve", "--require-approval", "never"],
        Some("us-east-1"),
    )
    .unwrap();
    assert_eq!(a.require_approval, RequireApproval::Never);
}

/// A tool's own options, flattened into the command line.
#[derive(Debug, Clone, clap::Args)]
struct Extra {
    /// Where Redis runs.
    #[arg(long, global = true, default_value = "sidecar")]
    redis: String,
}

#[test]
fn a_tools_own_options_stand_anywhere_and_keep_the_common_ones() {
    let cli =
        Cli::<Extra>::try_parse_from(["tool", "--redis", "elasticache", "plan", "--stage", "prod"])
            .unwrap();
    assert_eq!(cli.extra.redis, "elasticache");
    let cli = Cli::<Extra>::try_parse_from(["tool", "apply", "--redis", "none"]).unwrap();
    assert_eq!(cli.extra.redis, "none");
    let o = options(cli, "shop", Stage::Staging, Some("us-east-1".into())).unwrap();
    assert_eq!(o.command, Command::Apply);
    let e = Cli::<Extra>::try_parse_from(["tool", "plan", "--redis"]).unwrap_err();
    assert!(e.to_string().contains("--redis"), "{e}");
}

#[test]
fn bad_command_lines_are_refused_with_the_reason() {
    let e = parse(&["apply"], None).unwrap_err();
    assert!(e.contains("no AWS region"), "{e}");
    let e = parse(&["deploy"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("--image"), "{e}");
    let e = parse(&["apply", "--lock-table", "locks"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("--state-bucket"), "{e}");
    let e = parse(&["plan", "--stage", "Prod!"], Some("us-east-1")).unwrap_err();
    assert!(e.contains("Prod!"), "{e}");
    let e = parse(&[], Some("us-east-1")).unwrap_err();
    assert!(e.contains("Usage"), "{e}");
}

mod broadening {
    use serde_json::json;
    use skyforge::core::testing::{planned, planned_create};
    use skyforge::core::{Action, FieldDiff, Plan, PlanMode, ResourcePlan, Value};

    use crate::broadening;

    fn resource(kind: &str, id: &str, action: Action) -> ResourcePlan {
        planned(kind, id, action)
    }

    fn create(kind: &str, id: &str, fields: serde_json::Value) -> ResourcePlan {
        planned_create(kind, id, fields)
    }

    fn policies(actions: &[&str]) -> Value {
        Value::Known(
            json!({"app": {"Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}}),
        )
    }

    fn update(kind: &str, id: &str, field: &str, old: Value, new: Value) -> ResourcePlan {
        let diff = FieldDiff {
            field: field.into(),
            old: Some(old),
            new: Some(new),
            forces_replacement: false,
            note: None,
        };
        resource(kind, id, Action::Update { diffs: vec![diff] })
    }

    fn of(resources: Vec<ResourcePlan>) -> Vec<String> {
        broadening(&Plan::new(
            "shop-prod",
            PlanMode::Apply,
            "d",
            resources,
            vec![],
        ))
    }

    #[test]
    fn internet_ingress_new_permissions_and_public_endpoints_are_named() {
        let found = of(vec![
            create(
                "security_group_rule",
                "lb-in",
                json!({"direction": "ingress", "peer": "cidr:0.0.0.0/0", "from_port": 443}),
            ),
            create(
                "security_group_rule",
                "db-in",
                json!({"direction": "ingress", "peer": "sg:tasks", "from_port": 5432}),
            ),
            create(
                "security_group_rule",
                "out",
                json!({"direction": "egress", "peer": "cidr:0.0.0.0/0", "from_port": 0}),
            ),
            update(
                "iam_role",
                "task",
                "policies",
                policies(&["s3:GetObject"]),
                policies(&["s3:GetObject", "s3:PutObject"]),
            ),
            create(
                "load_balancer",
                "public",
                json!({"scheme": "internet-facing"}),
            ),
            create("load_balancer", "internal", json!({"scheme": "internal"})),
            create("db_instance", "db", json!({"publicly_accessible": false})),
        ]);
        assert_eq!(
            found,
            [
                "security_group_rule.lb-in: ingress from cidr:0.0.0.0/0 on port 443",
                "iam_role.task: newly allowed s3:PutObject",
                "load_balancer.public: reachable from the internet",
            ]
        );
    }

    #[test]
    fn narrowing_deleting_and_unchanged_resources_broaden_nothing() {
        let found = of(vec![
            update(
                "iam_role",
                "task",
                "policies",
                policies(&["s3:GetObject", "s3:PutObject"]),
                policies(&["s3:GetObject"]),
            ),
            resource("iam_role", "old", Action::Delete),
            resource("security_group_rule", "kept", Action::NoOp),
            update(
                "iam_role",
                "tagged",
                "tags",
                Value::Known(json!({})),
                Value::Known(json!({"team": "a"})),
            ),
        ]);
        assert_eq!(found, Vec::<String>::new());
    }

    #[test]
    fn a_new_role_is_named_with_its_actions_when_they_are_known() {
        let known = of(vec![resource(
            "iam_role",
            "task",
            Action::Create {
                fields: [("policies".to_string(), policies(&["sqs:SendMessage"]))].into(),
            },
        )]);
        assert_eq!(known, ["iam_role.task: a new role allowed sqs:SendMessage"]);
        let unknown = of(vec![resource(
            "iam_role",
            "exec",
            Action::Create {
                fields: [("policies".to_string(), Value::Unknown)].into(),
            },
        )]);
        assert_eq!(
            unknown,
            ["iam_role.exec: a new role with permissions known after apply"]
        );
    }
}
