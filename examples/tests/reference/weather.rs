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

/// Destroy, allowing what the first destroy names as protected; the texts of both runs.
fn destroy(d: &Deploy) -> Vec<String> {
    let first = d.run(&["destroy"]);
    if first.code == Some(0) {
        return vec![first.text];
    }
    let mut args = vec!["destroy".to_string()];
    for id in first.refused() {
        args.extend(["--allow-destroy".to_string(), id]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    vec![first.text, d.ok(&args).text]
}

#[test]
fn ten_percent_faults_on_every_service_still_converge() {
    require_endpoint();
    let (d, t) = alva("wx");
    runtime().block_on(t.set_fault_rates(&[("*", 0.1)]));
    let apply = d.ok(&["apply"]);
    let again = d.raw(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, Some(0), "{}", again.text);
    let destroyed = destroy(&d);
    let injected = runtime().block_on(t.injected_faults());
    runtime().block_on(t.set_fault_rates(&[]));
    assert!(injected >= 20, "only {injected} faults injected");
    // Every injected fault was ridden out by one retry, and skyforge reported each.
    let reported: u64 = [&apply.text, &again.text]
        .into_iter()
        .chain(destroyed.iter())
        .map(|t| retries(t))
        .sum();
    assert_eq!(reported, injected, "retries reported vs faults injected");
    println!(
        "alva staging at 10 % faults on every service: converged, {injected} faults answered, {reported} retries reported"
    );
    d.nothing_left();
    std::fs::remove_dir_all(d.state().parent().unwrap()).ok();
}

/// The retries a run reported (`… AWS requests, N of them retries (…)`).
fn retries(text: &str) -> u64 {
    let line = text
        .lines()
        .find(|l| l.contains(" AWS requests"))
        .unwrap_or_else(|| panic!("no request tally:\n{text}"));
    line.split(", ")
        .nth(1)
        .and_then(|p| p.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn an_outage_of_one_service_fails_cleanly_and_the_apply_resumes_once_it_ends() {
    require_endpoint();
    let (d, t) = alva("out");
    // RDS answers every call of this stack with 503 from the moment the apply made its first
    // change (the plan's observations are done; the network, secrets and roles are under way)
    // until the test ends the outage.
    // Its output goes to a file: a pipe nobody reads would stop it once full.
    let log = d.state().with_extension("outage.log");
    let file = std::fs::File::create(&log).unwrap();
    let mut child = d
        .command(&["apply", "--auto-approve", "--require-approval", "never"])
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("start alva");
    let started = std::time::Instant::now();
    while !runtime()
        .block_on(t.calls())
        .keys()
        .any(|(s, o)| s == "ec2" && o == "CreateVpc")
    {
        assert!(
            started.elapsed().as_secs() < 120 && child.try_wait().unwrap().is_none(),
            "the apply ended or never created its VPC:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    runtime().block_on(t.set_fault_rates(&[("rds", 1.0)]));
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let injected = runtime().block_on(t.injected_faults());
    runtime().block_on(t.set_fault_rates(&[]));
    assert_eq!(status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    // The error names the service and the operation of each call that gave up (throttling or
    // 5xx to the end: the harness's outage answers with either).
    let failed: Vec<&str> = text.lines().filter(|l| l.contains(": rds:")).collect();
    assert!(
        !failed.is_empty()
            && failed
                .iter()
                .all(|l| l.contains(" failed: ") && l.contains("injected")),
        "{text}"
    );
    // The journal is consistent: every call has its outcome, the failed ones recorded as such.
    let state = d.state().join(format!("{}.state.json", d.prefix()));
    let doc = skyforge::state::StateDocument::from_bytes(&std::fs::read(&state).unwrap(), "state")
        .unwrap();
    assert!(doc.unfinished().is_empty(), "{:?}", doc.unfinished());
    let failures: Vec<String> = doc
        .journal
        .iter()
        .filter(|e| e.status == skyforge::state::JournalStatus::Failed)
        .map(|e| format!("{} {}", e.operation, e.resource))
        .collect();
    assert!(!failures.is_empty(), "no failed call in the journal");
    // The outage is over: the same apply completes the stack.
    let resumed = d.ok(&["apply"]);
    let (first, second) = (adds(&text), adds(&resumed.text));
    assert!(second > 0 && second < first, "{first} then {second} to add");
    println!(
        "outage: {injected} RDS calls refused, {} calls failed ({failures:?}); resumed with {second} of {first} to add",
        failed.len()
    );
    let again = d.raw(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, Some(0), "{}", again.text);
    destroy(&d);
    d.nothing_left();
    std::fs::remove_dir_all(d.state().parent().unwrap()).ok();
}

/// How many resources a plan adds (`Plan: N to add, …`).
fn adds(text: &str) -> u32 {
    let line = text.lines().find(|l| l.starts_with("Plan:")).unwrap_or("");
    let n = line
        .trim_start_matches("Plan: ")
        .split(' ')
        .next()
        .unwrap_or("0");
    n.parse().unwrap_or(0)
}
