//! Proxy access: users connect calendars through OAuth 2.0 (authorized) or
//! Basic auth with an app password (entrusted), under the administrator's
//! connectivity settings; and they may sign in with an OpenID provider.
//!
//! Every credential is sealed (see `flowcal_connect::seal`) before it
//! reaches the store, and nothing here logs or returns a secret.

pub(crate) mod calendars;
pub mod people;

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::principal::Principal;
use crate::secrets;
use crate::settings::{self, Connectivity, ProviderConfig};
use flowcal_calendar::caldav::{self, CaldavHttp};
use flowcal_calendar::provider::{ProviderKind, Purpose, Restriction};
use flowcal_connect::jwt::{self, Jwks};
use flowcal_connect::oauth::{self, Metadata, OAuthError, Revocation, TokenResponse};
use flowcal_connect::seal;
use flowcal_connect::seal::Keyring;
use flowcal_domain::UserId;
use flowcal_store::{
    AccountKind, AccountStatus, Audit, AuditRecord, CalendarAccount, NewAccount, OAuthState, SealedColumn,
    StatePurpose, Store, StoreError,
};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// What sealed values are for (bound to the ciphertext).
const PURPOSE_PROVIDER_SECRET: &str = "provider-client-secret";
const PURPOSE_VERIFIER: &str = "oauth-code-verifier";
const PURPOSE_CREDENTIALS: &str = "account-credentials";

/// How long an authorization request may take.
const STATE_MINUTES: i64 = 10;
/// Access tokens are refreshed this long before they expire.
const REFRESH_MARGIN: SignedDuration = SignedDuration::from_secs(300);
/// How long one process may hold an account's refresh lease.
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// Clock skew allowed on ID token times.
const LEEWAY_SECS: i64 = 120;

/// The cookie that binds a sign-in request to the browser that started it.
pub const SIGN_IN_COOKIE: &str = "flowcal_oauth";

/// Stored credentials (sealed as JSON).
#[derive(Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Credentials {
    Oauth { access_token: String, refresh_token: Option<String>, scope: Option<String> },
    Basic { username: String, password: String },
}

/// The access service: people and their sign-in, the connectivity settings,
/// connecting calendar accounts, their tokens and connectors.
pub struct Access {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    /// Wakes the delivery workers when a change needs delivering.
    wake: Arc<tokio::sync::Notify>,
    /// Password checks running at once.
    password_checks: tokio::sync::Semaphore,
    /// Password sign-ins in flight, per address.
    sign_ins_in_flight: crate::sign_in::InFlight,
    /// The keys, and when the key file they came from was last modified.
    keyring: RwLock<(Keyring, Option<std::time::SystemTime>)>,
    /// For the administrator's authorization servers (not user URLs).
    http: reqwest::Client,
    /// For the calendar APIs (Google, Graph): one per process, shared by every connector.
    calendar_api: reqwest::Client,
    /// For CalDAV servers: one per allow-list, shared by every connector and
    /// account check; made again when the administrator changes the allow-list.
    caldav_http: Mutex<Option<(settings::CaldavConfig, CaldavHttp)>>,
    metadata: Mutex<HashMap<String, Metadata>>,
    jwks: Mutex<HashMap<String, Jwks>>,
    /// Names this process as a lease holder.
    owner: String,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").field("owner", &self.owner).finish_non_exhaustive()
    }
}

impl Access {
    pub fn new(
        config: Arc<Config>,
        store: Store,
        clock: Arc<dyn Clock>,
        keyring: Keyring,
        wake: Arc<tokio::sync::Notify>,
    ) -> anyhow::Result<Access> {
        Ok(Access {
            store,
            clock,
            config,
            wake,
            password_checks: tokio::sync::Semaphore::new(2),
            sign_ins_in_flight: crate::sign_in::InFlight::default(),
            keyring: RwLock::new((keyring, None)),
            http: oauth::http_client()?,
            calendar_api: flowcal_calendar::api_client()?,
            caldav_http: Mutex::new(None),
            metadata: Mutex::new(HashMap::new()),
            jwks: Mutex::new(HashMap::new()),
            owner: oauth::random_token(),
        })
    }
}

/// Why the access layer could not give what delivery (or a handler) asked
/// for: the account's credentials, the provider's settings, the connectivity
/// settings. Handlers see it as an [`AppError`]; delivery classifies it
/// without knowing the API's errors.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The account needs to be connected again (the API's 409).
    #[error("{0}")]
    Reconnect(String),
    /// A service flowcal depends on cannot be reached now (503).
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    NotFound(String),
    /// Not allowed (403).
    #[error("{0}")]
    Refused(String),
    /// The request cannot work as it is (400).
    #[error("{0}")]
    Invalid(String),
    /// Cannot work with these settings or this account (422).
    #[error("{0}")]
    Unusable(String),
    #[error(transparent)]
    Internal(anyhow::Error),
}

impl From<AppError> for AccessError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Conflict(m) => AccessError::Reconnect(m),
            AppError::Unavailable(m) => AccessError::Unavailable(m),
            AppError::NotFound(m) => AccessError::NotFound(m),
            AppError::Forbidden(m) => AccessError::Refused(m),
            AppError::BadRequest(m) => AccessError::Invalid(m),
            AppError::Internal(e) => AccessError::Internal(e),
            other => AccessError::Unusable(other.to_string()),
        }
    }
}

impl From<StoreError> for AccessError {
    fn from(e: StoreError) -> Self {
        AppError::from(e).into()
    }
}

impl From<AccessError> for AppError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Reconnect(m) => AppError::Conflict(m),
            AccessError::Unavailable(m) => AppError::Unavailable(m),
            AccessError::NotFound(m) => AppError::NotFound(m),
            AccessError::Refused(m) => AppError::Forbidden(m),
            AccessError::Invalid(m) => AppError::BadRequest(m),
            AccessError::Unusable(m) => AppError::Unprocessable(m),
            AccessError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// A provider with every endpoint known.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub name: String,
    pub kind: ProviderKind,
    pub display_name: String,
    pub client: oauth::Client,
    pub scopes: Vec<String>,
    /// The issuer the `iss` callback parameter and the ID token must name.
    pub issuer: Option<String>,
    pub authorization_endpoint: reqwest::Url,
    pub token_endpoint: String,
    pub revocation_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    /// The calendar API's root, when configured (else the kind's default).
    pub api_base_url: Option<String>,
    /// The server says it sends `iss` in every callback (RFC 9207).
    pub iss_parameter_supported: bool,
    pub allowed_domains: Vec<String>,
    pub tenant: Option<String>,
    pub sign_in: bool,
    pub create_users: bool,
}

impl Resolved {
    fn openid(&self) -> bool {
        self.scopes.iter().any(|s| s == "openid")
    }

    fn restriction(&self) -> Restriction<'_> {
        Restriction { allowed_domains: &self.allowed_domains, tenant: self.tenant.as_deref() }
    }
}

/// Where a connect request was started from: it is bound to that.
#[derive(Debug, Clone)]
pub enum StartedBy {
    /// A browser session (its token).
    Session(String),
    /// An API token: the callback must come from a session of the same user.
    Token,
}

/// The query of `/oauth/callback`.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub iss: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// How a callback ended.
#[derive(Debug)]
pub enum CallbackOutcome {
    Connected {
        account: Box<CalendarAccount>,
        reconnected: bool,
    },
    SignedIn {
        session: String,
    },
    /// The user declined at the provider: nothing was created.
    Declined {
        provider: String,
    },
}

/// What disconnecting did at the provider.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Disconnected {
    /// The provider confirmed the grant is revoked (or already was).
    pub revoked: bool,
    pub message: String,
}

/// A calendar account as the API shows it (no credentials).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AccountJson {
    pub id: i64,
    pub kind: String,
    pub provider: String,
    /// `active`, `reconnect_required` or `disabled`.
    pub status: String,
    pub calendar: Option<String>,
    /// The account at the provider (an e-mail address, or user @ host).
    pub display: String,
    /// Why the account needs attention, when it does.
    pub message: Option<String>,
    #[schema(value_type = String)]
    pub connected_at: Timestamp,
    /// Sync health: the last read of the calendar that succeeded.
    #[schema(value_type = Option<String>)]
    pub last_synced_at: Option<Timestamp>,
    /// The last delivery of an entry that succeeded.
    #[schema(value_type = Option<String>)]
    pub last_delivered_at: Option<Timestamp>,
    /// What went wrong last: the failure of the reads since the last that
    /// succeeded, or what stops delivery.
    pub last_error: Option<String>,
    /// When the access lapses, where the provider says so (Google, for apps
    /// in testing); `message` warns seven days and one day before.
    #[schema(value_type = Option<String>)]
    pub refresh_expires_at: Option<Timestamp>,
}

/// Days before a grant lapses from which the account warns.
const LAPSE_WARNING_DAYS: i64 = 7;

/// The warning for an account whose access lapses soon (seven days, and
/// again more urgently one day, before), as of `now`.
pub fn lapse_warning(a: &CalendarAccount, now: Timestamp) -> Option<String> {
    let at = a.refresh_expires_at?;
    let left = at.duration_since(now);
    if a.status != AccountStatus::Active || left > SignedDuration::from_hours(24 * LAPSE_WARNING_DAYS) {
        return None;
    }
    let day = at.to_zoned(jiff::tz::TimeZone::UTC).strftime("%a %-d %b %Y %H:%M UTC").to_string();
    Some(if left <= SignedDuration::ZERO {
        format!("{}'s access for flowcal lapsed on {day}: connect this calendar again", a.provider)
    } else if left <= SignedDuration::from_hours(24) {
        format!(
            "{}'s access for flowcal lapses within a day ({day}); the provider's app is in testing: connect this \
             calendar again now",
            a.provider
        )
    } else {
        format!(
            "{}'s access for flowcal lapses on {day} (the provider's app is in testing): connect this calendar again \
             before then",
            a.provider
        )
    })
}

impl AccountJson {
    /// The account as of `now`: with the warning about access that lapses soon.
    pub fn at(a: &CalendarAccount, now: Timestamp) -> AccountJson {
        let mut j = AccountJson::from(a);
        if j.message.is_none() {
            j.message = lapse_warning(a, now);
        }
        j
    }
}

impl From<&CalendarAccount> for AccountJson {
    fn from(a: &CalendarAccount) -> Self {
        let message = match a.status {
            AccountStatus::ReconnectRequired => Some(format!(
                "{} no longer accepts flowcal's access (it was revoked or expired): connect this calendar again",
                a.provider
            )),
            // What stops delivery while it is connected (a chosen calendar that is gone).
            AccountStatus::Active => a.last_error.clone(),
            _ => None,
        };
        AccountJson {
            id: a.id,
            kind: a.kind.to_string(),
            provider: a.provider.clone(),
            status: a.status.as_str().to_owned(),
            calendar: a.calendar.clone(),
            display: a.display.clone(),
            message,
            connected_at: a.created_at,
            last_synced_at: a.last_read_at,
            last_delivered_at: a.last_delivered_at,
            last_error: a.read_error.clone().or_else(|| a.last_error.clone()),
            refresh_expires_at: a.refresh_expires_at,
        }
    }
}

/// One line of the audit log, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditJson {
    pub id: i64,
    #[schema(value_type = String)]
    pub at: Timestamp,
    pub user: Option<i64>,
    pub account: Option<i64>,
    pub action: String,
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

impl From<&AuditRecord> for AuditJson {
    fn from(r: &AuditRecord) -> Self {
        AuditJson {
            id: r.id,
            at: r.at,
            user: r.user_id.map(|u| u.0),
            account: r.account_id,
            action: r.action.clone(),
            detail: serde_json::from_str(&r.detail).unwrap_or(serde_json::Value::Null),
        }
    }
}

/// What `flowcal secrets rotate` did.
#[derive(Debug, Default)]
pub struct Rotation {
    pub new_key: String,
    pub resealed: usize,
    /// Values no key in the file opens (left as they are).
    pub unreadable: usize,
}

/// Every column of sealed values, with its purpose.
const SEALED: [(SealedColumn, &str); 3] = [
    (SealedColumn::ProviderSecret, PURPOSE_PROVIDER_SECRET),
    (SealedColumn::StateVerifier, PURPOSE_VERIFIER),
    (SealedColumn::AccountCredentials, PURPOSE_CREDENTIALS),
];

fn audit(action: &'static str, detail: serde_json::Value) -> Audit {
    Audit { action, detail: detail.to_string() }
}

fn internal(e: impl Into<anyhow::Error>) -> AppError {
    AppError::Internal(e.into())
}

fn hash(kind: &str, value: &str) -> String {
    secrets::token_hash(&format!("{kind}:{value}"))
}

impl Access {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    // ---- secrets ------------------------------------------------------------------------------

    /// The keys, read again when the key file changed (a rotation by another
    /// process): values are always sealed with the newest key.
    fn keyring(&self) -> AppResult<Keyring> {
        let path = &self.config.secret_key_file;
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        {
            let held = self.keyring.read().unwrap_or_else(|p| p.into_inner());
            if held.1 == modified {
                return Ok(held.0.clone());
            }
        }
        let fresh = Keyring::load(path).map_err(internal)?;
        *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = (fresh.clone(), modified);
        Ok(fresh)
    }

    pub(crate) fn seal(&self, purpose: &str, plain: &[u8]) -> AppResult<String> {
        self.keyring()?.seal(purpose, plain).map_err(internal)
    }

    pub(crate) fn open(&self, purpose: &str, sealed: &str) -> AppResult<String> {
        self.keyring()?.open_string(purpose, sealed).map_err(internal)
    }

    /// Re-seals every stored secret under a new key (`flowcal secrets rotate`).
    /// The older keys stay in the file, so that values sealed meanwhile by
    /// running processes still open; `flowcal secrets retire` removes them
    /// once nothing uses them.
    pub async fn rotate_secrets(&self) -> AppResult<Rotation> {
        let path = self.config.secret_key_file.clone();
        let ring = Keyring::rotate_file(&path).map_err(internal)?;
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        *self.keyring.write().unwrap_or_else(|p| p.into_inner()) = (ring.clone(), modified);
        let mut report = Rotation { new_key: ring.current_id().to_owned(), ..Rotation::default() };
        for (col, purpose) in SEALED {
            for (row, old) in self.store.sealed_values(col).await? {
                if ring.is_current(&old) {
                    continue;
                }
                // A value no key opens is reported, not a reason to stop.
                let Ok(plain) = ring.open(purpose, &old) else {
                    report.unreadable += 1;
                    continue;
                };
                let new = ring.seal(purpose, &plain).map_err(internal)?;
                if self.store.reseal(col, &row, &old, &new).await? {
                    report.resealed += 1;
                }
            }
        }
        let detail = json!({"key": report.new_key, "resealed": report.resealed, "unreadable": report.unreadable});
        self.store.audit(None, None, audit("secrets_rotated", detail), self.now()).await?;
        Ok(report)
    }

    /// Removes from the key file every key no stored value uses any more
    /// (`flowcal secrets retire`); returns the removed and the kept key ids.
    pub async fn retire_keys(&self) -> AppResult<(Vec<String>, Vec<String>)> {
        let path = self.config.secret_key_file.clone();
        let mut ring = Keyring::load(&path).map_err(internal)?;
        let mut used: Vec<String> = Vec::new();
        for (col, _) in SEALED {
            for (_, v) in self.store.sealed_values(col).await? {
                if let Some(kid) = seal::sealed_key_id(&v) {
                    if !used.iter().any(|u| u == kid) {
                        used.push(kid.to_owned());
                    }
                }
            }
        }
        let removed = ring.retire(&path, &used).map_err(internal)?;
        let kept = ring.key_ids();
        self.store.audit(None, None, audit("secret_keys_retired", json!({"removed": removed})), self.now()).await?;
        Ok((removed, kept))
    }

    // ---- settings -----------------------------------------------------------------------------

    /// The connectivity settings in effect: the file's, overridden by the admin API's.
    pub async fn connectivity(&self) -> Result<Connectivity, AccessError> {
        let mut c = Connectivity {
            providers: self.config.providers.clone(),
            calendar_export: self.config.calendar_export.clone(),
            caldav: self.config.caldav.clone(),
            sign_in: self.config.sign_in.clone(),
        };
        for (key, value) in self.store.settings().await? {
            let bad = |e: serde_json::Error| internal(anyhow::anyhow!("stored setting {key}: {e}"));
            match key.as_str() {
                "calendar_export" => c.calendar_export = serde_json::from_str(&value).map_err(bad)?,
                "caldav" => c.caldav = serde_json::from_str(&value).map_err(bad)?,
                "sign_in" => c.sign_in = serde_json::from_str(&value).map_err(bad)?,
                _ => {}
            }
        }
        for p in self.store.stored_providers().await? {
            let mut cfg: ProviderConfig = serde_json::from_str(&p.config)
                .map_err(|e| internal(anyhow::anyhow!("stored provider {}: {e}", p.name)))?;
            if let Some(s) = &p.client_secret_sealed {
                cfg.client_secret = Some(self.open(PURPOSE_PROVIDER_SECRET, s)?);
            }
            c.providers.insert(p.name.clone(), cfg);
        }
        Ok(c)
    }

    /// `PUT /api/v1/admin/providers/{name}`.
    pub async fn put_provider(&self, p: &Principal, name: &str, cfg: ProviderConfig) -> AppResult<()> {
        p.require_admin()?;
        settings::check_provider(name, &cfg).map_err(AppError::Unprocessable)?;
        if cfg.client_secret_file.is_some() {
            return Err(AppError::Unprocessable(
                "client_secret_file is for the configuration file; send client_secret (it is stored encrypted)".into(),
            ));
        }
        let secret = match &cfg.client_secret {
            Some(s) => Some(self.seal(PURPOSE_PROVIDER_SECRET, s.as_bytes())?),
            None => {
                let stored = self.store.stored_providers().await?;
                if !stored.iter().any(|s| s.name == name && s.client_secret_sealed.is_some()) {
                    return Err(AppError::Unprocessable(format!(
                        "send client_secret: no secret is stored for provider '{name}' yet"
                    )));
                }
                None
            }
        };
        let text = serde_json::to_string(&cfg).map_err(internal)?;
        self.store.put_provider(name, &text, secret, self.now()).await?;
        self.metadata.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        self.jwks.lock().unwrap_or_else(|e| e.into_inner()).remove(name);
        let detail = json!({"provider": name, "kind": cfg.kind.as_str(), "by": p.login()});
        self.store.audit(Some(p.user.id), None, audit("provider_saved", detail), self.now()).await?;
        Ok(())
    }

    /// `DELETE /api/v1/admin/providers/{name}`.
    pub async fn delete_provider(&self, p: &Principal, name: &str) -> AppResult<()> {
        p.require_admin()?;
        if !self.store.delete_provider(name).await? {
            return Err(AppError::NotFound(format!(
                "no provider '{name}' was registered through the admin API (the configuration file's are changed there)"
            )));
        }
        let detail = json!({"provider": name, "by": p.login()});
        self.store.audit(Some(p.user.id), None, audit("provider_deleted", detail), self.now()).await?;
        Ok(())
    }

    /// `PATCH /api/v1/admin/settings`.
    pub async fn patch_settings(&self, p: &Principal, patch: AdminSettingsPatch) -> AppResult<Connectivity> {
        p.require_admin()?;
        let now = self.now();
        if let Some(c) = &patch.caldav {
            settings::check_caldav(c).map_err(AppError::Unprocessable)?;
        }
        if let Some(v) = &patch.calendar_export {
            self.store.put_setting("calendar_export", Some(&json!(v).to_string()), now).await?;
        }
        if let Some(v) = &patch.caldav {
            self.store.put_setting("caldav", Some(&json!(v).to_string()), now).await?;
        }
        if let Some(v) = &patch.sign_in {
            self.store.put_setting("sign_in", Some(&json!(v).to_string()), now).await?;
        }
        let detail = json!({"by": p.login(), "changed": patch.changed()});
        self.store.audit(Some(p.user.id), None, audit("settings_changed", detail), now).await?;
        Ok(self.connectivity().await?)
    }

    /// The audit log: an admin's of everyone (`all`), or the caller's own.
    pub async fn audit_log(&self, p: &Principal, all: bool) -> AppResult<Vec<AuditRecord>> {
        if all {
            p.require_admin()?;
        }
        Ok(self.store.audit_log(if all { None } else { Some(p.user.id) }, 500).await?)
    }

    /// Refuses when calendar export is off for `p`, saying which switch.
    pub fn export_allowed(&self, c: &Connectivity, p: &Principal) -> AppResult<()> {
        match export_refusal(c, &p.user) {
            Some(why) => Err(AppError::Forbidden(why.into())),
            None => Ok(()),
        }
    }

    /// A provider with all its endpoints (discovering them when needed).
    pub async fn resolve_provider(&self, c: &Connectivity, name: &str) -> AppResult<Resolved> {
        let cfg = c
            .providers
            .get(name)
            .ok_or_else(|| AppError::NotFound(format!("no calendar provider named '{name}' is configured")))?;
        let secret = match (&cfg.client_secret, &cfg.client_secret_file) {
            (Some(s), _) => s.clone(),
            (None, Some(f)) => std::fs::read_to_string(f)
                .map_err(|e| internal(anyhow::anyhow!("provider {name}: cannot read {}: {e}", f.display())))?
                .trim()
                .to_owned(),
            (None, None) => String::new(),
        };
        let defaults = cfg.kind.defaults(&cfg.restriction());
        let mut issuer = cfg.issuer.clone().or(defaults.issuer);
        let mut auth = cfg.authorization_endpoint.clone().or(defaults.authorization_endpoint);
        let mut token = cfg.token_endpoint.clone().or(defaults.token_endpoint);
        let mut revoke = cfg.revocation_endpoint.clone().or(defaults.revocation_endpoint);
        let mut jwks = cfg.jwks_uri.clone().or(defaults.jwks_uri);
        let mut iss_supported = false;
        if cfg.kind.discovers() {
            if let Some(iss) = issuer.clone() {
                let m = self.metadata(name, &iss).await?;
                auth = auth.or(Some(m.authorization_endpoint));
                token = token.or(Some(m.token_endpoint));
                revoke = revoke.or(m.revocation_endpoint);
                jwks = jwks.or(m.jwks_uri);
                iss_supported = m.authorization_response_iss_parameter_supported;
                issuer = Some(m.issuer);
            }
        }
        let (Some(auth), Some(token)) = (auth, token) else {
            return Err(internal(anyhow::anyhow!(
                "provider {name}: the authorization and token endpoints are unknown"
            )));
        };
        let authorization_endpoint = reqwest::Url::parse(&auth)
            .map_err(|e| internal(anyhow::anyhow!("provider {name}: authorization_endpoint: {e}")))?;
        Ok(Resolved {
            name: name.to_owned(),
            kind: cfg.kind,
            display_name: cfg.display_name.clone().unwrap_or_else(|| name.to_owned()),
            client: oauth::Client {
                id: cfg.client_id.clone(),
                secret,
                auth: cfg.token_auth.unwrap_or(defaults.client_auth),
            },
            scopes: cfg.scopes.clone().unwrap_or_else(|| defaults.scopes.iter().map(|s| (*s).to_owned()).collect()),
            issuer,
            authorization_endpoint,
            token_endpoint: token,
            revocation_endpoint: revoke,
            jwks_uri: jwks,
            api_base_url: cfg.api_base_url.clone(),
            iss_parameter_supported: iss_supported,
            allowed_domains: cfg.allowed_domains.iter().map(|d| d.to_ascii_lowercase()).collect(),
            tenant: cfg.tenant.clone(),
            sign_in: cfg.sign_in,
            create_users: cfg.create_users,
        })
    }

    async fn metadata(&self, name: &str, issuer: &str) -> AppResult<Metadata> {
        if let Some(m) = self.metadata.lock().unwrap_or_else(|e| e.into_inner()).get(name) {
            if m.issuer == issuer {
                return Ok(m.clone());
            }
        }
        let m = oauth::discover(&self.http, issuer).await.map_err(|e| {
            AppError::Unavailable(format!("cannot read the settings of the authorization server {issuer}: {e}"))
        })?;
        self.metadata.lock().unwrap_or_else(|e| e.into_inner()).insert(name.to_owned(), m.clone());
        Ok(m)
    }

    async fn provider_jwks(&self, r: &Resolved, kid: Option<&str>) -> AppResult<Jwks> {
        let cached = self.jwks.lock().unwrap_or_else(|e| e.into_inner()).get(&r.name).cloned();
        if let Some(j) = cached {
            if kid.is_none_or(|k| j.has_kid(k)) {
                return Ok(j);
            }
        }
        let uri = r
            .jwks_uri
            .as_deref()
            .ok_or_else(|| internal(anyhow::anyhow!("provider {}: no jwks_uri to check ID tokens with", r.name)))?;
        let j = oauth::fetch_jwks(&self.http, uri)
            .await
            .map_err(|e| AppError::Unavailable(format!("cannot read the signing keys of {}: {e}", r.display_name)))?;
        self.jwks.lock().unwrap_or_else(|e| e.into_inner()).insert(r.name.clone(), j.clone());
        Ok(j)
    }

    // ---- connecting with OAuth ----------------------------------------------------------------

    /// Starts connecting a calendar at `provider`: returns the URL to send
    /// the user's browser to.
    pub async fn connect_oauth(
        &self,
        p: &Principal,
        started: StartedBy,
        provider: &str,
        login_hint: Option<&str>,
    ) -> AppResult<String> {
        let c = self.connectivity().await?;
        self.export_allowed(&c, p)?;
        let r = self.resolve_provider(&c, provider).await?;
        let binding = match &started {
            StartedBy::Session(s) => hash("session", s),
            StartedBy::Token => hash("user", &p.user.id.0.to_string()),
        };
        let extra = r.kind.authorization_params(Purpose::Connect, &r.restriction(), &r.scopes);
        self.authorization_request(
            &r,
            StatePurpose::Connect,
            Some(p.user.id),
            binding,
            r.scopes.clone(),
            login_hint,
            extra,
        )
        .await
    }

    #[allow(clippy::too_many_arguments)]
    async fn authorization_request(
        &self,
        r: &Resolved,
        purpose: StatePurpose,
        user: Option<UserId>,
        binding_hash: String,
        scopes: Vec<String>,
        login_hint: Option<&str>,
        extra: Vec<(String, String)>,
    ) -> AppResult<String> {
        let state = oauth::random_token();
        let verifier = oauth::random_token();
        let nonce = oauth::random_token();
        let now = self.now();
        let expires = now.checked_add(SignedDuration::from_mins(STATE_MINUTES)).map_err(internal)?;
        self.store
            .insert_oauth_state(OAuthState {
                state_hash: secrets::token_hash(&state),
                purpose,
                provider: r.name.clone(),
                user_id: user,
                binding_hash,
                verifier_sealed: self.seal(PURPOSE_VERIFIER, verifier.as_bytes())?,
                nonce: nonce.clone(),
                created_at: now,
                expires_at: expires,
            })
            .await?;
        let redirect_uri = self.redirect_uri();
        let url = oauth::authorization_url(
            &r.authorization_endpoint,
            &oauth::AuthRequest {
                client_id: &r.client.id,
                redirect_uri: &redirect_uri,
                scopes: &scopes,
                state: &state,
                nonce: if scopes.iter().any(|s| s == "openid") { Some(&nonce) } else { None },
                code_challenge: &oauth::pkce_challenge(&verifier),
                login_hint,
                extra: &extra,
            },
        );
        Ok(url.to_string())
    }

    /// The one redirect URI flowcal uses.
    pub fn redirect_uri(&self) -> String {
        format!("{}/oauth/callback", self.config.public_url)
    }

    /// Starts signing in with `provider`; returns the authorization URL and
    /// the value of the cookie that binds the request to this browser.
    pub async fn sign_in_start(&self, provider: &str) -> AppResult<(String, String)> {
        let c = self.connectivity().await?;
        let r = self.resolve_provider(&c, provider).await?;
        if !r.sign_in {
            return Err(AppError::Forbidden(format!("signing in with {} is not enabled", r.display_name)));
        }
        let browser = oauth::random_token();
        let scopes = vec!["openid".to_owned(), "email".to_owned(), "profile".to_owned()];
        let extra = r.kind.authorization_params(Purpose::SignIn, &r.restriction(), &scopes);
        let url = self
            .authorization_request(&r, StatePurpose::SignIn, None, hash("browser", &browser), scopes, None, extra)
            .await?;
        Ok((url, browser))
    }

    /// Handles `/oauth/callback`. `session`: the browser's flowcal session
    /// token; `browser`: its sign-in binding cookie.
    pub async fn oauth_callback(
        &self,
        q: &CallbackQuery,
        session: Option<&str>,
        browser: Option<&str>,
    ) -> AppResult<CallbackOutcome> {
        let Some(state) = q.state.as_deref().filter(|s| !s.is_empty()) else {
            return Err(AppError::BadRequest(
                "the answer from the calendar service carries no state: start connecting again from flowcal".into(),
            ));
        };
        // Taken at once: a state works once, whatever happens next.
        let Some(st) = self.store.take_oauth_state(&secrets::token_hash(state)).await? else {
            return Err(AppError::BadRequest(
                "this authorization answer is unknown or was already used: start connecting again from flowcal".into(),
            ));
        };
        if st.expires_at < self.now() {
            return Err(AppError::BadRequest("this authorization request has expired: start again".into()));
        }
        // Bound to whoever started it.
        let principal = match st.purpose {
            StatePurpose::Connect => {
                let p = match session {
                    Some(s) => self.principal_by_session(s).await?,
                    None => None,
                };
                let bound = p.as_ref().is_some_and(|p| {
                    Some(p.user.id) == st.user_id
                        && (session.is_some_and(|s| hash("session", s) == st.binding_hash)
                            || hash("user", &p.user.id.0.to_string()) == st.binding_hash)
                });
                if !bound {
                    return Err(AppError::Forbidden(
                        "this authorization answer belongs to another sign-in: start connecting again from flowcal"
                            .into(),
                    ));
                }
                p
            }
            StatePurpose::SignIn => {
                if browser.is_none_or(|b| hash("browser", b) != st.binding_hash) {
                    return Err(AppError::Forbidden(
                        "this sign-in answer was not started in this browser: start again".into(),
                    ));
                }
                None
            }
        };
        let c = self.connectivity().await?;
        let r = self.resolve_provider(&c, &st.provider).await?;
        if let Some(err) = q.error.as_deref() {
            if err == "access_denied" {
                return Ok(CallbackOutcome::Declined { provider: r.display_name });
            }
            let d = q.error_description.as_deref().unwrap_or("");
            return Err(AppError::BadRequest(format!("{} refused the request: {err} {d}", r.display_name)));
        }
        // RFC 9207: the answer must come from the server the request went to.
        match (&q.iss, &r.issuer) {
            (Some(got), Some(want)) if got != want => {
                return Err(AppError::BadRequest(format!(
                    "the answer names the authorization server {got}, but the request went to {want}: refused"
                )))
            }
            (Some(_), None) => {}
            (None, _) if r.iss_parameter_supported => {
                return Err(AppError::BadRequest(format!(
                    "the answer lacks the iss parameter that {} always sends: refused",
                    r.display_name
                )))
            }
            _ => {}
        }
        let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
            return Err(AppError::BadRequest("the answer carries no authorization code".into()));
        };
        let verifier = self.open(PURPOSE_VERIFIER, &st.verifier_sealed)?;
        let tokens =
            oauth::exchange_code(&self.http, &r.token_endpoint, &r.client, code, &self.redirect_uri(), &verifier)
                .await
                .map_err(|e| oauth_failure(&r, e))?;
        let outcome = self.finish_callback(&st, &r, &c, principal, &tokens).await;
        if outcome.is_err() {
            // Refused after the exchange: the grant must not stay live at the provider.
            self.revoke_quietly(&r, &tokens).await;
        }
        outcome
    }

    /// The rest of a callback, once the code was exchanged.
    async fn finish_callback(
        &self,
        st: &OAuthState,
        r: &Resolved,
        c: &Connectivity,
        principal: Option<Principal>,
        tokens: &TokenResponse,
    ) -> AppResult<CallbackOutcome> {
        let claims = self.check_id_token(r, tokens, &st.nonce, st.purpose == StatePurpose::Connect).await?;
        let sub = claims.as_ref().map(|c| c.sub.clone());
        if st.purpose == StatePurpose::SignIn {
            let claims = claims.ok_or_else(|| AppError::BadRequest("the provider sent no ID token".into()))?;
            return self.finish_sign_in(r, &claims).await;
        }
        let p = principal.ok_or_else(|| AppError::Unauthorized("sign in to flowcal first".into()))?;
        self.export_allowed(c, &p)?;
        let missing = tokens.missing_scopes(&r.scopes);
        if !missing.is_empty() {
            return Err(AppError::Forbidden(format!(
                "{} did not grant all the access flowcal needs (missing: {}): connect again and allow every permission",
                r.display_name,
                missing.join(", ")
            )));
        }
        if tokens.refresh_token.is_none() {
            return Err(AppError::BadRequest(format!(
                "{} sent no refresh token, so flowcal could not keep your calendar up to date: connect again",
                r.display_name
            )));
        }
        let display = claims
            .as_ref()
            .and_then(|c| c.email.clone().or_else(|| c.preferred_username.clone()))
            .unwrap_or_else(|| r.display_name.clone());
        let expires = expiry(self.now(), tokens);
        let creds = Credentials::Oauth {
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            scope: tokens.scope.clone(),
        };
        let sealed = self.seal(PURPOSE_CREDENTIALS, &serde_json::to_vec(&creds).map_err(internal)?)?;
        let detail = json!({"provider": r.name, "kind": r.kind.as_str(), "account": display});
        let (account, reconnected) = self
            .store
            .upsert_account(
                NewAccount {
                    user_id: p.user.id,
                    kind: AccountKind::Oauth(r.kind.as_str().to_owned()),
                    provider: r.name.clone(),
                    external_id: sub.clone().unwrap_or_else(|| "account".into()),
                    display,
                    url: None,
                    credentials_sealed: sealed,
                    access_expires_at: expires,
                },
                self.now(),
                audit("account_connected", detail.clone()),
                audit("account_reconnected", detail),
            )
            .await?;
        // A grant for an app in testing lapses (Google: seven days); the user is warned before.
        self.store.set_refresh_expiry(account.id, refresh_expiry(self.now(), tokens)).await?;
        // The same account may then sign the user in, when the provider allows it.
        if let (Some(sub), true) = (sub, r.sign_in) {
            if let Err(e) = self.store.link_identity(&r.name, &sub, p.user.id, self.now()).await {
                tracing::warn!(provider = %r.name, user = %p.login(), error = %e, "identity not linked");
            }
        }
        Ok(CallbackOutcome::Connected { account: Box::new(account), reconnected })
    }

    async fn revoke_quietly(&self, r: &Resolved, tokens: &TokenResponse) {
        let Some(endpoint) = r.revocation_endpoint.as_deref() else { return };
        let (token, hint) = match &tokens.refresh_token {
            Some(t) => (t.as_str(), "refresh_token"),
            None => (tokens.access_token.as_str(), "access_token"),
        };
        if let Err(e) = oauth::revoke(&self.http, endpoint, &r.client, token, hint).await {
            tracing::warn!(provider = %r.name, error = %e, "could not revoke a grant that was refused");
        }
    }

    /// Validates the ID token of an OpenID provider (signature, iss, aud,
    /// exp, nonce) and the administrator's domain or tenant restriction.
    async fn check_id_token(
        &self,
        r: &Resolved,
        tokens: &TokenResponse,
        nonce: &str,
        connect: bool,
    ) -> AppResult<Option<jwt::IdClaims>> {
        if !r.openid() && connect {
            return Ok(None);
        }
        let Some(id_token) = tokens.id_token.as_deref() else {
            return Err(AppError::BadRequest(format!("{} sent no ID token", r.display_name)));
        };
        let refuse =
            |e: jwt::JwtError| AppError::Forbidden(format!("the ID token from {} is not valid: {e}", r.display_name));
        let kid = jwt::header_kid(id_token).map_err(refuse)?;
        let jwks = self.provider_jwks(r, kid.as_deref()).await?;
        let issuers = r.issuer.as_deref().map(|i| r.kind.id_token_issuers(i)).unwrap_or_default();
        let now = self.now().as_second();
        let expect = |issuer| jwt::Expect { issuer, client_id: &r.client.id, nonce, now, leeway: LEEWAY_SECS };
        // The first issuer is the expected one; the kind's others are tried only
        // when the token named another issuer.
        let mut checked = None;
        for issuer in &issuers {
            let result = jwt::validate_id_token(id_token, &jwks, &expect(issuer));
            let other_issuer = matches!(result, Err(jwt::JwtError::Issuer { .. }));
            checked = Some(result);
            if !other_issuer {
                break;
            }
        }
        let Some(claims) = checked else {
            return Err(internal(anyhow::anyhow!("provider {}: no issuer to check ID tokens", r.name)));
        };
        let claims = claims.map_err(refuse)?;
        if !r.allowed_domains.is_empty() {
            match claims.hd.as_deref().map(str::to_ascii_lowercase) {
                Some(hd) if r.allowed_domains.contains(&hd) => {}
                Some(hd) => {
                    return Err(AppError::Forbidden(format!(
                        "accounts of the domain {hd} may not be used here (allowed: {})",
                        r.allowed_domains.join(", ")
                    )))
                }
                None => {
                    return Err(AppError::Forbidden(format!(
                        "only accounts of {} may be used here, and this account belongs to no such domain",
                        r.allowed_domains.join(", ")
                    )))
                }
            }
        }
        r.kind.check_claims(&r.restriction(), &claims).map_err(AppError::Forbidden)?;
        Ok(Some(claims))
    }

    async fn finish_sign_in(&self, r: &Resolved, claims: &jwt::IdClaims) -> AppResult<CallbackOutcome> {
        let user = match self.store.identity_user(&r.name, &claims.sub).await? {
            Some(u) => u,
            None if r.create_users => {
                let base = claims
                    .preferred_username
                    .clone()
                    .or_else(|| claims.email.as_deref().and_then(|e| e.split('@').next()).map(str::to_owned))
                    .unwrap_or_else(|| "user".into());
                let user = self.create_user_for_sign_in(&base).await?;
                self.store.link_identity(&r.name, &claims.sub, user, self.now()).await?;
                self.store
                    .audit(Some(user), None, audit("user_created_by_sign_in", json!({"provider": r.name})), self.now())
                    .await?;
                user
            }
            None => {
                return Err(AppError::Forbidden(format!(
                    "no flowcal account is linked to this {} account: sign in with your password and connect {} once, \
                     or ask your administrator",
                    r.display_name, r.display_name
                )))
            }
        };
        if self.store.user(user).await?.is_some_and(|u| u.is_disabled()) {
            return Err(AppError::Forbidden("this flowcal account is disabled: ask your administrator".into()));
        }
        let session = self.open_session(user).await?;
        self.store.audit(Some(user), None, audit("signed_in", json!({"provider": r.name})), self.now()).await?;
        Ok(CallbackOutcome::SignedIn { session })
    }

    /// A user for a first sign-in: the login is taken from the provider's
    /// user name, made unique.
    async fn create_user_for_sign_in(&self, base: &str) -> AppResult<UserId> {
        let mut clean: String = base
            .chars()
            .filter_map(|c| {
                let c = c.to_ascii_lowercase();
                (c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')).then_some(c)
            })
            .take(40)
            .collect();
        if clean.is_empty() || !clean.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            clean.insert(0, 'u');
        }
        for n in 0..100 {
            let login = if n == 0 { clean.clone() } else { format!("{clean}{n}") };
            match self.add_user(&login, false, &[], None).await {
                Ok(u) => return Ok(u.id),
                Err(AppError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(AppError::Conflict(format!("no free login like '{clean}'")))
    }

    // ---- tokens -------------------------------------------------------------------------------

    /// A valid access token for an OAuth account, refreshed when it expires
    /// within five minutes. Refreshing is single-flight per account across
    /// processes (a lease in the database). A refresh the provider refuses
    /// with `invalid_grant` marks the account `reconnect_required`.
    pub async fn access_token(&self, account_id: i64) -> AppResult<String> {
        self.access_token_unless(account_id, None).await
    }

    /// Like [`Access::access_token`], but a stored token equal to `rejected`
    /// (the calendar service just refused it) is refreshed whatever its expiry.
    pub(crate) async fn access_token_unless(&self, account_id: i64, rejected: Option<&str>) -> AppResult<String> {
        for _ in 0..300 {
            let acc = self.account_row(account_id).await?;
            if acc.status != AccountStatus::Active {
                return Err(AppError::Conflict(format!(
                    "the calendar account {} needs to be connected again",
                    acc.display
                )));
            }
            let (access_token, _, _) = self.oauth_credentials(&acc)?;
            let now = self.now();
            let fresh = acc.access_expires_at.is_none_or(|t| t > now + REFRESH_MARGIN);
            if fresh && rejected != Some(access_token.as_str()) {
                return Ok(access_token);
            }
            // Everything slow that needs no lease happens before taking it.
            let c = self.connectivity().await?;
            let r = self.resolve_provider(&c, &acc.provider).await?;
            let until = now.checked_add(LEASE).map_err(internal)?;
            if !self.store.take_refresh_lease(account_id, &self.owner, now, until).await? {
                // Another process refreshes; its result will be in the row.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
            let leased = self.refresh_leased(account_id, &r, rejected, now).await;
            if leased.is_err() {
                // Whatever failed, the lease goes back (a no-op when it was released already).
                let _ = self.store.release_lease(account_id, &self.owner, None).await;
            }
            if let Some(token) = leased? {
                return Ok(token);
            }
        }
        Err(AppError::Unavailable("another process is still refreshing this account's access; try again".into()))
    }

    /// The tokens of an OAuth account.
    fn oauth_credentials(&self, acc: &CalendarAccount) -> AppResult<(String, Option<String>, Option<String>)> {
        match serde_json::from_str(&self.open(PURPOSE_CREDENTIALS, &acc.credentials_sealed)?).map_err(internal)? {
            Credentials::Oauth { access_token, refresh_token, scope } => Ok((access_token, refresh_token, scope)),
            Credentials::Basic { .. } => {
                Err(AppError::BadRequest("this calendar account uses a password, not tokens".into()))
            }
        }
    }

    /// The refresh itself, under the account's lease. `None`: another holder
    /// refreshed meanwhile; read the row again.
    async fn refresh_leased(
        &self,
        account_id: i64,
        r: &Resolved,
        rejected: Option<&str>,
        now: Timestamp,
    ) -> AppResult<Option<String>> {
        // Re-read under the lease: the last holder may have refreshed already,
        // and this row holds the newest refresh token.
        let acc = self.account_row(account_id).await?;
        let (current, refresh_token, scope) = self.oauth_credentials(&acc)?;
        if acc.access_expires_at.is_none_or(|t| t > now + REFRESH_MARGIN) && rejected != Some(current.as_str()) {
            self.store.release_lease(account_id, &self.owner, None).await?;
            return Ok(None);
        }
        let Some(refresh_token) = refresh_token else {
            self.reconnect_required(&acc, "no refresh token is stored").await?;
            return Err(AppError::Conflict("the calendar account needs to be connected again".into()));
        };
        match oauth::refresh(&self.http, &r.token_endpoint, &r.client, &refresh_token).await {
            Ok(t) => {
                let creds = Credentials::Oauth {
                    access_token: t.access_token.clone(),
                    // Rotated: the new one; otherwise the old one stays valid.
                    refresh_token: t.refresh_token.clone().or(Some(refresh_token)),
                    scope: t.scope.clone().or(scope),
                };
                let sealed = self.seal(PURPOSE_CREDENTIALS, &serde_json::to_vec(&creds).map_err(internal)?)?;
                let expires = expiry(now, &t);
                let stored =
                    self.store.finish_refresh(account_id, &self.owner, sealed.clone(), expires, self.now()).await?;
                if !stored {
                    // The lease ran out meanwhile; the rotated token must still not be lost:
                    // store it unless someone else changed the credentials since we read them.
                    let kept = self
                        .store
                        .replace_credentials(account_id, &acc.credentials_sealed, &sealed, expires, self.now())
                        .await?;
                    if !kept {
                        return Err(internal(anyhow::anyhow!("the credentials changed during a refresh")));
                    }
                }
                // A new refresh token with its lapse (an unrotated one keeps its own).
                if let Some(at) = refresh_expiry(now, &t) {
                    self.store.set_refresh_expiry(account_id, Some(at)).await?;
                }
                Ok(Some(t.access_token))
            }
            Err(OAuthError::InvalidGrant(why)) => {
                self.reconnect_required(&acc, &format!("invalid_grant: {why}")).await?;
                Err(AppError::Conflict(format!(
                    "{} no longer accepts flowcal's access to {}: connect the calendar again",
                    r.display_name, acc.display
                )))
            }
            Err(e) => {
                let msg = e.to_string();
                self.store.release_lease(account_id, &self.owner, Some(msg.clone())).await?;
                let detail = json!({"provider": acc.provider, "error": msg});
                self.store.audit(Some(acc.user_id), Some(acc.id), audit("refresh_failed", detail), self.now()).await?;
                Err(AppError::Unavailable(format!("cannot refresh access at {}: {msg}", r.display_name)))
            }
        }
    }

    /// The service no longer accepts flowcal's access: the account waits for
    /// the user to connect it again.
    async fn reconnect_required(&self, acc: &CalendarAccount, why: &str) -> AppResult<()> {
        tracing::info!(account = acc.id, provider = %acc.provider, "access refused by the provider: reconnect required");
        let detail = json!({"provider": acc.provider, "reason": why});
        self.store.mark_reconnect_required(acc.id, why, self.now(), audit("refresh_failed", detail)).await?;
        Ok(())
    }

    async fn account_row(&self, id: i64) -> AppResult<CalendarAccount> {
        self.store.account(id).await?.ok_or_else(|| AppError::NotFound(format!("calendar account {id}")))
    }

    /// An account of `p` (admins may see everyone's).
    pub async fn calendar_account(&self, p: &Principal, id: i64) -> AppResult<CalendarAccount> {
        let acc = self.account_row(id).await?;
        if acc.user_id != p.user.id && !p.is_admin() {
            return Err(AppError::NotFound(format!("calendar account {id}")));
        }
        Ok(acc)
    }

    pub async fn calendar_accounts(&self, p: &Principal) -> AppResult<Vec<CalendarAccount>> {
        Ok(self.store.accounts_of(p.user.id).await?)
    }

    /// Revokes the grant at the provider (RFC 7009) and deletes the stored
    /// credentials, even when the provider cannot be reached.
    pub async fn disconnect(&self, p: &Principal, id: i64) -> AppResult<Disconnected> {
        let acc = self.calendar_account(p, id).await?;
        if acc.user_id != p.user.id {
            return Err(AppError::Forbidden("only the account's owner may disconnect it".into()));
        }
        let outcome = self.revoke_account(&acc).await;
        let detail = json!({"provider": acc.provider, "revoked": outcome.revoked, "message": outcome.message});
        self.store.delete_account(acc.id, self.now(), audit("account_disconnected", detail)).await?;
        Ok(outcome)
    }

    /// Revokes an account's grant at its provider (a CalDAV app password has
    /// nothing to revoke); the caller deletes the stored credentials.
    pub(crate) async fn revoke_account(&self, acc: &CalendarAccount) -> Disconnected {
        // The push channel first, while the access still works.
        self.stop_push(acc).await;
        // Credentials that cannot be read any more are deleted all the same.
        let creds: Option<Credentials> = self
            .open(PURPOSE_CREDENTIALS, &acc.credentials_sealed)
            .ok()
            .and_then(|plain| serde_json::from_str(&plain).ok());
        match creds {
            None => Disconnected {
                revoked: false,
                message: "the stored credentials could not be read, so they were deleted without revoking them; \
                          remove flowcal from the apps of your account at the provider"
                    .into(),
            },
            Some(Credentials::Basic { .. }) => Disconnected {
                revoked: true,
                message: "the stored app password was deleted; you may also revoke it at your calendar service".into(),
            },
            Some(Credentials::Oauth { access_token, refresh_token, .. }) => {
                self.revoke_at_provider(acc, refresh_token.as_deref(), &access_token).await
            }
        }
    }

    async fn revoke_at_provider(&self, acc: &CalendarAccount, refresh: Option<&str>, access: &str) -> Disconnected {
        let r = match self.connectivity().await {
            Ok(c) => self.resolve_provider(&c, &acc.provider).await,
            Err(e) => Err(e.into()),
        };
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                return Disconnected {
                    revoked: false,
                    message: format!("the provider's settings are unavailable ({e}); revoke flowcal's access there"),
                }
            }
        };
        let Some(endpoint) = r.revocation_endpoint.as_deref() else {
            return Disconnected {
                revoked: false,
                message: format!(
                    "{} offers no revocation endpoint: the tokens were deleted here; remove flowcal from the apps \
                     of your account there to revoke the grant",
                    r.display_name
                ),
            };
        };
        let (token, hint) = match refresh {
            Some(t) => (t, "refresh_token"),
            None => (access, "access_token"),
        };
        match oauth::revoke(&self.http, endpoint, &r.client, token, hint).await {
            Ok(Revocation::Revoked) => {
                Disconnected { revoked: true, message: format!("access revoked at {}", r.display_name) }
            }
            Ok(Revocation::AlreadyInvalid) => {
                Disconnected { revoked: true, message: format!("{} had already revoked the access", r.display_name) }
            }
            Err(e) => Disconnected {
                revoked: false,
                message: format!(
                    "{} could not be reached to revoke the access ({e}); the tokens were deleted here — remove \
                     flowcal from the apps of your account there",
                    r.display_name
                ),
            },
        }
    }

    // ---- CalDAV (entrusted) -------------------------------------------------------------------

    /// Connects a CalDAV account with a username and app password, checked
    /// at once; nothing is stored when the check fails.
    pub async fn connect_caldav(
        &self,
        p: &Principal,
        url: &str,
        username: &str,
        password: &str,
    ) -> AppResult<(CalendarAccount, bool)> {
        let c = self.connectivity().await?;
        self.export_allowed(&c, p)?;
        if username.trim().is_empty() || password.is_empty() {
            return Err(AppError::Unprocessable("give the username and the app password".into()));
        }
        let url = reqwest::Url::parse(url.trim())
            .map_err(|e| AppError::Unprocessable(format!("'{}' is not a URL: {e}", url.trim())))?;
        let http = self.caldav_http(&c)?;
        http.policy().check_url(&url).map_err(|e| AppError::Forbidden(e.to_string()))?;
        let found = caldav::probe(&http, &url, username.trim(), password).await.map_err(|e| match e {
            caldav::ProbeError::Refused(e) => AppError::Forbidden(e.to_string()),
            caldav::ProbeError::Unreachable(m) => AppError::Unavailable(m),
            e => AppError::Unprocessable(e.to_string()),
        })?;
        let host = url.host_str().unwrap_or_default().to_owned();
        let creds = Credentials::Basic { username: username.trim().to_owned(), password: password.to_owned() };
        let sealed = self.seal(PURPOSE_CREDENTIALS, &serde_json::to_vec(&creds).map_err(internal)?)?;
        let display = format!("{} @ {host}", username.trim());
        let detail = json!({"provider": "caldav", "kind": "caldav", "account": display});
        Ok(self
            .store
            .upsert_account(
                NewAccount {
                    user_id: p.user.id,
                    kind: AccountKind::Caldav,
                    provider: "caldav".into(),
                    external_id: format!("{}@{}", username.trim(), found.principal),
                    display,
                    url: Some(found.calendar_home.to_string()),
                    credentials_sealed: sealed,
                    access_expires_at: None,
                },
                self.now(),
                audit("account_connected", detail.clone()),
                audit("account_reconnected", detail),
            )
            .await?)
    }
}

/// What `PATCH /api/v1/admin/settings` may change.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminSettingsPatch {
    pub calendar_export: Option<settings::ExportConfig>,
    pub caldav: Option<settings::CaldavConfig>,
    pub sign_in: Option<settings::SignInConfig>,
}

impl AdminSettingsPatch {
    fn changed(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.calendar_export.is_some() {
            v.push("calendar_export");
        }
        if self.caldav.is_some() {
            v.push("caldav");
        }
        if self.sign_in.is_some() {
            v.push("sign_in");
        }
        v
    }
}

fn expiry(now: Timestamp, t: &TokenResponse) -> Option<Timestamp> {
    t.expires_in.and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok())
}

/// When the refresh token lapses, where the provider says so.
fn refresh_expiry(now: Timestamp, t: &TokenResponse) -> Option<Timestamp> {
    t.refresh_token_expires_in.filter(|s| *s > 0).and_then(|s| now.checked_add(SignedDuration::from_secs(s)).ok())
}

fn oauth_failure(r: &Resolved, e: OAuthError) -> AppError {
    match e {
        OAuthError::Unavailable(m) => AppError::Unavailable(format!("{} is unreachable: {m}", r.display_name)),
        e => AppError::BadRequest(format!("{} refused to complete the authorization: {e}", r.display_name)),
    }
}

/// Why `user` may not export to calendars now (the administrator's policy,
/// the user's switch), if so.
pub(crate) fn export_refusal(c: &Connectivity, user: &flowcal_store::User) -> Option<&'static str> {
    if !c.calendar_export.allow.allows(&user.login) {
        return Some("calendar export is turned off for your account by the administrator (calendar_export.allow)");
    }
    if !user.calendar_export {
        return Some(
            "calendar export is off in your account settings: turn it on first (PATCH /api/v1/me/settings \
             {\"calendar_export\": true})",
        );
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn google(refresh_expires_at: Option<Timestamp>, status: AccountStatus) -> CalendarAccount {
        let t: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        CalendarAccount {
            id: 1,
            user_id: flowcal_domain::UserId(1),
            kind: AccountKind::Oauth("google".into()),
            provider: "google".into(),
            external_id: "sub".into(),
            display: "ann@example.com".into(),
            url: None,
            calendar: Some("primary".into()),
            calendar_own: Some(true),
            status,
            credentials_sealed: String::new(),
            access_expires_at: None,
            last_error: None,
            created_at: t,
            updated_at: t,
            last_read_at: None,
            read_error: None,
            read_error_at: None,
            last_delivered_at: None,
            refresh_expires_at,
        }
    }

    /// The lapse a token endpoint states (Google, for apps in testing) is
    /// when the refresh token stops working; none stated, none kept.
    #[test]
    fn the_refresh_tokens_lapse_is_read_from_the_token_answer() {
        let now: Timestamp = "2026-03-01T00:00:00Z".parse().unwrap();
        let answer = |json: &str| serde_json::from_str::<TokenResponse>(json).unwrap();
        let t =
            answer(r#"{"access_token":"a","expires_in":3599,"refresh_token":"r","refresh_token_expires_in":604799}"#);
        assert_eq!(refresh_expiry(now, &t), Some("2026-03-07T23:59:59Z".parse().unwrap()));
        assert_eq!(expiry(now, &t), Some("2026-03-01T00:59:59Z".parse().unwrap()));
        for none in [r#"{"access_token":"a"}"#, r#"{"access_token":"a","refresh_token_expires_in":0}"#] {
            assert_eq!(refresh_expiry(now, &answer(none)), None, "{none}");
        }
    }

    /// Seven days and one day before a grant lapses the account warns,
    /// more urgently the second time; after, it says it lapsed.
    #[test]
    fn an_account_warns_before_its_access_lapses() {
        let lapses: Timestamp = "2026-03-20T12:00:00Z".parse().unwrap();
        let at = |hours_before: i64| lapses - SignedDuration::from_hours(hours_before);
        let acc = google(Some(lapses), AccountStatus::Active);
        assert_eq!(lapse_warning(&acc, at(7 * 24 + 1)), None, "more than seven days before");
        let week = lapse_warning(&acc, at(7 * 24)).unwrap();
        assert!(week.contains("lapses on Fri 20 Mar 2026 12:00 UTC") && week.contains("before then"), "{week}");
        let day = lapse_warning(&acc, at(24)).unwrap();
        assert!(day.contains("within a day") && day.contains("now"), "{day}");
        let gone = lapse_warning(&acc, at(-1)).unwrap();
        assert!(gone.contains("lapsed on"), "{gone}");
        assert_eq!(lapse_warning(&google(None, AccountStatus::Active), at(1)), None, "no lapse said");
        assert_eq!(lapse_warning(&google(Some(lapses), AccountStatus::ReconnectRequired), at(1)), None);
        let j = AccountJson::at(&acc, at(24));
        assert_eq!(j.message, Some(day));
        assert_eq!(j.refresh_expires_at, Some(lapses));
    }
}
