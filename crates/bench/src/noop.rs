//! A no-op plan of a reference deploy against the emulator (`AWS_ENDPOINT_URL`): the stack is
//! applied, planned again with nothing changed (the requests counted by `Context::tally`), and
//! destroyed. The plan is made once the tagging API caught up with the apply
//! ([`INDEX_CATCH_UP`]), as a plan in CI is, minutes after the last apply.

use std::collections::BTreeSet;

use skyforge_core::{Context, PlanOptions, Result, Stack};

use crate::reference::System;

/// One no-op plan's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Noop {
    /// `alva staging`.
    pub system: String,
    /// Resource kinds in the stack.
    pub kinds: usize,
    /// Resources.
    pub resources: usize,
    /// Requests of the no-op plan.
    pub requests: u64,
    /// Its wall time, seconds.
    pub seconds: f64,
    /// Whether the plan had no change (it must).
    pub no_changes: bool,
    /// Its requests by `service:Operation`, most first.
    pub calls: Vec<(String, u64)>,
}

impl Noop {
    /// Requests per kind present.
    pub fn per_kind(&self) -> f64 {
        self.requests as f64 / self.kinds.max(1) as f64
    }
}

/// The placeholder certificate ([`crate::reference::PLACEHOLDER_CERTIFICATE`]) in the
/// emulator's IAM (an ALB refuses a certificate that exists nowhere, as AWS does).
async fn certificate(ctx: &Context) {
    let body = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUBench\n-----END CERTIFICATE-----";
    let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49Bench\n-----END PRIVATE KEY-----";
    let uploaded = ctx
        .client(aws_sdk_iam::Client::new)
        .upload_server_certificate()
        .server_certificate_name("skyforge-bench")
        .certificate_body(body)
        .private_key(key)
        .send()
        .await;
    if let Err(e) = uploaded {
        let e = skyforge_core::Error::aws("bench", "UploadServerCertificate", e);
        assert_eq!(e.aws_code(), Some("EntityAlreadyExists"), "{e}");
    }
}

/// Apply `system` as project `project`, plan it again, destroy it.
pub async fn run(system: &System, project: &str) -> Result<Noop> {
    let stack = system.stack(project)?;
    let ctx = Context::load(stack.env().clone()).await?;
    certificate(&ctx).await;
    of_stack(format!("{} {}", system.name, system.stage), &stack, &ctx).await
}

/// How long the bench waits after an apply for the tagging API to show it: longer than the
/// harness's lag (2 s, `SKYFORGE_TAGGING_LAG_SECONDS`). AWS's index takes seconds to minutes; a
/// plan made sooner reads the tags it does not yet show from each service, one request each.
pub const INDEX_CATCH_UP: std::time::Duration = std::time::Duration::from_secs(3);

/// Apply `stack`, plan it again once the tag index caught up, destroy it.
pub async fn of_stack(name: String, stack: &Stack, ctx: &Context) -> Result<Noop> {
    let ctx = ctx.clone();
    let plan = stack.plan(&ctx).await?;
    stack.apply(&ctx, &plan).await?;
    tokio::time::sleep(INDEX_CATCH_UP).await;
    let before = ctx.tally();
    let t0 = std::time::Instant::now();
    let again = stack.plan(&ctx).await?;
    let seconds = t0.elapsed().as_secs_f64();
    let after = ctx.tally();
    let requests = after.requests - before.requests;
    let mut calls: Vec<(String, u64)> = after
        .calls
        .iter()
        .map(|(k, n)| (k.clone(), n - before.calls.get(k).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect();
    calls.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let graph = stack.graph();
    let kinds: BTreeSet<&str> = graph
        .iter()
        .filter(|g| !g.action)
        .map(|g| g.id.kind.as_str())
        .collect();
    let allowed: BTreeSet<String> = stack.resource_ids().iter().map(|i| i.to_string()).collect();
    let options = PlanOptions {
        allow_destroy: allowed.clone(),
    };
    let down = stack.plan_destroy_with(&ctx, &options).await?;
    let apply = skyforge_core::ApplyOptions {
        allow_destroy: allowed,
        ..Default::default()
    };
    stack.apply_with(&ctx, &down, &apply).await?;
    Ok(Noop {
        system: name,
        kinds: kinds.len(),
        resources: graph.iter().filter(|g| !g.action).count(),
        requests,
        seconds,
        no_changes: !again.has_changes(),
        calls,
    })
}

/// A stack of `n` resources of two kinds the emulator makes at once (SSM `String` parameters
/// and CloudWatch Logs groups, half each), for the no-op plan at scale.
pub fn wide(project: &str, n: usize) -> Result<Stack> {
    use skyforge::logs::LogGroup;
    use skyforge::secrets::{Parameter, ParameterValue};
    let env =
        skyforge_core::Environment::new(project, skyforge_core::Stage::Staging).region("us-east-1");
    let mut stack = Stack::new(env.clone());
    for i in 0..n / 2 {
        stack.add(
            Parameter::builder()
                .key(format!("KEY_{i}"))
                .value(ParameterValue::Plain(format!("value {i}")))
                .build()?,
        );
        let name = format!("/skyforge/{}/group-{i}", env.prefix());
        stack.add(LogGroup::new("log_group", format!("group-{i}"), name, 7));
    }
    Ok(stack)
}
