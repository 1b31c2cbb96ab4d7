//! Deletion that knows AWS's hidden dependents.
//!
//! A subnet, security group or VPC cannot be deleted while network interfaces use it. Interfaces
//! that an AWS service manages (a load balancer's, a Fargate task's, a NAT gateway's) go away by
//! themselves shortly after their owner is deleted, so the deletion is retried while only those
//! remain. Anything else (an interface or instance somebody else created) will never go away on
//! its own: the deletion fails at once and the error lists those blockers.

use std::future::Future;
use std::time::Duration;

use skyforge_core::wait::Poll;
use skyforge_core::{Context, Guard, ResourceId, Result};

use crate::ec2::{self, Blocker};

/// How long to wait for service-managed interfaces to be released (Fargate and ELB can take
/// several minutes).
pub(crate) const RELEASE_DEADLINE: Duration = Duration::from_secs(20 * 60);

/// The deletion call: which resource, the AWS operation and the codes meaning "already gone".
pub(crate) struct Deletion<'a> {
    pub(crate) rid: &'a ResourceId,
    pub(crate) physical_id: &'a str,
    pub(crate) operation: &'a str,
    pub(crate) gone: &'a [&'a str],
}

/// Run `delete` until it succeeds, treating `gone` codes as success and retrying on
/// `DependencyViolation` while every blocker reported by `blockers` is transient.
pub(crate) async fn with_blockers<D, DF, B, BF>(
    ctx: &Context,
    guard: &Guard,
    what: Deletion<'_>,
    delete: D,
    blockers: B,
) -> Result<()>
where
    D: Fn() -> DF,
    DF: Future<Output = Result<()>>,
    B: Fn() -> BF,
    BF: Future<Output = Result<Vec<Blocker>>>,
{
    let Deletion {
        rid,
        physical_id,
        operation,
        gone,
    } = what;
    let label = rid.to_string();
    ctx.poller(RELEASE_DEADLINE)
        .wait(&label, "deleted", || async {
            match skyforge_core::ok_if_aws_code(guard.call(operation, delete()).await, gone) {
                Ok(()) => Ok(Poll::Ready(())),
                Err(e) if e.has_aws_code(&["DependencyViolation", "ResourceInUse"]) => {
                    let found = blockers().await?;
                    let permanent: Vec<String> = found
                        .iter()
                        .filter(|b| !b.transient)
                        .map(|b| b.describe.clone())
                        .collect();
                    if !permanent.is_empty() {
                        return Err(ec2::blocked(rid, physical_id, &permanent));
                    }
                    let waiting: Vec<String> = found.into_iter().map(|b| b.describe).collect();
                    Ok(Poll::Pending(if waiting.is_empty() {
                        "dependents still being released".to_string()
                    } else {
                        format!("waiting for {}", waiting.join(", "))
                    }))
                }
                Err(e) => Err(e),
            }
        })
        .await
}
