//! Connectivity settings: the OAuth providers, who may export to calendars,
//! which CalDAV hosts may be reached, and how people sign in. They come from
//! the configuration file and from the admin API; the admin API wins.

use flowcal_calendar::provider::{ProviderKind, Restriction};
use flowcal_connect::oauth::ClientAuth;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// The OpenAPI schema of a provider's `kind`: the names of the kinds in
/// flowcal-calendar's registry.
pub struct ProviderKindSchema;

impl utoipa::PartialSchema for ProviderKindSchema {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some("The kind of an OAuth provider."))
            .enum_values(Some(ProviderKind::all().map(ProviderKind::as_str)))
            .into()
    }
}

impl utoipa::ToSchema for ProviderKindSchema {
    fn name() -> std::borrow::Cow<'static, str> {
        "ProviderKind".into()
    }
}

/// One OAuth provider, as written in `[providers.NAME]` or sent to
/// `PUT /api/v1/admin/providers/{name}`.
#[derive(Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    #[schema(value_type = ProviderKindSchema)]
    pub kind: ProviderKind,
    /// What users see; default: the provider's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub client_id: String,
    /// Write-only: stored encrypted, never shown.
    #[serde(default, skip_serializing)]
    pub client_secret: Option<String>,
    /// A file holding the client secret (configuration file only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub client_secret_file: Option<PathBuf>,
    /// Default: per kind (see the setup guides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation_endpoint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// The calendar API's root (Google: https://www.googleapis.com, Microsoft: https://graph.microsoft.com).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base_url: Option<String>,
    /// Google: the Workspace domains whose users may connect (checked on the ID token's `hd`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_domains: Vec<String>,
    /// Microsoft: the tenant (id or domain; `organizations` for any work account).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// How flowcal authenticates at the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub token_auth: Option<ClientAuth>,
    /// Users of the allowed domains / tenant may sign in to flowcal with this provider.
    #[serde(default)]
    pub sign_in: bool,
    /// A first sign-in creates the flowcal account (otherwise it must exist and be linked).
    #[serde(default)]
    pub create_users: bool,
}

impl ProviderConfig {
    /// Which accounts at the provider these settings admit.
    pub fn restriction(&self) -> Restriction<'_> {
        Restriction { allowed_domains: &self.allowed_domains, tenant: self.tenant.as_deref() }
    }
}

impl fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("kind", &self.kind)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "***"))
            .field("client_secret_file", &self.client_secret_file)
            .field("issuer", &self.issuer)
            .field("allowed_domains", &self.allowed_domains)
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

/// Who may export to calendars: `"everyone"`, `"no one"`, or a list of logins.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ExportAllow {
    #[schema(value_type = String)]
    Word(AllowWord),
    Users(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum AllowWord {
    #[serde(rename = "everyone")]
    Everyone,
    #[serde(rename = "no one")]
    NoOne,
}

impl Default for ExportAllow {
    fn default() -> Self {
        ExportAllow::Word(AllowWord::Everyone)
    }
}

impl ExportAllow {
    pub fn allows(&self, login: &str) -> bool {
        match self {
            ExportAllow::Word(AllowWord::Everyone) => true,
            ExportAllow::Word(AllowWord::NoOne) => false,
            ExportAllow::Users(list) => list.iter().any(|l| l == login),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ExportConfig {
    pub allow: ExportAllow,
    /// How long a timed entry lasts, in minutes.
    pub event_minutes: u32,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig { allow: ExportAllow::default(), event_minutes: flowcal_calendar::DEFAULT_DURATION_MINUTES }
    }
}

/// Which CalDAV servers users may connect to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CaldavConfig {
    /// `host`, `host:port`, `*.domain`, or `*` (any host with a public address, https only).
    pub allowed_hosts: Vec<String>,
    /// CIDR ranges of non-public addresses that may be reached (e.g. an in-house server).
    pub allowed_networks: Vec<String>,
}

/// How people sign in.
#[derive(Debug, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct SignInConfig {
    /// Sign-in with a flowcal password (the form at /login).
    pub password: bool,
}

impl Default for SignInConfig {
    fn default() -> Self {
        SignInConfig { password: true }
    }
}

/// All connectivity settings in effect.
#[derive(Debug, Clone, Default)]
pub struct Connectivity {
    pub providers: BTreeMap<String, ProviderConfig>,
    pub calendar_export: ExportConfig,
    pub caldav: CaldavConfig,
    pub sign_in: SignInConfig,
}

/// Checks a provider's settings; `Err` says what is wrong.
pub fn check_provider(name: &str, p: &ProviderConfig) -> Result<(), String> {
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(format!("provider name '{name}': use letters, digits, '-' and '_'"));
    }
    if p.client_id.trim().is_empty() {
        return Err(format!("provider {name}: client_id is empty"));
    }
    for (key, v) in [
        ("issuer", &p.issuer),
        ("authorization_endpoint", &p.authorization_endpoint),
        ("token_endpoint", &p.token_endpoint),
        ("revocation_endpoint", &p.revocation_endpoint),
        ("jwks_uri", &p.jwks_uri),
        ("api_base_url", &p.api_base_url),
    ] {
        if let Some(v) = v {
            let ok = reqwest::Url::parse(v).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
            if !ok {
                return Err(format!("provider {name}: {key} '{v}' is not an http(s) URL"));
            }
        }
    }
    let defaults = p.kind.defaults(&p.restriction());
    let discoverable = p.kind.discovers() && p.issuer.is_some();
    let endpoints = p.authorization_endpoint.is_some() || defaults.authorization_endpoint.is_some();
    let endpoints = endpoints && (p.token_endpoint.is_some() || defaults.token_endpoint.is_some());
    if !discoverable && !endpoints {
        return Err(format!(
            "provider {name}: a provider of kind {} needs an issuer (for discovery) or both \
             authorization_endpoint and token_endpoint",
            p.kind
        ));
    }
    if p.sign_in && p.create_users {
        if let Some(restrict) = p.kind.open_to_all(&p.restriction()) {
            return Err(format!(
                "provider {name}: sign_in with create_users would let any {} account create a flowcal user; \
                 restrict it with {restrict}",
                p.kind
            ));
        }
    }
    if p.sign_in && p.issuer.is_none() && defaults.issuer.is_none() {
        return Err(format!("provider {name}: sign_in needs an OpenID provider with an issuer"));
    }
    Ok(())
}

/// Checks the CalDAV allow-list (the same rules the outbound policy applies).
pub fn check_caldav(c: &CaldavConfig) -> Result<(), String> {
    flowcal_connect::outbound::HostPolicy::new(&c.allowed_hosts, &c.allowed_networks).map(|_| ())
}
