//! Microsoft Graph v1.0: calendars and events in the user's mailbox (`/me`).
//!
//! - flowcal's own calendar is found by name among `GET /v1.0/me/calendars`
//!   (following `@odata.nextLink`), or created with `POST /v1.0/me/calendars`.
//! - Every entry carries flowcal's key twice: as the `transactionId` of the
//!   create (Graph drops a repeated create with the same `transactionId`), and
//!   as a string single-value extended property ([`KEY_PROPERTY_ID`]), which is
//!   how an entry is found again when its Graph id is not known
//!   (`$filter=singleValueExtendedProperties/Any(…)`).
//! - Updates are `PATCH` with `If-Match` (the `@odata.etag` last seen); on 412
//!   the entry is read again and the change applied once more.
//! - All-day entries go out as midnight to midnight in `UTC`. Timed entries go
//!   out in their own zone when Graph documents that IANA name
//!   ([`SUPPORTED_IANA_ZONES`]) and both local times are unambiguous there;
//!   otherwise in `UTC`, which keeps the instant exact.
//! - Reads ask for `Prefer: outlook.timezone="UTC"` and a text body. An
//!   all-day entry whose start is not midnight in UTC (someone set it in their
//!   own zone) is read again in its `originalStartTimeZone`, where it is.
//! - Changes are read with the delta function of the calendar's
//!   `calendarView` (a window of [`CHANGES_YEARS_BEFORE`] years before to
//!   [`CHANGES_YEARS_AFTER`] after the day of the first read), following
//!   `@odata.nextLink` to `@odata.deltaLink`, which is the next read's token.
//!   The bearer token goes only to links on the configured Graph URL.
//! - Push: a subscription to the calendar's events (`POST /v1.0/subscriptions`,
//!   created, updated and deleted, with lifecycle notifications and the
//!   secret as `clientState`), which Graph validates by asking the
//!   notification URL to echo a `validationToken` before it answers. It lives
//!   at most [`MAX_SUBSCRIPTION_MINUTES`], is extended with a `PATCH` of its
//!   `expirationDateTime`, and ended with `DELETE`.

use crate::connector::{
    retry_after, transport_error, CalendarChanges, CalendarChoice, CalendarInfo, ChangedEntry, Connector,
    ConnectorError, Credential, Remote, RemoteEvent, Watch, WatchRequest,
};
use crate::event::{EventSpec, When};
use crate::provider::spec::{ConnectorFactory, Defaults, Provider, Restriction};
use crate::AnyConnector;
use flowcal_connect::jwt::{IdClaims, Issuer};
use flowcal_connect::oauth::ClientAuth;
use flowcal_connect::text::percent_encode;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{json, Value as Json};
use std::sync::Mutex;
use std::time::Duration;

/// Graph's endpoint in the global cloud (national clouds have their own).
pub const DEFAULT_BASE_URL: &str = "https://graph.microsoft.com";

/// The single-value extended property that holds flowcal's key on an event:
/// a named string property in flowcal's own property set (GUID).
pub const KEY_PROPERTY_ID: &str = "String {907e0456-379a-470c-9d6e-a5cf77009cfb} Name flowcalKey";

/// The IANA names Graph documents for `dateTimeTimeZone.timeZone`, next to the
/// Windows names (the page's "Europe/Kyiv (Kiev)"-style entries are listed
/// under both names).
pub const SUPPORTED_IANA_ZONES: &[&str] = &[
    "Etc/GMT+12",
    "Etc/GMT+11",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Santa_Isabel",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/Chihuahua",
    "America/Denver",
    "America/Guatemala",
    "America/Chicago",
    "America/Mexico_City",
    "America/Regina",
    "America/Bogota",
    "America/New_York",
    "America/Indiana/Indianapolis",
    "America/Caracas",
    "America/Asuncion",
    "America/Halifax",
    "America/Cuiaba",
    "America/La_Paz",
    "America/Santiago",
    "America/St_Johns",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "America/Cayenne",
    "America/Godthab",
    "America/Montevideo",
    "America/Bahia",
    "Etc/GMT+2",
    "Atlantic/Azores",
    "Atlantic/Cape_Verde",
    "Africa/Casablanca",
    "Etc/GMT",
    "Europe/London",
    "Atlantic/Reykjavik",
    "Europe/Berlin",
    "Europe/Budapest",
    "Europe/Paris",
    "Europe/Warsaw",
    "Africa/Lagos",
    "Africa/Windhoek",
    "Europe/Bucharest",
    "Asia/Beirut",
    "Africa/Cairo",
    "Asia/Damascus",
    "Africa/Johannesburg",
    "Europe/Kyiv",
    "Europe/Kiev",
    "Europe/Istanbul",
    "Asia/Jerusalem",
    "Asia/Amman",
    "Asia/Baghdad",
    "Europe/Kaliningrad",
    "Asia/Riyadh",
    "Africa/Nairobi",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Baku",
    "Europe/Moscow",
    "Indian/Mauritius",
    "Asia/Tbilisi",
    "Asia/Yerevan",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Toshkent",
    "Asia/Tashkent",
    "Asia/Kolkata",
    "Asia/Colombo",
    "Asia/Kathmandu",
    "Asia/Astana",
    "Asia/Almaty",
    "Asia/Dhaka",
    "Asia/Yekaterinburg",
    "Asia/Yangon",
    "Asia/Rangoon",
    "Asia/Bangkok",
    "Asia/Novosibirsk",
    "Asia/Shanghai",
    "Asia/Krasnoyarsk",
    "Asia/Singapore",
    "Australia/Perth",
    "Asia/Taipei",
    "Asia/Ulaanbaatar",
    "Asia/Irkutsk",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Australia/Adelaide",
    "Australia/Darwin",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Port_Moresby",
    "Australia/Hobart",
    "Asia/Yakutsk",
    "Pacific/Guadalcanal",
    "Asia/Vladivostok",
    "Pacific/Auckland",
    "Etc/GMT-12",
    "Pacific/Fiji",
    "Asia/Magadan",
    "Pacific/Tongatapu",
    "Pacific/Apia",
    "Pacific/Kiritimati",
];

/// The default name of flowcal's own calendar (what `list_calendars` marks as
/// own until [`Connector::ensure_calendar`] names another).
pub const DEFAULT_OWN_NAME: &str = "flowcal";

/// How long one request may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Pages followed at most (of calendars, and of one read of changes).
const MAX_PAGES: usize = 100;
/// How many years before the day of a first read of changes its window
/// begins: flowcal's entries are deadlines and dates of running work, seldom
/// more than a few months past, and one that has moved out of the window is
/// reported as removed (Graph's delta on a `calendarView` knows only the
/// window).
pub const CHANGES_YEARS_BEFORE: i16 = 1;
/// How many years after the day of a first read of changes its window ends:
/// far enough for every date a workflow sets (a deadline, a date of an
/// instance), near enough to keep the first listing small.
pub const CHANGES_YEARS_AFTER: i16 = 5;
/// Events asked for per page of changes (`Prefer: odata.maxpagesize`; Graph
/// may send fewer).
const CHANGES_PAGE_SIZE: u32 = 200;
/// Error codes with which Graph refuses a delta token it no longer keeps
/// (besides `410 Gone`): the round starts over.
const RESYNC_CODES: &[&str] = &["syncStateNotFound", "syncStateInvalid", "resyncRequired"];
/// Longest server message kept in an error.
const MAX_MESSAGE: usize = 300;
/// The longest a subscription to Outlook events may be asked to live
/// ("Maximum length of subscription per resource type", Outlook message,
/// event, contact: 4,230 minutes, under three days). Newer pages of Graph's
/// documentation allow more for notifications without resource data; this
/// stays within every version.
pub const MAX_SUBSCRIPTION_MINUTES: i64 = 4230;
/// What a subscription to a calendar's events notifies of.
const SUBSCRIBED_CHANGES: &str = "created,updated,deleted";

/// A connection to one user's mailbox through Microsoft Graph.
#[derive(Debug)]
pub struct GraphCalendar {
    http: reqwest::Client,
    /// The `api_base_url` (e.g. `https://graph.microsoft.com`), without `/v1.0`.
    base: Url,
    credential: Credential,
    /// The name of flowcal's own calendar, as last asked for.
    own_name: Mutex<String>,
}

/// What a conditional update came to.
enum Patched {
    Done(Remote),
    /// The event does not exist (any more) under that id.
    NotFound,
}

impl GraphCalendar {
    /// `base_url`: the `api_base_url` ([`DEFAULT_BASE_URL`] in the global
    /// cloud); `http`: the process's shared [`api_client`](crate::api_client).
    pub fn new(http: reqwest::Client, base_url: &str, credential: Credential) -> Result<Self, ConnectorError> {
        let mut base = Url::parse(base_url.trim())
            .map_err(|e| ConnectorError::Permanent(format!("invalid Microsoft Graph URL {base_url:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() || base.host_str().is_none() {
            return Err(ConnectorError::Permanent(format!("invalid Microsoft Graph URL {base_url:?}")));
        }
        base.set_query(None);
        base.set_fragment(None);
        Ok(GraphCalendar { http, base, credential, own_name: Mutex::new(DEFAULT_OWN_NAME.to_owned()) })
    }

    /// The name of flowcal's own calendar, for [`Connector::list_calendars`].
    pub fn with_own_name(self, name: &str) -> Self {
        self.set_own_name(name);
        self
    }

    fn own_name(&self) -> String {
        self.own_name.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn set_own_name(&self, name: &str) {
        *self.own_name.lock().unwrap_or_else(|e| e.into_inner()) = name.to_owned();
    }

    /// `{base}/v1.0/{segments…}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push("v1.0").extend(segments);
        }
        url
    }

    fn event_url(&self, calendar: &str, id: &str) -> Url {
        self.url(&["me", "calendars", calendar, "events", id])
    }

    /// One request; `Ok` for every answer (the caller classifies), `Err` only
    /// when there is none.
    async fn call(
        &self,
        method: Method,
        url: Url,
        body: Option<&Json>,
        if_match: Option<&str>,
        prefer_zone: Option<&str>,
    ) -> Result<Answer, ConnectorError> {
        let mut req =
            self.credential.apply(self.http.request(method, url).timeout(TIMEOUT)).header("Accept", "application/json");
        if let Some(etag) = if_match {
            req = req.header("If-Match", etag);
        }
        if let Some(zone) = prefer_zone {
            req = req
                .header("Prefer", format!("outlook.timezone=\"{zone}\""))
                .header("Prefer", "outlook.body-content-type=\"text\"");
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        answer(req).await
    }

    /// Classifies an unsuccessful answer.
    fn error(&self, a: &Answer) -> ConnectorError {
        classify(a, self.token())
    }

    fn token(&self) -> Option<&str> {
        match &self.credential {
            Credential::Bearer(t) => Some(t),
            Credential::Basic { .. } => None,
        }
    }

    async fn get_calendar(&self, id: &str) -> Result<CalendarInfo, ConnectorError> {
        let a = self.call(Method::GET, self.url(&["me", "calendars", id]), None, None, None).await?;
        match a.status {
            s if s.is_success() => Ok(self.calendar_info(&a.json)),
            StatusCode::NOT_FOUND => Err(ConnectorError::Gone(format!("calendar {id}"))),
            _ => Err(self.error(&a)),
        }
    }

    fn calendar_info(&self, v: &Json) -> CalendarInfo {
        let name = str_of(v, "name").to_owned();
        CalendarInfo { id: str_of(v, "id").to_owned(), own: name == self.own_name(), name }
    }

    /// The calendar named `name`: exactly, else ignoring case (Outlook folder
    /// names are unique regardless of case).
    fn find_named(calendars: Vec<CalendarInfo>, name: &str) -> Option<CalendarInfo> {
        let lower = name.to_lowercase();
        let mut loose = None;
        for c in calendars {
            if c.name == name {
                return Some(c);
            }
            if loose.is_none() && c.name.to_lowercase() == lower {
                loose = Some(c);
            }
        }
        loose
    }

    /// The event carrying `key` in `calendar`, as Graph lists it (UTC times).
    async fn find_by_key(&self, calendar: &str, key: &str) -> Result<Option<Json>, ConnectorError> {
        let mut url = self.url(&["me", "calendars", calendar, "events"]);
        url.set_query(Some(&format!("$filter={}", percent_encode(&key_filter(key)))));
        let a = self.call(Method::GET, url, None, None, Some("UTC")).await?;
        match a.status {
            s if s.is_success() => Ok(a.json.get("value").and_then(Json::as_array).and_then(|v| v.first()).cloned()),
            StatusCode::NOT_FOUND => Err(ConnectorError::Gone(format!("calendar {calendar}"))),
            _ => Err(self.error(&a)),
        }
    }

    /// The event with Graph id `id`, times in `zone`; `None` when it does not exist.
    async fn get_by_id(&self, calendar: &str, id: &str, zone: &str) -> Result<Option<Json>, ConnectorError> {
        let a = self.call(Method::GET, self.event_url(calendar, id), None, None, Some(zone)).await?;
        match a.status {
            s if s.is_success() => Ok(Some(a.json)),
            StatusCode::NOT_FOUND => Ok(None),
            _ => Err(self.error(&a)),
        }
    }

    /// `PATCH` with `If-Match`; on 412 reads the event again and applies the
    /// change once more.
    async fn patch(&self, calendar: &str, target: &Remote, body: &Json) -> Result<Patched, ConnectorError> {
        let mut etag = target.etag.clone();
        for attempt in 0..2 {
            let url = self.event_url(calendar, &target.id);
            let a = self.call(Method::PATCH, url, Some(body), etag.as_deref(), None).await?;
            match a.status {
                s if s.is_success() => return Ok(Patched::Done(remote_of(&a.json, &target.id))),
                StatusCode::NOT_FOUND => return Ok(Patched::NotFound),
                StatusCode::PRECONDITION_FAILED if attempt == 0 => {
                    tracing::debug!(event = %target.id, "Graph event changed elsewhere (412); applying flowcal's version again");
                    match self.get_by_id(calendar, &target.id, "UTC").await? {
                        Some(current) => etag = str_opt(&current, "@odata.etag").map(str::to_owned),
                        None => return Ok(Patched::NotFound),
                    }
                }
                StatusCode::PRECONDITION_FAILED => {
                    return Err(ConnectorError::RetryLater {
                        after: retry_after(&a.headers),
                        message: "the event keeps changing at Microsoft Graph (412 twice)".into(),
                    })
                }
                _ => return Err(self.error(&a)),
            }
        }
        Err(ConnectorError::RetryLater { after: None, message: "the event keeps changing at Microsoft Graph".into() })
    }

    async fn create(&self, calendar: &str, ev: &EventSpec, mut body: Json) -> Result<Remote, ConnectorError> {
        body["transactionId"] = json!(ev.key);
        let url = self.url(&["me", "calendars", calendar, "events"]);
        let a = self.call(Method::POST, url, Some(&body), None, None).await?;
        match a.status {
            s if s.is_success() => {
                let r = remote_of(&a.json, "");
                if r.id.is_empty() {
                    return Err(ConnectorError::Permanent("Microsoft Graph created an event without an id".into()));
                }
                Ok(r)
            }
            StatusCode::NOT_FOUND => Err(ConnectorError::Gone(format!("calendar {calendar}"))),
            _ => Err(self.error(&a)),
        }
    }

    /// Whether `url` is on the configured Graph: the same scheme, host and
    /// port as the base URL, under its `/v1.0/`, without credentials of its
    /// own. Only there does the bearer token go.
    fn on_graph(&self, url: &Url) -> bool {
        let api = format!("{}/", self.url(&[]).path().trim_end_matches('/'));
        url.origin() == self.base.origin()
            && url.path().starts_with(&api)
            && url.username().is_empty()
            && url.password().is_none()
    }

    /// The first request of a round of changes: the delta of the calendar's
    /// view from [`CHANGES_YEARS_BEFORE`] years before `today` to
    /// [`CHANGES_YEARS_AFTER`] years after it (midnights in UTC).
    fn delta_start(&self, calendar: &str, today: Date) -> Url {
        use jiff::ToSpan;
        let midnight = |d: Option<Date>| format!("{}T00:00:00Z", d.unwrap_or(today));
        let from = midnight(today.checked_sub(CHANGES_YEARS_BEFORE.years()).ok());
        let to = midnight(today.checked_add(CHANGES_YEARS_AFTER.years()).ok());
        let mut url = self.url(&["me", "calendars", calendar, "calendarView", "delta"]);
        url.set_query(Some(&format!("startDateTime={}&endDateTime={}", percent_encode(&from), percent_encode(&to))));
        url
    }

    /// A link (`@odata.nextLink`, `@odata.deltaLink`) from an answer, to be
    /// followed with the token: refused unless it is on Graph ([`Self::on_graph`]).
    fn link(&self, link: &str, what: &str) -> Result<Url, ConnectorError> {
        let url = Url::parse(link)
            .map_err(|e| ConnectorError::Permanent(format!("Microsoft Graph sent a bad {what}: {e}")))?;
        if !self.on_graph(&url) {
            return Err(ConnectorError::Permanent(format!(
                "Microsoft Graph sent a {what} off its API ({}): not followed",
                url.origin().ascii_serialization()
            )));
        }
        Ok(url)
    }

    /// What changed in `calendar` since `token` (none: a first read), with
    /// the delta function of the calendar's `calendarView`
    /// ([`delta_start`](Self::delta_start): a window around the day of the
    /// first read, which the token keeps), page by page
    /// (`@odata.nextLink`, up to [`MAX_PAGES`]) to `@odata.deltaLink`, the
    /// next read's token. Times are asked for in UTC.
    ///
    /// `complete` is never set, not even for a first read: an entry outside
    /// the window is not listed though it exists, so one the caller knows
    /// and that is not listed is not gone for that. Removed events (and
    /// events moved out of the window) are listed as `deleted` by their id.
    /// Events that carry a `transactionId` that is not a key of flowcal's
    /// are someone else's and are left out; events without one are listed
    /// (a delta answer may leave properties out): the caller matches ids
    /// against those it stored.
    ///
    /// A token Graph no longer keeps (`410 Gone`, or an error code of
    /// [`RESYNC_CODES`]), or one that is not a link on the configured Graph
    /// URL (the bearer token goes nowhere else), starts a new round. A link
    /// off that URL in an answer is not followed: `Permanent`.
    async fn read_changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        let first = || self.delta_start(calendar, Timestamp::now().to_zoned(TimeZone::UTC).date());
        let mut resumed = token.is_some();
        let mut url = match token.map(Url::parse) {
            Some(Ok(u)) if self.on_graph(&u) => u,
            Some(_) => {
                tracing::warn!(
                    calendar,
                    "graph: the stored delta link is not on the configured Graph URL; starting over"
                );
                resumed = false;
                first()
            }
            None => first(),
        };
        let mut out = CalendarChanges::default();
        for _ in 0..MAX_PAGES {
            let req = self
                .credential
                .apply(self.http.get(url.clone()).timeout(TIMEOUT))
                .header("Accept", "application/json")
                .header("Prefer", "outlook.timezone=\"UTC\"")
                .header("Prefer", format!("odata.maxpagesize={CHANGES_PAGE_SIZE}"));
            let a = answer(req).await?;
            if !a.status.is_success() {
                if resumed && token_refused(&a) {
                    tracing::info!(calendar, status = %a.status, "graph: the delta token is no longer valid; starting over");
                    resumed = false;
                    out = CalendarChanges::default();
                    url = first();
                    continue;
                }
                if a.status == StatusCode::NOT_FOUND {
                    return Err(ConnectorError::Gone(format!("calendar {calendar}")));
                }
                return Err(self.error(&a));
            }
            delta_page(&a.json, &mut out);
            if let Some(next) = str_opt(&a.json, "@odata.nextLink") {
                url = self.link(next, "next link")?;
                continue;
            }
            let Some(delta) = str_opt(&a.json, "@odata.deltaLink") else {
                return Err(ConnectorError::Permanent(
                    "Microsoft Graph ended a round of changes without a delta link".into(),
                ));
            };
            out.token = Some(self.link(delta, "delta link")?.to_string());
            return Ok(out);
        }
        Err(ConnectorError::RetryLater {
            after: None,
            message: format!("the calendar {calendar} answered more than {MAX_PAGES} pages of changes"),
        })
    }
}

/// An answer from Graph.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Json,
}

/// Sends `req` and reads its answer (bounded); `Err` only when there is none.
async fn answer(req: reqwest::RequestBuilder) -> Result<Answer, ConnectorError> {
    let resp = req.send().await.map_err(|e| transport_error(&e))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = crate::connector::read_answer(resp).await?;
    let json = crate::connector::parse_off_thread(&text, |t| serde_json::from_str(t).unwrap_or(Json::Null)).await;
    Ok(Answer { status, headers, json })
}

/// Whether Graph refused a delta token because it no longer keeps its state.
fn token_refused(a: &Answer) -> bool {
    let code = a.json.get("error").map(|e| str_of(e, "code")).unwrap_or("");
    a.status == StatusCode::GONE || RESYNC_CODES.iter().any(|c| c.eq_ignore_ascii_case(code))
}

/// One page of a delta round into `out`: removed events as deleted, the
/// others as changed unless their `transactionId` is someone else's.
fn delta_page(page: &Json, out: &mut CalendarChanges) {
    for v in page.get("value").and_then(Json::as_array).into_iter().flatten() {
        let Some(id) = str_opt(v, "id").filter(|id| !id.is_empty()) else { continue };
        if v.get("@removed").is_some() {
            out.deleted.push(id.to_owned());
            continue;
        }
        if str_opt(v, "transactionId").is_some_and(|t| !flowcal_domain::export::is_event_key(t)) {
            continue;
        }
        out.changed.push(ChangedEntry {
            id: id.to_owned(),
            etag: str_opt(v, "@odata.etag").map(str::to_owned),
            start: changed_start(v),
        });
    }
}

/// Where an event of a delta page (times in UTC) starts, when that is
/// certain: an all-day event that does not start at midnight in UTC was set
/// in another zone, whose date only a read in that zone tells
/// ([`Connector::get_event`]).
fn changed_start(v: &Json) -> Option<When> {
    let (start, zone) = civil(v, "start").ok()?;
    if v.get("isAllDay").and_then(Json::as_bool).unwrap_or(false) {
        return (start.time() == jiff::civil::Time::midnight()).then(|| When::Date(start.date()));
    }
    Some(When::At { at: instant(start, &zone).ok()?, zone: shown_zone(v) })
}

impl Connector for GraphCalendar {
    async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError> {
        let mut out = Vec::new();
        let mut url = self.url(&["me", "calendars"]);
        for _ in 0..MAX_PAGES {
            let a = self.call(Method::GET, url.clone(), None, None, None).await?;
            if !a.status.is_success() {
                return Err(self.error(&a));
            }
            if let Some(items) = a.json.get("value").and_then(Json::as_array) {
                out.extend(items.iter().map(|v| self.calendar_info(v)));
            }
            match str_opt(&a.json, "@odata.nextLink") {
                None => return Ok(out),
                Some(next) => {
                    let next = Url::parse(next)
                        .map_err(|e| ConnectorError::Permanent(format!("Microsoft Graph sent a bad next link: {e}")))?;
                    // The token goes with every page: only to Graph itself.
                    if next.origin() != self.base.origin() {
                        return Err(ConnectorError::Permanent(
                            "Microsoft Graph sent a next link to another host".into(),
                        ));
                    }
                    url = next;
                }
            }
        }
        Err(ConnectorError::Permanent(format!("more than {MAX_PAGES} pages of calendars")))
    }

    async fn ensure_calendar(&self, choice: &CalendarChoice) -> Result<CalendarInfo, ConnectorError> {
        match choice {
            CalendarChoice::Existing { id } => self.get_calendar(id).await,
            CalendarChoice::Own { name } => {
                self.set_own_name(name);
                if let Some(found) = Self::find_named(self.list_calendars().await?, name) {
                    return Ok(CalendarInfo { own: true, ..found });
                }
                let url = self.url(&["me", "calendars"]);
                let a = self.call(Method::POST, url, Some(&json!({ "name": name })), None, None).await?;
                match a.status {
                    s if s.is_success() => Ok(CalendarInfo { own: true, ..self.calendar_info(&a.json) }),
                    // Made meanwhile (another flowcal worker): find it.
                    StatusCode::CONFLICT => match Self::find_named(self.list_calendars().await?, name) {
                        Some(found) => Ok(CalendarInfo { own: true, ..found }),
                        None => Err(self.error(&a)),
                    },
                    _ => Err(self.error(&a)),
                }
            }
        }
    }

    async fn upsert_event(
        &self,
        calendar: &str,
        event: &EventSpec,
        known: Option<&Remote>,
    ) -> Result<Remote, ConnectorError> {
        let body = event_body(event)?;
        if let Some(k) = known {
            if let Patched::Done(r) = self.patch(calendar, k, &body).await? {
                return Ok(r);
            }
        }
        // Unknown, or gone under the stored id: look for the key before creating.
        if let Some(found) = self.find_by_key(calendar, &event.key).await? {
            let target = remote_of(&found, "");
            if !target.id.is_empty() && known.is_none_or(|k| k.id != target.id) {
                if let Patched::Done(r) = self.patch(calendar, &target, &body).await? {
                    return Ok(r);
                }
            }
        }
        self.create(calendar, event, body).await
    }

    async fn get_event(
        &self,
        calendar: &str,
        key: &str,
        known: Option<&Remote>,
    ) -> Result<Option<RemoteEvent>, ConnectorError> {
        let found = match known {
            Some(k) => self.get_by_id(calendar, &k.id, "UTC").await?,
            None => self.find_by_key(calendar, key).await?,
        };
        let Some(mut v) = found else { return Ok(None) };
        if v.get("isAllDay").and_then(Json::as_bool) == Some(true) && !starts_at_midnight(&v) {
            // Set in another zone: its dates are those of that zone.
            let zone = str_opt(&v, "originalStartTimeZone")
                .filter(|z| z.bytes().all(|b| (b' '..=b'~').contains(&b) && b != b'"'));
            if let (Some(zone), Some(id)) = (zone, str_opt(&v, "id")) {
                let (zone, id) = (zone.to_owned(), id.to_owned());
                match self.get_by_id(calendar, &id, &zone).await? {
                    Some(again) => v = again,
                    None => return Ok(None),
                }
            }
        }
        read_event(&v).map(Some)
    }

    /// By the delta of the calendar's view ([`read_changes`](Self::read_changes));
    /// never `complete`.
    async fn changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        self.read_changes(calendar, token).await
    }

    /// `POST /subscriptions`: the calendar's events, created, updated and
    /// deleted, notified to the request's address (lifecycle notifications
    /// to its lifecycle address) with its secret as `clientState`, for `ttl`
    /// up to [`MAX_SUBSCRIPTION_MINUTES`]. Graph validates the address before
    /// it answers.
    async fn watch(&self, calendar: &str, request: &WatchRequest<'_>) -> Result<Option<Watch>, ConnectorError> {
        let body = json!({
            "changeType": SUBSCRIBED_CHANGES,
            "notificationUrl": request.address,
            "lifecycleNotificationUrl": request.lifecycle_address,
            "resource": format!("me/calendars/{calendar}/events"),
            "expirationDateTime": subscription_end(Timestamp::now(), request.ttl).to_string(),
            "clientState": request.secret,
        });
        let a = self.call(Method::POST, self.url(&["subscriptions"]), Some(&body), None, None).await?;
        match a.status {
            s if s.is_success() => subscription_watch(&a.json, None).map(Some),
            _ => Err(self.error(&a)),
        }
    }

    /// `PATCH /subscriptions/{id}` with a new `expirationDateTime`.
    async fn renew_watch(&self, watch: &Watch, ttl: Duration) -> Result<Option<Watch>, ConnectorError> {
        let body = json!({ "expirationDateTime": subscription_end(Timestamp::now(), ttl).to_string() });
        let a = self.call(Method::PATCH, self.url(&["subscriptions", &watch.id]), Some(&body), None, None).await?;
        match a.status {
            s if s.is_success() => subscription_watch(&a.json, Some(&watch.id)).map(Some),
            _ => Err(self.error(&a)),
        }
    }

    /// `DELETE /subscriptions/{id}`; one Graph no longer knows (`404`) is ended already.
    async fn unwatch(&self, watch: &Watch) -> Result<(), ConnectorError> {
        let a = self.call(Method::DELETE, self.url(&["subscriptions", &watch.id]), None, None, None).await?;
        match a.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self.error(&a)),
        }
    }

    async fn delete_event(&self, calendar: &str, key: &str, known: Option<&Remote>) -> Result<(), ConnectorError> {
        let id = match known {
            Some(k) => k.id.clone(),
            None => match self.find_by_key(calendar, key).await? {
                Some(v) => str_of(&v, "id").to_owned(),
                None => return Ok(()),
            },
        };
        if id.is_empty() {
            return Ok(());
        }
        let a = self.call(Method::DELETE, self.event_url(calendar, &id), None, None, None).await?;
        match a.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(self.error(&a)),
        }
    }
}

// ---- mapping --------------------------------------------------------------------------------

/// The `$filter` that finds the event carrying `key`.
pub fn key_filter(key: &str) -> String {
    format!(
        "singleValueExtendedProperties/Any(ep: ep/id eq '{}' and ep/value eq '{}')",
        KEY_PROPERTY_ID.replace('\'', "''"),
        key.replace('\'', "''")
    )
}

/// The event as Graph takes it (create and update alike; the create adds
/// `transactionId`).
pub fn event_body(ev: &EventSpec) -> Result<Json, ConnectorError> {
    let mut content = ev.description.clone();
    if let Some(url) = ev.url.as_deref().filter(|u| !ev.description.contains(*u)) {
        if !content.is_empty() {
            content.push_str("\n\n");
        }
        content.push_str(url);
    }
    let mut body = json!({
        "subject": ev.title,
        "body": { "contentType": "text", "content": content },
        "showAs": if ev.transparent { "free" } else { "busy" },
        "isReminderOn": ev.reminder_minutes.is_some(),
        "singleValueExtendedProperties": [{ "id": KEY_PROPERTY_ID, "value": ev.key }],
    });
    if let Some(m) = ev.reminder_minutes {
        body["reminderMinutesBeforeStart"] = json!(m.min(i32::MAX as u32));
    }
    match &ev.when {
        When::Date(d) => {
            let end = ev.end_date().ok_or_else(|| ConnectorError::Permanent(format!("no day after {d}")))?;
            body["isAllDay"] = json!(true);
            body["start"] = date_time_zone(d.to_datetime(jiff::civil::Time::midnight()), "UTC");
            body["end"] = date_time_zone(end.to_datetime(jiff::civil::Time::midnight()), "UTC");
        }
        When::At { at, zone } => {
            let end = ev.end().ok_or_else(|| ConnectorError::Permanent(format!("no end for an entry at {at}")))?;
            let (name, tz) = graph_zone(zone, &[*at, end]);
            body["isAllDay"] = json!(false);
            body["start"] = date_time_zone(tz.to_datetime(*at), &name);
            body["end"] = date_time_zone(tz.to_datetime(end), &name);
        }
    }
    Ok(body)
}

/// The zone to send times in: `zone` when Graph documents it and every one of
/// `instants` has one unambiguous local time there; else UTC.
fn graph_zone(zone: &str, instants: &[Timestamp]) -> (String, TimeZone) {
    if SUPPORTED_IANA_ZONES.contains(&zone) {
        if let Ok(tz) = TimeZone::get(zone) {
            let exact = instants.iter().all(|at| {
                let local = tz.to_datetime(*at).round(jiff::Unit::Second).ok();
                local.and_then(|l| tz.to_ambiguous_timestamp(l).unambiguous().ok()).is_some_and(|t| t == *at)
            });
            if exact {
                return (zone.to_owned(), tz);
            }
        }
    }
    ("UTC".to_owned(), TimeZone::UTC)
}

fn date_time_zone(dt: DateTime, zone: &str) -> Json {
    json!({ "dateTime": dt.strftime("%Y-%m-%dT%H:%M:%S").to_string(), "timeZone": zone })
}

fn str_opt<'a>(v: &'a Json, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Json::as_str)
}

fn str_of<'a>(v: &'a Json, key: &str) -> &'a str {
    str_opt(v, key).unwrap_or("")
}

fn remote_of(v: &Json, fallback_id: &str) -> Remote {
    let id = str_opt(v, "id").unwrap_or(fallback_id).to_owned();
    Remote { id, etag: str_opt(v, "@odata.etag").map(str::to_owned) }
}

/// When a subscription asked for at `now` to live `ttl` ends: at most a
/// minute short of [`MAX_SUBSCRIPTION_MINUTES`] later (Graph's clock may be
/// behind flowcal's), in whole seconds (UTC), never past the limit.
fn subscription_end(now: Timestamp, ttl: Duration) -> Timestamp {
    let most = jiff::SignedDuration::from_mins(MAX_SUBSCRIPTION_MINUTES - 1);
    let asked = jiff::SignedDuration::try_from(ttl).unwrap_or(most).min(most);
    let end = now.checked_add(asked).unwrap_or(now);
    let whole = jiff::TimestampRound::new().smallest(jiff::Unit::Second).mode(jiff::RoundMode::Trunc);
    end.round(whole).unwrap_or(end)
}

/// A subscription as Graph answers it: its `id` (or `known`, for a renewal
/// that leaves it out) and `expirationDateTime`.
fn subscription_watch(v: &Json, known: Option<&str>) -> Result<Watch, ConnectorError> {
    let id = str_opt(v, "id")
        .filter(|i| !i.is_empty())
        .or(known)
        .ok_or_else(|| ConnectorError::Permanent("Microsoft Graph answered a subscription without an id".into()))?;
    let raw = str_of(v, "expirationDateTime");
    let expires_at = raw.parse::<Timestamp>().map_err(|e| {
        ConnectorError::Permanent(format!("Microsoft Graph answered a subscription ending {raw:?}: {e}"))
    })?;
    Ok(Watch { id: id.to_owned(), resource_id: None, expires_at })
}

/// A `dateTimeTimeZone`'s civil time and zone name.
fn civil(v: &Json, which: &str) -> Result<(DateTime, String), ConnectorError> {
    let part = v.get(which).ok_or_else(|| ConnectorError::Permanent(format!("Graph event without {which}")))?;
    let raw = str_of(part, "dateTime");
    let dt: DateTime =
        raw.parse().map_err(|e| ConnectorError::Permanent(format!("Graph event {which}.dateTime {raw:?}: {e}")))?;
    Ok((dt, str_of(part, "timeZone").to_owned()))
}

fn starts_at_midnight(v: &Json) -> bool {
    civil(v, "start").is_ok_and(|(dt, _)| dt.time() == jiff::civil::Time::midnight())
}

/// An IANA zone jiff knows (`UTC` included); Windows names are not.
fn iana(zone: &str) -> Option<TimeZone> {
    if zone.is_empty() || zone.contains(' ') {
        return None;
    }
    TimeZone::get(zone).ok()
}

fn instant(dt: DateTime, zone: &str) -> Result<Timestamp, ConnectorError> {
    let tz = iana(zone).ok_or_else(|| ConnectorError::Permanent(format!("Graph sent times in zone {zone:?}")))?;
    tz.to_ambiguous_timestamp(dt).compatible().map_err(|e| ConnectorError::Permanent(e.to_string()))
}

/// The zone a timed event is shown in: its `originalStartTimeZone` when
/// that is an IANA name, else `UTC`.
fn shown_zone(v: &Json) -> String {
    str_opt(v, "originalStartTimeZone")
        .filter(|z| iana(z).is_some())
        .map(|z| if z == "Etc/UTC" { "UTC" } else { z })
        .unwrap_or("UTC")
        .to_owned()
}

/// Maps a Graph event back.
pub fn read_event(v: &Json) -> Result<RemoteEvent, ConnectorError> {
    let (start, start_zone) = civil(v, "start")?;
    let (end, end_zone) = civil(v, "end")?;
    let all_day = v.get("isAllDay").and_then(Json::as_bool).unwrap_or(false);
    let (when, end) = if all_day {
        let (s, e): (Date, Date) = (start.date(), end.date());
        (When::Date(s), e.to_string())
    } else {
        let at = instant(start, &start_zone)?;
        let end = instant(end, &end_zone)?;
        (When::At { at, zone: shown_zone(v) }, end.to_string())
    };
    let description =
        v.get("body").map(|b| str_of(b, "content")).unwrap_or("").replace("\r\n", "\n").trim_end().to_owned();
    Ok(RemoteEvent {
        remote: remote_of(v, ""),
        title: str_of(v, "subject").to_owned(),
        description,
        when,
        end,
        cancelled: v.get("isCancelled").and_then(Json::as_bool).unwrap_or(false),
    })
}

/// Classifies an unsuccessful answer; the access token never appears in it.
fn classify(a: &Answer, token: Option<&str>) -> ConnectorError {
    let err = a.json.get("error");
    let code = err.map(|e| str_of(e, "code")).unwrap_or("");
    let text = err.map(|e| str_of(e, "message")).unwrap_or("");
    let mut message = match (code.is_empty(), text.is_empty()) {
        (false, false) => format!("{code}: {text}"),
        (false, true) => code.to_owned(),
        (true, false) => text.to_owned(),
        (true, true) => format!("HTTP {}", a.status.as_u16()),
    };
    if let Some(t) = token.filter(|t| !t.is_empty()) {
        message = message.replace(t, "***");
    }
    if message.chars().count() > MAX_MESSAGE {
        message = message.chars().take(MAX_MESSAGE).collect::<String>() + "…";
    }
    match a.status {
        StatusCode::UNAUTHORIZED => ConnectorError::Unauthorized(message),
        StatusCode::TOO_MANY_REQUESTS => ConnectorError::RetryLater { after: retry_after(&a.headers), message },
        s if s.is_server_error() => ConnectorError::RetryLater { after: retry_after(&a.headers), message },
        StatusCode::NOT_FOUND | StatusCode::GONE => ConnectorError::Gone(message),
        _ => ConnectorError::Permanent(message),
    }
}

// ---- the provider kind `microsoft` ------------------------------------------------------------

/// The OAuth provider kind `microsoft`: the Microsoft identity platform (v2.0
/// endpoints of a tenant) and Graph's calendars.
pub struct Microsoft;

/// The tenant when the settings name none: any work or school account.
pub const DEFAULT_TENANT: &str = "organizations";

/// Tenants that are no one organisation: every account of a kind may sign in.
const SHARED_TENANTS: [&str; 3] = ["organizations", "common", "consumers"];

const LOGIN: &str = "https://login.microsoftonline.com";

/// A tenant id (a GUID), as opposed to a domain or a shared tenant.
fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.chars()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { c == '-' } else { c.is_ascii_hexdigit() })
}

impl Provider for Microsoft {
    fn name(&self) -> &'static str {
        "microsoft"
    }

    fn label(&self) -> &'static str {
        "Microsoft 365"
    }

    fn defaults(&self, r: &Restriction<'_>) -> Defaults {
        let tenant = r.tenant.unwrap_or(DEFAULT_TENANT);
        // Only a tenant id names the issuer; for a domain or a shared tenant the
        // issuer holds the token's own tenant (`{tenantid}`, checked against `tid`).
        let issuer =
            if is_guid(tenant) { format!("{LOGIN}/{tenant}/v2.0") } else { format!("{LOGIN}/{{tenantid}}/v2.0") };
        Defaults {
            issuer: Some(issuer),
            authorization_endpoint: Some(format!("{LOGIN}/{tenant}/oauth2/v2.0/authorize")),
            token_endpoint: Some(format!("{LOGIN}/{tenant}/oauth2/v2.0/token")),
            // The identity platform has no revocation endpoint.
            revocation_endpoint: None,
            jwks_uri: Some(format!("{LOGIN}/{tenant}/discovery/v2.0/keys")),
            scopes: &["openid", "email", "offline_access", "https://graph.microsoft.com/Calendars.ReadWrite"],
            client_auth: ClientAuth::ClientSecretPost,
        }
    }

    fn id_token_issuers(&self, issuer: &str) -> Vec<Issuer> {
        if issuer.contains("{tenantid}") {
            vec![Issuer::TenantTemplate(issuer.to_owned())]
        } else {
            vec![Issuer::Exact(issuer.to_owned())]
        }
    }

    fn check_claims(&self, r: &Restriction<'_>, claims: &IdClaims) -> Result<(), String> {
        match r.tenant.filter(|t| is_guid(t)) {
            Some(t) if claims.tid.as_deref() != Some(t) => {
                Err("this Microsoft account belongs to another tenant".into())
            }
            _ => Ok(()),
        }
    }

    fn open_to_all(&self, r: &Restriction<'_>) -> Option<&'static str> {
        SHARED_TENANTS.contains(&r.tenant.unwrap_or(DEFAULT_TENANT)).then_some("a tenant (its id or domain)")
    }

    fn calendar_api(&self) -> Option<ConnectorFactory> {
        Some(|a| {
            let base_url = a.base_url.unwrap_or(DEFAULT_BASE_URL);
            Ok(AnyConnector::Graph(GraphCalendar::new(a.http, base_url, a.credential)?))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::event_key;

    fn spec(when: When) -> EventSpec {
        EventSpec {
            key: event_key(1, "task:42:deadline"),
            title: "Approve".into(),
            description: "Process: Leave request".into(),
            url: Some("https://flowcal.example/tasks/42".into()),
            when,
            duration_minutes: 30,
            transparent: true,
            reminder_minutes: Some(15),
            sequence: 0,
            stamp: Timestamp::UNIX_EPOCH,
        }
    }

    fn at(s: &str, zone: &str) -> When {
        When::At { at: s.parse().unwrap(), zone: zone.into() }
    }

    #[test]
    fn all_day_goes_out_midnight_to_midnight_in_utc() {
        let b = event_body(&spec(When::Date("2026-12-31".parse().unwrap()))).unwrap();
        assert_eq!(b["isAllDay"], json!(true));
        assert_eq!(b["start"], json!({"dateTime": "2026-12-31T00:00:00", "timeZone": "UTC"}));
        assert_eq!(b["end"], json!({"dateTime": "2027-01-01T00:00:00", "timeZone": "UTC"}));
        assert_eq!(b["showAs"], "free");
        assert_eq!(b["isReminderOn"], json!(true));
        assert_eq!(b["reminderMinutesBeforeStart"], json!(15));
        assert_eq!(
            b["body"],
            json!({"contentType": "text", "content": "Process: Leave request\n\nhttps://flowcal.example/tasks/42"})
        );
        assert_eq!(b["singleValueExtendedProperties"][0]["id"], KEY_PROPERTY_ID);
        assert_eq!(b["singleValueExtendedProperties"][0]["value"], json!(event_key(1, "task:42:deadline")));
        assert!(b.get("transactionId").is_none(), "only the create sends it");
    }

    #[test]
    fn timed_goes_out_in_its_zone_unless_ambiguous_or_undocumented() {
        let mut s = spec(at("2026-07-01T10:00:00Z", "Europe/Berlin"));
        s.transparent = false;
        s.reminder_minutes = None;
        let b = event_body(&s).unwrap();
        assert_eq!(b["start"], json!({"dateTime": "2026-07-01T12:00:00", "timeZone": "Europe/Berlin"}));
        assert_eq!(b["end"], json!({"dateTime": "2026-07-01T12:30:00", "timeZone": "Europe/Berlin"}));
        assert_eq!((&b["showAs"], &b["isReminderOn"]), (&json!("busy"), &json!(false)));
        assert!(b.get("reminderMinutesBeforeStart").is_none());
        // 02:30 happens twice in Berlin that night: only UTC says which.
        let b = event_body(&spec(at("2026-10-25T01:30:00Z", "Europe/Berlin"))).unwrap();
        assert_eq!(b["start"], json!({"dateTime": "2026-10-25T01:30:00", "timeZone": "UTC"}));
        assert_eq!(b["end"], json!({"dateTime": "2026-10-25T02:00:00", "timeZone": "UTC"}));
        // Not among Graph's documented IANA names.
        let b = event_body(&spec(at("2026-07-01T10:00:00Z", "Europe/Vienna"))).unwrap();
        assert_eq!(b["start"]["timeZone"], "UTC");
        // The link is not repeated when the description has it.
        let mut s = spec(at("2026-07-01T10:00:00Z", "UTC"));
        s.description = "Open https://flowcal.example/tasks/42".into();
        assert_eq!(event_body(&s).unwrap()["body"]["content"], "Open https://flowcal.example/tasks/42");
    }

    #[test]
    fn the_key_filter_is_encoded_for_odata() {
        let f = key_filter("abc");
        assert_eq!(
            f,
            "singleValueExtendedProperties/Any(ep: ep/id eq 'String {907e0456-379a-470c-9d6e-a5cf77009cfb} Name flowcalKey' and ep/value eq 'abc')"
        );
        let e = percent_encode(&f);
        assert!(!e.contains(' ') && !e.contains('+') && e.contains("%20") && e.contains("%27"), "{e}");
        assert_eq!(percent_encode("it's"), "it%27s");
        assert_eq!(key_filter("o'k").matches("''").count(), 1);
    }

    #[test]
    fn urls_encode_ids_and_keep_a_base_path() {
        let g =
            GraphCalendar::new(crate::api_client().unwrap(), "https://graph.example/", Credential::Bearer("t".into()))
                .unwrap();
        assert_eq!(
            g.event_url("AAMk/cal=", "ev id").as_str(),
            "https://graph.example/v1.0/me/calendars/AAMk%2Fcal=/events/ev%20id"
        );
        let g = GraphCalendar::new(
            crate::api_client().unwrap(),
            "http://127.0.0.1:9/prefix",
            Credential::Bearer("t".into()),
        )
        .unwrap();
        assert_eq!(g.url(&["me", "calendars"]).as_str(), "http://127.0.0.1:9/prefix/v1.0/me/calendars");
        assert!(GraphCalendar::new(crate::api_client().unwrap(), "not a url", Credential::Bearer("t".into())).is_err());
        assert!(GraphCalendar::new(
            crate::api_client().unwrap(),
            "ftp://graph.example",
            Credential::Bearer("t".into())
        )
        .is_err());
    }

    #[test]
    fn reads_graph_events_back() {
        let v = json!({
            "id": "AAMk=", "@odata.etag": "W/\"1\"", "subject": "Approve",
            "body": {"contentType": "text", "content": "line\r\nnext\r\n"},
            "isAllDay": true, "isCancelled": false,
            "start": {"dateTime": "2026-03-29T00:00:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-03-30T00:00:00.0000000", "timeZone": "UTC"},
            "originalStartTimeZone": "UTC",
        });
        let e = read_event(&v).unwrap();
        assert_eq!(e.remote, Remote { id: "AAMk=".into(), etag: Some("W/\"1\"".into()) });
        assert_eq!(
            (e.when, e.end.as_str(), e.description.as_str()),
            (When::Date("2026-03-29".parse().unwrap()), "2026-03-30", "line\nnext")
        );
        let v = json!({
            "id": "x", "subject": "t", "isAllDay": false,
            "start": {"dateTime": "2026-10-25T00:30:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2026-10-25T01:00:00.0000000", "timeZone": "UTC"},
            "originalStartTimeZone": "Europe/Berlin",
        });
        let e = read_event(&v).unwrap();
        assert_eq!(e.when, at("2026-10-25T00:30:00Z", "Europe/Berlin"));
        assert_eq!(e.end, "2026-10-25T01:00:00Z");
        // A Windows zone name: the instant is right, the zone unknown.
        let v = json!({
            "id": "x", "subject": "t", "isAllDay": false,
            "start": {"dateTime": "2026-01-05T17:00:00", "timeZone": "UTC"},
            "end": {"dateTime": "2026-01-05T17:30:00", "timeZone": "UTC"},
            "originalStartTimeZone": "Pacific Standard Time",
        });
        assert_eq!(read_event(&v).unwrap().when, at("2026-01-05T17:00:00Z", "UTC"));
        assert!(read_event(&json!({"id": "x"})).is_err());
    }

    #[test]
    fn the_token_goes_only_to_links_on_graph() {
        let g = GraphCalendar::new(
            crate::api_client().unwrap(),
            "https://graph.example/prefix",
            Credential::Bearer("t".into()),
        )
        .unwrap();
        let on = |u: &str| g.on_graph(&Url::parse(u).unwrap());
        assert!(on("https://graph.example/prefix/v1.0/me/calendarView/delta?$deltatoken=x"));
        assert!(on("https://graph.example:443/prefix/v1.0/me/calendars/c/calendarView/delta?$skiptoken=y"));
        for off in [
            "https://elsewhere.example/prefix/v1.0/me/calendarView/delta?$deltatoken=x",
            "http://graph.example/prefix/v1.0/me/calendarView/delta?$deltatoken=x",
            "https://graph.example:8443/prefix/v1.0/me/calendarView/delta?$deltatoken=x",
            "https://graph.example/v1.0/me/calendarView/delta?$deltatoken=x",
            "https://graph.example/prefix/beta/me/calendarView/delta?$deltatoken=x",
            "https://graph.example/prefix/v1.0.evil/me?$deltatoken=x",
            "https://graph.example/prefix/v1.0/../../x/v1.0/me?$deltatoken=x",
            "https://user:pw@graph.example/prefix/v1.0/me/calendarView/delta?$deltatoken=x",
        ] {
            assert!(!on(off), "{off}");
        }
        assert!(matches!(g.link("https://elsewhere.example/v1.0/x", "delta link"), Err(ConnectorError::Permanent(_))));
        assert!(matches!(g.link("not a link", "next link"), Err(ConnectorError::Permanent(_))));
        assert!(g.link("https://graph.example/prefix/v1.0/x?$skiptoken=1", "next link").is_ok());
    }

    #[test]
    fn the_first_read_of_changes_spans_a_year_back_and_five_ahead() {
        let g =
            GraphCalendar::new(crate::api_client().unwrap(), "https://graph.example", Credential::Bearer("t".into()))
                .unwrap();
        let url = g.delta_start("AAMk/cal=", "2028-02-29".parse().unwrap());
        assert_eq!(
            url.as_str(),
            "https://graph.example/v1.0/me/calendars/AAMk%2Fcal=/calendarView/delta\
             ?startDateTime=2027-02-28T00%3A00%3A00Z&endDateTime=2033-02-28T00%3A00%3A00Z"
        );
    }

    #[test]
    fn delta_pages_are_read_as_changes() {
        let key = event_key(1, "task:1:deadline");
        let page = json!({"value": [
            {"id": "a", "@odata.etag": "W/\"1\"", "transactionId": key, "isAllDay": true,
             "start": {"dateTime": "2026-05-04T00:00:00.0000000", "timeZone": "UTC"}},
            // Someone else's (another client's transactionId): left out.
            {"id": "b", "@odata.etag": "W/\"2\"", "transactionId": "c7555340-474b-cf1f-5bd8-d9e197da220e",
             "isAllDay": false, "start": {"dateTime": "2026-05-04T10:00:00", "timeZone": "UTC"}},
            // Without a transactionId (or null): listed, the caller matches the id.
            {"id": "c", "@odata.etag": "W/\"3\"", "isAllDay": false, "transactionId": null,
             "originalStartTimeZone": "Europe/Berlin",
             "start": {"dateTime": "2026-05-04T08:00:00.0000000", "timeZone": "UTC"}},
            // All day, set in another zone: the read tells no date.
            {"id": "d", "isAllDay": true, "start": {"dateTime": "2026-05-03T22:00:00.0000000", "timeZone": "UTC"}},
            {"id": "e"},
            {"@odata.type": "#microsoft.graph.event", "id": "f", "@removed": {"reason": "deleted"}},
            {"@removed": {"reason": "deleted"}},
        ]});
        let mut out = CalendarChanges::default();
        delta_page(&page, &mut out);
        let e = |id: &str, etag: Option<&str>, start: Option<When>| ChangedEntry {
            id: id.into(),
            etag: etag.map(str::to_owned),
            start,
        };
        assert_eq!(
            out.changed,
            vec![
                e("a", Some("W/\"1\""), Some(When::Date("2026-05-04".parse().unwrap()))),
                e("c", Some("W/\"3\""), Some(at("2026-05-04T08:00:00Z", "Europe/Berlin"))),
                e("d", None, None),
                e("e", None, None),
            ]
        );
        assert_eq!(out.deleted, vec!["f".to_owned()]);
        assert!(!out.complete);
        let refused = |status: u16, code: &str| {
            token_refused(&Answer {
                status: StatusCode::from_u16(status).unwrap(),
                headers: HeaderMap::new(),
                json: json!({"error": {"code": code, "message": "m"}}),
            })
        };
        assert!(refused(410, "") && refused(400, "SyncStateNotFound") && refused(400, "resyncRequired"));
        assert!(!refused(400, "BadRequest") && !refused(404, "ErrorItemNotFound"));
    }

    #[test]
    fn subscriptions_live_at_most_as_long_as_graph_allows() {
        let now: Timestamp = "2026-03-27T08:00:00.123456789Z".parse().unwrap();
        // Three days asked: a minute short of 4,230 minutes given, in whole seconds.
        let end = subscription_end(now, Duration::from_secs(3 * 24 * 3600));
        assert_eq!(end, "2026-03-30T06:29:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(end.to_string(), "2026-03-30T06:29:00Z");
        let short = subscription_end(now, Duration::from_secs(3600));
        assert_eq!(short, "2026-03-27T09:00:00Z".parse::<Timestamp>().unwrap());
        // Never rounded up past the limit.
        let late: Timestamp = "2026-03-27T08:00:00.999Z".parse().unwrap();
        assert_eq!(subscription_end(late, Duration::MAX), end);
        assert_eq!(subscription_end(now, Duration::MAX), end);
        let answer = json!({"id": "sub-1", "expirationDateTime": "2026-03-30T06:30:00.1234567Z",
            "resource": "me/calendars/c/events", "clientState": "secret"});
        let w = subscription_watch(&answer, None).unwrap();
        assert_eq!(
            w,
            Watch {
                id: "sub-1".into(),
                resource_id: None,
                expires_at: "2026-03-30T06:30:00.1234567Z".parse().unwrap()
            }
        );
        let renewed =
            subscription_watch(&json!({"expirationDateTime": "2026-03-31T00:00:00Z"}), Some("sub-1")).unwrap();
        assert_eq!(renewed.id, "sub-1");
        assert!(subscription_watch(&json!({"expirationDateTime": "2026-03-31T00:00:00Z"}), None).is_err());
        assert!(subscription_watch(&json!({"id": "sub-1", "expirationDateTime": "soon"}), None).is_err());
    }

    #[test]
    fn classifies_errors_without_the_token() {
        let answer = |status: u16, retry: Option<&str>, json: Json| {
            let mut headers = HeaderMap::new();
            if let Some(r) = retry {
                headers.insert("retry-after", r.parse().unwrap());
            }
            Answer { status: StatusCode::from_u16(status).unwrap(), headers, json }
        };
        let e = |code: &str, msg: &str| json!({"error": {"code": code, "message": msg}});
        let t = Some("secret-token");
        assert_eq!(
            classify(&answer(401, None, e("InvalidAuthenticationToken", "bad secret-token")), t),
            ConnectorError::Unauthorized("InvalidAuthenticationToken: bad ***".into())
        );
        assert_eq!(
            classify(&answer(429, Some("7"), e("ApplicationThrottled", "slow down")), t),
            ConnectorError::RetryLater {
                after: Some(Duration::from_secs(7)),
                message: "ApplicationThrottled: slow down".into()
            }
        );
        assert!(matches!(
            classify(&answer(503, Some("3"), Json::Null), t),
            ConnectorError::RetryLater { after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(classify(&answer(500, None, Json::Null), t), ConnectorError::RetryLater { after: None, .. }));
        assert!(matches!(classify(&answer(404, None, Json::Null), t), ConnectorError::Gone(_)));
        assert_eq!(
            classify(&answer(400, None, e("BadRequest", "nope")), t),
            ConnectorError::Permanent("BadRequest: nope".into())
        );
        let long = "x".repeat(1000);
        match classify(&answer(400, None, e("", &long)), t) {
            ConnectorError::Permanent(m) => assert!(m.chars().count() <= MAX_MESSAGE + 1),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn own_calendar_is_found_by_name() {
        let c = |id: &str, name: &str| CalendarInfo { id: id.into(), name: name.into(), own: false };
        let list = vec![c("1", "Calendar"), c("2", "FLOWCAL"), c("3", "flowcal")];
        assert_eq!(GraphCalendar::find_named(list.clone(), "flowcal").unwrap().id, "3");
        assert_eq!(GraphCalendar::find_named(list[..2].to_vec(), "flowcal").unwrap().id, "2");
        assert!(GraphCalendar::find_named(list, "other").is_none());
    }
}
