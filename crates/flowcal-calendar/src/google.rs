//! Google Calendar API v3.
//!
//! Every path, parameter and body field follows the API's discovery document
//! (`rootUrl` + `servicePath` `calendar/v3/`, `batchPath` `batch/calendar/v3`).
//! The only thing that differs between Google and a test double is the base URL.
//!
//! - An entry's event `id` is its [`event_key`](crate::event_key) (lowercase
//!   base32hex, which Google accepts as a client-chosen id), so a create that is
//!   retried, or repeated after a lost answer, finds the same event: Google
//!   answers `409` and flowcal updates the event instead.
//! - Google keeps deleted events as `status: "cancelled"` and refuses a new
//!   event with the same id; an entry created again after a delete restores the
//!   cancelled event (an update with `status: "confirmed"`).
//! - Updates are conditional (`If-Match` with the last etag); when someone else
//!   changed the event (`412`), flowcal reads it again and reapplies once. It
//!   does the same when Google refuses the update's `sequence` as below the
//!   event's own (`400`): a person moved the event, and flowcal holds that
//!   version's etag from reading the calendar back, but not its sequence.
//! - flowcal's own calendar is recognised by its description,
//!   [`OWN_CALENDAR_DESCRIPTION`].
//! - Changes are read with `events.list` and Google's sync tokens
//!   (`syncToken` / `nextSyncToken`, `showDeleted=true`): deleted events come
//!   as `cancelled`; a token Google no longer takes (`410`, `fullSyncRequired`)
//!   starts over with a complete listing.
//! - Push: `events.watch` opens a notification channel on a calendar (the
//!   `Channel` resource: flowcal's channel id, `type` `web_hook`, the https
//!   `address`, the secret as its `token`, `params.ttl` in seconds); Google
//!   answers its `resourceId` and `expiration`. A channel cannot be extended:
//!   a new one replaces it, and `channels.stop` ends the old one.

use crate::connector::{
    retry_after, transport_error, CalendarChanges, CalendarChoice, CalendarInfo, ChangedEntry, Connector,
    ConnectorError, Credential, Remote, RemoteEvent, Watch, WatchRequest,
};
use crate::event::{is_google_event_id, EventSpec, When};
use crate::provider::spec::{ConnectorFactory, Defaults, Provider, Purpose, Restriction};
use crate::AnyConnector;
use flowcal_connect::jwt::Issuer;
use flowcal_connect::oauth::ClientAuth;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, ETAG, IF_MATCH, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value as Json};
use std::time::Duration;

/// Google's API root (`rootUrl` of the discovery document).
pub const DEFAULT_BASE_URL: &str = "https://www.googleapis.com";

/// The description flowcal gives its own calendar; a calendar with this
/// description is flowcal's ([`CalendarInfo::own`]).
pub const OWN_CALENDAR_DESCRIPTION: &str = "Deadlines and dates from flowcal.";

/// At most this many calls go into one batch request; more go out as several.
pub const BATCH_LIMIT: usize = 50;

/// The private extended property that carries the entry's key.
pub const KEY_PROPERTY: &str = "flowcal";

/// `servicePath` of the discovery document, as path segments.
const SERVICE_PATH: [&str; 2] = ["calendar", "v3"];
/// `batchPath` of the discovery document, as path segments.
const BATCH_PATH: [&str; 3] = ["batch", "calendar", "v3"];
/// Google's largest reminder (4 weeks, in minutes).
const MAX_REMINDER_MINUTES: u32 = 40_320;
/// Page size asked for when listing calendars (Google's maximum).
const LIST_PAGE_SIZE: &str = "250";
/// Page size asked for when reading changes (`events.list`; Google's default,
/// a tenth of its maximum).
const EVENTS_PAGE_SIZE: &str = "250";
/// How long one request may take (a batch of 50 included).
const TIMEOUT: Duration = Duration::from_secs(60);
/// A guard against a service that never stops paging (the calendar list,
/// and one read of changes).
const MAX_PAGES: usize = 100;
/// Error reasons (`error.errors[].reason`) that mean "too much, slow down".
const RATE_REASONS: &[&str] = &["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "dailyLimitExceeded"];
/// Where Google's OAuth scopes for Calendar begin.
const SCOPE_PREFIX: &str = "https://www.googleapis.com/auth/calendar";
/// The scopes under which `calendarList.list` may be called (its `scopes` in
/// the discovery document). `calendar.app.created` is not one of them.
const LIST_SCOPES: &[&str] = &[
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.calendarlist",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
    "https://www.googleapis.com/auth/calendar.readonly",
];

/// A connector to one user's Google Calendar.
#[derive(Debug, Clone)]
pub struct GoogleCalendar {
    http: reqwest::Client,
    /// The API root (`api_base_url`; [`DEFAULT_BASE_URL`] for Google).
    base: Url,
    credential: Credential,
    /// The scopes the user granted (the token response's `scope`), when known.
    granted: Option<Vec<String>>,
}

/// An HTTP answer, read whole.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

/// How a conditional update went.
enum Put {
    Done(Remote),
    /// `412`: the etag is out of date; or `400` for a sequence below the
    /// event's own (it was moved at Google): read it again.
    Stale,
    /// `404` / `410`: there is no such event to update.
    Missing,
}

/// How one call of a batch went.
enum Inner {
    Done(Remote),
    /// `409`: an event with this id exists already.
    Duplicate,
    Failed(ConnectorError),
}

impl GoogleCalendar {
    /// A connector for the API at `base_url` (normally [`DEFAULT_BASE_URL`]),
    /// through `http`, the process's shared [`api_client`](crate::api_client).
    pub fn new(http: reqwest::Client, base_url: &str, credential: Credential) -> Result<Self, ConnectorError> {
        let mut base = Url::parse(base_url)
            .map_err(|e| ConnectorError::Permanent(format!("the API base URL {base_url:?} is not a URL: {e}")))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(ConnectorError::Permanent(format!("the API base URL {base_url:?} is not an http(s) URL")));
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(GoogleCalendar { http, base, credential, granted: None })
    }

    /// The scopes the user granted (space-separated, as the token response
    /// names them): calls they do not allow are not made.
    #[must_use]
    pub fn with_granted_scopes(mut self, scope: Option<&str>) -> Self {
        self.granted = scope.map(|s| s.split_whitespace().map(str::to_owned).collect());
        self
    }

    /// Whether the grant allows reading the calendar list. Unknown when the
    /// grant names no Calendar scope of Google's: then the call is tried.
    fn may_list_calendars(&self) -> bool {
        let Some(granted) = &self.granted else { return true };
        granted.iter().any(|s| LIST_SCOPES.contains(&s.as_str()))
            || !granted.iter().any(|s| s.starts_with(SCOPE_PREFIX))
    }

    /// `base` + `segments` (each one escaped as a single path segment).
    fn url<'a>(&self, prefix: &[&str], segments: impl IntoIterator<Item = &'a str>) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(prefix).extend(segments);
        }
        url
    }

    /// `{base}/calendar/v3/{segments…}`.
    fn api<'a>(&self, segments: impl IntoIterator<Item = &'a str>) -> Url {
        self.url(&SERVICE_PATH, segments)
    }

    fn events_url(&self, calendar: &str) -> Url {
        self.api(["calendars", calendar, "events"])
    }

    fn event_url(&self, calendar: &str, id: &str) -> Url {
        self.api(["calendars", calendar, "events", id])
    }

    async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<&Json>,
        if_match: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let mut req = self.credential.apply(self.http.request(method, url).timeout(TIMEOUT));
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(etag) = if_match {
            req = req.header(IF_MATCH, etag);
        }
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = crate::connector::read_answer(resp).await?;
        Ok(Answer { status, headers, body })
    }

    /// The user's calendar list entries, every page, with their `summary`.
    async fn calendar_list(&self) -> Result<Vec<(CalendarInfo, String)>, ConnectorError> {
        if !self.may_list_calendars() {
            return Err(ConnectorError::Permanent(
                "the access granted to flowcal does not include reading the calendar list (not allowed by \
                 the granted scopes): choose \"own\", flowcal's own calendar, or have the administrator add the \
                 scope calendar.calendarlist.readonly"
                    .into(),
            ));
        }
        let mut out = Vec::new();
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.api(["users", "me", "calendarList"]);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("maxResults", LIST_PAGE_SIZE);
                if let Some(p) = &page {
                    q.append_pair("pageToken", p);
                }
            }
            let a = self.send(Method::GET, url, None, None).await?;
            if !a.status.is_success() {
                return Err(classify(a.status, &a.headers, &a.body));
            }
            let list = parse_json(&a.body).await?;
            for entry in list["items"].as_array().into_iter().flatten() {
                if entry["deleted"].as_bool() == Some(true) {
                    continue;
                }
                let Some(id) = entry["id"].as_str() else { continue };
                let summary = entry["summary"].as_str().unwrap_or_default().to_owned();
                let name = entry["summaryOverride"].as_str().map(str::to_owned).unwrap_or_else(|| summary.clone());
                let own = entry["description"].as_str() == Some(OWN_CALENDAR_DESCRIPTION);
                out.push((CalendarInfo { id: id.to_owned(), name, own }, summary));
            }
            match list["nextPageToken"].as_str() {
                Some(next) if !next.is_empty() => page = Some(next.to_owned()),
                _ => return Ok(out),
            }
        }
        Err(ConnectorError::Permanent(format!("the calendar list did not end after {MAX_PAGES} pages")))
    }

    /// `events.insert`; `None` when an event with this id exists (`409`).
    async fn insert(&self, calendar: &str, ev: &EventSpec) -> Result<Option<Remote>, ConnectorError> {
        let body = event_body(ev, true, ev.sequence)?;
        let a = self.send(Method::POST, self.events_url(calendar), Some(&body), None).await?;
        match a.status {
            s if s.is_success() => Ok(Some(remote_of(&a, &ev.key).await?)),
            StatusCode::CONFLICT => Ok(None),
            s => Err(classify(s, &a.headers, &a.body)),
        }
    }

    /// `events.update`, conditional on `etag` when there is one.
    async fn update(
        &self,
        calendar: &str,
        ev: &EventSpec,
        etag: Option<&str>,
        sequence: u32,
    ) -> Result<Put, ConnectorError> {
        let body = event_body(ev, false, sequence)?;
        let a = self.send(Method::PUT, self.event_url(calendar, &ev.key), Some(&body), etag).await?;
        match a.status {
            s if s.is_success() => Ok(Put::Done(remote_of(&a, &ev.key).await?)),
            StatusCode::PRECONDITION_FAILED => Ok(Put::Stale),
            StatusCode::BAD_REQUEST if sequence_refused(&a.body) => Ok(Put::Stale),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(Put::Missing),
            s => Err(classify(s, &a.headers, &a.body)),
        }
    }

    /// `events.get`; `None` when there is no such event (or calendar).
    async fn fetch(&self, calendar: &str, id: &str) -> Result<Option<Json>, ConnectorError> {
        let a = self.send(Method::GET, self.event_url(calendar, id), None, None).await?;
        match a.status {
            s if s.is_success() => Ok(Some(parse_json(&a.body).await?)),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(None),
            s => Err(classify(s, &a.headers, &a.body)),
        }
    }

    /// Creates the event, or brings the existing one (perhaps cancelled) up to
    /// date: insert; on `409` read it and update it with its current etag.
    async fn create_or_restore(
        &self,
        calendar: &str,
        ev: &EventSpec,
        mut insert_first: bool,
    ) -> Result<Remote, ConnectorError> {
        for _ in 0..3 {
            if insert_first {
                if let Some(r) = self.insert(calendar, ev).await? {
                    return Ok(r);
                }
            }
            let Some(current) = self.fetch(calendar, &ev.key).await? else {
                insert_first = true;
                continue;
            };
            // Google refuses a sequence below the event's own (it may have grown
            // when someone else moved the event).
            let theirs = current["sequence"].as_u64().and_then(|s| u32::try_from(s).ok()).unwrap_or(0);
            match self.update(calendar, ev, current["etag"].as_str(), ev.sequence.max(theirs)).await? {
                Put::Done(r) => return Ok(r),
                Put::Stale => insert_first = false,
                Put::Missing => insert_first = true,
            }
        }
        Err(ConnectorError::RetryLater {
            after: None,
            message: "the event kept changing at Google while flowcal wrote it".into(),
        })
    }

    /// Creates all `events` in `calendar` with batch requests (at most
    /// [`BATCH_LIMIT`] calls each): one result per event, in order. An event
    /// that exists already (`409`) is brought up to date with single calls,
    /// as [`Connector::upsert_event`] does without a known etag.
    ///
    /// The outer error is for a first batch request that failed as a whole
    /// (nothing was done); when a later one fails as a whole, its events and
    /// those after it carry that error. An event refused for the credentials
    /// is one result among the others here; [`Connector::create_events`],
    /// which callers use, fails the whole call for it.
    async fn batch_upsert(
        &self,
        calendar: &str,
        events: &[EventSpec],
    ) -> Result<Vec<Result<Remote, ConnectorError>>, ConnectorError> {
        let mut out: Vec<Result<Remote, ConnectorError>> = Vec::with_capacity(events.len());
        for (n, chunk) in events.chunks(BATCH_LIMIT).enumerate() {
            let results = match self.batch_insert(calendar, chunk).await {
                Ok(r) => r,
                Err(e) if n == 0 => return Err(e),
                Err(e) => {
                    out.resize(events.len(), Err(e));
                    break;
                }
            };
            for (ev, r) in chunk.iter().zip(results) {
                out.push(match r {
                    Inner::Done(remote) => Ok(remote),
                    Inner::Duplicate => self.create_or_restore(calendar, ev, false).await,
                    Inner::Failed(e) => Err(e),
                });
            }
        }
        Ok(out)
    }

    /// One batch request of `events.insert` calls; one result per event.
    async fn batch_insert(&self, calendar: &str, events: &[EventSpec]) -> Result<Vec<Inner>, ConnectorError> {
        let mut results: Vec<Option<Inner>> = Vec::with_capacity(events.len());
        let nonce = hex::encode(rand::random::<[u8; 12]>());
        let boundary = format!("flowcal_batch_{nonce}");
        let path = self.events_url(calendar).path().to_owned();
        let mut body = String::new();
        let mut sent = 0usize;
        for (i, ev) in events.iter().enumerate() {
            let json = match check_key(ev).and_then(|()| event_body(ev, true, ev.sequence)) {
                Ok(j) => j.to_string(),
                Err(e) => {
                    results.push(Some(Inner::Failed(e)));
                    continue;
                }
            };
            results.push(None);
            sent += 1;
            body.push_str(&format!(
                "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{nonce}+{i}>\r\n\r\n\
                 POST {path} HTTP/1.1\r\nContent-Type: application/json; charset=UTF-8\r\n\
                 Content-Length: {}\r\n\r\n{json}\r\n",
                json.len()
            ));
        }
        if sent == 0 {
            return Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Inner::Failed(no_answer()))).collect());
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let url = self.url(&BATCH_PATH, []);
        let req = self
            .credential
            .apply(self.http.post(url).timeout(TIMEOUT))
            .header(CONTENT_TYPE, format!("multipart/mixed; boundary={boundary}"))
            .body(body);
        let resp = req.send().await.map_err(|e| transport_error(&e))?;
        let (status, headers) = (resp.status(), resp.headers().clone());
        let text = crate::connector::read_answer(resp).await?;
        if !status.is_success() {
            return Err(classify(status, &headers, &text));
        }
        let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
        let answer_boundary = boundary_of(content_type).ok_or_else(|| {
            ConnectorError::Permanent(format!("the batch answer is not multipart/mixed ({content_type:?})"))
        })?;
        let waiting: Vec<usize> = (0..results.len()).filter(|&i| results[i].is_none()).collect();
        let keys: Vec<String> = events.iter().map(|e| e.key.clone()).collect();
        let answers = crate::connector::parse_off_thread(&text, move |text| {
            let mut answers = Vec::new();
            for (pos, part) in split_multipart(text, &answer_boundary).into_iter().enumerate() {
                let (part_headers, inner) = split_head(part);
                // `Content-ID: <response-{nonce}+{i}>`; by position when absent.
                let index = header(&part_headers, "content-id")
                    .and_then(|id| id.trim().trim_start_matches('<').trim_end_matches('>').rsplit_once('+'))
                    .and_then(|(_, i)| i.parse::<usize>().ok())
                    .or_else(|| waiting.get(pos).copied());
                let Some(i) = index.filter(|&i| i < keys.len()) else { continue };
                answers.push((i, inner_result(inner, &keys[i])));
            }
            answers
        })
        .await;
        for (i, inner) in answers {
            if results[i].is_none() {
                results[i] = Some(inner);
            }
        }
        Ok(results.into_iter().map(|r| r.unwrap_or_else(|| Inner::Failed(no_answer()))).collect())
    }

    /// What changed in `calendar` since `token` (none: everything there):
    /// `events.list` with `showDeleted=true` (deleted events come as
    /// `cancelled`) and the sync token, page by page (`pageToken`, the same
    /// query each time, as Google asks) up to [`MAX_PAGES`]; the last page's
    /// `nextSyncToken` is the next read's token. A token Google no longer
    /// takes (`410 Gone`, `fullSyncRequired`) starts over without one, with a
    /// complete listing. Only events whose id is a key of flowcal's are
    /// listed (flowcal sets the id to the key). The token goes with no other
    /// filter (`timeMin` and the like cannot be combined with it).
    async fn read_changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        let mut out = CalendarChanges { complete: token.is_none(), ..CalendarChanges::default() };
        let mut token = token.map(str::to_owned);
        let mut page: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut url = self.events_url(calendar);
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("maxResults", EVENTS_PAGE_SIZE);
                q.append_pair("showDeleted", "true");
                if let Some(t) = &token {
                    q.append_pair("syncToken", t);
                }
                if let Some(p) = &page {
                    q.append_pair("pageToken", p);
                }
            }
            let a = self.send(Method::GET, url, None, None).await?;
            match a.status {
                s if s.is_success() => {}
                StatusCode::GONE if token.is_some() => {
                    tracing::info!(calendar, "google: the sync token is no longer valid; reading all");
                    token = None;
                    page = None;
                    out = CalendarChanges { complete: true, ..CalendarChanges::default() };
                    continue;
                }
                s => return Err(classify(s, &a.headers, &a.body)),
            }
            let list = parse_json(&a.body).await?;
            let (next_page, next_sync) = changes_page(&list, &mut out);
            match (next_page, next_sync) {
                (Some(p), _) => page = Some(p),
                (None, Some(t)) => {
                    out.token = Some(t);
                    return Ok(out);
                }
                (None, None) => return Err(unreadable("a last page of events without a nextSyncToken")),
            }
        }
        Err(ConnectorError::RetryLater {
            after: None,
            message: format!("the calendar {calendar} answered more than {MAX_PAGES} pages of changes"),
        })
    }
}

impl Connector for GoogleCalendar {
    async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError> {
        Ok(self.calendar_list().await?.into_iter().map(|(info, _)| info).collect())
    }

    async fn ensure_calendar(&self, choice: &CalendarChoice) -> Result<CalendarInfo, ConnectorError> {
        match choice {
            CalendarChoice::Own { name } => {
                // With the least scope (calendar.app.created) the calendar list
                // may not be read: then the calendar is created (without asking
                // for the list when the grant is known), and the caller keeps
                // its id to find it again.
                let listed = match self.calendar_list().await {
                    Ok(list) => list,
                    Err(ConnectorError::Permanent(m)) if m.contains("granted scopes") => Vec::new(),
                    Err(e) => return Err(e),
                };
                if let Some((info, _)) = listed.into_iter().find(|(info, summary)| info.own && summary == name) {
                    return Ok(info);
                }
                let body = json!({"summary": name, "description": OWN_CALENDAR_DESCRIPTION});
                let a = self.send(Method::POST, self.api(["calendars"]), Some(&body), None).await?;
                if !a.status.is_success() {
                    return Err(classify(a.status, &a.headers, &a.body));
                }
                let cal = parse_json(&a.body).await?;
                let id = cal["id"].as_str().ok_or_else(|| unreadable("a new calendar without an id"))?;
                Ok(CalendarInfo { id: id.to_owned(), name: name.clone(), own: true })
            }
            CalendarChoice::Existing { id } => {
                let a = self.send(Method::GET, self.api(["calendars", id.as_str()]), None, None).await?;
                if !a.status.is_success() {
                    return Err(classify(a.status, &a.headers, &a.body));
                }
                let cal = parse_json(&a.body).await?;
                Ok(CalendarInfo {
                    id: cal["id"].as_str().unwrap_or(id).to_owned(),
                    name: cal["summary"].as_str().unwrap_or_default().to_owned(),
                    own: cal["description"].as_str() == Some(OWN_CALENDAR_DESCRIPTION),
                })
            }
        }
    }

    async fn upsert_event(
        &self,
        calendar: &str,
        event: &EventSpec,
        known: Option<&Remote>,
    ) -> Result<Remote, ConnectorError> {
        check_key(event)?;
        let Some(known) = known else { return self.create_or_restore(calendar, event, true).await };
        // Without an etag the update could not be conditional: read the event
        // first (its etag and sequence), as after a 412.
        if known.etag.is_none() {
            return self.create_or_restore(calendar, event, false).await;
        }
        match self.update(calendar, event, known.etag.as_deref(), event.sequence).await? {
            Put::Done(r) => Ok(r),
            // Someone else changed it: read it again and reapply.
            Put::Stale => self.create_or_restore(calendar, event, false).await,
            Put::Missing => self.create_or_restore(calendar, event, true).await,
        }
    }

    async fn get_event(
        &self,
        calendar: &str,
        key: &str,
        _known: Option<&Remote>,
    ) -> Result<Option<RemoteEvent>, ConnectorError> {
        if !is_google_event_id(key) {
            return Ok(None);
        }
        match self.fetch(calendar, key).await? {
            Some(ev) => remote_event(&ev, key),
            None => Ok(None),
        }
    }

    async fn delete_event(&self, calendar: &str, key: &str, _known: Option<&Remote>) -> Result<(), ConnectorError> {
        if !is_google_event_id(key) {
            return Ok(());
        }
        let a = self.send(Method::DELETE, self.event_url(calendar, key), None, None).await?;
        match a.status {
            s if s.is_success() => Ok(()),
            // Gone already (Google answers 410 for an event deleted before).
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(()),
            s => Err(classify(s, &a.headers, &a.body)),
        }
    }

    /// In batch requests of [`BATCH_LIMIT`] inserts ([`batch_upsert`](Self::batch_upsert)).
    async fn create_events(
        &self,
        calendar: &str,
        entries: &[EventSpec],
    ) -> Result<Vec<Result<Remote, ConnectorError>>, ConnectorError> {
        crate::connector::refused_as_a_whole(self.batch_upsert(calendar, entries).await?)
    }

    fn batch_size(&self) -> usize {
        BATCH_LIMIT
    }

    /// By sync token ([`read_changes`](Self::read_changes)).
    async fn changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        self.read_changes(calendar, token).await
    }

    /// `events.watch`: a channel of the calendar's events, with flowcal's id
    /// and secret (the channel's `token`), for `ttl` (Google may give less).
    async fn watch(&self, calendar: &str, request: &WatchRequest<'_>) -> Result<Option<Watch>, ConnectorError> {
        let body = channel_body(request);
        let a =
            self.send(Method::POST, self.api(["calendars", calendar, "events", "watch"]), Some(&body), None).await?;
        if !a.status.is_success() {
            return Err(classify(a.status, &a.headers, &a.body));
        }
        watch_of(&parse_json(&a.body).await?, request, jiff::Timestamp::now()).map(Some)
    }

    /// Google channels cannot be extended: `None`, a new one is started.
    async fn renew_watch(&self, _watch: &Watch, _ttl: Duration) -> Result<Option<Watch>, ConnectorError> {
        Ok(None)
    }

    /// `channels.stop` (the channel id and its `resourceId`); one Google no
    /// longer knows (`404`) is stopped already.
    async fn unwatch(&self, watch: &Watch) -> Result<(), ConnectorError> {
        let Some(resource) = watch.resource_id.as_deref() else {
            return Err(ConnectorError::Permanent(format!(
                "the channel {} cannot be stopped without its resourceId; it ends by itself",
                watch.id
            )));
        };
        let body = json!({"id": watch.id, "resourceId": resource});
        let a = self.send(Method::POST, self.api(["channels", "stop"]), Some(&body), None).await?;
        match a.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(()),
            s => Err(classify(s, &a.headers, &a.body)),
        }
    }
}

// ---- request bodies -------------------------------------------------------------------------

fn check_key(ev: &EventSpec) -> Result<(), ConnectorError> {
    if is_google_event_id(&ev.key) {
        Ok(())
    } else {
        Err(ConnectorError::Permanent(format!("{:?} is not a valid Google Calendar event id", ev.key)))
    }
}

/// `EventDateTime` for an instant shown in `zone` (UTC when Google would not know the zone).
fn date_time(at: jiff::Timestamp, zone: &str) -> Json {
    let (tz, name) = match jiff::tz::TimeZone::get(zone) {
        Ok(tz) => (tz, zone),
        Err(_) => (jiff::tz::TimeZone::UTC, "UTC"),
    };
    json!({"dateTime": at.display_with_offset(tz.to_offset(at)).to_string(), "timeZone": name})
}

/// The Event resource flowcal writes (`events.insert` with `id`, `events.update` without).
fn event_body(ev: &EventSpec, with_id: bool, sequence: u32) -> Result<Json, ConnectorError> {
    let (start, end) = match &ev.when {
        When::Date(d) => {
            let end = ev.end_date().ok_or_else(|| ConnectorError::Permanent(format!("no day follows {d}")))?;
            (json!({"date": d.to_string()}), json!({"date": end.to_string()}))
        }
        When::At { at, zone } => {
            let end = ev.end().ok_or_else(|| ConnectorError::Permanent(format!("{at} + duration is out of range")))?;
            (date_time(*at, zone), date_time(end, zone))
        }
    };
    let overrides: Vec<Json> = ev
        .reminder_minutes
        .map(|m| json!({"method": "popup", "minutes": m.min(MAX_REMINDER_MINUTES)}))
        .into_iter()
        .collect();
    let mut body = json!({
        "summary": ev.title,
        "description": ev.description,
        "start": start,
        "end": end,
        "transparency": if ev.transparent { "transparent" } else { "opaque" },
        "reminders": {"useDefault": false, "overrides": overrides},
        "sequence": sequence.min(i32::MAX as u32),
        "extendedProperties": {"private": {KEY_PROPERTY: ev.key}},
        "status": "confirmed",
    });
    // Google takes only http(s) source links.
    if let Some(url) = ev.url.as_deref().filter(|u| u.starts_with("https://") || u.starts_with("http://")) {
        body["source"] = json!({"title": ev.title, "url": url});
    }
    if with_id {
        body["id"] = json!(ev.key);
    }
    Ok(body)
}

/// The `Channel` resource `events.watch` takes: flowcal's channel id, a web
/// hook to the https address, the secret as the channel's token, and the
/// time to live in seconds (`params.ttl`, a string).
fn channel_body(request: &WatchRequest<'_>) -> Json {
    json!({
        "id": request.id,
        "type": "web_hook",
        "address": request.address,
        "token": request.secret,
        "params": {"ttl": request.ttl.as_secs().to_string()},
    })
}

// ---- answers --------------------------------------------------------------------------------

/// The channel `events.watch` answered: its id (flowcal's), the `resourceId`
/// needed to stop it, and when it ends (`expiration`, milliseconds since the
/// epoch, as a string; a number is read too). Without an expiration it ends
/// when it was asked to, `ttl` after `now`.
fn watch_of(channel: &Json, request: &WatchRequest<'_>, now: jiff::Timestamp) -> Result<Watch, ConnectorError> {
    let resource_id = channel["resourceId"]
        .as_str()
        .filter(|r| !r.is_empty())
        .ok_or_else(|| unreadable("a channel without a resourceId"))?;
    let expiration = match &channel["expiration"] {
        Json::Null => None,
        Json::String(ms) => Some(ms.trim().parse::<i64>().ok()),
        Json::Number(ms) => Some(ms.as_i64()),
        _ => Some(None),
    };
    let expires_at = match expiration {
        Some(Some(ms)) => jiff::Timestamp::from_millisecond(ms)
            .map_err(|e| unreadable(&format!("a channel expiration out of range ({e})")))?,
        Some(None) => return Err(unreadable(&format!("a channel expiration {}", channel["expiration"]))),
        None => jiff::SignedDuration::try_from(request.ttl)
            .ok()
            .and_then(|d| now.checked_add(d).ok())
            .unwrap_or(jiff::Timestamp::MAX),
    };
    let id = channel["id"].as_str().filter(|i| !i.is_empty()).unwrap_or(request.id).to_owned();
    Ok(Watch { id, resource_id: Some(resource_id.to_owned()), expires_at })
}

fn unreadable(what: &str) -> ConnectorError {
    ConnectorError::Permanent(format!("unreadable answer from Google Calendar: {what}"))
}

fn no_answer() -> ConnectorError {
    ConnectorError::RetryLater { after: None, message: "the batch answer had no part for this call".into() }
}

/// A JSON answer, parsed off the async workers when large.
async fn parse_json(body: &str) -> Result<Json, ConnectorError> {
    crate::connector::parse_off_thread(body, json_of).await
}

fn json_of(body: &str) -> Result<Json, ConnectorError> {
    serde_json::from_str(body).map_err(|e| unreadable(&format!("not JSON ({e})")))
}

/// Where a written event is now: its id and new etag.
async fn remote_of(a: &Answer, key: &str) -> Result<Remote, ConnectorError> {
    Ok(remote_from(&parse_json(&a.body).await?, a.headers.get(ETAG).and_then(|v| v.to_str().ok()), key))
}

fn remote_from(ev: &Json, etag_header: Option<&str>, key: &str) -> Remote {
    let id = ev["id"].as_str().unwrap_or(key).to_owned();
    let etag = ev["etag"].as_str().or(etag_header).map(str::to_owned);
    Remote { id, etag }
}

fn event_time(t: &Json) -> Option<Result<jiff::civil::Date, jiff::Timestamp>> {
    if let Some(d) = t["date"].as_str() {
        return d.parse().ok().map(Ok);
    }
    t["dateTime"].as_str().and_then(|s| s.parse().ok()).map(Err)
}

/// An Event resource as flowcal reads it back.
fn remote_event(ev: &Json, key: &str) -> Result<Option<RemoteEvent>, ConnectorError> {
    let cancelled = ev["status"].as_str() == Some("cancelled");
    let (when, end) = match (event_time(&ev["start"]), event_time(&ev["end"])) {
        (Some(Ok(d)), Some(Ok(e))) => (When::Date(d), e.to_string()),
        (Some(Err(at)), Some(Err(e))) => {
            let zone = ev["start"]["timeZone"].as_str().unwrap_or("UTC").to_owned();
            (When::At { at, zone }, e.to_string())
        }
        // A deleted event need not carry its times.
        _ if cancelled => return Ok(None),
        _ => return Err(unreadable(&format!("event {key} has no usable start and end"))),
    };
    Ok(Some(RemoteEvent {
        remote: remote_from(ev, None, key),
        title: ev["summary"].as_str().unwrap_or_default().to_owned(),
        description: ev["description"].as_str().unwrap_or_default().to_owned(),
        when,
        end,
        cancelled,
    }))
}

/// One page of `events.list` (an Events resource) into `out`: flowcal's
/// events (ids that are keys) as changed, or, cancelled, as deleted. Its
/// `nextPageToken` and `nextSyncToken`.
fn changes_page(list: &Json, out: &mut CalendarChanges) -> (Option<String>, Option<String>) {
    for ev in list["items"].as_array().into_iter().flatten() {
        let Some(id) = ev["id"].as_str().filter(|id| flowcal_domain::export::is_event_key(id)) else { continue };
        if ev["status"].as_str() == Some("cancelled") {
            out.deleted.push(id.to_owned());
            continue;
        }
        let start = match event_time(&ev["start"]) {
            Some(Ok(d)) => Some(When::Date(d)),
            Some(Err(at)) => Some(When::At { at, zone: ev["start"]["timeZone"].as_str().unwrap_or("UTC").to_owned() }),
            // Read the event to know.
            None => None,
        };
        let etag = ev["etag"].as_str().map(str::to_owned);
        out.changed.push(ChangedEntry { id: id.to_owned(), etag, start });
    }
    let token = |k: &str| list[k].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
    (token("nextPageToken"), token("nextSyncToken"))
}

/// Whether a `400` refuses the update's `sequence` ("Invalid sequence value.
/// The specified sequence number is below the current sequence number of
/// the resource."): the event changed at Google since flowcal read its
/// sequence.
fn sequence_refused(body: &str) -> bool {
    let err = error_of(body);
    let messages =
        std::iter::once(&err["message"]).chain(err["errors"].as_array().into_iter().flatten().map(|e| &e["message"]));
    messages.filter_map(Json::as_str).any(|m| m.to_ascii_lowercase().contains("sequence"))
}

/// Google's error object in a failed answer. Google's are small; a larger
/// one is not read as JSON (it would be parsed on the async worker).
fn error_of(body: &str) -> Json {
    const MAX_ERROR_JSON: usize = 64 << 10;
    if body.len() > MAX_ERROR_JSON {
        return Json::Null;
    }
    serde_json::from_str::<Json>(body).ok().map(|j| j["error"].clone()).unwrap_or(Json::Null)
}

/// Classifies a failed answer from status and Google's error JSON
/// (`{"error": {"code", "message", "errors": [{"domain", "reason", "message"}]}}`).
fn classify(status: StatusCode, headers: &HeaderMap, body: &str) -> ConnectorError {
    let err = error_of(body);
    let reasons: Vec<&str> =
        err["errors"].as_array().into_iter().flatten().filter_map(|e| e["reason"].as_str()).collect();
    let text = match err["message"].as_str().or_else(|| err.as_str()) {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ if err.is_null() && !body.trim().is_empty() && !body.trim_start().starts_with('{') => {
            body.trim().chars().take(200).collect()
        }
        _ => status.canonical_reason().unwrap_or("error").to_owned(),
    };
    let reason = reasons.first().map(|r| format!(" ({r})")).unwrap_or_default();
    let message = format!("HTTP {}{reason}: {text}", status.as_u16());
    let insufficient_scope = reasons.contains(&"insufficientPermissions")
        || headers
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("insufficient_scope"));
    match status.as_u16() {
        401 => ConnectorError::Unauthorized(message),
        403 if reasons.iter().any(|r| RATE_REASONS.contains(r)) => {
            ConnectorError::RetryLater { after: retry_after(headers), message }
        }
        // The grant lacks a scope: the token is fine (refreshing would not
        // help); this call is not allowed with the access the user granted.
        403 if insufficient_scope => {
            ConnectorError::Permanent(format!("{message} (not allowed by the granted scopes)"))
        }
        429 | 500..=599 => ConnectorError::RetryLater { after: retry_after(headers), message },
        404 | 410 => ConnectorError::Gone(message),
        _ => ConnectorError::Permanent(message),
    }
}

// ---- multipart/mixed (batch) ----------------------------------------------------------------

/// The `boundary` parameter of a `multipart/mixed` content type.
fn boundary_of(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    if !params.next()?.trim().eq_ignore_ascii_case("multipart/mixed") {
        return None;
    }
    params
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case("boundary").then(|| v.trim().trim_matches('"').to_owned())
        })
        .filter(|b| !b.is_empty())
}

/// The bodies of the parts of a multipart entity (RFC 2046 §5.1): between
/// delimiter lines `--boundary`, up to the close delimiter `--boundary--`.
fn split_multipart<'a>(body: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    // A delimiter starts a line.
    let find = |from: usize| -> Option<usize> {
        let mut at = from;
        while let Some(i) = body.get(at..)?.find(&delimiter) {
            let pos = at + i;
            if pos == 0 || body.as_bytes()[pos - 1] == b'\n' {
                return Some(pos);
            }
            at = pos + delimiter.len();
        }
        None
    };
    let mut parts = Vec::new();
    let Some(mut pos) = find(0) else { return parts };
    loop {
        let after = pos + delimiter.len();
        if body[after..].starts_with("--") {
            break;
        }
        let Some(eol) = body[after..].find('\n') else { break };
        let start = after + eol + 1;
        match find(start) {
            Some(next) => {
                let content = &body[start..next];
                let content = content.strip_suffix("\r\n").or_else(|| content.strip_suffix('\n')).unwrap_or(content);
                parts.push(content);
                pos = next;
            }
            None => {
                parts.push(&body[start..]);
                break;
            }
        }
    }
    parts
}

/// Header lines (up to the first empty line) and what follows.
fn split_head(text: &str) -> (Vec<(String, String)>, &str) {
    let mut headers = Vec::new();
    let mut rest = text;
    loop {
        let (line, next) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let line = line.strip_suffix('\r').unwrap_or(line);
        rest = next;
        if line.is_empty() {
            return (headers, rest);
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
        if rest.is_empty() {
            return (headers, rest);
        }
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// One inner answer of a batch (`HTTP/1.1 200 OK`, headers, body), classified.
fn inner_result(inner: &str, key: &str) -> Inner {
    let inner = inner.trim_start_matches(['\r', '\n']);
    let (status_line, rest) = inner.split_once('\n').unwrap_or((inner, ""));
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .and_then(|s| StatusCode::from_u16(s).ok());
    let Some(status) = status else {
        return Inner::Failed(unreadable(&format!("batch part without a status line: {status_line:?}")));
    };
    let (head, body) = split_head(rest);
    let mut headers = HeaderMap::new();
    for (k, v) in &head {
        if let (Ok(k), Ok(v)) = (HeaderName::try_from(k.as_str()), HeaderValue::from_str(v)) {
            headers.append(k, v);
        }
    }
    let body = body.trim_end();
    match status {
        s if s.is_success() => match json_of(body) {
            Ok(j) => Inner::Done(remote_from(&j, header(&head, "etag"), key)),
            Err(e) => Inner::Failed(e),
        },
        StatusCode::CONFLICT => Inner::Duplicate,
        s => Inner::Failed(classify(s, &headers, body)),
    }
}

// ---- the provider kind `google` ---------------------------------------------------------------

/// The OAuth provider kind `google`: Google's OpenID endpoints, the least
/// Calendar scope (`calendar.app.created`), Workspace domains as the restriction.
pub struct Google;

/// The issuer Google's older ID tokens name (without the scheme).
const BARE_ISSUER: &str = "accounts.google.com";

impl Provider for Google {
    fn name(&self) -> &'static str {
        "google"
    }

    fn label(&self) -> &'static str {
        "Google"
    }

    fn defaults(&self, _r: &Restriction<'_>) -> Defaults {
        Defaults {
            issuer: Some("https://accounts.google.com".into()),
            authorization_endpoint: Some("https://accounts.google.com/o/oauth2/v2/auth".into()),
            token_endpoint: Some("https://oauth2.googleapis.com/token".into()),
            revocation_endpoint: Some("https://oauth2.googleapis.com/revoke".into()),
            jwks_uri: Some("https://www.googleapis.com/oauth2/v3/certs".into()),
            scopes: &["openid", "email", "https://www.googleapis.com/auth/calendar.app.created"],
            client_auth: ClientAuth::ClientSecretPost,
        }
    }

    fn authorization_params(&self, purpose: Purpose, r: &Restriction<'_>, _scopes: &[String]) -> Vec<(String, String)> {
        let mut extra = Vec::new();
        if purpose == Purpose::Connect {
            // Google issues a refresh token only offline, and again only with consent.
            extra.push(("access_type".to_owned(), "offline".to_owned()));
            extra.push(("prompt".to_owned(), "consent".to_owned()));
            extra.push(("include_granted_scopes".to_owned(), "true".to_owned()));
        }
        // Only a hint for the account chooser: the ID token's `hd` is what is checked.
        let hd = match r.allowed_domains {
            [] => None,
            [one] => Some(one.clone()),
            _ => Some("*".to_owned()),
        };
        if let Some(hd) = hd {
            extra.push(("hd".to_owned(), hd));
        }
        extra
    }

    fn id_token_issuers(&self, issuer: &str) -> Vec<Issuer> {
        vec![Issuer::Exact(issuer.to_owned()), Issuer::Exact(BARE_ISSUER.to_owned())]
    }

    fn open_to_all(&self, r: &Restriction<'_>) -> Option<&'static str> {
        r.allowed_domains.is_empty().then_some("allowed_domains")
    }

    fn calendar_api(&self) -> Option<ConnectorFactory> {
        Some(|a| {
            // What the user granted decides which calls are made (with
            // calendar.app.created, not the calendar list).
            Ok(AnyConnector::Google(
                GoogleCalendar::new(a.http, a.base_url.unwrap_or(DEFAULT_BASE_URL), a.credential)?
                    .with_granted_scopes(a.granted_scopes),
            ))
        })
    }

    /// Google's event page (`eid`: the event id and the calendar id, base64url).
    fn event_link(&self, remote_id: &str, calendar: &str) -> Option<String> {
        use base64::Engine as _;
        let eid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{remote_id} {calendar}"));
        Some(format!("https://calendar.google.com/calendar/event?eid={eid}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::event::{event_key, DEFAULT_DURATION_MINUTES};

    fn spec(when: When) -> EventSpec {
        EventSpec {
            key: event_key(1, "task:1:deadline"),
            title: "Approve".into(),
            description: "d".into(),
            url: Some("https://flowcal.example/tasks/1".into()),
            when,
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 3,
            stamp: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn all_day_bodies_use_dates_with_an_exclusive_end() {
        let b = event_body(&spec(When::Date("2026-12-31".parse().unwrap())), true, 3).unwrap();
        assert_eq!(b["start"], json!({"date": "2026-12-31"}));
        assert_eq!(b["end"], json!({"date": "2027-01-01"}));
        assert_eq!(b["reminders"], json!({"useDefault": false, "overrides": []}));
        assert_eq!(b["transparency"], "transparent");
        assert_eq!(b["id"], json!(event_key(1, "task:1:deadline")));
        assert_eq!(b["extendedProperties"]["private"]["flowcal"], b["id"]);
        assert_eq!(b["source"]["url"], "https://flowcal.example/tasks/1");
        assert_eq!(b["sequence"], 3);
        let b = event_body(&spec(When::Date("2026-12-31".parse().unwrap())), false, 4).unwrap();
        assert!(b.get("id").is_none());
        assert_eq!(b["sequence"], 4);
    }

    #[test]
    fn timed_bodies_carry_the_zone_offset() {
        let mut s = spec(When::At { at: "2026-10-25T00:30:00Z".parse().unwrap(), zone: "Europe/Berlin".into() });
        s.reminder_minutes = Some(50_000);
        s.transparent = false;
        s.url = Some("mailto:x@example.com".into());
        let b = event_body(&s, true, 0).unwrap();
        assert_eq!(b["start"], json!({"dateTime": "2026-10-25T02:30:00+02:00", "timeZone": "Europe/Berlin"}));
        // Past the change back to winter time.
        assert_eq!(b["end"], json!({"dateTime": "2026-10-25T02:00:00+01:00", "timeZone": "Europe/Berlin"}));
        assert_eq!(b["reminders"]["overrides"], json!([{"method": "popup", "minutes": 40_320}]));
        assert_eq!(b["transparency"], "opaque");
        assert!(b.get("source").is_none(), "only http(s) sources");
        let s = spec(When::At { at: "2026-10-25T00:30:00Z".parse().unwrap(), zone: "Nowhere/Land".into() });
        assert_eq!(event_body(&s, true, 0).unwrap()["start"]["timeZone"], "UTC");
    }

    #[test]
    fn events_read_back() {
        let ev = json!({"id": "abcde", "etag": "\"7\"", "status": "confirmed", "summary": "S",
            "start": {"dateTime": "2026-10-25T02:30:00+02:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-10-25T02:00:00+01:00", "timeZone": "Europe/Berlin"}});
        let r = remote_event(&ev, "abcde").unwrap().unwrap();
        assert_eq!(r.when, When::At { at: "2026-10-25T00:30:00Z".parse().unwrap(), zone: "Europe/Berlin".into() });
        assert_eq!(r.end, "2026-10-25T01:00:00Z");
        assert_eq!(r.remote, Remote { id: "abcde".into(), etag: Some("\"7\"".into()) });
        assert!(!r.cancelled);
        assert_eq!(remote_event(&json!({"id": "abcde", "status": "cancelled"}), "abcde").unwrap(), None);
        assert!(remote_event(&json!({"id": "abcde"}), "abcde").is_err());
    }

    #[test]
    fn only_flowcal_keys_are_read_as_changes() {
        let (a, b, c, d) = (
            event_key(1, "task:1:deadline"),
            event_key(1, "task:2:deadline"),
            event_key(1, "task:3:deadline"),
            event_key(1, "task:4:deadline"),
        );
        let list = json!({"kind": "calendar#events", "items": [
            {"id": a, "etag": "\"1\"", "status": "confirmed", "start": {"date": "2026-05-04"}},
            // Someone else's events: a valid Google id, but not a key; and a
            // recurring event's instance.
            {"id": "abcde12345", "etag": "\"2\"", "status": "confirmed", "start": {"date": "2026-05-04"}},
            {"id": "0123456789abcdefghijklmnopqrstuv_20260504", "status": "confirmed", "start": {"date": "2026-05-04"}},
            {"id": "abcde67890", "status": "cancelled"},
            {"id": b, "status": "cancelled"},
            {"id": c, "etag": "\"3\"", "status": "confirmed",
                "start": {"dateTime": "2026-05-04T10:00:00+02:00", "timeZone": "Europe/Berlin"}},
            // Without a readable start: read the event to know.
            {"id": d, "etag": "\"4\"", "start": {"dateTime": "soon"}},
        ], "nextPageToken": "p2"});
        let mut out = CalendarChanges::default();
        assert_eq!(changes_page(&list, &mut out), (Some("p2".into()), None));
        assert_eq!(
            out.changed,
            vec![
                ChangedEntry {
                    id: a,
                    etag: Some("\"1\"".into()),
                    start: Some(When::Date("2026-05-04".parse().unwrap()))
                },
                ChangedEntry {
                    id: c,
                    etag: Some("\"3\"".into()),
                    start: Some(When::At { at: "2026-05-04T08:00:00Z".parse().unwrap(), zone: "Europe/Berlin".into() })
                },
                ChangedEntry { id: d, etag: Some("\"4\"".into()), start: None },
            ]
        );
        assert_eq!(out.deleted, vec![b]);
        let last = json!({"items": [], "nextSyncToken": "s1"});
        assert_eq!(changes_page(&last, &mut out), (None, Some("s1".into())));
        assert_eq!(changes_page(&json!({"nextPageToken": ""}), &mut out), (None, None));
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::try_from(*k).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn google_error(code: u16, reason: &str, message: &str) -> String {
        json!({"error": {"code": code, "message": message,
            "errors": [{"domain": "global", "reason": reason, "message": message}]}})
        .to_string()
    }

    #[test]
    fn errors_are_classified() {
        let none = HeaderMap::new();
        let wait = headers(&[("retry-after", "7")]);
        let s = |c| StatusCode::from_u16(c).unwrap();
        assert!(matches!(classify(s(401), &none, &google_error(401, "authError", "Invalid Credentials")),
            ConnectorError::Unauthorized(m) if m.contains("Invalid Credentials")));
        for reason in ["rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"] {
            assert_eq!(
                classify(s(403), &wait, &google_error(403, reason, "slow down")),
                ConnectorError::RetryLater {
                    after: Some(Duration::from_secs(7)),
                    message: format!("HTTP 403 ({reason}): slow down")
                }
            );
        }
        assert!(
            matches!(classify(s(429), &wait, ""), ConnectorError::RetryLater { after: Some(d), .. } if d.as_secs() == 7)
        );
        assert!(matches!(classify(s(503), &none, "<html>oops</html>"),
            ConnectorError::RetryLater { after: None, message } if message.contains("oops")));
        assert!(matches!(
            classify(s(403), &none, &google_error(403, "insufficientPermissions", "scopes")),
            ConnectorError::Permanent(m) if m.contains("granted scopes")
        ));
        assert!(matches!(
            classify(s(403), &none, &google_error(403, "forbiddenForNonOrganizer", "no")),
            ConnectorError::Permanent(_)
        ));
        assert!(matches!(
            classify(s(404), &none, &google_error(404, "notFound", "Not Found")),
            ConnectorError::Gone(_)
        ));
        assert!(matches!(classify(s(400), &none, &google_error(400, "invalid", "Bad id")),
            ConnectorError::Permanent(m) if m == "HTTP 400 (invalid): Bad id"));
    }

    #[test]
    fn a_refused_sequence_is_told_from_other_bad_requests() {
        let refused = google_error(
            400,
            "invalid",
            "Invalid sequence value. The specified sequence number is below the current sequence number of the resource.",
        );
        assert!(sequence_refused(&refused));
        assert!(!sequence_refused(&google_error(400, "invalid", "Bad id")));
        assert!(!sequence_refused("<html>Bad Request</html>"));
    }

    #[test]
    fn urls_escape_segments() {
        let g = GoogleCalendar::new(
            crate::api_client().unwrap(),
            "http://127.0.0.1:9/prefix/",
            Credential::Bearer("t".into()),
        )
        .unwrap();
        assert_eq!(
            g.event_url("a/b@group.calendar.google.com", "abcde").as_str(),
            "http://127.0.0.1:9/prefix/calendar/v3/calendars/a%2Fb@group.calendar.google.com/events/abcde"
        );
        assert_eq!(g.url(&BATCH_PATH, []).as_str(), "http://127.0.0.1:9/prefix/batch/calendar/v3");
        let g = GoogleCalendar::new(crate::api_client().unwrap(), DEFAULT_BASE_URL, Credential::Bearer("t".into()))
            .unwrap();
        assert_eq!(
            g.api(["users", "me", "calendarList"]).as_str(),
            "https://www.googleapis.com/calendar/v3/users/me/calendarList"
        );
        assert!(GoogleCalendar::new(
            crate::api_client().unwrap(),
            "mailto:x@example.com",
            Credential::Bearer("t".into())
        )
        .is_err());
        assert!(GoogleCalendar::new(crate::api_client().unwrap(), "not a url", Credential::Bearer("t".into())).is_err());
        assert!(!format!("{g:?}").contains("\"t\""));
    }

    #[test]
    fn the_calendar_list_is_read_only_where_the_grant_allows() {
        let g = |scope: Option<&str>| {
            GoogleCalendar::new(crate::api_client().unwrap(), DEFAULT_BASE_URL, Credential::Bearer("t".into()))
                .unwrap()
                .with_granted_scopes(scope)
                .may_list_calendars()
        };
        let app_created = "openid email https://www.googleapis.com/auth/calendar.app.created";
        assert!(!g(Some(app_created)));
        assert!(!g(Some("https://www.googleapis.com/auth/calendar.events.owned")));
        assert!(g(Some(&format!("{app_created} https://www.googleapis.com/auth/calendar.calendarlist.readonly"))));
        assert!(g(Some("https://www.googleapis.com/auth/calendar")));
        // Unknown: no grant recorded, or none of Google's Calendar scopes named.
        assert!(g(None));
        assert!(g(Some("openid email")));
    }

    #[test]
    fn channels_are_asked_for_and_read_back() {
        let request = WatchRequest {
            address: "https://flowcal.example/push/google",
            lifecycle_address: "https://flowcal.example/push/google?lifecycle=1",
            id: "ch-1",
            secret: "s3cret",
            ttl: Duration::from_secs(3 * 24 * 3600),
        };
        assert_eq!(
            channel_body(&request),
            json!({"id": "ch-1", "type": "web_hook", "address": "https://flowcal.example/push/google",
                   "token": "s3cret", "params": {"ttl": "259200"}})
        );
        let now: jiff::Timestamp = "2026-03-27T08:00:00Z".parse().unwrap();
        let answer = json!({"kind": "api#channel", "id": "ch-1", "resourceId": "r-9", "expiration": "1774857600000"});
        let w = watch_of(&answer, &request, now).unwrap();
        assert_eq!(
            w,
            Watch {
                id: "ch-1".into(),
                resource_id: Some("r-9".into()),
                expires_at: "2026-03-30T08:00:00Z".parse().unwrap()
            }
        );
        let as_number = json!({"id": "ch-1", "resourceId": "r-9", "expiration": 1_774_857_600_000_i64});
        assert_eq!(watch_of(&as_number, &request, now).unwrap(), w);
        // Without an expiration: as long as asked.
        let open = watch_of(&json!({"resourceId": "r-9"}), &request, now).unwrap();
        assert_eq!((open.id.as_str(), open.expires_at), ("ch-1", w.expires_at));
        assert!(watch_of(&json!({"id": "ch-1"}), &request, now).is_err(), "no resourceId");
        assert!(watch_of(&json!({"resourceId": "r", "expiration": "soon"}), &request, now).is_err());
    }

    #[test]
    fn batch_answers_are_split_and_matched() {
        assert_eq!(boundary_of("multipart/mixed; boundary=\"batch_x\"").as_deref(), Some("batch_x"));
        assert_eq!(boundary_of("Multipart/Mixed;charset=utf-8; Boundary=b1").as_deref(), Some("b1"));
        assert_eq!(boundary_of("application/json"), None);
        let ok = json!({"id": "abcde", "etag": "\"1\""}).to_string();
        let text = format!(
            "preamble\r\n--b1\r\nContent-Type: application/http\r\nContent-ID: <response-n+1>\r\n\r\n\
             HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n{}\r\n\
             --b1\r\nContent-Type: application/http\r\nContent-ID: <response-n+0>\r\n\r\n\
             HTTP/1.1 200 OK\r\nETag: \"1\"\r\n\r\n{ok}\r\n\
             --b1\nContent-Type: application/http\n\nHTTP/1.1 403 Forbidden\nRetry-After: 7\n\n{}\n--b1--\r\n",
            google_error(409, "duplicate", "The requested identifier already exists."),
            google_error(403, "rateLimitExceeded", "Rate Limit Exceeded"),
        );
        let parts = split_multipart(&text, "b1");
        assert_eq!(parts.len(), 3);
        let (h, inner) = split_head(parts[1]);
        assert_eq!(header(&h, "content-id"), Some("<response-n+0>"));
        assert!(matches!(inner_result(inner, "abcde"), Inner::Done(r) if r.etag.as_deref() == Some("\"1\"")));
        assert!(matches!(inner_result(split_head(parts[0]).1, "abcde"), Inner::Duplicate));
        assert!(matches!(inner_result(split_head(parts[2]).1, "abcde"),
            Inner::Failed(ConnectorError::RetryLater { after: Some(d), .. }) if d.as_secs() == 7));
        assert!(matches!(inner_result("garbage", "abcde"), Inner::Failed(ConnectorError::Permanent(_))));
    }
}
