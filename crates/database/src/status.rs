//! RDS instance states: which are usable, which are on the way, which need a human; waits that
//! report every state they pass through.

use aws_sdk_rds::types::DbInstance;
use skyforge_core::wait::Poll;
use skyforge_core::{Context, Error, Outputs, Readiness, ResourceId, Result};

/// States from which `available` is not reached without a human (RDS user guide, "Viewing DB
/// instance status").
pub const TERMINAL: [&str; 10] = [
    "failed",
    "incompatible-parameters",
    "incompatible-network",
    "incompatible-option-group",
    "incompatible-restore",
    "incompatible-credentials",
    "inaccessible-encryption-credentials",
    "restore-error",
    "storage-full",
    "insufficient-capacity",
];

/// States in which the instance serves connections and accepts modifications.
const USABLE: [&str; 2] = ["available", "storage-optimization"];

/// The state in which a new instance already serves connections on its endpoint but has not
/// settled: its first automated backup (hashicorp/terraform #1097). Modifications wait.
const SERVING: &str = "backing-up";

fn state(i: &DbInstance) -> &str {
    i.db_instance_status().unwrap_or("unknown")
}

/// Ready when usable; serving when `backing-up` with an endpoint (what connects to it may
/// start); `creating`, `modifying`... otherwise.
pub(crate) fn readiness(i: &DbInstance) -> Readiness {
    if USABLE.contains(&state(i)) {
        Readiness::Ready
    } else if serving(i) {
        Readiness::Serving(state(i).to_string())
    } else {
        Readiness::NotReady(state(i).to_string())
    }
}

fn serving(i: &DbInstance) -> bool {
    state(i) == SERVING && i.endpoint().is_some()
}

/// The outputs dependents use: endpoint, port, identifiers; never a credential.
pub(crate) fn outputs(i: &DbInstance, out: &mut Outputs) {
    let mut put = |k: &str, v: serde_json::Value| {
        out.insert(k.to_string(), v);
    };
    if let Some(e) = i.endpoint() {
        put("address", e.address().unwrap_or_default().into());
        put("port", e.port().unwrap_or(5432).to_string().into());
    }
    put("arn", i.db_instance_arn().unwrap_or_default().into());
    put(
        "identifier",
        i.db_instance_identifier().unwrap_or_default().into(),
    );
    put(
        "resource_id",
        i.dbi_resource_id().unwrap_or_default().into(),
    );
    put(
        "engine_version_actual",
        i.engine_version().unwrap_or_default().into(),
    );
}

fn check(i: &DbInstance) -> Poll<DbInstance> {
    let s = state(i);
    if TERMINAL.contains(&s) {
        return Poll::Failed {
            state: s.to_string(),
            reason: format!(
                "RDS reports the instance {s}: it needs a human (see the RDS console's events)"
            ),
        };
    }
    if USABLE.contains(&s) && i.endpoint().is_some() {
        Poll::Ready(i.clone())
    } else {
        Poll::Pending(s.to_string())
    }
}

/// Wait until the instance serves connections (usable, or `backing-up` with an endpoint),
/// reporting `creating`, `modifying`...; fail at once on a terminal state, naming it.
pub(crate) async fn wait_serving(
    ctx: &Context,
    rid: &ResourceId,
    identifier: &str,
) -> Result<DbInstance> {
    let poll = |i: &DbInstance| {
        if serving(i) {
            Poll::Ready(i.clone())
        } else {
            check(i)
        }
    };
    wait_until(ctx, rid, identifier, "serving", poll).await
}

/// Wait until the instance is usable, reporting `creating`, `backing-up`, `modifying`...; fail
/// at once on a terminal state, naming it.
pub(crate) async fn wait_available(
    ctx: &Context,
    rid: &ResourceId,
    identifier: &str,
) -> Result<DbInstance> {
    wait_until(ctx, rid, identifier, "available", check).await
}

/// Poll the instance with `poll` until it says ready (`target` names that in the progress
/// events); an instance not visible yet is pending.
async fn wait_until(
    ctx: &Context,
    rid: &ResourceId,
    identifier: &str,
    target: &str,
    poll: impl Fn(&DbInstance) -> Poll<DbInstance>,
) -> Result<DbInstance> {
    let poll = &poll;
    ctx.poller_for(rid)
        .wait(&rid.to_string(), target, || async move {
            match crate::instance::describe(ctx, rid, identifier).await? {
                Some(i) => Ok(poll(&i)),
                None => Ok(Poll::Pending("not visible yet".into())),
            }
        })
        .await
}

/// Wait until a just-created instance can be described (RDS is eventually consistent).
pub(crate) async fn wait_visible(
    ctx: &Context,
    rid: &ResourceId,
    identifier: &str,
) -> Result<DbInstance> {
    ctx.poller(std::time::Duration::from_secs(60))
        .wait(&rid.to_string(), "visible", || async {
            Ok(
                match crate::instance::describe(ctx, rid, identifier).await? {
                    Some(i) => Poll::Ready(i),
                    None => Poll::Pending("not visible yet".into()),
                },
            )
        })
        .await
}

/// Wait until the instance is gone, reporting `deleting`.
pub(crate) async fn wait_gone(ctx: &Context, rid: &ResourceId, identifier: &str) -> Result<()> {
    ctx.poller_for(rid)
        .wait(&rid.to_string(), "deleted", || async {
            Ok(
                match crate::instance::describe(ctx, rid, identifier).await? {
                    Some(i) => Poll::Pending(state(&i).to_string()),
                    None => Poll::Ready(()),
                },
            )
        })
        .await
}

/// Fail with the state when the instance is in a terminal one.
pub(crate) fn ensure_not_terminal(rid: &ResourceId, i: &DbInstance) -> Result<()> {
    match check(i) {
        Poll::Failed { state, reason } => Err(Error::TerminalState {
            resource: rid.to_string(),
            state,
            reason,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_rds::types::Endpoint;

    use super::*;

    fn instance(state: &str, endpoint: bool) -> DbInstance {
        let b = DbInstance::builder().db_instance_status(state);
        let b = if endpoint {
            b.endpoint(Endpoint::builder().address("db.example").port(5432).build())
        } else {
            b
        };
        b.build()
    }

    #[test]
    fn terminal_states_fail_at_once_naming_the_state() {
        for s in [
            "failed",
            "incompatible-parameters",
            "incompatible-network",
            "storage-full",
        ] {
            match check(&instance(s, true)) {
                Poll::Failed { state, .. } => assert_eq!(state, s),
                other => panic!("{s}: {other:?}"),
            }
            let rid = ResourceId::new("db_instance", "db");
            let e = ensure_not_terminal(&rid, &instance(s, true)).unwrap_err();
            assert!(e.to_string().contains(s), "{e}");
        }
    }

    #[test]
    fn transitional_states_are_pending_and_usable_ones_ready() {
        for s in ["creating", "backing-up", "modifying", "rebooting"] {
            assert_eq!(check(&instance(s, true)), Poll::Pending(s.to_string()));
        }
        assert!(matches!(
            check(&instance("available", true)),
            Poll::Ready(_)
        ));
        assert!(matches!(
            check(&instance("storage-optimization", true)),
            Poll::Ready(_)
        ));
        // Available without an endpoint yet: not usable by dependents.
        assert!(matches!(
            check(&instance("available", false)),
            Poll::Pending(_)
        ));
        assert_eq!(readiness(&instance("available", true)), Readiness::Ready);
        // Its first backup: the endpoint serves, the instance has not settled.
        assert_eq!(
            readiness(&instance("backing-up", true)),
            Readiness::Serving("backing-up".into())
        );
        assert_eq!(
            readiness(&instance("backing-up", false)),
            Readiness::NotReady("backing-up".into())
        );
        assert_eq!(
            readiness(&instance("creating", true)),
            Readiness::NotReady("creating".into())
        );
    }
}
