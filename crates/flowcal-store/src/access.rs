//! Proxy access: admin settings and providers, OAuth requests in flight,
//! calendar accounts with their (sealed) credentials, linked identities and
//! the audit log.
//!
//! Credentials arrive here sealed by the application; this crate never sees
//! them in clear.

use crate::db::{params, Conn, Row};
use crate::rows::ts;
use crate::{Store, StoreError};
use flowcal_domain::UserId;
use jiff::Timestamp;

/// A provider registered through the admin API.
#[derive(Debug, Clone)]
pub struct StoredProvider {
    pub name: String,
    /// JSON, without the client secret.
    pub config: String,
    pub client_secret_sealed: Option<String>,
}

/// An authorization request in flight.
#[derive(Debug, Clone)]
pub struct OAuthState {
    pub state_hash: String,
    pub purpose: StatePurpose,
    pub provider: String,
    pub user_id: Option<UserId>,
    /// Hash of what the callback must present (the session, or a browser cookie).
    pub binding_hash: String,
    pub verifier_sealed: String,
    pub nonce: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What an authorization request was started for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatePurpose {
    /// Connecting a calendar account (bound to the user who started it).
    Connect,
    /// Signing in to flowcal (bound to the browser that started it).
    SignIn,
}

impl StatePurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            StatePurpose::Connect => "connect",
            StatePurpose::SignIn => "sign_in",
        }
    }

    pub fn parse(s: &str) -> Option<StatePurpose> {
        match s {
            "connect" => Some(StatePurpose::Connect),
            "sign_in" => Some(StatePurpose::SignIn),
            _ => None,
        }
    }
}

/// How flowcal reaches an account's calendars: a username and app password
/// (CalDAV), or access a provider granted (its kind's name: `google`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountKind {
    Caldav,
    /// The kind of the OAuth provider, as its registry names it.
    Oauth(String),
}

impl AccountKind {
    pub fn as_str(&self) -> &str {
        match self {
            AccountKind::Caldav => "caldav",
            AccountKind::Oauth(kind) => kind,
        }
    }

    pub fn parse(s: &str) -> AccountKind {
        match s {
            "caldav" => AccountKind::Caldav,
            other => AccountKind::Oauth(other.to_owned()),
        }
    }
}

impl std::fmt::Display for AccountKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of a calendar account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountStatus {
    Active,
    ReconnectRequired,
    Disabled,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::ReconnectRequired => "reconnect_required",
            AccountStatus::Disabled => "disabled",
        }
    }

    fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "active" => Ok(AccountStatus::Active),
            "reconnect_required" => Ok(AccountStatus::ReconnectRequired),
            "disabled" => Ok(AccountStatus::Disabled),
            other => Err(StoreError::Corrupt(format!("account status '{other}'"))),
        }
    }
}

/// A connected calendar account.
#[derive(Debug, Clone)]
pub struct CalendarAccount {
    pub id: i64,
    pub user_id: UserId,
    pub kind: AccountKind,
    /// The provider's name (or `caldav`).
    pub provider: String,
    /// The account at the provider: the ID token's `sub`, or `username@url` for CalDAV.
    pub external_id: String,
    /// What the user sees: an e-mail address or `username @ host`.
    pub display: String,
    pub url: Option<String>,
    pub calendar: Option<String>,
    /// Whether `calendar` is flowcal's own (`None`: chosen before this was recorded).
    pub calendar_own: Option<bool>,
    pub status: AccountStatus,
    pub credentials_sealed: String,
    pub access_expires_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Sync health: the last read of the calendar that succeeded, and the
    /// failure of the reads since.
    pub last_read_at: Option<Timestamp>,
    pub read_error: Option<String>,
    pub read_error_at: Option<Timestamp>,
    /// The last delivery that succeeded.
    pub last_delivered_at: Option<Timestamp>,
    /// When the provider said the access lapses (Google, for apps in testing).
    pub refresh_expires_at: Option<Timestamp>,
}

/// What connecting (or reconnecting) stores.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub user_id: UserId,
    pub kind: AccountKind,
    pub provider: String,
    pub external_id: String,
    pub display: String,
    pub url: Option<String>,
    pub credentials_sealed: String,
    pub access_expires_at: Option<Timestamp>,
}

/// One audit log entry to write with a change. `detail`: JSON, never a secret.
#[derive(Debug, Clone)]
pub struct Audit {
    pub action: &'static str,
    pub detail: String,
}

/// A line of the audit log.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at: Timestamp,
    pub user_id: Option<UserId>,
    pub account_id: Option<i64>,
    pub action: String,
    pub detail: String,
}

/// Where sealed values live, for re-sealing under a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    ProviderSecret,
    StateVerifier,
    AccountCredentials,
}

impl SealedColumn {
    pub const ALL: [SealedColumn; 3] =
        [SealedColumn::ProviderSecret, SealedColumn::StateVerifier, SealedColumn::AccountCredentials];

    /// (table, key column, value column). Fixed strings: never user input.
    fn sql(self) -> (&'static str, &'static str, &'static str) {
        match self {
            SealedColumn::ProviderSecret => ("oauth_providers", "name", "client_secret_sealed"),
            SealedColumn::StateVerifier => ("oauth_states", "state_hash", "verifier_sealed"),
            SealedColumn::AccountCredentials => ("calendar_accounts", "CAST(id AS TEXT)", "credentials_sealed"),
        }
    }
}

pub(crate) const ACCOUNT_COLUMNS: &str =
    "id, user_id, kind, provider, external_id, display, url, calendar, calendar_own, \
     status, credentials_sealed, access_expires_at, last_error, created_at, updated_at, \
     last_read_at, read_error, read_error_at, last_delivered_at, refresh_expires_at";

pub(crate) fn account(r: &Row) -> Result<CalendarAccount, StoreError> {
    Ok(CalendarAccount {
        id: r.int("id")?,
        user_id: UserId(r.int("user_id")?),
        kind: AccountKind::parse(&r.text("kind")?),
        provider: r.text("provider")?,
        external_id: r.text("external_id")?,
        display: r.text("display")?,
        url: r.opt_text("url")?,
        calendar: r.opt_text("calendar")?,
        calendar_own: r.opt_int("calendar_own")?.map(|v| v != 0),
        status: AccountStatus::parse(&r.text("status")?)?,
        credentials_sealed: r.text("credentials_sealed")?,
        access_expires_at: r.opt_int("access_expires_at")?.map(ts).transpose()?,
        last_error: r.opt_text("last_error")?,
        created_at: ts(r.int("created_at")?)?,
        updated_at: ts(r.int("updated_at")?)?,
        last_read_at: r.opt_int("last_read_at")?.map(ts).transpose()?,
        read_error: r.opt_text("read_error")?,
        read_error_at: r.opt_int("read_error_at")?.map(ts).transpose()?,
        last_delivered_at: r.opt_int("last_delivered_at")?.map(ts).transpose()?,
        refresh_expires_at: r.opt_int("refresh_expires_at")?.map(ts).transpose()?,
    })
}

pub(crate) fn write_audit(
    c: &mut dyn Conn,
    now: i64,
    user: Option<UserId>,
    account: Option<i64>,
    a: &Audit,
) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO audit_log (at, user_id, account_id, action, detail) VALUES ($1, $2, $3, $4, $5)",
        params![now, user.map(|u| u.0), account, a.action, &a.detail],
    )?;
    Ok(())
}

impl Store {
    // ---- settings and providers -----------------------------------------------------------

    /// All settings made through the admin API: (key, JSON).
    pub async fn settings(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.read(|c| {
            c.query("SELECT key, value FROM settings ORDER BY key", &[])?
                .iter()
                .map(|r| Ok((r.text("key")?, r.text("value")?)))
                .collect()
        })
        .await
    }

    /// Sets (or, with `None`, removes) a setting.
    pub async fn put_setting(&self, key: &str, value: Option<&str>, now: Timestamp) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.map(str::to_owned));
        self.tx(move |c| {
            c.execute("DELETE FROM settings WHERE key = $1", params![&key])?;
            if let Some(v) = value {
                c.execute(
                    "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)",
                    params![key, v, now.as_millisecond()],
                )?;
            }
            Ok(())
        })
        .await
    }

    pub async fn stored_providers(&self) -> Result<Vec<StoredProvider>, StoreError> {
        self.read(|c| {
            c.query("SELECT name, config, client_secret_sealed FROM oauth_providers ORDER BY name", &[])?
                .iter()
                .map(|r| {
                    Ok(StoredProvider {
                        name: r.text("name")?,
                        config: r.text("config")?,
                        client_secret_sealed: r.opt_text("client_secret_sealed")?,
                    })
                })
                .collect()
        })
        .await
    }

    /// Creates or replaces a provider. `secret`: `None` keeps the stored one.
    pub async fn put_provider(
        &self,
        name: &str,
        config: &str,
        secret: Option<String>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (name, config) = (name.to_owned(), config.to_owned());
        self.tx(move |c| {
            let old = c
                .query_opt("SELECT client_secret_sealed FROM oauth_providers WHERE name = $1", params![&name])?
                .map(|r| r.opt_text("client_secret_sealed"))
                .transpose()?
                .flatten();
            c.execute("DELETE FROM oauth_providers WHERE name = $1", params![&name])?;
            c.execute(
                "INSERT INTO oauth_providers (name, config, client_secret_sealed, updated_at) VALUES ($1, $2, $3, $4)",
                params![name, config, secret.or(old), now.as_millisecond()],
            )?;
            Ok(())
        })
        .await
    }

    /// Removes a provider registered through the admin API; false if there was none.
    pub async fn delete_provider(&self, name: &str) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.read(move |c| Ok(c.execute("DELETE FROM oauth_providers WHERE name = $1", params![name])? > 0)).await
    }

    // ---- OAuth requests in flight ---------------------------------------------------------

    /// Records a new authorization request; expired ones are purged on the way.
    pub async fn insert_oauth_state(&self, s: OAuthState) -> Result<(), StoreError> {
        self.tx(move |c| {
            c.execute("DELETE FROM oauth_states WHERE expires_at < $1", params![s.created_at.as_millisecond()])?;
            c.execute(
                "INSERT INTO oauth_states (state_hash, purpose, provider, user_id, binding_hash, verifier_sealed,
                                           nonce, created_at, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                params![
                    &s.state_hash,
                    s.purpose.as_str(),
                    &s.provider,
                    s.user_id.map(|u| u.0),
                    &s.binding_hash,
                    &s.verifier_sealed,
                    &s.nonce,
                    s.created_at.as_millisecond(),
                    s.expires_at.as_millisecond()
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Takes (reads and deletes, at once) the request a callback names: a
    /// state can be used once only, whatever the outcome.
    pub async fn take_oauth_state(&self, state_hash: &str) -> Result<Option<OAuthState>, StoreError> {
        let h = state_hash.to_owned();
        self.tx(move |c| {
            let Some(r) = c.query_opt(
                "DELETE FROM oauth_states WHERE state_hash = $1
                 RETURNING state_hash, purpose, provider, user_id, binding_hash, verifier_sealed, nonce,
                           created_at, expires_at",
                params![h],
            )?
            else {
                return Ok(None);
            };
            Ok(Some(OAuthState {
                state_hash: r.text("state_hash")?,
                purpose: {
                    let p = r.text("purpose")?;
                    StatePurpose::parse(&p).ok_or_else(|| {
                        StoreError::Corrupt(format!("oauth_states.purpose holds '{}'", p.escape_debug()))
                    })?
                },
                provider: r.text("provider")?,
                user_id: r.opt_int("user_id")?.map(UserId),
                binding_hash: r.text("binding_hash")?,
                verifier_sealed: r.text("verifier_sealed")?,
                nonce: r.text("nonce")?,
                created_at: ts(r.int("created_at")?)?,
                expires_at: ts(r.int("expires_at")?)?,
            }))
        })
        .await
    }

    // ---- calendar accounts ----------------------------------------------------------------

    /// Stores a connection: a new account, or the same account (user,
    /// provider, external id) made active again with new credentials.
    /// Returns the account and whether it existed before.
    pub async fn upsert_account(
        &self,
        n: NewAccount,
        now: Timestamp,
        connected: Audit,
        reconnected: Audit,
    ) -> Result<(CalendarAccount, bool), StoreError> {
        self.tx(move |c| {
            let now_ms = now.as_millisecond();
            let existing = c
                .query_opt(
                    "SELECT id FROM calendar_accounts WHERE user_id = $1 AND provider = $2 AND external_id = $3",
                    params![n.user_id.0, &n.provider, &n.external_id],
                )?
                .map(|r| r.int("id"))
                .transpose()?;
            let expires = n.access_expires_at.map(|t| t.as_millisecond());
            let id = match existing {
                Some(id) => {
                    c.execute(
                        "UPDATE calendar_accounts SET display = $2, url = $3, status = 'active',
                                credentials_sealed = $4, access_expires_at = $5, lease_owner = NULL,
                                lease_until = NULL, last_error = NULL, updated_at = $6
                         WHERE id = $1",
                        params![id, &n.display, n.url.clone(), &n.credentials_sealed, expires, now_ms],
                    )?;
                    write_audit(c, now_ms, Some(n.user_id), Some(id), &reconnected)?;
                    // Exports that waited for the reconnect go out again.
                    c.execute(
                        "UPDATE exports SET state = 'pending', not_before = $2, updated_at = $2
                         WHERE account_id = $1 AND state = 'waiting'",
                        params![id, now_ms],
                    )?;
                    crate::db::mark_outbox(c)?;
                    id
                }
                None => {
                    let id = c
                        .query_one(
                            "INSERT INTO calendar_accounts (user_id, kind, provider, external_id, display, url, status,
                                    credentials_sealed, access_expires_at, created_at, updated_at)
                             VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9, $9) RETURNING id",
                            params![
                                n.user_id.0,
                                n.kind.as_str(),
                                &n.provider,
                                &n.external_id,
                                &n.display,
                                n.url.clone(),
                                &n.credentials_sealed,
                                expires,
                                now_ms
                            ],
                        )?
                        .int("id")?;
                    write_audit(c, now_ms, Some(n.user_id), Some(id), &connected)?;
                    id
                }
            };
            let acc =
                c.query_one(&format!("SELECT {ACCOUNT_COLUMNS} FROM calendar_accounts WHERE id = $1"), params![id])?;
            Ok((account(&acc)?, existing.is_some()))
        })
        .await
    }

    pub async fn account(&self, id: i64) -> Result<Option<CalendarAccount>, StoreError> {
        self.read(move |c| {
            c.query_opt(&format!("SELECT {ACCOUNT_COLUMNS} FROM calendar_accounts WHERE id = $1"), params![id])?
                .map(|r| account(&r))
                .transpose()
        })
        .await
    }

    pub async fn accounts_of(&self, user: UserId) -> Result<Vec<CalendarAccount>, StoreError> {
        self.read(move |c| {
            c.query(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM calendar_accounts WHERE user_id = $1 ORDER BY id"),
                params![user.0],
            )?
            .iter()
            .map(account)
            .collect()
        })
        .await
    }

    /// Takes the account's refresh lease when nobody holds it (or theirs ran
    /// out). Only the holder refreshes: with rotating refresh tokens two
    /// refreshes at once would revoke each other.
    pub async fn take_refresh_lease(
        &self,
        id: i64,
        owner: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let owner = owner.to_owned();
        self.tx(move |c| {
            let n = c.execute(
                "UPDATE calendar_accounts SET lease_owner = $2, lease_until = $3
                 WHERE id = $1 AND status = 'active' AND (lease_until IS NULL OR lease_until < $4)",
                params![id, owner, until.as_millisecond(), now.as_millisecond()],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// Stores the outcome of a refresh (the new access token and, when the
    /// server rotated it, the new refresh token) and gives the lease back, in
    /// one transaction; false if the lease was no longer ours (nothing stored).
    pub async fn finish_refresh(
        &self,
        id: i64,
        owner: &str,
        credentials_sealed: String,
        access_expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let owner = owner.to_owned();
        self.tx(move |c| {
            let n = c.execute(
                "UPDATE calendar_accounts SET credentials_sealed = $3, access_expires_at = $4, lease_owner = NULL,
                        lease_until = NULL, last_error = NULL, updated_at = $5
                 WHERE id = $1 AND lease_owner = $2",
                params![
                    id,
                    owner,
                    credentials_sealed,
                    access_expires_at.map(|t| t.as_millisecond()),
                    now.as_millisecond()
                ],
            )?;
            Ok(n == 1)
        })
        .await
    }

    /// When the account's refresh token lapses, as the provider said with
    /// the token (`None`: it did not say, or a new grant that lapses not).
    pub async fn set_refresh_expiry(&self, id: i64, at: Option<Timestamp>) -> Result<(), StoreError> {
        self.read(move |c| {
            c.execute(
                "UPDATE calendar_accounts SET refresh_expires_at = $2 WHERE id = $1",
                params![id, at.map(|t| t.as_millisecond())],
            )?;
            Ok(())
        })
        .await
    }

    /// Replaces the credentials if they are still `old` (a compare-and-swap).
    pub async fn replace_credentials(
        &self,
        id: i64,
        old: &str,
        new: &str,
        access_expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (old, new) = (old.to_owned(), new.to_owned());
        self.read(move |c| {
            Ok(c.execute(
                "UPDATE calendar_accounts SET credentials_sealed = $3, access_expires_at = $4, updated_at = $5
                 WHERE id = $1 AND credentials_sealed = $2",
                params![id, old, new, access_expires_at.map(|t| t.as_millisecond()), now.as_millisecond()],
            )? == 1)
        })
        .await
    }

    /// Gives a lease back without change.
    pub async fn release_lease(&self, id: i64, owner: &str, last_error: Option<String>) -> Result<(), StoreError> {
        let owner = owner.to_owned();
        self.read(move |c| {
            c.execute(
                "UPDATE calendar_accounts SET lease_owner = NULL, lease_until = NULL,
                        last_error = COALESCE(CAST($3 AS TEXT), last_error)
                 WHERE id = $1 AND lease_owner = $2",
                params![id, owner, last_error],
            )?;
            Ok(())
        })
        .await
    }

    /// The provider no longer honours the grant: the account waits for the
    /// user to reconnect (its exports are kept).
    pub async fn mark_reconnect_required(
        &self,
        id: i64,
        error: &str,
        now: Timestamp,
        audit: Audit,
    ) -> Result<(), StoreError> {
        let error = error.to_owned();
        self.tx(move |c| {
            let user = c
                .query_opt("SELECT user_id FROM calendar_accounts WHERE id = $1", params![id])?
                .map(|r| r.int("user_id"))
                .transpose()?
                .map(UserId);
            c.execute(
                "UPDATE calendar_accounts SET status = 'reconnect_required', lease_owner = NULL, lease_until = NULL,
                        last_error = $2, updated_at = $3
                 WHERE id = $1",
                params![id, error, now.as_millisecond()],
            )?;
            write_audit(c, now.as_millisecond(), user, Some(id), &audit)
        })
        .await
    }

    /// Sets the calendar an account's entries go to.
    pub async fn set_account_calendar(
        &self,
        id: i64,
        calendar: &str,
        own: bool,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let calendar = calendar.to_owned();
        self.read(move |c| {
            c.execute(
                "UPDATE calendar_accounts SET calendar = $2, calendar_own = $3, last_error = NULL, updated_at = $4
                 WHERE id = $1",
                params![id, calendar, i64::from(own), now.as_millisecond()],
            )?;
            Ok(())
        })
        .await
    }

    /// Records what stops delivery to an active account, for its owner to
    /// act on (a calendar they chose that no longer exists); choosing a
    /// calendar clears it.
    pub async fn set_account_problem(&self, id: i64, problem: &str, now: Timestamp) -> Result<(), StoreError> {
        let problem = problem.to_owned();
        self.read(move |c| {
            c.execute(
                "UPDATE calendar_accounts SET last_error = $2, updated_at = $3 WHERE id = $1",
                params![id, problem, now.as_millisecond()],
            )?;
            Ok(())
        })
        .await
    }

    /// Deletes an account and its credentials.
    pub async fn delete_account(&self, id: i64, now: Timestamp, audit: Audit) -> Result<bool, StoreError> {
        self.tx(move |c| {
            let Some(r) = c.query_opt("DELETE FROM calendar_accounts WHERE id = $1 RETURNING user_id", params![id])?
            else {
                return Ok(false);
            };
            let user = UserId(r.int("user_id")?);
            c.execute("UPDATE users SET auto_sync_account = NULL WHERE auto_sync_account = $1", params![id])?;
            write_audit(c, now.as_millisecond(), Some(user), Some(id), &audit)?;
            Ok(true)
        })
        .await
    }

    // ---- identities -----------------------------------------------------------------------

    /// The user linked to an account at an OpenID provider.
    pub async fn identity_user(&self, provider: &str, subject: &str) -> Result<Option<UserId>, StoreError> {
        let (p, s) = (provider.to_owned(), subject.to_owned());
        self.read(move |c| {
            c.query_opt("SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2", params![p, s])?
                .map(|r| Ok(UserId(r.int("user_id")?)))
                .transpose()
        })
        .await
    }

    /// Links (provider, subject) to a user; refused when it is linked to
    /// another user. Linking it again to the same user is no change.
    pub async fn link_identity(
        &self,
        provider: &str,
        subject: &str,
        user: UserId,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let (p, s) = (provider.to_owned(), subject.to_owned());
        self.tx(move |c| {
            match c.query_opt(
                "SELECT user_id FROM user_identities WHERE provider = $1 AND subject = $2",
                params![&p, &s],
            )? {
                Some(r) if r.int("user_id")? == user.0 => Ok(()),
                Some(_) => {
                    Err(StoreError::Conflict(format!("this account at {p} is already linked to another flowcal user")))
                }
                None => {
                    c.execute(
                        "INSERT INTO user_identities (provider, subject, user_id, created_at) VALUES ($1, $2, $3, $4)",
                        params![p, s, user.0, now.as_millisecond()],
                    )?;
                    Ok(())
                }
            }
        })
        .await
    }

    // ---- audit ----------------------------------------------------------------------------

    pub async fn audit(
        &self,
        user: Option<UserId>,
        account: Option<i64>,
        entry: Audit,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.read(move |c| write_audit(c, now.as_millisecond(), user, account, &entry)).await
    }

    /// The newest entries first; of one user, or of everyone.
    pub async fn audit_log(&self, user: Option<UserId>, limit: i64) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(move |c| {
            c.query(
                "SELECT id, at, user_id, account_id, action, detail FROM audit_log
                 WHERE ($1 = 0 OR user_id = $2) ORDER BY id DESC LIMIT $3",
                params![i64::from(user.is_some()), user.map_or(0, |u| u.0), limit],
            )?
            .iter()
            .map(audit_record)
            .collect()
        })
        .await
    }

    /// A page of the audit log, newest first, of one user or of everyone,
    /// after (older than) the entry `before`.
    pub async fn audit_page(
        &self,
        user: Option<UserId>,
        before: Option<i64>,
        limit: usize,
    ) -> Result<crate::Page<AuditRecord>, StoreError> {
        let (limit, fetch) = crate::paging::fetch(limit);
        let before = before.unwrap_or(i64::MAX);
        self.read(move |c| {
            let rows = match user {
                // Two statements, so that each is read in order from its index.
                Some(u) => c.query(
                    "SELECT id, at, user_id, account_id, action, detail FROM audit_log
                     WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
                    params![u.0, before, fetch],
                )?,
                None => c.query(
                    "SELECT id, at, user_id, account_id, action, detail FROM audit_log
                     WHERE id < $1 ORDER BY id DESC LIMIT $2",
                    params![before, fetch],
                )?,
            };
            let rows = rows.iter().map(audit_record).collect::<Result<Vec<_>, _>>()?;
            Ok(crate::Page::from_rows(rows, limit, None))
        })
        .await
    }

    /// Deletes up to `batch` audit entries written before `before`; returns how many.
    pub async fn delete_audit_before(&self, before: Timestamp, batch: usize) -> Result<u64, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.read(move |c| {
            Ok(c.execute(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < $1 LIMIT $2)",
                params![before.as_millisecond(), batch],
            )?)
        })
        .await
    }

    /// Deletes up to `batch` authorization requests that expired before `now`; returns how many.
    pub async fn delete_expired_oauth_states(&self, now: Timestamp, batch: usize) -> Result<u64, StoreError> {
        let batch = i64::try_from(batch).unwrap_or(i64::MAX);
        self.read(move |c| {
            Ok(c.execute(
                "DELETE FROM oauth_states WHERE state_hash IN
                   (SELECT state_hash FROM oauth_states WHERE expires_at < $1 LIMIT $2)",
                params![now.as_millisecond(), batch],
            )?)
        })
        .await
    }

    /// Every authorization request in flight, by hash (to check what is kept).
    pub async fn oauth_state_hashes(&self) -> Result<Vec<String>, StoreError> {
        self.read(|c| {
            c.query("SELECT state_hash FROM oauth_states ORDER BY state_hash", &[])?
                .iter()
                .map(|r| Ok(r.text("state_hash")?))
                .collect()
        })
        .await
    }

    // ---- re-sealing -----------------------------------------------------------------------

    /// Every sealed value in a column: (row key, sealed value).
    pub async fn sealed_values(&self, col: SealedColumn) -> Result<Vec<(String, String)>, StoreError> {
        let (table, key, value) = col.sql();
        self.read(move |c| {
            c.query(&format!("SELECT {key} AS row_key, {value} AS sealed FROM {table} WHERE {value} IS NOT NULL"), &[])?
                .iter()
                .map(|r| Ok((r.text("row_key")?, r.text("sealed")?)))
                .collect()
        })
        .await
    }

    /// Replaces a sealed value if it is still `old` (a concurrent change wins).
    pub async fn reseal(&self, col: SealedColumn, row: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        let (table, key, value) = col.sql();
        let (row, old, new) = (row.to_owned(), old.to_owned(), new.to_owned());
        self.read(move |c| {
            Ok(c.execute(
                &format!("UPDATE {table} SET {value} = $1 WHERE {key} = $2 AND {value} = $3"),
                params![new, row, old],
            )? == 1)
        })
        .await
    }
}

fn audit_record(r: &Row) -> Result<AuditRecord, StoreError> {
    Ok(AuditRecord {
        id: r.int("id")?,
        at: ts(r.int("at")?)?,
        user_id: r.opt_int("user_id")?.map(UserId),
        account_id: r.opt_int("account_id")?,
        action: r.text("action")?,
        detail: r.text("detail")?,
    })
}
