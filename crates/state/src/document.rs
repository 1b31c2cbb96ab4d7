//! The state document: per-resource records, stack outputs and the journal, with a schema
//! version and an integrity digest.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The schema version this skyforge writes.
pub const SCHEMA_VERSION: u32 = 2;

/// What the state knows of one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Its physical id (`vpc-0abc`, an ARN, a name).
    #[serde(default)]
    pub physical_id: Option<String>,
    /// Its outputs (ids, ARNs); never secrets.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Digest of the spec last applied.
    pub spec_digest: String,
}

/// Where a journaled call stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalStatus {
    /// About to be made: if nothing follows, the run stopped during the call and the resource
    /// may half-exist.
    Intent,
    /// Made.
    Done,
    /// Made and failed.
    Failed,
}

/// One journal entry: written before a mutating AWS call, and again after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// The run.
    pub run_id: String,
    /// Order within the run.
    pub seq: u64,
    /// `kind.logical_id`.
    pub resource: String,
    /// The AWS operation (`CreateNatGateway`).
    pub operation: String,
    /// Where it stands.
    pub status: JournalStatus,
    /// Unix time in milliseconds.
    pub at_ms: u64,
}

/// The state of one stack.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDocument {
    /// The stack.
    pub stack: String,
    /// Incremented by every save.
    pub serial: u64,
    /// Per resource, by `kind.logical_id`.
    pub resources: BTreeMap<String, ResourceRecord>,
    /// Stack outputs.
    pub outputs: BTreeMap<String, serde_json::Value>,
    /// Calls of runs that did not finish cleanly (a clean run clears its own entries).
    pub journal: Vec<JournalEntry>,
}

impl StateDocument {
    /// An empty document for `stack`.
    pub fn new(stack: impl Into<String>) -> Self {
        StateDocument {
            stack: stack.into(),
            ..StateDocument::default()
        }
    }

    /// Calls that were started and never completed: the resources that may half-exist.
    pub fn unfinished(&self) -> Vec<&JournalEntry> {
        self.journal
            .iter()
            .filter(|e| e.status == JournalStatus::Intent)
            .filter(|e| {
                !self.journal.iter().any(|d| {
                    d.run_id == e.run_id && d.seq == e.seq && d.status != JournalStatus::Intent
                })
            })
            .collect()
    }

    /// The stored form: `{"schema_version", "digest", "document"}`, the digest over the
    /// document's canonical JSON.
    pub fn to_bytes(&self) -> Vec<u8> {
        let doc = serde_json::to_value(self).unwrap_or_default();
        let envelope = serde_json::json!({
            "schema_version": SCHEMA_VERSION,
            "digest": digest(&doc),
            "document": doc,
        });
        serde_json::to_vec_pretty(&envelope).unwrap_or_default()
    }

    /// Read the stored form: verify the digest, migrate older schemas. `location` names the
    /// source in errors.
    pub fn from_bytes(bytes: &[u8], location: &str) -> Result<StateDocument> {
        let corrupt = |detail: String| Error::Corrupt {
            location: location.to_string(),
            detail,
            previous: None,
        };
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| corrupt(format!("not JSON: {e}")))?;
        let version = v
            .get("schema_version")
            .or_else(|| v.get("version"))
            .and_then(|x| x.as_u64())
            .ok_or_else(|| corrupt("no schema version".into()))? as u32;
        if version > SCHEMA_VERSION {
            return Err(Error::NewerSchema {
                location: location.to_string(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        let doc = match version {
            1 => migrate_v1(&v).ok_or_else(|| corrupt("unreadable version 1 document".into()))?,
            _ => {
                let doc = v
                    .get("document")
                    .ok_or_else(|| corrupt("no document".into()))?;
                let stored = v.get("digest").and_then(|d| d.as_str()).unwrap_or_default();
                if !digest_matches(stored, doc) {
                    return Err(corrupt(
                        "the digest does not match the content (a torn write or a hand edit)"
                            .into(),
                    ));
                }
                serde_json::from_value(doc.clone())
                    .map_err(|e| corrupt(format!("unexpected content: {e}")))?
            }
        };
        Ok(doc)
    }
}

/// The digest of the document's canonical text: every object's keys sorted, whatever
/// serde_json's features (its `preserve_order`, which another crate of a deploy tool may turn
/// on, keeps insertion order instead).
fn digest(doc: &serde_json::Value) -> String {
    sha256_text(&sorted(doc).to_string())
}

fn sha256_text(text: &str) -> String {
    let d = Sha256::digest(text.as_bytes());
    format!(
        "sha256:{}",
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

fn sorted(v: &serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let out: serde_json::Map<String, serde_json::Value> = keys
                .into_iter()
                .map(|k| (k.clone(), sorted(&m[k])))
                .collect();
            serde_json::Value::Object(out)
        }
        serde_json::Value::Array(a) => serde_json::Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Whether `stored` is the digest of `doc`: its canonical text, or (a state written by a build
/// with serde_json's `preserve_order`, before digests were canonical) its text in the order
/// read, or in the document's field order.
fn digest_matches(stored: &str, doc: &serde_json::Value) -> bool {
    if stored == digest(doc) || stored == sha256_text(&doc.to_string()) {
        return true;
    }
    serde_json::from_value::<StateDocument>(doc.clone())
        .ok()
        .and_then(|d| serde_json::to_string(&d).ok())
        .is_some_and(|text| stored == sha256_text(&text))
}

/// Version 1 (skyforge 0.0.x): `{"version": 1, "stack", "serial", "resources": [{"id",
/// "outputs", "spec_hash"}], "outputs"}`, no digest, no journal.
fn migrate_v1(v: &serde_json::Value) -> Option<StateDocument> {
    let mut doc = StateDocument::new(v.get("stack")?.as_str()?);
    doc.serial = v.get("serial").and_then(|s| s.as_u64()).unwrap_or(0);
    for r in v.get("resources")?.as_array()? {
        doc.resources.insert(
            r.get("id")?.as_str()?.to_string(),
            ResourceRecord {
                physical_id: r
                    .get("physical_id")
                    .and_then(|p| p.as_str())
                    .map(str::to_string),
                outputs: serde_json::from_value(r.get("outputs")?.clone()).ok()?,
                spec_digest: r
                    .get("spec_hash")
                    .and_then(|h| h.as_str())
                    .unwrap_or_default()
                    .to_string(),
            },
        );
    }
    if let Some(o) = v.get("outputs") {
        doc.outputs = serde_json::from_value(o.clone()).ok()?;
    }
    Some(doc)
}
