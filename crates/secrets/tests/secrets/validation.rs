//! Bad secret and parameter specs are rejected by `build()` (no context, so no API call is
//! possible), each with the field and the rule.

use skyforge_core::{Component, Environment, Error, Stack, Stage};
use skyforge_secrets::{
    Generator, Parameter, ParameterValue, Rotation, Secret, SecretValue, Source,
};

fn field_of(e: Error) -> String {
    match e {
        Error::Validation { field, rule, .. } => {
            assert!(!rule.is_empty());
            field
        }
        other => panic!("expected a validation error, got {other}"),
    }
}

macro_rules! secret {
    ($value:expr) => {
        Secret::builder().logical_id("app-secret").value($value)
    };
}

#[test]
fn bad_secrets_are_rejected_before_any_call() {
    let random = || SecretValue::generated(Generator::alphanumeric(32));
    let cases: Vec<(&str, skyforge_core::Result<Secret>)> = vec![
        (
            "secret.logical_id",
            Secret::builder()
                .logical_id("App Secret")
                .value(random())
                .build(),
        ),
        (
            "secret.app-secret.name",
            secret!(random()).name("prod/dougust/jwt secret").build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::json(Vec::<(String, Source)>::new())).build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::json([("", Source::value("x"))])).build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::json([("db:url", Source::value("x"))])).build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::Single(Source::value(""))).build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::Single(Source::env("1BAD-NAME"))).build(),
        ),
        (
            "secret.app-secret.value.length",
            secret!(SecretValue::generated(Generator::alphanumeric(0))).build(),
        ),
        (
            "secret.app-secret.value",
            secret!(SecretValue::generated(Generator {
                exclude: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".into(),
                ..Generator::alphanumeric(16)
            }))
            .build(),
        ),
        (
            "secret.app-secret.value.length",
            secret!(SecretValue::generated(Generator::password(3, ""))).build(),
        ),
        (
            "secret.app-secret.recovery_window_days",
            secret!(random()).recovery_window_days(3).build(),
        ),
        (
            "secret.app-secret.rotation_schedule.schedule",
            secret!(random())
                .rotation_schedule(Rotation {
                    lambda_arn: "arn:aws:lambda:us-east-1:123456789012:function:rotate".into(),
                    schedule: "every 30 days".into(),
                })
                .build(),
        ),
        (
            "secret.app-secret.rotation_schedule.lambda_arn",
            secret!(random())
                .rotation_schedule(Rotation {
                    lambda_arn: "rotate-fn".into(),
                    schedule: "rate(30 days)".into(),
                })
                .build(),
        ),
    ];
    let mut seen = Vec::new();
    for (i, (field, r)) in cases.into_iter().enumerate() {
        let e = r.expect_err(&format!("case {i} ({field}) was accepted"));
        let text = e.to_string();
        let f = field_of(e);
        assert!(f.starts_with(field), "case {i}: {f} is not {field}: {text}");
        assert!(!seen.contains(&text), "case {i} repeats an error: {text}");
        seen.push(text);
    }
}

#[test]
fn references_to_missing_keys_are_errors() {
    let mut stack = Stack::new(Environment::new("alva", Stage::Staging));
    let db = Secret::builder()
        .logical_id("database")
        .value(SecretValue::json([
            ("username", Source::value("app")),
            ("password", Source::generated(Generator::alphanumeric(32))),
        ]))
        .build()
        .unwrap()
        .add_to(&mut stack);
    assert!(db.key("password").is_ok());
    let e = db.key("pasword").unwrap_err();
    assert!(
        e.to_string().contains("pasword") && e.to_string().contains("password"),
        "{e}"
    );
    let single = Secret::builder()
        .logical_id("cookie-secret")
        .value(SecretValue::generated(Generator::alphanumeric(32)))
        .build()
        .unwrap()
        .add_to(&mut stack);
    assert!(single.key("value").is_err());
}

#[test]
fn bad_parameters_are_rejected_before_any_call() {
    let plain = |v: &str| ParameterValue::Plain(v.to_string());
    let cases: Vec<(&str, skyforge_core::Result<Parameter>)> = vec![
        (
            "parameter.DATABASE URL.key",
            Parameter::builder()
                .key("DATABASE URL")
                .value(plain("x"))
                .build(),
        ),
        (
            "parameter.TOKEN.path",
            Parameter::builder()
                .key("TOKEN")
                .value(plain("x"))
                .path("/aws/app/TOKEN")
                .build(),
        ),
        (
            "parameter.TOKEN.path",
            Parameter::builder()
                .key("TOKEN")
                .value(plain("x"))
                .path("/delivery/test/OTHER")
                .build(),
        ),
        (
            "parameter.TOKEN.path",
            Parameter::builder()
                .key("TOKEN")
                .value(plain("x"))
                .path("delivery/test/TOKEN")
                .build(),
        ),
        (
            "parameter.TOKEN.value",
            Parameter::builder().key("TOKEN").value(plain("")).build(),
        ),
        (
            "parameter.TOKEN.value",
            Parameter::builder()
                .key("TOKEN")
                .value(plain(&"x".repeat(5000)))
                .build(),
        ),
        (
            "parameter.TOKEN.kms_key_id",
            Parameter::builder()
                .key("TOKEN")
                .value(plain("x"))
                .kms_key_id("alias/app")
                .build(),
        ),
        (
            "parameter.TOKEN.value",
            Parameter::builder()
                .key("TOKEN")
                .value(ParameterValue::Secure(Source::value("")))
                .build(),
        ),
        (
            "parameter.__.key",
            Parameter::builder().key("__").value(plain("x")).build(),
        ),
    ];
    let mut seen = Vec::new();
    for (i, (field, r)) in cases.into_iter().enumerate() {
        let e = r.expect_err(&format!("case {i} ({field}) was accepted"));
        let text = e.to_string();
        let f = field_of(e);
        assert!(f.starts_with(field), "case {i}: {f} is not {field}: {text}");
        assert!(!seen.contains(&text), "case {i} repeats an error: {text}");
        seen.push(text);
    }
    // The seed's hierarchy: /delivery/test/DATABASE_URL.
    let ok = Parameter::builder()
        .key("DATABASE_URL")
        .value(ParameterValue::Secure(Source::env("DATABASE_URL")))
        .path("/delivery/test/DATABASE_URL")
        .build();
    assert!(ok.is_ok());
}

#[test]
fn plans_show_presence_never_values() {
    let mut stack = Stack::new(Environment::new("alva", Stage::Staging).region("us-east-1"));
    stack.add(
        Secret::builder()
            .logical_id("cookie-secret")
            .value(SecretValue::Single(Source::value("canary-9f2c1e7a")))
            .build()
            .unwrap(),
    );
    stack.add(
        Parameter::builder()
            .key("JWT_PRIVATE_KEY")
            .value(ParameterValue::Secure(Source::value("canary-9f2c1e7a")))
            .build()
            .unwrap(),
    );
    let plan = stack.plan_offline().unwrap();
    let text = format!("{plan}\n{}\n{plan:?}", plan.to_json());
    assert!(!text.contains("canary-9f2c1e7a"), "{text}");
    assert!(text.contains("(sensitive value)"), "{text}");
    assert!(text.contains("/alva/staging/JWT_PRIVATE_KEY"), "{text}");
}
