//! Weather with a reference binary (`alva` staging, whose names all carry the project, so it
//! runs beside the other reference tests): 10 % of its calls to every service
//! answered with throttling or 5xx still converge; RDS unavailable mid-apply for longer than
//! the SDK retries ends in a clean error naming the resource, the operation and the error, and
//! the same apply run again once the outage is over completes the stack (one copy of each).

use crate::common::{Deploy, require_endpoint, runtime};
use skyforge_integration_tests::TestStack;

/// The four keys `alva` takes from the environment (test values).
const KEYS: [(&str, &str); 4] = [
    (
        "ALVA_JWT_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----",
    ),
    (
        "ALVA_JWT_PUBLIC_KEY",
        "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----",
    ),
    ("ALVA_OPENAI_API_KEY", "sk-test-weather"),
    ("ALVA_RESEND_API_KEY", "re_test_weather"),
];

fn alva(short: &str) -> (Deploy, TestStack) {
    let d = Deploy::new(env!("CARGO_BIN_EXE_alva"), short, "staging");
    let project = d.project.clone();
    let d = KEYS
        .iter()
        .fold(d, |d, (k, v)| d.var(k, v))
        .var("AWS_SDK_UA_APP_ID", &project);
    let t = runtime().block_on(TestStack::with_env(d.env()));
    (d, t)
}

/// Destroy, allowing what the first destroy names as protected.
fn destroy(d: &Deploy) {
    let first = d.run(&["destroy"]);
    if first.code == Some(0) {
        return;
    }
    let mut args = vec!["destroy".to_string()];
    for id in first.refused() {
        args.extend(["--allow-destroy".to_string(), id]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    d.ok(&args);
}

#[test]
fn ten_percent_faults_on_every_service_still_converge() {
    require_endpoint();
    let (d, t) = alva("wx");
    runtime().block_on(t.set_fault_rates(&[("*", 0.1)]));
    d.ok(&["apply"]);
    let again = d.raw(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, Some(0), "{}", again.text);
    destroy(&d);
    let injected = runtime().block_on(t.injected_faults());
    runtime().block_on(t.set_fault_rates(&[]));
    assert!(injected >= 20, "only {injected} faults injected");
    println!("alva staging at 10 % faults on every service: converged, {injected} faults answered");
    d.nothing_left();
}

#[test]
fn an_outage_of_one_service_fails_cleanly_and_the_apply_resumes_once_it_ends() {
    require_endpoint();
    let (d, t) = alva("out");
    // RDS unavailable for as long as the SDK retries one call (12 attempts), mid-apply: the
    // network, secrets and roles are created meanwhile.
    let attempts = skyforge::core::context::MAX_ATTEMPTS;
    runtime().block_on(t.inject_fault(
        "rds",
        "CreateDBInstance",
        "ServiceUnavailable",
        503,
        attempts,
    ));
    let failed = d.run(&["apply"]);
    assert_eq!(failed.code, Some(1), "{}", failed.text);
    assert!(failed.text.contains("db_instance.db"), "{}", failed.text);
    assert!(
        failed.text.contains("CreateDBInstance") && failed.text.contains("ServiceUnavailable"),
        "names the operation and the error: {}",
        failed.text
    );
    assert!(!failed.text.contains("panicked"), "{}", failed.text);
    // The outage is over: the same apply completes the stack.
    let resumed = d.ok(&["apply"]);
    let adds = |text: &str| -> u32 {
        let line = text.lines().find(|l| l.starts_with("Plan:")).unwrap_or("");
        let n = line
            .trim_start_matches("Plan: ")
            .split(' ')
            .next()
            .unwrap_or("0");
        n.parse().unwrap_or(0)
    };
    let (first, second) = (adds(&failed.text), adds(&resumed.text));
    assert!(second > 0 && second < first, "{first} then {second} to add");
    println!("outage: {first} to add, failed on CreateDBInstance; resumed with {second} to add");
    let again = d.raw(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, Some(0), "{}", again.text);
    destroy(&d);
    d.nothing_left();
}
