//! Users, roles, personal API tokens and browser sessions.

use crate::db::{params, Conn, Row};
use crate::{Store, StoreError};
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
     u.auto_sync_account, u.auto_sync_keep_done";

/// The number of columns in [`USER_COLUMNS`].
pub(crate) const USER_COLUMN_COUNT: usize = 10;

/// A user's roles, sorted.
fn roles_of(c: &mut dyn Conn, id: UserId) -> Result<Vec<String>, StoreError> {
    c.query("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role", params![id.0])?
        .iter()
        .map(|r| Ok(r.text(0)?))
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
        id: UserId(r.int(0)?),
        login: r.text(1)?,
        display_name: r.text(2)?,
        email: r.text(3)?,
        time_zone: r.text(4)?,
        is_admin: r.int(5)? != 0,
        calendar_export: r.int(6)? != 0,
        reminder_minutes: r.opt_int(7)?,
        auto_sync_account: r.opt_int(8)?,
        auto_sync_keep_done: r.int(9)? != 0,
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
                    let id = r.int(0)?;
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

    /// The user and password hash for a sign-in attempt.
    pub async fn password_hash(&self, login: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
        let login = login.to_owned();
        self.read(move |c| {
            match c.query_opt(
                &format!("SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.login = $1"),
                params![login],
            )? {
                Some(r) => Ok(Some((user(&r)?, r.opt_text(10)?))),
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
                crate::feeds::touch_user(c, id, now)?;
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

    /// Stores a personal API token by its hash.
    pub async fn create_api_token(
        &self,
        id: UserId,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let (name, hash) = (name.to_owned(), token_hash.to_owned());
        self.read(move |c| {
            Ok(c.query_one(
                "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                params![id.0, name, hash, now.as_millisecond()],
            )?
            .int(0)?)
        })
        .await
    }

    /// The user a token belongs to, with their roles: one round trip, as it
    /// runs on every API request.
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<(User, Vec<String>)>, StoreError> {
        let hash = token_hash.to_owned();
        self.read(move |c| {
            let Some(r) = c.query_opt(
                &format!(
                    "SELECT {USER_COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
                ),
                params![hash],
            )?
            else {
                return Ok(None);
            };
            with_roles(c, &r).map(Some)
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

    /// The user of a live session, with their roles.
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
                     WHERE s.id_hash = $1 AND s.expires_at > $2"
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

    /// Deletes expired sessions; returns how many.
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.read(move |c| Ok(c.execute("DELETE FROM sessions WHERE expires_at <= $1", params![now.as_millisecond()])?))
            .await
    }
}
