//! Calendar connectors: put one exportable date on a user's calendar, change
//! it, remove it, read it back, never making a second copy.
//!
//! - [`Connector`]: the one interface everything above uses; [`ConnectorError`]
//!   classifies failures for the caller (retry later, re-authorize, gone, permanent).
//! - [`EventSpec`]: what an entry says; [`event_key`]: its stable identity,
//!   derived from (user, source), so retries and re-exports find the same event.
//! - [`google`] (Calendar API v3), [`graph`] (Microsoft Graph), [`caldav`] (RFC 4791).
//! - [`ical`]: RFC 5545 output (and the small parser the connectors read back with).
//! - [`holidays`]: the days a holiday calendar (an iCalendar file a work
//!   calendar subscribes to) lists, picked by include/exclude patterns.
//! - [`provider`]: the OAuth provider kinds (`google`, `microsoft`, `oauth`) and
//!   what the server needs to know of each, one registry over the kinds' modules.
#![forbid(unsafe_code)]

pub mod caldav;
mod connector;
mod event;
pub mod google;
pub mod graph;
pub mod holidays;
pub mod http_auth;
pub mod ical;
pub mod provider;

pub use connector::*;
pub use event::*;

/// A connector of any kind, for callers that pick the kind at run time.
#[derive(Debug)]
pub enum AnyConnector {
    Google(google::GoogleCalendar),
    Graph(graph::GraphCalendar),
    Caldav(caldav::CaldavCalendar),
}

macro_rules! dispatch {
    ($self:ident, $c:ident => $call:expr) => {
        match $self {
            AnyConnector::Google($c) => $call,
            AnyConnector::Graph($c) => $call,
            AnyConnector::Caldav($c) => $call,
        }
    };
}

impl Connector for AnyConnector {
    async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError> {
        dispatch!(self, c => c.list_calendars().await)
    }

    async fn ensure_calendar(&self, choice: &CalendarChoice) -> Result<CalendarInfo, ConnectorError> {
        dispatch!(self, c => c.ensure_calendar(choice).await)
    }

    async fn upsert_event(
        &self,
        calendar: &str,
        event: &EventSpec,
        known: Option<&Remote>,
    ) -> Result<Remote, ConnectorError> {
        dispatch!(self, c => c.upsert_event(calendar, event, known).await)
    }

    async fn get_event(
        &self,
        calendar: &str,
        key: &str,
        known: Option<&Remote>,
    ) -> Result<Option<RemoteEvent>, ConnectorError> {
        dispatch!(self, c => c.get_event(calendar, key, known).await)
    }

    async fn delete_event(&self, calendar: &str, key: &str, known: Option<&Remote>) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.delete_event(calendar, key, known).await)
    }

    async fn create_events(
        &self,
        calendar: &str,
        entries: &[EventSpec],
    ) -> Result<Vec<Result<Remote, ConnectorError>>, ConnectorError> {
        dispatch!(self, c => c.create_events(calendar, entries).await)
    }

    async fn changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        dispatch!(self, c => c.changes(calendar, token).await)
    }

    async fn watch(&self, calendar: &str, request: &WatchRequest<'_>) -> Result<Option<Watch>, ConnectorError> {
        dispatch!(self, c => c.watch(calendar, request).await)
    }

    async fn renew_watch(&self, watch: &Watch, ttl: std::time::Duration) -> Result<Option<Watch>, ConnectorError> {
        dispatch!(self, c => c.renew_watch(watch, ttl).await)
    }

    async fn unwatch(&self, watch: &Watch) -> Result<(), ConnectorError> {
        dispatch!(self, c => c.unwatch(watch).await)
    }

    fn batch_size(&self) -> usize {
        dispatch!(self, c => c.batch_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Delivery runs these calls in boxed `Send` futures, on worker threads.
    #[allow(dead_code)]
    fn calls_are_send(c: &AnyConnector, entries: &[EventSpec]) {
        fn send<T: Send>(_: &T) {}
        send(&c.create_events("cal", entries));
        send(&c.upsert_event("cal", &entries[0], None));
    }
}
