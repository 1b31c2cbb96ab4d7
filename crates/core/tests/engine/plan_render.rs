use std::collections::BTreeMap;

use skyforge_core::{
    Action, FieldDiff, PendingChange, Plan, PlanMode, Refusal, ReplaceOrder, ResourceId,
    ResourcePlan, Value, Warning,
};

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
            id: ResourceId::new("vpc", "main"),
            physical_id: None,
            service: "ec2".into(),
            depends_on: vec![],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Create { fields: create },
        },
        ResourcePlan {
            id: ResourceId::new("secret", "cookie-secret"),
            physical_id: None,
            service: "secretsmanager".into(),
            depends_on: vec![],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Create { fields: secret },
        },
        ResourcePlan {
            id: ResourceId::new("security_group", "app"),
            physical_id: Some("sg-0abc".into()),
            service: "ec2".into(),
            depends_on: vec![ResourceId::new("vpc", "main")],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Update {
                diffs: vec![
                    FieldDiff {
                        field: "description".into(),
                        old: Some(Value::str("app")),
                        new: Some(Value::str("app tasks")),
                        forces_replacement: false,
                        note: None,
                    },
                    FieldDiff {
                        field: "ingress[8000]".into(),
                        old: None,
                        new: Some(Value::str("sg-alb")),
                        forces_replacement: false,
                        note: None,
                    },
                    FieldDiff {
                        field: "ingress[22]".into(),
                        old: Some(Value::str("0.0.0.0/0")),
                        new: None,
                        forces_replacement: false,
                        note: None,
                    },
                ],
            },
        },
        ResourcePlan {
            id: ResourceId::new("db_instance", "db"),
            physical_id: Some("alva-staging-db".into()),
            service: "rds".into(),
            depends_on: vec![],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Replace {
                reason: "engine cannot change in place".into(),
                diffs: vec![
                    FieldDiff {
                        field: "engine".into(),
                        old: Some(Value::str("mysql")),
                        new: Some(Value::str("postgres")),
                        forces_replacement: true,
                        note: None,
                    },
                    FieldDiff {
                        field: "master_password".into(),
                        old: Some(Value::sensitive("old-canary")),
                        new: Some(Value::sensitive("new-canary")),
                        forces_replacement: false,
                        note: None,
                    },
                ],
                order: ReplaceOrder::DestroyBeforeCreate,
                dragged_by: vec![],
            },
        },
        ResourcePlan {
            id: ResourceId::new("db_parameter_group", "db"),
            physical_id: Some("alva-staging-db-pg".into()),
            service: "rds".into(),
            depends_on: vec![ResourceId::new("db_instance", "db")],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Replace {
                reason: "replaced with db_instance.db, whose new identity it cannot take in place"
                    .into(),
                diffs: vec![FieldDiff {
                    field: "db_instance".into(),
                    old: Some(Value::str("alva-staging-db")),
                    new: Some(Value::Unknown),
                    forces_replacement: true,
                    note: None,
                }],
                order: ReplaceOrder::CreateBeforeDestroy,
                dragged_by: vec![ResourceId::new("db_instance", "db")],
            },
        },
        ResourcePlan {
            id: ResourceId::new("security_group_rule", "app-ingress-tcp-22-internet"),
            physical_id: Some("sg-0abc:sgr-0def".into()),
            service: "ec2".into(),
            depends_on: vec![],
            orphan: true,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::Delete,
        },
        ResourcePlan {
            id: ResourceId::new("ecr_repository", "legacy"),
            physical_id: Some("alva/staging/legacy".into()),
            service: "ecr".into(),
            depends_on: vec![],
            orphan: true,
            protected: true,
            not_ready: None,
            pending: vec![],
            action: Action::Delete,
        },
        ResourcePlan {
            id: ResourceId::new("log_group", "api"),
            physical_id: Some("/alva/staging/api".into()),
            service: "logs".into(),
            depends_on: vec![],
            orphan: false,
            protected: false,
            not_ready: Some("creating".into()),
            pending: vec![PendingChange {
                field: "retention_days".into(),
                value: Value::of(30),
                applies: "at the next maintenance window".into(),
            }],
            action: Action::NoOp,
        },
    ];
    let warnings = vec![Warning {
        resource: Some(ResourceId::new("db_instance", "db")),
        message: "deletion protection is off".into(),
    }];
    let mut plan = Plan::new(
        "alva-staging",
        PlanMode::Apply,
        "0123456789abcdef",
        resources,
        warnings,
    );
    plan.refused = vec![Refusal {
        resource: ResourceId::new("ecr_repository", "legacy"),
        action: "destroy".into(),
        message: "holds data; allow it with --allow-destroy ecr_repository.legacy".into(),
    }];
    plan
}

#[test]
fn text_rendering() {
    let p = sample();
    let text = p.to_string();
    assert!(!text.contains("canary"), "a sensitive value leaked");
    assert!(text.ends_with("Plan: 2 to add, 1 to change, 2 to replace, 2 to destroy."));
    assert!(text.starts_with("Error: ecr_repository.legacy: holds data"));
    insta::assert_snapshot!("plan", text);
}

#[test]
fn json_rendering_round_trips_without_secrets() {
    let p = sample();
    let json = p.to_json();
    assert!(!json.contains("canary"));
    insta::assert_snapshot!("plan-json", json);
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back.summary, p.summary);
    assert_eq!(back.resources.len(), p.resources.len());
    assert_eq!(back.format_version, Plan::FORMAT_VERSION);
    // Everything but the sensitive fingerprints comes back.
    let flags = |p: &Plan| -> Vec<(String, bool, bool, &'static str)> {
        p.resources
            .iter()
            .map(|r| (r.id.to_string(), r.orphan, r.protected, r.action.symbol()))
            .collect()
    };
    assert_eq!(flags(&back), flags(&p));
    assert_eq!(back.resources[5], p.resources[5], "the dragged replacement");
    assert_eq!(back.refused, p.refused);
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
            id: ResourceId::new("vpc", "main"),
            physical_id: Some("vpc-1".into()),
            service: "ec2".into(),
            depends_on: vec![],
            orphan: false,
            protected: false,
            not_ready: None,
            pending: vec![],
            action: Action::NoOp,
        }],
        vec![],
    );
    assert!(!p.has_changes());
    insta::assert_snapshot!("plan-nochange", p.to_string());
}
