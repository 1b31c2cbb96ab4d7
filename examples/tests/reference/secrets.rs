//! Secrets never leak: a reference deploy (`alva` staging: four keys from the environment, and
//! the database password, cache AUTH token, JWT and cookie secrets it generates) run through
//! plan (text, JSON, a saved plan), an apply failed by an injected error, an apply with
//! `RUST_LOG=trace`, `outputs`, a refused and an allowed destroy. No canary value given in the
//! environment, and no value the deploy generated (read back from Secrets Manager after the
//! apply), may appear in anything it printed or wrote: stdout, stderr at TRACE, error messages,
//! the saved plan, the outputs file or the state. (The values read back include the
//! environment's, so the canaries are shown to have reached AWS.)

use crate::common::{Deploy, require_endpoint, runtime};
use skyforge_integration_tests::TestStack;

/// The environment's secrets, each with a marker no other text holds.
fn canaries(tag: &str) -> Vec<(&'static str, String, String)> {
    let pem =
        |kind: &str, mark: &str| format!("-----BEGIN {kind}-----\nMC4{mark}\n-----END {kind}-----");
    let mark = |name: &str| format!("CANARY{name}{tag}");
    vec![
        (
            "ALVA_JWT_PRIVATE_KEY",
            pem("PRIVATE KEY", &mark("jwtpriv")),
            mark("jwtpriv"),
        ),
        (
            "ALVA_JWT_PUBLIC_KEY",
            pem("PUBLIC KEY", &mark("jwtpub")),
            mark("jwtpub"),
        ),
        (
            "ALVA_OPENAI_API_KEY",
            format!("sk-{}", mark("openai")),
            mark("openai"),
        ),
        (
            "ALVA_RESEND_API_KEY",
            format!("re_{}", mark("resend")),
            mark("resend"),
        ),
    ]
}

/// Every value the deploy generated: each secret's string value, and each string of a JSON
/// secret's keys that hold credentials.
async fn generated(t: &TestStack, prefix: &str) -> Vec<String> {
    let sm = t.ctx.client(aws_sdk_secretsmanager::Client::new);
    let list = sm.list_secrets().send().await.unwrap();
    let mut out = Vec::new();
    for s in list.secret_list() {
        let name = s.name().unwrap_or_default();
        let ours = s
            .tags()
            .iter()
            .any(|t| t.key() == Some("skyforge:stack") && t.value() == Some(prefix));
        if !ours {
            continue;
        }
        let v = sm.get_secret_value().secret_id(name).send().await.unwrap();
        let text = v.secret_string().unwrap_or_default().to_string();
        match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(serde_json::Value::Object(m)) => {
                for key in ["password", "token", "auth_token", "url"] {
                    if let Some(s) = m.get(key).and_then(|v| v.as_str()) {
                        out.push(s.to_string());
                    }
                }
            }
            _ => out.push(text),
        }
    }
    out.retain(|v| v.len() >= 12);
    out
}

#[test]
fn no_secret_value_appears_in_plans_logs_errors_outputs_or_state() {
    require_endpoint();
    let tag = format!("{}", std::process::id());
    let marks = canaries(&tag);
    let d = Deploy::new(env!("CARGO_BIN_EXE_alva"), "can", "staging");
    let project = d.project.clone();
    let d = marks
        .iter()
        .fold(d, |d, (k, v, _)| d.var(k, v))
        .var("AWS_SDK_UA_APP_ID", &project)
        .var("RUST_LOG", "trace");
    let mut seen = Vec::new();
    std::fs::create_dir_all(d.state()).unwrap();
    let saved = d.state().join("plan.json");
    for args in [
        vec!["plan"],
        vec!["plan", "--json"],
        vec!["plan", "--out", saved.to_str().unwrap()],
    ] {
        seen.push(d.raw(&args, &[]).text);
    }
    seen.push(std::fs::read_to_string(&saved).unwrap());
    // An apply that fails on a secret's creation: its error message.
    let t = runtime().block_on(TestStack::with_env(d.env()));
    runtime().block_on(t.inject_fault(
        "secretsmanager",
        "CreateSecret",
        "AccessDeniedException",
        400,
        1,
    ));
    let failed = d.run(&["apply"]);
    assert_eq!(failed.code, Some(1), "{}", failed.text);
    assert!(failed.text.contains("CreateSecret"), "{}", failed.text);
    seen.push(failed.text);
    let out = d.outputs_file();
    let applied = d.ok(&["apply", "--outputs", out.to_str().unwrap()]);
    assert!(
        applied.text.contains("TRACE"),
        "RUST_LOG=trace reached the binary"
    );
    seen.push(applied.text);
    seen.push(d.ok(&["outputs", "--json"]).text);
    seen.push(std::fs::read_to_string(&out).unwrap());
    for entry in std::fs::read_dir(d.state()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            seen.push(std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
    let values = runtime().block_on(generated(&t, &d.prefix()));
    assert!(
        values.len() >= 4,
        "generated values found: {}",
        values.len()
    );
    let refused = d.run(&["destroy"]);
    assert_eq!(refused.code, Some(1), "{}", refused.text);
    let mut args = vec!["destroy".to_string()];
    for id in refused.refused() {
        args.extend(["--allow-destroy".to_string(), id]);
    }
    seen.push(refused.text);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    seen.push(d.ok(&args).text);
    let all = seen.join("\n");
    for (var, _, mark) in &marks {
        assert!(
            !all.contains(mark.as_str()),
            "{var}'s value was printed or written"
        );
    }
    for (i, v) in values.iter().enumerate() {
        assert!(
            !all.contains(v.as_str()),
            "generated value {i} was printed or written"
        );
    }
    println!(
        "{} canaries and {} generated values absent from {} KB of output, errors, plans and state",
        marks.len(),
        values.len(),
        all.len() / 1024
    );
    d.nothing_left();
}
