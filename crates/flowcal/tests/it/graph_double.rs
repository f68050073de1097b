//! A Microsoft Graph v1.0 test double, built from Microsoft's documentation
//! (Graph's OpenAPI description is too large to keep here), and the Graph
//! connector run against it. Tokens are checked at a real oidc-provider by
//! RFC 7662 introspection; each token's `sub` has a mailbox of its own.
//!
//! What the double takes, and where that comes from:
//!
//! - event (https://learn.microsoft.com/en-us/graph/api/resources/event?view=graph-rest-1.0),
//!   the writable properties modelled: `subject` String; `body` itemBody
//!   (https://learn.microsoft.com/en-us/graph/api/resources/itembody?view=graph-rest-1.0:
//!   `contentType` `text` | `html`, `content` String); `start`, `end` dateTimeTimeZone;
//!   `isAllDay` Boolean ("start and end time must be set to midnight and be in the same
//!   time zone"); `showAs` `free` | `tentative` | `busy` | `oof` | `workingElsewhere` |
//!   `unknown`; `isReminderOn` Boolean; `reminderMinutesBeforeStart` Int32;
//!   `transactionId` String ("you cannot change transactionId in a subsequent update");
//!   `singleValueExtendedProperties` collection of {`id`, `value`}. Everything else in a
//!   request body is refused. Returned besides: `id`, `@odata.etag`, `changeKey`,
//!   `createdDateTime`, `lastModifiedDateTime`, `originalStartTimeZone`,
//!   `originalEndTimeZone`, `isCancelled`, `type`, `iCalUId`, `bodyPreview`.
//! - dateTimeTimeZone
//!   (https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone?view=graph-rest-1.0):
//!   `dateTime` `{date}T{time}` (example `2017-08-29T04:00:00.0000000`), `timeZone` one of
//!   Windows' zones or the IANA names listed there. Of the Windows names the double
//!   models only `UTC`.
//! - single-value extended properties
//!   (https://learn.microsoft.com/en-us/graph/api/resources/extended-properties-overview?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-post-singlevalueextendedproperties?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/singlevaluelegacyextendedproperty-get?view=graph-rest-1.0):
//!   `id` as `"{type} {guid} Name {name}"`, `"{type} {guid} Id {id}"` or
//!   `"{type} {proptag}"`; found with `$filter=singleValueExtendedProperties/Any(ep: ep/id
//!   eq '{id}' and ep/value eq '{value}')` (value compared ignoring case, the name not).
//!   Only that filter is supported, and `+` in a query is refused (OData reads it as a plus).
//! - calendar (https://learn.microsoft.com/en-us/graph/api/resources/calendar?view=graph-rest-1.0):
//!   create with `name` String (and `color` calendarColor); list
//!   (https://learn.microsoft.com/en-us/graph/api/user-list-calendars?view=graph-rest-1.0)
//!   two per page with `@odata.nextLink` (https://learn.microsoft.com/en-us/graph/paging).
//! - requests: `POST /v1.0/me/calendars`, `GET /v1.0/me/calendars[/{id}]`,
//!   `POST|GET /v1.0/me/calendars/{id}/events`, `GET|PATCH|DELETE
//!   /v1.0/me/calendars/{id}/events/{id}`
//!   (https://learn.microsoft.com/en-us/graph/api/calendar-post-events?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/event-get?view=graph-rest-1.0: `Prefer:
//!   outlook.timezone` and `outlook.body-content-type`, UTC and HTML by default;
//!   https://learn.microsoft.com/en-us/graph/api/event-update?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/event-delete?view=graph-rest-1.0).
//!   A repeated create with a `transactionId` answers 201 with the event made before.
//! - errors (https://learn.microsoft.com/en-us/graph/errors): `{"error": {"code",
//!   "message"}}`; 412 when `If-Match` does not match `@odata.etag`; 429 and 503 with
//!   `Retry-After` (https://learn.microsoft.com/en-us/graph/throttling), injected on demand;
//!   401 `InvalidAuthenticationToken` for a token that is missing, not active, or expired
//!   (an expiry is injected on demand: from then on that token is refused).
//! - permissions (https://learn.microsoft.com/en-us/graph/api/calendar-post-events?view=graph-rest-1.0,
//!   "Permissions"): a token needs the delegated permission `Calendars.ReadWrite`, as
//!   Entra ID grants it for the scope `https://graph.microsoft.com/Calendars.ReadWrite`;
//!   the connector tests' own tokens carry the peer's test scope `calendar` instead.
//!
//! - delta of a calendar's view
//!   (https://learn.microsoft.com/en-us/graph/api/event-delta?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/delta-query-events):
//!   `GET /v1.0/me/calendars/{id}/calendarView/delta` with `startDateTime` and
//!   `endDateTime` (ISO 8601) on the first request of a round and nothing else; then
//!   only the links it answers, `@odata.nextLink` (`$skiptoken`, two events a page, or
//!   fewer with `Prefer: odata.maxpagesize`) and, on the last page,
//!   `@odata.deltaLink` (`$deltatoken`), which starts the next round with what
//!   changed in the window since: events made or changed, and removed ones as
//!   `{"id", "@removed": {"reason": "deleted"}}`
//!   (https://learn.microsoft.com/en-us/graph/delta-query-overview). A delta token the
//!   double did not issue, or one invalidated ([`GraphDouble::invalidate_delta_tokens`]),
//!   is answered `410 Gone` with `syncStateNotFound`
//!   (https://learn.microsoft.com/en-us/graph/delta-query-overview#synchronization-reset).
//!   What a person does in Outlook: [`GraphDouble::delete_as_user`],
//!   [`GraphDouble::move_as_user`].
//!
//! - subscriptions (https://learn.microsoft.com/en-us/graph/api/subscription-post-subscriptions?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/subscription-update?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/subscription-delete?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/api/resources/subscription?view=graph-rest-1.0,
//!   https://learn.microsoft.com/en-us/graph/change-notifications-delivery-webhooks):
//!   `POST /v1.0/subscriptions` with `changeType` (a comma-separated list of `created`,
//!   `updated`, `deleted`), `notificationUrl` and `lifecycleNotificationUrl` (https),
//!   `resource` (`me/events` or `me/calendars/{id}/events` of the token's mailbox),
//!   `expirationDateTime` (in the future, at most 4,230 minutes ahead: "Maximum length
//!   of subscription per resource type", Outlook event) and `clientState` (at most 128
//!   characters); nothing else is modelled. Before it answers `201`, the double POSTs
//!   `?validationToken=…` to each URL and wants the token back within 10 s, `200`,
//!   `text/plain`; otherwise it answers `400` and keeps nothing
//!   ([`GraphDouble::validations`]). `PATCH /v1.0/subscriptions/{id}` takes a new
//!   `expirationDateTime`; `DELETE` ends it (`204`); an unknown one is `404`. While it
//!   lives, each change of an event in its calendar (through the API or by a person)
//!   is POSTed to its `notificationUrl` as `{"value": [{"subscriptionId", "clientState",
//!   "changeType", "resource", "resourceData", "subscriptionExpirationDateTime",
//!   "tenantId"}]}`, the changes of one request in one POST
//!   (https://learn.microsoft.com/en-us/graph/api/resources/changenotification?view=graph-rest-1.0);
//!   lifecycle notifications (`reauthorizationRequired`, `subscriptionRemoved`,
//!   `missed`, https://learn.microsoft.com/en-us/graph/change-notifications-lifecycle-events)
//!   go to `lifecycleNotificationUrl` on demand ([`GraphDouble::lifecycle`]). Every
//!   notification is sent in a task of its own once the double's state is let go, and
//!   recorded with the status the URL answered ([`GraphDouble::notified`]). Tests serve
//!   flowcal on http: [`GraphDouble::route_push`] maps the https base flowcal names to it.
//!
//! Not from the documentation, the double's own rules: a create needs `start` and `end`;
//! creating a calendar with a name in use answers 409 `ErrorFolderExists`; a local time
//! that occurs twice (clocks going back) is taken as the earlier one; deduplication by
//! `transactionId` considers only events that still exist.

use crate::access::Oidc;
use crate::connectors::{sample, suite};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use flowcal_calendar::graph::GraphCalendar;
use flowcal_calendar::{CalendarChoice, Connector, ConnectorError, Credential, EventSpec, Remote, When};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::{json, Map, Value as Json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const REDIRECT: &str = "http://127.0.0.1:1/cb";

/// The IANA names of https://learn.microsoft.com/en-us/graph/api/resources/datetimetimezone
/// ("Europe/Kyiv (Kiev)" and the like under both names), and `UTC`.
const ZONES: &str = "UTC Etc/GMT+12 Etc/GMT+11 Pacific/Honolulu America/Anchorage America/Santa_Isabel \
    America/Los_Angeles America/Phoenix America/Chihuahua America/Denver America/Guatemala America/Chicago \
    America/Mexico_City America/Regina America/Bogota America/New_York America/Indiana/Indianapolis \
    America/Caracas America/Asuncion America/Halifax America/Cuiaba America/La_Paz America/Santiago \
    America/St_Johns America/Sao_Paulo America/Argentina/Buenos_Aires America/Cayenne America/Godthab \
    America/Montevideo America/Bahia Etc/GMT+2 Atlantic/Azores Atlantic/Cape_Verde Africa/Casablanca Etc/GMT \
    Europe/London Atlantic/Reykjavik Europe/Berlin Europe/Budapest Europe/Paris Europe/Warsaw Africa/Lagos \
    Africa/Windhoek Europe/Bucharest Asia/Beirut Africa/Cairo Asia/Damascus Africa/Johannesburg Europe/Kyiv \
    Europe/Kiev Europe/Istanbul Asia/Jerusalem Asia/Amman Asia/Baghdad Europe/Kaliningrad Asia/Riyadh \
    Africa/Nairobi Asia/Tehran Asia/Dubai Asia/Baku Europe/Moscow Indian/Mauritius Asia/Tbilisi Asia/Yerevan \
    Asia/Kabul Asia/Karachi Asia/Toshkent Asia/Tashkent Asia/Kolkata Asia/Colombo Asia/Kathmandu Asia/Astana \
    Asia/Almaty Asia/Dhaka Asia/Yekaterinburg Asia/Yangon Asia/Rangoon Asia/Bangkok Asia/Novosibirsk \
    Asia/Shanghai Asia/Krasnoyarsk Asia/Singapore Australia/Perth Asia/Taipei Asia/Ulaanbaatar Asia/Irkutsk \
    Asia/Tokyo Asia/Seoul Australia/Adelaide Australia/Darwin Australia/Brisbane Australia/Sydney \
    Pacific/Port_Moresby Australia/Hobart Asia/Yakutsk Pacific/Guadalcanal Asia/Vladivostok Pacific/Auckland \
    Etc/GMT-12 Pacific/Fiji Asia/Magadan Pacific/Tongatapu Pacific/Apia Pacific/Kiritimati";

/// The longest a subscription to Outlook events may live (minutes).
const MAX_SUBSCRIPTION_MINUTES: i64 = 4230;
/// The tenant the double's notifications name.
pub const TENANT_ID: &str = "84bd8158-6d4d-4958-8b9f-9d6445542f95";
/// What Graph's validation request says, before its request id.
const VALIDATION: &str = "Validation: Testing client application reachability for subscription Request-Id: ";

const SHOW_AS: &[&str] = &["free", "tentative", "busy", "oof", "workingElsewhere", "unknown"];
const COLORS: &[&str] = &[
    "auto",
    "lightBlue",
    "lightGreen",
    "lightOrange",
    "lightGray",
    "lightYellow",
    "lightTeal",
    "lightPink",
    "lightBrown",
    "lightRed",
    "maxColor",
];

// ---- the double -----------------------------------------------------------------------------

/// A request as the double saw it (after authentication).
#[derive(Debug, Clone)]
pub struct Seen {
    /// The bearer token the request carried.
    pub token: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub if_match: Option<String>,
    pub prefer: Vec<String>,
    pub body: Json,
    pub status: u16,
}

pub struct GraphDouble {
    pub base: String,
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for GraphDouble {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Shared {
    base: String,
    oidc: Arc<Oidc>,
    /// Introspection results: the `sub`, or `None` for a token that is not active.
    tokens: Mutex<HashMap<String, Option<Principal>>>,
    state: Mutex<Store>,
    /// Where notifications to an https base really go ([`GraphDouble::route_push`]).
    routes: Mutex<Vec<(String, String)>>,
    /// Every notification sent, with the answer's status.
    notified: Arc<Mutex<Vec<Notified>>>,
    /// Notifications on their way.
    in_flight: Arc<AtomicUsize>,
    http: reqwest::Client,
}

/// A subscription (`POST /v1.0/subscriptions`).
#[derive(Debug, Clone)]
pub struct Subscription {
    pub id: String,
    /// The mailbox (the token's `sub`) it was made with.
    pub owner: String,
    pub calendar: String,
    pub resource: String,
    pub change_types: Vec<String>,
    pub notification_url: String,
    pub lifecycle_url: Option<String>,
    pub client_state: Option<String>,
    pub expires: Timestamp,
}

/// A notification the double sent, and what its URL answered.
#[derive(Debug, Clone)]
pub struct Notified {
    pub subscription: String,
    /// The URL as the subscription names it (https).
    pub url: String,
    /// The change types (`created`, …) or the lifecycle event it carried.
    pub kinds: Vec<String>,
    pub body: Json,
    /// The answer's status; `None` when nothing answered.
    pub status: Option<u16>,
}

/// A validation handshake the double made while creating a subscription.
#[derive(Debug, Clone)]
pub struct Validation {
    pub url: String,
    pub passed: bool,
    /// The answer's status; `None` when nothing answered in 10 s.
    pub status: Option<u16>,
}

/// A change to notify once the state is let go.
struct Change {
    subscription: String,
    change: &'static str,
    event: String,
    etag: Option<String>,
}

#[derive(Clone)]
struct Principal {
    sub: String,
    scope: String,
}

#[derive(Default)]
struct Store {
    mailboxes: HashMap<String, Vec<Cal>>,
    violations: Vec<String>,
    faults: Vec<(u16, Option<String>)>,
    /// Tokens Graph finds expired (refused with 401 from then on).
    expired: Vec<String>,
    /// The next request of this method finds its token expired.
    expire_on: Option<String>,
    /// The key filter finds nothing (as if the search lagged behind).
    filter_blind: bool,
    seen: Vec<Seen>,
    seq: u64,
    /// The rest of a delta round, by its `$skiptoken`.
    delta_pages: HashMap<String, DeltaPage>,
    /// Where each `$deltatoken` issued (and not invalidated) stands.
    delta_tokens: HashMap<String, DeltaState>,
    /// Subscriptions not deleted (nor removed), by id.
    subscriptions: HashMap<String, Subscription>,
    /// A subscription checked, waiting for its validation handshakes.
    pending: Option<Subscription>,
    /// Changes to notify.
    outbox: Vec<Change>,
    validations: Vec<Validation>,
    /// Notifications are kept back ([`GraphDouble::hold_notifications`]).
    held: bool,
}

/// Where a round of delta stands: its calendar and window, and the version
/// of each event in the window as last listed.
#[derive(Clone)]
struct DeltaState {
    sub: String,
    cal: String,
    window: (Timestamp, Timestamp),
    listed: HashMap<String, u64>,
}

/// What the next pages of a round hold.
struct DeltaPage {
    /// Events made or changed (by id), and removed ones.
    items: Vec<(String, bool)>,
    /// Where the round stands after its last page.
    then: DeltaState,
}

/// Events per page of delta (fewer with `Prefer: odata.maxpagesize`).
const DELTA_PAGE: usize = 2;

struct Cal {
    id: String,
    name: String,
    color: String,
    is_default: bool,
    events: Vec<Ev>,
}

#[derive(Clone)]
struct Ev {
    id: String,
    version: u64,
    created: Timestamp,
    modified: Timestamp,
    subject: String,
    body_type: String,
    body: String,
    start: (DateTime, String),
    end: (DateTime, String),
    all_day: bool,
    show_as: String,
    reminder_on: bool,
    reminder_minutes: i64,
    transaction_id: Option<String>,
    ext: Vec<(String, String)>,
}

struct Req {
    method: Method,
    path: String,
    query: String,
    if_match: Option<String>,
    prefer: Vec<String>,
    body: Json,
}

struct Reply {
    status: u16,
    body: Json,
    headers: Vec<(&'static str, String)>,
}

fn reply(status: u16, body: Json) -> Reply {
    Reply { status, body, headers: Vec::new() }
}

fn graph_error(status: u16, code: &str, message: &str) -> Reply {
    reply(status, json!({"error": {"code": code, "message": message}}))
}

impl GraphDouble {
    pub async fn start(oidc: Arc<Oidc>) -> GraphDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            base: base.clone(),
            oidc,
            tokens: Mutex::new(HashMap::new()),
            state: Mutex::new(Store::default()),
            routes: Mutex::new(Vec::new()),
            notified: Arc::new(Mutex::new(Vec::new())),
            in_flight: Arc::new(AtomicUsize::new(0)),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        });
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        GraphDouble { base, shared, server }
    }

    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        self.shared.state.lock().unwrap()
    }

    pub fn violations(&self) -> Vec<String> {
        self.store().violations.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.store().seen.clone()
    }

    /// The next request answers `status` (with `Retry-After`).
    pub fn fail_next(&self, status: u16, retry_after: Option<&str>) {
        self.store().faults.push((status, retry_after.map(str::to_owned)));
    }

    pub fn set_filter_blind(&self, blind: bool) {
        self.store().filter_blind = blind;
    }

    /// The token of the next `method` request has expired by the time it
    /// arrives (Graph checks a token's lifetime itself): that request and
    /// every later one with the same token answer 401.
    pub fn expire_token_on(&self, method: &str) {
        self.store().expire_on = Some(method.to_owned());
    }

    /// The event `id` as a Graph client reads it (`GET …/events/{id}`, times in
    /// UTC, the body as text), with `token`.
    pub async fn read_back(&self, token: &str, calendar: &str, id: &str) -> Json {
        let r = reqwest::Client::new()
            .get(format!("{}/v1.0/me/calendars/{calendar}/events/{id}", self.base))
            .bearer_auth(token)
            .header("Prefer", "outlook.timezone=\"UTC\"")
            .header("Prefer", "outlook.body-content-type=\"text\"")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET event {id}");
        r.json().await.unwrap()
    }

    /// The ids of the events that carry flowcal's `key` (as their
    /// transactionId or key property), in any calendar of any mailbox.
    pub fn events_with_key(&self, key: &str) -> Vec<String> {
        let st = self.store();
        st.mailboxes
            .values()
            .flatten()
            .flat_map(|c| c.events.iter())
            .filter(|e| e.transaction_id.as_deref() == Some(key) || e.ext.iter().any(|(_, v)| v == key))
            .map(|e| e.id.clone())
            .collect()
    }

    fn with_event<R>(&self, id: &str, f: impl FnOnce(&mut Ev) -> R) -> R {
        let mut st = self.store();
        let ev = st
            .mailboxes
            .values_mut()
            .flat_map(|cals| cals.iter_mut())
            .flat_map(|c| c.events.iter_mut())
            .find(|e| e.id == id)
            .unwrap_or_else(|| panic!("no event {id}"));
        f(ev)
    }

    /// Changes event `id` as a person does in Outlook (`f`, then a new
    /// version is up to it); subscriptions to its calendar are notified.
    fn as_user<R>(&self, id: &str, f: impl FnOnce(&mut Ev) -> R) -> R {
        let out = {
            let mut st = self.store();
            let (owner, cal) = st.locate(id).unwrap_or_else(|| panic!("no event {id}"));
            let ev = st
                .mailboxes
                .get_mut(&owner)
                .and_then(|cals| cals.iter_mut().find(|c| c.id == cal))
                .and_then(|c| c.events.iter_mut().find(|e| e.id == id))
                .unwrap_or_else(|| unreachable!());
            let r = f(ev);
            let tag = etag(ev);
            st.changed(&owner, &cal, id, Some(tag), "updated");
            r
        };
        self.shared.flush();
        out
    }

    /// Someone changes the event in Outlook: new subject, new etag.
    pub fn touch(&self, id: &str, subject: &str) {
        self.as_user(id, |e| {
            e.subject = subject.to_owned();
            e.version += 1;
        });
    }

    /// Someone saves the event again in `zone`: an all-day event keeps its
    /// dates (midnight there), a timed one its instant.
    pub fn move_to_zone(&self, id: &str, zone: &str) {
        let tz = TimeZone::get(zone).unwrap();
        self.as_user(id, |e| {
            for part in [&mut e.start, &mut e.end] {
                let local = if e.all_day { part.0 } else { tz.to_datetime(instant(part).unwrap()) };
                *part = (local, zone.to_owned());
            }
            e.version += 1;
        });
    }

    /// The event as stored: its start and end as given, with their zones.
    pub fn stored(&self, id: &str) -> Json {
        self.with_event(id, |e| {
            json!({"start": [dt_text(e.start.0), e.start.1], "end": [dt_text(e.end.0), e.end.1],
                   "isAllDay": e.all_day, "transactionId": e.transaction_id, "subject": e.subject})
        })
    }

    /// Every delta token issued so far stops working (Graph drops them as its
    /// cache fills): the next round with one is answered `410 Gone`,
    /// `syncStateNotFound`.
    pub fn invalidate_delta_tokens(&self) {
        self.store().delta_tokens.clear();
    }

    /// A person deletes the event in Outlook.
    pub fn delete_as_user(&self, id: &str) {
        {
            let mut st = self.store();
            let (owner, cal) = st.locate(id).unwrap_or_else(|| panic!("no event {id}"));
            if let Some(c) = st.mailboxes.get_mut(&owner).and_then(|cals| cals.iter_mut().find(|c| c.id == cal)) {
                c.events.retain(|e| e.id != id);
            }
            st.changed(&owner, &cal, id, None, "deleted");
        }
        self.shared.flush();
    }

    /// A person moves the event in Outlook to start at `when`: all day on
    /// that date (in the zone it had), or at that instant shown in its zone
    /// (UTC where the double does not know it); it keeps its length (a day,
    /// or 30 minutes, when it changes from one kind to the other). A new
    /// version (etag).
    pub fn move_as_user(&self, id: &str, when: &When) {
        self.as_user(id, |e| {
            match when {
                When::Date(d) => {
                    let days = if e.all_day { (e.end.0.date() - e.start.0.date()).get_days().max(1) } else { 1 };
                    let zone = e.start.1.clone();
                    let midnight = jiff::civil::Time::midnight();
                    e.start = (d.to_datetime(midnight), zone.clone());
                    e.end = (d.checked_add(jiff::Span::new().days(days)).unwrap().to_datetime(midnight), zone);
                    e.all_day = true;
                }
                When::At { at, zone } => {
                    let length = match (e.all_day, instant(&e.start), instant(&e.end)) {
                        (false, Ok(s), Ok(end)) => end.duration_since(s),
                        _ => jiff::SignedDuration::from_mins(30),
                    };
                    let name = if zone_of(zone).is_ok() { zone.clone() } else { "UTC".to_owned() };
                    let tz = zone_of(&name).unwrap();
                    e.start = (tz.to_datetime(*at), name.clone());
                    e.end = (tz.to_datetime(at.checked_add(length).unwrap()), name);
                    e.all_day = false;
                }
            }
            e.version += 1;
            e.modified = Timestamp::now();
        });
    }

    /// Events in the calendar `cal`, in any mailbox.
    pub fn count(&self, cal: &str) -> usize {
        let st = self.store();
        st.mailboxes.values().flatten().filter(|c| c.id == cal).map(|c| c.events.len()).sum()
    }

    /// The day event `id` starts on (all day: its date; timed: the date in
    /// its zone), or `None` when there is no such event.
    pub fn start_date(&self, id: &str) -> Option<String> {
        let st = self.store();
        let ev = st.mailboxes.values().flatten().flat_map(|c| c.events.iter()).find(|e| e.id == id)?;
        Some(ev.start.0.date().to_string())
    }

    /// Notifications to a URL under the https base `from` go to `to` instead
    /// (flowcal is served on plain http in tests; its push URL is https).
    pub fn route_push(&self, from: &str, to: &str) {
        let (from, to) = (from.trim_end_matches('/'), to.trim_end_matches('/'));
        self.shared.routes.lock().unwrap().push((from.to_owned(), to.to_owned()));
    }

    /// The subscriptions that live now.
    pub fn subscriptions(&self) -> Vec<Subscription> {
        let mut list: Vec<Subscription> = self.store().subscriptions.values().cloned().collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Change notifications are kept back (as when Graph is slow to send
    /// them) until [`release_notifications`](Self::release_notifications).
    pub fn hold_notifications(&self) {
        self.store().held = true;
    }

    /// The notifications kept back go out, and later ones at once.
    pub fn release_notifications(&self) {
        self.store().held = false;
        self.shared.flush();
    }

    /// Every notification sent so far (and answered, or found unreachable).
    pub fn notified(&self) -> Vec<Notified> {
        self.shared.notified.lock().unwrap().clone()
    }

    /// Every validation handshake so far.
    pub fn validations(&self) -> Vec<Validation> {
        self.store().validations.clone()
    }

    /// Waits until every notification sent so far has its answer.
    pub async fn settle(&self) {
        crate::access::wait_until(Duration::from_secs(60), "the notifications to be answered", || async {
            (self.shared.in_flight.load(Ordering::SeqCst) == 0).then_some(())
        })
        .await;
    }

    /// Graph sends lifecycle notification `event` (`reauthorizationRequired`,
    /// `subscriptionRemoved`, `missed`) for subscription `id` to its
    /// lifecycle URL (its notification URL when it has none), in a task of
    /// its own; what the URL answered. `subscriptionRemoved`: Graph has
    /// removed it.
    pub async fn lifecycle(&self, id: &str, event: &str) -> Option<u16> {
        let (sub, body) = {
            let mut st = self.store();
            let sub = st.subscriptions.get(id).cloned().unwrap_or_else(|| panic!("no subscription {id}"));
            if event == "subscriptionRemoved" {
                st.subscriptions.remove(id);
            }
            let mut item = json!({"subscriptionId": sub.id, "subscriptionExpirationDateTime": graph_time(sub.expires),
                "tenantId": TENANT_ID, "lifecycleEvent": event});
            if let Some(c) = &sub.client_state {
                item["clientState"] = json!(c);
            }
            (sub, json!({ "value": [item] }))
        };
        let url = sub.lifecycle_url.clone().unwrap_or_else(|| sub.notification_url.clone());
        self.shared.post(sub.id, url, vec![event.to_owned()], body).await.unwrap()
    }
}

async fn handle(State(s): State<Arc<Shared>>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let (who, token) = match s.authenticate(&headers, &method, &uri).await {
        Ok(p) => p,
        Err(r) => return respond(r),
    };
    if !who.scope.split(' ').any(|sc| {
        sc == "calendar" || sc == "Calendars.ReadWrite" || sc == "https://graph.microsoft.com/Calendars.ReadWrite"
    }) {
        return respond(graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."));
    }
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let prefer = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect();
    let mut req = Req {
        method,
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        if_match: text("if-match"),
        prefer,
        body: Json::Null,
    };
    let (out, pending) = {
        let mut st = s.state.lock().unwrap();
        if st.expire_on.as_deref() == Some(req.method.as_str()) {
            st.expire_on = None;
            st.expired.push(token.clone());
        }
        let out = if st.expired.contains(&token) {
            // Refused before its body is looked at; the body is kept for the record.
            req.body = serde_json::from_slice(&body).unwrap_or(Json::Null);
            graph_error(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        } else if body.is_empty() {
            st.route(&s.base, &who.sub, &req)
        } else if text("content-type").is_none_or(|c| !c.starts_with("application/json")) {
            st.bad(&req, "a request body must be application/json")
        } else {
            match serde_json::from_slice(&body) {
                Ok(v) => {
                    req.body = v;
                    st.route(&s.base, &who.sub, &req)
                }
                Err(e) => st.bad(&req, &format!("the body is not JSON: {e}")),
            }
        };
        // A subscription is made once Graph has validated its URLs.
        (out, st.pending.take())
    };
    let out = match pending {
        Some(p) => s.subscribe(p).await,
        None => out,
    };
    s.state.lock().unwrap().seen.push(Seen {
        token,
        method: req.method.to_string(),
        path: req.path,
        query: req.query,
        if_match: req.if_match,
        prefer: req.prefer,
        body: req.body,
        status: out.status,
    });
    // The request's changes are notified.
    s.flush();
    respond(out)
}

fn respond(r: Reply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap();
    let mut resp = if r.body.is_null() { status.into_response() } else { (status, axum::Json(r.body)).into_response() };
    for (k, v) in r.headers {
        resp.headers_mut().append(k, v.parse().unwrap());
    }
    resp
}

impl Shared {
    /// Where a notification to `url` is sent.
    fn routed(&self, url: &str) -> String {
        let routes = self.routes.lock().unwrap();
        routes
            .iter()
            .find_map(|(from, to)| {
                url.strip_prefix(from.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
                    .map(|rest| format!("{to}{rest}"))
            })
            .unwrap_or_else(|| url.to_owned())
    }

    /// POSTs `body` to `url` (as routed) in a task of its own and records
    /// what it answered.
    fn post(
        &self,
        subscription: String,
        url: String,
        kinds: Vec<String>,
        body: Json,
    ) -> tokio::task::JoinHandle<Option<u16>> {
        let target = self.routed(&url);
        let (http, notified, in_flight) = (self.http.clone(), self.notified.clone(), self.in_flight.clone());
        in_flight.fetch_add(1, Ordering::SeqCst);
        tokio::spawn(async move {
            let status = http.post(&target).json(&body).send().await.ok().map(|r| r.status().as_u16());
            notified.lock().unwrap().push(Notified { subscription, url, kinds, body, status });
            in_flight.fetch_sub(1, Ordering::SeqCst);
            status
        })
    }

    /// Sends the changes due: one POST per subscription, with a notification
    /// per change, after the state is let go.
    fn flush(&self) {
        let due: Vec<(Subscription, Vec<Change>)> = {
            let mut st = self.state.lock().unwrap();
            if st.held {
                return;
            }
            let mut by_sub: Vec<(Subscription, Vec<Change>)> = Vec::new();
            for c in std::mem::take(&mut st.outbox) {
                let Some(sub) = st.subscriptions.get(&c.subscription) else { continue };
                match by_sub.iter_mut().find(|(s, _)| s.id == sub.id) {
                    Some((_, list)) => list.push(c),
                    None => by_sub.push((sub.clone(), vec![c])),
                }
            }
            by_sub
        };
        for (sub, changes) in due {
            let items: Vec<Json> = changes
                .iter()
                .map(|c| {
                    let resource = format!("Users/{}/Events/{}", sub.owner, c.event);
                    let mut data =
                        json!({"@odata.type": "#Microsoft.Graph.Event", "@odata.id": resource, "id": c.event});
                    if let Some(e) = &c.etag {
                        data["@odata.etag"] = json!(e);
                    }
                    let mut item = json!({"subscriptionId": sub.id,
                        "subscriptionExpirationDateTime": graph_time(sub.expires), "changeType": c.change,
                        "resource": resource, "resourceData": data, "tenantId": TENANT_ID});
                    if let Some(cs) = &sub.client_state {
                        item["clientState"] = json!(cs);
                    }
                    item
                })
                .collect();
            let kinds = changes.iter().map(|c| c.change.to_owned()).collect();
            drop(self.post(sub.id.clone(), sub.notification_url.clone(), kinds, json!({ "value": items })));
        }
    }

    /// Graph's validation request to `url`: the token must come back as
    /// plain text, `200`, within 10 s.
    async fn validate(&self, url: &str) -> Validation {
        let token = format!("{VALIDATION}{:032x}", rand::random::<u128>());
        let mut target = reqwest::Url::parse(&self.routed(url)).unwrap();
        target.query_pairs_mut().append_pair("validationToken", &token);
        let answer = self
            .http
            .post(target)
            .header("content-type", "text/plain; charset=utf-8")
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let (status, passed) = match answer {
            Ok(r) => {
                let status = r.status().as_u16();
                let plain = r
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.starts_with("text/plain"));
                let echoed = r.text().await.is_ok_and(|t| t == token);
                (Some(status), status == 200 && plain && echoed)
            }
            Err(_) => (None, false),
        };
        Validation { url: url.to_owned(), passed, status }
    }

    /// Makes subscription `p` once its notification URL (and lifecycle
    /// URL) passed the validation handshake; else `400`.
    async fn subscribe(&self, p: Subscription) -> Reply {
        let urls: Vec<String> = std::iter::once(p.notification_url.clone()).chain(p.lifecycle_url.clone()).collect();
        for url in urls {
            let v = self.validate(&url).await;
            let passed = v.passed;
            self.state.lock().unwrap().validations.push(v);
            if !passed {
                return graph_error(
                    400,
                    "ValidationError",
                    "Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.",
                );
            }
        }
        let out = reply(201, subscription_json(&self.base, &p));
        self.state.lock().unwrap().subscriptions.insert(p.id.clone(), p);
        out
    }

    /// The token's principal, and the token.
    async fn authenticate(
        &self,
        headers: &HeaderMap,
        method: &Method,
        uri: &Uri,
    ) -> Result<(Principal, String), Reply> {
        let refused =
            || graph_error(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.");
        let Some(token) = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::to_owned)
        else {
            self.state.lock().unwrap().violations.push(format!("{method} {uri}: no bearer token"));
            return Err(graph_error(401, "InvalidAuthenticationToken", "Access token is empty."));
        };
        let cached = self.tokens.lock().unwrap().get(&token).cloned();
        let known = match cached {
            Some(k) => k,
            None => {
                let r = self.oidc.introspect(&token).await;
                let k = (r["active"] == json!(true)).then(|| Principal {
                    sub: r["sub"].as_str().unwrap_or_default().to_owned(),
                    scope: r["scope"].as_str().unwrap_or_default().to_owned(),
                });
                self.tokens.lock().unwrap().insert(token.clone(), k.clone());
                k
            }
        };
        known.filter(|p| !p.sub.is_empty()).map(|p| (p, token)).ok_or_else(refused)
    }
}

// ---- routes ---------------------------------------------------------------------------------

fn pct_decode(s: &str) -> String {
    let hex = |c: u8| char::from(c).to_digit(16);
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let (b'%', Some(Some(h)), Some(Some(l))) =
            (b[i], b.get(i + 1).map(|c| hex(*c)), b.get(i + 2).map(|c| hex(*c)))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query's parameters, decoded; `+` is refused (OData keeps it a plus).
fn query_params(q: &str) -> Result<Vec<(String, String)>, String> {
    if q.contains('+') {
        return Err("'+' in the query: OData reads it as a plus sign, a space must be %20".into());
    }
    Ok(q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect())
}

/// A quoted OData string literal at the start of `s` ('' inside is a quote).
fn quoted(s: &str) -> Option<(String, &str)> {
    let mut rest = s.strip_prefix('\'')?;
    let mut out = String::new();
    loop {
        let i = rest.find('\'')?;
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        match rest.strip_prefix('\'') {
            Some(r) => {
                out.push('\'');
                rest = r;
            }
            None => return Some((out, rest)),
        }
    }
}

/// `singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')`.
fn key_filter(f: &str) -> Option<(String, String)> {
    let rest = f.strip_prefix("singleValueExtendedProperties/Any(ep: ep/id eq ")?;
    let (id, rest) = quoted(rest)?;
    let rest = rest.strip_prefix(" and ep/value eq ")?;
    let (value, rest) = quoted(rest)?;
    (rest == ")").then_some((id, value))
}

fn check_property_id(id: &str) -> Result<(), String> {
    let bad = || format!("extended property id {id:?} is not in a documented format");
    let (ty, rest) = id.split_once(' ').ok_or_else(bad)?;
    if ty != "String" {
        return Err(format!("extended property type {ty:?}: the double models String values only"));
    }
    if let Some(tag) = rest.strip_prefix("0x") {
        return (tag.len() == 8 && tag.chars().all(|c| c.is_ascii_hexdigit())).then_some(()).ok_or_else(bad);
    }
    let (guid, rest) = rest.split_once(' ').ok_or_else(bad)?;
    let inner = guid.strip_prefix('{').and_then(|g| g.strip_suffix('}')).ok_or_else(bad)?;
    let groups: Vec<&str> = inner.split('-').collect();
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens != [8, 4, 4, 4, 12] || !inner.chars().all(|c| c == '-' || c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    match rest.split_once(' ') {
        Some(("Name", n)) if !n.is_empty() && !n.contains(' ') => Ok(()),
        Some(("Id", n))
            if n.strip_prefix("0x").is_some_and(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_hexdigit())) =>
        {
            Ok(())
        }
        _ => Err(bad()),
    }
}

/// `{date}T{time}` with at most seven fractional digits.
fn parse_date_time(s: &str) -> Result<DateTime, String> {
    let b = s.as_bytes();
    let shape = b.len() >= 19
        && b.iter().take(19).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        })
        && (b.len() == 19 || (b[19] == b'.' && (21..=27).contains(&b.len()) && b[20..].iter().all(u8::is_ascii_digit)));
    if !shape {
        return Err(format!("dateTime {s:?} is not {{date}}T{{time}} (YYYY-MM-DDTHH:MM:SS[.fffffff])"));
    }
    s.parse().map_err(|e| format!("dateTime {s:?}: {e}"))
}

fn zone_of(name: &str) -> Result<TimeZone, String> {
    if !ZONES.split_whitespace().any(|z| z == name) {
        return Err(format!("timeZone {name:?} is not among the documented IANA names (nor UTC)"));
    }
    if name == "UTC" {
        return Ok(TimeZone::UTC);
    }
    TimeZone::get(name).map_err(|e| format!("timeZone {name:?}: the double cannot model it: {e}"))
}

fn instant(part: &(DateTime, String)) -> Result<Timestamp, String> {
    zone_of(&part.1)?.to_ambiguous_timestamp(part.0).compatible().map_err(|e| e.to_string())
}

fn dt_text(dt: DateTime) -> String {
    format!("{}.{:07}", dt.strftime("%Y-%m-%dT%H:%M:%S"), dt.subsec_nanosecond() / 100)
}

fn date_time_zone(v: &Json, what: &str) -> Result<(DateTime, String), String> {
    let o = v.as_object().ok_or_else(|| format!("{what} must be a dateTimeTimeZone object"))?;
    if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "dateTime" | "timeZone")) {
        return Err(format!("{what}.{k} is not a dateTimeTimeZone property"));
    }
    let dt = o.get("dateTime").and_then(Json::as_str).ok_or_else(|| format!("{what}.dateTime must be a string"))?;
    let tz = o.get("timeZone").and_then(Json::as_str).ok_or_else(|| format!("{what}.timeZone must be a string"))?;
    zone_of(tz)?;
    Ok((parse_date_time(dt).map_err(|e| format!("{what}.{e}"))?, tz.to_owned()))
}

/// Checks an event body against the documented resource and applies it to `ev`.
fn apply_event(ev: &mut Ev, body: &Json, create: bool) -> Result<(), String> {
    let o: &Map<String, Json> = body.as_object().ok_or("the body must be an event object")?;
    for (k, v) in o {
        let want = |ok: bool, ty: &str| if ok { Ok(()) } else { Err(format!("{k} must be {ty}, not {v}")) };
        match k.as_str() {
            "subject" => {
                want(v.is_string(), "a string")?;
                ev.subject = v.as_str().unwrap_or_default().to_owned();
            }
            "body" => {
                let b = v.as_object().ok_or("body must be an itemBody object")?;
                if let Some(x) = b.keys().find(|x| !matches!(x.as_str(), "contentType" | "content")) {
                    return Err(format!("body.{x} is not an itemBody property"));
                }
                let ct = b.get("contentType").and_then(Json::as_str).unwrap_or("text").to_ascii_lowercase();
                if !matches!(ct.as_str(), "text" | "html") {
                    return Err(format!("body.contentType {ct:?} is neither text nor html"));
                }
                let content = b.get("content").map(|c| c.as_str().ok_or("body.content must be a string"));
                ev.body = content.transpose()?.unwrap_or_default().to_owned();
                ev.body_type = ct;
            }
            "start" => ev.start = date_time_zone(v, "start")?,
            "end" => ev.end = date_time_zone(v, "end")?,
            "isAllDay" => {
                want(v.is_boolean(), "a Boolean")?;
                ev.all_day = v == &json!(true);
            }
            "showAs" => {
                let s = v.as_str().filter(|s| SHOW_AS.contains(s));
                ev.show_as = s.ok_or_else(|| format!("showAs {v} is not one of {SHOW_AS:?}"))?.to_owned();
            }
            "isReminderOn" => {
                want(v.is_boolean(), "a Boolean")?;
                ev.reminder_on = v == &json!(true);
            }
            "reminderMinutesBeforeStart" => {
                let m = v.as_i64().filter(|m| i32::try_from(*m).is_ok());
                ev.reminder_minutes =
                    m.ok_or_else(|| format!("reminderMinutesBeforeStart must be an Int32, not {v}"))?;
            }
            "transactionId" => {
                let t = v.as_str().ok_or_else(|| format!("transactionId must be a string, not {v}"))?;
                if !create && ev.transaction_id.as_deref() != Some(t) {
                    return Err("transactionId cannot be changed after the create".into());
                }
                ev.transaction_id = Some(t.to_owned());
            }
            "singleValueExtendedProperties" => {
                let items = v.as_array().ok_or("singleValueExtendedProperties must be an array")?;
                for p in items {
                    let p = p.as_object().ok_or("an extended property must be an object")?;
                    if let Some(x) = p.keys().find(|x| !matches!(x.as_str(), "id" | "value")) {
                        return Err(format!("singleValueExtendedProperties[].{x} is not a property"));
                    }
                    let (Some(id), Some(value)) =
                        (p.get("id").and_then(Json::as_str), p.get("value").and_then(Json::as_str))
                    else {
                        return Err("an extended property needs id and value, both strings".into());
                    };
                    check_property_id(id)?;
                    ev.ext.retain(|(i, _)| i != id);
                    ev.ext.push((id.to_owned(), value.to_owned()));
                }
            }
            other => return Err(format!("{other} is not an event property the double takes")),
        }
    }
    if create && !(o.contains_key("start") && o.contains_key("end")) {
        return Err("a new event needs start and end".into());
    }
    let (s, e) = (instant(&ev.start)?, instant(&ev.end)?);
    if e < s {
        return Err("end is before start".into());
    }
    if ev.all_day {
        let midnight = jiff::civil::Time::midnight();
        if ev.start.0.time() != midnight || ev.end.0.time() != midnight {
            return Err("an all-day event starts and ends at midnight".into());
        }
        if ev.start.1 != ev.end.1 {
            return Err("an all-day event has start and end in the same time zone".into());
        }
        if ev.end.0.date() <= ev.start.0.date() {
            return Err("an all-day event lasts whole days (one at least)".into());
        }
    }
    Ok(())
}

impl Store {
    /// The mailbox and calendar holding event `id`.
    fn locate(&self, id: &str) -> Option<(String, String)> {
        self.mailboxes.iter().find_map(|(owner, cals)| {
            cals.iter().find(|c| c.events.iter().any(|e| e.id == id)).map(|c| (owner.clone(), c.id.clone()))
        })
    }

    /// Event `event` of `owner`'s calendar `cal` was made, changed or
    /// deleted (`change`): the subscriptions to it that live are notified.
    fn changed(&mut self, owner: &str, cal: &str, event: &str, etag: Option<String>, change: &'static str) {
        let now = Timestamp::now();
        let ids: Vec<String> = self
            .subscriptions
            .values()
            .filter(|s| s.owner == owner && s.calendar == cal && s.expires > now)
            .filter(|s| s.change_types.iter().any(|c| c == change))
            .map(|s| s.id.clone())
            .collect();
        for subscription in ids {
            self.outbox.push(Change { subscription, change, event: event.to_owned(), etag: etag.clone() });
        }
    }

    /// `POST /v1.0/subscriptions`: the body checked; the subscription waits
    /// for its validation handshakes ([`Shared::subscribe`]).
    fn check_subscription(&mut self, sub: &str, req: &Req) -> Reply {
        const KEYS: [&str; 6] = [
            "changeType",
            "notificationUrl",
            "lifecycleNotificationUrl",
            "resource",
            "expirationDateTime",
            "clientState",
        ];
        let Some(o) = req.body.as_object() else { return self.bad(req, "the body must be a subscription object") };
        if let Some(k) = o.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return self.bad(req, &format!("{k} is not a subscription property the double models"));
        }
        let text = |k: &str| o.get(k).and_then(Json::as_str);
        let changes: Vec<String> = text("changeType").unwrap_or_default().split(',').map(str::to_owned).collect();
        if changes.iter().any(|c| !matches!(c.as_str(), "created" | "updated" | "deleted"))
            || (1..changes.len()).any(|i| changes[..i].contains(&changes[i]))
        {
            return self.bad(req, "changeType must list created, updated and deleted (comma-separated, each once)");
        }
        let https = |k: &str| text(k).filter(|u| u.starts_with("https://") && reqwest::Url::parse(u).is_ok());
        let Some(notification_url) = https("notificationUrl") else {
            return self.bad(req, "notificationUrl must be an https URL");
        };
        let lifecycle_url = match o.get("lifecycleNotificationUrl") {
            None => None,
            Some(_) => match https("lifecycleNotificationUrl") {
                Some(u) => Some(u.to_owned()),
                None => return self.bad(req, "lifecycleNotificationUrl must be an https URL"),
            },
        };
        let client_state = match o.get("clientState") {
            None => None,
            Some(Json::String(c)) if c.chars().count() <= 128 => Some(c.clone()),
            Some(_) => return self.bad(req, "clientState must be a string of at most 128 characters"),
        };
        let expires = match expiration(o.get("expirationDateTime")) {
            Ok(t) => t,
            Err(e) => return self.bad(req, &e),
        };
        let resource = text("resource").unwrap_or_default().to_owned();
        let calendar = match resource.trim_start_matches('/').split('/').collect::<Vec<_>>().as_slice() {
            ["me", "events"] => self.mailbox(sub).iter().find(|c| c.is_default).map(|c| c.id.clone()),
            ["me", "calendars", id, "events"] => self.mailbox(sub).iter().find(|c| c.id == *id).map(|c| c.id.clone()),
            _ => return self.bad(req, &format!("resource {resource:?} is not an event collection the double models")),
        };
        let Some(calendar) = calendar else { return not_found() };
        let r = rand::random::<u128>();
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
            r >> 96,
            (r >> 80) & 0xffff,
            (r >> 68) & 0xfff,
            (r >> 56) & 0xfff,
            r & 0xffff_ffff_ffff
        );
        self.pending = Some(Subscription {
            id,
            owner: sub.to_owned(),
            calendar,
            resource,
            change_types: changes,
            notification_url: notification_url.to_owned(),
            lifecycle_url,
            client_state,
            expires,
        });
        // Answered once the URLs are validated.
        reply(0, Json::Null)
    }

    /// `PATCH /v1.0/subscriptions/{id}`: a new `expirationDateTime`.
    fn renew_subscription(&mut self, base: &str, sub: &str, id: &str, req: &Req) -> Reply {
        let Some(o) = req.body.as_object() else { return self.bad(req, "the body must be a subscription object") };
        if let Some(k) = o.keys().find(|k| k.as_str() != "expirationDateTime") {
            return self.bad(req, &format!("{k}: the double models renewing (expirationDateTime) only"));
        }
        let expires = match expiration(o.get("expirationDateTime")) {
            Ok(t) => t,
            Err(e) => return self.bad(req, &e),
        };
        match self.subscriptions.get_mut(id).filter(|s| s.owner == sub && s.expires > Timestamp::now()) {
            Some(s) => {
                s.expires = expires;
                reply(200, subscription_json(base, s))
            }
            None => graph_error(404, "ResourceNotFound", "The object was not found."),
        }
    }

    /// `DELETE /v1.0/subscriptions/{id}`.
    fn delete_subscription(&mut self, sub: &str, id: &str, req: &Req) -> Reply {
        if !req.body.is_null() {
            return self.bad(req, "DELETE takes no body");
        }
        match self.subscriptions.get(id) {
            Some(s) if s.owner == sub => {
                self.subscriptions.remove(id);
                reply(204, Json::Null)
            }
            _ => graph_error(404, "ResourceNotFound", "The object was not found."),
        }
    }

    fn bad(&mut self, req: &Req, msg: &str) -> Reply {
        let q = if req.query.is_empty() { String::new() } else { format!("?{}", req.query) };
        self.violations.push(format!("{} {}{q}: {msg}", req.method, req.path));
        graph_error(400, "BadRequest", msg)
    }

    fn next_id(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("AAMkADk-{:06}_{what}AAA=", self.seq)
    }

    fn mailbox(&mut self, sub: &str) -> &mut Vec<Cal> {
        if !self.mailboxes.contains_key(sub) {
            let cals = ["Calendar", "Birthdays", "United States holidays"]
                .iter()
                .enumerate()
                .map(|(i, name)| Cal {
                    id: self.next_id("cal"),
                    name: (*name).to_owned(),
                    color: "auto".into(),
                    is_default: i == 0,
                    events: Vec::new(),
                })
                .collect();
            self.mailboxes.insert(sub.to_owned(), cals);
        }
        self.mailboxes.get_mut(sub).unwrap_or_else(|| unreachable!())
    }

    fn route(&mut self, base: &str, sub: &str, req: &Req) -> Reply {
        if !self.faults.is_empty() {
            let (status, after) = self.faults.remove(0);
            let mut r =
                graph_error(status, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.");
            if let Some(a) = after {
                r.headers.push(("retry-after", a));
            }
            return r;
        }
        let segs: Vec<String> = req.path.trim_start_matches('/').split('/').map(pct_decode).collect();
        let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
        let params = match query_params(&req.query) {
            Ok(p) => p,
            Err(e) => return self.bad(req, &e),
        };
        let m = req.method.as_str();
        let listing = matches!(
            (m, segs.as_slice()),
            (
                "GET",
                ["v1.0", "me", "calendars"]
                    | ["v1.0", "me", "calendars", _, "events"]
                    | ["v1.0", "me", "calendars", _, "calendarView", "delta"]
            )
        );
        if !listing && !params.is_empty() {
            return self.bad(req, "query options the double does not model");
        }
        let prefs = match prefer(&req.prefer) {
            Ok(p) => p,
            Err(e) => return self.bad(req, &e),
        };
        match (m, segs.as_slice()) {
            ("GET", ["v1.0", "me", "calendars"]) => self.list_calendars(base, sub, req, &params),
            ("POST", ["v1.0", "me", "calendars"]) => self.create_calendar(sub, req),
            ("GET", ["v1.0", "me", "calendars", id]) => {
                let found = self.mailbox(sub).iter().find(|c| c.id == *id).map(calendar_json);
                found.map_or_else(not_found, |c| reply(200, c))
            }
            ("POST", ["v1.0", "me", "calendars", cal, "events"]) => self.create_event(sub, cal, req, &prefs),
            ("GET", ["v1.0", "me", "calendars", cal, "events"]) => self.find_events(sub, cal, req, &params, &prefs),
            ("GET", ["v1.0", "me", "calendars", cal, "calendarView", "delta"]) => {
                self.delta(base, sub, cal, req, &params, &prefs)
            }
            ("GET" | "PATCH" | "DELETE", ["v1.0", "me", "calendars", cal, "events", id]) => {
                self.one_event(sub, cal, id, req, &prefs)
            }
            ("POST", ["v1.0", "subscriptions"]) => self.check_subscription(sub, req),
            ("PATCH", ["v1.0", "subscriptions", id]) => self.renew_subscription(base, sub, id, req),
            ("DELETE", ["v1.0", "subscriptions", id]) => self.delete_subscription(sub, id, req),
            _ => self.bad(req, "no such request in the documented API (as the double models it)"),
        }
    }

    fn list_calendars(&mut self, base: &str, sub: &str, req: &Req, params: &[(String, String)]) -> Reply {
        let skip = match params {
            [] => 0,
            [(k, v)] if k == "$skiptoken" => match v.parse::<usize>() {
                Ok(n) => n,
                Err(_) => return self.bad(req, "unknown $skiptoken"),
            },
            _ => return self.bad(req, "query options the double does not model for calendars"),
        };
        let cals: Vec<Json> = self.mailbox(sub).iter().map(calendar_json).collect();
        let page: Vec<Json> = cals.iter().skip(skip).take(2).cloned().collect();
        let mut out =
            json!({"@odata.context": format!("{base}/v1.0/$metadata#users('{sub}')/calendars"), "value": page});
        if skip + 2 < cals.len() {
            out["@odata.nextLink"] = json!(format!("{base}/v1.0/me/calendars?$skiptoken={}", skip + 2));
        }
        reply(200, out)
    }

    fn create_calendar(&mut self, sub: &str, req: &Req) -> Reply {
        let Some(o) = req.body.as_object() else { return self.bad(req, "the body must be a calendar object") };
        if let Some(k) = o.keys().find(|k| !matches!(k.as_str(), "name" | "color")) {
            return self.bad(req, &format!("{k} is not a calendar property the double takes"));
        }
        let Some(name) = o.get("name").and_then(Json::as_str).filter(|n| !n.is_empty()) else {
            return self.bad(req, "name must be a non-empty string");
        };
        let color = match o.get("color") {
            None => "auto",
            Some(c) => match c.as_str().filter(|c| COLORS.contains(c)) {
                Some(c) => c,
                None => return self.bad(req, "color is not a calendarColor"),
            },
        };
        if self.mailbox(sub).iter().any(|c| c.name.to_lowercase() == name.to_lowercase()) {
            return graph_error(409, "ErrorFolderExists", "A folder with the specified name already exists.");
        }
        let cal = Cal {
            id: self.next_id("cal"),
            name: name.to_owned(),
            color: color.to_owned(),
            is_default: false,
            events: Vec::new(),
        };
        let out = calendar_json(&cal);
        self.mailbox(sub).push(cal);
        reply(201, out)
    }

    fn create_event(&mut self, sub: &str, cal: &str, req: &Req, prefs: &Prefs) -> Reply {
        let now = Timestamp::now();
        let mut ev = Ev {
            id: String::new(),
            version: 1,
            created: now,
            modified: now,
            subject: String::new(),
            body_type: "text".into(),
            body: String::new(),
            start: (DateTime::default(), "UTC".into()),
            end: (DateTime::default(), "UTC".into()),
            all_day: false,
            show_as: "busy".into(),
            reminder_on: true,
            reminder_minutes: 15,
            transaction_id: None,
            ext: Vec::new(),
        };
        if let Err(e) = apply_event(&mut ev, &req.body, true) {
            return self.bad(req, &e);
        }
        if !self.mailbox(sub).iter().any(|c| c.id == cal) {
            return not_found();
        }
        let calendar = self.mailbox(sub).iter_mut().find(|c| c.id == cal).unwrap_or_else(|| unreachable!());
        if let Some(t) = &ev.transaction_id {
            if let Some(before) = calendar.events.iter().find(|e| e.transaction_id.as_ref() == Some(t)) {
                return event_reply(201, before, prefs);
            }
        }
        let id = self.next_id("event");
        ev.id = id.clone();
        let out = event_reply(201, &ev, prefs);
        let tag = etag(&ev);
        let calendar = self.mailbox(sub).iter_mut().find(|c| c.id == cal).unwrap_or_else(|| unreachable!());
        calendar.events.push(ev);
        self.changed(sub, cal, &id, Some(tag), "created");
        out
    }

    fn find_events(&mut self, sub: &str, cal: &str, req: &Req, params: &[(String, String)], prefs: &Prefs) -> Reply {
        let filter = match params {
            [(k, v)] if k == "$filter" => match key_filter(v) {
                Some(f) => f,
                None => {
                    return self
                        .bad(req, &format!("$filter {v:?} is not the extended-property filter the double supports"))
                }
            },
            _ => return self.bad(req, "listing events is modelled only with the extended-property $filter"),
        };
        if let Err(e) = check_property_id(&filter.0) {
            return self.bad(req, &e);
        }
        let blind = self.filter_blind;
        let Some(calendar) = self.mailbox(sub).iter().find(|c| c.id == cal) else { return not_found() };
        let value: Vec<Json> = calendar
            .events
            .iter()
            .filter(|e| {
                !blind && e.ext.iter().any(|(i, v)| *i == filter.0 && v.to_lowercase() == filter.1.to_lowercase())
            })
            .map(|e| event_json(e, prefs))
            .collect();
        reply(200, json!({ "value": value }))
    }

    /// `GET …/calendarView/delta`: a first request (the window), a next page
    /// (`$skiptoken`) or a next round (`$deltatoken`).
    fn delta(
        &mut self,
        base: &str,
        sub: &str,
        cal: &str,
        req: &Req,
        params: &[(String, String)],
        prefs: &Prefs,
    ) -> Reply {
        let param = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        let page = match names.as_slice() {
            ["$skiptoken"] => match self.delta_pages.remove(param("$skiptoken").unwrap_or_default()) {
                Some(p) if p.then.sub == sub && p.then.cal == cal => p,
                _ => return self.bad(req, "$skiptoken is not one the double answered for this calendar"),
            },
            ["$deltatoken"] => match self.delta_tokens.get(param("$deltatoken").unwrap_or_default()) {
                Some(s) if s.sub == sub && s.cal == cal => {
                    let s = s.clone();
                    match self.delta_round(s.sub, s.cal, s.window, &s.listed) {
                        Some(p) => p,
                        None => return not_found(),
                    }
                }
                _ => {
                    return graph_error(
                        410,
                        "syncStateNotFound",
                        "The sync state generation is not found. The delta token is expired and data must be synchronized again.",
                    )
                }
            },
            ["startDateTime", "endDateTime"] | ["endDateTime", "startDateTime"] => {
                let at = |k: &str| -> Result<Timestamp, String> {
                    let v = param(k).unwrap_or_default();
                    v.parse::<Timestamp>()
                        .or_else(|_| v.parse::<DateTime>().map_err(|e| e.to_string()).and_then(|dt| {
                            dt.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).map_err(|e| e.to_string())
                        }))
                        .map_err(|e| format!("{k} {v:?} is not an ISO 8601 date and time: {e}"))
                };
                let window = match (at("startDateTime"), at("endDateTime")) {
                    (Ok(s), Ok(e)) if s < e => (s, e),
                    (Ok(_), Ok(_)) => return self.bad(req, "endDateTime is not after startDateTime"),
                    (Err(e), _) | (_, Err(e)) => return self.bad(req, &e),
                };
                match self.delta_round(sub.to_owned(), cal.to_owned(), window, &HashMap::new()) {
                    Some(p) => p,
                    None => return not_found(),
                }
            }
            _ => {
                return self.bad(
                    req,
                    "a delta round starts with startDateTime and endDateTime (and nothing else); then only its links are followed",
                )
            }
        };
        let size = prefs.max_page_size.unwrap_or(DELTA_PAGE).min(DELTA_PAGE);
        let DeltaPage { mut items, then } = page;
        let later = items.split_off(size.min(items.len()));
        let Some(calendar) = self.mailbox(sub).iter().find(|c| c.id == cal) else { return not_found() };
        let value: Vec<Json> = items
            .iter()
            .filter_map(|(id, removed)| {
                if *removed {
                    return Some(
                        json!({"@odata.type": "#microsoft.graph.event", "id": id, "@removed": {"reason": "deleted"}}),
                    );
                }
                let mut v = event_json(calendar.events.iter().find(|e| e.id == *id)?, prefs);
                v["@odata.type"] = json!("#microsoft.graph.event");
                Some(v)
            })
            .collect();
        let token = format!("{:032x}", rand::random::<u128>());
        let mut out = json!({"@odata.context": format!("{base}/v1.0/$metadata#Collection(event)"), "value": value});
        if later.is_empty() {
            out["@odata.deltaLink"] = json!(format!("{base}{}?$deltatoken={token}", req.path));
            self.delta_tokens.insert(token, then);
        } else {
            out["@odata.nextLink"] = json!(format!("{base}{}?$skiptoken={token}", req.path));
            self.delta_pages.insert(token, DeltaPage { items: later, then });
        }
        let mut r = reply(200, out);
        if let Some(z) = &prefs.zone {
            r.headers.push(("preference-applied", format!("outlook.timezone=\"{z}\"")));
        }
        r
    }

    /// A round from `listed` (the versions of the events last listed): the
    /// events in the window made or changed since, and those no longer there
    /// (deleted, or moved out of the window). `None` without the calendar.
    fn delta_round(
        &mut self,
        sub: String,
        cal: String,
        window: (Timestamp, Timestamp),
        listed: &HashMap<String, u64>,
    ) -> Option<DeltaPage> {
        let calendar = self.mailbox(&sub).iter().find(|c| c.id == cal)?;
        let inside =
            |e: &Ev| matches!((instant(&e.start), instant(&e.end)), (Ok(s), Ok(end)) if s < window.1 && end > window.0);
        let now: Vec<(String, u64)> =
            calendar.events.iter().filter(|e| inside(e)).map(|e| (e.id.clone(), e.version)).collect();
        let mut items: Vec<(String, bool)> = now
            .iter()
            .filter(|(id, version)| listed.get(id) != Some(version))
            .map(|(id, _)| (id.clone(), false))
            .collect();
        let mut gone: Vec<&String> = listed.keys().filter(|id| !now.iter().any(|(n, _)| n == *id)).collect();
        gone.sort();
        items.extend(gone.into_iter().map(|id| (id.clone(), true)));
        Some(DeltaPage { items, then: DeltaState { sub, cal, window, listed: now.into_iter().collect() } })
    }

    fn one_event(&mut self, sub: &str, cal: &str, id: &str, req: &Req, prefs: &Prefs) -> Reply {
        let method = req.method.clone();
        let body = req.body.clone();
        let Some(calendar) = self.mailbox(sub).iter_mut().find(|c| c.id == cal) else { return not_found() };
        let Some(pos) = calendar.events.iter().position(|e| e.id == id) else { return not_found() };
        let etag = etag(&calendar.events[pos]);
        if req.if_match.as_ref().is_some_and(|m| *m != etag && m != "*") {
            return graph_error(
                412,
                "ErrorIrresolvableConflict",
                "The change key passed in the request does not match the current change key for the item.",
            );
        }
        match method.as_str() {
            "GET" if body.is_null() => event_reply(200, &calendar.events[pos], prefs),
            "DELETE" if body.is_null() => {
                calendar.events.remove(pos);
                self.changed(sub, cal, id, None, "deleted");
                reply(204, Json::Null)
            }
            "PATCH" => {
                let mut ev = calendar.events[pos].clone();
                match apply_event(&mut ev, &body, false) {
                    Ok(()) => {
                        ev.version += 1;
                        ev.modified = Timestamp::now();
                        let out = event_reply(200, &ev, prefs);
                        let tag = self::etag(&ev);
                        calendar.events[pos] = ev;
                        self.changed(sub, cal, id, Some(tag), "updated");
                        out
                    }
                    Err(e) => self.bad(req, &e),
                }
            }
            _ => self.bad(req, "GET and DELETE take no body"),
        }
    }
}

fn not_found() -> Reply {
    graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
}

/// A time as Graph writes it (UTC, seven fractional digits).
fn graph_time(t: Timestamp) -> String {
    format!("{}Z", dt_text(TimeZone::UTC.to_datetime(t)))
}

/// A subscription's `expirationDateTime`: ISO 8601, in the future, at most
/// [`MAX_SUBSCRIPTION_MINUTES`] ahead.
fn expiration(v: Option<&Json>) -> Result<Timestamp, String> {
    let raw = v.and_then(Json::as_str).ok_or("expirationDateTime is required, as a string")?;
    let at: Timestamp = raw.parse().map_err(|e| format!("expirationDateTime {raw:?} is not ISO 8601: {e}"))?;
    let now = Timestamp::now();
    if at <= now {
        return Err(format!("expirationDateTime {raw:?} is not in the future"));
    }
    if at > now + jiff::SignedDuration::from_mins(MAX_SUBSCRIPTION_MINUTES) {
        return Err(format!(
            "Subscription expiration can only be {MAX_SUBSCRIPTION_MINUTES} minutes in the future (asked: {raw:?})"
        ));
    }
    Ok(at)
}

fn subscription_json(base: &str, s: &Subscription) -> Json {
    json!({
        "@odata.context": format!("{base}/v1.0/$metadata#subscriptions/$entity"),
        "id": s.id, "resource": s.resource, "applicationId": "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e",
        "changeType": s.change_types.join(","), "clientState": s.client_state,
        "notificationUrl": s.notification_url, "notificationQueryOptions": null,
        "lifecycleNotificationUrl": s.lifecycle_url, "expirationDateTime": graph_time(s.expires),
        "creatorId": s.owner, "includeResourceData": false, "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": null, "encryptionCertificateId": null, "notificationUrlAppId": null,
    })
}

fn calendar_json(c: &Cal) -> Json {
    json!({
        "id": c.id, "name": c.name, "color": c.color, "hexColor": "", "isDefaultCalendar": c.is_default,
        "changeKey": format!("DxYSthXJXEWwAQSYQnXvIgAAIxG{}", c.id.len()), "canShare": true,
        "canViewPrivateItems": true, "canEdit": true, "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness", "isTallyingResponses": true,
        "isRemovable": !c.is_default, "owner": {"name": "Ada", "address": "ada@example.test"},
    })
}

/// The `Prefer` preferences the double understands.
struct Prefs {
    zone: Option<String>,
    text_body: bool,
    /// `odata.maxpagesize`.
    max_page_size: Option<usize>,
}

fn prefer(values: &[String]) -> Result<Prefs, String> {
    let mut p = Prefs { zone: None, text_body: false, max_page_size: None };
    for v in values {
        let unquote = |s: &str| s.trim().trim_matches('"').to_owned();
        if let Some(z) = v.strip_prefix("outlook.timezone=") {
            let z = unquote(z);
            zone_of(&z).map_err(|e| format!("Prefer: outlook.timezone: {e}"))?;
            p.zone = Some(z);
        } else if let Some(n) = v.strip_prefix("odata.maxpagesize=") {
            let n = n.trim().parse::<usize>().ok().filter(|n| *n > 0);
            p.max_page_size = Some(n.ok_or_else(|| format!("Prefer: {v:?} is not a positive page size"))?);
        } else if let Some(t) = v.strip_prefix("outlook.body-content-type=") {
            match unquote(t).to_ascii_lowercase().as_str() {
                "text" => p.text_body = true,
                "html" => p.text_body = false,
                other => return Err(format!("Prefer: outlook.body-content-type={other:?} is neither text nor html")),
            }
        }
    }
    Ok(p)
}

fn etag(e: &Ev) -> String {
    format!("W/\"DwAAABYAAA{}{:04}\"", &e.id[8..14], e.version)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn event_json(e: &Ev, prefs: &Prefs) -> Json {
    let zone = prefs.zone.clone().unwrap_or_else(|| "UTC".into());
    let tz = zone_of(&zone).unwrap_or(TimeZone::UTC);
    let shown = |part: &(DateTime, String)| {
        let at = instant(part).unwrap_or(Timestamp::UNIX_EPOCH);
        json!({"dateTime": dt_text(tz.to_datetime(at)), "timeZone": zone})
    };
    let content = match (prefs.text_body, e.body_type.as_str()) {
        (true, "text") | (false, "html") => e.body.clone(),
        (true, _) => e.body.replace("<br>", "\n"),
        (false, _) => format!(
            "<html>\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\r\n</head>\r\n<body>\r\n{}\r\n</body>\r\n</html>\r\n",
            html_escape(&e.body).replace('\n', "<br>\r\n")
        ),
    };
    let mut v = json!({
        "@odata.etag": etag(e), "id": e.id,
        "createdDateTime": e.created.to_string(), "lastModifiedDateTime": e.modified.to_string(),
        "changeKey": etag(e).trim_start_matches("W/").trim_matches('"'),
        "categories": [], "originalStartTimeZone": e.start.1, "originalEndTimeZone": e.end.1,
        "iCalUId": format!("040000008200E00074C5B7101A82E008{}", e.id.len()),
        "reminderMinutesBeforeStart": e.reminder_minutes, "isReminderOn": e.reminder_on,
        "hasAttachments": false, "subject": e.subject, "bodyPreview": e.body.chars().take(255).collect::<String>(),
        "importance": "normal", "sensitivity": "normal", "isAllDay": e.all_day, "isCancelled": false,
        "isOrganizer": true, "responseRequested": true, "seriesMasterId": null, "showAs": e.show_as,
        "type": "singleInstance",
        "body": {"contentType": if prefs.text_body { "text" } else { "html" }, "content": content},
        "start": shown(&e.start), "end": shown(&e.end),
    });
    if let Some(t) = &e.transaction_id {
        v["transactionId"] = json!(t);
    }
    v
}

fn event_reply(status: u16, e: &Ev, prefs: &Prefs) -> Reply {
    let mut r = reply(status, event_json(e, prefs));
    if let Some(z) = &prefs.zone {
        r.headers.push(("preference-applied", format!("outlook.timezone=\"{z}\"")));
    }
    r
}

// ---- reading back ---------------------------------------------------------------------------

/// Compares an event as a Graph client reads it (times in UTC, a text body:
/// [`GraphDouble::read_back`]) with the entry it was written from: subject,
/// start and end, all day or timed, reminder, show-as (free for a transparent
/// entry), and the body: the description as given, then the link unless the
/// description holds it already (Graph events have no URL property).
pub fn assert_reads_back(got: &Json, spec: &EventSpec) {
    let what = &spec.title;
    assert_eq!(got["subject"].as_str(), Some(spec.title.as_str()), "subject of {what}: {got}");
    assert_eq!(got["body"]["contentType"], "text", "{what}: {got}");
    let content = got["body"]["content"].as_str().unwrap_or_default();
    let rest = content
        .strip_prefix(spec.description.as_str())
        .unwrap_or_else(|| panic!("{what}: the body {content:?} does not start with the description"));
    match spec.url.as_deref() {
        Some(url) if spec.description.contains(url) => assert_eq!(rest, "", "{what}: the link is in it once"),
        Some(url) => assert_eq!(rest, format!("\n\n{url}"), "{what}: the link follows the description"),
        None => assert_eq!(rest, "", "{what}"),
    }
    assert_eq!(got["showAs"], if spec.transparent { "free" } else { "busy" }, "{what}: {got}");
    assert_eq!(got["isReminderOn"], json!(spec.reminder_minutes.is_some()), "{what}: {got}");
    if let Some(m) = spec.reminder_minutes {
        assert_eq!(got["reminderMinutesBeforeStart"], json!(m), "{what}: {got}");
    }
    let utc = |part: &str| -> DateTime {
        assert_eq!(got[part]["timeZone"], "UTC", "{what}: {part} asked for in UTC: {got}");
        got[part]["dateTime"].as_str().unwrap().parse().unwrap()
    };
    match &spec.when {
        When::Date(d) => {
            assert_eq!(got["isAllDay"], json!(true), "{what}: {got}");
            assert_eq!(utc("start"), d.to_datetime(jiff::civil::Time::midnight()), "{what}");
            let end = spec.end_date().unwrap();
            assert_eq!(utc("end"), end.to_datetime(jiff::civil::Time::midnight()), "{what}: the next day");
        }
        When::At { at, .. } => {
            assert_eq!(got["isAllDay"], json!(false), "{what}: {got}");
            assert_eq!(utc("start"), TimeZone::UTC.to_datetime(*at), "{what}");
            assert_eq!(utc("end"), TimeZone::UTC.to_datetime(spec.end().unwrap()), "{what}");
        }
    }
}

// ---- tests ----------------------------------------------------------------------------------

/// The peer, the double, and a token for `login`; `None` when the peer is not installed.
async fn setup(login: &str) -> Option<(Arc<Oidc>, GraphDouble, String)> {
    let oidc = Arc::new(Oidc::start(REDIRECT, json!({}))?);
    let token = oidc.access_token(REDIRECT, login, "openid calendar").await;
    let double = GraphDouble::start(oidc.clone()).await;
    Some((oidc, double, token))
}

fn connector(double: &GraphDouble, token: &str) -> GraphCalendar {
    GraphCalendar::new(flowcal_calendar::api_client().unwrap(), &double.base, Credential::Bearer(token.to_owned()))
        .unwrap()
}

async fn own_calendar(g: &GraphCalendar) -> String {
    g.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap().id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_connector_suite_passes_on_the_graph_double() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let stale = |r: &Remote| {
        double.touch(&r.id, "Changed in Outlook meanwhile");
        r.clone()
    };
    suite(&graph, Some(&stale)).await;
    assert_eq!(double.violations(), Vec::<String>::new());

    let seen = double.seen();
    // The calendar list came in pages, and flowcal's calendar is marked as its own.
    assert!(seen.iter().any(|s| s.method == "GET" && s.query.starts_with("$skiptoken=")), "no second page read");
    let cals = graph.list_calendars().await.unwrap();
    assert_eq!(cals.len(), 4, "{cals:?}");
    assert_eq!(cals.iter().filter(|c| c.own).map(|c| c.name.as_str()).collect::<Vec<_>>(), ["flowcal"]);
    let gone = graph.ensure_calendar(&CalendarChoice::Existing { id: "AAMkADk-999999_calAAA=".into() }).await;
    assert!(matches!(gone, Err(ConnectorError::Gone(_))), "{gone:?}");
    // The stale etag was refused, and the change applied once more.
    assert!(seen.iter().any(|s| s.method == "PATCH" && s.status == 412), "412 path not taken");
    // Every create carries the key as transactionId and as the extended property.
    let creates: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST" && s.path.ends_with("/events")).collect();
    assert!(creates.len() >= 3, "{}", creates.len());
    for c in &creates {
        let tid = c.body["transactionId"].as_str().unwrap();
        assert_eq!(c.body["singleValueExtendedProperties"][0]["value"].as_str(), Some(tid));
        assert_eq!(tid.len(), 32);
    }
    // Updates are conditional and leave transactionId alone.
    assert!(seen.iter().filter(|s| s.method == "PATCH").all(|s| s.if_match.is_some()));
    assert!(seen.iter().filter(|s| s.method == "PATCH").all(|s| s.body.get("transactionId").is_none()));
    // Reads ask for UTC and a text body.
    for s in seen.iter().filter(|s| s.method == "GET" && s.path.contains("/events")) {
        assert!(s.prefer.iter().any(|p| p == "outlook.timezone=\"UTC\""), "{s:?}");
        assert!(s.prefer.iter().any(|p| p == "outlook.body-content-type=\"text\""), "{s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_double_flags_malformed_requests() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let cal = own_calendar(&graph).await;
    let http = reqwest::Client::new();
    let events = format!("{}/v1.0/me/calendars/{cal}/events", double.base);
    let good = json!({
        "subject": "s", "body": {"contentType": "text", "content": "c"},
        "start": {"dateTime": "2026-03-29T00:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-30T00:00:00", "timeZone": "UTC"},
        "isAllDay": true, "showAs": "free", "isReminderOn": true, "reminderMinutesBeforeStart": 15,
        "transactionId": "t1",
        "singleValueExtendedProperties": [{"id": "String {907e0456-379a-470c-9d6e-a5cf77009cfb} Name k", "value": "v"}],
    });
    let with = |k: &str, v: Json| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let post = |body: Json| http.post(&events).bearer_auth(&token).json(&body).send();
    let r = post(good.clone()).await.unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<Json>().await.unwrap()["id"].as_str().unwrap().to_owned();
    assert!(double.violations().is_empty(), "{:?}", double.violations());

    let bad_bodies = [
        with("url", json!("https://flowcal.example/tasks/42")),
        with("reminderMinutesBeforeStart", json!("15")),
        with("isAllDay", json!("true")),
        with("showAs", json!("away")),
        with("body", json!({"contentType": "markdown", "content": "c"})),
        with("start", json!({"dateTime": "2026-03-29T10:00:00", "timeZone": "UTC"})),
        with("start", json!({"dateTime": "2026-03-29 00:00", "timeZone": "UTC"})),
        with("end", json!({"dateTime": "2026-03-30T00:00:00", "timeZone": "Mars/Olympus_Mons"})),
        with("singleValueExtendedProperties", json!([{"id": "flowcalKey", "value": "v"}])),
        with(
            "singleValueExtendedProperties",
            json!([{"id": "String {907e0456-379a-470c-9d6e-a5cf77009cfb} Name k", "value": 1}]),
        ),
    ];
    let mut expected = 0;
    for b in bad_bodies {
        let r = post(b.clone()).await.unwrap();
        expected += 1;
        assert_eq!(r.status(), 400, "{b}");
        assert_eq!(r.json::<Json>().await.unwrap()["error"]["code"], "BadRequest");
        assert_eq!(double.violations().len(), expected, "{b}");
    }
    // An update must not change the transactionId.
    let r = http
        .patch(format!("{events}/{id}"))
        .bearer_auth(&token)
        .json(&json!({"transactionId": "t2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    expected += 1;
    // Unsupported filters and paths; a space sent as '+'.
    for url in [
        format!("{events}?$filter=subject%20eq%20%27s%27"),
        format!("{events}?$filter=singleValueExtendedProperties/Any(ep:+ep/id+eq+%27x%27+and+ep/value+eq+%27v%27)"),
        format!("{events}?$top=5"),
        format!("{}/v1.0/me/events", double.base),
        format!("{}/v1.0/me/calendars/{cal}/calendarView", double.base),
        format!("{}/v1.0/me/calendars/{cal}/calendarView/delta", double.base),
        format!("{}/v1.0/me/calendars/{cal}/calendarView/delta?startDateTime=2026-01-01T00:00:00Z", double.base),
        format!(
            "{}/v1.0/me/calendars/{cal}/calendarView/delta?startDateTime=soon&endDateTime=2026-01-01T00:00:00Z",
            double.base
        ),
        format!(
            "{}/v1.0/me/calendars/{cal}/calendarView/delta?startDateTime=2026-02-01T00:00:00Z&endDateTime=2026-01-01T00:00:00Z",
            double.base
        ),
        format!("{}/v1.0/me/calendars/{cal}/calendarView/delta?$skiptoken=never-issued", double.base),
    ] {
        let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 400, "{url}");
        expected += 1;
    }
    let r = http.put(&events).bearer_auth(&token).json(&good).send().await.unwrap();
    assert_eq!(r.status(), 400);
    expected += 1;
    assert_eq!(double.violations().len(), expected, "{:#?}", double.violations());
    // A well-formed request adds none.
    let r = post(with("transactionId", json!("t3"))).await.unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(double.violations().len(), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_retried_create_with_the_same_transaction_id_makes_no_second_event() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let cal = own_calendar(&graph).await;
    // The key lookup finds nothing (its answer lost, say): only transactionId can tell.
    double.set_filter_blind(true);
    let day = sample("task:7:deadline", "Approve", When::Date("2026-05-04".parse().unwrap()));
    let r1 = graph.upsert_event(&cal, &day, None).await.unwrap();
    let r2 = graph.upsert_event(&cal, &day, None).await.unwrap();
    assert_eq!(r1.id, r2.id);
    assert_eq!(double.count(&cal), 1);
    let got = graph.get_event(&cal, &day.key, Some(&r2)).await.unwrap().unwrap();
    assert_eq!(got.description, day.description, "the text body reads back as written");
    let posts: Vec<Seen> =
        double.seen().into_iter().filter(|s| s.method == "POST" && s.path.ends_with("/events")).collect();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|p| p.body["transactionId"] == json!(day.key) && p.status == 201));
    // Another entry is another event.
    let other = sample("task:8:deadline", "Approve", When::Date("2026-05-04".parse().unwrap()));
    assert_ne!(graph.upsert_event(&cal, &other, None).await.unwrap().id, r1.id);
    assert_eq!(double.count(&cal), 2);
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn throttling_and_outages_ask_to_retry_later() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let cal = own_calendar(&graph).await;
    let day = sample("task:9:deadline", "Approve", When::Date("2026-05-04".parse().unwrap()));

    double.fail_next(429, Some("7"));
    match graph.list_calendars().await.unwrap_err() {
        ConnectorError::RetryLater { after, .. } => assert_eq!(after, Some(Duration::from_secs(7))),
        other => panic!("{other:?}"),
    }
    double.fail_next(503, Some("120"));
    match graph.upsert_event(&cal, &day, None).await.unwrap_err() {
        ConnectorError::RetryLater { after, .. } => assert_eq!(after, Some(Duration::from_secs(120))),
        other => panic!("{other:?}"),
    }
    double.fail_next(500, None);
    match graph.get_event(&cal, &day.key, None).await.unwrap_err() {
        ConnectorError::RetryLater { after, .. } => assert_eq!(after, None),
        other => panic!("{other:?}"),
    }
    // Once the service is back, the same calls work.
    let r = graph.upsert_event(&cal, &day, None).await.unwrap();
    assert!(graph.get_event(&cal, &day.key, Some(&r)).await.unwrap().is_some());
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_refused_token_is_unauthorized_and_never_repeated() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let bad = "not-a-token-3f9a1c";
    let graph = connector(&double, bad);
    for e in [
        graph.list_calendars().await.unwrap_err(),
        graph.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap_err(),
    ] {
        match &e {
            ConnectorError::Unauthorized(m) => assert!(m.contains("InvalidAuthenticationToken"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(!e.to_string().contains(bad) && !format!("{e:?}").contains(bad));
    }
    assert!(!format!("{graph:?}").contains(bad));
    // The real token works against the same double.
    assert!(!connector(&double, &token).list_calendars().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn dates_and_instants_survive_time_zones() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let cal = own_calendar(&graph).await;

    // All-day entries go out as UTC midnights and keep their dates, also after
    // someone saves them again in a zone far east or west of UTC.
    for (i, date) in ["2026-01-01", "2026-03-29", "2026-10-25", "2026-12-31", "2028-02-29"].iter().enumerate() {
        let spec = sample(&format!("task:{i}:day"), "Day", When::Date(date.parse().unwrap()));
        let r = graph.upsert_event(&cal, &spec, None).await.unwrap();
        let stored = double.stored(&r.id);
        assert_eq!(stored["start"], json!([format!("{date}T00:00:00.0000000"), "UTC"]));
        assert_eq!(stored["isAllDay"], json!(true));
        let end = spec.end_date().unwrap().to_string();
        for zone in ["Pacific/Kiritimati", "Pacific/Auckland", "America/Los_Angeles", "Etc/GMT+12", "UTC"] {
            double.move_to_zone(&r.id, zone);
            let got = graph.get_event(&cal, &spec.key, None).await.unwrap().unwrap();
            assert_eq!((&got.when, got.end.as_str()), (&spec.when, end.as_str()), "{date} in {zone}");
        }
        // flowcal's next write puts it back to UTC.
        double.move_to_zone(&r.id, "Pacific/Auckland");
        let r = graph.upsert_event(&cal, &spec, Some(&r)).await.unwrap();
        assert_eq!(double.stored(&r.id)["start"][1], "UTC");
        assert_eq!(graph.get_event(&cal, &spec.key, Some(&r)).await.unwrap().unwrap().when, spec.when);
    }

    // Timed entries keep their instant across DST changes. Local times that
    // occur twice (clocks going back) go out in UTC; the double would read
    // them as the earlier one.
    let cases = [
        ("2026-10-25T00:30:00Z", "Europe/Berlin", "UTC"), // 02:30 CEST, the first of two
        ("2026-10-25T01:30:00Z", "Europe/Berlin", "UTC"), // 02:30 CET, the second
        ("2026-10-25T02:30:00Z", "Europe/Berlin", "Europe/Berlin"),
        ("2026-03-29T00:30:00Z", "Europe/Berlin", "Europe/Berlin"), // 01:30 CET, before the gap
        ("2026-03-29T01:00:00Z", "Europe/Berlin", "Europe/Berlin"), // 03:00 CEST, right after it
        ("2026-11-01T05:30:00Z", "America/New_York", "UTC"),        // 01:30 EDT, the first of two
        ("2026-11-01T06:30:00Z", "America/New_York", "UTC"),        // 01:30 EST, the second
        ("2026-04-04T16:30:00Z", "Australia/Sydney", "UTC"),        // 02:30 AEST, the second of two
        ("2026-07-01T10:00:00Z", "Europe/Vienna", "UTC"),           // not a documented name
        ("2026-07-01T10:00:00Z", "Asia/Kolkata", "Asia/Kolkata"),
    ];
    for (i, (at, zone, sent)) in cases.iter().enumerate() {
        let at: Timestamp = at.parse().unwrap();
        let spec = sample(&format!("task:{i}:at"), "At", When::At { at, zone: (*zone).into() });
        let r = graph.upsert_event(&cal, &spec, None).await.unwrap();
        assert_eq!(double.stored(&r.id)["start"][1], *sent, "{at} {zone}");
        let got = graph.get_event(&cal, &spec.key, Some(&r)).await.unwrap().unwrap();
        assert_eq!(got.when, When::At { at, zone: (*sent).into() }, "{at} {zone}");
        assert_eq!(got.end, spec.end().unwrap().to_string());
        // Saved again elsewhere: the same instant.
        double.move_to_zone(&r.id, "Asia/Tokyo");
        let got = graph.get_event(&cal, &spec.key, None).await.unwrap().unwrap();
        assert_eq!(got.when, When::At { at, zone: "Asia/Tokyo".into() }, "{at} {zone} via Tokyo");
    }
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn what_graph_stored_reads_back_as_the_entry_was_given() {
    let Some((_oidc, double, token)) = setup("ada").await else { return };
    let graph = connector(&double, &token);
    let cal = own_calendar(&graph).await;
    // All day, free, a reminder 15 minutes before; the description holds the link.
    let day = sample("task:1:deadline", "Approve — Easter", When::Date("2026-03-29".parse().unwrap()));
    // Timed, busy, no reminder, 45 minutes long; the link is not in the description.
    let mut timed = sample(
        "instance:2:item:handover",
        "Hand-over — Easter",
        When::At { at: "2026-07-01T10:00:00Z".parse().unwrap(), zone: "Europe/Berlin".into() },
    );
    timed.description = "Process: Leave request".into();
    timed.url = Some("https://flowcal.example/instances/2".into());
    timed.transparent = false;
    timed.reminder_minutes = None;
    timed.duration_minutes = 45;
    let mut remotes = Vec::new();
    for spec in [&day, &timed] {
        let r = graph.upsert_event(&cal, spec, None).await.unwrap();
        assert_reads_back(&double.read_back(&token, &cal, &r.id).await, spec);
        remotes.push(r);
    }
    let got = double.read_back(&token, &cal, &remotes[1].id).await;
    assert_eq!(got["originalStartTimeZone"], "Europe/Berlin", "the entry's own zone is kept: {got}");

    // Changed the other way round, each reads back as changed.
    let mut day2 = day.clone();
    day2.when = When::Date("2026-04-02".parse().unwrap());
    day2.transparent = false;
    day2.reminder_minutes = Some(24 * 60);
    day2.description = "Process: Leave request (second version)".into();
    day2.sequence = 1;
    let mut timed2 = timed.clone();
    timed2.transparent = true;
    timed2.reminder_minutes = Some(0);
    timed2.url = None;
    timed2.sequence = 1;
    for (spec, known) in [(&day2, &remotes[0]), (&timed2, &remotes[1])] {
        let r = graph.upsert_event(&cal, spec, Some(known)).await.unwrap();
        assert_eq!(r.id, known.id, "updated in place");
        assert_reads_back(&double.read_back(&token, &cal, &r.id).await, spec);
    }
    assert_eq!(double.count(&cal), 2);
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

/// Reading changes with delta links: the first read lists flowcal's events
/// (not someone else's) with their etags and starts, page by page, over a
/// window from a year before to five after; an idle read lists nothing; an
/// event a person deleted and one they moved are read as such; a delta
/// token Graph no longer keeps starts a new round; a delta link off the
/// configured Graph URL is never requested (a new round instead). Never
/// `complete`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn changes_are_read_with_delta_links() {
    use jiff::ToSpan;
    let Some((_oidc, double, bearer)) = setup("ada").await else { return };
    let graph = connector(&double, &bearer);
    let cal = own_calendar(&graph).await;
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    let day = today.checked_add(30.days()).unwrap();
    let at: Timestamp = day.to_datetime(jiff::civil::time(9, 30, 0, 0)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let a = sample("task:1:deadline", "A", When::Date(day));
    let b = sample("task:2:deadline", "B", When::At { at, zone: "Europe/Berlin".into() });
    let ra = graph.upsert_event(&cal, &a, None).await.unwrap();
    let rb = graph.upsert_event(&cal, &b, None).await.unwrap();
    // Someone else's event, made by another client with its own transactionId.
    let theirs = json!({"subject": "Theirs", "transactionId": "c7555340-474b-cf1f-5bd8-d9e197da220e",
        "start": {"dateTime": format!("{day}T12:00:00"), "timeZone": "UTC"},
        "end": {"dateTime": format!("{day}T13:00:00"), "timeZone": "UTC"}});
    let r = reqwest::Client::new()
        .post(format!("{}/v1.0/me/calendars/{cal}/events", double.base))
        .bearer_auth(&bearer)
        .json(&theirs)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let deltas =
        || -> Vec<Seen> { double.seen().into_iter().filter(|s| s.path.ends_with("/calendarView/delta")).collect() };

    // The first read: everything in the window, in pages of the double's size.
    let first = graph.changes(&cal, None).await.unwrap();
    assert!(!first.complete && first.deleted.is_empty(), "{first:?}");
    let mut listed: Vec<(String, Option<String>, Option<When>)> =
        first.changed.iter().map(|c| (c.id.clone(), c.etag.clone(), c.start.clone())).collect();
    listed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (ra.id.clone(), ra.etag.clone(), Some(a.when.clone())),
        (rb.id.clone(), rb.etag.clone(), Some(b.when.clone())),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(listed, want, "flowcal's events with the etags it wrote and their starts");
    let pages = deltas();
    assert_eq!(pages.len(), 2, "three events, two a page: {pages:#?}");
    let from = today.checked_sub(1.year()).unwrap();
    let to = today.checked_add(5.years()).unwrap();
    assert_eq!(pages[0].query, format!("startDateTime={from}T00%3A00%3A00Z&endDateTime={to}T00%3A00%3A00Z"));
    assert!(pages[1].query.starts_with("$skiptoken="), "{pages:#?}");
    assert!(pages.iter().all(|p| p.prefer.iter().any(|p| p == "outlook.timezone=\"UTC\"")), "{pages:#?}");
    let token = first.token.clone().expect("the last page's delta link");
    assert!(token.starts_with(&double.base) && token.contains("$deltatoken="), "{token}");

    // Idle: nothing changed.
    let idle = graph.changes(&cal, Some(&token)).await.unwrap();
    assert!(idle.changed.is_empty() && idle.deleted.is_empty() && !idle.complete, "{idle:?}");
    assert!(deltas().last().unwrap().query.starts_with("$deltatoken="));
    let token = idle.token.expect("a new delta link");

    // A person deletes A and moves B: A deleted, B changed with its new start and etag.
    double.delete_as_user(&ra.id);
    let later = at.checked_add(jiff::SignedDuration::from_hours(50)).unwrap();
    double.move_as_user(&rb.id, &When::At { at: later, zone: "Europe/Berlin".into() });
    let after = graph.changes(&cal, Some(&token)).await.unwrap();
    assert!(!after.complete, "{after:?}");
    assert_eq!(after.deleted, vec![ra.id.clone()]);
    assert_eq!(after.changed.len(), 1, "{after:?}");
    let moved = &after.changed[0];
    assert_eq!(moved.id, rb.id);
    assert_eq!(moved.start, Some(When::At { at: later, zone: "Europe/Berlin".into() }));
    assert_ne!(moved.etag, rb.etag, "a new version");
    assert_eq!(moved.etag.as_deref(), double.read_back(&bearer, &cal, &rb.id).await["@odata.etag"].as_str());

    // The delta tokens no longer work: a new round over the window.
    double.invalidate_delta_tokens();
    let again = graph.changes(&cal, after.token.as_deref()).await.unwrap();
    assert!(!again.complete && again.deleted.is_empty(), "{again:?}");
    assert_eq!(again.changed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [rb.id.as_str()]);
    let refused: Vec<Seen> = deltas().into_iter().filter(|s| s.status == 410).collect();
    assert_eq!(refused.len(), 1, "{refused:#?}");
    assert!(deltas().last().unwrap().query.starts_with("startDateTime="));

    // A delta link to another host: not requested there (the bearer token
    // goes nowhere else); a new round at Graph instead.
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let link = format!(
        "http://{}/v1.0/me/calendars/{cal}/calendarView/delta?$deltatoken={}",
        elsewhere.local_addr().unwrap(),
        again.token.as_deref().unwrap().rsplit_once('=').unwrap().1
    );
    let n = deltas().len();
    let fresh = graph.changes(&cal, Some(&link)).await.unwrap();
    assert!(!fresh.complete, "{fresh:?}");
    assert_eq!(fresh.changed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [rb.id.as_str()]);
    assert!(fresh.token.as_deref().unwrap().starts_with(&double.base), "{fresh:?}");
    assert!(deltas()[n].query.starts_with("startDateTime="), "a new round at Graph");
    match elsewhere.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("the other host was contacted: {other:?}"),
    }
    assert!(double.seen().iter().all(|s| s.token == bearer), "one bearer token, to the double only");
    assert!(double.violations().is_empty(), "{:?}", double.violations());
}

// ---- push: the connector's subscriptions ------------------------------------------------------

/// `POST /subscriptions` against the double: the calendar's events, with
/// flowcal's addresses and secret, at most as long as Graph allows; Graph's
/// validation handshake at both URLs passes only with the token echoed;
/// changes are notified with the secret; `PATCH` extends it, `DELETE` ends
/// it (then it notifies no more, and deleting it again is no error). The
/// double refuses subscriptions off the documentation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn subscriptions_are_validated_renewed_and_deleted() {
    use crate::google_double::Hook;
    use flowcal_calendar::WatchRequest;
    let Some((_oidc, double, bearer)) = setup("ada").await else { return };
    let graph = connector(&double, &bearer);
    let cal = own_calendar(&graph).await;
    let hook = Hook::start(true).await;
    double.route_push("https://push.example.test", &hook.base);
    let request = WatchRequest {
        address: "https://push.example.test/push/microsoft",
        lifecycle_address: "https://push.example.test/push/microsoft?lifecycle=1",
        id: "unused-by-graph",
        secret: "s3cret-state",
        ttl: Duration::from_secs(3 * 24 * 3600),
    };
    let before = Timestamp::now();
    let w = graph.watch(&cal, &request).await.unwrap().expect("Graph has subscriptions");
    let most = jiff::SignedDuration::from_mins(4230);
    assert!(w.expires_at > before + most - jiff::SignedDuration::from_mins(2), "{w:?}");
    assert!(w.expires_at <= Timestamp::now() + most, "{w:?}");
    let subs = double.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let s = &subs[0];
    assert_eq!(
        (s.id.as_str(), s.calendar.as_str(), s.resource.as_str()),
        (w.id.as_str(), cal.as_str(), &*format!("me/calendars/{cal}/events"))
    );
    assert_eq!(s.change_types, ["created", "updated", "deleted"]);
    assert_eq!(
        (s.notification_url.as_str(), s.lifecycle_url.as_deref()),
        (request.address, Some(request.lifecycle_address))
    );
    assert_eq!(s.client_state.as_deref(), Some("s3cret-state"));
    assert_eq!(s.expires, w.expires_at);
    // Both URLs were asked to echo a token, and did.
    let checked: Vec<(String, bool)> = double.validations().into_iter().map(|v| (v.url, v.passed)).collect();
    assert_eq!(checked, [(request.address.to_owned(), true), (request.lifecycle_address.to_owned(), true)]);
    let hits = hook.hits();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    assert!(hits[0].target.starts_with("/push/microsoft?validationToken="), "{hits:#?}");
    assert!(hits[1].target.starts_with("/push/microsoft?lifecycle=1&validationToken="), "{hits:#?}");

    // A change is notified, with the secret.
    let ev = sample("task:1:deadline", "One", When::Date("2026-05-04".parse().unwrap()));
    let r = graph.upsert_event(&cal, &ev, None).await.unwrap();
    double.settle().await;
    let hits = hook.hits();
    assert_eq!(hits.len(), 3, "{hits:#?}");
    assert_eq!(hits[2].target, "/push/microsoft");
    let note: Json = serde_json::from_slice(&hits[2].body).unwrap();
    let item = &note["value"][0];
    assert_eq!(
        (item["subscriptionId"].as_str(), item["clientState"].as_str()),
        (Some(w.id.as_str()), Some("s3cret-state"))
    );
    assert_eq!(
        (item["changeType"].as_str(), item["resourceData"]["id"].as_str()),
        (Some("created"), Some(r.id.as_str()))
    );
    assert_eq!(item["tenantId"], TENANT_ID);
    assert!(double.notified().iter().all(|n| n.status == Some(202)), "{:?}", double.notified());

    // Renewed: a new end, as asked.
    let asked = Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let renewed = graph.renew_watch(&w, Duration::from_secs(3600)).await.unwrap().expect("Graph renews");
    assert_eq!(renewed.id, w.id);
    assert!(renewed.expires_at.duration_since(asked).abs() < jiff::SignedDuration::from_secs(60), "{renewed:?}");
    assert_eq!(double.subscriptions()[0].expires, renewed.expires_at);
    let patch = double.seen().into_iter().rfind(|s| s.method == "PATCH").unwrap();
    assert_eq!((patch.path.as_str(), patch.status), (&*format!("/v1.0/subscriptions/{}", w.id), 200));
    assert_eq!(patch.body.as_object().unwrap().keys().collect::<Vec<_>>(), ["expirationDateTime"]);

    // Deleted: no more notifications; deleting again is no error, renewing is.
    graph.unwatch(&w).await.unwrap();
    assert!(double.subscriptions().is_empty());
    graph.delete_event(&cal, &ev.key, Some(&r)).await.unwrap();
    double.settle().await;
    assert_eq!(hook.hits().len(), 3, "a deleted subscription notifies no more");
    graph.unwatch(&w).await.unwrap();
    let deletes: Vec<u16> = double
        .seen()
        .iter()
        .filter(|s| s.method == "DELETE" && s.path.contains("/subscriptions/"))
        .map(|s| s.status)
        .collect();
    assert_eq!(deletes, [204, 404]);
    let e = graph.renew_watch(&w, Duration::from_secs(3600)).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Gone(_)), "{e:?}");
    assert!(double.violations().is_empty(), "{:?}", double.violations());

    // An address that does not echo the token: refused, nothing kept.
    let mute = Hook::start(false).await;
    double.route_push("https://mute.example.test", &mute.base);
    let elsewhere = WatchRequest {
        address: "https://mute.example.test/push/microsoft",
        lifecycle_address: "https://mute.example.test/push/microsoft?lifecycle=1",
        ..request.clone()
    };
    let e = graph.watch(&cal, &elsewhere).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("ValidationError")), "{e:?}");
    assert!(double.subscriptions().is_empty());
    let last = double.validations().pop().unwrap();
    assert_eq!((last.url.as_str(), last.passed, last.status), (elsewhere.address, false, Some(200)));
    assert!(double.violations().is_empty(), "{:?}", double.violations());

    // Off the documentation: refused and recorded.
    let http = reqwest::Client::new();
    let url = format!("{}/v1.0/subscriptions", double.base);
    let far = (Timestamp::now() + jiff::SignedDuration::from_mins(4300)).to_string();
    let soon = (Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let good = json!({"changeType": "created,updated,deleted", "notificationUrl": request.address,
        "resource": format!("me/calendars/{cal}/events"), "expirationDateTime": soon, "clientState": "x"});
    let with = |k: &str, v: Json| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    let cases = [
        (with("expirationDateTime", json!(far)), "can only be 4230 minutes in the future"),
        (with("expirationDateTime", json!("2020-01-01T00:00:00Z")), "is not in the future"),
        (
            with("notificationUrl", json!("http://push.example.test/push/microsoft")),
            "notificationUrl must be an https URL",
        ),
        (with("changeType", json!("created,moved")), "changeType must list"),
        (with("clientState", json!("c".repeat(129))), "at most 128 characters"),
        (with("resource", json!("me/messages")), "is not an event collection"),
        (with("includeResourceData", json!(true)), "includeResourceData is not a subscription property"),
    ];
    let refused = cases.len();
    for (body, expect) in cases {
        let r = http.post(&url).bearer_auth(&bearer).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{expect}");
        let v = double.violations();
        assert!(v.last().is_some_and(|v| v.contains(expect)), "{expect}: {v:?}");
    }
    assert_eq!(double.violations().len(), refused, "{:?}", double.violations());
    assert!(double.subscriptions().is_empty());
}

// ---- calendar edits and push through the application -----------------------------------------

impl crate::google_double::Person for GraphDouble {
    fn delete(&self, remote_id: &str) {
        self.delete_as_user(remote_id);
    }
    fn move_to(&self, remote_id: &str, day: &str) {
        self.move_as_user(remote_id, &When::Date(day.parse().unwrap()));
    }
    fn start(&self, remote_id: &str) -> Option<String> {
        self.start_date(remote_id)
    }
}

/// The directory (tenant) and application ids of the Microsoft 365 setup
/// (as in `microsoft.rs`), and the delegated permission flowcal asks for.
const M365_TENANT: &str = "7d3f6c1e-5b2a-4e8f-9c0d-1a2b3c4d5e6f";
const M365_CLIENT_ID: &str = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/Calendars.ReadWrite";

/// flowcal with push on and a Microsoft 365 provider whose endpoints are at
/// the authorization server peer and whose Graph is the double (which
/// routes notifications to the application); alice connected in a browser,
/// flowcal's own calendar chosen.
struct M365 {
    t: crate::support::TestApp,
    _peer: Arc<Oidc>,
    _files: tempfile::TempDir,
    graph: GraphDouble,
    admin: String,
    alice: String,
    account: i64,
    calendar: String,
}

async fn m365_with_push(db: crate::support::TestDb) -> Option<M365> {
    use crate::access::{Browser, CLIENT_SECRET};
    // The port is known before the peer starts: the redirect URI names it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let callback = format!("http://127.0.0.1:{port}/oauth/callback");
    let issuer = format!("https://login.microsoftonline.com/{M365_TENANT}/v2.0");
    let peer = Arc::new(Oidc::start(
        &callback,
        json!({
            "clients": [
                {"client_id": M365_CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uris": [callback],
                 "token_endpoint_auth_method": "client_secret_post"},
                // The Graph double's own client, for introspecting the tokens it is shown.
                {"client_id": "flowcal", "client_secret": CLIENT_SECRET, "redirect_uris": [callback]},
            ],
            "resource_scopes": GRAPH_SCOPE,
            "tenant": M365_TENANT,
            "issuer": issuer,
        }),
    )?);
    let at = peer.issuer.clone();
    let graph = GraphDouble::start(peer.clone()).await;
    let files = tempfile::tempdir().unwrap();
    let secret_file = files.path().join("m365-client-secret");
    std::fs::write(&secret_file, format!("{CLIENT_SECRET}\n")).unwrap();
    let config = format!(
        "{}[providers.m365]\nkind = \"microsoft\"\ndisplay_name = \"Microsoft 365\"\nclient_id = \"{M365_CLIENT_ID}\"\n\
         client_secret_file = \"{}\"\ntenant = \"{M365_TENANT}\"\n\
         authorization_endpoint = \"{at}/auth\"\ntoken_endpoint = \"{at}/token\"\njwks_uri = \"{at}/jwks\"\n\
         api_base_url = \"{}\"\n",
        crate::google_double::push_config(),
        secret_file.display(),
        graph.base
    );
    let t = crate::support::TestApp::spawn_on(db, &config, port).await;
    // ID tokens carry real times.
    t.clock.set(Timestamp::now());
    graph.route_push(crate::google_double::PUSH_BASE, &t.base);
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let browser = Browser::new();
    browser.login(&t, "alice").await;
    let (s, me) =
        browser.api(&t, reqwest::Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    assert_eq!(s, 200, "{me}");
    let back = browser.start_connect(&t, "m365", "alice@contoso.example").await;
    let (s, page) = browser.visit(&back).await;
    assert_eq!(s, 200, "{page}");
    let (_, accounts) = t.get("/api/v1/calendar-accounts", &alice).await;
    let account = accounts["accounts"][0]["id"].as_i64().unwrap();
    let path = format!("/api/v1/calendar-accounts/{account}/calendar");
    let (s, b) = t.call(reqwest::Method::PUT, &path, &alice, Some(json!({"calendar": "own"}))).await;
    assert_eq!(s, 200, "{b}");
    let calendar = b["calendar"].as_str().unwrap().to_owned();
    Some(M365 { t, _peer: peer, _files: files, graph, admin, alice, account, calendar })
}

crate::on_both_backends!(peers: edits_in_outlook_follow_the_policies, graph_notifications_wake_the_reads);

/// The calendar edit cases, in Outlook (the Graph double), read by hand.
async fn edits_in_outlook_follow_the_policies(db: crate::support::TestDb) {
    let Some(m) = m365_with_push(db).await else { return };
    crate::google_double::upload_dated_models(&m.t, &m.admin).await;
    crate::google_double::edits_follow_the_policies(&m.t, &m.admin, &m.alice, m.account, &m.graph).await;
    assert!(m.graph.violations().is_empty(), "{:?}", m.graph.violations());
}

/// Push from Graph: after the first read a subscription to flowcal's
/// calendar lives, made after Graph's validation handshake with flowcal's
/// push endpoint (both URLs), with the secret flowcal keeps the hash of.
/// `subscriptionRemoved` makes the next read start a new one;
/// `reauthorizationRequired` makes it renew this one (`PATCH`). Forged
/// notifications (the subscription's id with another `clientState`, or an
/// unknown subscription) are answered but change nothing: no read, the
/// entry as it was. A person's move makes Graph notify; with the read loop
/// running, the move is proposed. Disconnecting deletes the subscription,
/// which notifies no more.
async fn graph_notifications_wake_the_reads(db: crate::support::TestDb) {
    use crate::google_double::{dated_export, day, deliver_all, export_json, read_now, Person as _};
    let Some(m) = m365_with_push(db).await else { return };
    let (t, graph) = (&m.t, &m.graph);
    crate::google_double::upload_dated_models(t, &m.admin).await;
    let (moved, _, _) = dated_export(t, &m.alice, m.account, "dated", &day(5), "deadline").await;
    let (later, _, _) = dated_export(t, &m.alice, m.account, "dated", &day(6), "deadline").await;
    deliver_all(t).await;
    assert!(graph.subscriptions().is_empty(), "none before the first read");
    read_now(t, m.account).await;

    // A subscription to flowcal's calendar, validated at flowcal's push endpoint.
    let address = format!("{}/push/microsoft", crate::google_double::PUSH_BASE);
    let subs = graph.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let sub = subs[0].clone();
    assert_eq!(sub.calendar, m.calendar);
    assert_eq!(
        (sub.notification_url.as_str(), sub.lifecycle_url.clone()),
        (address.as_str(), Some(format!("{address}?lifecycle=1")))
    );
    let checked: Vec<(String, bool, Option<u16>)> =
        graph.validations().into_iter().map(|v| (v.url, v.passed, v.status)).collect();
    assert_eq!(checked, [(address.clone(), true, Some(200)), (format!("{address}?lifecycle=1"), true, Some(200))]);
    let secret = sub.client_state.clone().unwrap();
    let kept = t.app.store.channel(m.account).await.unwrap().unwrap();
    assert_eq!((kept.channel_id.as_str(), kept.expires_at), (sub.id.as_str(), sub.expires));
    assert_eq!(kept.secret_hash, flowcal_server::secrets::token_hash(&secret));

    // Removed by Graph: the notification makes a read due, which starts a new subscription.
    assert_eq!(graph.lifecycle(&sub.id, "subscriptionRemoved").await, Some(202));
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!((s.read, s.failed), (1, 0), "the notification made the read due: {s:?}");
    let subs = graph.subscriptions();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let sub = subs[0].clone();
    assert_ne!(sub.id, kept.channel_id, "a new subscription");
    assert_eq!(t.app.store.channel(m.account).await.unwrap().unwrap().channel_id, sub.id);
    assert_eq!(graph.validations().iter().filter(|v| v.passed).count(), 4);
    let secret = sub.client_state.clone().unwrap();

    // Reauthorization required: renewed at the read it makes due.
    assert_eq!(graph.lifecycle(&sub.id, "reauthorizationRequired").await, Some(202));
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!((s.read, s.failed), (1, 0), "{s:?}");
    let patches: Vec<Seen> =
        graph.seen().into_iter().filter(|s| s.method == "PATCH" && s.path.contains("/subscriptions/")).collect();
    assert_eq!(patches.len(), 1, "{patches:#?}");
    assert_eq!((patches[0].path.as_str(), patches[0].status), (&*format!("/v1.0/subscriptions/{}", sub.id), 200));
    let renewed = graph.subscriptions();
    assert_eq!(renewed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(), [sub.id.as_str()]);
    assert_eq!(t.app.store.channel(m.account).await.unwrap().unwrap().expires_at, renewed[0].expires);

    // Forged notifications, while a change waits at Graph: answered, nothing read.
    graph.settle().await;
    read_now(t, m.account).await;
    graph.hold_notifications();
    let remote = export_json(t, &m.alice, moved).await["remote_id"].as_str().unwrap().to_owned();
    graph.move_to(&remote, &day(20));
    let deltas = || graph.seen().iter().filter(|s| s.path.ends_with("/calendarView/delta")).count();
    let reads = deltas();
    let before = export_json(t, &m.alice, moved).await;
    for (id, state) in [(sub.id.as_str(), "forged-state"), ("00000000-0000-4000-8000-000000000000", secret.as_str())] {
        let body = json!({"value": [{"subscriptionId": id, "clientState": state, "changeType": "updated",
            "resource": format!("Users/alice/Events/{remote}"), "tenantId": TENANT_ID,
            "subscriptionExpirationDateTime": graph_time(sub.expires)}]});
        let r = t.client.post(format!("{}/push/microsoft", t.base)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 202, "answered like any other");
    }
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!(s.read, 0, "a forged notification makes no read due: {s:?}");
    assert_eq!(deltas(), reads, "Graph was not asked");
    assert_eq!(export_json(t, &m.alice, moved).await, before);
    assert_eq!(before["remote"]["state"], "in_sync");

    // Graph's own notification, with the read loop running: the move is proposed.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(t.app.calendar_sync.clone().run(async move {
        let _ = stopped.await;
    }));
    graph.release_notifications();
    let e = crate::access::wait_until(Duration::from_secs(120), "the move to be proposed", || async {
        let e = export_json(t, &m.alice, moved).await;
        (e["remote"]["state"] == "moved").then_some(e)
    })
    .await;
    assert_eq!(e["remote"], json!({"state": "moved", "start": day(20)}), "{e}");
    assert!(deltas() > reads, "read after the notification");
    graph.settle().await;
    let told: Vec<Notified> = graph
        .notified()
        .into_iter()
        .filter(|n| n.subscription == sub.id && n.kinds.iter().any(|k| k == "updated"))
        .collect();
    assert!(!told.is_empty(), "Graph notified");
    for n in &told {
        assert_eq!(
            (n.status, n.url.as_str(), n.body["value"][0]["clientState"].as_str()),
            (Some(202), address.as_str(), Some(&*secret))
        );
    }
    let _ = stop.send(());
    reader.await.unwrap();

    // Disconnected: the subscription is deleted, and notifies no more.
    let later_id = export_json(t, &m.alice, later).await["remote_id"].as_str().unwrap().to_owned();
    let (s, b) =
        t.call(reqwest::Method::DELETE, &format!("/api/v1/calendar-accounts/{}", m.account), &m.alice, None).await;
    assert!(s == 200 || s == 204, "{s} {b}");
    assert!(graph.subscriptions().is_empty(), "{:?}", graph.subscriptions());
    let deletes: Vec<(String, u16)> = graph
        .seen()
        .into_iter()
        .filter(|s| s.method == "DELETE" && s.path.contains("/subscriptions/"))
        .map(|s| (s.path, s.status))
        .collect();
    assert_eq!(deletes, [(format!("/v1.0/subscriptions/{}", sub.id), 204)]);
    let sent = graph.notified().len();
    graph.move_to(&later_id, &day(21));
    graph.settle().await;
    assert_eq!(graph.notified().len(), sent, "a deleted subscription notifies no more");
    assert!(graph.violations().is_empty(), "{:?}", graph.violations());
}
