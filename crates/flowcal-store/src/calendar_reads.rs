//! Reading what people change in the calendars flowcal writes to: when each
//! account's calendar is read next, where the read goes on from, how the
//! last one went, and what a read does to the exports it concerns.
//!
//! An account gets its row when the first entry of flowcal's reaches its
//! calendar; readers claim due rows with a lease, as workers claim exports.
//! Every change to an export here is made only if the export is still as
//! the read saw it (`synced`, the same version): a change of the task or a
//! delivery meanwhile wins, and the next read looks again.

use crate::db::{mark_outbox, params, Conn, Param};
use crate::exports::{record, ExportRecord, COLUMNS};
use crate::{Backend, Store, StoreError};
use jiff::Timestamp;

/// A claimed read: the account, and the calendar and token of its last read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadClaim {
    pub account_id: i64,
    pub calendar: Option<String>,
    pub token: Option<String>,
}

/// How a read ended.
#[derive(Debug, Clone)]
pub enum ReadOutcome {
    /// Read: the next one starts from `token` (for `calendar`).
    Read { calendar: String, token: Option<String> },
    /// Failed; the token is kept.
    Failed { error: String },
}

/// What a read decided for one export (the version it saw).
#[derive(Debug, Clone)]
pub enum RemoteChange {
    /// Nothing but a new version of the entry (its title edited, say).
    Seen { etag: Option<String> },
    /// Deleted in the calendar, and the deletion is respected.
    Forget,
    /// Deleted in the calendar, and made again.
    MakeAgain,
    /// Moved in the calendar to `start`: kept there until the user decides.
    Hold { start: String, etag: Option<String> },
    /// Moved in the calendar: put back (the entry's version is `etag` now).
    PutBack { etag: Option<String> },
}

/// Export ids matched at once (the placeholders of one statement).
const MATCH_CHUNK: usize = 200;

impl Store {
    /// Claims up to `limit` accounts whose read is due, for `owner` until
    /// `until`: active accounts with a calendar. While claimed, the read is
    /// due at the lease's end, so that a wake-up meanwhile ([`Store::read_soon`])
    /// can make it due again at once.
    pub async fn claim_reads(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<ReadClaim>, StoreError> {
        let owner = owner.to_owned();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE OF r SKIP LOCKED",
            Backend::Sqlite => "",
        };
        self.tx(move |c| {
            let sql = format!(
                "UPDATE calendar_reads SET lease_owner = $1, lease_until = $2, due_at = $2
                 WHERE account_id IN (SELECT r.account_id FROM calendar_reads r
                                      JOIN calendar_accounts a ON a.id = r.account_id
                                      WHERE r.due_at <= $3 AND (r.lease_until IS NULL OR r.lease_until < $3)
                                        AND a.status = 'active' AND a.calendar IS NOT NULL
                                      ORDER BY r.due_at, r.account_id LIMIT $4 {lock})
                 RETURNING account_id, calendar, token"
            );
            let mut out = c
                .query(&sql, params![owner, until.as_millisecond(), now.as_millisecond(), limit])?
                .iter()
                .map(|r| {
                    Ok(ReadClaim {
                        account_id: r.int("account_id")?,
                        calendar: r.opt_text("calendar")?,
                        token: r.opt_text("token")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            out.sort_by_key(|r| r.account_id);
            Ok(out)
        })
        .await
    }

    /// Records how `owner`'s read of an account ended and when the next is
    /// due; false when the lease was no longer `owner`'s.
    pub async fn finish_read(
        &self,
        account: i64,
        owner: &str,
        outcome: ReadOutcome,
        due_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let owner = owner.to_owned();
        self.tx(move |c| {
            let (now, due) = (now.as_millisecond(), due_at.as_millisecond());
            let n = match &outcome {
                // A wake-up during the read (a notification) made it due
                // earlier than the lease's end: that stays, so the change it
                // announced is read at once.
                ReadOutcome::Read { calendar, token } => c.execute(
                    "UPDATE calendar_reads SET calendar = $3, token = $4,
                            due_at = CASE WHEN due_at < lease_until THEN due_at ELSE $5 END,
                            lease_owner = NULL, lease_until = NULL, updated_at = $6
                     WHERE account_id = $1 AND lease_owner = $2",
                    params![account, &owner, calendar, token.as_deref(), due, now],
                )?,
                ReadOutcome::Failed { .. } => c.execute(
                    "UPDATE calendar_reads SET due_at = CASE WHEN due_at < lease_until THEN due_at ELSE $3 END,
                            lease_owner = NULL, lease_until = NULL, updated_at = $4
                     WHERE account_id = $1 AND lease_owner = $2",
                    params![account, &owner, due, now],
                )?,
            };
            if n == 1 {
                // The account's sync health.
                match outcome {
                    ReadOutcome::Read { .. } => c.execute(
                        "UPDATE calendar_accounts SET last_read_at = $2, read_error = NULL, read_error_at = NULL
                         WHERE id = $1",
                        params![account, now],
                    )?,
                    ReadOutcome::Failed { error } => c.execute(
                        "UPDATE calendar_accounts SET read_error = $2, read_error_at = $3 WHERE id = $1",
                        params![account, error, now],
                    )?,
                };
            }
            Ok(n == 1)
        })
        .await
    }

    /// Gives back the reads `owner` holds (a stopping process): another
    /// process reads those accounts at once instead of after the lease.
    pub async fn hand_back_reads(&self, owner: &str) -> Result<u64, StoreError> {
        let owner = owner.to_owned();
        self.read(move |c| {
            Ok(c.execute(
                "UPDATE calendar_reads SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1",
                params![owner],
            )?)
        })
        .await
    }

    /// Makes an account's read due now (a push notification, a test).
    pub async fn read_soon(&self, account: i64, now: Timestamp) -> Result<bool, StoreError> {
        self.read(move |c| {
            Ok(c.execute(
                "UPDATE calendar_reads SET due_at = $2 WHERE account_id = $1 AND due_at > $2",
                params![account, now.as_millisecond()],
            )? == 1)
        })
        .await
    }

    /// Per account kind, how long ago the least recently read calendar was
    /// read (milliseconds; counted from its first entry when never read),
    /// for /metrics.
    pub async fn read_lag(&self, now: Timestamp) -> Result<Vec<(String, i64)>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT a.kind, MAX($1 - COALESCE(a.last_read_at, r.updated_at)) AS lag
                 FROM calendar_reads r JOIN calendar_accounts a ON a.id = r.account_id
                 WHERE a.status = 'active' GROUP BY a.kind ORDER BY a.kind",
                params![now.as_millisecond()],
            )?
            .iter()
            .map(|r| Ok((r.text("kind")?, r.opt_int("lag")?.unwrap_or(0).max(0))))
            .collect()
        })
        .await
    }

    /// The account's exports in its calendar that a read reports under
    /// `ids` (flowcal's keys, or the ids the service gave): those in the
    /// calendar as flowcal last wrote them (`synced`, wanted there).
    pub async fn exports_seen_as(&self, account: i64, ids: Vec<String>) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            let mut out = Vec::new();
            for chunk in ids.chunks(MATCH_CHUNK) {
                let mut p: Vec<Param> = vec![Param::from(account)];
                let list: Vec<String> = chunk
                    .iter()
                    .map(|id| {
                        p.push(Param::from(id.as_str()));
                        format!("${}", p.len())
                    })
                    .collect();
                let list = list.join(", ");
                let sql = format!(
                    "SELECT {COLUMNS} FROM exports e WHERE e.account_id = $1 AND e.state = 'synced'
                       AND e.wanted = 'present' AND (e.event_key IN ({list}) OR e.remote_id IN ({list}))
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

    /// A page of the account's exports in `calendar` as flowcal last wrote
    /// them, by id after `after`, delivered before `before` (a complete
    /// listing taken earlier cannot show later ones).
    pub async fn exports_in_calendar(
        &self,
        account: i64,
        calendar: String,
        before: Timestamp,
        after: i64,
        limit: i64,
    ) -> Result<Vec<ExportRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                &format!(
                    "SELECT {COLUMNS} FROM exports e WHERE e.account_id = $1 AND e.calendar = $2 AND e.state = 'synced'
                       AND e.wanted = 'present' AND e.updated_at < $3 AND e.id > $4 ORDER BY e.id LIMIT $5"
                ),
                params![account, calendar, before.as_millisecond(), after, limit],
            )?
            .iter()
            .map(record)
            .collect()
        })
        .await
    }

    /// Records what a read decided for the export `(id, version)`; false
    /// when the export changed since it was read (nothing recorded).
    pub async fn remote_change(
        &self,
        id: i64,
        version: i64,
        change: RemoteChange,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        self.tx(move |c| {
            let now = now.as_millisecond();
            const SEEN_AS_READ: &str = "WHERE id = $1 AND version = $2 AND state = 'synced' AND wanted = 'present'";
            let n = match change {
                RemoteChange::Seen { etag } => c.execute(
                    &format!("UPDATE exports SET etag = $3 {SEEN_AS_READ}"),
                    params![id, version, etag],
                )?,
                RemoteChange::Forget => c.execute(
                    &format!(
                        "UPDATE exports SET state = 'removed_in_calendar', remote_id = NULL, etag = NULL,
                                content_hash = NULL, held_start = NULL, updated_at = $3 {SEEN_AS_READ}"
                    ),
                    params![id, version, now],
                )?,
                RemoteChange::MakeAgain => {
                    let n = c.execute(
                        &format!(
                            "UPDATE exports SET state = 'pending', version = version + 1, remote_id = NULL, etag = NULL,
                                    content_hash = NULL, held_start = NULL, attempts = 0, not_before = $3,
                                    updated_at = $3 {SEEN_AS_READ}"
                        ),
                        params![id, version, now],
                    )?;
                    mark_outbox(c)?;
                    n
                }
                RemoteChange::Hold { start, etag } => c.execute(
                    &format!("UPDATE exports SET held_start = $3, etag = $4, updated_at = $5 {SEEN_AS_READ}"),
                    params![id, version, start, etag, now],
                )?,
                RemoteChange::PutBack { etag } => {
                    let n = c.execute(
                        &format!(
                            "UPDATE exports SET state = 'pending', version = version + 1, etag = $3, content_hash = NULL,
                                    held_start = NULL, attempts = 0, not_before = $4, updated_at = $4 {SEEN_AS_READ}"
                        ),
                        params![id, version, etag, now],
                    )?;
                    mark_outbox(c)?;
                    n
                }
            };
            Ok(n == 1)
        })
        .await
    }

    /// The user keeps flowcal's date: the move waiting for a decision is
    /// dropped and the entry goes back (`None`: no move waits).
    pub async fn keep_local(&self, id: i64, now: Timestamp) -> Result<Option<ExportRecord>, StoreError> {
        self.tx(move |c| if drop_held(c, id, now)? { crate::exports::by_id(c, id) } else { Ok(None) }).await
    }

    /// The move was used (the date changed to it): nothing waits any more,
    /// and the entry goes out with the new date.
    pub async fn move_used(&self, id: i64, now: Timestamp) -> Result<Option<ExportRecord>, StoreError> {
        self.tx(move |c| {
            drop_held(c, id, now)?;
            crate::exports::by_id(c, id)
        })
        .await
    }
}

/// Drops the move waiting for a decision and sends the entry out again;
/// whether one waited.
fn drop_held(c: &mut dyn Conn, id: i64, now: Timestamp) -> Result<bool, StoreError> {
    let n = c.execute(
        "UPDATE exports SET held_start = NULL, version = version + 1, content_hash = NULL, attempts = 0,
                state = CASE WHEN state = 'waiting' THEN 'waiting' ELSE 'pending' END,
                not_before = $2, updated_at = $2
         WHERE id = $1 AND held_start IS NOT NULL",
        params![id, now.as_millisecond()],
    )?;
    if n > 0 {
        mark_outbox(c)?;
    }
    Ok(n > 0)
}

/// A push channel of an account's calendar, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub account_id: i64,
    /// Google: the channel id; Graph: the subscription id.
    pub channel_id: String,
    pub resource_id: Option<String>,
    pub calendar: String,
    /// The SHA-256 (hex) of the secret every notification carries.
    pub secret_hash: String,
    pub expires_at: Timestamp,
}

const CHANNEL_COLUMNS: &str = "account_id, channel_id, resource_id, calendar, secret_hash, expires_at";

fn channel_row(r: &crate::db::Row) -> Result<Channel, StoreError> {
    Ok(Channel {
        account_id: r.int("account_id")?,
        channel_id: r.text("channel_id")?,
        resource_id: r.opt_text("resource_id")?,
        calendar: r.text("calendar")?,
        secret_hash: r.text("secret_hash")?,
        expires_at: crate::rows::ts(r.int("expires_at")?)?,
    })
}

impl Store {
    /// The account's push channel, if it has one.
    pub async fn channel(&self, account: i64) -> Result<Option<Channel>, StoreError> {
        self.read(move |c| {
            c.query_opt(
                &format!("SELECT {CHANNEL_COLUMNS} FROM calendar_channels WHERE account_id = $1"),
                params![account],
            )?
            .map(|r| channel_row(&r))
            .transpose()
        })
        .await
    }

    /// The channel a notification names.
    pub async fn channel_by_id(&self, channel_id: String) -> Result<Option<Channel>, StoreError> {
        self.read(move |c| {
            c.query_opt(
                &format!("SELECT {CHANNEL_COLUMNS} FROM calendar_channels WHERE channel_id = $1"),
                params![channel_id],
            )?
            .map(|r| channel_row(&r))
            .transpose()
        })
        .await
    }

    /// Records the account's channel (replacing the one it had).
    pub async fn put_channel(&self, ch: Channel, now: Timestamp) -> Result<(), StoreError> {
        self.tx(move |c| {
            let now = now.as_millisecond();
            c.execute("DELETE FROM calendar_channels WHERE account_id = $1", params![ch.account_id])?;
            c.execute(
                "INSERT INTO calendar_channels (account_id, channel_id, resource_id, calendar, secret_hash, expires_at,
                                                created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                params![
                    ch.account_id,
                    ch.channel_id,
                    ch.resource_id,
                    ch.calendar,
                    ch.secret_hash,
                    ch.expires_at.as_millisecond(),
                    now
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Records a renewed channel's new end.
    pub async fn renew_channel(
        &self,
        channel_id: String,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.read(move |c| {
            c.execute(
                "UPDATE calendar_channels SET expires_at = $2, updated_at = $3 WHERE channel_id = $1",
                params![channel_id, expires_at.as_millisecond(), now.as_millisecond()],
            )?;
            Ok(())
        })
        .await
    }

    /// Forgets a channel (stopped, or ended by the service).
    pub async fn delete_channel(&self, channel_id: String) -> Result<(), StoreError> {
        self.read(move |c| {
            c.execute("DELETE FROM calendar_channels WHERE channel_id = $1", params![channel_id])?;
            Ok(())
        })
        .await
    }
}
