//! The CI identity of the reference deploys: `policy` (offline, with `--account`) for two
//! systems in two regions, checked against IAM's limits and the wildcard rule, and
//! `ci-identity` applied on the emulator: GitHub's OIDC provider, the three roles limited to
//! the repository's pull requests, branch and environment, their managed policies; applied again
//! with no change; destroyed, leaving the account's provider.

use std::collections::BTreeSet;

use serde_json::Value;
use skyforge_integration_tests::TestStack;

use crate::common::{Deploy, require_endpoint, runtime};

/// Every call the binary made for `d`'s stack (the harness's log for its project, which
/// `AWS_SDK_UA_APP_ID` names) needs an IAM action that the `deploy` policy `policy` prints for
/// the stack grants. Returns how many actions were called.
pub fn assert_calls_granted(d: &Deploy) -> usize {
    let account = skyforge_integration_tests::ACCOUNT;
    let p = d.raw(&["policy", "--json", "--account", account], &[]);
    assert_eq!(p.code, Some(0), "{}", p.text);
    let policy = p.json()["deploy"].clone();
    let calls = runtime().block_on(async { TestStack::with_env(d.env()).await.calls().await });
    let called: BTreeSet<String> = calls
        .keys()
        .filter_map(|(service, op)| skyforge_integration_tests::iam_action(service, op))
        .collect();
    let granted = |a: &str| skyforge::iam::eval::names_action(&policy, a);
    let missing: Vec<&String> = called.iter().filter(|a| !granted(a)).collect();
    assert!(
        missing.is_empty(),
        "called, not in the deploy policy: {missing:?}"
    );
    called.len()
}

const ACCOUNT: &str = "123456789012";
/// Statements allowed to name `*`: each of their actions is listed with its reason.
const WILDCARD_SIDS: &[&str] = &[
    "AnyNoResourceType",
    "AnyListing",
    "AnyCreatedWithStackTag",
    "RegistryLogin",
];

fn policies(d: &Deploy) -> Value {
    let args = [
        "policy",
        "--json",
        "--account",
        ACCOUNT,
        "--state-bucket",
        "acme-deploy-state",
        "--lock-table",
        "acme-deploy-locks",
    ];
    let a = d.raw(&args, &[]);
    assert_eq!(a.code, Some(0), "{}", a.text);
    a.json()
}

/// Every `*` is in a wildcard statement whose actions are all listed with a reason, every
/// other resource is in the stack's account and region (or a region-less form), and
/// each policy packs into managed policies a role can attach.
fn check_policy(name: &str, doc: &Value, about: &Value, region: &str) {
    let listed: BTreeSet<&str> = about["wildcards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["action"].as_str().unwrap())
        .collect();
    for s in doc["Statement"].as_array().unwrap() {
        let sid = s["Sid"].as_str().unwrap_or_default();
        let resources: Vec<&str> = s["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        if resources.contains(&"*") {
            assert!(WILDCARD_SIDS.contains(&sid), "{name}: {sid} names *");
            for a in s["Action"].as_array().unwrap() {
                let a = a.as_str().unwrap();
                let ok = listed.contains(a) || a == "ecr:GetAuthorizationToken";
                assert!(ok, "{name}: {a} on * without a reason");
            }
            continue;
        }
        for r in resources {
            let fields: Vec<&str> = r.splitn(6, ':').collect();
            // Region-less forms: IAM, S3, Route 53, dashboards, EC2's IPAM pools.
            assert!(
                fields[3] == region || fields[3].is_empty(),
                "{name}: {sid}: {r}"
            );
            assert!(fields[4] == ACCOUNT || fields[4].is_empty(), "{name}: {r}");
        }
    }
    let size = about["size"].as_u64().unwrap();
    let parts = size.div_ceil(6_144);
    assert!(parts <= 10, "{name}: {size} characters");
    println!(
        "{name}: {} statements, {size} characters, {} actions on *",
        about["statements"],
        listed.len()
    );
}

#[test]
fn the_ci_policies_of_two_systems_are_scoped_and_within_iams_limits() {
    let dougust = Deploy::new(env!("CARGO_BIN_EXE_dougust"), "dgci", "prod");
    let spendsense = Deploy::new(env!("CARGO_BIN_EXE_spendsense"), "spci", "prod")
        .region("us-west-1")
        .var("SPENDSENSE_OAUTH_CLIENT_ID", "client")
        .var("SPENDSENSE_OAUTH_CLIENT_SECRET", "not-a-secret")
        .var(
            "SPENDSENSE_CERTIFICATE_ARN",
            "arn:aws:acm:us-west-1:123456789012:certificate/0a1b2c3d",
        );
    for d in [&dougust, &spendsense] {
        let p = policies(d);
        for role in ["plan", "deploy", "release"] {
            let name = format!("{} {role}", d.prefix());
            check_policy(&name, &p[role], &p["about"][role], &d.region);
        }
        let text = p.to_string();
        // The state: the stack's own object and lock item only.
        let object = format!(
            "arn:aws:s3:::acme-deploy-state/skyforge/{}.json",
            d.prefix()
        );
        assert!(text.contains(&object), "{text}");
        assert!(
            text.contains(&format!("skyforge/{}\"", d.prefix())),
            "the lock item"
        );
        // The release policy creates and deletes nothing of the infrastructure.
        let release = p["release"].to_string();
        for write in ["ec2:CreateVpc", "rds:DeleteDBInstance", "iam:CreateRole"] {
            assert!(!release.contains(write), "{write} in release");
            assert!(p["deploy"].to_string().contains(write), "{write} in deploy");
        }
        // The plan policy writes nothing but reads the state.
        let plan = p["plan"].to_string();
        assert!(!plan.contains("s3:PutObject") && !plan.contains("dynamodb:PutItem"));
    }
}

async fn trust(t: &TestStack, role: &str) -> Option<(String, usize)> {
    let iam = t.ctx.client(aws_sdk_iam::Client::new);
    let r = iam.get_role().role_name(role).send().await.ok()?;
    let doc = r.role()?.assume_role_policy_document()?.to_string();
    let doc = skyforge::iam::policy::parse_document(&doc).to_string();
    let attached = iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .ok()?
        .attached_policies()
        .len();
    Some((doc, attached))
}

#[test]
fn the_ci_identity_is_applied_kept_converged_and_destroyed_without_the_provider() {
    require_endpoint();
    let d = Deploy::new(env!("CARGO_BIN_EXE_dougust"), "dgid", "dev");
    let args = [
        "ci-identity",
        "--repo",
        "acme/dougust",
        "--environment",
        "dev",
    ];
    let a = d.ok(&args);
    assert!(a.text.contains("deploy_role_arn"), "{}", a.text);
    let again = d.ok(&args);
    assert!(again.text.contains("No changes"), "{}", again.text);
    let prefix = d.prefix();
    runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        let (plan, n) = trust(&t, &format!("{prefix}-ci-plan"))
            .await
            .expect("plan role");
        assert!(plan.contains("repo:acme/dougust:pull_request"), "{plan}");
        assert!(
            plan.contains("repo:acme/dougust:ref:refs/heads/main"),
            "{plan}"
        );
        assert!(
            plan.contains("token.actions.githubusercontent.com:aud"),
            "{plan}"
        );
        assert_eq!(n, 1, "the plan policy fits one managed policy");
        let (deploy, n) = trust(&t, &format!("{prefix}-ci-deploy"))
            .await
            .expect("deploy");
        assert!(
            deploy.contains("repo:acme/dougust:environment:dev"),
            "{deploy}"
        );
        assert!(!deploy.contains("pull_request"), "{deploy}");
        assert!(n >= 2, "the deploy policy spans managed policies: {n}");
    });
    let gone = d.ok(&[&args[..], &["--destroy"]].concat());
    assert!(gone.text.contains("Destroy complete"), "{}", gone.text);
    runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        assert!(trust(&t, &format!("{prefix}-ci-deploy")).await.is_none());
        let providers = t
            .ctx
            .client(aws_sdk_iam::Client::new)
            .list_open_id_connect_providers()
            .send()
            .await
            .unwrap();
        let kept = providers.open_id_connect_provider_list().iter().any(|p| {
            p.arn()
                .unwrap_or_default()
                .ends_with("token.actions.githubusercontent.com")
        });
        assert!(kept, "the account's provider stays");
    });
}
