//! skyforge's integration-test support: the endpoint under test, per-test stacks with unique
//! names, the emulator's control API (request accounting, faults, latency) and the inventory
//! helper that lists every resource carrying a stack's ownership tags.
//!
//! The endpoint comes from `AWS_ENDPOINT_URL`: the project's LocalStack harness, LocalStack Pro in
//! Docker, or any AWS-compatible endpoint. Nothing here skips silently: an unset or unreachable
//! endpoint is a test failure.
#![warn(missing_docs)]

mod control;
mod ecs;
mod iam_actions;
mod inventory;
mod inventory_ecs;

pub use ecs::{ecs_service, task_image};
pub use iam_actions::iam_action;

use std::collections::BTreeMap;

use aws_config::{AppName, BehaviorVersion};
use skyforge_core::{Context, Environment, Stage};

pub use inventory::{ec2_copies, ec2_copies_in, inventory};

/// The account LocalStack answers `sts:GetCallerIdentity` with.
pub const ACCOUNT: &str = "000000000000";

/// The endpoint under test (`AWS_ENDPOINT_URL`). Panics, loudly, when it is not set.
pub fn endpoint() -> String {
    match std::env::var("AWS_ENDPOINT_URL") {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "AWS_ENDPOINT_URL is not set: run the suite through `bash scripts/test.sh` (which starts \
             the emulator) or point it at a running LocalStack"
        ),
    }
}

/// One test's stack: a unique project name (so parallel tests and re-runs never collide), its
/// environment, a context whose requests are attributed to it by the emulator.
#[derive(Debug, Clone)]
pub struct TestStack {
    /// Unique name (`sf1a2b3c4d`), also the SDK app name used for accounting.
    pub app: String,
    /// The environment (`<app>`, staging, ephemeral).
    pub env: Environment,
    /// The context.
    pub ctx: Context,
}

impl TestStack {
    /// A fresh stack; fails loudly if the endpoint does not answer.
    pub async fn new() -> Self {
        let endpoint = endpoint();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let app = format!("sf{}", &id[..10]);
        let env = Environment::new(app.clone(), Stage::Staging)
            .region("us-east-1")
            .ephemeral(true);
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .retry_config(skyforge_core::context::retry_config(true))
            .app_name(AppName::new(app.clone()).expect("valid app name"))
            .load()
            .await;
        let ctx = Context::from_sdk_config(env.clone(), sdk);
        let sts = ctx.client(aws_sdk_sts::Client::new);
        if let Err(e) = sts.get_caller_identity().send().await {
            panic!("the endpoint {endpoint} does not answer STS GetCallerIdentity: {e:?}");
        }
        TestStack { app, env, ctx }
    }

    /// A stack with a given environment (a deploy made by another process, such as the demo
    /// binary, to take the inventory of); requests are attributed to its project name.
    pub async fn with_env(env: Environment) -> Self {
        let app = env.project_name().to_string();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(aws_config::Region::new(
                env.region_name().unwrap_or("us-east-1").to_string(),
            ))
            .retry_config(skyforge_core::context::retry_config(true))
            .app_name(AppName::new(app.clone()).expect("valid app name"))
            .load()
            .await;
        let ctx = Context::from_sdk_config(env.clone(), sdk);
        TestStack { app, env, ctx }
    }

    /// The stack name carried in `skyforge:stack`.
    pub fn name(&self) -> String {
        skyforge_core::tags::stack_name(&self.env)
    }

    /// Ownership tags for a resource with `logical_id` of this stack.
    pub fn tags(&self, logical_id: &str) -> BTreeMap<String, String> {
        skyforge_core::tags::resource_tags(&self.env, logical_id)
    }

    /// An S3 client (path-style against emulators).
    pub fn s3(&self) -> aws_sdk_s3::Client {
        let path_style = self.ctx.endpoint_overridden();
        self.ctx.client(|c| {
            aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(c)
                    .force_path_style(path_style)
                    .build(),
            )
        })
    }

    /// Delete a state bucket (every version and delete marker first) and a lock table, as
    /// `skyforge_state::bootstrap` makes them: they carry no stack's tags, so no destroy removes
    /// them.
    pub async fn remove_state_backend(&self, bucket: &str, table: &str) {
        let s3 = self.s3();
        let listed = s3
            .list_object_versions()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
        let versions = listed.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = listed
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        for (key, version) in versions.chain(markers) {
            s3.delete_object()
                .bucket(bucket)
                .key(key.unwrap())
                .set_version_id(version.map(String::from))
                .send()
                .await
                .unwrap();
        }
        s3.delete_bucket().bucket(bucket).send().await.unwrap();
        self.ctx
            .client(aws_sdk_dynamodb::Client::new)
            .delete_table()
            .table_name(table)
            .send()
            .await
            .unwrap();
    }

    /// Make this stack's tasks whose image contains `image` stop with `stop_code` and `reason`
    /// (and the essential container's `exit_code`). Emulator control API.
    pub async fn fail_tasks(
        &self,
        image: &str,
        stop_code: &str,
        reason: &str,
        exit_code: Option<i32>,
    ) {
        let body = serde_json::json!({"faults": [{
            "app": self.app, "image": image, "stopCode": stop_code, "reason": reason,
            "exitCode": exit_code,
        }]});
        control::post(&endpoint(), "/_localstack/skyforge/ecs-task-faults", &body).await;
    }

    /// A scripted task fault with any of the harness's fields (`kind`: `service` or
    /// `run-task`, `logs`: the lines the task writes, `seconds`, `count`); this stack's only.
    pub async fn fail_tasks_with(&self, mut fault: serde_json::Value) {
        fault["app"] = serde_json::Value::String(self.app.clone());
        let body = serde_json::json!({"faults": [fault]});
        control::post(&endpoint(), "/_localstack/skyforge/ecs-task-faults", &body).await;
    }

    /// What a person following the confirmation link does: every pending SNS subscription of
    /// `endpoint` becomes confirmed. Emulator control API.
    pub async fn confirm_subscription(&self, subscriber: &str) {
        let body = serde_json::json!({ "endpoint": subscriber });
        control::post(&endpoint(), "/_localstack/skyforge/sns-confirm", &body).await;
    }

    /// How far behind the harness's tagging API (`GetResources`) may be for this stack: its
    /// answers come from a snapshot taken again only once it is `seconds` old (2 by default).
    /// Emulator control API.
    pub async fn tag_index_lag(&self, seconds: f64) {
        let body = serde_json::json!({ "app": self.app, "lag": seconds });
        control::post(&endpoint(), "/_localstack/skyforge/tagging", &body).await;
    }

    /// The harness's tagging API catches up for this stack: its next answer is fresh.
    /// Emulator control API.
    pub async fn tag_index_catch_up(&self) {
        let body = serde_json::json!({ "app": self.app, "catch_up": true });
        control::post(&endpoint(), "/_localstack/skyforge/tagging", &body).await;
    }

    /// API calls this stack made so far, by (service, operation). Emulator control API.
    pub async fn calls(&self) -> BTreeMap<(String, String), u64> {
        control::calls(&endpoint(), &self.app).await
    }

    /// Answer the next `count` calls of `service`/`operation` from this stack with AWS error
    /// `code` (HTTP `status`). Emulator control API.
    pub async fn inject_fault(
        &self,
        service: &str,
        operation: &str,
        code: &str,
        status: u16,
        count: u32,
    ) {
        let body = serde_json::json!({"faults": [{
            "app": self.app, "service": service, "operation": operation,
            "code": code, "status": status, "count": count
        }]});
        control::post(&endpoint(), "/_localstack/skyforge/faults", &body).await;
    }

    /// Answer this stack's calls to each service in `rates` (`"ec2"`, or `"*"` for all) with a
    /// throttling or 5xx error at that rate (0.1 = 10 %). Other stacks are unaffected.
    pub async fn set_fault_rates(&self, rates: &[(&str, f64)]) {
        let rates: serde_json::Map<String, serde_json::Value> = rates
            .iter()
            .map(|(s, r)| (s.to_string(), serde_json::json!(r)))
            .collect();
        let body = serde_json::json!({"app": self.app, "rates": rates});
        control::post(&endpoint(), "/_localstack/skyforge/faults", &body).await;
    }

    /// How many rate-based faults this stack's calls were answered with so far.
    pub async fn injected_faults(&self) -> u64 {
        control::injected(&endpoint(), &self.app).await
    }

    /// Model AWS latencies, scaled by `scale`, for resources this stack creates.
    pub async fn set_latency(&self, scale: f64) {
        let body = serde_json::json!({"app": self.app, "scale": scale});
        control::post(&endpoint(), "/_localstack/skyforge/latency", &body).await;
    }
}

/// A log sink for one test's `tracing` subscriber (`tracing::subscriber::set_default`), to check
/// what was logged.
#[derive(Clone, Default)]
pub struct Capture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Capture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).to_string()
    }
}

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Check a table of specs that must be refused: each `(field, value, result)` must be a
/// validation error whose field ends with `field` and whose value contains `value`. Returns the
/// distinct errors the table produced (field, value and rule), for the caller to require a
/// number of.
pub fn refused_rules<T>(
    cases: Vec<(&str, &str, skyforge_core::Result<T>)>,
) -> std::collections::BTreeSet<String> {
    let mut rules = std::collections::BTreeSet::new();
    for (field, value, result) in cases {
        match result {
            Err(skyforge_core::Error::Validation {
                field: f,
                value: v,
                rule,
            }) => {
                assert!(f.ends_with(field), "{field}: got field {f} ({v}: {rule})");
                assert!(
                    v.contains(value),
                    "{field}: got value {v}, wanted {value} ({rule})"
                );
                rules.insert(format!("{f} = {v}: {rule}"));
            }
            Err(other) => panic!("{field}={value}: not a validation error: {other}"),
            Ok(_) => panic!("{field}={value} was accepted"),
        }
    }
    rules
}

/// The mutating operations among call counts (`"ec2:CreateVpc"`): every operation that is not
/// a `Describe`, `Get`, `List` or `Head`.
pub fn mutating(calls: &BTreeMap<(String, String), u64>) -> Vec<String> {
    calls
        .keys()
        .filter(|(_, op)| {
            !["Describe", "Get", "List", "Head"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .map(|(s, op)| format!("{s}:{op}"))
        .collect()
}

/// Difference of two call counts (after - before), zero entries dropped.
pub fn calls_between(
    before: &BTreeMap<(String, String), u64>,
    after: &BTreeMap<(String, String), u64>,
) -> BTreeMap<(String, String), u64> {
    after
        .iter()
        .filter_map(|(k, v)| {
            let d = v - before.get(k).copied().unwrap_or(0);
            (d > 0).then(|| (k.clone(), d))
        })
        .collect()
}

/// The changes of a plan, one `"<symbol> <kind>.<id>"` line each (`"-/+ security_group.app"`).
pub fn changes(plan: &skyforge_core::Plan) -> Vec<String> {
    plan.resources
        .iter()
        .filter(|r| r.action.is_change())
        .map(|r| format!("{} {}", r.action.symbol(), r.id))
        .collect()
}
