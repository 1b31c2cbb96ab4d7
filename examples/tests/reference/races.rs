//! Races, with the reference binaries as CI runs them: two applies of one stack started
//! together (one proceeds, the other is refused at once, naming the holder), and a saved plan
//! applied after AWS was changed by hand (refused as stale, nothing changed).

use std::time::{Duration, Instant};

use crate::common::{Deploy, require_endpoint, runtime};
use skyforge_integration_tests::TestStack;

fn demo(short: &str) -> Deploy {
    Deploy::new(env!("CARGO_BIN_EXE_demo"), short, "staging")
}

const APPROVED: &[&str] = &["--auto-approve", "--require-approval", "never"];

#[test]
fn two_applies_started_together_one_proceeds_the_other_is_refused_naming_the_holder() {
    require_endpoint();
    let d = demo("race");
    let args = [&["apply"], APPROVED].concat();
    let t0 = Instant::now();
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let child = d.command(&args).spawn().expect("start an apply");
            std::thread::spawn(move || {
                let out = child.wait_with_output().expect("the apply ends");
                (t0.elapsed(), out)
            })
        })
        .collect();
    let mut ended: Vec<(Duration, std::process::Output)> =
        runs.into_iter().map(|h| h.join().unwrap()).collect();
    ended.sort_by_key(|(_, o)| o.status.success());
    let [(refused_after, refused), (done_after, done)] = &ended[..] else {
        unreachable!()
    };
    let text = |o: &std::process::Output| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert!(done.status.success(), "{}", text(done));
    assert_eq!(refused.status.code(), Some(1), "{}", text(refused));
    let why = text(refused);
    assert!(why.contains("is locked by"), "{why}");
    assert!(why.contains("for apply"), "{why}");
    // Refused at once: it did not wait for the other run to finish.
    assert!(
        refused_after < done_after,
        "{refused_after:?} vs {done_after:?}"
    );
    println!(
        "refused after {:.2} s (the other apply took {:.1} s)",
        refused_after.as_secs_f64(),
        done_after.as_secs_f64()
    );
    d.ok(&["destroy"]);
    d.nothing_left();
}

#[test]
fn a_saved_plan_applied_after_a_change_by_hand_is_refused_as_stale() {
    require_endpoint();
    let d = demo("stale");
    d.ok(&["apply"]);
    let saved = d.state().join("noop-plan.json");
    let p = d.raw(&["plan", "--out", saved.to_str().unwrap()], &[]);
    assert_eq!(p.code, Some(0), "{}", p.text);
    // By hand: DNS hostnames off on the stack's VPC.
    runtime().block_on(async {
        let t = TestStack::with_env(d.env()).await;
        let ec2 = t.ctx.client(aws_sdk_ec2::Client::new);
        let vpcs = ec2
            .describe_vpcs()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:skyforge:stack")
                    .values(d.prefix())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let vpc = vpcs.vpcs()[0].vpc_id().unwrap().to_string();
        ec2.modify_vpc_attribute()
            .vpc_id(&vpc)
            .enable_dns_hostnames(
                aws_sdk_ec2::types::AttributeBooleanValue::builder()
                    .value(false)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let a = d.raw(&["apply", saved.to_str().unwrap()], &[]);
    assert_eq!(a.code, Some(1), "{}", a.text);
    assert!(a.text.to_lowercase().contains("stale"), "{}", a.text);
    // The change is still there for a new plan to show and a new apply to put back.
    let again = d.raw(&["plan", "--detailed-exitcode"], &[]);
    assert_eq!(again.code, Some(2), "{}", again.text);
    d.ok(&["apply"]);
    d.ok(&["destroy"]);
    d.nothing_left();
}
