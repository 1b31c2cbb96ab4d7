//! What a run asked of AWS: every HTTP request a context's clients sent, and how many of them
//! were retries (the SDK's retry policy answering throttling, 5xx and transient errors), by
//! service. [`crate::Context::load`] installs the counting HTTP client; the CLI prints the tally
//! after every command, so a CI log shows when a deploy fought throttling.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// Requests and retries so far, by service (the SigV4 signing name: `ec2`, `rds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Tally {
    /// Requests sent, first attempts and retries.
    pub requests: u64,
    /// Retries (attempts after the first) by service.
    pub retries: BTreeMap<String, u64>,
    /// Requests by `service:Operation` (`ec2:DescribeVpcs`; a REST call as `s3:GET`).
    pub calls: BTreeMap<String, u64>,
}

impl Tally {
    /// All retries.
    pub fn retried(&self) -> u64 {
        self.retries.values().sum()
    }
}

impl std::fmt::Display for Tally {
    /// `412 AWS requests, 37 of them retries (ec2 12, rds 25)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} AWS requests", self.requests)?;
        if self.retried() == 0 {
            return write!(f, ", no retries");
        }
        let by: Vec<String> = self
            .retries
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect();
        write!(
            f,
            ", {} of them retries ({})",
            self.retried(),
            by.join(", ")
        )
    }
}

/// The shared counter behind a context's clients.
#[derive(Debug, Default)]
pub(crate) struct Counter(Mutex<Tally>);

impl Counter {
    pub(crate) fn snapshot(&self) -> Tally {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn record(&self, request: &HttpRequest) {
        let headers = request.headers();
        let attempt = headers
            .get("amz-sdk-request")
            .and_then(attempt_of)
            .unwrap_or(1);
        let mut t = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let service = headers
            .get("authorization")
            .and_then(service_of)
            .unwrap_or("unknown")
            .to_string();
        t.requests += 1;
        let call = format!("{service}:{}", operation_of(request));
        *t.calls.entry(call).or_insert(0) += 1;
        if attempt > 1 {
            *t.retries.entry(service).or_insert(0) += 1;
        }
    }
}

/// `attempt=3; max=12` → 3.
fn attempt_of(header: &str) -> Option<u32> {
    header
        .split(';')
        .find_map(|p| p.trim().strip_prefix("attempt="))
        .and_then(|n| n.parse().ok())
}

/// The operation of a request: the JSON protocols name it in `X-Amz-Target`
/// (`AmazonSSM.GetParameters`), the query protocols in the body's `Action=`; a REST call is
/// known by its method.
fn operation_of(request: &HttpRequest) -> String {
    if let Some(target) = request.headers().get("x-amz-target") {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    let action = request
        .body()
        .bytes()
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|body| {
            body.split('&')
                .find_map(|p| p.strip_prefix("Action="))
                .map(str::to_string)
        });
    // The RPC v2 CBOR protocol (CloudWatch) names it in the path: `/service/<S>/operation/<Op>`.
    let path = request.uri().split('?').next().unwrap_or_default();
    let rpc = path
        .split_once("/operation/")
        .map(|(_, op)| op.trim_end_matches('/').to_string());
    action
        .or(rpc)
        .unwrap_or_else(|| request.method().to_string())
}

/// The service of a SigV4 `Authorization` header (`Credential=AKID/date/region/service/aws4_request`).
fn service_of(header: &str) -> Option<&str> {
    let scope = header.split("Credential=").nth(1)?.split(',').next()?;
    scope.split('/').nth(3)
}

/// An HTTP client that counts what `inner` sends.
#[derive(Debug, Clone)]
pub(crate) struct Counting {
    pub(crate) inner: SharedHttpClient,
    pub(crate) counter: Arc<Counter>,
}

impl HttpClient for Counting {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(CountingConnector {
            inner: self.inner.http_connector(settings, components),
            counter: self.counter.clone(),
        })
    }
    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.inner.connector_metadata()
    }
}

#[derive(Debug)]
struct CountingConnector {
    inner: SharedHttpConnector,
    counter: Arc<Counter>,
}

impl HttpConnector for CountingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        self.counter.record(&request);
        self.inner.call(request)
    }
}

/// The HTTPS client the SDK would build by default (hyper 1, rustls with aws-lc, proxy settings
/// from the environment), to wrap.
pub(crate) fn default_https() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut b = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(ProxyConfig::from_env()));
        b.build()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_and_services_are_read_from_the_sdk_headers() {
        assert_eq!(attempt_of("attempt=3; max=12"), Some(3));
        assert_eq!(attempt_of("max=12"), None);
        let auth = "AWS4-HMAC-SHA256 Credential=test/20261202/us-east-1/rds/aws4_request, SignedHeaders=host, Signature=00";
        assert_eq!(service_of(auth), Some("rds"));
        assert_eq!(service_of("Bearer x"), None);
    }

    #[test]
    fn the_tally_reads_as_a_sentence() {
        let mut t = Tally {
            requests: 40,
            ..Tally::default()
        };
        let req = |body: &str| {
            let mut r = HttpRequest::new(aws_smithy_types::body::SdkBody::from(body.to_string()));
            r.set_method("POST").unwrap();
            r
        };
        assert_eq!(
            operation_of(&req("Action=DescribeVpcs&Version=2016-11-15")),
            "DescribeVpcs"
        );
        let mut json = req("{}");
        json.headers_mut()
            .insert("x-amz-target", "AmazonSSM.GetParameters");
        assert_eq!(operation_of(&json), "GetParameters");
        assert_eq!(operation_of(&req("")), "POST");
        assert_eq!(t.to_string(), "40 AWS requests, no retries");
        t.retries.insert("rds".into(), 3);
        t.retries.insert("ec2".into(), 2);
        assert_eq!(
            t.to_string(),
            "40 AWS requests, 5 of them retries (ec2 2, rds 3)"
        );
    }
}
