//! What the web pages need beyond the API: password changes, sign-in rate
//! limiting, model versions, and the administrator's view of delivery.

use crate::db::params;
use crate::{CalendarAccount, ExportRecord, Store, StoreError};
use flowcal_domain::UserId;
use jiff::Timestamp;

/// A failed sign-in, counted: whether the login is now locked, and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLock {
    pub locked_until: Option<Timestamp>,
}

impl Store {
    /// Sets (or with `None` removes) a user's password hash.
    pub async fn set_password(&self, user: UserId, hash: Option<String>) -> Result<bool, StoreError> {
        self.tx(
            move |c| Ok(c.execute("UPDATE users SET password_hash = $2 WHERE id = $1", params![user.0, hash])? == 1),
        )
        .await
    }

    /// Until when sign-ins to `login` are refused, if they are now.
    pub async fn sign_in_locked(&self, login: &str, now: Timestamp) -> Result<Option<Timestamp>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| {
            let r = c.query_opt("SELECT locked_until FROM sign_in_failures WHERE login = $1", params![login])?;
            let until = match r {
                Some(r) => r.int(0)?,
                None => return Ok(None),
            };
            Ok((until > now.as_millisecond()).then(|| Timestamp::from_millisecond(until).ok()).flatten())
        })
        .await
    }

    /// Counts a failed sign-in to `login`: from the `limit`th failure within
    /// `window`, the login is locked for `lock` (doubling with every further
    /// failure, at most a day). Returns the lock, if any.
    pub async fn sign_in_failed(
        &self,
        login: &str,
        now: Timestamp,
        limit: i64,
        window_ms: i64,
        lock_ms: i64,
    ) -> Result<SignInLock, StoreError> {
        let login = login.to_owned();
        self.tx(move |c| {
            let now = now.as_millisecond();
            let (failures, first) = match c
                .query_opt("SELECT failures, first_at FROM sign_in_failures WHERE login = $1", params![&login])?
            {
                Some(r) if now - r.int(1)? <= window_ms => (r.int(0)? + 1, r.int(1)?),
                _ => (1, now),
            };
            let locked_until = if failures >= limit {
                let doublings = u32::try_from((failures - limit).min(16)).unwrap_or(16);
                now + lock_ms.saturating_mul(1 << doublings).min(24 * 3600 * 1000)
            } else {
                0
            };
            c.execute(
                "INSERT INTO sign_in_failures (login, failures, first_at, locked_until) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (login) DO UPDATE SET failures = $2, first_at = $3, locked_until = $4",
                params![&login, failures, first, locked_until],
            )?;
            Ok(SignInLock {
                locked_until: (locked_until > 0).then(|| Timestamp::from_millisecond(locked_until).ok()).flatten(),
            })
        })
        .await
    }

    /// A successful sign-in forgets the failures.
    pub async fn sign_in_succeeded(&self, login: &str) -> Result<(), StoreError> {
        let login = login.to_owned();
        self.tx(move |c| {
            c.execute("DELETE FROM sign_in_failures WHERE login = $1", params![login])?;
            Ok(())
        })
        .await
    }

    /// Every version of a model: (version, name, id), newest first.
    pub async fn model_versions(&self, key: &str) -> Result<Vec<(i64, String, flowcal_domain::ModelId)>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query("SELECT version, name, id FROM models WHERE key = $1 ORDER BY version DESC", params![key])?
                .iter()
                .map(|r| Ok((r.int(0)?, r.text(1)?, flowcal_domain::ModelId(r.int(2)?))))
                .collect()
        })
        .await
    }

    /// Everyone's failed exports, newest first (the administrator's delivery health).
    pub async fn failed_exports(&self, limit: i64) -> Result<Vec<(ExportRecord, String)>, StoreError> {
        self.read(move |c| {
            c.query(
                &format!(
                    "SELECT {}, u.login FROM exports e JOIN users u ON u.id = e.user_id
                     WHERE e.state = 'failed' ORDER BY e.updated_at DESC LIMIT $1",
                    crate::exports::COLUMNS
                ),
                params![limit],
            )?
            .iter()
            .map(|r| Ok((crate::exports::record(r)?, r.text(20)?)))
            .collect()
        })
        .await
    }

    /// Everyone's accounts that need reconnecting, with their owners' logins.
    pub async fn accounts_needing_reconnect(&self) -> Result<Vec<(CalendarAccount, String)>, StoreError> {
        self.read(move |c| {
            let cols: Vec<String> =
                crate::access::ACCOUNT_COLUMNS.split(',').map(|s| format!("a.{}", s.trim())).collect();
            c.query(
                &format!(
                    "SELECT {}, u.login FROM calendar_accounts a JOIN users u ON u.id = a.user_id
                     WHERE a.status = 'reconnect_required' ORDER BY a.updated_at DESC",
                    cols.join(", ")
                ),
                &[],
            )?
            .iter()
            .map(|r| {
                let n = cols.len();
                Ok((crate::access::account(r)?, r.text(n)?))
            })
            .collect()
        })
        .await
    }
}
