//! The kind `oauth`: any OAuth 2.0 / OpenID Connect server. Its endpoints
//! come from the settings or from the issuer's metadata; flowcal knows no
//! calendar API for it, so it serves sign-in.

use super::spec::{Defaults, Provider, Restriction};
use flowcal_connect::oauth::ClientAuth;

pub struct Generic;

impl Provider for Generic {
    fn name(&self) -> &'static str {
        "oauth"
    }

    fn label(&self) -> &'static str {
        "Other OAuth 2.0 / OpenID"
    }

    fn defaults(&self, _r: &Restriction<'_>) -> Defaults {
        Defaults {
            issuer: None,
            authorization_endpoint: None,
            token_endpoint: None,
            revocation_endpoint: None,
            jwks_uri: None,
            scopes: &["openid", "offline_access"],
            // RFC 6749 §2.3.1: servers must support Basic.
            client_auth: ClientAuth::ClientSecretBasic,
        }
    }

    fn discovers(&self) -> bool {
        true
    }
}
