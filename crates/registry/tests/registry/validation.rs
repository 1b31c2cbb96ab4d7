//! Bad repository specs and lifecycle rules are rejected by `build()` (no context, so no API call
//! is possible), each with the field and the rule.

use skyforge_core::{Environment, Error, Stack, Stage};
use skyforge_registry::{Count, Lifecycle, LifecycleRule, Repository, TagStatus};

fn rule(tag_status: TagStatus, count: Count) -> LifecycleRule {
    LifecycleRule {
        description: "rule".into(),
        tag_status,
        count,
    }
}

#[test]
fn bad_repositories_are_rejected_before_any_call() {
    let repo = |l: Lifecycle| Repository::builder().logical_id("api").lifecycle(l).build();
    let cases: Vec<(&str, skyforge_core::Result<Repository>)> = vec![
        (
            "repository.logical_id",
            Repository::builder().logical_id("API").build(),
        ),
        (
            "repository.api.name",
            Repository::builder()
                .logical_id("api")
                .name("Alva/API")
                .build(),
        ),
        (
            "repository.api.name",
            Repository::builder()
                .logical_id("api")
                .name("alva--api")
                .build(),
        ),
        (
            "repository.api.name",
            Repository::builder().logical_id("api").name("a").build(),
        ),
        ("repository.api.lifecycle", repo(Lifecycle::new())),
        (
            "repository.api.lifecycle.rules[0].tag_status",
            repo(Lifecycle::new().keep_last(10).expire_untagged_after_days(7)),
        ),
        (
            "repository.api.lifecycle.rules[0].count",
            repo(Lifecycle::new().expire_untagged_after_days(0)),
        ),
        (
            "repository.api.lifecycle.rules[0].tag_status",
            repo(Lifecycle::new().rule(rule(TagStatus::Tagged(vec![]), Count::MoreThan(5)))),
        ),
        (
            "repository.api.lifecycle.rules[1]",
            repo(
                Lifecycle::new()
                    .expire_untagged_after_days(7)
                    .expire_untagged_after_days(7),
            ),
        ),
        (
            "repository.api.policy",
            Repository::builder()
                .logical_id("api")
                .policy(serde_json::json!({"Version": "2012-10-17"}))
                .build(),
        ),
    ];
    let mut seen = Vec::new();
    for (i, (field, r)) in cases.into_iter().enumerate() {
        let e = r.expect_err(&format!("case {i} ({field}) was accepted"));
        let text = e.to_string();
        let Error::Validation { field: f, .. } = e else {
            panic!("case {i}: {text}")
        };
        assert!(f.starts_with(field), "case {i}: {f} is not {field}: {text}");
        assert!(!seen.contains(&text), "case {i} repeats an error: {text}");
        seen.push(text);
    }
}

#[test]
fn the_seed_policy_renders_as_ecr_expects() {
    let l = Lifecycle::new().expire_untagged_after_days(7).keep_last(10);
    let doc = l.document();
    assert_eq!(doc["rules"][0]["rulePriority"], 1);
    assert_eq!(doc["rules"][0]["selection"]["tagStatus"], "untagged");
    assert_eq!(
        doc["rules"][0]["selection"]["countType"],
        "sinceImagePushed"
    );
    assert_eq!(doc["rules"][0]["selection"]["countUnit"], "days");
    assert_eq!(doc["rules"][1]["selection"]["tagStatus"], "any");
    assert_eq!(doc["rules"][1]["selection"]["countNumber"], 10);
}

#[test]
fn downgrades_are_warnings() {
    let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
    stack.add(
        Repository::builder()
            .logical_id("web")
            .scan_on_push(false)
            .immutable_tags(false)
            .build()
            .unwrap(),
    );
    let plan = stack.plan_offline().unwrap();
    assert_eq!(plan.warnings.len(), 2, "{:?}", plan.warnings);
    assert!(plan.to_string().contains("alva/staging/web"));
}
