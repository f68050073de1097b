//! Credentials and people over time: personal API tokens (named, expiring,
//! revocable), password changes that end other sessions, administrators
//! disabling users and taking roles or admin rights away, and deleting a user
//! (deprovisioning), which runs in steps that survive a crash.
//!
//! Deleting never loses history: the user row stays as a tombstone with the
//! login, and the audit log keeps what happened.

use crate::app::{App, Principal};
use crate::error::{AppError, AppResult};
use crate::secrets;
use flowcal_store::{AccessChange, ApiToken, Audit, User};
use jiff::SignedDuration;
use serde_json::json;

/// The longest a personal API token may live, in days (ten years).
pub const MAX_TOKEN_DAYS: u32 = 3650;

/// The most roles one user may have.
pub const MAX_ROLES: usize = 100;

/// Who asks for a change: an administrator, or the command line (which the
/// operator of the server runs, so it is trusted).
#[derive(Debug, Clone, Copy)]
pub enum By<'a> {
    Admin(&'a Principal),
    CommandLine,
}

impl By<'_> {
    fn check(&self) -> AppResult<()> {
        match self {
            By::Admin(p) => p.require_admin(),
            By::CommandLine => Ok(()),
        }
    }

    fn name(&self) -> String {
        match self {
            By::Admin(p) => p.login().to_owned(),
            By::CommandLine => "command line".to_owned(),
        }
    }
}

fn audit(action: &'static str, detail: serde_json::Value) -> Audit {
    Audit { action, detail: detail.to_string() }
}

impl App {
    // ---- personal API tokens ------------------------------------------------------------------

    /// Issues a personal API token for a user; only its hash is stored.
    /// Returns the token's id and the token (shown once).
    pub async fn issue_token(&self, login: &str, name: &str, expires_days: Option<u32>) -> AppResult<(i64, String)> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(AppError::Unprocessable(
                "the token's name must have 1 to 100 characters, without control characters".into(),
            ));
        }
        let expires_at = match expires_days {
            None => None,
            Some(d) if d == 0 || d > MAX_TOKEN_DAYS => {
                return Err(AppError::Unprocessable(format!(
                    "expires_days must be between 1 and {MAX_TOKEN_DAYS}; leave it out for a token that does not expire"
                )))
            }
            Some(d) => Some(
                self.now()
                    .checked_add(SignedDuration::from_hours(24 * i64::from(d)))
                    .map_err(|e| AppError::Internal(e.into()))?,
            ),
        };
        let user = self.user_named(login).await?;
        if user.is_disabled() {
            return Err(AppError::Conflict(format!(
                "{login} is disabled: enable the user first (flowcal user enable {login})"
            )));
        }
        let token = secrets::new_token("fc_");
        let id =
            self.store.create_api_token(user.id, name, &secrets::token_hash(&token), self.now(), expires_at).await?;
        Ok((id, token))
    }

    /// A user's tokens (without the tokens themselves).
    pub async fn tokens_of(&self, login: &str) -> AppResult<Vec<ApiToken>> {
        let user = self.user_named(login).await?;
        Ok(self.store.api_tokens_of(user.id).await?)
    }

    /// Revokes one of the user's tokens at once; another user's token id is "not found".
    pub async fn revoke_token(&self, login: &str, id: i64) -> AppResult<()> {
        let user = self.user_named(login).await?;
        if self.store.delete_api_token(user.id, id).await? {
            Ok(())
        } else {
            Err(AppError::NotFound(format!("{login} has no API token {id} (see the list of tokens)")))
        }
    }

    /// Revokes every token of the user; returns how many there were.
    pub async fn revoke_all_tokens(&self, login: &str) -> AppResult<u64> {
        let user = self.user_named(login).await?;
        Ok(self.store.delete_api_tokens(user.id).await?)
    }

    pub(crate) async fn user_named(&self, login: &str) -> AppResult<User> {
        self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user '{login}'")))
    }

    // ---- passwords ----------------------------------------------------------------------------

    /// A user changes their own password: the current one is checked, and
    /// every other session of theirs ends (this one stays). Returns how many ended.
    pub async fn change_password(&self, p: &Principal, session: &str, current: &str, new: &str) -> AppResult<u64> {
        check_password(new)?;
        let Some((_, Some(hash))) = self.store.password_hash(p.login()).await? else {
            return Err(AppError::Conflict(
                "your account has no password (you sign in with your organisation's account)".into(),
            ));
        };
        let current = current.to_owned();
        let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&current, &hash))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        if !ok {
            return Err(AppError::Forbidden("the current password is wrong: nothing was changed".into()));
        }
        let hash = hash_off_thread(new).await?;
        let ended = self.store.replace_password(p.user.id, hash, Some(secrets::token_hash(session))).await?;
        self.store
            .audit(Some(p.user.id), None, audit("password_changed", json!({"sessions_ended": ended})), self.now())
            .await?;
        Ok(ended)
    }

    // ---- administrators and users -------------------------------------------------------------

    /// Disables or enables a user, gives or takes admin rights, sets their
    /// roles. Takes effect at once: a disabled user's sessions end and their
    /// tokens and feed stop. The last active administrator stays one.
    pub async fn change_user(&self, by: By<'_>, login: &str, change: AccessChange) -> AppResult<(User, Vec<String>)> {
        by.check()?;
        if let Some(roles) = &change.roles {
            if roles.len() > MAX_ROLES {
                return Err(AppError::Unprocessable(format!("a user can have at most {MAX_ROLES} roles")));
            }
            if let Some(bad) = roles.iter().find(|r| !flowcal_domain::user::valid_role(r)) {
                return Err(AppError::Unprocessable(format!("'{bad}' is not a valid role name")));
            }
        }
        let user = self.user_named(login).await?;
        let detail = json!({
            "login": login, "by": by.name(), "disabled": change.disabled, "admin": change.admin, "roles": change.roles,
        });
        Ok(self.store.change_access(user.id, change, self.now(), audit("user_changed", detail)).await?)
    }

    /// Starts deleting a user (see [`App::advance_deletions`] for the rest):
    /// they are disabled at once, their feed stops, and their calendar entries
    /// are queued for removal. Asking again is no change.
    pub async fn delete_user(&self, by: By<'_>, login: &str) -> AppResult<User> {
        by.check()?;
        let user = self.user_named(login).await?;
        if user.deleted_at.is_some() {
            return Ok(user);
        }
        let detail = json!({"login": login, "by": by.name()});
        let u = self.store.request_user_deletion(user.id, self.now(), audit("user_deletion_requested", detail)).await?;
        self.delivery_wake.notify_one();
        Ok(u)
    }

    /// Moves every deletion on that can move: once delivery has removed a
    /// user's entries from their calendars (or given up), their grants are
    /// revoked at the providers, their accounts and credentials deleted, and
    /// the row made a tombstone. Each step is safe to repeat, so a crash
    /// midway is resumed by the next pass. Returns how many users were finished.
    pub async fn advance_deletions(&self) -> AppResult<usize> {
        let mut finished = 0;
        for user in self.store.users_being_deleted().await? {
            if self.store.removals_left(user.id).await? > 0 {
                continue;
            }
            // Entries delivery gave up on (or could not reach) stay in those
            // calendars: the audit log says how many.
            let left_behind = self.store.exports_of(user.id).await?.iter().filter(|e| e.state != "removed").count();
            for acc in self.store.accounts_of(user.id).await? {
                let outcome = self.revoke_account(&acc).await;
                let detail = json!({
                    "provider": acc.provider, "revoked": outcome.revoked, "message": outcome.message,
                    "reason": "user deleted",
                });
                self.store.delete_account(acc.id, self.now(), audit("account_disconnected", detail)).await?;
            }
            let detail = json!({"login": user.login, "entries_left_in_calendars": left_behind});
            if self.store.finish_user_deletion(user.id, self.now(), audit("user_deleted", detail)).await? {
                tracing::info!(login = %user.login, "user deleted");
                finished += 1;
            }
        }
        Ok(finished)
    }
}

/// The rule for new passwords.
pub(crate) fn check_password(p: &str) -> AppResult<()> {
    if p.chars().count() < 8 {
        return Err(AppError::Unprocessable("the password must have at least 8 characters".into()));
    }
    Ok(())
}

/// argon2id takes tens of milliseconds: off the async workers.
pub(crate) async fn hash_off_thread(password: &str) -> AppResult<String> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(e.into()))
}
