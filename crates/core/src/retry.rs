//! Calls that AWS answers "not yet" before it answers "yes".
//!
//! Some refusals are lag, not failure: a subnet group is still "in use" for a while after the
//! database using it is gone, a target group after its listener, a cluster after its last
//! service; a role that was just created cannot be assumed by ECS for some seconds; a bucket name
//! deleted a moment ago gives `OperationAborted`. Terraform's AWS provider retries each of these
//! for minutes. [`Guard::send_until`] repeats such a call while AWS gives one of the
//! [`NotYet`] answers, as a visible wait (the AWS answer is the state shown), and fails with
//! [`crate::Error::Timeout`] when the deadline passes.

use std::future::Future;
use std::time::Duration;

use crate::Context;
use crate::error::{Error, Result};
use crate::resource::Guard;
use crate::wait::Poll;

/// The AWS answers that mean "not yet" for one call, and how long to keep asking.
#[derive(Debug, Clone, Copy)]
pub struct NotYet<'a> {
    codes: &'a [&'a str],
    containing: Option<&'a str>,
    within: Duration,
}

impl<'a> NotYet<'a> {
    /// Any of the AWS error `codes`, for up to `within` (a deadline the user set on the resource
    /// or its kind with [`Context::with_deadline`] wins).
    pub const fn codes(codes: &'a [&'a str], within: Duration) -> Self {
        NotYet {
            codes,
            containing: None,
            within,
        }
    }

    /// Only when the error message also contains `text` (ECS answers
    /// `InvalidParameterException` both for a role it cannot assume yet and for a bad argument).
    pub const fn containing(self, text: &'a str) -> Self {
        NotYet {
            containing: Some(text),
            ..self
        }
    }

    /// Whether `e` is one of these answers.
    pub fn matches(&self, e: &Error) -> bool {
        e.has_aws_code(self.codes)
            && self
                .containing
                .is_none_or(|t| e.aws_message().is_some_and(|m| m.contains(t)))
    }
}

impl Guard {
    /// [`Guard::send`], repeated while AWS answers one of `not_yet`: `request` makes the request
    /// anew for each attempt. Each attempt passes through the run hooks, so a lost lock still
    /// stops it.
    pub async fn send_until<O, E, R, F, Fut>(
        &self,
        ctx: &Context,
        not_yet: NotYet<'_>,
        operation: &str,
        done_if: &[&str],
        request: F,
    ) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: Future<
            Output = std::result::Result<O, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
        >,
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        let rid = self.resource();
        let deadline = ctx.deadline_set_for(rid).unwrap_or(not_yet.within);
        let target = format!("{operation} accepted");
        ctx.poller(deadline)
            .wait(&rid.to_string(), &target, || async {
                match self.send(operation, done_if, request()).await {
                    Ok(()) => Ok(Poll::Ready(())),
                    Err(e) if not_yet.matches(&e) => Ok(Poll::Pending(not_yet_state(&e))),
                    Err(e) => Err(e),
                }
            })
            .await
    }
}

/// The state a "not yet" answer shows while waiting: its code and message.
fn not_yet_state(e: &Error) -> String {
    match (e.aws_code(), e.aws_message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        _ => e.to_string(),
    }
}
