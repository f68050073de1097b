//! Calendar exports and their delivery.
//!
//! One row per (account, source) holds what the calendar should show
//! (`wanted`: present or absent) and how far delivery got. The row is the
//! outbox too: requesting a change sets it `pending` in the same transaction,
//! so several changes before delivery collapse into one call with the latest
//! content, and a removal can never overtake the creation of the same source.
//! Workers claim due rows with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`);
//! a crashed worker's lease runs out and the row is claimed again. A worker
//! records its result only for the version it delivered.

use crate::db::{mark_outbox, params, Conn, Param, Row};
use crate::feed_version::{touch_instance, touch_user};
use crate::rows::ts;
use crate::{Backend, Store, StoreError};
use flowcal_domain::export::{
    auto_sync_plan, AutoSyncChoice, AutoSyncPlan, ExportSource, ExportState, SyncScope, SyncTask, SyncedExport, Wanted,
};
use flowcal_domain::{InstanceId, TaskId, TaskState, UserId};
use jiff::Timestamp;

/// An export as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRecord {
    pub id: i64,
    pub user_id: UserId,
    pub account_id: i64,
    pub source: ExportSource,
    pub task_id: Option<i64>,
    pub instance_id: i64,
    pub event_key: String,
    pub wanted: Wanted,
    pub state: ExportState,
    pub version: i64,
    pub calendar: Option<String>,
    pub remote_id: Option<String>,
    pub etag: Option<String>,
    pub content_hash: Option<String>,
    pub sequence: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub not_before: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Where the entry starts as flowcal last wrote it (`When::stored`).
    pub written_start: Option<String>,
    /// A move in the calendar waiting for the user's decision: the start the
    /// calendar has, which delivery keeps meanwhile.
    pub held_start: Option<String>,
}

/// What pressing the button asks for.
#[derive(Debug, Clone)]
pub struct NewExport {
    pub user_id: UserId,
    pub account_id: i64,
    pub source: ExportSource,
    pub task_id: Option<i64>,
    pub instance_id: i64,
    pub event_key: String,
}

/// How a delivery ended.
#[derive(Debug, Clone)]
pub enum ExportOutcome {
    /// The entry is on the calendar with this content, starting at `start`
    /// (`When::stored`); `held`: the move in the calendar still waiting for
    /// the user's decision, if any.
    Delivered {
        calendar: String,
        remote_id: String,
        etag: Option<String>,
        content_hash: String,
        sequence: i64,
        start: String,
        held: Option<String>,
    },
    /// The entry is gone from the calendar.
    Removed,
    /// Try again at `not_before`.
    Retry { attempts: i64, not_before: Timestamp, error: String },
    /// No more attempts (or an error retrying cannot fix).
    Failed { attempts: i64, error: String },
    /// The account needs reconnecting; the export waits, its attempts untouched.
    Waiting { error: String },
}

pub(crate) const COLUMNS: &str =
    "e.id, e.user_id, e.account_id, e.source, e.task_id, e.instance_id, e.event_key, e.wanted, \
     e.state, e.version, e.calendar, e.remote_id, e.etag, e.content_hash, e.sequence, e.attempts, e.last_error, \
     e.not_before, e.created_at, e.updated_at, e.written_start, e.held_start";

pub(crate) fn record(r: &Row) -> Result<ExportRecord, StoreError> {
    Ok(ExportRecord {
        id: r.int("id")?,
        user_id: UserId(r.int("user_id")?),
        account_id: r.int("account_id")?,
        source: parsed(r, "source", ExportSource::parse)?,
        task_id: r.opt_int("task_id")?,
        instance_id: r.int("instance_id")?,
        event_key: r.text("event_key")?,
        wanted: parsed(r, "wanted", Wanted::parse)?,
        state: parsed(r, "state", ExportState::parse)?,
        version: r.int("version")?,
        calendar: r.opt_text("calendar")?,
        remote_id: r.opt_text("remote_id")?,
        etag: r.opt_text("etag")?,
        content_hash: r.opt_text("content_hash")?,
        sequence: r.int("sequence")?,
        attempts: r.int("attempts")?,
        last_error: r.opt_text("last_error")?,
        not_before: ts(r.int("not_before")?)?,
        created_at: ts(r.int("created_at")?)?,
        updated_at: ts(r.int("updated_at")?)?,
        written_start: r.opt_text("written_start")?,
        held_start: r.opt_text("held_start")?,
    })
}

/// A column of stored words, read into its type; other text is damage.
fn parsed<T>(r: &Row, column: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, StoreError> {
    let text = r.text(column)?;
    parse(&text).ok_or_else(|| StoreError::Corrupt(format!("exports.{column} holds '{}'", text.escape_debug())))
}

pub(crate) fn by_id(c: &mut dyn Conn, id: i64) -> Result<Option<ExportRecord>, StoreError> {
    c.query_opt(&format!("SELECT {COLUMNS} FROM exports e WHERE e.id = $1"), params![id])?
        .map(|r| record(&r))
        .transpose()
}

impl Store {
    /// Asks for the entry of a source to be (or stay) on the account's
    /// calendar with its current content: a new export, or the same one made
    /// pending again (pressing the button twice updates, never duplicates).
    pub async fn request_export(&self, n: NewExport, now: Timestamp) -> Result<ExportRecord, StoreError> {
        self.tx(move |c| {
            let now = now.as_millisecond();
            // One statement, so two presses at once cannot both insert. The
            // content hash is forgotten: pressing again always sends the entry
            // (it may have been deleted at the calendar by hand).
            let id = c
                .query_one(
                    "INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, wanted,
                                          state, not_before, created_at, updated_at)
                     VALUES ($1, $2, $3, $4, $5, $6, 'present', 'pending', $7, $7, $7)
                     ON CONFLICT (account_id, source) DO UPDATE SET wanted = 'present', state = 'pending',
                            version = exports.version + 1, attempts = 0, last_error = NULL, content_hash = NULL,
                            not_before = $7, updated_at = $7
                     RETURNING id",
                    params![
                        n.user_id.0,
                        n.account_id,
                        n.source.to_string(),
                        n.task_id,
                        n.instance_id,
                        &n.event_key,
                        now
                    ],
                )?
                .int("id")?;
            mark_outbox(c)?;
            touch_user(c, n.user_id, now)?;
            by_id(c, id)?.ok_or_else(|| StoreError::Corrupt(format!("export {id} vanished")))
        })
        .await
    }

    /// Asks for the entry to be removed from the calendar.
    pub async fn request_removal(&self, id: i64, now: Timestamp) -> Result<Option<ExportRecord>, StoreError> {
        self.tx(move |c| {
            c.execute(
                "UPDATE exports SET wanted = 'absent', state = 'pending', version = version + 1, attempts = 0,
                        last_error = NULL, not_before = $2, updated_at = $2
                 WHERE id = $1",
                params![id, now.as_millisecond()],
            )?;
            mark_outbox(c)?;
            let e = by_id(c, id)?;
            if let Some(e) = &e {
                touch_user(c, e.user_id, now.as_millisecond())?;
            }
            Ok(e)
        })
        .await
    }

    /// A failed export goes out again; one deleted in the calendar is added again.
    pub async fn retry_export(&self, id: i64, now: Timestamp) -> Result<Option<ExportRecord>, StoreError> {
        self.tx(move |c| {
            c.execute(
                "UPDATE exports SET state = 'pending', attempts = 0, not_before = $2, updated_at = $2,
                        version = version + 1, content_hash = NULL, last_error = NULL
                 WHERE id = $1 AND (state = 'failed' OR (state = 'removed_in_calendar' AND wanted = 'present'))",
                params![id, now.as_millisecond()],
            )?;
            mark_outbox(c)?;
            by_id(c, id)
        })
        .await
    }

    pub async fn export(&self, id: i64) -> Result<Option<ExportRecord>, StoreError> {
        self.read(move |c| by_id(c, id)).await
    }

    pub async fn exports_of(&self, user: UserId) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            c.query(&format!("SELECT {COLUMNS} FROM exports e WHERE e.user_id = $1 ORDER BY e.id"), params![user.0])?
                .iter()
                .map(record)
                .collect()
        })
        .await
    }

    /// The user's exports of one instance (its tasks' deadlines and its
    /// items), by id: what a task page shows.
    pub async fn exports_of_instance(
        &self,
        user: UserId,
        instance: InstanceId,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                &format!("SELECT {COLUMNS} FROM exports e WHERE e.instance_id = $1 AND e.user_id = $2 ORDER BY e.id"),
                params![instance.0, user.0],
            )?
            .iter()
            .map(record)
            .collect()
        })
        .await
    }

    /// A page of the user's exports, by id, after the export `after`.
    pub async fn exports_page(
        &self,
        user: UserId,
        after: Option<i64>,
        limit: usize,
    ) -> Result<crate::Page<ExportRecord>, StoreError> {
        let (limit, fetch) = crate::paging::fetch(limit);
        self.read(move |c| {
            let total =
                c.query_one("SELECT COUNT(*) AS n FROM exports WHERE user_id = $1", params![user.0])?.int("n")?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {COLUMNS} FROM exports e WHERE e.user_id = $1 AND e.id > $2 ORDER BY e.id LIMIT $3"
                    ),
                    params![user.0, after.unwrap_or(0), fetch],
                )?
                .iter()
                .map(record)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(crate::Page::from_rows(rows, limit, Some(total)))
        })
        .await
    }

    /// Claims up to `limit` due exports of active accounts for `owner` until `until`.
    pub async fn claim_exports(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        let owner = owner.to_owned();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE OF e SKIP LOCKED",
            Backend::Sqlite => "",
        };
        self.tx(move |c| {
            // The claimed rows come back from the UPDATE itself.
            let sql = format!(
                "UPDATE exports SET lease_owner = $1, lease_until = $2
                 WHERE id IN (SELECT e.id FROM exports e JOIN calendar_accounts a ON a.id = e.account_id
                              WHERE e.state = 'pending' AND e.not_before <= $3
                                AND (e.lease_until IS NULL OR e.lease_until < $3) AND a.status = 'active'
                              ORDER BY e.not_before, e.id LIMIT $4 {lock})
                 RETURNING {}",
                COLUMNS.replace("e.", "")
            );
            let mut out = c
                .query(&sql, params![owner, until.as_millisecond(), now.as_millisecond(), limit])?
                .iter()
                .map(record)
                .collect::<Result<Vec<_>, _>>()?;
            out.sort_by_key(|r| (r.not_before, r.id));
            Ok(out)
        })
        .await
    }

    /// Makes sure `owner` still holds each claimed export (`(id, version)`),
    /// unchanged since it was claimed, and extends the lease for its
    /// delivery: one answer per export, false (and the lease given back) when
    /// not; such an export is delivered by a later claim. One transaction.
    pub async fn renew_claims(
        &self,
        owner: &str,
        claims: &[(i64, i64)],
        now: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<bool>, StoreError> {
        let owner = owner.to_owned();
        let claims = claims.to_vec();
        self.tx(move |c| {
            let mut held = Vec::with_capacity(claims.len());
            for (id, version) in claims {
                let n = c.execute(
                    "UPDATE exports SET lease_until = $4
                     WHERE id = $1 AND lease_owner = $2 AND version = $3 AND lease_until >= $5",
                    params![id, &owner, version, until.as_millisecond(), now.as_millisecond()],
                )?;
                if n == 0 {
                    c.execute(
                        "UPDATE exports SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                        params![id, &owner],
                    )?;
                }
                held.push(n == 1);
            }
            Ok(held)
        })
        .await
    }

    /// Gives back the leases `owner` holds on the exports `ids` (claimed,
    /// not started: another worker may take them at once).
    pub async fn release_claims(&self, owner: &str, ids: &[i64]) -> Result<u64, StoreError> {
        let (owner, ids) = (owner.to_owned(), ids.to_vec());
        self.tx(move |c| {
            let mut released = 0;
            for id in ids {
                released += c.execute(
                    "UPDATE exports SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                    params![id, &owner],
                )?;
            }
            Ok(released)
        })
        .await
    }

    /// Gives back every export lease whose owner starts with `prefix` (a
    /// stopping process's workers): returns how many.
    pub async fn hand_back_exports(&self, prefix: &str) -> Result<u64, StoreError> {
        let prefix = prefix.to_owned();
        self.read(move |c| {
            Ok(c.execute(
                "UPDATE exports SET lease_owner = NULL, lease_until = NULL
                 WHERE lease_owner IS NOT NULL AND substr(lease_owner, 1, $2) = $1",
                params![&prefix, i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX)],
            )?)
        })
        .await
    }

    /// Records how the deliveries of `(id, version)` ended and gives their
    /// leases back, in one transaction: one answer per export, false when the
    /// lease was no longer `owner`'s (nothing recorded for it). A change made
    /// meanwhile keeps an export pending for its next delivery.
    pub async fn finish_exports(
        &self,
        owner: &str,
        results: Vec<(i64, i64, ExportOutcome)>,
        now: Timestamp,
    ) -> Result<Vec<bool>, StoreError> {
        let owner = owner.to_owned();
        self.tx(move |c| {
            let now = now.as_millisecond();
            let mut recorded = Vec::with_capacity(results.len());
            for (id, version, outcome) in results {
                recorded.push(finish_one(c, id, &owner, version, outcome, now)? == 1);
            }
            Ok(recorded)
        })
        .await
    }

    /// Turns auto-sync on (with an account) or off for a user, and brings the
    /// user's auto-synced exports in line at once.
    pub async fn set_auto_sync(
        &self,
        user: UserId,
        account: Option<i64>,
        keep_done: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.tx(move |c| {
            c.execute(
                "UPDATE users SET auto_sync_account = $2, auto_sync_keep_done = $3 WHERE id = $1",
                params![user.0, account, i64::from(keep_done)],
            )?;
            sync_user(c, user, now.as_millisecond())
        })
        .await
    }

    /// Brings a user's auto-synced exports in line with their tasks (`flowcal export sync`).
    pub async fn sync_user_exports(&self, user: UserId, now: Timestamp) -> Result<(), StoreError> {
        self.tx(move |c| sync_user(c, user, now.as_millisecond())).await
    }

    /// The user's auto-sync setting: the account and whether done tasks stay.
    pub async fn auto_sync(&self, user: UserId) -> Result<Option<(i64, bool)>, StoreError> {
        self.read(move |c| {
            let r =
                c.query_one("SELECT auto_sync_account, auto_sync_keep_done FROM users WHERE id = $1", params![user.0])?;
            Ok(r.opt_int("auto_sync_account")?.map(|a| (a, r.int("auto_sync_keep_done").unwrap_or(0) != 0)))
        })
        .await
    }

    /// Exports by state and account kind, and the age of the oldest due
    /// pending export (milliseconds), for /metrics.
    pub async fn export_stats(&self, now: Timestamp) -> Result<(Vec<(String, String, i64)>, Option<i64>), StoreError> {
        self.read(move |c| {
            let rows = c
                .query(
                    "SELECT e.state, a.kind, COUNT(*) AS n FROM exports e JOIN calendar_accounts a ON a.id = e.account_id
                     GROUP BY e.state, a.kind ORDER BY e.state, a.kind",
                    &[],
                )?
                .iter()
                .map(|r| Ok((r.text("state")?, r.text("kind")?, r.int("n")?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            let oldest = c
                .query_one(
                    "SELECT MIN(updated_at) AS oldest FROM exports WHERE state = 'pending' AND not_before <= $1",
                    params![now.as_millisecond()],
                )?
                .opt_int("oldest")?
                .map(|t| now.as_millisecond() - t);
            Ok((rows, oldest))
        })
        .await
    }

    // ---- what `flowcal export verify` compares ------------------------------------------------

    /// How many of the account's exports `flowcal export verify` compares
    /// with `calendar` (wanted, delivered there), and how many it leaves
    /// because their entries were deleted in the calendar (respected).
    pub async fn verify_counts(&self, account: i64, calendar: String) -> Result<(i64, i64), StoreError> {
        self.read(move |c| {
            let r = c.query_one(
                "SELECT COALESCE(SUM(CASE WHEN state = 'synced' AND calendar = $2 THEN 1 ELSE 0 END), 0) AS synced,
                        COALESCE(SUM(CASE WHEN state = 'removed_in_calendar' THEN 1 ELSE 0 END), 0) AS respected
                 FROM exports WHERE account_id = $1 AND wanted = 'present'",
                params![account, calendar],
            )?;
            Ok((r.int("synced")?, r.int("respected")?))
        })
        .await
    }

    /// A page of the account's exports whose entries should be in
    /// `calendar` as flowcal last wrote them (wanted, delivered there), by
    /// id after the export `after`.
    pub async fn exports_to_verify(
        &self,
        account: i64,
        calendar: String,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM exports e WHERE e.account_id = $1 AND e.calendar = $2
                       AND e.wanted = 'present' AND e.state = 'synced' AND e.id > $3 ORDER BY e.id LIMIT $4"
                ),
                params![account, calendar, after, limit],
            )?
            .iter()
            .map(record)
            .collect()
        })
        .await
    }

    /// The exports whose key or remote id is one of `ids`: `user`'s, or
    /// anyone's (`None`), whatever their state, by id. Matched 200 ids a
    /// statement.
    pub async fn exports_with_ids(
        &self,
        user: Option<UserId>,
        ids: Vec<String>,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            let mut out = Vec::new();
            for chunk in ids.chunks(200) {
                let mut p: Vec<Param> = Vec::with_capacity(chunk.len() + 1);
                let whose = match user {
                    Some(u) => {
                        p.push(Param::from(u.0));
                        "e.user_id = $1 AND"
                    }
                    None => "",
                };
                let list: Vec<String> = chunk
                    .iter()
                    .map(|id| {
                        p.push(Param::from(id.as_str()));
                        format!("${}", p.len())
                    })
                    .collect();
                let list = list.join(", ");
                let sql = format!(
                    "SELECT {COLUMNS} FROM exports e WHERE {whose} (e.event_key IN ({list}) OR e.remote_id IN ({list}))
                     ORDER BY e.id"
                );
                for r in c.query(&sql, &p)? {
                    out.push(record(&r)?);
                }
            }
            out.sort_by_key(|e| e.id);
            out.dedup_by_key(|e| e.id);
            Ok(out)
        })
        .await
    }

    /// `flowcal export verify --repair` found the export's entry differing
    /// from what flowcal writes: it goes out again (pending, its content hash
    /// forgotten, so delivery writes it whatever it wrote last), unless it
    /// changed since `version` was read (false then: nothing done).
    pub async fn write_again(&self, id: i64, version: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.tx(move |c| {
            let n = c.execute(
                "UPDATE exports SET state = 'pending', version = version + 1, content_hash = NULL, attempts = 0,
                        last_error = NULL, not_before = $3, updated_at = $3
                 WHERE id = $1 AND version = $2 AND state = 'synced' AND wanted = 'present'",
                params![id, version, now.as_millisecond()],
            )?;
            if n == 1 {
                mark_outbox(c)?;
            }
            Ok(n == 1)
        })
        .await
    }
}

/// Records one delivery's end (see [`Store::finish_exports`]); the rows changed.
fn finish_one(
    c: &mut dyn Conn,
    id: i64,
    owner: &str,
    version: i64,
    outcome: ExportOutcome,
    now: i64,
) -> Result<u64, StoreError> {
    let n = match outcome {
        ExportOutcome::Delivered { calendar, remote_id, etag, content_hash, sequence, start, held } => {
            let n = c.execute(
                "UPDATE exports SET calendar = $4, remote_id = $5, etag = $6, content_hash = $7, sequence = $8,
                        state = CASE WHEN version = $3 THEN 'synced' ELSE 'pending' END,
                        written_start = $10, held_start = CASE WHEN version = $3 THEN $11 ELSE held_start END,
                        attempts = 0, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $9
                 WHERE id = $1 AND lease_owner = $2",
                params![id, owner, version, calendar, remote_id, etag, content_hash, sequence, now, start, held],
            )?;
            if n == 1 {
                // The account's calendar now holds an entry of flowcal's: it is read for changes.
                delivered(c, id, now)?;
            }
            Ok(n)
        }
        ExportOutcome::Removed => c.execute(
            "UPDATE exports SET remote_id = NULL, etag = NULL, content_hash = NULL, held_start = NULL,
                    state = CASE WHEN version = $3 THEN 'removed' ELSE 'pending' END,
                    attempts = 0, last_error = NULL, lease_owner = NULL, lease_until = NULL, updated_at = $4
             WHERE id = $1 AND lease_owner = $2",
            params![id, owner, version, now],
        ),
        // A change made meanwhile goes out at once, with fresh attempts. A
        // failed call may have reached the calendar: the next one sends
        // whatever the content (the hash is forgotten).
        ExportOutcome::Retry { attempts, not_before, error } => c.execute(
            "UPDATE exports SET state = 'pending', content_hash = NULL, last_error = $5,
                    attempts = CASE WHEN version = $3 THEN $4 ELSE 0 END,
                    not_before = CASE WHEN version = $3 THEN CAST($6 AS BIGINT) ELSE CAST($7 AS BIGINT) END,
                    lease_owner = NULL, lease_until = NULL, updated_at = $7
             WHERE id = $1 AND lease_owner = $2",
            params![id, owner, version, attempts, error, not_before.as_millisecond(), now],
        ),
        ExportOutcome::Failed { attempts, error } => c.execute(
            "UPDATE exports SET state = CASE WHEN version = $3 THEN 'failed' ELSE 'pending' END,
                    content_hash = NULL, attempts = CASE WHEN version = $3 THEN $4 ELSE 0 END,
                    last_error = $5, lease_owner = NULL, lease_until = NULL, updated_at = $6
             WHERE id = $1 AND lease_owner = $2",
            params![id, owner, version, attempts, error, now],
        ),
        // Waiting for a reconnect, unless the account was reconnected meanwhile.
        ExportOutcome::Waiting { error } => c.execute(
            "UPDATE exports SET last_error = $3, lease_owner = NULL, lease_until = NULL, updated_at = $4,
                    state = CASE WHEN (SELECT a.status FROM calendar_accounts a WHERE a.id = exports.account_id)
                                      = 'active' THEN 'pending' ELSE 'waiting' END
             WHERE id = $1 AND lease_owner = $2",
            params![id, owner, error, now],
        ),
    };
    Ok(n?)
}

/// An export was delivered: its account's calendar is read for changes
/// from now on (the first read soon, to start its token).
fn delivered(c: &mut dyn Conn, export: i64, now: i64) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO calendar_reads (account_id, due_at, updated_at)
         SELECT account_id, $2, $2 FROM exports WHERE id = $1
         ON CONFLICT (account_id) DO NOTHING",
        params![export, now],
    )?;
    c.execute(
        "UPDATE calendar_accounts SET last_delivered_at = $2 WHERE id = (SELECT account_id FROM exports WHERE id = $1)",
        params![export, now],
    )?;
    Ok(())
}

/// Whose entries put on calendars with the button lose their source.
pub(crate) enum Withdrawn<'a> {
    /// A cancelled task's.
    Task(i64),
    /// A task given to `to`: everyone else's.
    Reassigned { task: i64, to: &'a str },
    /// A cancelled instance's: its deadlines and its dates.
    Instance(i64),
}

/// Asks for button entries whose source is gone to leave their calendars, in
/// the transaction of the change (auto-sync follows through [`sync_instance`]).
pub(crate) fn withdraw_button_exports(c: &mut dyn Conn, what: Withdrawn<'_>, now: i64) -> Result<(), StoreError> {
    const SET: &str = "UPDATE exports SET wanted = 'absent',
                state = CASE WHEN state = 'waiting' THEN 'waiting' ELSE 'pending' END,
                version = version + 1, attempts = 0, last_error = NULL, not_before = $1, updated_at = $1
         WHERE auto = 0 AND wanted = 'present' AND";
    // A task's exports are found through its instance's (`exports_instance_user`).
    const OF_TASK: &str = "instance_id = (SELECT t.instance_id FROM tasks t WHERE t.id = $2) AND task_id = $2";
    let withdrawn = match what {
        Withdrawn::Task(task) => c.execute(&format!("{SET} {OF_TASK}"), params![now, task])?,
        Withdrawn::Reassigned { task, to } => c.execute(
            &format!("{SET} {OF_TASK} AND user_id NOT IN (SELECT id FROM users WHERE login = $3)"),
            params![now, task, to],
        )?,
        Withdrawn::Instance(instance) => c.execute(&format!("{SET} instance_id = $2"), params![now, instance])?,
    };
    if withdrawn > 0 {
        mark_outbox(c)?;
    }
    Ok(())
}

// What auto-sync reads: column lists as macros, so that the statements are
// `&'static str` built at compile time.

/// A task: `t` is the tasks table.
macro_rules! sync_task_select {
    () => {
        "SELECT t.id, t.instance_id, t.state, t.assignee,
                CASE WHEN t.deadline_date IS NOT NULL OR t.deadline_at IS NOT NULL THEN 1 ELSE 0 END AS has_deadline
         FROM tasks t"
    };
}

/// A user's auto-sync setting: `u` is the users table.
macro_rules! sync_user_select {
    () => {
        "SELECT u.id, u.login, u.auto_sync_account, u.auto_sync_keep_done, u.calendar_export FROM users u"
    };
}

/// An export: `e` is the exports table.
macro_rules! synced_export_select {
    () => {
        "SELECT e.id, e.user_id, e.account_id, e.source, e.auto, e.wanted, e.state FROM exports e"
    };
}

/// The tasks a user's auto-sync setting concerns: theirs, and those with an
/// auto-synced entry of theirs (`$1`: the user, `$2`: their login).
macro_rules! tasks_of_user {
    () => {
        "(t.assignee = $2 OR t.id IN (SELECT x.task_id FROM exports x WHERE x.user_id = $1 AND x.auto = 1))"
    };
}

/// Makes an export go out again (`$2`: now). A pending export keeps its
/// attempts and backoff; a waiting one keeps waiting for the reconnect; one
/// deleted in the calendar stays deleted (unless it is withdrawn: then its
/// removal goes out).
macro_rules! requeue {
    () => {
        "state = CASE WHEN state IN ('waiting', 'removed_in_calendar') THEN state ELSE 'pending' END,
         version = version + 1,
         attempts = CASE WHEN state = 'pending' THEN attempts ELSE 0 END,
         not_before = CASE WHEN state = 'pending' AND not_before > $2 THEN not_before ELSE $2 END,
         updated_at = $2"
    };
    (withdraw) => {
        "state = CASE WHEN state = 'waiting' THEN 'waiting' ELSE 'pending' END, version = version + 1,
         attempts = CASE WHEN state = 'pending' THEN attempts ELSE 0 END,
         not_before = CASE WHEN state = 'pending' AND not_before > $2 THEN not_before ELSE $2 END,
         updated_at = $2"
    };
}

/// Brings the exports of an instance in line, in the transaction that
/// changed it; [`auto_sync_plan`] decides, this writes.
pub(crate) fn sync_instance(c: &mut dyn Conn, instance: i64, now: i64) -> Result<(), StoreError> {
    touch_instance(c, instance, now)?;
    let tasks =
        sync_tasks(c, concat!(sync_task_select!(), " WHERE t.instance_id = $1 ORDER BY t.id"), params![instance])?;
    let users = sync_users(
        c,
        concat!(sync_user_select!(), " WHERE u.login IN (SELECT t.assignee FROM tasks t WHERE t.instance_id = $1)"),
        params![instance],
    )?;
    let exports = synced_exports(
        c,
        concat!(synced_export_select!(), " WHERE e.instance_id = $1 ORDER BY e.id"),
        params![instance],
    )?;
    apply_plan(c, &auto_sync_plan(SyncScope::Instance, &tasks, &users, &exports), now)
}

/// The same for a user whose auto-sync setting changed.
fn sync_user(c: &mut dyn Conn, user: UserId, now: i64) -> Result<(), StoreError> {
    let Some(login) = c.query_opt("SELECT login FROM users WHERE id = $1", params![user.0])? else {
        return Ok(());
    };
    let login = login.text("login")?;
    let tasks = sync_tasks(
        c,
        concat!(sync_task_select!(), " WHERE ", tasks_of_user!(), " ORDER BY t.id"),
        params![user.0, &login],
    )?;
    let users = sync_users(
        c,
        concat!(sync_user_select!(), " WHERE u.login IN (SELECT t.assignee FROM tasks t WHERE ", tasks_of_user!(), ")"),
        params![user.0, &login],
    )?;
    // The auto-synced exports of those tasks, of whoever: one with the
    // source of a task names it (the plan matches by source).
    let exports = synced_exports(
        c,
        concat!(
            synced_export_select!(),
            " WHERE e.auto = 1 AND e.instance_id IN (SELECT t.instance_id FROM tasks t WHERE ",
            tasks_of_user!(),
            ") ORDER BY e.id"
        ),
        params![user.0, &login],
    )?;
    let scope = SyncScope::User { id: user, login: &login };
    apply_plan(c, &auto_sync_plan(scope, &tasks, &users, &exports), now)
}

fn sync_tasks(c: &mut dyn Conn, sql: &str, p: &[Param]) -> Result<Vec<SyncTask>, StoreError> {
    c.query(sql, p)?
        .iter()
        .map(|r| {
            let id = r.int("id")?;
            Ok(SyncTask {
                id: TaskId(id),
                instance: InstanceId(r.int("instance_id")?),
                state: TaskState::parse(&r.text("state")?)
                    .ok_or_else(|| StoreError::Corrupt(format!("task {id} state")))?,
                assignee: r.opt_text("assignee")?,
                has_deadline: r.int("has_deadline")? == 1,
            })
        })
        .collect()
}

fn sync_users(c: &mut dyn Conn, sql: &str, p: &[Param]) -> Result<Vec<AutoSyncChoice>, StoreError> {
    c.query(sql, p)?
        .iter()
        .map(|r| {
            Ok(AutoSyncChoice {
                user: UserId(r.int("id")?),
                login: r.text("login")?,
                account: r.opt_int("auto_sync_account")?,
                keep_done: r.int("auto_sync_keep_done")? != 0,
                calendar_export: r.int("calendar_export")? == 1,
            })
        })
        .collect()
}

fn synced_exports(c: &mut dyn Conn, sql: &str, p: &[Param]) -> Result<Vec<SyncedExport>, StoreError> {
    c.query(sql, p)?
        .iter()
        .map(|r| {
            Ok(SyncedExport {
                id: r.int("id")?,
                user: UserId(r.int("user_id")?),
                account: r.int("account_id")?,
                source: parsed(r, "source", ExportSource::parse)?,
                auto: r.int("auto")? == 1,
                present: parsed(r, "wanted", Wanted::parse)? == Wanted::Present,
                failed: parsed(r, "state", ExportState::parse)? == ExportState::Failed,
            })
        })
        .collect()
}

/// Writes what [`auto_sync_plan`] decided.
fn apply_plan(c: &mut dyn Conn, plan: &AutoSyncPlan, now: i64) -> Result<(), StoreError> {
    if !(plan.resend.is_empty() && plan.keep.is_empty() && plan.withdraw.is_empty() && plan.create.is_empty()) {
        mark_outbox(c)?;
    }
    for id in &plan.resend {
        // The plan saw the row earlier in this transaction; on PostgreSQL a
        // worker's result or a removal may have changed it since.
        c.execute(
            concat!("UPDATE exports SET ", requeue!(), " WHERE id = $1 AND wanted = 'present' AND state <> 'failed'"),
            params![*id, now],
        )?;
    }
    for id in &plan.keep {
        c.execute(concat!("UPDATE exports SET wanted = 'present', ", requeue!(), " WHERE id = $1"), params![*id, now])?;
    }
    for id in &plan.withdraw {
        c.execute(
            concat!("UPDATE exports SET wanted = 'absent', ", requeue!(withdraw), " WHERE id = $1"),
            params![*id, now],
        )?;
    }
    for n in &plan.create {
        // A button export of the same source and account stays the user's own:
        // auto-sync leaves it alone (DO NOTHING).
        c.execute(
            "INSERT INTO exports (user_id, account_id, source, task_id, instance_id, event_key, auto, wanted,
                                  state, not_before, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, 'present', 'pending', $7, $7, $7)
             ON CONFLICT (account_id, source) DO NOTHING",
            params![n.user.0, n.account, n.source.to_string(), n.task.0, n.instance.0, &n.event_key, now],
        )?;
    }
    Ok(())
}
