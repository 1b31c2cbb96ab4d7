//! The README's first command, as a test: the demo binary against the emulator applies the
//! demo stack, plans again with no changes, writes its outputs and destroys everything, which
//! the test checks by listing everything carrying the stack's tags (the integration suite's
//! inventory). Needs `AWS_ENDPOINT_URL` (run through `bash scripts/test.sh`); fails loudly
//! without it.

use std::process::Command;

#[test]
fn demo_deploy_applies_converges_outputs_and_destroys() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        !endpoint.is_empty(),
        "AWS_ENDPOINT_URL is not set: run through `bash scripts/test.sh`"
    );
    let dir = std::env::temp_dir().join(format!("skyforge-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let outputs = dir.join("outputs.json");
    // A project of its own, so a demo run by hand at the same time does not interfere.
    let project = format!("demot{}", std::process::id() % 100_000);
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["demo", "--project", &project, "--outputs"])
        .arg(&outputs)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .output()
        .expect("run the demo binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Second plan: no changes."), "{stdout}");
    assert!(stdout.contains("Destroy complete: 32 deleted."), "{stdout}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&outputs).unwrap()).unwrap();
    for (key, prefix) in [
        ("main.vpc_id", "vpc-"),
        ("main.subnet.public.1", "subnet-"),
        ("main.subnet.data.2", "subnet-"),
        ("app.security_group_id", "sg-"),
    ] {
        let v = written[key].as_str().unwrap_or_default();
        assert!(v.starts_with(prefix), "output {key} = {v:?}");
    }
    // Every mutating run went through the local state: recorded, journal clean, lock released.
    let state = dir
        .join("state")
        .join(format!("{project}-staging.state.json"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(doc["document"]["serial"].as_u64().unwrap() > 60, "{doc}");
    assert_eq!(doc["document"]["journal"], serde_json::json!([]));
    assert_eq!(
        doc["document"]["resources"],
        serde_json::json!({}),
        "destroyed"
    );
    // Nothing carrying the stack's tags is left in the account.
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let env = skyforge::core::Environment::new(project.clone(), skyforge::core::Stage::Staging)
        .region(region);
    let left = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let t = skyforge_integration_tests::TestStack::with_env(env).await;
            skyforge_integration_tests::inventory(&t).await
        });
    assert_eq!(left, Vec::<String>::new(), "left behind by the demo");
    std::fs::remove_dir_all(&dir).ok();
}
