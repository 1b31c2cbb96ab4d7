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
