//! The plan's tag index (`skyforge_core::tag_index`) against the harness's Resource Groups
//! Tagging API, which lags as AWS's does: its answers come from a snapshot taken again only once
//! it is old enough (here held until the test lets it catch up). A no-op plan made after the
//! index caught up reads the tags of log groups, parameters, a repository, a topic and its key
//! from one `GetResources` per kind;
//! a plan made while the index still shows old tags reads them from the services and converges
//! all the same.

use std::collections::BTreeMap;

use aws_sdk_resourcegroupstagging::types::TagFilter;
use skyforge_core::{Environment, Stack};
use skyforge_integration_tests::{TestStack, calls_between};
use skyforge_logs::LogGroup;
use skyforge_monitoring::Topic;
use skyforge_registry::Repository;
use skyforge_secrets::{Parameter, ParameterValue};

/// Longer than any test here: the index moves only when the test lets it catch up.
const FROZEN: f64 = 600.0;

fn stack(env: &Environment) -> Stack {
    let mut stack = Stack::new(env.clone());
    for i in 0..3 {
        let value = ParameterValue::Plain(format!("value {i}"));
        let key = format!("KEY_{i}");
        stack.add(Parameter::builder().key(key).value(value).build().unwrap());
        let name = format!("/skyforge/{}/group-{i}", env.prefix());
        stack.add(LogGroup::new("log_group", format!("group-{i}"), name, 7));
    }
    stack.add(Repository::builder().logical_id("api").build().unwrap());
    stack.add(Topic::new("alerts"));
    stack
}

/// The calls the harness counted for `t`'s app while `run` ran, as `service:Operation`.
async fn counted<F: std::future::Future<Output = T>, T>(
    t: &TestStack,
    run: F,
) -> (T, BTreeMap<String, u64>) {
    let before = t.calls().await;
    let out = run.await;
    let made = calls_between(&before, &t.calls().await);
    let calls = made
        .into_iter()
        .map(|((s, op), n)| (format!("{s}:{op}"), n));
    (out, calls.collect())
}

/// The stack's log groups in the harness's index, with the value of tag `key`.
async fn indexed(t: &TestStack, key: &str) -> BTreeMap<String, String> {
    let filter = TagFilter::builder()
        .key(skyforge_core::tags::STACK)
        .values(t.env.prefix())
        .build();
    let out = t
        .ctx
        .client(aws_sdk_resourcegroupstagging::Client::new)
        .get_resources()
        .tag_filters(filter)
        .resource_type_filters("logs:log-group")
        .send()
        .await
        .unwrap();
    let found = out.resource_tag_mapping_list().iter();
    found
        .map(|m| {
            let t = m.tags().iter().find(|t| t.key() == key);
            let v = t.map(|t| t.value().to_string()).unwrap_or_default();
            (m.resource_arn().unwrap().to_string(), v)
        })
        .collect()
}

#[tokio::test]
async fn the_harness_index_lags_as_aws_does() {
    let t = TestStack::new().await;
    t.tag_index_lag(FROZEN).await;
    let s = stack(&t.env);
    indexed(&t, "team").await;
    s.apply(&t.ctx, &s.plan(&t.ctx).await.unwrap())
        .await
        .unwrap();
    // Within the lag the snapshot taken before the apply answers: the groups are not there yet.
    assert!(indexed(&t, "team").await.is_empty(), "a fresh snapshot");
    t.tag_index_catch_up().await;
    let caught_up = indexed(&t, "team").await;
    assert_eq!(caught_up.len(), 3, "{caught_up:?}");
    assert!(caught_up.values().all(String::is_empty), "no team tag yet");
    // Retagged by an apply with a user tag: the old tags until the lag is over.
    let team = TestStack::with_env(t.env.clone().tag("team", "web")).await;
    let s = stack(&team.env);
    s.apply(&team.ctx, &s.plan(&team.ctx).await.unwrap())
        .await
        .unwrap();
    assert!(indexed(&t, "team").await.values().all(String::is_empty));
    t.tag_index_catch_up().await;
    assert!(indexed(&t, "team").await.values().all(|v| v == "web"));
    s.apply(&team.ctx, &s.plan_destroy(&team.ctx).await.unwrap())
        .await
        .unwrap();
}

/// The test stack applied, with an index held still that has caught up with the apply.
async fn applied_and_indexed() -> (TestStack, Stack) {
    let t = TestStack::new().await;
    t.tag_index_lag(FROZEN).await;
    let s = stack(&t.env);
    s.apply(&t.ctx, &s.plan(&t.ctx).await.unwrap())
        .await
        .unwrap();
    t.tag_index_catch_up().await;
    (t, s)
}

#[tokio::test]
async fn a_no_op_plan_reads_tags_from_the_index_and_converges_while_it_lags() {
    let (t, s) = applied_and_indexed().await;
    let (plan, calls) = counted(&t, s.plan(&t.ctx)).await;
    assert!(!plan.unwrap().has_changes());
    // Log groups, parameters, the repository, the topic, the topic's key.
    let indexed = calls.get("resourcegroupstaggingapi:GetResources");
    assert_eq!(indexed, Some(&5), "{calls:?}");
    let one_by_one = ["ListTagsForResource", "ListResourceTags"];
    let read = calls
        .keys()
        .filter(|k| one_by_one.iter().any(|op| k.ends_with(op)));
    assert_eq!(read.count(), 0, "{calls:?}");

    // Retag with a user tag and plan again while the index still shows the old tags: each
    // resource's tags are read from its service, and the plan has nothing to change.
    let team = TestStack::with_env(t.env.clone().tag("team", "web")).await;
    let s = stack(&team.env);
    let plan = s.plan(&team.ctx).await.unwrap();
    assert!(plan.has_changes());
    s.apply(&team.ctx, &plan).await.unwrap();
    let (plan, calls) = counted(&team, s.plan(&team.ctx)).await;
    assert!(!plan.unwrap().has_changes(), "converged on a lagging index");
    assert_eq!(calls.get("logs:ListTagsForResource"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("ssm:ListTagsForResource"), Some(&3), "{calls:?}");
    s.apply(&team.ctx, &s.plan_destroy(&team.ctx).await.unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_plan_denied_the_tagging_api_reads_tags_one_by_one() {
    // A deploy policy made before the index has no tag:GetResources: the plan still works.
    let (t, s) = applied_and_indexed().await;
    let denied = "AccessDeniedException";
    t.inject_fault("resourcegroupstaggingapi", "GetResources", denied, 400, 5)
        .await;
    let (plan, calls) = counted(&t, s.plan(&t.ctx)).await;
    assert!(!plan.unwrap().has_changes());
    assert_eq!(calls.get("logs:ListTagsForResource"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("ssm:ListTagsForResource"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("ecr:ListTagsForResource"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("sns:ListTagsForResource"), Some(&1), "{calls:?}");
    assert_eq!(calls.get("kms:ListResourceTags"), Some(&1), "{calls:?}");
    s.apply(&t.ctx, &s.plan_destroy(&t.ctx).await.unwrap())
        .await
        .unwrap();
}
