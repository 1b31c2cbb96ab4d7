//! skyforge-iam against the emulator: a role whose policy names another node's ARN, a no-op
//! re-apply, policies added and managed policies detached in place, the role removed from the
//! stack deleted as an orphan.

use std::collections::BTreeMap;

use skyforge_core::Stack;
use skyforge_iam::{PolicyDocument, Role, Statement, Trust};
use skyforge_integration_tests::{TestStack, calls_between, changes, inventory, mutating};
use skyforge_secrets::{Secret, SecretValue, Source};

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

/// A secret and (unless `without_role`) the `app` role reading it, with `extra` inline policy
/// and the managed policy when `managed`.
fn stack(t: &TestStack, with_role: bool, extra: bool, managed: bool) -> Stack {
    let mut stack = Stack::new(t.env.clone());
    let secret = stack.add(
        Secret::builder()
            .logical_id("token")
            .value(SecretValue::json([("token", Source::value("x"))]))
            .build()
            .unwrap(),
    );
    // The stack keeps using IAM (as a stack with services does), so its roles are listed.
    skyforge_iam::register_kinds(&mut stack);
    if !with_role {
        return stack;
    }
    let account = skyforge_iam::current_account(&mut stack);
    let mut policies = BTreeMap::from([(
        "read-token".to_string(),
        PolicyDocument::new([
            Statement::allow(["secretsmanager:GetSecretValue"]).on(secret.whole().arn())
        ]),
    )]);
    if extra {
        policies.insert(
            "describe-token".into(),
            PolicyDocument::new([
                Statement::allow(["secretsmanager:DescribeSecret"]).on(secret.whole().arn())
            ]),
        );
    }
    stack.add(
        Role::builder()
            .logical_id("app")
            .trust(Trust::service("ecs-tasks.amazonaws.com").when(
                "StringEquals",
                "aws:SourceAccount",
                [account],
            ))
            .policies(policies)
            .managed_policies(if managed {
                vec![READ_ONLY.into()]
            } else {
                vec![]
            })
            .build()
            .unwrap(),
    );
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_role_is_created_changed_in_place_and_deleted_as_an_orphan() {
    let t = TestStack::new().await;
    let iam = t.ctx.client(aws_sdk_iam::Client::new);
    let name = format!("{}-app", t.env.prefix());
    let first = stack(&t, true, false, true);
    let plan = first.plan(&t.ctx).await.unwrap();
    let report = first.apply(&t.ctx, &plan).await.expect("apply");
    let secret_arn = report.resources["secret.token"]["arn"]
        .as_str()
        .unwrap()
        .to_string();
    let doc = iam
        .get_role_policy()
        .role_name(&name)
        .policy_name("read-token")
        .send()
        .await
        .unwrap();
    let doc = skyforge_iam::policy::parse_document(doc.policy_document());
    assert_eq!(
        doc["Statement"][0]["Resource"],
        serde_json::json!([secret_arn]),
        "{doc}"
    );
    let role = iam.get_role().role_name(&name).send().await.unwrap();
    let trust = skyforge_iam::policy::parse_document(
        role.role().unwrap().assume_role_policy_document().unwrap(),
    );
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        serde_json::json!(["000000000000"]),
        "{trust}"
    );

    let again = first.plan(&t.ctx).await.unwrap();
    assert!(changes(&again).is_empty(), "{again}");
    let before = t.calls().await;
    first.apply(&t.ctx, &again).await.unwrap();
    let made = calls_between(&before, &t.calls().await);
    assert!(mutating(&made).is_empty(), "no-op apply made {made:?}");

    let second = stack(&t, true, true, false);
    let plan = second.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&plan), ["~ iam_role.app"], "{plan}");
    let before = t.calls().await;
    second.apply(&t.ctx, &plan).await.expect("in place");
    let made = calls_between(&before, &t.calls().await);
    assert_eq!(
        mutating(&made),
        ["iam:DetachRolePolicy", "iam:PutRolePolicy"],
        "{made:?}"
    );
    let names = iam
        .list_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    let mut names = names.policy_names().to_vec();
    names.sort();
    assert_eq!(names, ["describe-token", "read-token"]);
    let attached = iam
        .list_attached_role_policies()
        .role_name(&name)
        .send()
        .await
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    assert!(changes(&second.plan(&t.ctx).await.unwrap()).is_empty());

    let without = stack(&t, false, false, false);
    let plan = without.plan(&t.ctx).await.unwrap();
    assert_eq!(changes(&plan), ["- iam_role.app"], "{plan}");
    without.apply(&t.ctx, &plan).await.expect("orphan removed");
    let gone = iam.get_role().role_name(&name).send().await;
    assert!(gone.is_err(), "the role is gone");
    let d = without.plan_destroy(&t.ctx).await.unwrap();
    without.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(&t).await;
    assert!(left.is_empty(), "left after destroy: {left:?}");
}
