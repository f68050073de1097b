//! Waiting timers: tokens at timer catch events, boundary timers of open
//! tasks, and the start timers of models.
//!
//! A row exists only while its timer waits. The transaction that fires a
//! timer also deletes its row (or, for a cycle, moves it to its next time)
//! and applies what the firing caused, under the instance's lock; so a timer
//! fires exactly once however many workers claim it, and one that came due
//! while no worker ran fires once when one starts. Workers claim due rows
//! with a lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`) so that they do not
//! all try the same timers.

use crate::db::{params, Conn, Row};
use crate::rows::ts;
use crate::{Backend, Store, StoreError};
use flowcal_domain::instance::OpenTimer;
use flowcal_domain::{InstanceId, ModelId, TaskId, TimerId};
use jiff::Timestamp;

/// A due timer a worker has claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueTimer {
    pub id: TimerId,
    pub due: Timestamp,
    pub node: String,
    pub target: TimerTarget,
}

/// What a timer belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimerTarget {
    /// It moves this instance on.
    Instance(InstanceId),
    /// It starts an instance of the newest version of the model `key`;
    /// `model` is the version it was armed for.
    Start { model: ModelId, key: String, armed_at: Timestamp },
}

fn open_timer(r: &Row) -> Result<OpenTimer, StoreError> {
    Ok(OpenTimer {
        id: TimerId(r.int("id")?),
        node: r.text("node")?,
        task: r.opt_int("task_id")?.map(TaskId),
        armed_at: ts(r.int("armed_at")?)?,
        due: ts(r.int("due_at")?)?,
        fired: u32::try_from(r.int("fired")?).unwrap_or(u32::MAX),
    })
}

/// The waiting timers of an instance, oldest first.
pub(crate) fn instance_timers(c: &mut dyn Conn, instance: InstanceId) -> Result<Vec<OpenTimer>, StoreError> {
    c.query(
        "SELECT id, node, task_id, armed_at, due_at, fired FROM timers WHERE instance_id = $1 ORDER BY id",
        params![instance.0],
    )?
    .iter()
    .map(open_timer)
    .collect()
}

/// A timer of an instance starts waiting.
pub(crate) fn insert(
    c: &mut dyn Conn,
    instance: InstanceId,
    task: Option<TaskId>,
    node: &str,
    armed_at: Timestamp,
    due: Timestamp,
) -> Result<TimerId, StoreError> {
    let id = c
        .query_one(
            "INSERT INTO timers (instance_id, task_id, node, armed_at, due_at) VALUES ($1, $2, $3, $4, $5)
             RETURNING id",
            params![instance.0, task.map(|t| t.0), node, armed_at.as_millisecond(), due.as_millisecond()],
        )?
        .int("id")?;
    Ok(TimerId(id))
}

/// A timer is done (fired for the last time, or cancelled).
pub(crate) fn delete(c: &mut dyn Conn, id: TimerId) -> Result<(), StoreError> {
    c.execute("DELETE FROM timers WHERE id = $1", params![id.0])?;
    Ok(())
}

/// A timer waits again until `due`: a cycle that fired (`fired` counts it),
/// or a timer whose date moved. Its lease is given back.
pub(crate) fn reschedule(c: &mut dyn Conn, id: TimerId, due: Timestamp, fired: bool) -> Result<(), StoreError> {
    c.execute(
        "UPDATE timers SET due_at = $1, fired = fired + $2, lease_owner = NULL, lease_until = NULL WHERE id = $3",
        params![due.as_millisecond(), i64::from(fired), id.0],
    )?;
    Ok(())
}

/// Every timer of an instance stops (it ended).
pub(crate) fn delete_instance_timers(c: &mut dyn Conn, instance: InstanceId) -> Result<(), StoreError> {
    c.execute("DELETE FROM timers WHERE instance_id = $1", params![instance.0])?;
    Ok(())
}

/// The start timer of `key` if it is still the one claimed (same id and due
/// time), locked for the rest of the transaction on PostgreSQL.
pub(crate) fn lock_start_timer(c: &mut dyn Conn, id: TimerId, due: Timestamp) -> Result<bool, StoreError> {
    let sql = match c.backend() {
        Backend::Postgres => "SELECT id FROM timers WHERE id = $1 AND due_at = $2 AND model_id IS NOT NULL FOR UPDATE",
        Backend::Sqlite => "SELECT id FROM timers WHERE id = $1 AND due_at = $2 AND model_id IS NOT NULL",
    };
    Ok(c.query_opt(sql, params![id.0, due.as_millisecond()])?.is_some())
}

impl Store {
    /// Claims up to `limit` timers due at `now` for `owner` until `until`,
    /// earliest first.
    pub async fn claim_timers(
        &self,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
        limit: i64,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let owner = owner.to_owned();
        let lock = match self.backend() {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        self.tx(move |c| {
            let sql = format!(
                "UPDATE timers SET lease_owner = $1, lease_until = $2
                 WHERE id IN (SELECT id FROM timers
                              WHERE due_at <= $3 AND (lease_until IS NULL OR lease_until < $3)
                              ORDER BY due_at, id LIMIT $4 {lock})
                 RETURNING id, instance_id, model_id, model_key, node, armed_at, due_at"
            );
            let mut out = Vec::new();
            for r in c.query(&sql, params![owner, until.as_millisecond(), now.as_millisecond(), limit])? {
                let id = r.int("id")?;
                let target = match (r.opt_int("instance_id")?, r.opt_int("model_id")?, r.opt_text("model_key")?) {
                    (Some(i), _, _) => TimerTarget::Instance(InstanceId(i)),
                    (None, Some(m), Some(key)) => {
                        TimerTarget::Start { model: ModelId(m), key, armed_at: ts(r.int("armed_at")?)? }
                    }
                    _ => {
                        return Err(StoreError::Corrupt(format!("timer {id}: neither an instance's nor a start timer")))
                    }
                };
                out.push(DueTimer { id: TimerId(id), due: ts(r.int("due_at")?)?, node: r.text("node")?, target });
            }
            out.sort_by_key(|t| (t.due, t.id));
            Ok(out)
        })
        .await
    }

    /// Gives a claimed timer's lease back without firing it (it was not
    /// waiting any more, or firing it failed and will be tried again).
    pub async fn release_timer(&self, id: TimerId, owner: &str) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.tx(move |c| {
            c.execute(
                "UPDATE timers SET lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
                params![id.0, owner],
            )?;
            Ok(())
        })
        .await
    }

    /// Gives back every timer lease whose owner starts with `prefix` (a
    /// stopping process's workers): returns how many.
    pub async fn hand_back_timers(&self, prefix: &str) -> Result<u64, StoreError> {
        let prefix = prefix.to_owned();
        self.read(move |c| {
            Ok(c.execute(
                "UPDATE timers SET lease_owner = NULL, lease_until = NULL
                 WHERE lease_owner IS NOT NULL AND substr(lease_owner, 1, $2) = $1",
                params![&prefix, i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX)],
            )?)
        })
        .await
    }

    /// Sets the start timer of the model `key` to the version `model`: a
    /// timer at `node` due at `due`, or none. Replaces the timer of an earlier
    /// version; does nothing if `model` is no longer the newest version (a
    /// newer upload set its own).
    pub async fn set_start_timer(
        &self,
        key: &str,
        model: ModelId,
        timer: Option<(String, Timestamp)>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.tx(move |c| {
            let newest = c
                .query_opt("SELECT id FROM models WHERE key = $1 ORDER BY version DESC LIMIT 1", params![&key])?
                .map(|r| r.int("id"))
                .transpose()?;
            if newest != Some(model.0) {
                return Ok(());
            }
            c.execute("DELETE FROM timers WHERE model_key = $1", params![&key])?;
            if let Some((node, due)) = timer {
                c.execute(
                    "INSERT INTO timers (model_id, model_key, node, armed_at, due_at) VALUES ($1, $2, $3, $4, $5)",
                    params![model.0, &key, node, now.as_millisecond(), due.as_millisecond()],
                )?;
            }
            Ok(())
        })
        .await
    }

    /// How many timers wait, and how long ago the earliest one due came due
    /// (in milliseconds; `None` when none is due): a worker that keeps up
    /// keeps that near zero.
    pub async fn timer_stats(&self, now: Timestamp) -> Result<(i64, Option<i64>), StoreError> {
        self.read(move |c| {
            let r = c.query_one("SELECT COUNT(*) AS n, MIN(due_at) AS earliest FROM timers", &[])?;
            let overdue = r.opt_int("earliest")?.map(|d| now.as_millisecond() - d).filter(|d| *d >= 0);
            Ok((r.int("n")?, overdue))
        })
        .await
    }

    /// The start timer of a model key: when it fires next and how often it
    /// fired, if it has one.
    pub async fn start_timer(&self, key: &str) -> Result<Option<(TimerId, Timestamp, u32)>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query_opt("SELECT id, due_at, fired FROM timers WHERE model_key = $1", params![key])?
                .map(|r| {
                    Ok((
                        TimerId(r.int("id")?),
                        ts(r.int("due_at")?)?,
                        u32::try_from(r.int("fired")?).unwrap_or(u32::MAX),
                    ))
                })
                .transpose()
        })
        .await
    }
}
