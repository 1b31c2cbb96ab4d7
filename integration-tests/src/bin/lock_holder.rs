//! Takes a stack's lock and holds it until killed: the crashed holder of the stale-lock tests.
//!
//! `lock_holder dynamodb <table> <stack> <lease_ms>` or `lock_holder s3 <bucket> <stack> <lease_ms>`;
//! prints `LOCKED <lock id>` once the lock is held.

use std::sync::Arc;
use std::time::Duration;

use skyforge_core::{Context, Environment, Stage};
use skyforge_state::{DynamoDbLock, LockBackend, Locker, S3Lock};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, kind, place, stack, lease_ms] = &args[..] else {
        eprintln!("usage: lock_holder dynamodb|s3 <table|bucket> <stack> <lease_ms>");
        std::process::exit(2);
    };
    let env = Environment::new("lockholder", Stage::Staging).region("us-east-1");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .load()
        .await;
    let ctx = Context::from_sdk_config(env, sdk);
    let backend: Arc<dyn LockBackend> = match kind.as_str() {
        "dynamodb" => Arc::new(DynamoDbLock::new(&ctx, place, stack)),
        _ => Arc::new(
            S3Lock::connect(&ctx, place, "locks/", stack)
                .await
                .expect("s3 lock"),
        ),
    };
    let lease = Duration::from_millis(lease_ms.parse().expect("lease_ms"));
    let held = Locker::new(backend, lease)
        .acquire(stack, "apply")
        .await
        .expect("acquire");
    println!("LOCKED {}", held.info().id);
    tokio::time::sleep(Duration::from_secs(3600)).await;
}
