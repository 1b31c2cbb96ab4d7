//! AWS time windows (RDS, ElastiCache): the daily backup or snapshot window
//! (`hh24:mi-hh24:mi`, UTC) and the weekly maintenance window (`ddd:hh24:mi-ddd:hh24:mi`, UTC),
//! parsed, checked and compared.

use crate::error::{Error, Result};

/// When changes a service can defer to the maintenance window are made (RDS, ElastiCache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyMode {
    /// Now (`ApplyImmediately`): the resource goes through `modifying` during the apply, with
    /// whatever interruption the change implies.
    Immediately,
    /// In the next maintenance window; the plan shows such changes as pending until then and
    /// never sends them again.
    MaintenanceWindow,
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const WEEK: u32 = 7 * 24 * 60;
const DAY: u32 = 24 * 60;

/// A window as minute offsets: `start` and `end` from Monday 00:00 (weekly) or midnight (daily);
/// `end < start` wraps around.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
    period: u32,
}

impl Span {
    fn minutes(&self) -> u32 {
        (self.end + self.period - self.start) % self.period
    }
    /// The minute ranges `[a, b)` this window covers within one week.
    fn week_ranges(&self) -> Vec<(u32, u32)> {
        let repeats = WEEK / self.period;
        let mut out = Vec::new();
        for r in 0..repeats {
            let base = r * self.period;
            let (s, e) = (base + self.start, base + self.start + self.minutes());
            if e <= WEEK {
                out.push((s, e));
            } else {
                out.push((s, WEEK));
                out.push((0, e - WEEK));
            }
        }
        out
    }
    /// Whether two windows share a minute.
    pub fn overlaps(&self, other: &Span) -> bool {
        let a = self.week_ranges();
        let b = other.week_ranges();
        a.iter()
            .any(|(s1, e1)| b.iter().any(|(s2, e2)| s1 < e2 && s2 < e1))
    }
}

fn clock(field: &str, whole: &str, t: &str) -> Result<u32> {
    let bad = || Error::validation(field, whole, "times are hh24:mi in UTC (00:00 to 23:59)");
    let (h, m) = t.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u32 = h.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn check_length(field: &str, whole: &str, span: Span, max_minutes: u32) -> Result<Span> {
    let len = span.minutes();
    if len < 30 {
        return Err(Error::validation(
            field,
            whole,
            "a window lasts at least 30 minutes",
        ));
    }
    if len > max_minutes {
        return Err(Error::validation(
            field,
            whole,
            format!("this window lasts at most {} hours", max_minutes / 60),
        ));
    }
    Ok(span)
}

/// Parse a daily window `hh24:mi-hh24:mi` (at least 30 minutes, less than a day); `field` names
/// the spec field in the error.
pub fn daily(field: &str, w: &str) -> Result<Span> {
    let (a, b) = w
        .split_once('-')
        .ok_or_else(|| Error::validation(field, w, "a backup window is hh24:mi-hh24:mi in UTC"))?;
    let span = Span {
        start: clock(field, w, a)?,
        end: clock(field, w, b)?,
        period: DAY,
    };
    check_length(field, w, span, DAY - 1)
}

fn weekday_time(field: &str, whole: &str, part: &str) -> Result<u32> {
    let bad = || {
        Error::validation(
            field,
            whole,
            "a maintenance window is ddd:hh24:mi-ddd:hh24:mi in UTC (ddd: mon to sun)",
        )
    };
    let (d, t) = part.split_once(':').ok_or_else(bad)?;
    let day = DAYS
        .iter()
        .position(|x| x.eq_ignore_ascii_case(d))
        .ok_or_else(bad)? as u32;
    Ok(day * DAY + clock(field, whole, t)?)
}

/// Parse a weekly maintenance window `ddd:hh24:mi-ddd:hh24:mi` (30 minutes to 24 hours).
pub fn weekly(field: &str, w: &str) -> Result<Span> {
    // "sun:02:00-sun:04:00": the separator is the only '-'.
    let (a, b) = w.split_once('-').ok_or_else(|| {
        Error::validation(
            field,
            w,
            "a maintenance window is ddd:hh24:mi-ddd:hh24:mi in UTC (ddd: mon to sun)",
        )
    })?;
    let span = Span {
        start: weekday_time(field, w, a)?,
        end: weekday_time(field, w, b)?,
        period: WEEK,
    };
    check_length(field, w, span, DAY)
}

/// AWS's own spelling of a weekly window (lowercase day names), for comparison with what a
/// Describe call reports.
pub fn normalise(w: &str) -> String {
    w.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_measures() {
        assert_eq!(daily("f", "03:00-03:30").unwrap().minutes(), 30);
        assert_eq!(daily("f", "23:30-00:30").unwrap().minutes(), 60);
        assert_eq!(weekly("f", "Sun:02:00-Sun:04:00").unwrap().minutes(), 120);
        assert_eq!(weekly("f", "sun:23:00-mon:01:00").unwrap().minutes(), 120);
    }

    #[test]
    fn refuses_malformed_and_short() {
        assert!(daily("f", "3:00-03:30").is_err());
        assert!(daily("f", "03:00-03:10").is_err());
        assert!(daily("f", "24:00-01:00").is_err());
        assert!(weekly("f", "sunday:02:00-sun:04:00").is_err());
        assert!(weekly("f", "sun:02:00-sun:02:15").is_err());
        assert!(weekly("f", "mon:02:00-tue:04:00").is_err());
    }

    #[test]
    fn overlap_across_days_and_midnight() {
        let maint = weekly("m", "sun:02:00-sun:04:00").unwrap();
        assert!(daily("b", "03:00-03:30").unwrap().overlaps(&maint));
        assert!(!daily("b", "04:00-04:30").unwrap().overlaps(&maint));
        assert!(daily("b", "23:30-02:30").unwrap().overlaps(&maint));
        let wrap = weekly("m", "sun:23:30-mon:00:30").unwrap();
        assert!(daily("b", "00:00-00:30").unwrap().overlaps(&wrap));
        assert!(!daily("b", "01:00-01:30").unwrap().overlaps(&wrap));
    }
}
