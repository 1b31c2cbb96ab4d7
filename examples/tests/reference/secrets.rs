//! Secrets never leak: every reference deploy with a secret source of its own (`alva` staging:
//! four keys from the environment, and the database password, cache AUTH token, JWT and cookie
//! secrets it generates; `delivery-app` test: two PEM keys stored as SSM SecureStrings, a
//! generated password; `spendsense` staging: the OAuth client id and secret, a generated session
//! secret and password) run through plan (text, JSON, a saved plan), an apply failed by an
//! injected error on its first secret, an apply with `RUST_LOG=trace`, `outputs`, a refused and an
//! allowed destroy. No canary value given in the environment, and no value the deploy generated
//! (read back from Secrets Manager and SSM after the apply), may appear in anything it printed or
//! wrote: stdout, stderr at TRACE, error messages, the saved plan, the outputs file or the state.
//! (The values read back include the environment's, so the canaries are shown to have reached
//! AWS.) `fastify-monorepo` and `dougust` have generated secrets only, the kind covered here.

use crate::common::{Deploy, require_endpoint, runtime};
use skyforge_integration_tests::TestStack;

/// A canary: the variable, the value given, and the marker no other text holds.
type Canary = (&'static str, String, String);

fn mark(name: &str, tag: &str) -> String {
    format!("CANARY{name}{tag}")
}

fn pem(kind: &str, mark: &str) -> String {
    format!("-----BEGIN {kind}-----\nMC4{mark}\n-----END {kind}-----")
}

/// A reference deploy with secret sources of its own, and the call its first secret is made by.
struct System {
    bin: &'static str,
    short: &'static str,
    stage: &'static str,
    canaries: fn(&str) -> Vec<Canary>,
    first_secret: (&'static str, &'static str),
}

fn alva(tag: &str) -> Vec<Canary> {
    let m = |n: &str| mark(n, tag);
    vec![
        (
            "ALVA_JWT_PRIVATE_KEY",
            pem("PRIVATE KEY", &m("jwtpriv")),
            m("jwtpriv"),
        ),
        (
            "ALVA_JWT_PUBLIC_KEY",
            pem("PUBLIC KEY", &m("jwtpub")),
            m("jwtpub"),
        ),
        (
            "ALVA_OPENAI_API_KEY",
            format!("sk-{}", m("openai")),
            m("openai"),
        ),
        (
            "ALVA_RESEND_API_KEY",
            format!("re_{}", m("resend")),
            m("resend"),
        ),
    ]
}

fn delivery(tag: &str) -> Vec<Canary> {
    let m = |n: &str| mark(n, tag);
    vec![
        (
            "DELIVERY_JWT_PRIVATE_KEY",
            pem("PRIVATE KEY", &m("dpriv")),
            m("dpriv"),
        ),
        (
            "DELIVERY_JWT_PUBLIC_KEY",
            pem("PUBLIC KEY", &m("dpub")),
            m("dpub"),
        ),
    ]
}

fn spendsense(tag: &str) -> Vec<Canary> {
    let m = |n: &str| mark(n, tag);
    vec![
        ("SPENDSENSE_OAUTH_CLIENT_ID", m("client"), m("client")),
        (
            "SPENDSENSE_OAUTH_CLIENT_SECRET",
            format!("gs-{}", m("oauth")),
            m("oauth"),
        ),
    ]
}

/// Every value the deploy stored: each secret's string value (each string of a JSON secret's
/// credential keys), and each SecureString parameter under the project.
async fn stored(t: &TestStack, prefix: &str, project: &str) -> Vec<String> {
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
                for key in [
                    "password",
                    "token",
                    "auth_token",
                    "url",
                    "client_id",
                    "client_secret",
                ] {
                    if let Some(s) = m.get(key).and_then(|v| v.as_str()) {
                        out.push(s.to_string());
                    }
                }
            }
            _ => out.push(text),
        }
    }
    let ssm = t.ctx.client(aws_sdk_ssm::Client::new);
    let params = ssm
        .get_parameters_by_path()
        .path(format!("/{project}"))
        .recursive(true)
        .with_decryption(true)
        .send()
        .await
        .unwrap();
    for p in params.parameters() {
        if p.r#type() == Some(&aws_sdk_ssm::types::ParameterType::SecureString) {
            out.push(p.value().unwrap_or_default().to_string());
        }
    }
    out.retain(|v| v.len() >= 12);
    out
}

/// Run `sys` through every command with its canaries; what it printed and wrote must hold no
/// canary and no stored value.
fn no_secret_leaks(sys: System) {
    require_endpoint();
    let tag = format!("{}", std::process::id());
    let marks = (sys.canaries)(&tag);
    let d = Deploy::new(sys.bin, sys.short, sys.stage);
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
    // An apply that fails on its first secret: its error message.
    let t = runtime().block_on(TestStack::with_env(d.env()));
    let (service, operation) = sys.first_secret;
    runtime().block_on(t.inject_fault(service, operation, "AccessDeniedException", 400, 1));
    let failed = d.run(&["apply"]);
    assert_eq!(failed.code, Some(1), "{}", failed.text);
    assert!(failed.text.contains(operation), "{}", failed.text);
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
    let values = runtime().block_on(stored(&t, &d.prefix(), &project));
    for (var, value, _) in &marks {
        assert!(values.contains(value), "{var}'s value did not reach AWS");
    }
    assert!(
        values.len() > marks.len(),
        "no generated value found: {}",
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
            "stored value {i} was printed or written"
        );
    }
    println!(
        "{}: {} canaries and {} stored values absent from {} KB of output, errors, plans and state",
        d.prefix(),
        marks.len(),
        values.len(),
        all.len() / 1024
    );
    d.nothing_left();
    std::fs::remove_dir_all(d.state().parent().unwrap()).ok();
}

#[test]
fn alva_leaks_no_secret() {
    no_secret_leaks(System {
        bin: env!("CARGO_BIN_EXE_alva"),
        short: "can",
        stage: "staging",
        canaries: alva,
        first_secret: ("secretsmanager", "CreateSecret"),
    });
}

#[test]
fn delivery_app_leaks_no_secret() {
    no_secret_leaks(System {
        bin: env!("CARGO_BIN_EXE_delivery-app"),
        short: "cand",
        stage: "test",
        canaries: delivery,
        first_secret: ("ssm", "PutParameter"),
    });
}

#[test]
fn spendsense_leaks_no_secret() {
    no_secret_leaks(System {
        bin: env!("CARGO_BIN_EXE_spendsense"),
        short: "cans",
        stage: "staging",
        canaries: spendsense,
        first_secret: ("secretsmanager", "CreateSecret"),
    });
}
