//! An alarm: a signal (one metric, or the ratio of two), a condition held for some periods, and
//! the topic it notifies.

use skyforge_core::{Environment, Error, NodeId, Result};

use crate::metric::Metric;
use crate::topic::TopicHandle;

/// What the alarm watches.
#[derive(Debug, Clone)]
pub enum Signal {
    /// One metric with its statistic.
    Metric(Metric),
    /// `100 * numerator / denominator`, a percentage (metric math: an error rate is
    /// `target_5xx / requests`).
    Percent {
        /// The counted part (5xx answers).
        numerator: Metric,
        /// The whole (requests).
        denominator: Metric,
    },
}

impl From<Metric> for Signal {
    fn from(m: Metric) -> Signal {
        Signal::Metric(m)
    }
}

impl Signal {
    /// `100 * numerator / denominator`.
    pub fn percent(numerator: Metric, denominator: Metric) -> Signal {
        Signal::Percent {
            numerator,
            denominator,
        }
    }
    pub(crate) fn metrics(&self) -> Vec<&Metric> {
        match self {
            Signal::Metric(m) => vec![m],
            Signal::Percent {
                numerator,
                denominator,
            } => vec![numerator, denominator],
        }
    }
}

/// How the signal is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// Alarm when the signal is above the threshold.
    Above,
    /// Alarm when it is at or above.
    AtLeast,
    /// Alarm when it is below.
    Below,
    /// Alarm when it is at or below.
    AtMost,
}

impl Comparison {
    pub(crate) fn as_cloudwatch(self) -> &'static str {
        match self {
            Comparison::Above => "GreaterThanThreshold",
            Comparison::AtLeast => "GreaterThanOrEqualToThreshold",
            Comparison::Below => "LessThanThreshold",
            Comparison::AtMost => "LessThanOrEqualToThreshold",
        }
    }
}

/// What a period without data counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Neither (the alarm keeps its state; CloudWatch's default).
    Missing,
    /// Good: for sparse counts (no 5xx reported means no 5xx).
    NotBreaching,
    /// Bad: for signals that must always report (healthy hosts, running tasks).
    Breaching,
    /// Ignored: the alarm is evaluated on the periods that have data.
    Ignore,
}

impl Missing {
    pub(crate) fn as_cloudwatch(self) -> &'static str {
        match self {
            Missing::Missing => "missing",
            Missing::NotBreaching => "notBreaching",
            Missing::Breaching => "breaching",
            Missing::Ignore => "ignore",
        }
    }
}

/// A CloudWatch metric alarm of the stack, named `<project>-<stage>-<logical id>`.
///
/// ```
/// # use skyforge_monitoring::{Alarm, Missing, metrics};
/// # #[cfg(feature = "ecs")]
/// # fn f(svc: &skyforge_compute::ServiceHandle, topic: &skyforge_monitoring::TopicHandle) -> Alarm {
/// Alarm::new("api-cpu", metrics::service(svc).cpu())
///     .above(80.0)
///     .for_minutes(5)
///     .describe("API CPU above 80 % for 5 minutes")
///     .notify(topic)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Alarm {
    pub(crate) logical_id: String,
    pub(crate) description: String,
    pub(crate) signal: Signal,
    pub(crate) comparison: Comparison,
    pub(crate) threshold: f64,
    pub(crate) period_secs: u32,
    pub(crate) evaluation_periods: u32,
    pub(crate) datapoints: Option<u32>,
    pub(crate) missing: Missing,
    pub(crate) topic: Option<TopicHandle>,
}

impl Alarm {
    /// An alarm on `signal`, by default above 0 for one minute, missing data as missing.
    pub fn new(logical_id: impl Into<String>, signal: impl Into<Signal>) -> Alarm {
        Alarm {
            logical_id: logical_id.into(),
            description: String::new(),
            signal: signal.into(),
            comparison: Comparison::Above,
            threshold: 0.0,
            period_secs: 60,
            evaluation_periods: 1,
            datapoints: None,
            missing: Missing::Missing,
            topic: None,
        }
    }
    /// Alarm when the signal is above `threshold`.
    pub fn above(self, threshold: f64) -> Alarm {
        self.when(Comparison::Above, threshold)
    }
    /// Alarm when the signal is below `threshold`.
    pub fn below(self, threshold: f64) -> Alarm {
        self.when(Comparison::Below, threshold)
    }
    /// Alarm on `comparison` with `threshold`.
    pub fn when(mut self, comparison: Comparison, threshold: f64) -> Alarm {
        self.comparison = comparison;
        self.threshold = threshold;
        self
    }
    /// Held for `minutes` one-minute periods in a row.
    pub fn for_minutes(self, minutes: u32) -> Alarm {
        self.periods(60, minutes)
    }
    /// Held for `evaluations` periods of `period_secs` (10, 30 or a multiple of 60).
    pub fn periods(mut self, period_secs: u32, evaluations: u32) -> Alarm {
        self.period_secs = period_secs;
        self.evaluation_periods = evaluations;
        self
    }
    /// Alarm when `n` of the evaluated periods breach (`n` of M), rather than all of them.
    pub fn datapoints(mut self, n: u32) -> Alarm {
        self.datapoints = Some(n);
        self
    }
    /// What a period without data counts as.
    pub fn missing(mut self, missing: Missing) -> Alarm {
        self.missing = missing;
        self
    }
    /// The alarm's description (shown in notifications).
    pub fn describe(mut self, text: impl Into<String>) -> Alarm {
        self.description = text.into();
        self
    }
    /// Notify `topic` when the alarm fires and when it recovers.
    pub fn notify(mut self, topic: &TopicHandle) -> Alarm {
        self.topic = Some(topic.clone());
        self
    }
    /// The logical id.
    pub fn logical_id(&self) -> &str {
        &self.logical_id
    }
    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }
    /// The signal.
    pub fn signal(&self) -> &Signal {
        &self.signal
    }

    pub(crate) fn nodes(&self) -> Vec<NodeId> {
        let mut n: Vec<NodeId> = self
            .signal
            .metrics()
            .iter()
            .flat_map(|m| m.nodes())
            .collect();
        n.extend(self.topic.as_ref().map(|t| t.node()));
        n.sort_by_key(|n| n.index());
        n.dedup();
        n
    }

    /// Every rule an alarm must keep, checked before any API call.
    pub(crate) fn validate(&self, env: &Environment) -> Result<()> {
        let field = |f: &str| format!("alarm.{}.{f}", self.logical_id);
        skyforge_core::naming::validate_logical_id(&field("logical_id"), &self.logical_id)?;
        skyforge_core::naming::physical_name(
            env,
            skyforge_core::naming::NameKind::Alarm,
            &self.logical_id,
        )?;
        if !matches!(self.period_secs, 10 | 30)
            && (self.period_secs == 0 || !self.period_secs.is_multiple_of(60))
        {
            return Err(Error::validation(
                field("period_secs"),
                self.period_secs.to_string(),
                "CloudWatch accepts 10, 30 or a multiple of 60 seconds",
            ));
        }
        if self.evaluation_periods == 0 {
            return Err(Error::validation(
                field("evaluation_periods"),
                "0",
                "at least one period",
            ));
        }
        if u64::from(self.period_secs) * u64::from(self.evaluation_periods) > 86_400 {
            return Err(Error::validation(
                field("evaluation_periods"),
                self.evaluation_periods.to_string(),
                "periods times evaluations may not exceed one day (86400 s)",
            ));
        }
        if let Some(n) = self.datapoints
            && (n == 0 || n > self.evaluation_periods)
        {
            return Err(Error::validation(
                field("datapoints"),
                n.to_string(),
                format!(
                    "between 1 and the {} evaluated periods",
                    self.evaluation_periods
                ),
            ));
        }
        if !self.threshold.is_finite() {
            return Err(Error::validation(
                field("threshold"),
                self.threshold.to_string(),
                "a finite number",
            ));
        }
        self.validate_signal(&field)?;
        if self.description.len() > 1024 {
            return Err(Error::validation(
                field("description"),
                format!("({} characters)", self.description.len()),
                "at most 1024 characters",
            ));
        }
        Ok(())
    }

    fn validate_signal(&self, field: &dyn Fn(&str) -> String) -> Result<()> {
        for m in self.signal.metrics() {
            if let crate::metric::Stat::Percentile(p) = m.statistic {
                if !(p > 0.0 && p < 100.0) {
                    return Err(Error::validation(
                        field("statistic"),
                        format!("p{p}"),
                        "a percentile strictly between 0 and 100",
                    ));
                }
                if matches!(self.signal, Signal::Percent { .. }) {
                    return Err(Error::validation(
                        field("statistic"),
                        format!("p{p}"),
                        "a percentage of two metrics divides sums or averages, not percentiles",
                    ));
                }
            }
        }
        if let Signal::Percent {
            numerator,
            denominator,
        } = &self.signal
        {
            if !(0.0..=100.0).contains(&self.threshold) {
                return Err(Error::validation(
                    field("threshold"),
                    self.threshold.to_string(),
                    "a percentage is between 0 and 100",
                ));
            }
            if numerator.namespace != denominator.namespace {
                return Err(Error::validation(
                    field("signal"),
                    format!("{} / {}", numerator.namespace, denominator.namespace),
                    "both metrics of a percentage come from one namespace",
                ));
            }
        }
        Ok(())
    }
}
