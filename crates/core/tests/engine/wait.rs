use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use skyforge_core::Error;
use skyforge_core::wait::{Poll, Poller};
use tokio::time::Instant;

fn poller() -> Poller {
    Poller {
        initial: Duration::from_secs(1),
        max_delay: Duration::from_secs(8),
        growth_percent: 200,
        deadline: Duration::from_secs(60),
    }
}

#[tokio::test(start_paused = true)]
async fn backs_off_until_ready() {
    let n = Arc::new(AtomicU32::new(0));
    let t0 = Instant::now();
    let v = poller()
        .wait("rds:db-instance.db", "available", || {
            let n = n.clone();
            async move {
                Ok(if n.fetch_add(1, Ordering::SeqCst) < 5 {
                    Poll::Pending("creating".into())
                } else {
                    Poll::Ready(42)
                })
            }
        })
        .await
        .unwrap();
    assert_eq!(v, 42);
    // Delays 1, 2, 4, 8, 8.
    assert_eq!(t0.elapsed(), Duration::from_secs(23));
}

#[tokio::test(start_paused = true)]
async fn terminal_state_fails_at_once() {
    let t0 = Instant::now();
    let err = poller()
        .wait::<(), _, _>("ecs:service.api", "steady", || async {
            Ok(Poll::Failed {
                state: "STOPPED".into(),
                reason: "Essential container exited".into(),
            })
        })
        .await
        .unwrap_err();
    assert_eq!(t0.elapsed(), Duration::ZERO);
    assert!(matches!(err, Error::TerminalState { ref state, .. } if state == "STOPPED"));
}

#[tokio::test(start_paused = true)]
async fn deadline_is_reported_with_the_last_state() {
    let t0 = Instant::now();
    let err = poller()
        .wait::<(), _, _>("ec2:nat-gateway.a", "available", || async {
            Ok(Poll::Pending("pending".into()))
        })
        .await
        .unwrap_err();
    assert_eq!(t0.elapsed(), Duration::from_secs(60));
    match err {
        Error::Timeout {
            last_state, waited, ..
        } => {
            assert_eq!(last_state, "pending");
            assert_eq!(waited, Duration::from_secs(60));
        }
        other => panic!("{other:?}"),
    }
}

fn aws(code: &str) -> skyforge_core::Error {
    skyforge_core::Error::Aws {
        resource: "nat_gateway.main-nat-1".into(),
        operation: "DescribeNatGateways".into(),
        code: code.into(),
        message: "scripted".into(),
        origin: Default::default(),
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_during_a_wait_is_polled_through_and_other_errors_end_it() {
    let p = Poller::with_deadline(Duration::from_secs(600));
    let mut n = 0;
    let v = p
        .wait("nat_gateway.main-nat-1", "available", || {
            n += 1;
            let k = n;
            async move {
                match k {
                    1 => Err(aws("Throttling")),
                    2 => Err(aws("ServiceUnavailable")),
                    3 => Ok(Poll::Pending("pending".to_string())),
                    _ => Ok(Poll::Ready(k)),
                }
            }
        })
        .await
        .unwrap();
    assert_eq!(v, 4);
    let err = p
        .wait("nat_gateway.main-nat-1", "available", || async {
            Err::<Poll<()>, _>(aws("InvalidNatGatewayID.NotFound"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.aws_code(), Some("InvalidNatGatewayID.NotFound"));
    // Throttled past the deadline: a timeout naming the last transient error.
    let err = Poller::with_deadline(Duration::from_secs(60))
        .wait("nat_gateway.main-nat-1", "available", || async {
            Err::<Poll<()>, _>(aws("RequestLimitExceeded"))
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("transient error")
            && err.to_string().contains("RequestLimitExceeded"),
        "{err}"
    );
}

#[test]
fn deadlines_default_per_kind_and_are_overridable_per_kind_or_resource() {
    use skyforge_core::ResourceId;
    let ctx = crate::fake::ctx();
    let nat = ResourceId::new("nat_gateway", "main-nat-1");
    let nat2 = ResourceId::new("nat_gateway", "main-nat-2");
    let minutes = |d: Duration| d.as_secs() / 60;
    assert_eq!(minutes(ctx.deadline(&nat)), 10);
    assert_eq!(
        minutes(ctx.deadline(&ResourceId::new("db_instance", "db"))),
        60
    );
    assert_eq!(
        minutes(ctx.deadline(&ResourceId::new("cache_replication_group", "redis"))),
        45
    );
    assert_eq!(
        minutes(ctx.deadline(&ResourceId::new("ecs_service", "api"))),
        30
    );
    let longer = ctx
        .with_deadline("nat_gateway", Duration::from_secs(15 * 60))
        .with_deadline("nat_gateway.main-nat-2", Duration::from_secs(20 * 60));
    assert_eq!(minutes(longer.deadline(&nat)), 15);
    assert_eq!(
        minutes(longer.deadline(&nat2)),
        20,
        "a resource's own deadline wins"
    );
    assert_eq!(
        minutes(ctx.deadline(&nat)),
        10,
        "the original context is unchanged"
    );
    assert_eq!(
        longer.poller_for(&nat2).deadline,
        Duration::from_secs(20 * 60)
    );
}
