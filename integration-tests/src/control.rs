//! A minimal HTTP/1.1 client for the emulator's control API (no extra dependency).

use std::collections::BTreeMap;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn request(endpoint: &str, method: &str, path: &str, body: Option<&str>) -> String {
    let host = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let mut stream = TcpStream::connect(&host)
        .await
        .unwrap_or_else(|e| panic!("emulator control API at {host} unreachable: {e}"));
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await.expect("write");
    let mut buf = Vec::new();
    stream.read_to_end(&mut buf).await.expect("read");
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "emulator control API {method} {path}: {head} (is this the skyforge harness? the control API is not part of stock LocalStack)"
    );
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // De-chunk.
        let mut out = String::new();
        let mut r = rest;
        while let Some((size, tail)) = r.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 {
                break;
            }
            out.push_str(&tail[..n]);
            r = &tail[n + 2..];
        }
        out
    } else {
        rest.to_string()
    }
}

pub(crate) async fn post(endpoint: &str, path: &str, body: &serde_json::Value) {
    request(endpoint, "POST", path, Some(&body.to_string())).await;
}

pub(crate) async fn calls(endpoint: &str, app: &str) -> BTreeMap<(String, String), u64> {
    let text = request(
        endpoint,
        "GET",
        &format!("/_localstack/skyforge/calls?app={app}"),
        None,
    )
    .await;
    let rows: Vec<serde_json::Value> = serde_json::from_str(&text).expect("calls JSON");
    rows.into_iter()
        .map(|r| {
            (
                (
                    r["service"].as_str().unwrap_or("").to_string(),
                    r["operation"].as_str().unwrap_or("").to_string(),
                ),
                r["count"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

/// How many rate-based faults the emulator answered `app` with.
pub(crate) async fn injected(endpoint: &str, app: &str) -> u64 {
    let text = request(endpoint, "GET", "/_localstack/skyforge/faults", None).await;
    let v: serde_json::Value = serde_json::from_str(&text).expect("faults JSON");
    v["injected"][app].as_u64().unwrap_or(0)
}
