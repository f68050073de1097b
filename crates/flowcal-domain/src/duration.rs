//! ISO 8601 durations as used in deadline rules: `P3D`, `PT4H`, `P1W`,
//! `P1DT12H`, and signed offsets such as `-P1D`.

use jiff::Span;
use std::fmt;

/// A parsed ISO 8601 duration. Calendar units (years, months, weeks, days) and
/// clock units (hours, minutes, seconds) are kept apart, because adding a day
/// keeps the wall-clock time across a DST change while adding 24 hours does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IsoDuration {
    pub negative: bool,
    pub years: i64,
    pub months: i64,
    pub weeks: i64,
    pub days: i64,
    pub hours: i64,
    pub minutes: i64,
    pub seconds: i64,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("'{text}' is not an ISO 8601 duration ({reason}); write for example P3D, PT4H, P1DT12H or -P1D")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

impl IsoDuration {
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let err = |reason| DurationError { text: text.to_owned(), reason };
        let mut s = text.trim();
        let mut d = IsoDuration::default();
        if let Some(rest) = s.strip_prefix('-') {
            d.negative = true;
            s = rest;
        } else if let Some(rest) = s.strip_prefix('+') {
            s = rest;
        }
        let s = s.strip_prefix('P').ok_or_else(|| err("it must start with P"))?;
        if s.is_empty() {
            return Err(err("it has no amount"));
        }
        let mut in_time = false;
        let mut num = String::new();
        let mut any = false;
        let mut last_rank = 0u8;
        for c in s.chars() {
            match c {
                '0'..='9' => num.push(c),
                'T' => {
                    if in_time || !num.is_empty() {
                        return Err(err("a misplaced T"));
                    }
                    in_time = true;
                }
                unit => {
                    if num.is_empty() {
                        return Err(err("a unit without a number"));
                    }
                    let n: i64 = num.parse().map_err(|_| err("a number too large"))?;
                    num.clear();
                    let (slot, rank) = match (in_time, unit) {
                        (false, 'Y') => (&mut d.years, 1),
                        (false, 'M') => (&mut d.months, 2),
                        (false, 'W') => (&mut d.weeks, 3),
                        (false, 'D') => (&mut d.days, 4),
                        (true, 'H') => (&mut d.hours, 5),
                        (true, 'M') => (&mut d.minutes, 6),
                        (true, 'S') => (&mut d.seconds, 7),
                        _ => return Err(err("an unknown unit")),
                    };
                    if rank <= last_rank {
                        return Err(err("units out of order"));
                    }
                    // Years stay within what a span can hold (19,998); dates end at 9999 anyway.
                    if n > if rank == 1 { 10_000 } else { 100_000 } {
                        return Err(err("a number too large"));
                    }
                    last_rank = rank;
                    *slot = n;
                    any = true;
                }
            }
        }
        if !num.is_empty() {
            return Err(err("a number without a unit"));
        }
        if !any {
            return Err(err("it has no amount"));
        }
        if in_time && last_rank < 5 {
            return Err(err("a T without hours, minutes or seconds"));
        }
        Ok(d)
    }

    /// Whether hours, minutes or seconds are present.
    pub fn has_clock_part(&self) -> bool {
        self.hours != 0 || self.minutes != 0 || self.seconds != 0
    }

    /// The duration as a jiff span (calendar units stay calendar units).
    pub fn to_span(&self) -> Span {
        let sign = if self.negative { -1 } else { 1 };
        // Years are at most 10,000 and the other fields at most 100,000 (checked
        // in parse), inside jiff's limits (19,998 years, 239,976 months, …).
        Span::new()
            .years(sign * self.years)
            .months(sign * self.months)
            .weeks(sign * self.weeks)
            .days(sign * self.days)
            .hours(sign * self.hours)
            .minutes(sign * self.minutes)
            .seconds(sign * self.seconds)
    }
}

impl fmt::Display for IsoDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negative {
            f.write_str("-")?;
        }
        f.write_str("P")?;
        for (n, u) in [(self.years, 'Y'), (self.months, 'M'), (self.weeks, 'W'), (self.days, 'D')] {
            if n != 0 {
                write!(f, "{n}{u}")?;
            }
        }
        if self.has_clock_part() {
            f.write_str("T")?;
            for (n, u) in [(self.hours, 'H'), (self.minutes, 'M'), (self.seconds, 'S')] {
                if n != 0 {
                    write!(f, "{n}{u}")?;
                }
            }
        }
        if !self.has_clock_part() && self.years == 0 && self.months == 0 && self.weeks == 0 && self.days == 0 {
            f.write_str("T0S")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let d = IsoDuration::parse("P3D").unwrap();
        assert_eq!((d.days, d.negative), (3, false));
        let d = IsoDuration::parse("PT4H").unwrap();
        assert_eq!(d.hours, 4);
        assert!(d.has_clock_part());
        let d = IsoDuration::parse("-P1D").unwrap();
        assert!(d.negative);
        assert_eq!(d.to_string(), "-P1D");
        let d = IsoDuration::parse("P1Y2M3W4DT5H6M7S").unwrap();
        assert_eq!(d.to_string(), "P1Y2M3W4DT5H6M7S");
    }

    #[test]
    fn every_parsed_duration_fits_a_span() {
        // Found by fuzzing: P20260Y parsed, and to_span panicked (a span holds 19,998 years).
        for text in ["P10000Y", "P20260Y", "-P100000Y", "P100000M", "P100000W", "P100000D", "PT100000H", "PT100000S"] {
            if let Ok(d) = IsoDuration::parse(text) {
                let _ = d.to_span();
            }
        }
        assert!(IsoDuration::parse("P10000Y").is_ok());
        assert_eq!(IsoDuration::parse("P10001Y").map_err(|e| e.reason), Err("a number too large"));
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in ["", "3D", "P", "PT", "P3", "PD", "P3H", "PT3D", "P1D2Y", "P1DT", "3 days", "P99999999999D"] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
