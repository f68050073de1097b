//! Users, roles, personal API tokens and browser sessions.

use crate::access::Audit;
use crate::db::{params, Conn, Row};
use crate::rows::ts;
use crate::{Backend, Store, StoreError};
use flowcal_domain::UserId;
use jiff::Timestamp;

/// A local user account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub login: String,
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
    pub is_admin: bool,
    /// The user's own switch for calendar export.
    pub calendar_export: bool,
    /// A reminder before each calendar entry, in minutes.
    pub reminder_minutes: Option<i64>,
    /// Auto-sync: the account whose calendar keeps the user's open deadlines.
    pub auto_sync_account: Option<i64>,
    /// Auto-sync keeps completed tasks as "✓ done".
    pub auto_sync_keep_done: bool,
    /// The language of the user's pages (`en`, `de`, `ja`); none: the browser's choice.
    pub language: Option<String>,
    /// Since when the user is disabled: no sign-in, no session, no token, no feed.
    pub disabled_at: Option<Timestamp>,
    /// Deleting the user was asked for: their calendar entries are being removed.
    pub deletion_requested_at: Option<Timestamp>,
    /// The user was deleted; the row stays so that history still names them.
    pub deleted_at: Option<Timestamp>,
}

impl User {
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }

    /// `active`, `disabled`, `deleting` or `deleted`.
    pub fn state(&self) -> &'static str {
        match (self.deleted_at, self.deletion_requested_at, self.disabled_at) {
            (Some(_), _, _) => "deleted",
            (None, Some(_), _) => "deleting",
            (None, None, Some(_)) => "disabled",
            (None, None, None) => "active",
        }
    }
}

/// A personal API token as its owner sees it (never the token itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
}

/// What presenting a token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenLookup {
    /// No such token (never issued, or revoked).
    Unknown,
    /// The token has expired.
    Expired,
    /// The token's user (who may be disabled) and their roles.
    Found(Box<User>, Vec<String>),
}

/// An administrator's change to a user; `None` leaves a part as it is.
#[derive(Debug, Clone, Default)]
pub struct AccessChange {
    pub disabled: Option<bool>,
    pub admin: Option<bool>,
    /// The user's roles from now on (all of them).
    pub roles: Option<Vec<String>>,
}

/// What `create_user` needs.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
    pub is_admin: bool,
    /// An argon2id PHC string, or none for a user who cannot sign in with a password.
    pub password_hash: Option<String>,
}

pub(crate) const USER_COLUMNS: &str =
    "u.id, u.login, u.display_name, u.email, u.time_zone, u.is_admin, u.calendar_export, u.reminder_minutes, \
     u.auto_sync_account, u.auto_sync_keep_done, u.language, u.disabled_at, u.deletion_requested_at, u.deleted_at";

/// A user's roles, sorted.
fn roles_of(c: &mut dyn Conn, id: UserId) -> Result<Vec<String>, StoreError> {
    c.query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", params![id.0])?
        .iter()
        .map(|r| Ok(r.text("role")?))
        .collect()
}

/// A user row with the user's roles.
fn with_roles(c: &mut dyn Conn, r: &Row) -> Result<(User, Vec<String>), StoreError> {
    let u = user(r)?;
    let roles = roles_of(c, u.id)?;
    Ok((u, roles))
}

pub(crate) fn user(r: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: UserId(r.int("id")?),
        login: r.text("login")?,
        display_name: r.text("display_name")?,
        email: r.text("email")?,
        time_zone: r.text("time_zone")?,
        is_admin: r.int("is_admin")? != 0,
        calendar_export: r.int("calendar_export")? != 0,
        reminder_minutes: r.opt_int("reminder_minutes")?,
        auto_sync_account: r.opt_int("auto_sync_account")?,
        auto_sync_keep_done: r.int("auto_sync_keep_done")? != 0,
        language: r.opt_text("language")?,
        disabled_at: r.opt_int("disabled_at")?.map(ts).transpose()?,
        deletion_requested_at: r.opt_int("deletion_requested_at")?.map(ts).transpose()?,
        deleted_at: r.opt_int("deleted_at")?.map(ts).transpose()?,
    })
}

impl Store {
    /// Creates a user with their roles, in one transaction.
    pub async fn create_user(&self, new: &NewUser, roles: &[String], now: Timestamp) -> Result<UserId, StoreError> {
        let n = new.clone();
        let roles = roles.to_vec();
        self.tx(move |c| {
            let r = c.query_one(
                "INSERT INTO users (login, display_name, email, time_zone, is_admin, password_hash, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                params![
                    &n.login,
                    &n.display_name,
                    &n.email,
                    &n.time_zone,
                    i64::from(n.is_admin),
                    n.password_hash.clone(),
                    now.as_millisecond()
                ],
            );
            match r {
                Ok(r) => {
                    let id = r.int("id")?;
                    for role in &roles {
                        c.execute(
                            "INSERT INTO user_roles (user_id, role) SELECT $1, CAST($2 AS TEXT)
                             WHERE NOT EXISTS (SELECT 1 FROM user_roles WHERE user_id = $1 AND role = $2)",
                            params![id, role],
                        )?;
                    }
                    Ok(UserId(id))
                }
                Err(e) if e.unique_violation => {
                    Err(StoreError::Conflict(format!("a user with the login '{}' already exists", n.login)))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(move |c| {
            c.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"), params![id.0])?
                .map(|r| user(&r))
                .transpose()
        })
        .await
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| {
            c.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.login = $1"), params![login])?
                .map(|r| user(&r))
                .transpose()
        })
        .await
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        self.read(|c| {
            c.query(&format!("SELECT {USER_COLUMNS} FROM users u ORDER BY u.login"), &[])?.iter().map(user).collect()
        })
        .await
    }

    /// A page of the users by login, after the login `after`, with the count of all of them.
    pub async fn users_page(&self, after: Option<String>, limit: usize) -> Result<crate::Page<User>, StoreError> {
        let (limit, fetch) = crate::paging::fetch(limit);
        self.read(move |c| {
            let total = c.query_one("SELECT COUNT(*) AS n FROM users", &[])?.int("n")?;
            let rows = c
                .query(
                    &format!("SELECT {USER_COLUMNS} FROM users u WHERE u.login > $1 ORDER BY u.login LIMIT $2"),
                    params![after.unwrap_or_default(), fetch],
                )?
                .iter()
                .map(user)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(crate::Page::from_rows(rows, limit, Some(total)))
        })
        .await
    }

    /// The user and password hash for a sign-in attempt.
    pub async fn password_hash(&self, login: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| {
            match c.query_opt(
                &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.login = $1"),
                params![login],
            )? {
                Some(r) => Ok(Some((user(&r)?, r.opt_text("password_hash")?))),
                None => Ok(None),
            }
        })
        .await
    }

    /// Changes a user's own settings; `None` leaves a setting as it is.
    pub async fn update_settings(
        &self,
        id: UserId,
        time_zone: Option<&str>,
        calendar_export: Option<bool>,
        reminder_minutes: Option<Option<i64>>,
    ) -> Result<(), StoreError> {
        let tz = time_zone.map(str::to_owned);
        let now = jiff::Timestamp::now().as_millisecond();
        self.tx(move |c| {
            // The reminder is part of every feed entry.
            if reminder_minutes.is_some() {
                crate::feed_version::touch_user(c, id, now)?;
            }
            c.execute(
                "UPDATE users SET time_zone = COALESCE(CAST($1 AS TEXT), time_zone),
                                  calendar_export = COALESCE(CAST($2 AS BIGINT), calendar_export),
                                  reminder_minutes = CASE WHEN $4 = 1 THEN CAST($5 AS BIGINT) ELSE reminder_minutes END
                 WHERE id = $3",
                params![
                    tz,
                    calendar_export.map(i64::from),
                    id.0,
                    i64::from(reminder_minutes.is_some()),
                    reminder_minutes.flatten()
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Sets the language of a user's pages; none: the browser's choice.
    pub async fn set_language(&self, id: UserId, language: Option<&str>) -> Result<(), StoreError> {
        let language = language.map(str::to_owned);
        self.read(move |c| {
            c.execute("UPDATE users SET language = $1 WHERE id = $2", params![language, id.0])?;
            Ok(())
        })
        .await
    }

    /// Adds a role; adding one the user has is not an error.
    pub async fn add_role(&self, id: UserId, role: &str) -> Result<(), StoreError> {
        let role = role.to_owned();
        self.read(move |c| {
            match c.execute("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)", params![id.0, role]) {
                Ok(_) => Ok(()),
                Err(e) if e.unique_violation => Ok(()),
                Err(e) => Err(e.into()),
            }
        })
        .await
    }

    pub async fn roles(&self, id: UserId) -> Result<Vec<String>, StoreError> {
        self.read(move |c| roles_of(c, id)).await
    }

    /// Stores a personal API token by its hash; `expires_at`: none for a token that never expires.
    pub async fn create_api_token(
        &self,
        id: UserId,
        name: &str,
        token_hash: &str,
        now: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Result<i64, StoreError> {
        let (name, hash) = (name.to_owned(), token_hash.to_owned());
        self.read(move |c| {
            Ok(c.query_one(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
                params![id.0, name, hash, now.as_millisecond(), expires_at.map(|t| t.as_millisecond())],
            )?
            .int("id")?)
        })
        .await
    }

    /// A user's tokens, oldest first.
    pub async fn api_tokens_of(&self, id: UserId) -> Result<Vec<ApiToken>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT id, name, created_at, last_used_at, expires_at FROM api_tokens WHERE user_id = $1 ORDER BY id",
                params![id.0],
            )?
            .iter()
            .map(|r| {
                Ok(ApiToken {
                    id: r.int("id")?,
                    name: r.text("name")?,
                    created_at: ts(r.int("created_at")?)?,
                    last_used_at: r.opt_int("last_used_at")?.map(ts).transpose()?,
                    expires_at: r.opt_int("expires_at")?.map(ts).transpose()?,
                })
            })
            .collect()
        })
        .await
    }

    /// Revokes one of the user's tokens; false when the user has no token with this id.
    pub async fn delete_api_token(&self, user: UserId, token: i64) -> Result<bool, StoreError> {
        self.read(move |c| {
            Ok(c.execute("DELETE FROM api_tokens WHERE id = $1 AND user_id = $2", params![token, user.0])? == 1)
        })
        .await
    }

    /// Revokes all of the user's tokens; returns how many there were.
    pub async fn delete_api_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        self.read(move |c| Ok(c.execute("DELETE FROM api_tokens WHERE user_id = $1", params![user.0])?)).await
    }

    /// The user a token belongs to, with their roles: one round trip, as it
    /// runs on every API request. A live token of an enabled user has its
    /// use recorded, at most once a minute (so requests do not all write).
    pub async fn user_by_token_hash(&self, token_hash: &str, now: Timestamp) -> Result<TokenLookup, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            let Some(r) = c.query_opt(
                &format!(
                    "SELECT {USER_COLUMNS}, t.id AS token_id, t.expires_at, t.last_used_at
                     FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
                ),
                params![hash],
            )?
            else {
                return Ok(TokenLookup::Unknown);
            };
            let (id, expires, last_used) = (r.int("token_id")?, r.opt_int("expires_at")?, r.opt_int("last_used_at")?);
            let now = now.as_millisecond();
            if expires.is_some_and(|e| e <= now) {
                return Ok(TokenLookup::Expired);
            }
            let (u, roles) = with_roles(c, &r)?;
            if !u.is_disabled() && last_used.is_none_or(|t| now - t >= 60_000) {
                c.execute("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1", params![id, now])?;
            }
            Ok(TokenLookup::Found(Box::new(u), roles))
        })
        .await
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        let hash = id_hash.to_owned();
        self.read(move |c| {
            c.execute(
                "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                params![hash, user.0, now.as_millisecond(), expires.as_millisecond()],
            )?;
            Ok(())
        })
        .await
    }

    /// The user of a live session, with their roles (none for a disabled user).
    pub async fn user_by_session(
        &self,
        id_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(User, Vec<String>)>, StoreError> {
        let hash = id_hash.to_owned();
        self.read(move |c| {
            let Some(r) = c.query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM sessions s JOIN users u ON u.id = s.user_id
                     WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled_at IS NULL"
                ),
                params![hash, now.as_millisecond()],
            )?
            else {
                return Ok(None);
            };
            with_roles(c, &r).map(Some)
        })
        .await
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        let hash = id_hash.to_owned();
        self.read(move |c| Ok(c.execute("DELETE FROM sessions WHERE id_hash = $1", params![hash]).map(|_| ())?)).await
    }

    /// Deletes up to `batch` expired sessions; returns how many.
    pub async fn delete_expired_sessions(&self, now: Timestamp, batch: usize) -> Result<u64, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.read(move |c| {
            Ok(c.execute(
                "DELETE FROM sessions WHERE id_hash IN
                   (SELECT id_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)",
                params![now.as_millisecond(), batch],
            )?)
        })
        .await
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.read(move |c| Ok(c.execute("DELETE FROM sessions WHERE expires_at <= $1", params![now.as_millisecond()])?))
            .await
    }
    /// Ends the user's sessions, all of them or all but the one with this hash; returns how many.
    pub async fn end_sessions(&self, user: UserId, except_hash: Option<&str>) -> Result<u64, StoreError> {
        let except = except_hash.map(str::to_owned);
        self.read(move |c| {
            Ok(c.execute(
                "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> COALESCE(CAST($2 AS TEXT), '')",
                params![user.0, except],
            )?)
        })
        .await
    }

    /// Sets a new password hash and ends the user's sessions but the one
    /// with `keep_hash` (none: all), in one transaction; returns how many ended.
    pub async fn replace_password(
        &self,
        user: UserId,
        hash: String,
        keep_hash: Option<String>,
    ) -> Result<u64, StoreError> {
        self.tx(move |c| {
            c.execute("UPDATE users SET password_hash = $2 WHERE id = $1", params![user.0, hash])?;
            Ok(c.execute(
                "DELETE FROM sessions WHERE user_id = $1 AND id_hash <> COALESCE(CAST($2 AS TEXT), '')",
                params![user.0, keep_hash],
            )?)
        })
        .await
    }

    /// An administrator's change to a user (disable or enable, admin rights,
    /// roles), in one transaction. Disabling ends the user's sessions. Refused
    /// (a conflict) when no active administrator would be left.
    pub async fn change_access(
        &self,
        user: UserId,
        change: AccessChange,
        now: Timestamp,
        audit: Audit,
    ) -> Result<(User, Vec<String>), StoreError> {
        self.tx(move |c| {
            let before = load(c, user)?;
            let removes_admin = change.disabled == Some(true) || change.admin == Some(false);
            if removes_admin {
                keep_an_admin(c, &before)?;
            }
            if before.deleted_at.is_some() || before.deletion_requested_at.is_some() {
                return Err(StoreError::Conflict(format!("{} is being deleted and cannot be changed", before.login)));
            }
            match change.disabled {
                Some(true) => {
                    c.execute(
                        "UPDATE users SET disabled_at = COALESCE(disabled_at, $2) WHERE id = $1",
                        params![user.0, now.as_millisecond()],
                    )?;
                    c.execute("DELETE FROM sessions WHERE user_id = $1", params![user.0])?;
                }
                Some(false) => {
                    c.execute("UPDATE users SET disabled_at = NULL WHERE id = $1", params![user.0])?;
                }
                None => {}
            }
            if let Some(admin) = change.admin {
                c.execute("UPDATE users SET is_admin = $2 WHERE id = $1", params![user.0, i64::from(admin)])?;
            }
            if let Some(roles) = &change.roles {
                c.execute("DELETE FROM user_roles WHERE user_id = $1", params![user.0])?;
                for role in roles {
                    c.execute(
                        "INSERT INTO user_roles (user_id, role) SELECT $1, CAST($2 AS TEXT)
                         WHERE NOT EXISTS (SELECT 1 FROM user_roles WHERE user_id = $1 AND role = $2)",
                        params![user.0, role],
                    )?;
                }
            }
            crate::access::write_audit(c, now.as_millisecond(), Some(user), None, &audit)?;
            let after = load(c, user)?;
            let roles = roles_of(c, user)?;
            Ok((after, roles))
        })
        .await
    }

    /// Starts deleting a user: disabled at once, sessions ended, feed off,
    /// auto-sync off, and every calendar entry of theirs queued for removal.
    /// Asking again changes nothing. Refused for the last active administrator.
    pub async fn request_user_deletion(&self, user: UserId, now: Timestamp, audit: Audit) -> Result<User, StoreError> {
        self.tx(move |c| {
            let before = load(c, user)?;
            if before.deletion_requested_at.is_some() {
                return Ok(before);
            }
            keep_an_admin(c, &before)?;
            let now = now.as_millisecond();
            c.execute(
                "UPDATE users SET disabled_at = COALESCE(disabled_at, $2), deletion_requested_at = $2,
                        feed_token_hash = NULL, auto_sync_account = NULL, calendar_export = 0
                 WHERE id = $1",
                params![user.0, now],
            )?;
            c.execute("DELETE FROM sessions WHERE user_id = $1", params![user.0])?;
            c.execute(
                "UPDATE exports SET wanted = 'absent', state = 'pending', version = version + 1, attempts = 0,
                        last_error = NULL, not_before = $2, updated_at = $2
                 WHERE user_id = $1 AND NOT (wanted = 'absent' AND state = 'removed')",
                params![user.0, now],
            )?;
            crate::db::mark_outbox(c)?;
            crate::access::write_audit(c, now, Some(user), None, &audit)?;
            load(c, user)
        })
        .await
    }

    /// Users whose deletion was asked for and is not finished.
    pub async fn users_being_deleted(&self) -> Result<Vec<User>, StoreError> {
        self.read(|c| {
            c.query(
                &format!(
                    "SELECT {USER_COLUMNS} FROM users u
                     WHERE u.deletion_requested_at IS NOT NULL AND u.deleted_at IS NULL ORDER BY u.id"
                ),
                &[],
            )?
            .iter()
            .map(user)
            .collect()
        })
        .await
    }

    /// How many of the user's entries delivery may still remove: pending
    /// exports of accounts that can be reached. Those of an account waiting
    /// for a reconnect never go out (the user cannot reconnect any more).
    pub async fn removals_left(&self, user: UserId) -> Result<i64, StoreError> {
        self.read(move |c| {
            Ok(c.query_one(
                "SELECT COUNT(*) AS pending FROM exports e JOIN calendar_accounts a ON a.id = e.account_id
                 WHERE e.user_id = $1 AND e.state = 'pending' AND a.status = 'active'",
                params![user.0],
            )?
            .int("pending")?)
        })
        .await
    }

    /// Ends a deletion (after the calendar grants were revoked and their
    /// accounts deleted): every credential and personal setting goes; the
    /// row stays as a tombstone with the login. False if it was done before.
    pub async fn finish_user_deletion(&self, user: UserId, now: Timestamp, audit: Audit) -> Result<bool, StoreError> {
        self.tx(move |c| {
            let u = load(c, user)?;
            if u.deleted_at.is_some() || u.deletion_requested_at.is_none() {
                return Ok(false);
            }
            let id = user.0;
            for sql in [
                "DELETE FROM calendar_accounts WHERE user_id = $1",
                "DELETE FROM api_tokens WHERE user_id = $1",
                "DELETE FROM sessions WHERE user_id = $1",
                "DELETE FROM user_identities WHERE user_id = $1",
                "DELETE FROM user_roles WHERE user_id = $1",
                "DELETE FROM oauth_states WHERE user_id = $1",
                "DELETE FROM feed_entries WHERE user_id = $1",
            ] {
                c.execute(sql, params![id])?;
            }
            c.execute(
                "UPDATE users SET password_hash = NULL, feed_token_hash = NULL, email = '', is_admin = 0,
                        auto_sync_account = NULL, calendar_export = 0, deleted_at = $2
                 WHERE id = $1",
                params![id, now.as_millisecond()],
            )?;
            crate::access::write_audit(c, now.as_millisecond(), Some(user), None, &audit)?;
            Ok(true)
        })
        .await
    }
}

/// A user row, which must exist.
fn load(c: &mut dyn Conn, id: UserId) -> Result<User, StoreError> {
    c.query_opt(&format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"), params![id.0])?
        .map(|r| user(&r))
        .transpose()?
        .ok_or_else(|| StoreError::NotFound(format!("user {}", id.0)))
}

/// Refuses a change that would take `u` away from the active administrators
/// when they are the last one. The rows are locked (PostgreSQL) so that two
/// administrators cannot demote each other at once; SQLite writes one at a time.
fn keep_an_admin(c: &mut dyn Conn, u: &User) -> Result<(), StoreError> {
    if !u.is_admin || u.is_disabled() {
        return Ok(());
    }
    let lock = if c.backend() == Backend::Postgres { " FOR UPDATE" } else { "" };
    let admins =
        c.query(&format!("SELECT id FROM users WHERE is_admin = 1 AND disabled_at IS NULL ORDER BY id{lock}"), &[])?;
    if admins.len() <= 1 {
        return Err(StoreError::Conflict(format!(
            "{} is the last active administrator: make another user an administrator first",
            u.login
        )));
    }
    Ok(())
}
