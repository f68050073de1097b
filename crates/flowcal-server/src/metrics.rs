//! `/metrics`: what an operator watches, in Prometheus text format.

use crate::calendar_sync::CalendarSync;
use crate::delivery::Delivery;
use crate::error::AppResult;
use crate::retention::Retention;
use flowcal_store::Store;
use jiff::Timestamp;

/// `/metrics`: exports by state and kind, the oldest due pending export,
/// this process's deliveries, the read lag of calendars and this process's
/// reads by kind, the waiting timers, and the rows this
/// process's retention sweep deleted, and on SQLite the rows its statements
/// read in full table scans, in Prometheus text format.
pub async fn render(
    store: &Store,
    now: Timestamp,
    delivery: &Delivery,
    reads: &CalendarSync,
    retention: &Retention,
) -> AppResult<String> {
    use std::fmt::Write as _;
    let (states, oldest) = store.export_stats(now).await?;
    let mut out = String::new();
    let _ = writeln!(out, "# HELP flowcal_exports Calendar exports by state and connector kind.");
    let _ = writeln!(out, "# TYPE flowcal_exports gauge");
    for (state, kind, n) in states {
        let _ = writeln!(out, "flowcal_exports{{state=\"{state}\",kind=\"{kind}\"}} {n}");
    }
    let _ = writeln!(out, "# HELP flowcal_exports_oldest_pending_seconds Age of the oldest export due for delivery.");
    let _ = writeln!(out, "# TYPE flowcal_exports_oldest_pending_seconds gauge");
    let _ = writeln!(out, "flowcal_exports_oldest_pending_seconds {}", oldest.unwrap_or(0) as f64 / 1000.0);
    let _ = writeln!(out, "# HELP flowcal_deliveries_total Deliveries by this process, by outcome and connector kind.");
    let _ = writeln!(out, "# TYPE flowcal_deliveries_total counter");
    let counts = delivery.counts();
    for ((what, kind), n) in counts {
        let _ = writeln!(out, "flowcal_deliveries_total{{outcome=\"{what}\",kind=\"{kind}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP flowcal_calendar_read_lag_seconds Longest time since an account's calendar was read, by connector kind."
    );
    let _ = writeln!(out, "# TYPE flowcal_calendar_read_lag_seconds gauge");
    for (kind, ms) in store.read_lag(now).await? {
        let _ = writeln!(out, "flowcal_calendar_read_lag_seconds{{kind=\"{kind}\"}} {}", ms as f64 / 1000.0);
    }
    let _ = writeln!(
        out,
        "# HELP flowcal_calendar_reads_total Reads of calendars by this process, by connector kind and outcome."
    );
    let _ = writeln!(out, "# TYPE flowcal_calendar_reads_total counter");
    for (kind, (n, failed)) in reads.counts() {
        let _ = writeln!(out, "flowcal_calendar_reads_total{{kind=\"{kind}\",outcome=\"read\"}} {}", n - failed);
        let _ = writeln!(out, "flowcal_calendar_reads_total{{kind=\"{kind}\",outcome=\"failed\"}} {failed}");
    }
    let (timers, overdue) = store.timer_stats(now).await?;
    let _ = writeln!(out, "# HELP flowcal_timers Timers of process models waiting to fire.");
    let _ = writeln!(out, "# TYPE flowcal_timers gauge");
    let _ = writeln!(out, "flowcal_timers {timers}");
    let _ = writeln!(out, "# HELP flowcal_timers_overdue_seconds How long ago the earliest timer due came due.");
    let _ = writeln!(out, "# TYPE flowcal_timers_overdue_seconds gauge");
    let _ = writeln!(out, "flowcal_timers_overdue_seconds {}", overdue.unwrap_or(0) as f64 / 1000.0);
    let _ = writeln!(
        out,
        "# HELP flowcal_retention_deleted_total Rows the retention sweep of this process deleted, by table."
    );
    let _ = writeln!(out, "# TYPE flowcal_retention_deleted_total counter");
    for (table, n) in retention.deleted() {
        let _ = writeln!(out, "flowcal_retention_deleted_total{{table=\"{table}\"}} {n}");
    }
    if let Some(steps) = store.sqlite_full_scan_steps() {
        let _ = writeln!(
            out,
            "# HELP flowcal_sqlite_full_scan_steps_total Rows this process's SQLite statements stepped through in full table scans."
        );
        let _ = writeln!(out, "# TYPE flowcal_sqlite_full_scan_steps_total counter");
        let _ = writeln!(out, "flowcal_sqlite_full_scan_steps_total {steps}");
    }
    Ok(out)
}
