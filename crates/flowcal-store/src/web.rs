//! What the web pages need beyond the API: password changes, sign-in rate
//! limiting, model versions, and the administrator's view of delivery.

use crate::access::CalendarAccount;
use crate::db::{params, Conn, Param, Row};
use crate::exports::ExportRecord;
use crate::{Backend, Store, StoreError};
use flowcal_domain::UserId;
use jiff::Timestamp;

/// A lock on password sign-ins: until when, and whether it holds for every
/// login from the address (too many failures across logins) or for one login.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInLock {
    pub until: Timestamp,
    pub whole_address: bool,
}

/// When failures lock: from the `limit`th failure within `window_ms` of the
/// first, for `lock_ms`, doubling with every further failure (at most a day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInRule {
    pub limit: i64,
    pub window_ms: i64,
    pub lock_ms: i64,
}

/// The rules of sign-in limiting: `login` for the counters of a login and of
/// a (login, address) pair, `address` for the counter of an address across logins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInRules {
    pub login: SignInRule,
    pub address: SignInRule,
}

/// One counter of failed sign-ins, as stored (`login_hash` or `address` is
/// empty for the counter of an address or of a login).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInCounter {
    pub login_hash: String,
    pub address: String,
    pub failures: i64,
    pub first_at: i64,
    pub locked_until: i64,
}

const LONGEST_LOCK_MS: i64 = 24 * 3600 * 1000;

/// Any fixed number: the key of the advisory lock that serializes changes to
/// the counters on PostgreSQL.
const PG_SIGN_IN_LOCK: i64 = 0x666c_6f77_6361_6c07;

/// Makes this transaction the only one changing the counters until it ends,
/// so that parallel failures are all counted (a counter may not exist yet, so
/// a row lock would not do). SQLite's write transactions run one at a time already.
fn lock_counters(c: &mut dyn Conn) -> Result<(), StoreError> {
    if c.backend() == Backend::Postgres {
        // (`batch`: the function returns `void`, which is no column type.)
        c.batch(&format!("SELECT pg_advisory_xact_lock({PG_SIGN_IN_LOCK})"))?;
    }
    Ok(())
}

/// The counters that concern `login_hash` from `address`: the login's, the address's and the pair's.
fn counters(c: &mut dyn Conn, login_hash: &str, address: &str) -> Result<Vec<SignInCounter>, StoreError> {
    c.query(
        "SELECT login_hash, address, failures, first_at, locked_until FROM sign_in_failures
         WHERE (login_hash = $1 AND address IN ('', $2)) OR (login_hash = '' AND address = $2)",
        params![login_hash, address],
    )?
    .iter()
    .map(counter)
    .collect()
}

/// A row of `login_hash, address, failures, first_at, locked_until`.
fn counter(r: &Row) -> Result<SignInCounter, StoreError> {
    Ok(SignInCounter {
        login_hash: r.text("login_hash")?,
        address: r.text("address")?,
        failures: r.int("failures")?,
        first_at: r.int("first_at")?,
        locked_until: r.int("locked_until")?,
    })
}

/// The lock that holds for `login_hash` from `address` now, if any. A login
/// locked by failures from everywhere refuses only addresses with failures of
/// their own for it, so its owner still signs in from elsewhere.
fn lock_of(found: &[SignInCounter], now: i64, rules: &SignInRules) -> Option<SignInLock> {
    let pair = found.iter().find(|k| !k.login_hash.is_empty() && !k.address.is_empty());
    let pair_live = pair.is_some_and(|p| now - p.first_at <= rules.login.window_ms || p.locked_until > now);
    found
        .iter()
        .filter(|k| k.locked_until > now)
        .filter(|k| !k.address.is_empty() || pair_live)
        .map(|k| SignInLock {
            until: Timestamp::from_millisecond(k.locked_until).unwrap_or(Timestamp::MAX),
            whole_address: k.login_hash.is_empty(),
        })
        .max_by_key(|l| l.until)
}

/// Counts one more failure on a counter: the failures within the window, and the lock they bring.
fn bump(old: Option<&SignInCounter>, now: i64, rule: &SignInRule) -> (i64, i64, i64) {
    let (failures, first) = match old {
        Some(k) if now - k.first_at <= rule.window_ms => (k.failures + 1, k.first_at),
        _ => (1, now),
    };
    let locked_until = if failures >= rule.limit {
        let doublings = u32::try_from((failures - rule.limit).min(16)).unwrap_or(16);
        now + rule.lock_ms.saturating_mul(1 << doublings).min(LONGEST_LOCK_MS)
    } else {
        0
    };
    (failures, first, locked_until)
}

impl Store {
    /// Sets (or with `None` removes) a user's password hash.
    pub async fn set_password(&self, user: UserId, hash: Option<String>) -> Result<bool, StoreError> {
        self.tx(
            move |c| Ok(c.execute("UPDATE users SET password_hash = $2 WHERE id = $1", params![user.0, hash])? == 1),
        )
        .await
    }

    /// The lock that refuses a password sign-in to `login_hash` from `address` now, if any.
    pub async fn sign_in_locked(
        &self,
        login_hash: &str,
        address: &str,
        now: Timestamp,
        rules: SignInRules,
    ) -> Result<Option<SignInLock>, StoreError> {
        let (login_hash, address) = (login_hash.to_owned(), address.to_owned());
        self.read(move |c| Ok(lock_of(&counters(c, &login_hash, &address)?, now.as_millisecond(), &rules))).await
    }

    /// Counts a failed sign-in to `login_hash` from `address` on the login's,
    /// the address's and the pair's counters; returns the lock that now refuses
    /// this login from this address, if any. Forgets counters past their time on the way.
    pub async fn sign_in_failed(
        &self,
        login_hash: &str,
        address: &str,
        now: Timestamp,
        rules: SignInRules,
    ) -> Result<Option<SignInLock>, StoreError> {
        let (login_hash, address) = (login_hash.to_owned(), address.to_owned());
        self.tx(move |c| {
            lock_counters(c)?;
            let now = now.as_millisecond();
            purge_sign_in_failures(c, now, &rules)?;
            let found = counters(c, &login_hash, &address)?;
            let mut after = Vec::with_capacity(3);
            for (h, a, rule) in [
                (login_hash.as_str(), "", &rules.login),
                ("", address.as_str(), &rules.address),
                (login_hash.as_str(), address.as_str(), &rules.login),
            ] {
                let old = found.iter().find(|k| k.login_hash == h && k.address == a);
                let (failures, first_at, locked_until) = bump(old, now, rule);
                c.execute(
                    "INSERT INTO sign_in_failures (login_hash, address, failures, first_at, locked_until)
                     VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (login_hash, address) DO UPDATE SET failures = $3, first_at = $4, locked_until = $5",
                    params![h, a, failures, first_at, locked_until],
                )?;
                let (login_hash, address) = (h.to_owned(), a.to_owned());
                after.push(SignInCounter { login_hash, address, failures, first_at, locked_until });
            }
            Ok(lock_of(&after, now, &rules))
        })
        .await
    }

    /// A successful sign-in from `address` forgets that address's failures on
    /// the login, and takes them off the login's count; failures from other
    /// addresses still count (so an attacker stays refused when the real user
    /// signs in). With `None` (a new password), every failure on the login is forgotten.
    /// The address's count across logins stays.
    pub async fn sign_in_succeeded(
        &self,
        login_hash: &str,
        address: Option<&str>,
        rules: SignInRules,
    ) -> Result<(), StoreError> {
        let (login_hash, address) = (login_hash.to_owned(), address.map(str::to_owned));
        self.tx(move |c| {
            let Some(address) = address else {
                c.execute("DELETE FROM sign_in_failures WHERE login_hash = $1", params![&login_hash])?;
                return Ok(());
            };
            lock_counters(c)?;
            let found = counters(c, &login_hash, &address)?;
            let own = found.iter().find(|k| k.address == address && k.login_hash == login_hash);
            let login = found.iter().find(|k| k.address.is_empty());
            if let (Some(own), Some(login)) = (own, login) {
                let left = login.failures - own.failures;
                if left <= 0 {
                    c.execute("DELETE FROM sign_in_failures WHERE login_hash = $1 AND address = ''", params![&login_hash])?;
                } else {
                    let locked_until = if left >= rules.login.limit { login.locked_until } else { 0 };
                    c.execute(
                        "UPDATE sign_in_failures SET failures = $2, locked_until = $3 WHERE login_hash = $1 AND address = ''",
                        params![&login_hash, left, locked_until],
                    )?;
                }
            }
            c.execute(
                "DELETE FROM sign_in_failures WHERE login_hash = $1 AND address = $2",
                params![&login_hash, &address],
            )?;
            Ok(())
        })
        .await
    }

    /// Deletes the counters whose window has passed and whose lock has ended
    /// (they would count from zero again anyway); returns how many.
    pub async fn purge_sign_in_failures(&self, now: Timestamp, rules: SignInRules) -> Result<u64, StoreError> {
        self.read(move |c| purge_sign_in_failures(c, now.as_millisecond(), &rules)).await
    }

    /// Every stored counter of failed sign-ins (to check what is kept, and for how long).
    pub async fn sign_in_counters(&self) -> Result<Vec<SignInCounter>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT login_hash, address, failures, first_at, locked_until FROM sign_in_failures
                 ORDER BY login_hash, address",
                &[],
            )?
            .iter()
            .map(counter)
            .collect()
        })
        .await
    }

    /// Every version of a model: (version, name, id), newest first.
    pub async fn model_versions(&self, key: &str) -> Result<Vec<(i64, String, flowcal_domain::ModelId)>, StoreError> {
        let key = key.to_owned();
        self.read(move |c| {
            c.query("SELECT version, name, id FROM models WHERE key = $1 ORDER BY version DESC", params![key])?
                .iter()
                .map(|r| Ok((r.int("version")?, r.text("name")?, flowcal_domain::ModelId(r.int("id")?))))
                .collect()
        })
        .await
    }

    /// A page of everyone's failed exports with their owners' logins, the
    /// latest change first, after the export `after` (its `updated_at` in
    /// milliseconds and id), with the count of all of them.
    pub async fn failed_exports_page(
        &self,
        after: Option<(i64, i64)>,
        limit: usize,
    ) -> Result<crate::Page<(ExportRecord, String)>, StoreError> {
        let (limit, fetch) = crate::paging::fetch(limit);
        let (at, id) = after.unwrap_or((i64::MAX, i64::MAX));
        self.read(move |c| {
            let total = c.query_one("SELECT COUNT(*) AS n FROM exports WHERE state = 'failed'", &[])?.int("n")?;
            let rows = c
                .query(
                    &format!(
                        "SELECT {}, u.login FROM exports e JOIN users u ON u.id = e.user_id
                         WHERE e.state = 'failed' AND (e.updated_at, e.id) < ($1, $2)
                         ORDER BY e.updated_at DESC, e.id DESC LIMIT $3",
                        crate::exports::COLUMNS
                    ),
                    params![at, id, fetch],
                )?
                .iter()
                .map(|r| Ok((crate::exports::record(r)?, r.text("login")?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(crate::Page::from_rows(rows, limit, Some(total)))
        })
        .await
    }

    /// The calendar view's exported dates: up to `limit` of the user's
    /// exports that are (or are to be) on a calendar, or that the user
    /// deleted in the calendar, the newest first, each with its instance's
    /// data (where an item's date is read). `more`: older ones were left out.
    pub async fn calendar_exports(
        &self,
        user: UserId,
        limit: usize,
    ) -> Result<crate::Page<(ExportRecord, serde_json::Map<String, serde_json::Value>)>, StoreError> {
        let (limit, fetch) = crate::paging::fetch(limit);
        self.read(move |c| {
            let rows = c
                .query(
                    &format!(
                        "SELECT {}, i.data AS instance_data FROM exports e JOIN instances i ON i.id = e.instance_id
                         WHERE e.user_id = $1 AND (e.wanted = 'present' OR e.state = 'removed_in_calendar')
                         ORDER BY e.id DESC LIMIT $2",
                        crate::exports::COLUMNS
                    ),
                    params![user.0, fetch],
                )?
                .iter()
                .map(|r| {
                    let record = crate::exports::record(r)?;
                    let data = serde_json::from_str(&r.text("instance_data")?)
                        .map_err(|_| StoreError::Corrupt(format!("instance {}: data", record.instance_id)))?;
                    Ok((record, data))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok(crate::Page::from_rows(rows, limit, None))
        })
        .await
    }

    /// The roles people hold, by name, at most `limit` (the team's week
    /// offers them to administrators).
    pub async fn role_names(&self, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.query("SELECT DISTINCT role FROM user_roles ORDER BY role LIMIT $1", params![limit])?
                .iter()
                .map(|r| Ok(r.text("role")?))
                .collect()
        })
        .await
    }

    /// Deletes up to `batch` counters of failed sign-ins past their window
    /// and lock (as [`Store::purge_sign_in_failures`]); returns how many.
    pub async fn delete_stale_sign_in_failures(
        &self,
        now: Timestamp,
        rules: SignInRules,
        batch: usize,
    ) -> Result<u64, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.read(move |c| {
            let now = now.as_millisecond();
            let window = rules.login.window_ms.max(rules.address.window_ms);
            Ok(c.execute(
                "DELETE FROM sign_in_failures WHERE (login_hash, address) IN
                   (SELECT login_hash, address FROM sign_in_failures
                    WHERE first_at < $1 AND locked_until <= $2 LIMIT $3)",
                params![now - window, now, batch],
            )?)
        })
        .await
    }

    /// The `limit` accounts that most recently came to need reconnecting,
    /// with their owners' logins, and how many need it in all.
    pub async fn accounts_needing_reconnect(
        &self,
        limit: usize,
    ) -> Result<(Vec<(CalendarAccount, String)>, i64), StoreError> {
        self.accounts_where("a.status = 'reconnect_required'", Vec::new(), limit).await
    }

    /// Active accounts whose calendar cannot be read, or whose access lapses
    /// before `lapse_before`, the most recent first, with their users'
    /// logins; and how many there are.
    pub async fn accounts_needing_attention(
        &self,
        lapse_before: Timestamp,
        limit: usize,
    ) -> Result<(Vec<(CalendarAccount, String)>, i64), StoreError> {
        let which = "a.status = 'active' AND (a.read_error IS NOT NULL OR a.refresh_expires_at < $1)";
        self.accounts_where(which, vec![Param::from(lapse_before.as_millisecond())], limit).await
    }

    /// The `limit` accounts (`a`) matching `which` (with `params` as `$1`,
    /// …), the most recently changed first, with their owners' logins, and
    /// how many match in all.
    async fn accounts_where(
        &self,
        which: &'static str,
        params: Vec<Param>,
        limit: usize,
    ) -> Result<(Vec<(CalendarAccount, String)>, i64), StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let cols: Vec<String> =
                crate::access::ACCOUNT_COLUMNS.split(',').map(|s| format!("a.{}", s.trim())).collect();
            let total = c
                .query_one(&format!("SELECT COUNT(*) AS n FROM calendar_accounts a WHERE {which}"), &params)?
                .int("n")?;
            let mut p = params.clone();
            p.push(Param::from(limit));
            let rows = c
                .query(
                    &format!(
                        "SELECT {}, u.login FROM calendar_accounts a JOIN users u ON u.id = a.user_id
                         WHERE {which} ORDER BY a.updated_at DESC, a.id DESC LIMIT ${}",
                        cols.join(", "),
                        p.len()
                    ),
                    &p,
                )?
                .iter()
                .map(|r| Ok((crate::access::account(r)?, r.text("login")?)))
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok((rows, total))
        })
        .await
    }
}

/// Deletes counters past their window and lock. The longer window of the two
/// rules is kept, so no counter that still counts is lost.
fn purge_sign_in_failures(c: &mut dyn Conn, now: i64, rules: &SignInRules) -> Result<u64, StoreError> {
    let window = rules.login.window_ms.max(rules.address.window_ms);
    Ok(c.execute(
        "DELETE FROM sign_in_failures WHERE first_at < $1 AND locked_until <= $2",
        params![now - window, now],
    )?)
}
