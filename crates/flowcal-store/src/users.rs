//! Users, roles, personal API tokens and browser sessions.

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

type UserRow = (i64, String, String, String, String, i64, i64);
type UserWithHashRow = (i64, String, String, String, String, i64, i64, Option<String>);
const USER_COLUMNS: &str = "id, login, display_name, email, time_zone, is_admin, calendar_export";

fn user(r: UserRow) -> User {
    User {
        id: UserId(r.0),
        login: r.1,
        display_name: r.2,
        email: r.3,
        time_zone: r.4,
        is_admin: r.5 != 0,
        calendar_export: r.6 != 0,
    }
}

impl Store {
    pub async fn create_user(&self, new: &NewUser, now: Timestamp) -> Result<UserId, StoreError> {
        let r: Result<(i64,), _> = sqlx::query_as(
            "INSERT INTO users (login, display_name, email, time_zone, is_admin, password_hash, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&new.login)
        .bind(&new.display_name)
        .bind(&new.email)
        .bind(&new.time_zone)
        .bind(i64::from(new.is_admin))
        .bind(new.password_hash.as_deref())
        .bind(now.as_millisecond())
        .fetch_one(&self.pool)
        .await;
        match r {
            Ok((id,)) => Ok(UserId(id)),
            Err(e) if StoreError::is_unique_violation(&e) => {
                Err(StoreError::Conflict(format!("a user with the login '{}' already exists", new.login)))
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let r: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(user))
    }

    pub async fn user_by_login(&self, login: &str) -> Result<Option<User>, StoreError> {
        let r: Option<UserRow> = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users WHERE login = $1"))
            .bind(login)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(user))
    }

    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows: Vec<UserRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY login")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(user).collect())
    }

    /// The user and password hash for a sign-in attempt.
    pub async fn password_hash(&self, login: &str) -> Result<Option<(User, Option<String>)>, StoreError> {
        let r: Option<UserWithHashRow> =
            sqlx::query_as(&format!("SELECT {USER_COLUMNS}, password_hash FROM users WHERE login = $1"))
                .bind(login)
                .fetch_optional(&self.pool)
                .await?;
        Ok(r.map(|r| (user((r.0, r.1, r.2, r.3, r.4, r.5, r.6)), r.7)))
    }

    pub async fn set_password_hash(&self, id: UserId, hash: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_admin(&self, id: UserId, admin: bool) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET is_admin = $1 WHERE id = $2")
            .bind(i64::from(admin))
            .bind(id.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Changes a user's own settings; `None` leaves a setting as it is.
    pub async fn update_settings(
        &self,
        id: UserId,
        time_zone: Option<&str>,
        calendar_export: Option<bool>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET time_zone = COALESCE($1, time_zone), calendar_export = COALESCE($2, calendar_export)
             WHERE id = $3",
        )
        .bind(time_zone)
        .bind(calendar_export.map(i64::from))
        .bind(id.0)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Adds a role; adding one the user has is not an error.
    pub async fn add_role(&self, id: UserId, role: &str) -> Result<(), StoreError> {
        let r = sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
            .bind(id.0)
            .bind(role)
            .execute(&self.pool)
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if StoreError::is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn roles(&self, id: UserId) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT role FROM user_roles WHERE user_id = $1 ORDER BY role")
            .bind(id.0)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// Stores a personal API token by its hash.
    pub async fn create_api_token(
        &self,
        id: UserId,
        name: &str,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<i64, StoreError> {
        let (tid,): (i64,) = sqlx::query_as(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(id.0)
        .bind(name)
        .bind(token_hash)
        .bind(now.as_millisecond())
        .fetch_one(&self.pool)
        .await?;
        Ok(tid)
    }

    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>, StoreError> {
        let cols = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let r: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {cols} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(user))
    }

    pub async fn create_session(
        &self,
        id_hash: &str,
        user: UserId,
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO sessions (id_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(id_hash)
            .bind(user.0)
            .bind(now.as_millisecond())
            .bind(expires.as_millisecond())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn user_by_session(&self, id_hash: &str, now: Timestamp) -> Result<Option<User>, StoreError> {
        let cols = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let r: Option<UserRow> = sqlx::query_as(&format!(
            "SELECT {cols} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1 AND s.expires_at > $2"
        ))
        .bind(id_hash)
        .bind(now.as_millisecond())
        .fetch_optional(&self.pool)
        .await?;
        Ok(r.map(user))
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes expired sessions; returns how many.
    pub async fn purge_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        let r = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.as_millisecond())
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
