//! Waiting with backoff, a deadline, progress events and fail-fast terminal states.
//!
//! Every poll emits a `tracing` event with target [`PROGRESS_TARGET`] and the fields
//! `resource`, `state`, `target` and `elapsed_ms`; a binary turns those into progress bars or log
//! lines. The library itself never prints.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::{Error, Result};

/// `tracing` target of progress events.
pub const PROGRESS_TARGET: &str = "skyforge::progress";

/// `tracing` target of resource operations during apply: an event when a mutating operation
/// (create, update, replace, delete, run) starts (`started = true`) and when it ends
/// (`elapsed_ms`, `failed`), with the fields `resource` and `op`.
pub const OPERATION_TARGET: &str = "skyforge::operation";

/// The default deadline of a wait on a resource of `kind`: NAT gateways 10 min, RDS instances
/// and clusters 60 min, ElastiCache clusters and replication groups 45 min, ECS service rollouts
/// 30 min, anything else 30 min. Override per kind or resource with
/// [`crate::Context::with_deadline`].
pub fn default_deadline(kind: &str) -> Duration {
    let minutes = match kind {
        "nat_gateway" => 10,
        "db_instance" | "db_cluster" => 60,
        "cache_cluster" | "cache_replication_group" => 45,
        "ecs_service" => 30,
        _ => 30,
    };
    Duration::from_secs(minutes * 60)
}

/// What one poll saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll<T> {
    /// The target state was reached.
    Ready(T),
    /// Still on the way, in this state.
    Pending(String),
    /// A state from which the target cannot be reached (`failed`, a stopped task), with the reason.
    Failed {
        /// The state.
        state: String,
        /// Why.
        reason: String,
    },
}

/// Backoff and deadline of a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Poller {
    /// First delay.
    pub initial: Duration,
    /// Longest delay.
    pub max_delay: Duration,
    /// Delay multiplier per poll, in percent (150 = x1.5).
    pub growth_percent: u32,
    /// Give up after this long.
    pub deadline: Duration,
}

impl Default for Poller {
    fn default() -> Self {
        Poller {
            initial: Duration::from_secs(2),
            max_delay: Duration::from_secs(30),
            growth_percent: 150,
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

impl Poller {
    /// A poller with the given deadline and default backoff (2 s growing x1.5 to 30 s).
    pub fn with_deadline(deadline: Duration) -> Self {
        Poller {
            deadline,
            ..Poller::default()
        }
    }

    /// Poll `check` until it reports [`Poll::Ready`], a terminal [`Poll::Failed`] (returned at
    /// once as [`Error::TerminalState`]), an error, or the deadline ([`Error::Timeout`]). A
    /// transient error ([`Error::is_transient`]: throttling, 5xx, timeouts) counts as one more
    /// pending poll, not as the end of the wait.
    pub async fn wait<T, F, Fut>(&self, resource: &str, target: &str, mut check: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Poll<T>>>,
    {
        let start = Instant::now();
        let mut delay = self.initial;
        let mut polls: u32 = 0;
        loop {
            polls += 1;
            let elapsed = start.elapsed();
            let seen = match check().await {
                // Throttling and 5xx are weather: keep polling inside the deadline.
                Err(e) if e.is_transient() => Poll::Pending(format!("transient error: {e}")),
                other => other?,
            };
            match seen {
                Poll::Ready(v) => {
                    tracing::info!(target: PROGRESS_TARGET, resource, state = target, target, elapsed_ms = elapsed.as_millis() as u64, polls, done = true, "reached {target}");
                    return Ok(v);
                }
                Poll::Failed { state, reason } => {
                    tracing::warn!(target: PROGRESS_TARGET, resource, state = state.as_str(), target, elapsed_ms = elapsed.as_millis() as u64, polls, failed = true, "terminal state {state}");
                    return Err(Error::TerminalState {
                        resource: resource.to_string(),
                        state,
                        reason,
                    });
                }
                Poll::Pending(state) => {
                    tracing::info!(target: PROGRESS_TARGET, resource, state = state.as_str(), target, elapsed_ms = elapsed.as_millis() as u64, polls, "waiting for {target}");
                    if elapsed >= self.deadline {
                        return Err(Error::Timeout {
                            resource: resource.to_string(),
                            target: target.to_string(),
                            waited: elapsed,
                            last_state: state,
                        });
                    }
                    let remaining = self.deadline - elapsed;
                    tokio::time::sleep(delay.min(remaining)).await;
                    delay = (delay * self.growth_percent / 100).min(self.max_delay);
                }
            }
        }
    }
}
