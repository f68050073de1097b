//! Pages of lists: what a caller asks for and what it gets back.
//!
//! Every list is read by keyset: `(sort key, id) > (last key, last id)
//! ORDER BY sort key, id LIMIT n + 1`, from an index that holds the rows in
//! that order (migration `0010_paging`), so a page costs the same however
//! deep it lies and rows added or removed between pages neither repeat nor
//! skip the others. The extra row says whether another page follows.

use flowcal_domain::Deadline;
use jiff::tz::TimeZone;

/// The most rows any page holds.
pub const MAX_PAGE: usize = 200;

/// Where a list that may be long stops counting (per way in, for a user's
/// tasks): counting every one of 50,000 matching rows would cost each page
/// more than reading it. Past it [`Page::total`] is a lower bound.
pub const COUNT_CAP: i64 = 1_000;

/// A page of rows, in the list's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Whether rows follow the last one.
    pub more: bool,
    /// All the rows the list holds, where counting them is cheap.
    pub total: Option<i64>,
    /// Whether `total` is the count itself; else the list holds at least
    /// that many (counting stopped at [`COUNT_CAP`]).
    pub total_exact: bool,
}

impl<T> Page<T> {
    /// From up to `limit + 1` rows read: the extra one only says that more follow.
    pub(crate) fn from_rows(mut items: Vec<T>, limit: usize, total: Option<i64>) -> Self {
        let more = items.len() > limit;
        items.truncate(limit);
        Page { items, more, total, total_exact: true }
    }
}

/// A page size as the statement's `LIMIT` (one more, to see whether more follow).
pub(crate) fn fetch(limit: usize) -> (usize, i64) {
    let limit = limit.clamp(1, MAX_PAGE);
    (limit, i64::try_from(limit + 1).unwrap_or(i64::MAX))
}

/// The key tasks are sorted by for "earliest deadline first": an instant's
/// milliseconds, the start of a date's day in UTC, and after all of them
/// (`i64::MAX`) a task without a deadline. Stored as `tasks.deadline_sort`.
pub fn deadline_sort_key(d: Option<&Deadline>) -> i64 {
    match d {
        None => i64::MAX,
        Some(Deadline::At { at, .. }) => at.as_millisecond(),
        Some(Deadline::Date(date)) => date.to_zoned(TimeZone::UTC).map_or(i64::MAX, |z| z.timestamp().as_millisecond()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_sort_at_the_start_of_their_day_in_utc_and_none_last() {
        let date = Deadline::Date("2026-03-27".parse().unwrap());
        let at = Deadline::At { at: "2026-03-27T00:00:00Z".parse().unwrap(), zone: "Europe/Berlin".into() };
        assert_eq!(deadline_sort_key(Some(&date)), deadline_sort_key(Some(&at)));
        assert_eq!(deadline_sort_key(Some(&date)), 1_774_569_600_000);
        assert_eq!(deadline_sort_key(None), i64::MAX);
    }
}
