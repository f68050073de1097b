//! Calendar connectors: put one exportable date on a user's calendar, change
//! it, remove it, read it back, never making a second copy.
//!
//! - [`Connector`]: the one interface everything above uses; [`ConnectorError`]
//!   classifies failures for the caller (retry later, re-authorize, gone, permanent).
//! - [`EventSpec`]: what an entry says; [`event_key`]: its stable identity,
//!   derived from (user, source), so retries and re-exports find the same event.
//! - [`google`] (Calendar API v3), [`graph`] (Microsoft Graph), [`caldav`] (RFC 4791).
//! - [`ical`]: RFC 5545 output (and the small parser the connectors read back with).
#![forbid(unsafe_code)]

pub mod caldav;
mod connector;
mod event;
pub mod google;
pub mod graph;
pub mod ical;

pub use connector::*;
pub use event::*;
