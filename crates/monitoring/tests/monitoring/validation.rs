//! Bad input is refused when the stack is planned, before any API call, naming field, value and
//! rule.

use skyforge_core::{Error, Stage};
use skyforge_monitoring::{Alarm, Comparison, Encryption, Signal, Subscription, Topic, metrics};

use crate::fixtures::world;

/// The validation error a stack with `add`'s additions gets from an offline plan.
fn refusal(add: impl FnOnce(&mut crate::fixtures::World)) -> String {
    let mut w = world(Stage::Prod);
    add(&mut w);
    match w.stack.plan_offline() {
        Err(e @ Error::Validation { .. }) => e.to_string(),
        Err(e) => panic!("expected a validation error, got {e}"),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn bad_alarms_are_refused_naming_field_value_and_rule() {
    type Edit = Box<dyn Fn(Alarm) -> Alarm>;
    let cases: Vec<(&str, &str, Edit)> = vec![
        ("period_secs", "45", Box::new(|a| a.periods(45, 3))),
        ("period_secs", "0", Box::new(|a| a.periods(0, 3))),
        ("evaluation_periods", "0", Box::new(|a| a.periods(60, 0))),
        (
            "evaluation_periods",
            "1441",
            Box::new(|a| a.periods(60, 1441)),
        ),
        (
            "datapoints",
            "4",
            Box::new(|a| a.for_minutes(3).datapoints(4)),
        ),
        (
            "datapoints",
            "0",
            Box::new(|a| a.for_minutes(3).datapoints(0)),
        ),
        (
            "threshold",
            "NaN",
            Box::new(|a| a.when(Comparison::Above, f64::NAN)),
        ),
        (
            "description",
            "(1025 characters)",
            Box::new(|a| a.describe("x".repeat(1025))),
        ),
        (
            "logical_id",
            "API CPU",
            Box::new(|a| Alarm::new("API CPU", a.signal().clone())),
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (field, value, edit) in cases {
        let e = refusal(|w| {
            let a = edit(Alarm::new("backend-cpu", metrics::service(&w.svc).cpu()).above(80.0));
            w.stack.add(a);
        });
        assert!(
            e.contains("alarm.") && e.contains(field) && e.contains(value),
            "{field} {value}: {e}"
        );
        seen.insert(e);
    }
    assert_eq!(seen.len(), 9, "each case refused with its own message");
}

#[test]
fn bad_percentages_are_refused() {
    let e = refusal(|w| {
        let t = metrics::target_group(&w.tg);
        w.stack
            .add(Alarm::new("rate", Signal::percent(t.target_5xx(), t.requests())).above(150.0));
    });
    assert!(
        e.contains("threshold") && e.contains("150") && e.contains("between 0 and 100"),
        "{e}"
    );
    let e = refusal(|w| {
        let t = metrics::target_group(&w.tg);
        let d = metrics::database(&w.db);
        w.stack
            .add(Alarm::new("mixed", Signal::percent(t.target_5xx(), d.connections())).above(1.0));
    });
    assert!(
        e.contains("AWS/ApplicationELB / AWS/RDS") && e.contains("one namespace"),
        "{e}"
    );
    let e = refusal(|w| {
        let t = metrics::target_group(&w.tg);
        w.stack
            .add(Alarm::new("p", Signal::percent(t.response_time_p99(), t.requests())).above(1.0));
    });
    assert!(e.contains("p99") && e.contains("not percentiles"), "{e}");
}

#[test]
fn unencrypted_and_aws_managed_key_topics_are_refused_with_the_reason() {
    let e = refusal(|w| {
        w.stack
            .add(Topic::new("alerts").encryption(Encryption::None));
    });
    assert!(
        e.contains("topic.alerts.encryption") && e.contains("\"none\""),
        "{e}"
    );
    assert!(e.contains("cloudwatch.amazonaws.com kms:Decrypt"), "{e}");
    for key in [
        "alias/aws/sns",
        "arn:aws:kms:us-east-1:111122223333:alias/aws/sns",
        "ALIAS/AWS/SNS",
    ] {
        let e = refusal(|w| {
            w.stack
                .add(Topic::new("alerts").encryption(Encryption::Key(key.into())));
        });
        assert!(
            e.contains(key) && e.contains("dropped without an error"),
            "{e}"
        );
    }
}

#[test]
fn bad_topics_are_refused() {
    let cases: Vec<(Topic, &str, &str)> = vec![
        (
            Topic::new("alerts").subscribe(Subscription::Email("oncall".into())),
            "subscriptions",
            "an email address",
        ),
        (
            Topic::new("alerts")
                .subscribe(Subscription::Https("http://hooks.example.com/x".into())),
            "subscriptions",
            "https://",
        ),
        (
            Topic::new("alerts")
                .subscribe(Subscription::Email("a@example.com".into()))
                .subscribe(Subscription::Email("A@example.com".into())),
            "subscriptions",
            "listed twice",
        ),
        (
            Topic::new("alerts").display_name(""),
            "display_name",
            "1 to 100",
        ),
        (Topic::new("Alerts!"), "logical_id", "Alerts!"),
        (
            Topic::new("alerts").encryption(Encryption::Key(" ".into())),
            "encryption",
            "a key ARN",
        ),
    ];
    for (topic, field, text) in cases {
        let e = refusal(|w| {
            w.stack.add(topic);
        });
        assert!(e.contains(field) && e.contains(text), "{field}: {e}");
    }
}

#[test]
fn an_alarm_on_a_resource_of_another_stack_is_refused() {
    let other = world(Stage::Staging);
    let mut w = world(Stage::Prod);
    w.stack
        .add(Alarm::new("foreign-cpu", metrics::service(&other.svc).cpu()).above(80.0));
    let e = w
        .stack
        .plan_offline()
        .expect_err("a handle of another stack");
    assert!(e.to_string().contains("another stack"), "{e}");
}
