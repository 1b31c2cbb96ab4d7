//! Offline contexts for tests (feature `testing`): every client answers from
//! [`aws_smithy_mocks`] rules, so a test can drive the error paths an emulator cannot produce
//! (throttling bursts, a describe that does not yet see a fresh create, `DependencyViolation`
//! sequences, credentials expiring mid-run) through the real resource code and engine.
//!
//! ```ignore
//! // In a crate that depends on aws-sdk-ec2 (core itself calls no service):
//! use skyforge_core::testing::{aws_error, mock, offline_context};
//! let ctx = offline_context(env).await;
//! let throttled = mock!(aws_sdk_ec2::Client::describe_vpcs)
//!     .sequence()
//!     .error(|| DescribeVpcsError::generic(aws_error("RequestLimitExceeded", "Request limit exceeded.")))
//!     .times(3)
//!     .output(|| DescribeVpcsOutput::builder().build())
//!     .build();
//! let ec2 = skyforge_core::mocked_client!(aws_sdk_ec2, &ctx, [&throttled]);
//! let ctx = ctx.with_client(ec2);
//! ```
//!
//! The context's shared HTTP client answers every request no rule matched with a 418 (never a
//! network call), and its endpoint counts as overridden, so waits poll at emulator speed. A
//! client is replaced with [`crate::Context::with_client`]; [`crate::mocked_client`] builds one
//! from the context's configuration and a list of rules.

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;

pub use aws_smithy_mocks::{self, Rule, RuleMode, mock};

use crate::{Context, Environment};

/// A context for `env` that can reach no network: fixed test credentials, the environment's
/// region (`us-east-1` when it has none), skyforge's emulator retry policy
/// ([`crate::context::retry_config`]) and a mock HTTP client.
pub async fn offline_context(env: Environment) -> Context {
    let region = env.region_name().unwrap_or("us-east-1").to_string();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(Credentials::new(
            "AKIDSKYFORGETEST",
            "offline-test-secret",
            None,
            None,
            "skyforge-testing",
        ))
        .endpoint_url("http://127.0.0.1:1")
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .retry_config(crate::context::retry_config(true))
        .load()
        .await;
    Context::from_sdk_config(env, sdk)
}

/// A client of the service crate `$sdk` built from `$ctx`'s configuration with a
/// [`aws_smithy_mocks::MockResponseInterceptor`] holding `$rules` (anything iterating over
/// `&Rule`): the first matching rule with responses left answers; a request no rule matches
/// panics the test. Pass it to [`crate::Context::with_client`].
#[macro_export]
macro_rules! mocked_client {
    ($sdk:ident, $ctx:expr, $rules:expr) => {{
        let mut interceptor = $crate::testing::aws_smithy_mocks::MockResponseInterceptor::new()
            .rule_mode($crate::testing::RuleMode::MatchAny);
        for rule in $rules {
            interceptor = interceptor.with_rule(rule);
        }
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($ctx.sdk_config())
                .interceptor(interceptor)
                .build(),
        )
    }};
}

/// The error metadata of an AWS answer with `code` and `message`, for a service error's
/// `generic` constructor (`DescribeVpcsError::generic(aws_error("RequestLimitExceeded", ...))`).
pub fn aws_error(code: &str, message: &str) -> aws_smithy_types::error::ErrorMetadata {
    aws_smithy_types::error::ErrorMetadata::builder()
        .code(code)
        .message(message)
        .build()
}

/// The plan of resource `kind.id` with `action`, for tests of code that reads plans (cost
/// estimates, approval rules): no physical id, no dependencies.
pub fn planned(kind: &str, id: &str, action: crate::Action) -> crate::ResourcePlan {
    crate::ResourcePlan {
        id: crate::ResourceId::new(kind, id),
        physical_id: None,
        service: "test".into(),
        depends_on: vec![],
        orphan: false,
        protected: false,
        not_ready: None,
        pending: vec![],
        action,
    }
}

/// A planned create of `kind.id` whose fields are the members of the JSON object `fields`, all
/// known.
pub fn planned_create(kind: &str, id: &str, fields: serde_json::Value) -> crate::ResourcePlan {
    let fields = match fields {
        serde_json::Value::Object(m) => m
            .into_iter()
            .map(|(k, v)| (k, crate::Value::Known(v)))
            .collect(),
        _ => Default::default(),
    };
    planned(kind, id, crate::Action::Create { fields })
}
