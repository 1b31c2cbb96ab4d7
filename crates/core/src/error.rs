//! The error type of `skyforge-core`.

use std::fmt;
use std::time::Duration;

use crate::plan::ResourceId;

/// A failure of one resource operation, reported by the executor.
#[derive(Debug, Clone)]
pub struct NodeFailure {
    /// The resource whose operation failed.
    pub resource: ResourceId,
    /// The operation that failed (`observe`, `create`, `update`, `replace`, `delete`).
    pub operation: String,
    /// The error, rendered.
    pub message: String,
    /// The error itself, with its type (match on [`Error::Aws`] and its code, a
    /// [`Error::TerminalState`], ...); also [`std::error::Error::source`].
    pub error: Option<std::sync::Arc<Error>>,
}

impl PartialEq for NodeFailure {
    fn eq(&self, o: &Self) -> bool {
        self.resource == o.resource && self.operation == o.operation && self.message == o.message
    }
}

impl Eq for NodeFailure {}

impl NodeFailure {
    /// The failure of `operation` on `resource` with `error`.
    pub fn new(resource: &ResourceId, operation: &str, error: Error) -> Self {
        NodeFailure {
            resource: resource.clone(),
            operation: operation.to_string(),
            message: error.to_string(),
            error: Some(std::sync::Arc::new(error)),
        }
    }
}

impl std::error::Error for NodeFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.resource, self.operation, self.message
        )
    }
}

/// Where an AWS error came from: the request id AWS gave the call (what AWS support asks for)
/// and the SDK's error itself, for its full context (it is this value's `source`).
#[derive(Debug, Clone, Default)]
pub struct AwsOrigin {
    /// The service as IAM names it (`rds`, `elasticloadbalancing`), when known.
    pub service: Option<String>,
    /// The request id, when the response had one.
    pub request_id: Option<String>,
    /// The SDK error, when the error came from the SDK.
    pub sdk_error: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl fmt::Display for AwsOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sdk_error {
            Some(e) => write!(f, "{e}"),
            None => f.write_str("no SDK error"),
        }
    }
}

impl std::error::Error for AwsOrigin {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sdk_error
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

fn service_prefix(service: &Option<String>) -> String {
    service
        .as_deref()
        .map(|s| format!("{s}:"))
        .unwrap_or_default()
}

/// The service of an SDK error type (`aws_sdk_rds::operation::…` → `rds`), as IAM names it.
fn service_of<E>() -> Option<String> {
    service_of_type(std::any::type_name::<E>())
}

fn service_of_type(name: &str) -> Option<String> {
    let krate = name.strip_prefix("aws_sdk_")?.split("::").next()?;
    let service = match krate {
        "elasticloadbalancingv2" => "elasticloadbalancing",
        "cloudwatchlogs" => "logs",
        "applicationautoscaling" => "application-autoscaling",
        other => other,
    };
    Some(service.to_string())
}

fn request_id_suffix(id: &Option<String>) -> String {
    id.as_deref()
        .map(|r| format!(" (request id {r})"))
        .unwrap_or_default()
}

fn list_failures(failures: &[NodeFailure]) -> String {
    failures
        .iter()
        .map(|x| format!("\n  - {x}"))
        .collect::<String>()
}

fn list_refusals(refusals: &[crate::plan::Refusal]) -> String {
    refusals
        .iter()
        .map(|x| format!("\n  - {x}"))
        .collect::<String>()
}

fn render_cycle(path: &[ResourceId]) -> String {
    path.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Input rejected before any API call: names the field, the offending value and the rule.
    #[error("invalid {field} = {value:?}: {rule}")]
    Validation {
        /// Dotted path of the field (`network.cidr`, `environment.project`).
        field: String,
        /// The rejected value (never a secret: sensitive fields are reported as `(sensitive)`).
        value: String,
        /// The rule it breaks.
        rule: String,
    },
    /// An AWS API call failed.
    #[error("{resource}: {}{operation} failed: {code}: {message}{}", service_prefix(&.origin.service), request_id_suffix(&.origin.request_id))]
    Aws {
        /// The resource the call was made for.
        resource: String,
        /// The AWS operation (`CreateVpc`).
        operation: String,
        /// The AWS error code (`InvalidSubnetID.NotFound`), or `Unknown` when the response had none.
        code: String,
        /// The AWS error message.
        message: String,
        /// The request id and the SDK's error itself (boxed: errors stay small to return).
        #[source]
        origin: Box<AwsOrigin>,
    },
    /// The resource graph has a cycle; `path` starts and ends at the same resource.
    #[error("dependency cycle: {}", render_cycle(.path))]
    Cycle {
        /// The resources on the cycle, first repeated at the end.
        path: Vec<ResourceId>,
    },
    /// A node depends on a node that is not part of the stack.
    #[error("{resource} depends on node #{missing}, which is not part of this stack")]
    UnknownDependency {
        /// The dependent resource.
        resource: ResourceId,
        /// The missing node's index.
        missing: usize,
    },
    /// Two nodes share a kind and logical id.
    #[error("duplicate resource {0}")]
    DuplicateResource(ResourceId),
    /// One or more resource operations failed during plan, apply or destroy.
    #[error("{} resource operation(s) failed:{}", .failures.len(), list_failures(.failures))]
    Failed {
        /// Every failure, with resource and operation.
        failures: Vec<NodeFailure>,
    },
    /// A wait ran past its deadline.
    #[error(
        "{resource}: timed out after {waited:?} waiting for {target} (last state: {last_state})"
    )]
    Timeout {
        /// The resource waited for.
        resource: String,
        /// The state waited for.
        target: String,
        /// How long it waited.
        waited: Duration,
        /// The last state observed.
        last_state: String,
    },
    /// A wait saw a state from which the target cannot be reached.
    #[error("{resource}: reached terminal state {state}: {reason}")]
    TerminalState {
        /// The resource waited for.
        resource: String,
        /// The terminal state.
        state: String,
        /// Why (an ECS stopped reason, an RDS event).
        reason: String,
    },
    /// The plan handed to `apply` was made for a different spec than the stack now has.
    #[error("stale plan: made for spec {planned}, stack is now {current}; run plan again")]
    StalePlan {
        /// Spec digest recorded in the plan.
        planned: String,
        /// Spec digest of the stack now.
        current: String,
    },
    /// A plan read back from JSON no longer matches what AWS holds.
    #[error("stale plan: {resource} was planned as {planned} but is now {now}; run plan again")]
    StaleObservation {
        /// The resource whose action changed.
        resource: ResourceId,
        /// Its action in the saved plan.
        planned: String,
        /// Its action now.
        now: String,
    },
    /// A resource with the derived name exists but is owned by another stack.
    #[error("{resource}: {physical_id} exists but is not owned by this stack ({detail})")]
    NotOwned {
        /// The resource.
        resource: ResourceId,
        /// The physical id or name found.
        physical_id: String,
        /// Which ownership tag differs.
        detail: String,
    },
    /// A run guard (lock, journal) refused to let a mutation proceed.
    #[error("run guard refused {operation} on {resource}: {reason}")]
    Guard {
        /// The resource about to be mutated.
        resource: ResourceId,
        /// The operation.
        operation: String,
        /// Why (lock lost, journal write failed).
        reason: String,
    },
    /// The plan deletes or replaces resources holding data without an allowance.
    #[error("{} protected change(s) refused:{}", .refusals.len(), list_refusals(.refusals))]
    Protected {
        /// Each refused change, naming the resource and the allowance that would permit it.
        refusals: Vec<crate::plan::Refusal>,
    },
    /// An update was accepted but the resource still differs from the spec afterwards.
    #[error("{resource}: update did not converge: {}", .fields.join(", "))]
    NotConverged {
        /// The resource.
        resource: ResourceId,
        /// Each field still differing, with its observed and desired value.
        fields: Vec<String>,
    },
    /// An area crate's own error (`skyforge_network::Error`, `skyforge_secrets::Error`, ...),
    /// kept with its type: [`Error::area_error`] gives it back.
    #[error(transparent)]
    Area(Box<dyn std::error::Error + Send + Sync + 'static>),
    /// Loading the AWS configuration failed.
    #[error("configuration: {0}")]
    Config(String),
    /// A resource implementation reported an inconsistency.
    #[error("{resource}: {message}")]
    Resource {
        /// The resource.
        resource: String,
        /// What went wrong.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Validation`].
    pub fn validation(
        field: impl Into<String>,
        value: impl Into<String>,
        rule: impl Into<String>,
    ) -> Self {
        Error::Validation {
            field: field.into(),
            value: value.into(),
            rule: rule.into(),
        }
    }

    /// Wrap an AWS SDK error with the resource and operation it failed for, keeping the SDK
    /// error itself as the source.
    ///
    /// The code and message come from the SDK's error metadata; transport errors
    /// (no response) are reported with code `Transport`.
    pub fn aws<E, R>(
        resource: impl fmt::Display,
        operation: &str,
        err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
    ) -> Self
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: fmt::Debug + Send + Sync + 'static,
    {
        use aws_smithy_runtime_api::client::result::SdkError;
        use aws_types::request_id::RequestId;
        let (code, message, request_id) = match &err {
            SdkError::ServiceError(se) => {
                let e = se.err();
                (
                    e.code().unwrap_or("Unknown").to_string(),
                    e.message()
                        .map(str::to_string)
                        .unwrap_or_else(|| e.to_string()),
                    e.meta().request_id().map(str::to_string),
                )
            }
            SdkError::TimeoutError(_) => ("Timeout".into(), "request timed out".into(), None),
            SdkError::DispatchFailure(d) => ("Transport".into(), format!("{d:?}"), None),
            other => ("Unknown".into(), other.to_string(), None),
        };
        // Services that answer with the id in a header (most JSON and query protocols).
        let from_headers = (&err as &dyn std::any::Any)
            .downcast_ref::<SdkError<E, aws_smithy_runtime_api::http::Response>>()
            .and_then(|e| e.request_id().map(str::to_string));
        Error::Aws {
            resource: resource.to_string(),
            operation: operation.to_string(),
            code,
            message,
            origin: Box::new(AwsOrigin {
                service: service_of::<E>(),
                request_id: request_id.or(from_headers),
                sdk_error: Some(std::sync::Arc::new(err)),
            }),
        }
    }

    /// The error of an update asked to change a field that its kind cannot change in place
    /// (a kind's `update` returns it instead of silently ignoring the field).
    pub fn not_updatable(resource: &ResourceId, field: &str) -> Self {
        Error::Resource {
            resource: resource.to_string(),
            message: format!(
                "field {field} cannot be changed in place by this kind (it should force replacement)"
            ),
        }
    }

    /// An area crate's error as core's (what the crates' `From` impls use).
    pub fn area<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        Error::Area(Box::new(e))
    }

    /// The area crate's error of type `E` inside, if this is one (`err.area_error::<
    /// skyforge_network::Error>()`).
    pub fn area_error<E: std::error::Error + 'static>(&self) -> Option<&E> {
        match self {
            Error::Area(e) => e.downcast_ref::<E>(),
            _ => None,
        }
    }

    /// The failures of an [`Error::Failed`] (empty for other errors).
    pub fn failures(&self) -> &[NodeFailure] {
        match self {
            Error::Failed { failures } => failures,
            _ => &[],
        }
    }

    /// The AWS error code, for [`Error::Aws`].
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Error::Aws { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The AWS error message, for [`Error::Aws`].
    pub fn aws_message(&self) -> Option<&str> {
        match self {
            Error::Aws { message, .. } => Some(message),
            _ => None,
        }
    }

    /// Whether this is weather rather than failure: throttling, a 5xx answer, a timeout or a
    /// transport error, which a wait keeps polling through until its deadline.
    pub fn is_transient(&self) -> bool {
        self.has_aws_code(&[
            "Throttling",
            "ThrottlingException",
            "ThrottledException",
            "RequestLimitExceeded",
            "TooManyRequestsException",
            "RequestThrottled",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "InternalError",
            "InternalFailure",
            "InternalServerError",
            "Timeout",
            "Transport",
        ])
    }

    /// The request id of an [`Error::Aws`], when AWS gave one.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Aws { origin, .. } => origin.request_id.as_deref(),
            _ => None,
        }
    }

    /// Whether this is an AWS error with one of `codes`.
    pub fn has_aws_code(&self, codes: &[&str]) -> bool {
        self.aws_code().is_some_and(|c| codes.contains(&c))
    }
}

/// `Ok(())` when `r` failed with one of the AWS error `codes`, `r` otherwise: a delete of
/// something already gone, a create whose earlier attempt succeeded (observation then decides
/// whose the resource is).
pub fn ok_if_aws_code(r: Result<()>, codes: &[&str]) -> Result<()> {
    match r {
        Err(e) if e.has_aws_code(codes) => Ok(()),
        other => other,
    }
}

/// `Ok(None)` when `r` failed with one of the AWS error `codes` (the thing looked up is gone),
/// `Ok(Some(v))` on success, the error otherwise.
pub fn none_if_aws_code<T>(r: Result<T>, codes: &[&str]) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.has_aws_code(codes) => Ok(None),
        Err(e) => Err(e),
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_is_named_as_iam_names_it() {
        let of = service_of_type;
        let rds = "aws_sdk_rds::operation::create_db_instance::CreateDBInstanceError";
        assert_eq!(of(rds).as_deref(), Some("rds"));
        let elb = "aws_sdk_elasticloadbalancingv2::operation::x::XError";
        assert_eq!(of(elb).as_deref(), Some("elasticloadbalancing"));
        assert_eq!(of("aws_sdk_cloudwatchlogs::E").as_deref(), Some("logs"));
        assert_eq!(of("skyforge_core::Error"), None);
        let e = Error::Aws {
            resource: "db_instance.db".into(),
            operation: "CreateDBInstance".into(),
            code: "ServiceUnavailable".into(),
            message: "try later".into(),
            origin: Box::new(AwsOrigin {
                service: of(rds),
                ..AwsOrigin::default()
            }),
        };
        assert_eq!(
            e.to_string(),
            "db_instance.db: rds:CreateDBInstance failed: ServiceUnavailable: try later"
        );
    }
}
