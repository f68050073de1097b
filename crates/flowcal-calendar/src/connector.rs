//! The one interface to a calendar, whatever its kind.

use crate::event::{EventSpec, When};
use std::fmt;
use std::time::Duration;

/// How a connector authenticates.
#[derive(Clone)]
pub enum Credential {
    /// An OAuth 2.0 access token.
    Bearer(String),
    /// CalDAV username and app password.
    Basic { username: String, password: String },
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Credential::Bearer(_) => f.write_str("Bearer(***)"),
            Credential::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
        }
    }
}

impl Credential {
    /// Adds the credential to a request.
    pub fn apply(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credential::Bearer(t) => req.bearer_auth(t),
            Credential::Basic { username, password } => req.basic_auth(username, Some(password)),
        }
    }
}

/// A calendar of the user's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarInfo {
    /// Google: the calendar id; Graph: the calendar id; CalDAV: the collection URL.
    pub id: String,
    pub name: String,
    /// flowcal made it (its own calendar).
    pub own: bool,
}

/// Which calendar entries go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarChoice {
    /// flowcal's own calendar with this name: found again, or created.
    Own { name: String },
    /// A calendar the user picked from [`Connector::list_calendars`].
    Existing { id: String },
}

/// Where an entry is at the calendar service, as last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Google: the event id (= the key); Graph: the event id it assigned; CalDAV: the resource URL.
    pub id: String,
    /// The version last written or read, for conditional requests.
    pub etag: Option<String>,
}

/// An entry as read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteEvent {
    pub remote: Remote,
    pub title: String,
    pub description: String,
    pub when: When,
    /// The end: exclusive date for all-day entries; instant for timed ones (as RFC 3339).
    pub end: String,
    /// Google keeps deleted events as `cancelled`.
    pub cancelled: bool,
}

/// An entry a read of changes reports as made or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedEntry {
    /// flowcal's key of the entry ([`EventSpec::key`]: Google's event id,
    /// CalDAV's resource name), or, for a kind that names entries itself
    /// (Microsoft Graph), the id it gave ([`Remote::id`]).
    pub id: String,
    /// Its version (ETag) when the service gives it.
    pub etag: Option<String>,
    /// Where it starts now when the read tells (Google, Graph); `None`: read
    /// the entry ([`Connector::get_event`]) to know (CalDAV).
    pub start: Option<When>,
}

/// What changed in a calendar since the last read (RFC 6578's model).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarChanges {
    /// Entries made or changed since. Only entries flowcal made are listed
    /// (CalDAV: resources named `{key}.ics`; Google: ids that are keys;
    /// Graph: events with a `transactionId` that is a key).
    pub changed: Vec<ChangedEntry>,
    /// Entries deleted since, by the same id as in `changed`.
    pub deleted: Vec<String>,
    /// `changed` lists every entry of the calendar (the first read, a token
    /// the service no longer takes, or a server without incremental reads):
    /// an entry the caller knows that is not listed is gone.
    pub complete: bool,
    /// Where the next read starts; `None` when the service keeps none.
    pub token: Option<String>,
}

impl When {
    /// Whether two starts are the same moment (the zone a timed entry is
    /// shown in does not count) or the same day.
    pub fn same_start(&self, other: &When) -> bool {
        match (self, other) {
            (When::Date(a), When::Date(b)) => a == b,
            (When::At { at: a, .. }, When::At { at: b, .. }) => a == b,
            _ => false,
        }
    }
}

/// A push channel: the service notifies flowcal when a calendar changes
/// (Google: a notification channel of `events.watch`; Graph: a subscription).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// Google: the channel id flowcal chose; Graph: the subscription id.
    pub id: String,
    /// Google: the `resourceId` the channel watches (needed to stop it).
    pub resource_id: Option<String>,
    /// When the service ends it unless renewed.
    pub expires_at: jiff::Timestamp,
}

/// What a push channel is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchRequest<'a> {
    /// Where notifications go (https).
    pub address: &'a str,
    /// Where Graph's lifecycle notifications go.
    pub lifecycle_address: &'a str,
    /// Google: the channel id to use (flowcal makes it).
    pub id: &'a str,
    /// The secret every notification carries back (Google's channel token,
    /// Graph's `clientState`).
    pub secret: &'a str,
    /// How long the channel should last; the service may give less.
    pub ttl: std::time::Duration,
}

/// Why a call failed, classified for the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// Try again later; after this delay when the server said (Retry-After).
    #[error("the calendar service asks to retry later{}: {message}", after.map(|d| format!(" (in {} s)", d.as_secs())).unwrap_or_default())]
    RetryLater { after: Option<Duration>, message: String },
    /// The credentials were refused: refresh the access token once, then the
    /// user must connect again.
    #[error("the calendar service refused the credentials: {0}")]
    Unauthorized(String),
    /// The calendar (or the event, where that matters) no longer exists.
    #[error("gone at the calendar service: {0}")]
    Gone(String),
    /// The request cannot succeed as it is; the server's message.
    #[error("the calendar service refused the request: {0}")]
    Permanent(String),
}

/// What every calendar kind offers.
#[allow(async_fn_in_trait)]
pub trait Connector {
    /// The user's calendars.
    async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError>;
    /// Makes sure the target calendar exists (creating flowcal's own when needed).
    async fn ensure_calendar(&self, choice: &CalendarChoice) -> Result<CalendarInfo, ConnectorError>;
    /// Creates the entry, or updates it when it exists (found by `known`, or by
    /// its key): never a second copy.
    async fn upsert_event(
        &self,
        calendar: &str,
        event: &EventSpec,
        known: Option<&Remote>,
    ) -> Result<Remote, ConnectorError>;
    /// Reads the entry back; `None` when it does not exist.
    async fn get_event(
        &self,
        calendar: &str,
        key: &str,
        known: Option<&Remote>,
    ) -> Result<Option<RemoteEvent>, ConnectorError>;
    /// Deletes the entry; deleting one that is gone already is no error.
    async fn delete_event(&self, calendar: &str, key: &str, known: Option<&Remote>) -> Result<(), ConnectorError>;

    /// What changed in `calendar` since `token` (none: a complete listing).
    /// A token the service no longer takes starts over with a complete
    /// listing (`complete`), never an error.
    async fn changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        let _ = (calendar, token);
        Err(ConnectorError::Permanent("this kind of calendar cannot be read for changes".into()))
    }

    /// Starts a push channel for `calendar` (`None`: the kind has none).
    async fn watch(&self, calendar: &str, request: &WatchRequest<'_>) -> Result<Option<Watch>, ConnectorError> {
        let _ = (calendar, request);
        Ok(None)
    }

    /// Extends a channel where the service can (Graph); `None`: it cannot,
    /// start a new one instead.
    async fn renew_watch(&self, watch: &Watch, ttl: std::time::Duration) -> Result<Option<Watch>, ConnectorError> {
        let _ = (watch, ttl);
        Ok(None)
    }

    /// Stops a channel; one the service no longer knows is no error.
    async fn unwatch(&self, watch: &Watch) -> Result<(), ConnectorError> {
        let _ = watch;
        Ok(())
    }

    /// Creates entries no delivery is known to have made, all in `calendar`:
    /// each as [`upsert_event`](Self::upsert_event) without `known` does (one
    /// made before, its answer lost, is found by its key and brought up to
    /// date), one result per entry, in order.
    ///
    /// An entry refused for the credentials fails the whole call with
    /// [`ConnectorError::Unauthorized`], so that the caller refreshes the
    /// token once and repeats it (entries made already are found again). The
    /// outer error is also for a call that failed before making anything.
    ///
    /// By default they are made one by one; a kind with batch requests
    /// overrides this, and [`batch_size`](Self::batch_size).
    async fn create_events(
        &self,
        calendar: &str,
        entries: &[EventSpec],
    ) -> Result<Vec<Result<Remote, ConnectorError>>, ConnectorError> {
        let mut out = Vec::with_capacity(entries.len());
        for ev in entries {
            out.push(self.upsert_event(calendar, ev, None).await);
        }
        refused_as_a_whole(out)
    }

    /// How many new entries [`create_events`](Self::create_events) sends in
    /// one request: above 1, a caller gains by collecting new entries for it;
    /// at 1 (the default) it may as well make each as it comes.
    fn batch_size(&self) -> usize {
        1
    }
}

/// The results of creating several entries, or the credentials' refusal of
/// one of them for all: the token is the same for every entry, so a refresh
/// and a repeat is what each needs.
pub(crate) fn refused_as_a_whole(
    results: Vec<Result<Remote, ConnectorError>>,
) -> Result<Vec<Result<Remote, ConnectorError>>, ConnectorError> {
    match results.iter().find_map(|r| match r {
        Err(ConnectorError::Unauthorized(why)) => Some(why),
        _ => None,
    }) {
        Some(why) => Err(ConnectorError::Unauthorized(why.clone())),
        None => Ok(results),
    }
}

/// The delay a `Retry-After` header asks for (seconds or an HTTP date).
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = jiff::fmt::rfc2822::parse(v).ok()?.timestamp();
    let d = at.duration_since(jiff::Timestamp::now());
    Some(Duration::from_secs(u64::try_from(d.as_secs()).unwrap_or(0)))
}

/// The HTTP client for the calendar APIs the administrator configures
/// (Google, Microsoft Graph), made once per process and passed to every
/// connector, so connections are kept and reused from one call (and one
/// delivery pass) to the next. These roots are configuration, not user
/// input, so they are not behind the outbound policy for user URLs. It
/// follows no redirect (requests carry the access token); each connector
/// sets its own timeout per request.
pub fn api_client() -> Result<reqwest::Client, ConnectorError> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("flowcal/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| ConnectorError::Permanent(format!("cannot set up the HTTP client: {e}")))
}

/// The most flowcal reads of one answer from a calendar API. A page of the
/// calendar list or a batch answer of 50 events is a small part of it.
pub const ANSWER_LIMIT: usize = 8 << 20;

/// Reads an answer's body up to [`ANSWER_LIMIT`] while it streams (never an
/// unbounded `.text()`); bytes that are not UTF-8 are replaced.
pub async fn read_answer(mut resp: reqwest::Response) -> Result<String, ConnectorError> {
    use flowcal_connect::outbound::{read_capped, BodyError};
    match read_capped(&mut resp, ANSWER_LIMIT).await {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(BodyError::TooLarge { limit }) => Err(ConnectorError::RetryLater {
            after: None,
            message: format!("its answer is larger than {} MiB", limit >> 20),
        }),
        Err(BodyError::Transport(e)) => Err(transport_error(&e)),
    }
}

/// Classifies a transport error (no answer).
pub fn transport_error(e: &reqwest::Error) -> ConnectorError {
    let mut msg = if e.is_timeout() { "timed out".to_owned() } else { "cannot connect".to_owned() };
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    ConnectorError::RetryLater { after: None, message: msg }
}

/// Answers up to this size are parsed where they arrive: moving them to
/// another thread would cost more than reading them.
const PARSE_IN_PLACE: usize = 16 << 10;

/// Runs `parse` over a service's answer (bounded by [`ANSWER_LIMIT`]) off
/// the async workers, so that a large or deeply nested answer from one
/// calendar service never holds up the others' requests.
pub async fn parse_off_thread<T: Send + 'static>(text: &str, parse: impl FnOnce(&str) -> T + Send + 'static) -> T {
    if text.len() <= PARSE_IN_PLACE {
        return parse(text);
    }
    let owned = text.to_owned();
    match tokio::task::spawn_blocking(move || parse(&owned)).await {
        Ok(t) => t,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{event_key, DEFAULT_DURATION_MINUTES};
    use std::sync::Mutex;

    #[tokio::test(flavor = "current_thread")]
    async fn large_answers_are_parsed_off_the_async_workers() {
        let here = std::thread::current().id();
        let small = "[1,2,3]".to_owned();
        let (json, there) =
            parse_off_thread(&small, |t| (serde_json::from_str::<serde_json::Value>(t), std::thread::current().id()))
                .await;
        assert_eq!((json.unwrap().as_array().map(Vec::len), there), (Some(3), here));
        // The worst answer a service may send: as large as allowed, nested as deep as serde_json goes.
        let large = format!("{}{}", "[".repeat(120), " ".repeat(ANSWER_LIMIT - 240)) + &"]".repeat(120);
        let (json, there) =
            parse_off_thread(&large, |t| (serde_json::from_str::<serde_json::Value>(t), std::thread::current().id()))
                .await;
        assert!(json.is_ok());
        assert_ne!(there, here, "parsed on the async worker");
    }

    /// A kind without batch requests: answers each upsert as scripted by the
    /// entry's title, and records the calls.
    #[derive(Default)]
    struct OneByOne {
        calls: Mutex<Vec<(String, String, bool)>>,
    }

    impl Connector for OneByOne {
        async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError> {
            Ok(Vec::new())
        }
        async fn ensure_calendar(&self, _: &CalendarChoice) -> Result<CalendarInfo, ConnectorError> {
            Err(ConnectorError::Permanent("not here".into()))
        }
        async fn upsert_event(
            &self,
            calendar: &str,
            event: &EventSpec,
            known: Option<&Remote>,
        ) -> Result<Remote, ConnectorError> {
            let mut calls = self.calls.lock().unwrap_or_else(|p| p.into_inner());
            calls.push((calendar.to_owned(), event.title.clone(), known.is_some()));
            match event.title.as_str() {
                "refused" => Err(ConnectorError::Unauthorized("token expired".into())),
                "busy" => Err(ConnectorError::RetryLater { after: None, message: "busy".into() }),
                _ => Ok(Remote { id: format!("{calendar}/{}", event.key), etag: Some(event.title.clone()) }),
            }
        }
        async fn get_event(&self, _: &str, _: &str, _: Option<&Remote>) -> Result<Option<RemoteEvent>, ConnectorError> {
            Ok(None)
        }
        async fn delete_event(&self, _: &str, _: &str, _: Option<&Remote>) -> Result<(), ConnectorError> {
            Ok(())
        }
    }

    fn entry(title: &str) -> EventSpec {
        EventSpec {
            key: event_key(1, title),
            title: title.to_owned(),
            description: String::new(),
            url: None,
            when: When::Date(jiff::civil::date(2026, 5, 4)),
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 0,
            stamp: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn by_default_entries_are_created_one_by_one_in_order() {
        let c = OneByOne::default();
        assert_eq!(c.batch_size(), 1);
        let entries = [entry("a"), entry("busy"), entry("b")];
        let results = c.create_events("cal", &entries).await.unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(
            results[0].as_ref().unwrap(),
            &Remote { id: format!("cal/{}", entries[0].key), etag: Some("a".into()) }
        );
        assert!(matches!(&results[1], Err(ConnectorError::RetryLater { .. })), "{results:?}");
        assert_eq!(results[2].as_ref().unwrap().etag.as_deref(), Some("b"));
        let calls = c.calls.lock().unwrap().clone();
        let want: Vec<(String, String, bool)> =
            ["a", "busy", "b"].iter().map(|t| ("cal".to_owned(), (*t).to_owned(), false)).collect();
        assert_eq!(calls, want, "each created without a known remote, in order");
        assert!(c.create_events("cal", &[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_refused_entry_fails_the_whole_call() {
        let c = OneByOne::default();
        let e = c.create_events("cal", &[entry("a"), entry("refused"), entry("b")]).await.unwrap_err();
        assert_eq!(e, ConnectorError::Unauthorized("token expired".into()));
        // As before: every entry was tried.
        assert_eq!(c.calls.lock().unwrap().len(), 3);
        let ok = vec![Ok(Remote { id: "x".into(), etag: None }), Err(ConnectorError::Gone("cal".into()))];
        assert_eq!(refused_as_a_whole(ok.clone()), Ok(ok));
    }
}
