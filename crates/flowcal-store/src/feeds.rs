//! iCal subscription feeds: the token (stored as its hash), the version that
//! says whether a feed changed, and what each entry looked like when it was
//! last served (for its SEQUENCE and LAST-MODIFIED).
//!
//! Every transaction that changes what a user's feed shows moves the user's
//! `feed_version` (see [`crate::feed_version`]), so a poll is answered
//! `304 Not Modified` from one row, without rendering.

use crate::db::params;
use crate::feed_version::touch_user;
use crate::users::User;
use crate::{Store, StoreError};
use flowcal_domain::UserId;
use jiff::Timestamp;
use std::collections::HashMap;

/// The owner of a feed token, and how far their feed has changed.
#[derive(Debug, Clone)]
pub struct FeedOwner {
    pub user: User,
    /// Grows with every change to what the feed shows.
    pub version: i64,
    /// When the feed last changed (milliseconds).
    pub changed_at: i64,
}

/// What an entry looked like when last served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedMark {
    pub content_hash: String,
    pub sequence: i64,
    pub modified_at: i64,
}

impl Store {
    /// Gives the user a feed with the token of this hash (replacing any
    /// earlier token, which stops working at once), or none (`None`).
    pub async fn set_feed_token(&self, user: UserId, hash: Option<String>, now: Timestamp) -> Result<(), StoreError> {
        self.tx(move |c| {
            c.execute("UPDATE users SET feed_token_hash = $2 WHERE id = $1", params![user.0, hash])?;
            touch_user(c, user, now.as_millisecond())
        })
        .await
    }

    /// Whether the user has a feed, and since when it last changed.
    pub async fn feed_state(&self, user: UserId) -> Result<Option<i64>, StoreError> {
        self.read(move |c| {
            let r = c.query_one(
                "SELECT CASE WHEN feed_token_hash IS NULL THEN 0 ELSE 1 END AS has_feed, feed_changed_at FROM users WHERE id = $1",
                params![user.0],
            )?;
            Ok((r.int("has_feed")? == 1).then_some(r.int("feed_changed_at")?))
        })
        .await
    }

    /// The owner of the feed whose token has this hash.
    pub async fn feed_owner(&self, hash: &str) -> Result<Option<FeedOwner>, StoreError> {
        let hash = hash.to_owned();
        self.read(move |c| {
            let sql = format!(
                "SELECT {}, u.feed_version, u.feed_changed_at FROM users u
                 WHERE u.feed_token_hash = $1 AND u.disabled_at IS NULL",
                crate::users::USER_COLUMNS
            );
            let Some(r) = c.query_opt(&sql, params![hash])? else { return Ok(None) };
            Ok(Some(FeedOwner {
                user: crate::users::user(&r)?,
                version: r.int("feed_version")?,
                changed_at: r.int("feed_changed_at")?,
            }))
        })
        .await
    }

    /// The sources of the dates (items) the user exported and still wants on a calendar.
    pub async fn feed_item_sources(&self, user: UserId) -> Result<Vec<String>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT DISTINCT source FROM exports
                 WHERE user_id = $1 AND wanted = 'present' AND source LIKE 'instance:%' ORDER BY source",
                params![user.0],
            )?
            .iter()
            .map(|r| Ok(r.text("source")?))
            .collect()
        })
        .await
    }

    /// What the user's feed entries looked like when last served, by source.
    pub async fn feed_marks(&self, user: UserId) -> Result<HashMap<String, FeedMark>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT source, content_hash, sequence, modified_at FROM feed_entries WHERE user_id = $1",
                params![user.0],
            )?
            .iter()
            .map(|r| {
                Ok((
                    r.text("source")?,
                    FeedMark {
                        content_hash: r.text("content_hash")?,
                        sequence: r.int("sequence")?,
                        modified_at: r.int("modified_at")?,
                    },
                ))
            })
            .collect()
        })
        .await
    }

    /// Walks the feed entries in key order, `batch` after `after`, and deletes
    /// those of work finished before `before`: a task (`task:{id}:…`) or an
    /// instance (`instance:{id}:…`) that ended then. Returns how many went and
    /// the key to walk on from (none: the walk is done).
    pub async fn delete_finished_feed_entries(
        &self,
        before: Timestamp,
        after: Option<(i64, String)>,
        batch: usize,
    ) -> Result<(u64, Option<(i64, String)>), StoreError> {
        let fetch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let (user, source) = after.unwrap_or((i64::MIN, String::new()));
        self.read(move |c| {
            let keys: Vec<(i64, String)> = c
                .query(
                    "SELECT user_id, source FROM feed_entries WHERE (user_id, source) > ($1, $2)
                     ORDER BY user_id, source LIMIT $3",
                    params![user, source, fetch],
                )?
                .iter()
                .map(|r| Ok((r.int("user_id")?, r.text("source")?)))
                .collect::<Result<_, StoreError>>()?;
            let next = if keys.len() < batch.max(1) { None } else { keys.last().cloned() };
            let mut finished = std::collections::HashSet::new();
            for (table, prefix) in [("tasks", "task"), ("instances", "instance")] {
                let ids: std::collections::BTreeSet<i64> =
                    keys.iter().filter_map(|(_, s)| source_id(s, prefix)).collect();
                if ids.is_empty() {
                    continue;
                }
                let list: Vec<String> = ids.iter().map(i64::to_string).collect();
                // The ids are numbers read back from the table, never text from outside.
                let sql = format!(
                    "SELECT id FROM {table} WHERE ended_at IS NOT NULL AND ended_at < $1 AND id IN ({})",
                    list.join(", ")
                );
                for r in c.query(&sql, params![before.as_millisecond()])? {
                    finished.insert((prefix, r.int("id")?));
                }
            }
            let mut deleted = 0;
            for (user, source) in &keys {
                let done = ["task", "instance"]
                    .into_iter()
                    .any(|p| source_id(source, p).is_some_and(|id| finished.contains(&(p, id))));
                if done {
                    deleted += c.execute(
                        "DELETE FROM feed_entries WHERE user_id = $1 AND source = $2",
                        params![*user, source.as_str()],
                    )?;
                }
            }
            Ok((deleted, next))
        })
        .await
    }

    /// Records entries whose content changed (or that are new), in one transaction.
    pub async fn save_feed_marks(&self, user: UserId, marks: Vec<(String, FeedMark)>) -> Result<(), StoreError> {
        if marks.is_empty() {
            return Ok(());
        }
        self.tx(move |c| {
            for (source, m) in marks {
                c.execute(
                    "INSERT INTO feed_entries (user_id, source, content_hash, sequence, modified_at)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (user_id, source) DO UPDATE SET content_hash = $3, sequence = $4, modified_at = $5",
                    params![user.0, source, m.content_hash, m.sequence, m.modified_at],
                )?;
            }
            Ok(())
        })
        .await
    }
}

/// The id in a feed entry's source `{prefix}:{id}:…`.
fn source_id(source: &str, prefix: &str) -> Option<i64> {
    let rest = source.strip_prefix(prefix)?.strip_prefix(':')?;
    rest.split(':').next()?.parse().ok()
}
