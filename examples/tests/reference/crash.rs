//! Crash and resume with a reference binary (`alva` staging, under latency mode so that its
//! database, cache, NAT gateway and load balancer pass through their intermediate states): 20
//! applies and 10 destroys killed with SIGKILL at seeded random moments
//! (`SKYFORGE_CRASH_SEED` replays one; the seed is printed). After every kill the inventory
//! holds at most one copy of each resource (by kind, and by logical id for EC2; what AWS shows
//! `deleting` counts as going) and the next plan shows every call the killed run left
//! unfinished in its journal; the applies that follow converge to exactly one copy of each, and
//! the destroys to an empty inventory.

use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::time::{Duration, Instant};

use rand::{RngExt, SeedableRng};
use rand_xorshift::XorShiftRng;
use skyforge::state::StateDocument;
use skyforge_integration_tests::{TestStack, ec2_copies_in, inventory};

use crate::common::{Deploy, require_endpoint, runtime};

/// Latency scale: RDS creation takes 4.8 s, its deletion 3 s, the cache 4.2 s.
const SCALE: f64 = 0.01;
/// Each cycle kills two applies and one destroy.
const CYCLES: usize = 10;
const APPROVED: [&str; 3] = ["--auto-approve", "--require-approval", "never"];

/// The four keys `alva` takes from the environment (test values).
const KEYS: [(&str, &str); 4] = [
    (
        "ALVA_JWT_PRIVATE_KEY",
        "-----BEGIN PRIVATE KEY-----\nMC4C\n-----END PRIVATE KEY-----",
    ),
    (
        "ALVA_JWT_PUBLIC_KEY",
        "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----",
    ),
    ("ALVA_OPENAI_API_KEY", "sk-test-crash"),
    ("ALVA_RESEND_API_KEY", "re_test_crash"),
];

/// The resources holding data, which destroy deletes only when allowed.
const HELD: [&str; 12] = [
    "db_instance.db",
    "cache_replication_group.cache",
    "secret.jwt-private-key",
    "secret.jwt-public-key",
    "secret.jwt-secret",
    "secret.cookie-secret",
    "secret.openai-api-key",
    "secret.resend-api-key",
    "secret.db-credentials",
    "secret.db-url",
    "secret.cache-auth",
    "secret.cache-url",
];

fn seed() -> u64 {
    match std::env::var("SKYFORGE_CRASH_SEED") {
        Ok(s) if !s.is_empty() => s.parse().expect("SKYFORGE_CRASH_SEED: a number"),
        _ => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1),
    }
}

/// What the account holds of the stack: how many resources of each inventory kind
/// (`rds:db-instance`), and the EC2 logical ids carried by more than one resource.
#[derive(Debug, PartialEq)]
struct Census {
    kinds: BTreeMap<String, usize>,
    doubled: Vec<String>,
}

impl Census {
    fn take(t: &TestStack) -> Census {
        runtime().block_on(async {
            let live = inventory(t).await;
            let mut kinds = BTreeMap::new();
            for entry in &live {
                let kind = entry.split(' ').next().unwrap_or(entry).to_string();
                *kinds.entry(kind).or_insert(0) += 1;
            }
            let doubled = ec2_copies_in(t, &live)
                .await
                .into_iter()
                .filter(|(_, n)| *n > 1)
                .map(|(k, n)| format!("{k} x{n}"))
                .collect();
            Census { kinds, doubled }
        })
    }

    /// No kind holds more than in `full` and no logical id more than one resource.
    fn at_most(&self, full: &Census, when: &str) {
        assert!(
            self.doubled.is_empty(),
            "{when}: two copies of {:?}",
            self.doubled
        );
        for (kind, n) in &self.kinds {
            let max = full.kinds.get(kind).copied().unwrap_or(0);
            assert!(*n <= max, "{when}: {n} of {kind}, the stack has {max}");
        }
    }
}

/// A killed run and what it left.
struct Crash {
    killed: bool,
    unfinished: usize,
}

struct Run<'a> {
    d: &'a Deploy,
    t: TestStack,
    rng: XorShiftRng,
    full: Option<Census>,
    allow: Vec<String>,
}

impl Run<'_> {
    /// Start `args`, SIGKILL it once `after` has passed (unless it ended first, successfully),
    /// then check what it left: at most one copy of everything, and every journaled call it left
    /// unfinished shown by the next plan.
    fn kill(&mut self, args: &[&str], after: Duration, when: &str) -> Crash {
        let log = self.d.state().with_extension("killed.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut c = self.d.command(&[args, &APPROVED].concat());
        c.stdout(out.try_clone().unwrap()).stderr(out);
        let mut child = c.spawn().expect("start the reference binary");
        let deadline = Instant::now() + after;
        while Instant::now() < deadline && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().ok(); // SIGKILL
        let status = child.wait().unwrap();
        let killed = status.signal() == Some(9);
        let text = || std::fs::read_to_string(&log).unwrap_or_default();
        assert!(killed || status.success(), "{when} failed:\n{}", text());
        if let Some(full) = &self.full {
            Census::take(&self.t).at_most(full, when);
        }
        let unfinished = self.unfinished_shown(when);
        Crash { killed, unfinished }
    }

    /// The journal's unfinished calls, each of which the next plan must name.
    fn unfinished_shown(&self, when: &str) -> usize {
        let path = self
            .d
            .state()
            .join(format!("{}.state.json", self.d.prefix()));
        let Ok(bytes) = std::fs::read(&path) else {
            return 0;
        };
        let doc = StateDocument::from_bytes(&bytes, "state").expect("a readable state");
        let calls: Vec<String> = doc
            .unfinished()
            .iter()
            .map(|e| format!("stopped during {} of {}", e.operation, e.resource))
            .collect();
        if calls.is_empty() {
            return 0;
        }
        let plan = self.d.raw(&["plan"], &[]);
        assert_eq!(plan.code, Some(0), "{when}, next plan:\n{}", plan.text);
        for call in &calls {
            assert!(
                plan.text.contains(call),
                "{when}: the plan misses `{call}`:\n{}",
                plan.text
            );
        }
        calls.len()
    }

    /// A moment in `(5 %, 95 %)` of `span`.
    fn moment(&mut self, span: Duration) -> Duration {
        span.mul_f64(self.rng.random_range(0.05..0.95))
    }

    fn destroy_args(&self) -> Vec<String> {
        let mut args = vec!["destroy".to_string()];
        for id in &self.allow {
            args.extend(["--allow-destroy".to_string(), id.clone()]);
        }
        args
    }

    fn apply(&self, when: &str) -> Duration {
        let t0 = Instant::now();
        self.d.ok(&["apply"]);
        let took = t0.elapsed();
        let census = Census::take(&self.t);
        if let Some(full) = &self.full {
            assert_eq!(&census, full, "{when}: not one copy of each");
        }
        took
    }

    fn destroy(&self, when: &str) -> Duration {
        let t0 = Instant::now();
        let args = self.destroy_args();
        self.d
            .ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
        let took = t0.elapsed();
        let left = runtime().block_on(inventory(&self.t));
        assert_eq!(left, Vec::<String>::new(), "{when}: left behind");
        took
    }
}

#[test]
fn applies_and_destroys_killed_at_random_moments_resume_to_one_copy_of_everything() {
    require_endpoint();
    let d = KEYS
        .iter()
        .fold(
            Deploy::new(env!("CARGO_BIN_EXE_alva"), "crash", "staging"),
            |d, (k, v)| d.var(k, v),
        )
        .latency(SCALE);
    let seed = seed();
    println!("crash: seed {seed} (SKYFORGE_CRASH_SEED={seed} replays these moments)");
    let t = runtime().block_on(TestStack::with_env(d.env()));
    let mut run = Run {
        d: &d,
        t,
        rng: XorShiftRng::seed_from_u64(seed),
        full: None,
        allow: HELD.iter().map(|s| s.to_string()).collect(),
    };
    let started = Instant::now();
    // The spans the moments are drawn from: a whole apply and a whole destroy.
    let apply_span = run.apply("first apply");
    run.full = Some(Census::take(&run.t));
    let destroy_span = run.destroy("first destroy");
    let (mut kills, mut intents, mut early, mut cycle) = ([0usize; 2], 0usize, 0usize, 0);
    // Until 20 applies and 10 destroys were killed: a run can end before its moment.
    while kills[0] < 2 * CYCLES || kills[1] < CYCLES {
        cycle += 1;
        // A run that ends before its moment (a resumed apply is shorter than the first, whose
        // span the moments are drawn from) does not count: alone on a quiet machine, 15 cycles
        // once gave 18 apply kills of 20.
        assert!(
            cycle <= 2 * CYCLES,
            "too few kills after {} cycles: {kills:?}",
            2 * CYCLES
        );
        let mut left = apply_span;
        for n in 1..=2 {
            if kills[0] == 2 * CYCLES {
                break;
            }
            let at = run.moment(left);
            let crash = run.kill(
                &["apply"],
                at,
                &format!("cycle {cycle}, apply {n} killed at {at:?}"),
            );
            left = left.saturating_sub(at) + Duration::from_secs(1);
            kills[0] += usize::from(crash.killed);
            early += usize::from(!crash.killed);
            intents += crash.unfinished;
        }
        run.apply(&format!("cycle {cycle}, apply after the kills"));
        if kills[1] == CYCLES {
            run.destroy(&format!("cycle {cycle}, destroy"));
            continue;
        }
        let at = run.moment(destroy_span);
        let owned = run.destroy_args();
        let args: Vec<&str> = owned.iter().map(String::as_str).collect();
        let crash = run.kill(
            &args,
            at,
            &format!("cycle {cycle}, destroy killed at {at:?}"),
        );
        kills[1] += usize::from(crash.killed);
        early += usize::from(!crash.killed);
        intents += crash.unfinished;
        run.destroy(&format!("cycle {cycle}, destroy after the kill"));
    }
    println!(
        "crash: seed {seed}: {} applies and {} destroys killed in {cycle} cycles ({early} runs ended before their moment), {intents} unfinished calls shown by the next plans, {:?} in all (apply {apply_span:?}, destroy {destroy_span:?})",
        kills[0],
        kills[1],
        started.elapsed()
    );
    std::fs::remove_dir_all(d.state().parent().unwrap()).ok();
}
