//! Proxy access to users' calendars: what flowcal needs to act for a user at
//! a calendar service, whether the user authorized it (OAuth 2.0 / OpenID
//! Connect) or entrusted it (Basic auth with an app password).
//!
//! - [`seal`]: secrets encrypted at rest (AEAD, key ids, rotation).
//! - [`oauth`]: the OAuth 2.0 client (PKCE, code exchange, refresh, revocation, discovery).
//! - [`jwt`]: ID token validation against a JWKS.
//! - [`outbound`]: which user-supplied URLs may be fetched (allow-list, address checks).
//! - [`text`]: percent-encoding, form encoding and constant-time comparison, shared by flowcal's crates.
//!
//! Checking a CalDAV account at connect time uses the CalDAV connector's own
//! discovery (`flowcal_calendar::caldav::probe`).
//!
//! Nothing here logs a secret.
#![forbid(unsafe_code)]

pub mod jwt;
pub mod oauth;
pub mod outbound;
pub mod seal;
pub mod text;
