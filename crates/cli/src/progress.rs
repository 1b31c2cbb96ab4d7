//! Turns skyforge's progress events into spinners (on a terminal) or log lines.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use skyforge::core::wait::{OPERATION_TARGET, PROGRESS_TARGET};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Default)]
struct Progress {
    resource: String,
    state: String,
    target: String,
    op: String,
    started: bool,
    elapsed_ms: u64,
    polls: u64,
    done: bool,
    failed: bool,
}

impl Visit for Progress {
    fn record_str(&mut self, f: &Field, v: &str) {
        match f.name() {
            "resource" => self.resource = v.to_string(),
            "state" => self.state = v.to_string(),
            "target" => self.target = v.to_string(),
            "op" => self.op = v.to_string(),
            _ => {}
        }
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        match f.name() {
            "elapsed_ms" => self.elapsed_ms = v,
            "polls" => self.polls = v,
            _ => {}
        }
    }
    fn record_bool(&mut self, f: &Field, v: bool) {
        match f.name() {
            "done" => self.done = v,
            "failed" => self.failed = v,
            "started" => self.started = v,
            _ => {}
        }
    }
    fn record_debug(&mut self, _: &Field, _: &dyn std::fmt::Debug) {}
}

struct ProgressLayer {
    bars: Option<MultiProgress>,
    active: Mutex<HashMap<String, ProgressBar>>,
    /// Per resource waiting, the state last printed and when (plain lines only).
    printed: Mutex<HashMap<String, (String, f64)>>,
}

impl<S: tracing::Subscriber> Layer<S> for ProgressLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let target = event.metadata().target();
        if target != PROGRESS_TARGET && target != OPERATION_TARGET {
            return;
        }
        let mut p = Progress::default();
        event.record(&mut p);
        if target == OPERATION_TARGET {
            self.operation(&p);
            return;
        }
        // Something ready at the first look was never waited for: nothing to show.
        if p.done && p.polls <= 1 {
            return;
        }
        let secs = p.elapsed_ms as f64 / 1000.0;
        let Some(multi) = &self.bars else {
            self.line(&p, secs);
            return;
        };
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        let bar = active
            .entry(p.resource.clone())
            .or_insert_with(|| spinner(multi, &p.resource, "{spinner} {prefix}: {msg}"));
        if p.done || p.failed {
            let msg = if p.done {
                format!("{} after {secs:.1} s", p.target)
            } else {
                format!("failed: {} after {secs:.1} s", p.state)
            };
            bar.finish_with_message(msg);
            active.remove(&p.resource);
        } else {
            bar.set_message(format!("{} -> {} ({secs:.1} s)", p.state, p.target));
        }
    }
}

/// A spinner for `resource` on a terminal, drawn with `template`.
fn spinner(multi: &MultiProgress, resource: &str, template: &str) -> ProgressBar {
    let b = multi.add(ProgressBar::new_spinner());
    b.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    b.set_prefix(resource.to_string());
    b.enable_steady_tick(Duration::from_millis(120));
    b
}

/// Seconds between two lines of a wait whose state does not change (CI logs).
const QUIET_SECS: f64 = 30.0;

impl ProgressLayer {
    /// A wait's step as a log line: when it starts, when its state changes, every
    /// [`QUIET_SECS`] while it does not, and when it ends.
    fn line(&self, p: &Progress, secs: f64) {
        let mut last = self.printed.lock().unwrap_or_else(|e| e.into_inner());
        let what = if p.done {
            last.remove(&p.resource);
            format!("{} after {secs:.1} s", p.target)
        } else if p.failed {
            last.remove(&p.resource);
            format!("FAILED in state {} after {secs:.1} s", p.state)
        } else {
            let quiet = last
                .get(&p.resource)
                .is_some_and(|(state, at)| *state == p.state && secs - at < QUIET_SECS);
            if quiet {
                return;
            }
            last.insert(p.resource.clone(), (p.state.clone(), secs));
            format!("{} (waiting for {}, {secs:.1} s)", p.state, p.target)
        };
        eprintln!("  {}: {what}", p.resource);
    }

    /// A resource operation: a spinner from its start to its end on a terminal, one line when
    /// it ends otherwise.
    fn operation(&self, p: &Progress) {
        let secs = p.elapsed_ms as f64 / 1000.0;
        let outcome = if p.failed { "failed after" } else { "done in" };
        let Some(multi) = &self.bars else {
            if !p.started {
                eprintln!("  {}: {} {outcome} {secs:.1} s", p.resource, p.op);
            }
            return;
        };
        let key = format!("{} {}", p.resource, p.op);
        let mut active = self.active.lock().unwrap_or_else(|e| e.into_inner());
        if p.started {
            let bar = spinner(multi, &p.resource, "{spinner} {prefix}: {msg} ({elapsed})");
            bar.set_message(format!("{}...", p.op));
            active.insert(key, bar);
        } else if let Some(bar) = active.remove(&key) {
            bar.finish_with_message(format!("{} {outcome} {secs:.1} s", p.op));
        }
    }
}

/// Install the output: progress as spinners when `terminal`, else as lines on stderr; other
/// events per `RUST_LOG` (default: warnings).
pub fn init_output(terminal: bool) {
    let progress = ProgressLayer {
        bars: terminal.then(MultiProgress::new),
        active: Mutex::new(HashMap::new()),
        printed: Mutex::new(HashMap::new()),
    };
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    let _ = tracing_subscriber::registry()
        .with(
            progress.with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target(PROGRESS_TARGET, tracing::Level::INFO)
                    .with_target(OPERATION_TARGET, tracing::Level::INFO),
            ),
        )
        .with(log)
        .try_init();
}
