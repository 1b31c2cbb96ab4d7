//! A secret's value is never shown: not by `Debug` of the types that hold it (what a panic
//! message or a `{:?}` in a log would print), nor by the stack's plan (text, JSON, `Debug`), nor
//! by the errors of specs refused with a value in them.

use skyforge_core::{Environment, Stack, Stage};
use skyforge_secrets::{Parameter, ParameterValue, Secret, SecretValue, Source};

const CANARY: &str = "CANARYshown7f3a9c";

fn assert_hidden(what: &str, text: &str) {
    assert!(!text.contains(CANARY), "{what} shows the value:\n{text}");
}

#[test]
fn debug_plans_panics_and_errors_never_show_a_secret_value() {
    let single = SecretValue::Single(Source::value(CANARY));
    let json = SecretValue::json([
        ("password", Source::value(CANARY)),
        ("username", Source::plain("app")),
    ]);
    let secret = Secret::builder()
        .logical_id("api-key")
        .value(single.clone())
        .build()
        .unwrap();
    let composed = Secret::builder()
        .logical_id("db")
        .value(json.clone())
        .build()
        .unwrap();
    let parameter = Parameter::builder()
        .key("API_KEY")
        .value(ParameterValue::Secure(Source::value(CANARY)))
        .build()
        .unwrap();
    let mut stack = Stack::new(Environment::new("shown", Stage::Staging).region("us-east-1"));
    stack.add(secret.clone());
    stack.add(composed.clone());
    stack.add(parameter.clone());
    let plan = stack.plan_offline().unwrap();
    for (what, text) in [
        ("Source", format!("{:?}", Source::value(CANARY))),
        ("SecretValue", format!("{single:?} {json:#?}")),
        ("Secret", format!("{secret:?} {composed:#?}")),
        ("Parameter", format!("{parameter:#?}")),
        ("Stack", format!("{stack:?}")),
        ("plan text", plan.to_string()),
        ("plan JSON", plan.to_json()),
        ("plan Debug", format!("{plan:?}")),
    ] {
        assert_hidden(what, &text);
    }
    // A panic formatting them carries what Debug shows.
    let payload = std::panic::catch_unwind(|| panic!("{secret:?} {parameter:?} {plan:?}"))
        .expect_err("it panicked");
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("api-key"), "the panic message: {message}");
    assert_hidden("a panic message", &message);
    // Refused specs holding the value: their errors name the field and the rule, not the value.
    let refused = [
        Secret::builder()
            .logical_id("bad")
            .value(SecretValue::json([("db:url", Source::value(CANARY))]))
            .build()
            .map(|_| ()),
        Secret::builder()
            .logical_id("bad")
            .name("prod/app/bad name")
            .value(single.clone())
            .build()
            .map(|_| ()),
        Parameter::builder()
            .key("BAD KEY")
            .value(ParameterValue::Secure(Source::value(CANARY)))
            .build()
            .map(|_| ()),
    ];
    for r in refused {
        let e = r.expect_err("refused");
        assert_hidden("an error", &format!("{e} {e:?}"));
    }
}
