//! People: users, their passwords and sessions, signing in with a password
//! (rate limited), their settings; and credentials and people over time: personal API tokens (named, expiring,
//! revocable), password changes that end other sessions, administrators
//! disabling users and taking roles or admin rights away, and deleting a user
//! (deprovisioning), which runs in steps that survive a crash.
//!
//! Deleting never loses history: the user row stays as a tombstone with the
//! login, and the audit log keeps what happened.

use super::Access;
use crate::error::{AppError, AppResult};
use crate::principal::Principal;
use crate::secrets;
use flowcal_domain::export::ExportState;
use flowcal_domain::Login;
use flowcal_store::{AccessChange, ApiToken, Audit, NewUser, SignInLock, SignInRule, SignInRules, TokenLookup, User};
use jiff::{SignedDuration, Timestamp};
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

    /// An administrator does not lock themselves out by a slip: disabling or
    /// deleting one's own account is left to another administrator (or the
    /// command line).
    fn refuse_self(&self, login: &str, what: &str) -> AppResult<()> {
        match self {
            By::Admin(p) if p.login() == login => Err(AppError::Conflict(format!(
                "you cannot {what} your own account: another administrator can, or `flowcal user` on the server"
            ))),
            _ => Ok(()),
        }
    }
}

fn audit(action: &'static str, detail: serde_json::Value) -> Audit {
    Audit { action, detail: detail.to_string() }
}

impl Access {
    // ---- users, tokens, sessions -------------------------------------------------------------

    /// Creates a user. `password`: none makes an account that signs in only with API tokens.
    pub async fn add_user(
        &self,
        login: &str,
        admin: bool,
        roles: &[String],
        password: Option<&str>,
    ) -> AppResult<User> {
        let login = Login::parse(login).map_err(|e| AppError::Unprocessable(e.to_string()))?;
        for r in roles {
            if !flowcal_domain::user::valid_role(r) {
                return Err(AppError::Unprocessable(format!("'{r}' is not a valid role name")));
            }
        }
        let password_hash = match password {
            Some(p) if p.chars().count() < 8 => {
                return Err(AppError::Unprocessable("the password must have at least 8 characters".into()))
            }
            Some(p) => Some(secrets::hash_password(p).map_err(|e| AppError::Internal(e.into()))?),
            None => None,
        };
        let new = NewUser {
            login: login.to_string(),
            display_name: login.to_string(),
            email: String::new(),
            time_zone: self.config.time_zone.clone(),
            is_admin: admin,
            password_hash,
        };
        let id = self.store.create_user(&new, roles, self.now()).await?;
        self.store.user(id).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))
    }

    /// An administrator sets a new password for a user: every session of
    /// theirs ends, failed sign-ins are forgotten. Returns how many sessions ended.
    pub async fn reset_password(&self, p: &Principal, login: &str, password: &str) -> AppResult<u64> {
        p.require_admin()?;
        check_password(password)?;
        let user = self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))?;
        if user.deletion_requested_at.is_some() {
            return Err(AppError::Conflict(format!("{login} is deleted: their password cannot be set")));
        }
        let hash = hash_off_thread(password).await?;
        let ended = self.store.replace_password(user.id, hash, None).await?;
        self.store.sign_in_succeeded(&crate::sign_in::login_hash(login), None, SIGN_IN_RULES).await?;
        let detail = serde_json::json!({"login": login, "by": p.login(), "sessions_ended": ended}).to_string();
        let audit = flowcal_store::Audit { action: "password_reset", detail };
        self.store.audit(Some(user.id), None, audit, self.now()).await?;
        Ok(ended)
    }

    /// An administrator gives a user a role.
    pub async fn grant_role(&self, p: &Principal, login: &str, role: &str) -> AppResult<()> {
        p.require_admin()?;
        if !flowcal_domain::user::valid_role(role) {
            return Err(AppError::Unprocessable(format!("'{role}' is not a valid role name")));
        }
        let user = self.store.user_by_login(login).await?.ok_or_else(|| AppError::NotFound(format!("user {login}")))?;
        Ok(self.store.add_role(user.id, role).await?)
    }

    /// Issues a personal API token that does not expire; only its hash is stored.
    pub async fn create_token(&self, login: &str, name: &str) -> AppResult<String> {
        Ok(self.issue_token(login, name, None).await?.1)
    }

    /// The caller a token names. An expired token, or one of a disabled
    /// user, is refused (an error), so the caller learns why.
    pub async fn principal_by_token(&self, token: &str) -> AppResult<Option<Principal>> {
        match self.store.user_by_token_hash(&secrets::token_hash(token), self.now()).await? {
            TokenLookup::Unknown => Ok(None),
            TokenLookup::Expired => Err(AppError::Unauthorized(
                "this API token has expired: create a new one (Settings, or POST /api/v1/me/tokens)".into(),
            )),
            TokenLookup::Found(user, _) if user.is_disabled() => Err(AppError::Forbidden(format!(
                "the account '{}' is disabled, and so are its API tokens: ask an administrator",
                user.login
            ))),
            TokenLookup::Found(user, roles) => Ok(Some(Principal { user: *user, roles })),
        }
    }

    pub async fn principal_by_session(&self, session: &str) -> AppResult<Option<Principal>> {
        let found = self.store.user_by_session(&secrets::token_hash(session), self.now()).await?;
        Ok(found.map(|(user, roles)| Principal { user, roles }))
    }

    /// Checks a password from the client at `from` (`None`: unknown) and
    /// opens a session; returns the session token.
    pub async fn login(&self, login: &str, password: &str, from: Option<std::net::IpAddr>) -> AppResult<String> {
        use crate::sign_in::{address_key, login_hash, IN_FLIGHT_PER_ADDRESS, LONGEST_LOGIN};
        // Before any work: a long login is junk (or an attempt to fill the database and the log).
        if login.len() > LONGEST_LOGIN {
            return Err(AppError::BadRequest(format!(
                "the login is longer than {LONGEST_LOGIN} bytes, so no account has it: check what you typed"
            )));
        }
        let address = address_key(from);
        // Before any database work: one address may not queue many attempts.
        let Some(_ticket) = self.sign_ins_in_flight.enter(&address, IN_FLIGHT_PER_ADDRESS) else {
            return Err(AppError::TooManyRequests {
                message: "too many sign-ins at once from your address: wait a moment and try again".into(),
                retry_after: 1,
            });
        };
        let refused = || AppError::Unauthorized("wrong login or password".into());
        let connectivity = self.connectivity().await?;
        if !connectivity.sign_in.password {
            let with: Vec<String> = connectivity
                .providers
                .iter()
                .filter(|(_, p)| p.sign_in)
                .map(|(name, p)| p.display_name.clone().unwrap_or_else(|| name.clone()))
                .collect();
            return Err(AppError::Forbidden(format!(
                "signing in with a password is turned off here; sign in with {}",
                if with.is_empty() { "your organisation's account".to_owned() } else { with.join(" or ") }
            )));
        }
        // Rate limited per (login, address), per address across logins, and per login
        // for the addresses that failed on it: see SIGN_IN_RULES.
        let hash = login_hash(login);
        let now = self.now();
        if let Some(lock) = self.store.sign_in_locked(&hash, &address, now, SIGN_IN_RULES).await? {
            return Err(too_many_sign_ins(now, lock));
        }
        let found = match Login::parse(login) {
            Ok(_) => self.store.password_hash(login).await?,
            Err(_) => None,
        };
        // Unknown users cost the same work, so timing does not tell which logins exist.
        let stored = match &found {
            Some((_, Some(stored))) => stored.clone(),
            _ => DUMMY_HASH.to_owned(),
        };
        // argon2id takes tens of milliseconds and ~19 MiB: run it off the async
        // workers, a few at a time, so sign-in attempts cannot stall the server.
        let permit = self.password_checks.acquire().await.map_err(|e| AppError::Internal(e.into()))?;
        let password = password.to_owned();
        let verified = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &stored))
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        drop(permit);
        let ok = verified && matches!(&found, Some((_, Some(_))));
        let Some((user, _)) = found.filter(|_| ok) else {
            let lock = self.store.sign_in_failed(&hash, &address, now, SIGN_IN_RULES).await?;
            // The typed login may be a password or junk: only its hash's prefix is logged.
            tracing::info!(login_hash = &hash[..12], %address, locked = lock.is_some(), "sign-in refused");
            return Err(match lock {
                Some(lock) => too_many_sign_ins(now, lock),
                None => refused(),
            });
        };
        self.store.sign_in_succeeded(&hash, Some(&address), SIGN_IN_RULES).await?;
        if user.is_disabled() {
            // Said only to someone who knows the password.
            return Err(AppError::Forbidden("this account is disabled: ask an administrator to enable it".into()));
        }
        self.open_session(user.id).await
    }

    /// Opens a browser session for a user; returns its token.
    pub(crate) async fn open_session(&self, user: flowcal_domain::UserId) -> AppResult<String> {
        let token = secrets::new_token("");
        let now = self.now();
        // Sign-ins are rare: a good moment to forget expired sessions and old failures.
        self.store.purge_sessions(now).await?;
        self.store.purge_sign_in_failures(now, SIGN_IN_RULES).await?;
        let expires = now
            .checked_add(jiff::SignedDuration::from_hours(i64::from(self.config.session_hours)))
            .map_err(|e| AppError::Internal(e.into()))?;
        self.store.create_session(&secrets::token_hash(&token), user, now, expires).await?;
        Ok(token)
    }

    pub async fn logout(&self, session: &str) -> AppResult<()> {
        Ok(self.store.delete_session(&secrets::token_hash(session)).await?)
    }

    pub async fn update_settings(
        &self,
        p: &Principal,
        time_zone: Option<&str>,
        calendar_export: Option<bool>,
        reminder_minutes: Option<Option<u32>>,
    ) -> AppResult<User> {
        if let Some(z) = time_zone {
            flowcal_domain::user::parse_time_zone(z).map_err(AppError::Unprocessable)?;
        }
        if let Some(Some(m)) = reminder_minutes {
            // Google accepts up to four weeks.
            if m > 40_320 {
                return Err(AppError::Unprocessable("reminder_minutes must be at most 40320 (four weeks)".into()));
            }
        }
        let reminder = reminder_minutes.map(|m| m.map(i64::from));
        self.store.update_settings(p.user.id, time_zone, calendar_export, reminder).await?;
        if calendar_export.is_some_and(|on| on != p.user.calendar_export) {
            // Auto-synced entries follow the switch at once.
            self.store.sync_user_exports(p.user.id, self.now()).await?;
            self.wake.notify_one();
        }
        self.store.user(p.user.id).await?.ok_or_else(|| AppError::NotFound("user".into()))
    }

    /// Sets the language of the caller's pages: `en`, `de` or `ja`; none
    /// (or `""`) leaves it to the browser's `Accept-Language`.
    pub async fn set_language(&self, p: &Principal, language: Option<&str>) -> AppResult<User> {
        let language = match language.map(str::trim).filter(|l| !l.is_empty()) {
            None => None,
            Some(l) => Some(crate::i18n::Lang::parse(l).filter(|lang| lang.code() == l).ok_or_else(|| {
                AppError::Unprocessable(format!("'{l}' is not a language of flowcal: use en, de or ja, or null"))
            })?),
        };
        self.store.set_language(p.user.id, language.map(|l| l.code())).await?;
        self.store.user(p.user.id).await?.ok_or_else(|| AppError::NotFound("user".into()))
    }

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
        if change.disabled == Some(true) {
            by.refuse_self(login, "disable")?;
        }
        let user = self.user_named(login).await?;
        let detail = json!({
            "login": login, "by": by.name(), "disabled": change.disabled, "admin": change.admin, "roles": change.roles,
        });
        Ok(self.store.change_access(user.id, change, self.now(), audit("user_changed", detail)).await?)
    }

    /// Starts deleting a user (see [`Access::advance_deletions`] for the rest):
    /// they are disabled at once, their feed stops, and their calendar entries
    /// are queued for removal. Asking again is no change.
    pub async fn delete_user(&self, by: By<'_>, login: &str) -> AppResult<User> {
        by.check()?;
        by.refuse_self(login, "delete")?;
        let user = self.user_named(login).await?;
        if user.deleted_at.is_some() {
            return Ok(user);
        }
        let detail = json!({"login": login, "by": by.name()});
        let u = self.store.request_user_deletion(user.id, self.now(), audit("user_deletion_requested", detail)).await?;
        self.wake.notify_one();
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
            let left_behind =
                self.store.exports_of(user.id).await?.iter().filter(|e| e.state != ExportState::Removed).count();
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

/// An argon2id hash of a random string, verified against for unknown logins.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3ZsQ+mmsSmO03xGOOmYhG8jBuvlA8w/NKkzBG0e7a2o";

/// Password sign-ins: five failures to a login within 15 minutes lock it for a
/// minute, doubling with every further failure (for the address that failed, and
/// for every address that failed on that login); twenty failures from one address,
/// whatever the logins, lock the address the same way.
pub const SIGN_IN_RULES: SignInRules = SignInRules {
    login: SignInRule { limit: 5, window_ms: 15 * 60 * 1000, lock_ms: 60 * 1000 },
    address: SignInRule { limit: 20, window_ms: 15 * 60 * 1000, lock_ms: 60 * 1000 },
};

fn too_many_sign_ins(now: Timestamp, lock: SignInLock) -> AppError {
    let wait = lock.until.as_second().saturating_sub(now.as_second()).max(1);
    let whom = if lock.whole_address { "from your address" } else { "for this login" };
    AppError::TooManyRequests {
        message: format!("too many failed sign-ins {whom}: try again in {wait} seconds"),
        retry_after: u64::try_from(wait).unwrap_or(60),
    }
}
