use skyforge_state::{
    Error, FileLock, JournalEntry, JournalStatus, LocalStore, Locker, SCHEMA_VERSION,
    StateDocument, StateStore,
};
use std::sync::Arc;
use std::time::Duration;

fn sample() -> StateDocument {
    let mut d = StateDocument::new("alva-staging");
    d.serial = 7;
    d.resources.insert(
        "vpc.main".into(),
        skyforge_state::ResourceRecord {
            physical_id: Some("vpc-0abc".into()),
            outputs: [("vpc_id".to_string(), serde_json::json!("vpc-0abc"))].into(),
            spec_digest: "d1".into(),
        },
    );
    d.journal.push(JournalEntry {
        run_id: "r1".into(),
        seq: 0,
        resource: "nat_gateway.main-nat-1".into(),
        operation: "CreateNatGateway".into(),
        status: JournalStatus::Intent,
        at_ms: 1,
    });
    d
}

#[test]
fn round_trip_and_unfinished_calls() {
    let d = sample();
    let back = StateDocument::from_bytes(&d.to_bytes(), "mem").unwrap();
    assert_eq!(back, d);
    assert_eq!(back.unfinished().len(), 1);
    let mut done = d.clone();
    done.journal.push(JournalEntry {
        status: JournalStatus::Done,
        ..d.journal[0].clone()
    });
    assert!(done.unfinished().is_empty());
}

#[test]
fn a_hand_edit_or_torn_write_is_detected() {
    let bytes = sample().to_bytes();
    let edited = String::from_utf8(bytes.clone())
        .unwrap()
        .replace("vpc-0abc", "vpc-0abd");
    let e = StateDocument::from_bytes(edited.as_bytes(), "state.json").unwrap_err();
    assert!(matches!(e, Error::Corrupt { .. }), "{e}");
    assert!(e.to_string().contains("digest does not match"), "{e}");
    let torn = &bytes[..bytes.len() / 2];
    let e = StateDocument::from_bytes(torn, "state.json").unwrap_err();
    assert!(e.to_string().contains("not JSON"), "{e}");
}

/// The digest of `text`, as the stored form spells it.
fn sha256(text: &str) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(text.as_bytes());
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// `v` as JSON text with every object's keys in reverse order.
fn reversed_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            keys.reverse();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", serde_json::json!(k), reversed_text(&m[k])))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(a) => {
            let parts: Vec<String> = a.iter().map(reversed_text).collect();
            format!("[{}]", parts.join(","))
        }
        other => other.to_string(),
    }
}

#[test]
fn the_digest_does_not_depend_on_the_order_keys_are_written_in() {
    // A build whose serde_json keeps insertion order (`preserve_order`, turned on by another
    // crate of a deploy tool) once wrote the document in field order and hashed that text.
    let d = sample();
    let field_order = serde_json::to_string(&d).unwrap();
    assert!(field_order.starts_with(r#"{"stack""#), "{field_order}");
    let old = format!(
        r#"{{"schema_version": {SCHEMA_VERSION}, "digest": "{}", "document": {field_order}}}"#,
        sha256(&field_order)
    );
    assert_eq!(StateDocument::from_bytes(old.as_bytes(), "old").unwrap(), d);
    // Written now, the digest holds whatever order a reader's serde_json keeps keys in.
    let now: serde_json::Value = serde_json::from_slice(&d.to_bytes()).unwrap();
    let reversed = reversed_text(&now);
    assert_ne!(reversed, now.to_string());
    assert_eq!(
        StateDocument::from_bytes(reversed.as_bytes(), "now").unwrap(),
        d
    );
}

#[test]
fn version_one_documents_are_migrated_and_newer_ones_refused() {
    let v1 = serde_json::json!({
        "version": 1,
        "stack": "delivery-test",
        "serial": 3,
        "resources": [{"id": "subnet.main-public-1", "physical_id": "subnet-1", "outputs": {"subnet_id": "subnet-1"}, "spec_hash": "h"}],
        "outputs": {"main.vpc_id": "vpc-1"}
    });
    let d = StateDocument::from_bytes(v1.to_string().as_bytes(), "old.json").unwrap();
    assert_eq!(d.stack, "delivery-test");
    assert_eq!(
        d.resources["subnet.main-public-1"].outputs["subnet_id"],
        "subnet-1"
    );
    assert_eq!(d.resources["subnet.main-public-1"].spec_digest, "h");
    assert_eq!(
        d.resources["subnet.main-public-1"].physical_id.as_deref(),
        Some("subnet-1")
    );
    // Written back in the current schema.
    let v: serde_json::Value = serde_json::from_slice(&d.to_bytes()).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    let newer = serde_json::json!({"schema_version": SCHEMA_VERSION + 1, "document": {}});
    let e = StateDocument::from_bytes(newer.to_string().as_bytes(), "new.json").unwrap_err();
    assert!(matches!(e, Error::NewerSchema { .. }), "{e}");
}

#[tokio::test]
async fn local_store_and_file_lock() {
    let dir = std::env::temp_dir().join(format!("skyforge-state-{}", std::process::id()));
    let store = LocalStore::new(dir.join("alva-staging.state.json"));
    assert!(store.load().await.unwrap().is_none());
    store.save(&sample()).await.unwrap();
    assert_eq!(store.load().await.unwrap().unwrap(), sample());

    let a = Locker::new(
        Arc::new(FileLock::new(dir.join("alva-staging.lock"))),
        Duration::from_secs(30),
    )
    .with_holder("alice@host");
    let b = Locker::new(
        Arc::new(FileLock::new(dir.join("alva-staging.lock"))),
        Duration::from_secs(30),
    )
    .with_holder("bob@host");
    let held = a.acquire("alva-staging", "apply").await.unwrap();
    let e = b.acquire("alva-staging", "apply").await.unwrap_err();
    assert!(e.to_string().contains("alice@host"), "{e}");
    held.release().await.unwrap();
    let held = b.acquire("alva-staging", "apply").await.unwrap();
    held.release().await.unwrap();
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_recorded_resource_the_plan_does_not_list_or_creates_again_is_a_warning() {
    use skyforge_core::{Action, Plan, PlanMode, ResourceId, ResourcePlan};
    let doc = sample();
    let listed = |id: &str| ResourcePlan {
        id: ResourceId::new(id.split('.').next().unwrap(), id.split('.').nth(1).unwrap()),
        physical_id: None,
        service: "ec2".into(),
        depends_on: vec![],
        orphan: false,
        protected: false,
        not_ready: None,
        pending: vec![],
        action: Action::NoOp,
    };
    // The VPC is in the plan (declared or listed as an orphan): nothing to say about it.
    let mut plan = Plan::new(
        "alva-staging",
        PlanMode::Apply,
        "d",
        vec![listed("vpc.main")],
        vec![],
    );
    skyforge_state::annotate(&mut plan, &doc);
    assert_eq!(
        plan.warnings.len(),
        1,
        "only the unfinished call: {:?}",
        plan.warnings
    );
    // Neither declared nor found by any listing: reported, not silently forgotten.
    let mut plan = Plan::new("alva-staging", PlanMode::Apply, "d", vec![], vec![]);
    skyforge_state::annotate(&mut plan, &doc);
    let w: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        w.iter()
            .any(|m| m.starts_with("the state records vpc.main (vpc-0abc) from an earlier apply")),
        "{w:?}"
    );
    // Declared, recorded, but not found: created again, and the plan says why that may be.
    let mut created = listed("vpc.main");
    created.action = Action::Create {
        fields: Default::default(),
    };
    let mut plan = Plan::new("alva-staging", PlanMode::Apply, "d", vec![created], vec![]);
    skyforge_state::annotate(&mut plan, &doc);
    let w: Vec<&str> = plan.warnings.iter().map(|w| w.message.as_str()).collect();
    assert!(
        w.iter().any(|m| m.contains("vpc.main (vpc-0abc)")
            && m.contains("observation did not find it")),
        "{w:?}"
    );
}
