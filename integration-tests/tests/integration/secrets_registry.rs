//! skyforge-secrets and skyforge-registry against the emulator.
use skyforge_core::{Action, Error, ResourceId, Stack};
use skyforge_integration_tests::{Capture, TestStack, calls_between, inventory, mutating};
use skyforge_registry::{Lifecycle, Repository};
use skyforge_secrets::{Generator, Parameter, ParameterValue, Secret, SecretValue, Source};

pub(crate) fn secrets_stack(
    t: &TestStack,
    api_key_file: &std::path::Path,
    rotation: &str,
) -> Stack {
    let mut stack = Stack::new(t.env.clone());
    stack.add(
        Secret::builder()
            .logical_id("jwt-secret")
            .description("JWT signing key")
            .value(SecretValue::generated(Generator::signing_key()))
            .rotation(rotation)
            .build()
            .unwrap(),
    );
    let db = stack.add(
        Secret::builder()
            .logical_id("database")
            .value(SecretValue::json([
                ("username", Source::value("app")),
                (
                    "password",
                    Source::generated(Generator::password(32, "\"@/\\'")),
                ),
            ]))
            .build()
            .unwrap(),
    );
    stack.export("database.arn", db.arn());
    stack.add(
        Parameter::builder()
            .key("APP_ENV")
            .value(ParameterValue::Plain("staging".into()))
            .build()
            .unwrap(),
    );
    stack.add(
        Parameter::builder()
            .key("OPENAI_API_KEY")
            .value(ParameterValue::Secure(Source::file(api_key_file)))
            .build()
            .unwrap(),
    );
    stack
}

async fn secret_value(t: &TestStack, name: &str) -> (String, String) {
    let out = t
        .ctx
        .client(aws_sdk_secretsmanager::Client::new)
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .expect("GetSecretValue");
    (
        out.secret_string().unwrap_or_default().to_string(),
        out.version_id().unwrap_or_default().to_string(),
    )
}

pub(crate) fn temp_file(t: &TestStack, content: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!("{}-secret", t.app));
    std::fs::write(&p, format!("{content}\n")).unwrap();
    p
}

#[tokio::test]
async fn secrets_keep_their_values_rotate_on_request_repair_drift_and_destroy() {
    let t = TestStack::new().await;
    let key_file = temp_file(&t, "sk-test-123");
    let stack = secrets_stack(&t, &key_file, "");
    let plan = stack.plan(&t.ctx).await.expect("plan");
    assert_eq!(plan.summary.add, 4, "{plan}");
    stack.apply(&t.ctx, &plan).await.expect("apply");
    let jwt_name = format!("{}/staging/jwt-secret", t.app);
    let (jwt, v1) = secret_value(&t, &jwt_name).await;
    assert_eq!(jwt.len(), 64);
    let (db, _) = secret_value(&t, &format!("{}/staging/database", t.app)).await;
    let db: serde_json::Value = serde_json::from_str(&db).unwrap();
    assert_eq!(db["username"], "app");
    assert_eq!(db["password"].as_str().unwrap().len(), 32);
    let ssm = t.ctx.client(aws_sdk_ssm::Client::new);
    let key = ssm
        .get_parameter()
        .name(format!("/{}/staging/OPENAI_API_KEY", t.app))
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    assert_eq!(key.parameter().unwrap().value(), Some("sk-test-123"));

    // Re-plan: nothing to do; re-apply: no mutating call; the generated values stay.
    let again = stack.plan(&t.ctx).await.expect("replan");
    assert!(!again.has_changes(), "{again}");
    let before = t.calls().await;
    stack.apply(&t.ctx, &again).await.expect("no-op apply");
    assert!(mutating(&calls_between(&before, &t.calls().await)).is_empty());
    assert_eq!(secret_value(&t, &jwt_name).await, (jwt.clone(), v1.clone()));

    // A changed source file does not overwrite the stored value without a rotation.
    std::fs::write(&key_file, "sk-test-456\n").unwrap();
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());

    // Drift by hand: the secret's description, the plain parameter's value.
    t.ctx
        .client(aws_sdk_secretsmanager::Client::new)
        .update_secret()
        .secret_id(&jwt_name)
        .description("edited by hand")
        .send()
        .await
        .unwrap();
    ssm.put_parameter()
        .name(format!("/{}/staging/APP_ENV", t.app))
        .value("prod")
        .overwrite(true)
        .send()
        .await
        .unwrap();
    let drift = stack.plan(&t.ctx).await.expect("drift plan");
    let changed: Vec<String> = drift
        .resources
        .iter()
        .filter(|r| r.action.is_change())
        .map(|r| r.id.to_string())
        .collect();
    assert_eq!(
        changed,
        ["secret.jwt-secret", "ssm_parameter.app-env"],
        "{drift}"
    );
    stack.apply(&t.ctx, &drift).await.expect("repair");
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());
    assert_eq!(
        secret_value(&t, &jwt_name).await.0,
        jwt,
        "repairing the description rewrote the value"
    );

    // Asking for a rotation writes a new version.
    let rotated = secrets_stack(&t, &key_file, "2026-11");
    let plan = rotated.plan(&t.ctx).await.expect("rotation plan");
    let jwt_plan = plan.get(&ResourceId::new("secret", "jwt-secret")).unwrap();
    assert!(matches!(jwt_plan.action, Action::Update { .. }), "{plan}");
    rotated.apply(&t.ctx, &plan).await.expect("rotate");
    let (jwt2, v2) = secret_value(&t, &jwt_name).await;
    assert!(jwt2 != jwt && v2 != v1 && jwt2.len() == 64);
    assert!(!rotated.plan(&t.ctx).await.unwrap().has_changes());

    let d = rotated.plan_destroy(&t.ctx).await.unwrap();
    rotated.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(&t).await;
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_file(&key_file).ok();
}

#[tokio::test]
async fn repositories_converge_repair_lifecycle_drift_and_destroy() {
    let t = TestStack::new().await;
    let mut stack = Stack::new(t.env.clone());
    for service in ["web", "api", "auth", "admin"] {
        let repo = stack.add(
            Repository::builder()
                .logical_id(service)
                .lifecycle(Lifecycle::new().expire_untagged_after_days(7).keep_last(10))
                .build()
                .unwrap(),
        );
        stack.export(format!("{service}.repository_uri"), repo.uri());
    }
    let plan = stack.plan(&t.ctx).await.unwrap();
    let report = stack.apply(&t.ctx, &plan).await.expect("apply");
    let uri = report.outputs["api.repository_uri"].as_str().unwrap();
    assert!(uri.ends_with(&format!("/{}/staging/api", t.app)), "{uri}");
    let ecr = t.ctx.client(aws_sdk_ecr::Client::new);
    let d = ecr
        .describe_repositories()
        .repository_names(format!("{}/staging/api", t.app))
        .send()
        .await
        .unwrap();
    let r = &d.repositories()[0];
    assert_eq!(
        r.image_tag_mutability().map(|m| m.as_str()),
        Some("IMMUTABLE")
    );
    assert_eq!(
        r.image_scanning_configuration().map(|c| c.scan_on_push()),
        Some(true)
    );

    let again = stack.plan(&t.ctx).await.unwrap();
    assert!(!again.has_changes(), "{again}");
    let before = t.calls().await;
    stack.apply(&t.ctx, &again).await.unwrap();
    assert!(mutating(&calls_between(&before, &t.calls().await)).is_empty());

    // Someone loosens the lifecycle policy by hand.
    ecr.put_lifecycle_policy()
        .repository_name(format!("{}/staging/api", t.app))
        .lifecycle_policy_text(Lifecycle::new().keep_last(50).to_json().unwrap())
        .send()
        .await
        .unwrap();
    let drift = stack.plan(&t.ctx).await.unwrap();
    let api = drift
        .get(&ResourceId::new("ecr_repository", "api"))
        .unwrap();
    let Action::Update { diffs } = &api.action else {
        panic!("{drift}")
    };
    assert_eq!(diffs.len(), 1);
    assert_eq!(diffs[0].field, "lifecycle_policy");
    assert_eq!(drift.summary.change, 1, "{drift}");
    stack.apply(&t.ctx, &drift).await.unwrap();
    assert!(!stack.plan(&t.ctx).await.unwrap().has_changes());

    let d = stack.plan_destroy(&t.ctx).await.unwrap();
    stack.apply(&t.ctx, &d).await.expect("destroy");
    let left = inventory(&t).await;
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_canary_secret_value_appears_in_no_plan_output_error_or_log() {
    let t = TestStack::new().await;
    let canary = format!("canary-{}", uuid::Uuid::new_v4().simple());
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _log = tracing::subscriber::set_default(subscriber);
    let file = temp_file(&t, &canary);
    let build = |rotation: &str| {
        let mut stack = Stack::new(t.env.clone());
        let s = stack.add(
            Secret::builder()
                .logical_id("cookie-secret")
                .value(SecretValue::Single(Source::file(&file)))
                .rotation(rotation)
                .build()
                .unwrap(),
        );
        stack.export("cookie.arn", s.arn());
        stack.add(
            Secret::builder()
                .logical_id("resend")
                .value(SecretValue::json([(
                    "api_key",
                    Source::value(canary.clone()),
                )]))
                .build()
                .unwrap(),
        );
        stack.add(
            Parameter::builder()
                .key("JWT_PRIVATE_KEY")
                .value(ParameterValue::Secure(Source::value(canary.clone())))
                .build()
                .unwrap(),
        );
        stack
    };
    let mut seen = String::new();
    let stack = build("");
    let plan = stack.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n{}\n{plan:?}\n", plan.to_json());
    let report = stack.apply(&t.ctx, &plan).await.unwrap();
    seen += &format!("{report:?}\n{}\n", serde_json::to_string(&report).unwrap());
    // The value really went to AWS.
    let (stored, _) = secret_value(&t, &format!("{}/staging/cookie-secret", t.app)).await;
    assert_eq!(stored, canary);
    let again = stack.plan(&t.ctx).await.unwrap();
    seen += &format!("{again}\n{again:?}\n");

    // An error on the call that carries the value.
    t.inject_fault(
        "secretsmanager",
        "PutSecretValue",
        "InvalidRequestException",
        400,
        1,
    )
    .await;
    let rotated = build("r2");
    let plan = rotated.plan(&t.ctx).await.unwrap();
    seen += &format!("{plan}\n");
    let err = rotated.apply(&t.ctx, &plan).await.unwrap_err();
    assert!(matches!(err, Error::Failed { .. }), "{err}");
    seen += &format!("{err}\n{err:?}\n");

    let d = rotated.plan_destroy(&t.ctx).await.unwrap();
    rotated.apply(&t.ctx, &d).await.unwrap();
    drop(_log);
    let log = capture.text();
    assert!(
        log.len() > 1000,
        "tracing captured too little: {} bytes",
        log.len()
    );
    assert!(
        log.contains("PutSecretValue") || log.contains("mutating call"),
        "no trace of the run"
    );
    assert!(
        !seen.contains(&canary),
        "the canary leaked into plans, outputs or errors"
    );
    assert!(
        !log.contains(&canary),
        "the canary leaked into the tracing output"
    );
    assert!(inventory(&t).await.is_empty());
    std::fs::remove_file(&file).ok();
}

/// A prod stack of two secrets and two parameters; `keep_all = false` drops one secret and both
/// parameters from the spec.
fn prod_stack(env: &skyforge_core::Environment, keep_all: bool) -> Stack {
    let mut stack = Stack::new(env.clone());
    stack.add(
        Secret::builder()
            .logical_id("db-password")
            .value(SecretValue::generated(Generator::password(24, "")))
            .build()
            .unwrap(),
    );
    if keep_all {
        stack.add(
            Secret::builder()
                .logical_id("api-key")
                .value(SecretValue::generated(Generator::password(24, "")))
                .build()
                .unwrap(),
        );
        stack.add(
            Parameter::builder()
                .key("LOG_LEVEL")
                .value(ParameterValue::Plain("info".into()))
                .build()
                .unwrap(),
        );
        stack.add(
            Parameter::builder()
                .key("SENTRY_DSN")
                .value(ParameterValue::Secure(Source::value(
                    "https://k@sentry.invalid/1",
                )))
                .build()
                .unwrap(),
        );
    }
    stack
}

#[tokio::test]
async fn secrets_removed_from_a_prod_spec_are_kept_until_allowed() {
    use skyforge_core::{ApplyOptions, Environment, PlanOptions, Stage};
    let t = TestStack::new().await;
    let env = Environment::new(t.app.clone(), Stage::Prod).region("us-east-1");
    let ctx = skyforge_core::Context::from_sdk_config(env.clone(), t.ctx.sdk_config().clone());
    let full = prod_stack(&env, true);
    full.apply(&ctx, &full.plan(&ctx).await.unwrap())
        .await
        .expect("apply");

    // Dropped from the spec: both secrets-bearing resources are refused, the plain parameter
    // is simply deleted.
    let slim = prod_stack(&env, false);
    let plan = slim.plan(&ctx).await.unwrap();
    println!("protected orphans plan:\n{plan}");
    let refused: Vec<String> = plan
        .refused
        .iter()
        .map(|r| r.resource.to_string())
        .collect();
    assert_eq!(
        refused,
        ["secret.api-key", "ssm_parameter.sentry-dsn"],
        "{plan}"
    );
    let text = plan.to_string();
    assert!(
        text.starts_with("Error: secret.api-key: holds data and stage prod is not ephemeral: refusing to destroy it; allow it explicitly with --allow-destroy secret.api-key"),
        "{text}"
    );
    let orphans: Vec<String> = plan
        .resources
        .iter()
        .filter(|r| r.orphan)
        .map(|r| format!("{}{}", r.id, if r.protected { " [protected]" } else { "" }))
        .collect();
    assert_eq!(
        orphans,
        [
            "secret.api-key [protected]",
            "ssm_parameter.log-level",
            "ssm_parameter.sentry-dsn [protected]"
        ]
    );
    let before = t.calls().await;
    let err = slim.apply(&ctx, &plan).await.unwrap_err();
    assert!(matches!(err, Error::Protected { .. }), "{err}");
    assert!(
        mutating(&calls_between(&before, &t.calls().await)).is_empty(),
        "refused before any call"
    );

    // Allowed for this run: deleted (the secret with its recovery window), then converged.
    let allow = ["secret.api-key", "ssm_parameter.sentry-dsn"];
    let mut popts = PlanOptions::default();
    let mut aopts = ApplyOptions::default();
    for a in allow {
        popts = popts.allow_destroy(a);
        aopts = aopts.allow_destroy(a);
    }
    let plan = slim.plan_with(&ctx, &popts).await.unwrap();
    assert!(!plan.is_refused(), "{plan}");
    slim.apply_with(&ctx, &plan, &aopts)
        .await
        .expect("allowed apply");
    let sm = ctx.client(aws_sdk_secretsmanager::Client::new);
    let gone = sm
        .describe_secret()
        .secret_id(format!("{}/prod/api-key", t.app))
        .send()
        .await
        .expect("a deleted secret stays describable during its recovery window");
    assert!(gone.deleted_date().is_some(), "scheduled for deletion");
    assert!(!slim.plan(&ctx).await.unwrap().has_changes());

    // Destroying the prod stack needs the allowance too; then clean up what recovery keeps.
    let d = slim.plan_destroy(&ctx).await.unwrap();
    assert_eq!(d.refused[0].resource.to_string(), "secret.db-password");
    let opts = ApplyOptions::default().allow_destroy("secret.db-password");
    slim.apply_with(&ctx, &d, &opts).await.expect("destroy");
    for name in ["api-key", "db-password"] {
        sm.delete_secret()
            .secret_id(format!("{}/prod/{name}", t.app))
            .force_delete_without_recovery(true)
            .send()
            .await
            .expect("force delete");
    }
}
