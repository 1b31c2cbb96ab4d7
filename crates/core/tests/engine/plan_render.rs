use std::collections::BTreeMap;
use std::path::PathBuf;

use skyforge_core::{Action, FieldDiff, Plan, PlanMode, ResourceId, ResourcePlan, Value, Warning};

fn snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(manifest_dir())
        .join("tests/engine/snapshots")
        .join(name);
    if std::env::var_os("SKYFORGE_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing snapshot {} (run with SKYFORGE_UPDATE_SNAPSHOTS=1)",
            path.display()
        )
    });
    assert_eq!(actual, expected, "snapshot {name} differs");
}

fn sample() -> Plan {
    let mut create = BTreeMap::new();
    create.insert("cidr_block".to_string(), Value::str("10.0.0.0/16"));
    create.insert("id".to_string(), Value::Unknown);
    create.insert("enable_dns_hostnames".to_string(), Value::of(true));
    let mut secret = BTreeMap::new();
    secret.insert("name".to_string(), Value::str("alva/staging/cookie-secret"));
    secret.insert(
        "secret_string".to_string(),
        Value::sensitive("hunter2-canary"),
    );
    let resources = vec![
        ResourcePlan {
            id: ResourceId::new("ec2:vpc", "main"),
            physical_id: None,
            service: "ec2".into(),
            depends_on: vec![],
            action: Action::Create { fields: create },
        },
        ResourcePlan {
            id: ResourceId::new("secretsmanager:secret", "cookie-secret"),
            physical_id: None,
            service: "secretsmanager".into(),
            depends_on: vec![],
            action: Action::Create { fields: secret },
        },
        ResourcePlan {
            id: ResourceId::new("ec2:security-group", "app"),
            physical_id: Some("sg-0abc".into()),
            service: "ec2".into(),
            depends_on: vec![ResourceId::new("ec2:vpc", "main")],
            action: Action::Update {
                diffs: vec![
                    FieldDiff {
                        field: "description".into(),
                        old: Some(Value::str("app")),
                        new: Some(Value::str("app tasks")),
                        forces_replacement: false,
                    },
                    FieldDiff {
                        field: "ingress[8000]".into(),
                        old: None,
                        new: Some(Value::str("sg-alb")),
                        forces_replacement: false,
                    },
                    FieldDiff {
                        field: "ingress[22]".into(),
                        old: Some(Value::str("0.0.0.0/0")),
                        new: None,
                        forces_replacement: false,
                    },
                ],
            },
        },
        ResourcePlan {
            id: ResourceId::new("rds:db-instance", "db"),
            physical_id: Some("alva-staging-db".into()),
            service: "rds".into(),
            depends_on: vec![],
            action: Action::Replace {
                reason: "engine cannot change in place".into(),
                diffs: vec![
                    FieldDiff {
                        field: "engine".into(),
                        old: Some(Value::str("mysql")),
                        new: Some(Value::str("postgres")),
                        forces_replacement: true,
                    },
                    FieldDiff {
                        field: "master_password".into(),
                        old: Some(Value::sensitive("old-canary")),
                        new: Some(Value::sensitive("new-canary")),
                        forces_replacement: false,
                    },
                ],
            },
        },
        ResourcePlan {
            id: ResourceId::new("ecr:repository", "legacy"),
            physical_id: Some("alva/staging/legacy".into()),
            service: "ecr".into(),
            depends_on: vec![],
            action: Action::Delete,
        },
        ResourcePlan {
            id: ResourceId::new("logs:log-group", "api"),
            physical_id: Some("/alva/staging/api".into()),
            service: "logs".into(),
            depends_on: vec![],
            action: Action::NoOp,
        },
    ];
    let warnings = vec![Warning {
        resource: Some(ResourceId::new("rds:db-instance", "db")),
        message: "deletion protection is off".into(),
    }];
    Plan::new(
        "alva-staging",
        PlanMode::Apply,
        "0123456789abcdef",
        resources,
        warnings,
    )
}

#[test]
fn text_rendering() {
    let p = sample();
    let text = p.to_string();
    assert!(!text.contains("canary"), "a sensitive value leaked");
    assert!(text.ends_with("Plan: 2 to add, 1 to change, 1 to replace, 1 to destroy."));
    snapshot("plan.txt", &text);
}

#[test]
fn json_rendering_round_trips_without_secrets() {
    let p = sample();
    let json = p.to_json();
    assert!(!json.contains("canary"));
    snapshot("plan.json", &json);
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back.summary, p.summary);
    assert_eq!(back.resources.len(), p.resources.len());
    assert_eq!(back.format_version, Plan::FORMAT_VERSION);
    // Sensitive values come back as sensitive, without content.
    assert!(back.to_string().contains("(sensitive value)"));
}

#[test]
fn no_change_rendering() {
    let p = Plan::new(
        "alva-staging",
        PlanMode::Apply,
        "d",
        vec![ResourcePlan {
            id: ResourceId::new("ec2:vpc", "main"),
            physical_id: Some("vpc-1".into()),
            service: "ec2".into(),
            depends_on: vec![],
            action: Action::NoOp,
        }],
        vec![],
    );
    assert!(!p.has_changes());
    snapshot("plan-nochange.txt", &p.to_string());
}

/// The package directory of the test run (cargo sets it when it runs the test), so a test binary
/// built in another checkout still reads this checkout's snapshots.
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_string())
}
