//! What flowcal knows about one kind of OAuth calendar provider, as a
//! [`Provider`] that the kind's module implements: default endpoints and
//! scopes, extra authorization parameters, ID token rules, who may sign in,
//! and the calendar API. The registry (`provider.rs`) lists the kinds; this
//! module knows none of them, so that a kind's module and the registry do not
//! import each other.

use crate::connector::{ConnectorError, Credential};
use crate::AnyConnector;
use flowcal_connect::jwt::{IdClaims, Issuer};
use flowcal_connect::oauth::ClientAuth;

/// Which accounts at the provider the administrator admits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Restriction<'a> {
    /// Google Workspace domains whose accounts may be used (the ID token's `hd`).
    pub allowed_domains: &'a [String],
    /// Microsoft: the tenant (an id or a domain); `None` for the kind's default.
    pub tenant: Option<&'a str>,
}

/// The endpoints, scopes and client authentication used where the
/// provider's settings name none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defaults {
    /// The issuer the `iss` callback parameter and the ID token must name.
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    /// `None`: the provider offers no revocation (RFC 7009); disconnecting
    /// deletes the tokens and tells the user to remove flowcal there.
    pub revocation_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub scopes: &'static [&'static str],
    pub client_auth: ClientAuth,
}

/// What an authorization request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Connecting a calendar (tokens kept, refreshed later).
    Connect,
    /// Signing in to flowcal (only the ID token is used).
    SignIn,
}

/// What a calendar API connector is made from.
#[derive(Debug)]
pub struct ApiAccount<'a> {
    /// The process's shared [`api_client`](crate::api_client).
    pub http: reqwest::Client,
    /// The configured `api_base_url`; `None` for the kind's default.
    pub base_url: Option<&'a str>,
    pub credential: Credential,
    /// The scopes the user granted (the token response's `scope`), when known.
    pub granted_scopes: Option<&'a str>,
}

/// Makes the connector of a kind's calendar API.
pub type ConnectorFactory = fn(ApiAccount<'_>) -> Result<AnyConnector, ConnectorError>;

/// One kind of OAuth provider. The defaults are those of a plain OAuth 2.0 /
/// OpenID Connect server; a kind overrides what its provider does differently.
pub trait Provider: Sync {
    /// The `kind` in the configuration file and the admin API.
    fn name(&self) -> &'static str;

    /// What the admin form calls it.
    fn label(&self) -> &'static str;

    /// Endpoints and scopes for the settings' tenant or domains.
    fn defaults(&self, r: &Restriction<'_>) -> Defaults;

    /// Whether the endpoints not configured are read from the issuer's
    /// metadata (OpenID Connect discovery / RFC 8414).
    fn discovers(&self) -> bool {
        false
    }

    /// Parameters added to the authorization request. By default, asking for
    /// `offline_access` also asks for consent, so that a refresh token is issued
    /// again when the user connects a second time.
    fn authorization_params(&self, purpose: Purpose, _r: &Restriction<'_>, scopes: &[String]) -> Vec<(String, String)> {
        if purpose == Purpose::Connect && scopes.iter().any(|s| s == "offline_access") {
            vec![("prompt".to_owned(), "consent".to_owned())]
        } else {
            Vec::new()
        }
    }

    /// The issuers an ID token may name, given the resolved issuer: the
    /// first is expected; the others are tried in turn when the issuer alone
    /// did not match.
    fn id_token_issuers(&self, issuer: &str) -> Vec<Issuer> {
        vec![Issuer::Exact(issuer.to_owned())]
    }

    /// Checks of a valid ID token's claims beyond the standard ones (and
    /// beyond `allowed_domains`, which applies to every kind); `Err` says why
    /// the account is refused.
    fn check_claims(&self, _r: &Restriction<'_>, _claims: &IdClaims) -> Result<(), String> {
        Ok(())
    }

    /// `Some(the setting that restricts it)` when these settings let every
    /// account of the provider in: then sign-in may not create users.
    fn open_to_all(&self, _r: &Restriction<'_>) -> Option<&'static str> {
        None
    }

    /// The connector of the provider's calendar API; `None` when flowcal
    /// knows none (the kind serves sign-in only).
    fn calendar_api(&self) -> Option<ConnectorFactory> {
        None
    }

    /// A link to an entry at the provider, where it has a page for one.
    fn event_link(&self, _remote_id: &str, _calendar: &str) -> Option<String> {
        None
    }
}
