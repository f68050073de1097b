//! The Google Calendar connector against a double of Google Calendar API v3
//! that checks every request against the published contract: the discovery
//! document in `tests/fixtures/contracts/google-calendar-v3-discovery.json`.
//!
//! The double (axum, 127.0.0.1, one per test) keeps calendars and events in
//! memory and answers like Google: Event / Calendar / CalendarList resources
//! with quoted etags and `kind`, `409 duplicate` for a taken event id, deleted
//! events kept as `cancelled`, `412` for a stale `If-Match`, `410` for deleting
//! a deleted event, calendar lists two entries a page, batch requests.
//!
//! Every request is matched to a discovery method (HTTP method + path
//! template under `servicePath`); its query parameters, path parameters and
//! JSON body (the method's request schema, recursively) are checked. Anything
//! off the contract is answered `400` and recorded as a violation, which the
//! tests assert to be none. Tokens are checked at the authorization server
//! (oidc-provider, RFC 7662 introspection): the `calendar` resource scope it
//! grants stands for Google's `https://www.googleapis.com/auth/calendar`, and
//! it grants Google's `…/auth/calendar.app.created` under that very name (so
//! that flowcal's default Google scopes are asked for and granted as they
//! are). Each method takes the scopes its `scopes` in the discovery document
//! list; `calendar.app.created` reaches only the calendars made with it (the
//! scope's description: "Make secondary Google calendars, and see, create,
//! change, and delete events on them"). A call outside the token's scopes is
//! answered as Google does (`403 insufficientPermissions`,
//! `ACCESS_TOKEN_SCOPE_INSUFFICIENT`) and recorded as a violation.
//!
//! Batch requests: every part is `application/http` with a unique
//! `Content-ID` (Google may answer the calls in any order; this double
//! answers them in reverse), a request line naming the path and `HTTP/1.1`,
//! a `Content-Length` that fits the body, and `If-Match` only on calls that
//! change an existing resource (never on the batch request itself, where it
//! would hold for every call). Single calls, in a batch or not, can be made
//! to fail ([`Double::fail_call`]).
//!
//! Reading changes (`events.list`, the syncToken parameter's description in
//! the discovery document): two events a page (`nextPageToken`; a page token
//! must come with the very query of the page before); the last page carries
//! `nextSyncToken`; with a `syncToken`, the events changed since it was
//! issued, deleted ones included as `cancelled` (only `id`, `etag` and
//! `status`, as Google may send them); a `syncToken` combined with a
//! parameter the description excludes (or with `showDeleted=false`) is a
//! violation; a token the double did not issue, or one invalidated
//! ([`Double::invalidate_sync_tokens`]), is answered `410 fullSyncRequired`.
//! What a person does in the calendar: [`Double::delete_as_user`],
//! [`Double::move_as_user`].
//!
//! Push notifications (the push guide, `events.watch`, `channels.stop` and
//! the `Channel` schema of the discovery document): `events.watch` opens a
//! channel (`type` `web_hook` or `webhook`, an https `address`, an `id` of
//! at most 64 characters of `[A-Za-z0-9-_+/=]`, unique, the `token` given
//! back with every notification, `params.ttl` in seconds, 604800 when not
//! given) and answers its `resourceId` (one per calendar), `resourceUri` and
//! `expiration` (milliseconds since the epoch, as a string). Right after, the
//! channel's address gets a `sync` notification; then an `exists` one each
//! time events of the calendar change (through the API or by a person; one
//! per channel for the changes of one request). Each notification is a POST
//! without a body carrying `X-Goog-Channel-ID`, `X-Goog-Channel-Token`,
//! `X-Goog-Channel-Expiration`, `X-Goog-Resource-ID`, `X-Goog-Resource-URI`,
//! `X-Goog-Resource-State` and `X-Goog-Message-Number` (1 for `sync`, then
//! counting up), sent in a task of its own once the double's state is let
//! go, and recorded with the status the address answered
//! ([`Double::pushed`]). Tests serve flowcal on http: [`Double::route_push`]
//! maps the https base flowcal names to it. `channels.stop` (`id` and
//! `resourceId`) ends a channel: it notifies no more; one the double does
//! not know is `404 notFound`. An expired channel notifies no more either.

use crate::access::Oidc;
use crate::connectors::{sample, suite};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use flowcal_calendar::google::{GoogleCalendar, OWN_CALENDAR_DESCRIPTION};
use flowcal_calendar::{
    event_key, AnyConnector, CalendarChoice, Connector, ConnectorError, Credential, EventSpec, Remote, When,
};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use jiff::ToSpan;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Nothing listens there: the token flow stops at the redirect.
const REDIRECT: &str = "http://127.0.0.1:1/cb";
/// The Google scope the peer's `calendar` resource scope stands for.
const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// flowcal's default Google scope; the peer grants it under this name.
pub const APP_CREATED_SCOPE: &str = "https://www.googleapis.com/auth/calendar.app.created";
/// The peer's resource scopes (its `resource_scopes`).
pub const PEER_SCOPES: &str = "calendar https://www.googleapis.com/auth/calendar.app.created";
/// Calendar list entries per page (small, so that paging is exercised).
const PAGE: usize = 2;
/// Events per page of `events.list` (small, so that paging is exercised).
const EVENTS_PAGE: usize = 2;
/// The number in the double's first etag, less one: etags count every
/// change, so an event's etag tells when it last changed.
const ETAG_BASE: u64 = 3_181_161_784_712_000;
/// flowcal's limit of calls in one batch request.
const MAX_BATCH: usize = 50;
const OWNER: &str = "alice@example.com";

// ---- the contract ---------------------------------------------------------------------------

/// The discovery document, and the checks it allows.
struct Contract {
    doc: Json,
    /// `/calendar/v3/`
    service: String,
    /// `/batch/calendar/v3`
    batch: String,
    /// The query parameters of `events.list` that cannot go with a
    /// `syncToken` (as its description lists them).
    not_with_sync_token: Vec<String>,
}

/// A request matched to a discovery method.
struct Matched {
    method: Json,
    params: HashMap<String, String>,
}

impl Matched {
    fn id(&self) -> &str {
        self.method["id"].as_str().unwrap_or_default()
    }
    fn param(&self, name: &str) -> &str {
        self.params.get(name).map(String::as_str).unwrap_or_default()
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            if let Some(v) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Google's rule for client-chosen event ids: base32hex (a–v, 0–9), 5–1024 characters.
fn valid_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|c| c.is_ascii_digit() || (b'a'..=b'v').contains(&c))
}

impl Contract {
    fn load() -> Contract {
        let path = crate::support::repo_root().join("tests/fixtures/contracts/google-calendar-v3-discovery.json");
        let doc: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let service = format!("/{}", doc["servicePath"].as_str().unwrap());
        let batch = format!("/{}", doc["batchPath"].as_str().unwrap());
        // "There are several query parameters that cannot be specified
        // together with nextSyncToken … These are: \n- iCalUID \n- orderBy …
        // \n- updatedMin All other query parameters should be the same …"
        let described =
            doc["resources"]["events"]["methods"]["list"]["parameters"]["syncToken"]["description"].as_str().unwrap();
        let listed = described.split_once("These are:").unwrap().1;
        let not_with_sync_token: Vec<String> =
            listed.split("\n-").skip(1).filter_map(|item| item.split_whitespace().next()).map(str::to_owned).collect();
        assert!(not_with_sync_token.len() >= 8 && not_with_sync_token.iter().any(|p| p == "timeMin"), "{listed}");
        Contract { doc, service, batch, not_with_sync_token }
    }

    fn methods(&self) -> Vec<&Json> {
        fn walk<'a>(resources: &'a Json, out: &mut Vec<&'a Json>) {
            for r in resources.as_object().into_iter().flat_map(|o| o.values()) {
                out.extend(r["methods"].as_object().into_iter().flat_map(|m| m.values()));
                walk(&r["resources"], out);
            }
        }
        let mut out = Vec::new();
        walk(&self.doc["resources"], &mut out);
        out
    }

    /// The method for `http_method` on `rel` (the path under `servicePath`,
    /// still escaped); the most literal template wins.
    fn find(&self, http_method: &str, rel: &str) -> Result<Matched, String> {
        let segments: Vec<&str> = rel.split('/').collect();
        let mut best: Option<(usize, Matched)> = None;
        let mut other_methods = Vec::new();
        for m in self.methods() {
            let template = m["flatPath"].as_str().or(m["path"].as_str()).unwrap_or_default();
            let parts: Vec<&str> = template.split('/').collect();
            if parts.len() != segments.len() {
                continue;
            }
            let mut params = HashMap::new();
            let mut literal = 0;
            let fits =
                parts.iter().zip(&segments).all(|(t, s)| match t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    Some(name) => {
                        params.insert(name.trim_start_matches('+').to_owned(), percent_decode(s));
                        true
                    }
                    None => {
                        literal += 1;
                        t == s
                    }
                });
            if !fits {
                continue;
            }
            if m["httpMethod"].as_str() != Some(http_method) {
                other_methods.push(format!(
                    "{} ({})",
                    m["httpMethod"].as_str().unwrap_or("?"),
                    m["id"].as_str().unwrap_or("?")
                ));
                continue;
            }
            if best.as_ref().is_none_or(|(l, _)| literal > *l) {
                best = Some((literal, Matched { method: m.clone(), params }));
            }
        }
        match best {
            Some((_, m)) => Ok(m),
            None if other_methods.is_empty() => Err(format!("no method of the API has the path {rel:?}")),
            None => {
                Err(format!("{http_method} is not a method of {rel:?}; the contract has {}", other_methods.join(", ")))
            }
        }
    }

    /// Every violation of the contract in one request to method `m`.
    fn check(&self, m: &Matched, query: &[(String, String)], headers: &HeaderMap, body: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        let id = m.id().to_owned();
        let params = &m.method["parameters"];
        // Path parameters.
        for (name, spec) in params.as_object().into_iter().flatten() {
            if spec["location"] == "path" && spec["required"] == true && m.param(name).is_empty() {
                out.push(format!("{id}: the required path parameter {name} is missing"));
            }
        }
        // Query parameters: declared for the method (or for every method), of their type, not repeated.
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (k, v) in query {
            *seen.entry(k).or_default() += 1;
            let spec = match &params[k.as_str()] {
                s if s["location"] == "query" => s,
                _ => &self.doc["parameters"][k.as_str()],
            };
            if spec["location"] != "query" {
                out.push(format!("{id}: the query parameter {k:?} is not declared for this method"));
                continue;
            }
            if let Err(e) = check_param(spec, v) {
                out.push(format!("{id}: the query parameter {k}={v:?} {e}"));
            }
            if seen[k.as_str()] == 2 && spec["repeated"] != true {
                out.push(format!("{id}: the query parameter {k} is not repeatable"));
            }
        }
        for (name, spec) in params.as_object().into_iter().flatten() {
            if spec["location"] == "query" && spec["required"] == true && !seen.contains_key(name.as_str()) {
                out.push(format!("{id}: the required query parameter {name} is missing"));
            }
        }
        // syncToken's description: some parameters cannot go with it, and
        // deleted events are always listed ("it is not allowed to set
        // showDeleted to False").
        if seen.contains_key("syncToken") {
            for k in seen.keys().filter(|k| self.not_with_sync_token.iter().any(|p| p == *k)) {
                out.push(format!("{id}: the query parameter {k} cannot be combined with syncToken"));
            }
            if query.iter().any(|(k, v)| k == "showDeleted" && v == "false") {
                out.push(format!("{id}: showDeleted=false is not allowed with syncToken"));
            }
        }
        // The body: the method's request schema, or nothing.
        let request = &m.method["request"];
        if request.is_null() {
            if !body.is_empty() {
                out.push(format!("{id}: this method takes no request body"));
            }
            return out;
        }
        let ctype = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        if body.is_empty() {
            out.push(format!("{id}: the request body ({}) is missing", request["$ref"]));
            return out;
        }
        if !ctype.to_ascii_lowercase().starts_with("application/json") {
            out.push(format!("{id}: the request body is sent as {ctype:?}, not application/json"));
        }
        let json: Json = match serde_json::from_slice(body) {
            Ok(j) => j,
            Err(e) => {
                out.push(format!("{id}: the request body is not JSON: {e}"));
                return out;
            }
        };
        let patch = m.method["httpMethod"] == "PATCH";
        self.check_value(request, &json, "body", &id, patch, &mut out);
        if request["$ref"] == "Channel" {
            check_channel_semantics(&json, &id, &mut out);
        } else if id.starts_with("calendar.events.") {
            check_event_semantics(&json, &id, &mut out);
        }
        if let Some(tz) = json["timeZone"].as_str() {
            if TimeZone::get(tz).is_err() {
                out.push(format!("{id}: body.timeZone {tz:?} is not an IANA time zone"));
            }
        }
        out
    }

    fn resolve<'a>(&'a self, schema: &'a Json) -> &'a Json {
        match schema["$ref"].as_str() {
            Some(r) => &self.doc["schemas"][r],
            None => schema,
        }
    }

    /// `v` against `schema` (objects, arrays, `$ref`s, types and formats);
    /// unknown fields and wrong types are violations.
    fn check_value(&self, schema: &Json, v: &Json, at: &str, method: &str, patch: bool, out: &mut Vec<String>) {
        let schema = self.resolve(schema);
        if v.is_null() {
            // Only a patch clears a field with null.
            if !patch {
                out.push(format!("{method}: {at} is null"));
            }
            return;
        }
        let ty = schema["type"].as_str().unwrap_or("any");
        let wrong = |out: &mut Vec<String>| out.push(format!("{method}: {at} must be of type {ty}, not {v}"));
        match ty {
            "object" => {
                let Some(obj) = v.as_object() else { return wrong(out) };
                let props = schema["properties"].as_object();
                for (k, val) in obj {
                    let at = format!("{at}.{k}");
                    match (props.and_then(|p| p.get(k)), schema.get("additionalProperties")) {
                        (Some(p), _) => self.check_value(p, val, &at, method, patch, out),
                        (None, Some(extra)) if extra.is_object() => {
                            self.check_value(extra, val, &at, method, patch, out)
                        }
                        _ => out.push(format!(
                            "{method}: {at} is not a field of {}",
                            schema["id"].as_str().unwrap_or("this object")
                        )),
                    }
                }
                if !patch {
                    for (k, p) in props.into_iter().flatten() {
                        let required =
                            p["annotations"]["required"].as_array().is_some_and(|r| r.iter().any(|m| m == method));
                        if required && !obj.contains_key(k) {
                            out.push(format!("{method}: {at}.{k} is required"));
                        }
                    }
                }
            }
            "array" => {
                let Some(items) = v.as_array() else { return wrong(out) };
                for (i, item) in items.iter().enumerate() {
                    self.check_value(&schema["items"], item, &format!("{at}[{i}]"), method, patch, out);
                }
            }
            "string" => {
                let Some(s) = v.as_str() else { return wrong(out) };
                let bad_format = match schema["format"].as_str() {
                    Some("date") => s.len() != 10 || s.parse::<jiff::civil::Date>().is_err(),
                    Some("date-time") => s.parse::<Timestamp>().is_err() && s.parse::<jiff::civil::DateTime>().is_err(),
                    Some("int64") => s.parse::<i64>().is_err(),
                    _ => false,
                };
                if bad_format {
                    out.push(format!("{method}: {at} = {s:?} is not a {}", schema["format"]));
                }
                if let Some(allowed) = schema["enum"].as_array() {
                    if !allowed.iter().any(|a| a == v) {
                        out.push(format!("{method}: {at} = {s:?} is none of {allowed:?}"));
                    }
                }
            }
            "integer" => {
                let ok = v.as_i64().is_some_and(|n| schema["format"] != "int32" || i32::try_from(n).is_ok());
                if !ok {
                    wrong(out);
                }
            }
            "boolean" if !v.is_boolean() => wrong(out),
            "number" if !v.is_number() => wrong(out),
            _ => {}
        }
    }
}

/// A query parameter value against its declaration.
fn check_param(spec: &Json, v: &str) -> Result<(), String> {
    match spec["type"].as_str() {
        Some("boolean") if v != "true" && v != "false" => return Err("is not a boolean".into()),
        Some("integer") => {
            let n: i64 = v.parse().map_err(|_| "is not an integer".to_owned())?;
            let bound = |k: &str| spec[k].as_str().and_then(|b| b.parse::<i64>().ok());
            if bound("minimum").is_some_and(|min| n < min) || bound("maximum").is_some_and(|max| n > max) {
                return Err("is out of range".into());
            }
        }
        _ => {}
    }
    if spec["format"] == "date-time" && v.parse::<Timestamp>().is_err() {
        return Err("is not an RFC 3339 date-time".into());
    }
    if let Some(allowed) = spec["enum"].as_array() {
        if !allowed.iter().any(|a| a == v) {
            return Err(format!("is none of {allowed:?}"));
        }
    }
    Ok(())
}

/// What the push guide requires of a `Channel` body: `events.watch` names a
/// web hook at an https address, with a channel id of at most 64
/// characters of `[A-Za-z0-9-_+/=]`, a token of at most 256 characters and
/// a time to live in seconds (`params.ttl`, the only parameter of web
/// hooks); the answer's fields (`resourceId`, `resourceUri`) are not sent.
/// `channels.stop` names the channel and its `resourceId`.
fn check_channel_semantics(ch: &Json, method: &str, out: &mut Vec<String>) {
    let mut bad = |what: String| out.push(format!("{method}: {what}"));
    let text = |k: &str| ch.get(k).and_then(Json::as_str);
    let id_chars = |id: &str| id.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_+/=".contains(&c));
    match text("id") {
        None => bad("body.id (the channel id) is required".into()),
        Some(id) if !(1..=64).contains(&id.len()) || !id_chars(id) => {
            bad(format!("body.id {id:?} is not a channel id ([A-Za-z0-9-_+/=], at most 64 characters)"))
        }
        Some(_) => {}
    }
    if method == "calendar.channels.stop" {
        if text("resourceId").is_none_or(str::is_empty) {
            bad("body.resourceId is required to stop a channel".into());
        }
        return;
    }
    if !matches!(text("type"), Some("web_hook" | "webhook")) {
        bad(format!("body.type {} is not web_hook", ch["type"]));
    }
    match text("address") {
        Some(a) if a.starts_with("https://") && reqwest::Url::parse(a).is_ok() => {}
        _ => bad(format!("body.address {} is not an https URL", ch["address"])),
    }
    if text("token").is_some_and(|t| t.len() > 256) {
        bad("body.token is longer than 256 characters".into());
    }
    for k in ["resourceId", "resourceUri"] {
        if ch.get(k).is_some() {
            bad(format!("body.{k} is the answer's, not the request's"));
        }
    }
    for (k, v) in ch["params"].as_object().into_iter().flatten() {
        if k != "ttl" {
            bad(format!("body.params.{k} is not a parameter of web hooks"));
        } else if v.as_str().and_then(|t| t.parse::<u64>().ok()).is_none_or(|n| n == 0) {
            bad(format!("body.params.ttl {v} is not a number of seconds"));
        }
    }
}

/// What the Event schema's field descriptions require of the values.
fn check_event_semantics(ev: &Json, method: &str, out: &mut Vec<String>) {
    let mut bad = |what: String| out.push(format!("{method}: {what}"));
    if let Some(id) = ev.get("id").and_then(Json::as_str) {
        if !valid_event_id(id) {
            bad(format!("body.id {id:?} breaks the id rule (base32hex a-v0-9, 5-1024 characters)"));
        }
    }
    let kinds: Vec<Option<&str>> = ["start", "end"]
        .iter()
        .filter_map(|k| ev.get(*k).map(|t| (k, t)))
        .map(|(k, t)| {
            let kind = match (t.get("date").is_some(), t.get("dateTime").is_some()) {
                (true, false) => Some("date"),
                (false, true) => Some("dateTime"),
                _ => {
                    bad(format!("body.{k} needs exactly one of date and dateTime"));
                    None
                }
            };
            if let Some(dt) = t["dateTime"].as_str() {
                if dt.parse::<Timestamp>().is_err() && t.get("timeZone").is_none() {
                    bad(format!("body.{k}.dateTime {dt:?} has no offset and there is no timeZone"));
                }
            }
            if let Some(tz) = t["timeZone"].as_str() {
                if TimeZone::get(tz).is_err() {
                    bad(format!("body.{k}.timeZone {tz:?} is not an IANA time zone"));
                }
            }
            kind
        })
        .collect();
    if kinds.len() == 2 && kinds[0].is_some() && kinds[1].is_some() && kinds[0] != kinds[1] {
        bad("body.start and body.end must both be dates or both date-times".into());
    }
    let one_of = |field: &str, allowed: &[&str]| {
        ev.get(field)
            .and_then(Json::as_str)
            .filter(|v| !allowed.contains(v))
            .map(|v| format!("body.{field} {v:?} is none of {allowed:?}"))
    };
    for problem in [
        one_of("transparency", &["opaque", "transparent"]),
        one_of("status", &["confirmed", "tentative", "cancelled"]),
        one_of("visibility", &["default", "public", "private", "confidential"]),
    ]
    .into_iter()
    .flatten()
    {
        bad(problem);
    }
    if let Some(url) = ev["source"]["url"].as_str() {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bad(format!("body.source.url {url:?} is not HTTP or HTTPS"));
        }
    }
    let overrides = ev["reminders"]["overrides"].as_array().map(Vec::as_slice).unwrap_or_default();
    if overrides.len() > 5 {
        bad("body.reminders.overrides has more than 5 reminders".into());
    }
    if ev["reminders"]["useDefault"] == true && !overrides.is_empty() {
        bad("body.reminders: default reminders and overrides at the same time".into());
    }
    for (i, r) in overrides.iter().enumerate() {
        if !matches!(r["method"].as_str(), Some("email" | "popup")) {
            bad(format!("body.reminders.overrides[{i}].method must be email or popup"));
        }
        if !r["minutes"].as_i64().is_some_and(|m| (0..=40_320).contains(&m)) {
            bad(format!("body.reminders.overrides[{i}].minutes must be 0 to 40320"));
        }
    }
}

// ---- the double's state ---------------------------------------------------------------------

/// A failure the double answers instead of a request (the next one, or a
/// call for a given event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `403 rateLimitExceeded`, with `Retry-After` when given.
    RateLimit { retry_after: Option<u64> },
    /// `403 userRateLimitExceeded` (no `Retry-After`).
    UserRateLimit,
    /// `429` with `Retry-After`.
    TooManyRequests { retry_after: u64 },
    /// `500 backendError`.
    Backend,
    /// `401 authError`: the access token is no longer accepted (expired early, or revoked).
    Unauthorized,
    /// `409 duplicate` for an insert whose event is stored all the same: an
    /// earlier request made it and its answer was lost.
    Duplicate,
}

/// A call as the double handled it (after the contract checks).
#[derive(Debug, Clone)]
pub struct Call {
    /// In a batch request.
    pub batch: bool,
    /// The discovery method's id, e.g. `calendar.events.update`.
    pub method: String,
    pub calendar: String,
    /// The event's id: the path's, or an insert's body's.
    pub event: Option<String>,
    pub if_match: Option<String>,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    pub status: u16,
}

struct Cal {
    id: String,
    summary: String,
    description: Option<String>,
    time_zone: String,
    primary: bool,
    /// Made through `calendars.insert` (what `calendar.app.created` reaches).
    app_created: bool,
    etag: String,
    events: BTreeMap<String, Json>,
}

#[derive(Default)]
struct St {
    calendars: HashMap<String, Cal>,
    order: Vec<String>,
    next: u64,
    violations: Vec<String>,
    faults: VecDeque<Fault>,
    /// Faults for calls on one event (its id), each used once.
    call_faults: Vec<(String, Fault)>,
    tokens: HashMap<String, Json>,
    /// Sync tokens `events.list` issued and not invalidated: the calendar,
    /// and the etag number of the last change before it.
    sync_tokens: HashMap<String, (String, u64)>,
    /// The rest of a listing, by its page token.
    event_pages: HashMap<String, EventPage>,
    log: Vec<String>,
    calls: Vec<Call>,
    batches: Vec<usize>,
    /// Notification channels (`events.watch`) not stopped, by id.
    channels: HashMap<String, Chan>,
    /// Each calendar's `resourceId` (the same for every channel on it).
    resource_ids: HashMap<String, String>,
    /// Notifications due (channel id, resource state), sent by
    /// [`Double::flush`] once the state is let go.
    outbox: Vec<(String, &'static str)>,
    /// Notifications are kept back ([`Double::hold_notifications`]).
    held: bool,
}

/// A notification channel.
#[derive(Debug, Clone)]
pub struct Chan {
    pub id: String,
    pub resource_id: String,
    pub resource_uri: String,
    pub calendar: String,
    /// The address flowcal named (https).
    pub address: String,
    /// The channel's token (flowcal's secret).
    pub token: Option<String>,
    /// When it ends (milliseconds since the epoch).
    pub expiration: i64,
    /// Notifications sent on it so far.
    messages: u64,
}

/// A notification the double sent, and what its address answered.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub channel: String,
    pub token: Option<String>,
    /// `sync` or `exists`.
    pub state: String,
    pub number: u64,
    /// The channel's address (as flowcal named it).
    pub address: String,
    /// The answer's status; `None` when nothing answered.
    pub status: Option<u16>,
}

/// What the next page of an `events.list` listing holds.
struct EventPage {
    calendar: String,
    /// The listing's query, without `pageToken`.
    query: Vec<(String, String)>,
    /// The events still to send, by id.
    ids: Vec<String>,
    /// Where the listing's sync token will stand (the etag number of the
    /// last change before the listing).
    at: u64,
}

/// The number in an etag the double gave: when the event last changed.
fn etag_number(ev: &Json) -> u64 {
    ev["etag"].as_str().and_then(|e| e.trim_matches('"').parse().ok()).unwrap_or(0)
}

impl St {
    fn etag(&mut self) -> String {
        self.next += 1;
        format!("\"{}\"", ETAG_BASE + self.next)
    }

    /// `calendar.events.list`: a new listing (everything, or what changed
    /// since a sync token), or its next page.
    fn list_events(&mut self, cal_id: &str, query: &[(String, String)], zone: Option<&str>) -> Resp {
        let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let size = q("maxResults").and_then(|n| n.parse::<usize>().ok()).unwrap_or(250).min(EVENTS_PAGE);
        let rest: Vec<(String, String)> = query.iter().filter(|(k, _)| k != "pageToken").cloned().collect();
        let page = match q("pageToken") {
            Some(t) => match self.event_pages.remove(t) {
                Some(p) if p.calendar == cal_id && p.query == rest => p,
                Some(p) => {
                    // Google: "perform the exact same list query … append the pageToken".
                    let problem = format!(
                        "calendar.events.list: a page token goes with the very query of the page before ({:?} on {}), not {rest:?} on {cal_id}",
                        p.query, p.calendar
                    );
                    self.violations.push(format!("GET events of {cal_id}: {problem}"));
                    return Resp::error(400, "global", "invalid", &problem);
                }
                None => return Resp::error(400, "global", "invalid", "Invalid page token value."),
            },
            None => {
                let since = match q("syncToken") {
                    None => None,
                    Some(t) => match self.sync_tokens.get(t) {
                        Some((c, at)) if c == cal_id => Some(*at),
                        _ => {
                            return Resp::error(
                                410,
                                "calendar",
                                "fullSyncRequired",
                                "Sync token is no longer valid, a full sync is required.",
                            )
                        }
                    },
                };
                let Some(cal) = self.calendars.get(cal_id) else { return Resp::not_found() };
                // With a sync token deleted events are always listed.
                let deleted_too = since.is_some() || q("showDeleted") == Some("true");
                let mut listed: Vec<(u64, String)> = cal
                    .events
                    .iter()
                    .filter(|(_, e)| deleted_too || e["status"] != "cancelled")
                    .filter(|(_, e)| since.is_none_or(|at| etag_number(e) > at))
                    .map(|(id, e)| (etag_number(e), id.clone()))
                    .collect();
                listed.sort();
                let ids = listed.into_iter().map(|(_, id)| id).collect();
                EventPage { calendar: cal_id.to_owned(), query: rest, ids, at: ETAG_BASE + self.next }
            }
        };
        let Some(cal) = self.calendars.get(cal_id) else { return Resp::not_found() };
        let mut ids = page.ids;
        let later = ids.split_off(size.min(ids.len()));
        let items: Vec<Json> = ids
            .iter()
            .filter_map(|id| cal.events.get(id))
            .map(|e| match e["status"].as_str() {
                Some("cancelled") => {
                    json!({"kind": "calendar#event", "etag": e["etag"], "id": e["id"], "status": "cancelled"})
                }
                _ => render(e, &cal.time_zone, zone),
            })
            .collect();
        let now = Timestamp::now().round(jiff::Unit::Millisecond).unwrap().to_string();
        let mut list = json!({"kind": "calendar#events", "etag": format!("\"{}\"", page.at), "summary": cal.summary,
            "updated": now, "timeZone": cal.time_zone, "accessRole": "owner", "defaultReminders": [], "items": items});
        let token = format!("{:032x}", rand::random::<u128>());
        if later.is_empty() {
            self.sync_tokens.insert(token.clone(), (cal_id.to_owned(), page.at));
            list["nextSyncToken"] = json!(token);
        } else {
            list["nextPageToken"] = json!(token);
            self.event_pages.insert(token, EventPage { ids: later, ..page });
        }
        Resp::json(200, list)
    }

    /// Events of calendar `cal` changed: each channel on it is notified.
    fn touched(&mut self, cal: &str) {
        let ids: Vec<String> = self.channels.values().filter(|c| c.calendar == cal).map(|c| c.id.clone()).collect();
        self.outbox.extend(ids.into_iter().map(|id| (id, "exists")));
    }

    /// The calendar holding event `id`.
    fn calendar_of(&self, id: &str) -> Option<String> {
        self.calendars.values().find(|c| c.events.contains_key(id)).map(|c| c.id.clone())
    }

    fn add_calendar(&mut self, id: &str, summary: &str, description: Option<&str>, zone: &str, primary: bool) {
        let etag = self.etag();
        let cal = Cal {
            id: id.to_owned(),
            summary: summary.to_owned(),
            description: description.map(str::to_owned),
            time_zone: zone.to_owned(),
            primary,
            app_created: false,
            etag,
            events: BTreeMap::new(),
        };
        self.calendars.insert(id.to_owned(), cal);
        self.order.push(id.to_owned());
    }
}

/// A request as the double handles it (outer, or one call of a batch).
struct Req {
    method: Method,
    /// Path and query.
    target: String,
    headers: HeaderMap,
    body: Bytes,
}

/// An answer as the double gives it.
struct Resp {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Option<Json>,
    /// A body that is not JSON (the batch answer); goes with its own content type.
    text: Option<String>,
}

impl Resp {
    fn json(status: u16, body: Json) -> Resp {
        Resp { status, headers: Vec::new(), body: Some(body), text: None }
    }

    /// Google's error shape.
    fn error(status: u16, domain: &str, reason: &str, message: &str) -> Resp {
        let mut e = json!({"error": {"errors": [{"domain": domain, "reason": reason, "message": message}],
            "code": status, "message": message}});
        let s = match status {
            401 => Some("UNAUTHENTICATED"),
            403 if reason == "insufficientPermissions" => Some("PERMISSION_DENIED"),
            400 => Some("INVALID_ARGUMENT"),
            _ => None,
        };
        if let Some(s) = s {
            e["error"]["status"] = json!(s);
        }
        Resp::json(status, e)
    }

    fn not_found() -> Resp {
        Resp::error(404, "global", "notFound", "Not Found")
    }

    fn with(mut self, name: &'static str, value: String) -> Resp {
        self.headers.push((name, value));
        self
    }

    fn into_response(self) -> Response {
        let mut b = Response::builder().status(self.status);
        for (k, v) in &self.headers {
            b = b.header(*k, v);
        }
        match (self.body, self.text) {
            (Some(j), _) => b.header("content-type", "application/json; charset=UTF-8").body(Body::from(j.to_string())),
            (None, Some(t)) => b.body(Body::from(t)),
            (None, None) => b.body(Body::empty()),
        }
        .unwrap()
    }
}

/// The Google Calendar double.
pub struct Double {
    contract: Contract,
    oidc: Arc<Oidc>,
    st: Mutex<St>,
    pub base: String,
    /// Where notifications to an https base really go (`route_push`).
    routes: Mutex<Vec<(String, String)>>,
    /// Every notification sent, with the answer's status.
    pushed: Arc<Mutex<Vec<Pushed>>>,
    /// Notifications on their way.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    http: reqwest::Client,
}

impl Double {
    /// Serves on 127.0.0.1 with a primary calendar and two others.
    pub async fn start(oidc: Arc<Oidc>) -> Arc<Double> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut st = St::default();
        st.add_calendar(OWNER, OWNER, None, "Europe/Berlin", true);
        st.add_calendar(
            "en.german#holiday@group.v.calendar.google.com",
            "Holidays in Germany",
            Some("Holidays and Observances in Germany"),
            "Europe/Berlin",
            false,
        );
        st.add_calendar("family0123456789@group.calendar.google.com", "Family", None, "Europe/Berlin", false);
        let double = Arc::new(Double {
            contract: Contract::load(),
            oidc,
            st: Mutex::new(st),
            base: format!("http://{}", listener.local_addr().unwrap()),
            routes: Mutex::new(Vec::new()),
            pushed: Arc::new(Mutex::new(Vec::new())),
            in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            http: reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap(),
        });
        let app = axum::Router::new().fallback(entry).with_state(double.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        double
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, St> {
        self.st.lock().unwrap()
    }

    /// The contract violations seen so far (and forgets them).
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().violations)
    }

    /// The next `n` requests are answered with `fault`.
    pub fn fail_next(&self, n: usize, fault: Fault) {
        self.lock().faults.extend(std::iter::repeat_n(fault, n));
    }

    /// The next call on event `id` (in a batch or not) is answered with `fault`.
    pub fn fail_call(&self, id: &str, fault: Fault) {
        self.lock().call_faults.push((id.to_owned(), fault));
    }

    /// Every call handled so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The number of calls in each batch request so far.
    pub fn batches(&self) -> Vec<usize> {
        self.lock().batches.clone()
    }

    /// `METHOD path status` of every request so far (batch calls included).
    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// A calendar of the user's in `zone`, made outside flowcal.
    pub fn add_calendar(&self, summary: &str, zone: &str) -> String {
        let mut st = self.lock();
        let id = format!("c{:016x}@group.calendar.google.com", rand::random::<u64>());
        st.add_calendar(&id, summary, None, zone, false);
        id
    }

    /// The event as stored (not rendered in the calendar's zone).
    pub fn stored(&self, calendar: &str, id: &str) -> Option<Json> {
        self.lock().calendars.get(calendar)?.events.get(id).cloned()
    }

    pub fn events(&self, calendar: &str) -> Vec<Json> {
        self.lock().calendars.get(calendar).map(|c| c.events.values().cloned().collect()).unwrap_or_default()
    }

    /// Every sync token issued so far stops working (Google invalidates them
    /// when they expire, or when access changes): the next read with one is
    /// answered `410 fullSyncRequired`.
    pub fn invalidate_sync_tokens(&self) {
        self.lock().sync_tokens.clear();
    }

    /// A person deletes the event in Google Calendar: it is kept as
    /// `cancelled`, with a new etag. `false` when there is no such event.
    pub fn delete_as_user(&self, id: &str) -> bool {
        self.as_user(id, |ev, etag| {
            ev["status"] = json!("cancelled");
            ev["etag"] = json!(etag);
            ev["updated"] = json!(Timestamp::now().to_string());
        })
    }

    /// Changes event `id` as a person does in Google Calendar (`change` gets
    /// the event and its new etag); its calendar's channels are notified.
    /// `false` when there is no such event.
    fn as_user(&self, id: &str, change: impl FnOnce(&mut Json, String)) -> bool {
        let mut st = self.lock();
        let etag = st.etag();
        let Some(cal) = st.calendar_of(id) else { return false };
        let Some(ev) = st.calendars.get_mut(&cal).and_then(|c| c.events.get_mut(id)) else { return false };
        change(ev, etag);
        st.touched(&cal);
        drop(st);
        self.flush();
        true
    }

    /// A person moves the event in Google Calendar to start at `when` (a day,
    /// or an instant shown in its zone), keeping its length (a day, or 30
    /// minutes, when it changes from one kind to the other): a higher
    /// sequence, a new etag. `false` when there is no such event.
    pub fn move_as_user(&self, id: &str, when: &When) -> bool {
        self.as_user(id, |ev, etag| {
            match when {
                When::Date(d) => {
                    let days = match (ev["start"]["date"].as_str(), ev["end"]["date"].as_str()) {
                        (Some(s), Some(e)) => {
                            let (s, e): (jiff::civil::Date, jiff::civil::Date) =
                                (s.parse().unwrap(), e.parse().unwrap());
                            (e - s).get_days().max(1)
                        }
                        _ => 1,
                    };
                    ev["start"] = json!({"date": d.to_string()});
                    ev["end"] = json!({"date": d.checked_add(days.days()).unwrap().to_string()});
                }
                When::At { at, zone } => {
                    let length = match (instant(&ev["start"]), instant(&ev["end"])) {
                        (Some(s), Some(e)) => e.duration_since(s),
                        _ => jiff::SignedDuration::from_mins(30),
                    };
                    let tz = TimeZone::get(zone).unwrap();
                    let end = at.checked_add(length).unwrap();
                    let shown = |t: Timestamp| t.display_with_offset(tz.to_offset(t)).to_string();
                    ev["start"] = json!({"dateTime": shown(*at), "timeZone": zone});
                    ev["end"] = json!({"dateTime": shown(end), "timeZone": zone});
                }
            }
            ev["sequence"] = json!(ev["sequence"].as_i64().unwrap_or(0) + 1);
            ev["etag"] = json!(etag);
            ev["updated"] = json!(Timestamp::now().to_string());
        })
    }

    /// Someone changes the event in Google Calendar: a new title, a higher sequence, a new etag.
    pub fn change_behind_flowcal(&self, id: &str) -> bool {
        self.as_user(id, |ev, etag| {
            ev["summary"] = json!("Changed in Google Calendar");
            // Moved twice: Google counts each change of the times.
            ev["sequence"] = json!(ev["sequence"].as_i64().unwrap_or(0) + 2);
            ev["etag"] = json!(etag);
        })
    }

    /// Notifications to an address under the https base `from` go to `to`
    /// instead (flowcal is served on plain http in tests; its push URL is https).
    pub fn route_push(&self, from: &str, to: &str) {
        let (from, to) = (from.trim_end_matches('/'), to.trim_end_matches('/'));
        self.routes.lock().unwrap().push((from.to_owned(), to.to_owned()));
    }

    /// Where a notification to `address` is sent.
    fn routed(&self, address: &str) -> String {
        let routes = self.routes.lock().unwrap();
        routes
            .iter()
            .find_map(|(from, to)| {
                address
                    .strip_prefix(from.as_str())
                    .filter(|rest| rest.is_empty() || rest.starts_with(['/', '?']))
                    .map(|rest| format!("{to}{rest}"))
            })
            .unwrap_or_else(|| address.to_owned())
    }

    /// The channels open now (not stopped).
    pub fn channels(&self) -> Vec<Chan> {
        let mut list: Vec<Chan> = self.lock().channels.values().cloned().collect();
        list.sort_by(|a, b| a.id.cmp(&b.id));
        list
    }

    /// Notifications are kept back (as when Google is slow to send them)
    /// until [`release_notifications`](Self::release_notifications).
    pub fn hold_notifications(&self) {
        self.lock().held = true;
    }

    /// The notifications kept back go out, and later ones at once.
    pub fn release_notifications(&self) {
        self.lock().held = false;
        self.flush();
    }

    /// Every notification sent so far (and answered, or found unreachable).
    pub fn pushed(&self) -> Vec<Pushed> {
        self.pushed.lock().unwrap().clone()
    }

    /// Waits until every notification sent so far has its answer.
    pub async fn settle(&self) {
        crate::access::wait_until(Duration::from_secs(60), "the notifications to be answered", || async {
            (self.in_flight.load(std::sync::atomic::Ordering::SeqCst) == 0).then_some(())
        })
        .await;
    }

    /// Sends the notifications due, each in a task of its own, after the
    /// state is let go: one per channel and state (Google coalesces), not on
    /// an expired channel; each counted on its channel.
    fn flush(&self) {
        let now = Timestamp::now().as_millisecond();
        let due: Vec<(Chan, &'static str)> = {
            let mut st = self.lock();
            if st.held {
                return;
            }
            let mut queued = std::mem::take(&mut st.outbox);
            let mut seen = std::collections::HashSet::new();
            queued.retain(|q| seen.insert(q.clone()));
            queued
                .into_iter()
                .filter_map(|(id, state)| {
                    let ch = st.channels.get_mut(&id).filter(|c| c.expiration > now)?;
                    ch.messages += 1;
                    Some((ch.clone(), state))
                })
                .collect()
        };
        for (ch, state) in due {
            self.notify(ch, state);
        }
    }

    /// One notification on `ch`, as Google sends it (headers, no body), in a
    /// task of its own; recorded with the answer's status.
    fn notify(&self, ch: Chan, state: &'static str) {
        let url = self.routed(&ch.address);
        let (http, pushed, in_flight) = (self.http.clone(), self.pushed.clone(), self.in_flight.clone());
        in_flight.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        tokio::spawn(async move {
            let expires = Timestamp::from_millisecond(ch.expiration).unwrap();
            let mut req = http
                .post(&url)
                .header("X-Goog-Channel-ID", &ch.id)
                .header(
                    "X-Goog-Channel-Expiration",
                    jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&expires).unwrap(),
                )
                .header("X-Goog-Resource-ID", &ch.resource_id)
                .header("X-Goog-Resource-URI", &ch.resource_uri)
                .header("X-Goog-Resource-State", state)
                .header("X-Goog-Message-Number", ch.messages.to_string());
            if let Some(t) = &ch.token {
                req = req.header("X-Goog-Channel-Token", t);
            }
            let status = req.send().await.ok().map(|r| r.status().as_u16());
            pushed.lock().unwrap().push(Pushed {
                channel: ch.id,
                token: ch.token,
                state: state.to_owned(),
                number: ch.messages,
                address: ch.address,
                status,
            });
            in_flight.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    }

    fn violation(&self, req: &Req, problems: &[String]) -> Resp {
        let path = req.target.split('?').next().unwrap_or_default();
        let mut st = self.lock();
        for p in problems {
            st.violations.push(format!("{} {path}: {p}", req.method));
        }
        Resp::error(400, "global", "invalid", &format!("contract violation: {}", problems.join("; ")))
    }

    /// Checks the bearer token at the authorization server (once per token)
    /// and that it carries a scope the method accepts (for the calendar it names).
    async fn authorize(&self, req: &Req, m: &Matched) -> Result<(), Resp> {
        let required = || {
            Resp::error(401, "global", "required", "Request is missing required authentication credential.")
                .with("www-authenticate", "Bearer realm=\"https://accounts.google.com/\"".into())
        };
        let invalid = || {
            Resp::error(401, "global", "authError", "Request had invalid authentication credentials.").with(
                "www-authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".into(),
            )
        };
        let Some(auth) = req.headers.get("authorization").and_then(|v| v.to_str().ok()) else { return Err(required()) };
        let Some(token) = auth.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(invalid());
        };
        let cached = self.lock().tokens.get(token).cloned();
        let info = match cached {
            Some(i) => i,
            None => {
                let i = self.oidc.introspect(token).await;
                self.lock().tokens.insert(token.to_owned(), i.clone());
                i
            }
        };
        if info["active"] != true {
            return Err(invalid());
        }
        // The peer's scope names as Google's: `calendar` stands for the full
        // scope; Google's own names (calendar.app.created) are granted as they are.
        let granted: Vec<&str> = info["scope"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .map(|s| if s == "calendar" { CALENDAR_SCOPE } else { s })
            .collect();
        let accepted: Vec<&str> =
            m.method["scopes"].as_array().into_iter().flatten().filter_map(Json::as_str).collect();
        let granting: Vec<&str> = granted.iter().copied().filter(|s| accepted.contains(s)).collect();
        let path = req.target.split('?').next().unwrap_or_default();
        let problem = if granting.is_empty() {
            Some(format!("{} needs one of the scopes {accepted:?}; the token has {granted:?}", m.id()))
        } else if granting == [APP_CREATED_SCOPE] {
            // calendar.app.created reaches only the calendars made with it (an
            // unknown calendar is left to the method: 404).
            let cal = m.param("calendarId");
            let st = self.lock();
            st.calendars.get(cal).filter(|c| !c.app_created).map(|c| {
                format!(
                    "{} on calendar {:?} under calendar.app.created, which reaches only the calendars made with it",
                    m.id(),
                    c.id
                )
            })
        } else {
            None
        };
        let Some(problem) = problem else { return Ok(()) };
        self.lock().violations.push(format!("{} {path}: {problem}", req.method));
        Err(insufficient_scope(m.id(), &accepted))
    }

    /// One call: contract, credentials, (faults for outer requests), then the API.
    async fn process(&self, req: Req, outer: bool) -> Resp {
        let url = reqwest::Url::parse(&format!("http://double{}", req.target)).unwrap();
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let Some(rel) = url.path().strip_prefix(&self.contract.service) else {
            let problem = format!("{:?} is not under the service path {}", url.path(), self.contract.service);
            return self.violation(&req, &[problem]);
        };
        let m = match self.contract.find(req.method.as_str(), rel) {
            Ok(m) => m,
            Err(problem) => return self.violation(&req, &[problem]),
        };
        let mut problems = self.contract.check(&m, &query, &req.headers, &req.body);
        let if_match = req.headers.get("if-match").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let writes_existing = matches!(m.method["httpMethod"].as_str(), Some("PUT" | "PATCH" | "DELETE"));
        if !outer && if_match.is_some() && !writes_existing {
            problems.push(format!("{}: If-Match belongs only on calls that change an existing resource", m.id()));
        }
        if !problems.is_empty() {
            return self.violation(&req, &problems);
        }
        let body: Json = if req.body.is_empty() { Json::Null } else { serde_json::from_slice(&req.body).unwrap() };
        let event = Some(m.param("eventId"))
            .filter(|e| !e.is_empty())
            .or_else(|| body["id"].as_str().filter(|_| m.id() == "calendar.events.insert"))
            .map(str::to_owned);
        let resp = self.call(&req, &m, &query, body, event.as_deref(), outer).await;
        self.lock().calls.push(Call {
            batch: !outer,
            method: m.id().to_owned(),
            calendar: m.param("calendarId").to_owned(),
            event,
            if_match,
            query,
            status: resp.status,
        });
        resp
    }

    /// A call that keeps to the contract: credentials, faults, the API.
    async fn call(
        &self,
        req: &Req,
        m: &Matched,
        query: &[(String, String)],
        body: Json,
        event: Option<&str>,
        outer: bool,
    ) -> Resp {
        if let Err(resp) = self.authorize(req, m).await {
            return resp;
        }
        let planned = event.and_then(|id| {
            let mut st = self.lock();
            let at = st.call_faults.iter().position(|(e, _)| e == id)?;
            Some(st.call_faults.remove(at).1)
        });
        if let Some(f) = planned {
            if f == Fault::Duplicate {
                // Made by an earlier request whose answer was lost.
                self.api(m, query, &req.headers, body);
            }
            return fault(f);
        }
        if outer {
            if let Some(f) = self.lock().faults.pop_front() {
                return fault(f);
            }
        }
        let resp = self.api(m, query, &req.headers, body);
        // The double's own answers keep to the contract too.
        if let (Some(b), true) = (&resp.body, (200..300).contains(&resp.status)) {
            let mut problems = Vec::new();
            self.contract.check_value(&m.method["response"], b, "answer", m.id(), false, &mut problems);
            if !problems.is_empty() {
                self.lock()
                    .violations
                    .extend(problems.into_iter().map(|p| format!("the double answered off-contract: {p}")));
            }
        }
        resp
    }

    /// The API itself, on the in-memory calendars.
    fn api(&self, m: &Matched, query: &[(String, String)], headers: &HeaderMap, body: Json) -> Resp {
        let mut st = self.lock();
        let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let if_match = headers.get("if-match").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let cal_id = m.param("calendarId").to_owned();
        let now = Timestamp::now().round(jiff::Unit::Millisecond).unwrap().to_string();
        match m.id() {
            "calendar.calendarList.list" => {
                let size = q("maxResults").and_then(|n| n.parse::<usize>().ok()).unwrap_or(100).min(PAGE);
                let from = match q("pageToken") {
                    None => 0,
                    Some(t) => match t.strip_prefix("page-").and_then(|n| n.parse::<usize>().ok()) {
                        Some(n) => n,
                        None => return Resp::error(400, "global", "invalid", "Invalid page token value."),
                    },
                };
                let items: Vec<Json> = st.order[from.min(st.order.len())..]
                    .iter()
                    .take(size)
                    .map(|id| list_entry(&st.calendars[id]))
                    .collect();
                let mut list = json!({"kind": "calendar#calendarList", "etag": format!("\"p{from}\""), "items": items});
                if from + size < st.order.len() {
                    list["nextPageToken"] = json!(format!("page-{}", from + size));
                } else {
                    list["nextSyncToken"] = json!("sync-1");
                }
                Resp::json(200, list)
            }
            "calendar.calendars.insert" => {
                let id = format!("c{:016x}@group.calendar.google.com", rand::random::<u64>());
                let zone = body["timeZone"].as_str().unwrap_or("UTC").to_owned();
                st.add_calendar(&id, body["summary"].as_str().unwrap(), body["description"].as_str(), &zone, false);
                if let Some(c) = st.calendars.get_mut(&id) {
                    c.app_created = true;
                }
                Resp::json(200, calendar_resource(&st.calendars[&id]))
            }
            "calendar.calendarList.get" => match st.calendars.get(&cal_id) {
                Some(c) => Resp::json(200, list_entry(c)),
                None => Resp::not_found(),
            },
            "calendar.calendars.get" => match st.calendars.get(&cal_id) {
                Some(c) => Resp::json(200, calendar_resource(c)),
                None => Resp::not_found(),
            },
            "calendar.events.insert" => {
                let etag = st.etag();
                let Some(cal) = st.calendars.get_mut(&cal_id) else { return Resp::not_found() };
                let id = body["id"].as_str().map(str::to_owned).unwrap_or_else(random_event_id);
                if cal.events.contains_key(&id) {
                    return Resp::error(409, "global", "duplicate", "The requested identifier already exists.");
                }
                if let Some(r) = empty_range(&body) {
                    return r;
                }
                let mut ev = body;
                let fields = ev.as_object_mut().unwrap();
                fields.insert("id".into(), json!(id));
                fields.insert("created".into(), json!(now));
                fields.insert("iCalUID".into(), json!(format!("{id}@google.com")));
                fields.insert("htmlLink".into(), json!(format!("https://www.google.com/calendar/event?eid={id}")));
                fields.insert("creator".into(), json!({"email": OWNER, "self": true}));
                fields.insert("organizer".into(), json!({"email": cal.id, "displayName": cal.summary, "self": true}));
                finish_event(fields, etag, &now);
                cal.events.insert(id.clone(), ev);
                let resp = Resp::json(200, render(&cal.events[&id], &cal.time_zone, q("timeZone")));
                st.touched(&cal_id);
                resp
            }
            "calendar.events.get" => {
                let Some(cal) = st.calendars.get(&cal_id) else { return Resp::not_found() };
                match cal.events.get(m.param("eventId")) {
                    Some(ev) => Resp::json(200, render(ev, &cal.time_zone, q("timeZone"))),
                    None => Resp::not_found(),
                }
            }
            "calendar.events.update" | "calendar.events.patch" => {
                let etag = st.etag();
                let Some(cal) = st.calendars.get_mut(&cal_id) else { return Resp::not_found() };
                let id = m.param("eventId").to_owned();
                let Some(current) = cal.events.get(&id) else { return Resp::not_found() };
                if if_match.as_ref().is_some_and(|e| current["etag"] != json!(e)) {
                    return Resp::error(412, "global", "conditionNotMet", "Precondition Failed");
                }
                if body.get("id").is_some_and(|b| b != &json!(id)) {
                    return Resp::error(400, "global", "invalid", "The event id in the body differs from the path.");
                }
                let theirs = current["sequence"].as_i64().unwrap_or(0);
                if body["sequence"].as_i64().is_some_and(|s| s < theirs) {
                    return Resp::error(
                        400,
                        "global",
                        "invalid",
                        "Invalid sequence value. The specified sequence number is below the current sequence number of the resource.",
                    );
                }
                let kept = ["id", "created", "iCalUID", "htmlLink", "creator", "organizer"];
                let mut next: Map<String, Json> = if m.id() == "calendar.events.patch" {
                    current.as_object().cloned().unwrap_or_default()
                } else {
                    current
                        .as_object()
                        .unwrap()
                        .iter()
                        .filter(|(k, _)| kept.contains(&k.as_str()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                for (k, v) in body.as_object().into_iter().flatten() {
                    if v.is_null() {
                        next.remove(k);
                    } else if !kept.contains(&k.as_str()) {
                        next.insert(k.clone(), v.clone());
                    }
                }
                // Without a status, a cancelled event stays cancelled.
                if !next.contains_key("status") {
                    next.insert("status".into(), current["status"].clone());
                }
                next.entry("sequence").or_insert(json!(theirs));
                let next = Json::Object(next);
                if let Some(r) = empty_range(&next) {
                    return r;
                }
                let Json::Object(mut fields) = next else { unreachable!() };
                finish_event(&mut fields, etag, &now);
                cal.events.insert(id.clone(), Json::Object(fields));
                let resp = Resp::json(200, render(&cal.events[&id], &cal.time_zone, q("timeZone")));
                st.touched(&cal_id);
                resp
            }
            "calendar.events.list" => st.list_events(&cal_id, query, q("timeZone")),
            "calendar.events.delete" => {
                let etag = st.etag();
                let Some(cal) = st.calendars.get_mut(&cal_id) else { return Resp::not_found() };
                let Some(ev) = cal.events.get_mut(m.param("eventId")) else { return Resp::not_found() };
                if ev["status"] == "cancelled" {
                    return Resp::error(410, "global", "deleted", "Resource has been deleted");
                }
                if if_match.as_ref().is_some_and(|e| ev["etag"] != json!(e)) {
                    return Resp::error(412, "global", "conditionNotMet", "Precondition Failed");
                }
                ev["status"] = json!("cancelled");
                ev["etag"] = json!(etag);
                ev["updated"] = json!(now);
                st.touched(&cal_id);
                Resp { status: 204, headers: Vec::new(), body: None, text: None }
            }
            "calendar.events.watch" => {
                if !st.calendars.contains_key(&cal_id) {
                    return Resp::not_found();
                }
                let id = body["id"].as_str().unwrap_or_default().to_owned();
                if st.channels.contains_key(&id) {
                    return Resp::error(400, "push", "channelIdNotUnique", "Channel id not unique.");
                }
                let ttl = body["params"]["ttl"].as_str().and_then(|t| t.parse::<i64>().ok()).unwrap_or(604_800);
                let resource_id = st
                    .resource_ids
                    .entry(cal_id.clone())
                    .or_insert_with(|| format!("{:026x}", rand::random::<u128>() >> 24))
                    .clone();
                let ch = Chan {
                    id: id.clone(),
                    resource_id,
                    resource_uri: format!("{}/calendar/v3/calendars/{cal_id}/events?alt=json", self.base),
                    calendar: cal_id.clone(),
                    address: body["address"].as_str().unwrap_or_default().to_owned(),
                    token: body["token"].as_str().map(str::to_owned),
                    expiration: Timestamp::now().as_millisecond() + ttl.saturating_mul(1000),
                    messages: 0,
                };
                let mut answer = json!({"kind": "api#channel", "id": ch.id, "resourceId": ch.resource_id,
                    "resourceUri": ch.resource_uri, "expiration": ch.expiration.to_string()});
                if let Some(t) = &ch.token {
                    answer["token"] = json!(t);
                }
                st.channels.insert(id.clone(), ch);
                // "sync": the channel works.
                st.outbox.push((id, "sync"));
                Resp::json(200, answer)
            }
            "calendar.channels.stop" => {
                let id = body["id"].as_str().unwrap_or_default();
                match st.channels.get(id) {
                    Some(c) if body["resourceId"].as_str() == Some(c.resource_id.as_str()) => {
                        st.channels.remove(id);
                        Resp { status: 204, headers: Vec::new(), body: None, text: None }
                    }
                    _ => Resp::error(
                        404,
                        "global",
                        "notFound",
                        &format!("Channel '{id}' not found for project 'flowcal-test'"),
                    ),
                }
            }
            other => Resp::error(
                501,
                "global",
                "notImplemented",
                &format!("{other} is in the contract but not in the double"),
            ),
        }
    }

    /// `POST /batch/calendar/v3`: multipart/mixed, one `application/http` part per call.
    async fn batch(&self, outer: Req) -> Resp {
        let ctype = outer.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let boundary = ctype
            .split(';')
            .skip(1)
            .find_map(|p| p.trim().strip_prefix("boundary=").map(|b| b.trim_matches('"').to_owned()))
            .filter(|_| ctype.to_ascii_lowercase().starts_with("multipart/mixed"));
        let Some(boundary) = boundary else {
            return self
                .violation(&outer, &[format!("a batch request is multipart/mixed with a boundary, not {ctype:?}")]);
        };
        if outer.method != Method::POST {
            return self.violation(&outer, &[format!("a batch request is a POST, not {}", outer.method)]);
        }
        if outer.headers.contains_key("if-match") {
            // Headers of the batch request hold for every call in it.
            return self.violation(&outer, &["If-Match on a batch request would hold for every call in it".into()]);
        }
        let text = String::from_utf8_lossy(&outer.body).into_owned();
        let parts = multipart_parts(&text, &boundary);
        if parts.is_empty() || parts.len() > MAX_BATCH {
            return self
                .violation(&outer, &[format!("a batch request has 1 to {MAX_BATCH} calls, not {}", parts.len())]);
        }
        self.lock().batches.push(parts.len());
        if let Some(f) = self.lock().faults.pop_front() {
            return fault(f);
        }
        let answer_boundary = format!("batch_{:016x}", rand::random::<u64>());
        let mut answers = Vec::with_capacity(parts.len());
        let mut ids = std::collections::HashSet::new();
        for part in parts {
            let (part_headers, inner) = head(part);
            let content_id = part_headers.iter().find(|(k, _)| k == "content-id").map(|(_, v)| v.clone());
            // Answers may come in any order: the Content-ID matches them to their calls.
            let id_problem = match &content_id {
                None => Some("a batch part has no Content-ID to match its answer with".to_owned()),
                Some(id) if id.len() < 3 || !id.starts_with('<') || !id.ends_with('>') => {
                    Some(format!("a batch part's Content-ID {id:?} is not of the form <id>"))
                }
                Some(id) if !ids.insert(id.clone()) => Some(format!("two batch parts have the Content-ID {id}")),
                Some(_) => None,
            };
            let resp = match part_headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str()) {
                _ if id_problem.is_some() => self.violation(&outer, &[id_problem.unwrap_or_default()]),
                Some(t) if t.eq_ignore_ascii_case("application/http") => match self.inner_request(&outer, inner) {
                    Ok(req) => {
                        let line = format!("{} {}", req.method, req.target.split('?').next().unwrap_or_default());
                        let resp = Box::pin(self.process(req, false)).await;
                        self.lock().log.push(format!("batch: {line} {}", resp.status));
                        resp
                    }
                    Err(problem) => self.violation(&outer, &[problem]),
                },
                other => self.violation(&outer, &[format!("a batch part is application/http, not {other:?}")]),
            };
            answers.push((content_id, resp));
        }
        let mut out = String::new();
        for (content_id, resp) in answers.into_iter().rev() {
            out.push_str(&format!("--{answer_boundary}\r\nContent-Type: application/http\r\n"));
            if let Some(id) = content_id {
                out.push_str(&format!(
                    "Content-ID: <response-{}>\r\n",
                    id.trim_start_matches('<').trim_end_matches('>')
                ));
            }
            let reason = StatusCode::from_u16(resp.status).ok().and_then(|s| s.canonical_reason()).unwrap_or("");
            out.push_str(&format!("\r\nHTTP/1.1 {} {reason}\r\n", resp.status));
            for (k, v) in &resp.headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            match &resp.body {
                Some(b) => {
                    if let Some(etag) = b["etag"].as_str() {
                        out.push_str(&format!("ETag: {etag}\r\n"));
                    }
                    let b = b.to_string();
                    out.push_str(&format!(
                        "Content-Type: application/json; charset=UTF-8\r\nContent-Length: {}\r\n\r\n{b}\r\n",
                        b.len()
                    ));
                }
                None => out.push_str("Content-Length: 0\r\n\r\n\r\n"),
            }
        }
        out.push_str(&format!("--{answer_boundary}--\r\n"));
        Resp {
            status: 200,
            headers: vec![("content-type", format!("multipart/mixed; boundary={answer_boundary}"))],
            body: None,
            text: Some(out),
        }
    }

    /// The HTTP request inside a batch part. Headers of the outer request
    /// apply to it, except `Content-*`; its own win.
    fn inner_request(&self, outer: &Req, text: &str) -> Result<Req, String> {
        let text = text.trim_start_matches(['\r', '\n']);
        let (line, rest) = text.split_once('\n').unwrap_or((text, ""));
        let mut words = line.trim_end_matches('\r').split(' ');
        let (Some(method), Some(target)) = (words.next(), words.next()) else {
            return Err(format!("a batch part has no request line: {line:?}"));
        };
        if !target.starts_with('/') {
            return Err(format!("a batch call names only the path of its URL, not {target:?}"));
        }
        match (words.next(), words.next()) {
            (Some("HTTP/1.1"), None) => {}
            (v, _) => return Err(format!("a batch call's request line ends with HTTP/1.1, not {v:?}")),
        }
        let method = Method::from_bytes(method.as_bytes()).map_err(|_| format!("{method:?} is not an HTTP method"))?;
        let (inner_headers, body) = head(rest);
        let mut headers = HeaderMap::new();
        for (k, v) in &outer.headers {
            if !k.as_str().starts_with("content-") {
                headers.insert(k.clone(), v.clone());
            }
        }
        for (k, v) in inner_headers {
            if k == "content-length" {
                if v.parse::<usize>().ok() != Some(body.len()) {
                    return Err(format!("a batch call's Content-Length {v} is not its body's {} bytes", body.len()));
                }
                continue;
            }
            headers.insert(axum::http::HeaderName::try_from(k).unwrap(), v.parse().unwrap());
        }
        Ok(Req { method, target: target.to_owned(), headers, body: Bytes::from(body.trim_end().to_owned()) })
    }
}

fn fault(f: Fault) -> Resp {
    match f {
        Fault::RateLimit { retry_after } => {
            let r = Resp::error(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded");
            match retry_after {
                Some(s) => r.with("retry-after", s.to_string()),
                None => r,
            }
        }
        Fault::UserRateLimit => Resp::error(403, "usageLimits", "userRateLimitExceeded", "User Rate Limit Exceeded"),
        Fault::Duplicate => Resp::error(409, "global", "duplicate", "The requested identifier already exists."),
        Fault::TooManyRequests { retry_after } => {
            Resp::error(429, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
                .with("retry-after", retry_after.to_string())
        }
        Fault::Backend => Resp::error(500, "global", "backendError", "Backend Error"),
        Fault::Unauthorized => {
            Resp::error(401, "global", "authError", "Request had invalid authentication credentials.")
        }
    }
}

/// Google's answer to a call its token's scopes do not allow.
fn insufficient_scope(method: &str, accepted: &[&str]) -> Resp {
    // calendar.events.insert → calendar.v3.Events.Insert
    let mut words = method.split('.');
    let rpc = format!(
        "calendar.v3.{}",
        words.by_ref().skip(1).map(|w| w[..1].to_ascii_uppercase() + &w[1..]).collect::<Vec<_>>().join(".")
    );
    let body = json!({"error": {
        "code": 403,
        "message": "Request had insufficient authentication scopes.",
        "errors": [{"message": "Insufficient Permission", "domain": "global", "reason": "insufficientPermissions"}],
        "status": "PERMISSION_DENIED",
        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
            "domain": "googleapis.com", "metadata": {"method": rpc, "service": "calendar-json.googleapis.com"}}]}});
    Resp::json(403, body).with(
        "www-authenticate",
        format!(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"{}\"",
            accepted.join(" ")
        ),
    )
}

fn random_event_id() -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuv";
    (0..26).map(|_| char::from(ALPHABET[rand::random::<usize>() % 32])).collect()
}

/// The server-side fields of an event after a write.
fn finish_event(fields: &mut Map<String, Json>, etag: String, now: &str) {
    fields.insert("kind".into(), json!("calendar#event"));
    fields.insert("etag".into(), json!(etag));
    fields.insert("updated".into(), json!(now));
    fields.entry("status").or_insert(json!("confirmed"));
    fields.entry("sequence").or_insert(json!(0));
    fields.entry("reminders").or_insert(json!({"useDefault": true}));
    fields.entry("eventType").or_insert(json!("default"));
}

/// The instant of an `EventDateTime` with a `dateTime`.
fn instant(t: &Json) -> Option<Timestamp> {
    let dt = t["dateTime"].as_str()?;
    dt.parse::<Timestamp>().ok().or_else(|| {
        let local: jiff::civil::DateTime = dt.parse().ok()?;
        local.to_zoned(TimeZone::get(t["timeZone"].as_str()?).ok()?).ok().map(|z| z.timestamp())
    })
}

/// `400 timeRangeEmpty` when the event ends before it starts.
fn empty_range(ev: &Json) -> Option<Resp> {
    let empty = match (instant(&ev["start"]), instant(&ev["end"])) {
        (Some(s), Some(e)) => e <= s,
        _ => match (ev["start"]["date"].as_str(), ev["end"]["date"].as_str()) {
            (Some(s), Some(e)) => e <= s,
            _ => false,
        },
    };
    empty.then(|| Resp::error(400, "calendar", "timeRangeEmpty", "The specified time range is empty."))
}

/// An event as answered: date-times in the requested zone, else the
/// calendar's (any offset of the same instant may come back).
fn render(ev: &Json, calendar_zone: &str, asked: Option<&str>) -> Json {
    let zone = TimeZone::get(asked.unwrap_or(calendar_zone)).unwrap_or(TimeZone::UTC);
    let mut out = ev.clone();
    for k in ["start", "end"] {
        if let Some(at) = instant(&ev[k]) {
            out[k]["dateTime"] = json!(at.display_with_offset(zone.to_offset(at)).to_string());
        }
    }
    out
}

fn calendar_resource(c: &Cal) -> Json {
    let mut j =
        json!({"kind": "calendar#calendar", "etag": c.etag, "id": c.id, "summary": c.summary, "timeZone": c.time_zone});
    if let Some(d) = &c.description {
        j["description"] = json!(d);
    }
    j
}

fn list_entry(c: &Cal) -> Json {
    let mut j = json!({"kind": "calendar#calendarListEntry", "etag": c.etag, "id": c.id, "summary": c.summary,
        "timeZone": c.time_zone, "colorId": "14", "backgroundColor": "#9fe1e7", "foregroundColor": "#000000",
        "selected": true, "accessRole": "owner", "defaultReminders": [{"method": "popup", "minutes": 10}],
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}});
    if let Some(d) = &c.description {
        j["description"] = json!(d);
    }
    if c.primary {
        j["primary"] = json!(true);
    }
    j
}

/// The parts of a multipart body (the double's own reading of RFC 2046).
fn multipart_parts<'a>(text: &'a str, boundary: &str) -> Vec<&'a str> {
    let delimiter = format!("--{boundary}");
    let mut parts = Vec::new();
    let mut current: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if let Some(after) = bare.strip_prefix(&delimiter) {
            if let Some(start) = current {
                let part = &text[start..offset];
                parts.push(part.strip_suffix("\r\n").or_else(|| part.strip_suffix('\n')).unwrap_or(part));
            }
            if after.starts_with("--") {
                return parts;
            }
            current = Some(offset + line.len());
        }
        offset += line.len();
    }
    parts
}

/// Header lines (lowercase names) up to the empty line, and the rest.
fn head(text: &str) -> (Vec<(String, String)>, &str) {
    let mut headers = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        offset += line.len();
        let bare = line.trim_end_matches(['\r', '\n']);
        if bare.is_empty() {
            return (headers, &text[offset..]);
        }
        if let Some((k, v)) = bare.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (headers, "")
}

async fn entry(State(d): State<Arc<Double>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 64 << 20).await.unwrap();
    let target = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into());
    let req = Req { method: parts.method, target, headers: parts.headers, body };
    let line = format!("{} {}", req.method, req.target.split('?').next().unwrap_or_default());
    let resp = if req.target.split('?').next() == Some(d.contract.batch.as_str()) {
        d.batch(req).await
    } else {
        d.process(req, true).await
    };
    d.lock().log.push(format!("{line} {}", resp.status));
    // The request's changes are notified.
    d.flush();
    resp.into_response()
}

// ---- tests ----------------------------------------------------------------------------------

struct Setup {
    oidc: Arc<Oidc>,
    double: Arc<Double>,
    google: GoogleCalendar,
}

/// The authorization server, a token for alice with the calendar scope, the double, the connector.
async fn setup() -> Option<Setup> {
    let oidc = Arc::new(Oidc::start(REDIRECT, json!({"resource_scopes": PEER_SCOPES}))?);
    let token = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let double = Double::start(oidc.clone()).await;
    let google =
        GoogleCalendar::new(flowcal_calendar::api_client().unwrap(), &double.base, Credential::Bearer(token)).unwrap();
    Some(Setup { oidc, double, google })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_connector_suite_passes_against_the_contract_double() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
    let d = double.clone();
    let stale = move |r: &Remote| {
        assert!(d.change_behind_flowcal(&r.id), "the event to change exists");
        r.clone()
    };
    suite(&google, Some(&stale)).await;
    let violations = double.take_violations();
    assert!(violations.is_empty(), "contract violations: {violations:#?}");
    let log = double.log();
    assert!(log.iter().any(|l| l.starts_with("PUT ") && l.ends_with(" 412")), "the stale etag was refused: {log:#?}");
    assert!(
        log.iter().any(|l| l.starts_with("POST ") && l.ends_with(" 409")),
        "a repeated create met its event: {log:#?}"
    );
    assert!(
        log.iter().filter(|l| l.starts_with("GET /calendar/v3/users/me/calendarList")).count() >= 4,
        "the calendar list was read page by page: {log:#?}"
    );
    // flowcal's own calendar: made once, marked by its description.
    let own: Vec<_> = google.list_calendars().await.unwrap().into_iter().filter(|c| c.own).collect();
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0].name, "flowcal");
    let description = double.lock().calendars[&own[0].id].description.clone();
    assert_eq!(description.as_deref(), Some(OWN_CALENDAR_DESCRIPTION));
    let cal = google.ensure_calendar(&CalendarChoice::Existing { id: own[0].id.clone() }).await.unwrap();
    assert!(cal.own);
    let e = google.ensure_calendar(&CalendarChoice::Existing { id: "gone@group.calendar.google.com".into() }).await;
    assert!(matches!(e, Err(ConnectorError::Gone(_))), "{e:?}");
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_double_flags_requests_off_the_contract() {
    let Some(Setup { oidc, double, .. }) = setup().await else { return };
    let token = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let http = reqwest::Client::new();
    let events = format!("{}/calendar/v3/calendars/{OWNER}/events", double.base);
    let good = json!({"summary": "x", "start": {"date": "2026-03-29"}, "end": {"date": "2026-03-30"}});
    let with = |k: &str, v: Json| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    // The checker accepts a good request: no false alarms.
    let r = http.post(&events).bearer_auth(&token).json(&with("id", json!("abcde12345"))).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert!(double.take_violations().is_empty());

    let cases: Vec<(reqwest::RequestBuilder, &str)> = vec![
        (http.get(format!("{events}/abcde12345?bogus=1")), "\"bogus\" is not declared"),
        (http.get(format!("{events}/abcde12345?maxAttendees=many")), "is not an integer"),
        (http.get(format!("{events}/abcde12345?calendarId=x")), "\"calendarId\" is not declared"),
        (http.get(format!("{events}?syncToken=s1&timeMin=2026-01-01T00:00:00Z")), "timeMin cannot be combined"),
        (http.get(format!("{events}?syncToken=s1&q=x")), "q cannot be combined with syncToken"),
        (http.get(format!("{events}?syncToken=s1&showDeleted=false")), "showDeleted=false is not allowed"),
        (http.delete(format!("{events}/abcde12345?sendUpdates=everyone")), "is none of"),
        (http.get(format!("{}/calendar/v3/calendars/{OWNER}/tasks", double.base)), "no method of the API"),
        (http.patch(format!("{}/calendar/v3/users/me/calendarList", double.base)), "is not a method of"),
        (http.get(format!("{}/calendar/v3/calendars//events/abcde12345", double.base)), "calendarId is missing"),
        (http.get(format!("{}/v3/calendars/{OWNER}", double.base)), "not under the service path"),
        (http.post(&events).json(&with("id", json!("abcdw12345"))), "breaks the id rule"),
        (http.post(&events).json(&with("id", json!("abc"))), "breaks the id rule"),
        (http.post(&events).json(&with("colour", json!("red"))), "body.colour is not a field of Event"),
        (http.post(&events).json(&with("sequence", json!("1"))), "body.sequence must be of type integer"),
        (http.post(&events).json(&with("start", json!({"date": "29.03.2026"}))), "is not a \"date\""),
        (http.post(&events).json(&with("start", json!({"dateTime": "tomorrow"}))), "is not a \"date-time\""),
        (
            http.post(&events)
                .json(&with("reminders", json!({"useDefault": false, "overrides": [{"method": "sms", "minutes": 5}]}))),
            "email or popup",
        ),
        (
            http.post(&events).json(&with("source", json!({"url": "https://x.example", "icon": "y"}))),
            "body.source.icon is not a field",
        ),
        (http.post(&events).json(&with("description", Json::Null)), "body.description is null"),
        (http.post(&events).json(&json!({"summary": "no times"})), "body.start is required"),
        (http.post(&events).header("content-type", "text/plain").body(good.to_string()), "not application/json"),
        (http.get(format!("{events}/abcde12345")).json(&good), "takes no request body"),
        (
            http.post(format!("{}/calendar/v3/calendars", double.base))
                .json(&json!({"summary": "x", "timeZone": "Mars/Olympus"})),
            "not an IANA time zone",
        ),
    ];
    for (req, expect) in cases {
        let r = req.bearer_auth(&token).send().await.unwrap();
        let (status, body) = (r.status(), r.text().await.unwrap());
        assert_eq!(status, 400, "{expect}: {body}");
        let message = serde_json::from_str::<Json>(&body).unwrap()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(expect), "{expect}: {body}");
        let v = double.take_violations();
        assert!(!v.is_empty() && v.iter().any(|v| v.contains(expect)), "{expect} recorded: {v:?}");
    }

    // A batch: more than 50 calls, an inner call off the contract, a full URL inside.
    let part = |target: &str| {
        format!(
            "--b\r\nContent-Type: application/http\r\nContent-ID: <{}>\r\n\r\nGET {target} HTTP/1.1\r\n\r\n",
            random_event_id()
        )
    };
    let batch = format!("{}/batch/calendar/v3", double.base);
    let send = |body: String| {
        http.post(&batch).bearer_auth(&token).header("content-type", "multipart/mixed; boundary=b").body(body).send()
    };
    let too_many: String =
        (0..51).map(|_| part(&format!("/calendar/v3/calendars/{OWNER}/events/abcde12345"))).collect::<String>()
            + "--b--\r\n";
    assert_eq!(send(too_many).await.unwrap().status(), 400);
    assert!(double.take_violations().iter().any(|v| v.contains("1 to 50 calls")));
    let odd = part(&format!("/calendar/v3/calendars/{OWNER}/events/abcde12345?bogus=1"))
        + &part(&format!("http://www.googleapis.com/calendar/v3/calendars/{OWNER}/events/abcde12345"))
        + &part(&format!("/calendar/v3/calendars/{OWNER}/events/abcde12345"))
        + "--b--\r\n";
    let r = send(odd).await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert_eq!(text.matches("HTTP/1.1 400").count(), 2, "{text}");
    assert_eq!(text.matches("HTTP/1.1 200").count(), 1, "{text}");
    let v = double.take_violations();
    assert!(v.iter().any(|v| v.contains("\"bogus\"")) && v.iter().any(|v| v.contains("only the path")), "{v:?}");

    // The parts of a batch, one fault each; the last part of each batch is a good call.
    let good_part = part(&format!("/calendar/v3/calendars/{OWNER}/events/abcde12345"));
    let insert = |headers: &str, body: &str| {
        format!(
            "--b\r\nContent-Type: application/http\r\nContent-ID: <x{}>\r\n\r\nPOST /calendar/v3/calendars/{OWNER}/events HTTP/1.1\r\n{headers}\r\n{body}\r\n",
            random_event_id()
        )
    };
    let event = with("id", json!("abcde67890")).to_string();
    let json_type = "Content-Type: application/json\r\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("--b\r\nContent-Type: application/http\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/1.1\r\n\r\n"),
            "has no Content-ID",
        ),
        (
            format!("--b\r\nContent-Type: application/http\r\nContent-ID: item1\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/1.1\r\n\r\n"),
            "is not of the form <id>",
        ),
        (
            format!("--b\r\nContent-Type: text/plain\r\nContent-ID: <t1>\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/1.1\r\n\r\n"),
            "is application/http, not",
        ),
        (
            format!("--b\r\nContent-Type: application/http\r\nContent-ID: <v1>\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345\r\n\r\n"),
            "ends with HTTP/1.1, not None",
        ),
        (
            format!("--b\r\nContent-Type: application/http\r\nContent-ID: <v2>\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/2\r\n\r\n"),
            "ends with HTTP/1.1, not Some(\"HTTP/2\")",
        ),
        (insert("", &event), "not application/json"),
        (insert(&format!("{json_type}Content-Length: 3\r\n"), &event), "Content-Length 3 is not"),
        (insert(&format!("{json_type}If-Match: \"1\"\r\n"), &event), "If-Match belongs only on calls that change"),
        (
            format!("--b\r\nContent-Type: application/http\r\nContent-ID: <g1>\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/1.1\r\nIf-Match: \"1\"\r\n\r\n"),
            "If-Match belongs only on calls that change",
        ),
    ];
    for (bad, expect) in cases {
        let r = send(bad + &good_part + "--b--\r\n").await.unwrap();
        assert_eq!(r.status(), 200);
        let text = r.text().await.unwrap();
        assert_eq!(text.matches("HTTP/1.1 400").count(), 1, "{expect}: {text}");
        assert_eq!(text.matches("HTTP/1.1 200").count(), 1, "{expect}: {text}");
        let v = double.take_violations();
        assert!(v.len() == 1 && v[0].contains(expect), "{expect}: {v:?}");
    }
    // Two parts with one Content-ID: the second is refused.
    let twice = |id: &str| {
        format!("--b\r\nContent-Type: application/http\r\nContent-ID: <{id}>\r\n\r\nGET /calendar/v3/calendars/{OWNER}/events/abcde12345 HTTP/1.1\r\n\r\n")
    };
    let r = send(twice("same") + &twice("same") + "--b--\r\n").await.unwrap();
    let text = r.text().await.unwrap();
    assert_eq!((text.matches("HTTP/1.1 200").count(), text.matches("HTTP/1.1 400").count()), (1, 1), "{text}");
    assert!(double.take_violations().iter().any(|v| v.contains("two batch parts have the Content-ID <same>")));
    // If-Match on the batch request itself would hold for every call.
    let r = http
        .post(&batch)
        .bearer_auth(&token)
        .header("content-type", "multipart/mixed; boundary=b")
        .header("if-match", "\"1\"")
        .body(good_part.clone() + "--b--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(double.take_violations().iter().any(|v| v.contains("If-Match on a batch request")));
    // A good insert with its headers passes, and the answers carry the Content-IDs.
    let r = send(insert(&format!("{json_type}Content-Length: {}\r\n", event.len()), &event) + &good_part + "--b--\r\n")
        .await
        .unwrap();
    let text = r.text().await.unwrap();
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(text.matches("Content-ID: <response-").count(), 2, "{text}");
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn a_reused_id_after_delete_restores_the_cancelled_event() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
    let cal = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    let mut ev = sample("task:9:deadline", "First", When::Date("2026-05-04".parse().unwrap()));
    let r = google.upsert_event(&cal.id, &ev, None).await.unwrap();
    assert_eq!(r.id, ev.key);
    google.delete_event(&cal.id, &ev.key, Some(&r)).await.unwrap();
    assert_eq!(double.stored(&cal.id, &ev.key).unwrap()["status"], "cancelled", "Google keeps deleted events");
    let got = google.get_event(&cal.id, &ev.key, Some(&r)).await.unwrap();
    assert!(got.is_some_and(|g| g.cancelled));

    ev.title = "Second".into();
    ev.sequence = 1;
    let before = double.log().len();
    let r2 = google.upsert_event(&cal.id, &ev, None).await.unwrap();
    assert_eq!(r2.id, ev.key);
    let all = double.events(&cal.id);
    assert_eq!(all.len(), 1, "one event, not two: {all:#?}");
    assert_eq!(all[0]["status"], "confirmed");
    assert_eq!(all[0]["summary"], "Second");
    assert_eq!(all[0]["etag"].as_str(), r2.etag.as_deref());
    let calls: Vec<String> =
        double.log()[before..].iter().map(|l| l.split(' ').next_back().unwrap().to_owned()).collect();
    assert_eq!(calls, ["409", "200", "200"], "insert, read, update: {:?}", &double.log()[before..]);
    let got = google.get_event(&cal.id, &ev.key, Some(&r2)).await.unwrap().unwrap();
    assert!(!got.cancelled);
    assert_eq!(got.title, "Second");
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn rate_limits_and_refused_credentials_are_classified() {
    let Some(Setup { oidc, double, google }) = setup().await else { return };
    let seven = Some(Duration::from_secs(7));
    double.fail_next(1, Fault::RateLimit { retry_after: Some(7) });
    let e = google.list_calendars().await.unwrap_err();
    assert!(matches!(&e, ConnectorError::RetryLater { after, .. } if *after == seven), "{e:?}");
    assert!(e.to_string().contains("rateLimitExceeded"), "{e}");
    double.fail_next(1, Fault::TooManyRequests { retry_after: 7 });
    let e = google.get_event(OWNER, &event_key(1, "x"), None).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::RetryLater { after, .. } if *after == seven), "{e:?}");
    double.fail_next(1, Fault::Backend);
    let e = google.delete_event(OWNER, &event_key(1, "x"), None).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::RetryLater { after: None, .. }), "{e:?}");
    // A batch refused as a whole.
    double.fail_next(1, Fault::RateLimit { retry_after: Some(7) });
    let ev = sample("task:1:deadline", "t", When::Date("2026-05-04".parse().unwrap()));
    let e = google.create_events(OWNER, std::slice::from_ref(&ev)).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::RetryLater { after, .. } if *after == seven), "{e:?}");
    // The faults are used up.
    assert!(google.list_calendars().await.unwrap().len() >= 3);

    // A token the authorization server does not know.
    let secret = "not-a-token-3f9a7c";
    let bad =
        GoogleCalendar::new(flowcal_calendar::api_client().unwrap(), &double.base, Credential::Bearer(secret.into()))
            .unwrap();
    let e = bad.list_calendars().await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    assert!(!format!("{e:?} {e}").contains(secret), "the token stays out of errors");
    let e = bad.upsert_event(OWNER, &ev, None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    // A token without the calendar scope (the user granted less): the token is
    // valid, so refreshing would not help; the call is not allowed.
    let partial = oidc.access_token(REDIRECT, "alice+partial@example.com", "openid calendar").await;
    let narrow =
        GoogleCalendar::new(flowcal_calendar::api_client().unwrap(), &double.base, Credential::Bearer(partial))
            .unwrap();
    let e = narrow.list_calendars().await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("granted scopes")), "{e:?}");
    let v = double.take_violations();
    assert!(v.len() == 1 && v[0].contains("calendar.calendarList.list needs one of the scopes"), "{v:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn new_entries_go_out_in_batches_of_fifty_and_never_duplicates() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
    // As delivery holds it: the kind picked at run time.
    let google = AnyConnector::Google(google);
    assert_eq!(google.batch_size(), 50);
    let cal = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    let day: jiff::civil::Date = "2026-06-01".parse().unwrap();
    let events: Vec<EventSpec> = (0..120)
        .map(|i| {
            let when = if i % 2 == 0 {
                When::Date(day.checked_add(jiff::Span::new().days(i / 2)).unwrap())
            } else {
                When::At {
                    at: "2026-06-01T07:00:00Z".parse::<Timestamp>().unwrap() + jiff::Span::new().hours(i),
                    zone: "Europe/Berlin".into(),
                }
            };
            sample(&format!("task:{i}:deadline"), &format!("Task {i}"), when)
        })
        .collect();
    let results = google.create_events(&cal.id, &events).await.unwrap();
    assert_eq!(results.len(), 120);
    for (ev, r) in events.iter().zip(&results) {
        let r = r.as_ref().unwrap();
        assert_eq!(r.id, ev.key);
        assert_eq!(double.stored(&cal.id, &ev.key).unwrap()["etag"].as_str(), r.etag.as_deref());
    }
    assert_eq!(double.batches(), [50, 50, 20]);
    assert_eq!(double.events(&cal.id).len(), 120);
    let stored = double.stored(&cal.id, &events[1].key).unwrap();
    assert_eq!(stored["summary"], "Task 1");
    assert_eq!(stored["extendedProperties"]["private"]["flowcal"], json!(events[1].key));

    // Again, with a change: found, updated, not duplicated.
    let mut again = events.clone();
    again[7].title = "Task 7 (moved)".into();
    again[7].sequence = 1;
    let results = google.create_events(&cal.id, &again).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(double.batches(), [50, 50, 20, 50, 50, 20]);
    assert_eq!(double.events(&cal.id).len(), 120);
    assert_eq!(double.stored(&cal.id, &again[7].key).unwrap()["summary"], "Task 7 (moved)");
    // An event with a key Google would refuse is reported, the others go out.
    let mut odd = sample("task:x:deadline", "x", When::Date(day));
    odd.key = "NOT-BASE32".into();
    let results = google.create_events(&cal.id, &[odd, events[0].clone()]).await.unwrap();
    assert!(matches!(&results[0], Err(ConnectorError::Permanent(_))), "{results:?}");
    assert!(results[1].is_ok(), "{results:?}");
    let e = google.create_events("no-such-calendar-1", &events[..2]).await.unwrap();
    assert!(e.iter().all(|r| matches!(r, Err(ConnectorError::Gone(_)))), "{e:?}");

    // The token refused for one part: the whole call is refused, so that it is
    // refreshed and repeated; the parts made meanwhile are found again, once.
    let late: Vec<EventSpec> =
        (200..203).map(|i| sample(&format!("task:{i}:deadline"), &format!("Task {i}"), When::Date(day))).collect();
    double.fail_call(&late[1].key, Fault::Unauthorized);
    let e = google.create_events(&cal.id, &late).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Unauthorized(m) if m.contains("authError")), "{e:?}");
    assert!(double.stored(&cal.id, &late[0].key).is_some() && double.stored(&cal.id, &late[2].key).is_some());
    let results = google.create_events(&cal.id, &late).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(double.events(&cal.id).len(), 123);
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn dates_and_instants_survive_time_zones() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
    // Calendars east and west of UTC; events shown in zones of their own.
    for (cal_zone, ev_zone) in [
        ("Pacific/Kiritimati", "Pacific/Pago_Pago"),
        ("Pacific/Pago_Pago", "Asia/Kolkata"),
        ("America/Los_Angeles", "Pacific/Kiritimati"),
    ] {
        let id = double.add_calendar(&format!("Team {cal_zone}"), cal_zone);
        let cal = google.ensure_calendar(&CalendarChoice::Existing { id: id.clone() }).await.unwrap();
        assert_eq!((cal.id.as_str(), cal.own), (id.as_str(), false));
        for date in ["2026-03-29", "2026-12-31"] {
            let day = sample(&format!("{cal_zone}:{date}"), "All day", When::Date(date.parse().unwrap()));
            let r = google.upsert_event(&id, &day, None).await.unwrap();
            let stored = double.stored(&id, &day.key).unwrap();
            assert_eq!(stored["start"], json!({"date": date}), "{cal_zone}");
            let next = date.parse::<jiff::civil::Date>().unwrap().tomorrow().unwrap().to_string();
            assert_eq!(stored["end"], json!({"date": next}), "{cal_zone}");
            let got = google.get_event(&id, &day.key, Some(&r)).await.unwrap().unwrap();
            assert_eq!((got.when, got.end), (day.when.clone(), next), "{cal_zone}");
        }
        let at: Timestamp = "2026-03-29T01:30:00Z".parse().unwrap();
        let timed = sample(&format!("{cal_zone}:timed"), "Timed", When::At { at, zone: ev_zone.into() });
        let r = google.upsert_event(&id, &timed, None).await.unwrap();
        let stored = double.stored(&id, &timed.key).unwrap();
        assert_eq!(stored["start"]["timeZone"], ev_zone);
        assert_eq!(instant(&stored["start"]), Some(at), "{stored}");
        let offset = TimeZone::get(ev_zone).unwrap().to_offset(at);
        assert_eq!(stored["start"]["dateTime"], json!(at.display_with_offset(offset).to_string()));
        let got = google.get_event(&id, &timed.key, Some(&r)).await.unwrap().unwrap();
        assert_eq!(got.when, When::At { at, zone: ev_zone.into() }, "{cal_zone}");
        assert_eq!(got.end.parse::<Timestamp>().unwrap(), timed.end().unwrap());
    }
    assert!(double.take_violations().is_empty());
}

// ---- scopes per method ----------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn each_method_takes_only_its_scopes() {
    let Some(Setup { oidc, double, .. }) = setup().await else { return };
    let narrow = oidc.access_token(REDIRECT, OWNER, &format!("openid {APP_CREATED_SCOPE}")).await;
    let granted = oidc.introspect(&narrow).await["scope"].as_str().unwrap().to_owned();
    assert!(granted.split(' ').any(|s| s == APP_CREATED_SCOPE) && !granted.split(' ').any(|s| s == "calendar"));
    let http = reqwest::Client::new();
    let api = format!("{}/calendar/v3", double.base);
    let refused = |r: reqwest::Response, method: &'static str| async move {
        assert_eq!(r.status(), 403);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
        let e: Json = r.json().await.unwrap();
        assert_eq!(e["error"]["errors"][0]["reason"], "insufficientPermissions", "{e}");
        assert_eq!(e["error"]["status"], "PERMISSION_DENIED", "{e}");
        assert_eq!(e["error"]["details"][0]["reason"], "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "{e}");
        assert_eq!(e["error"]["details"][0]["metadata"]["method"], method, "{e}");
    };
    // The calendar list is not for calendar.app.created (its scopes in the discovery document).
    let r = http.get(format!("{api}/users/me/calendarList")).bearer_auth(&narrow).send().await.unwrap();
    refused(r, "calendar.v3.CalendarList.List").await;
    let v = double.take_violations();
    assert!(v.len() == 1 && v[0].contains("calendar.calendarList.list needs one of the scopes"), "{v:?}");
    // Nor are the calendars it did not make.
    let ev =
        json!({"id": "abcde12345", "summary": "x", "start": {"date": "2026-03-29"}, "end": {"date": "2026-03-30"}});
    let r = http.post(format!("{api}/calendars/{OWNER}/events")).bearer_auth(&narrow).json(&ev).send().await.unwrap();
    refused(r, "calendar.v3.Events.Insert").await;
    let v = double.take_violations();
    assert!(v.len() == 1 && v[0].contains("reaches only the calendars made with it"), "{v:?}");
    assert!(double.events(OWNER).is_empty());
    // A calendar it makes, and the events on it, are.
    let r =
        http.post(format!("{api}/calendars")).bearer_auth(&narrow).json(&json!({"summary": "s"})).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let cal = r.json::<Json>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let r = http.post(format!("{api}/calendars/{cal}/events")).bearer_auth(&narrow).json(&ev).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = http.get(format!("{api}/users/me/calendarList/{cal}")).bearer_auth(&narrow).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // events.move is not among calendar.app.created's methods.
    let r = http
        .post(format!("{api}/calendars/{cal}/events/abcde12345/move?destination={OWNER}"))
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap();
    refused(r, "calendar.v3.Events.Move").await;
    assert_eq!(double.take_violations().len(), 1);
    // The full scope reaches the list.
    let full = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let r = http.get(format!("{api}/users/me/calendarList")).bearer_auth(&full).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(double.take_violations().is_empty());

    // The connector, knowing the grant, never asks for the list: it makes its
    // own calendar and works on it.
    let google = GoogleCalendar::new(flowcal_calendar::api_client().unwrap(), &double.base, Credential::Bearer(narrow))
        .unwrap()
        .with_granted_scopes(Some(&format!("openid email {APP_CREATED_SCOPE}")));
    let before = double.calls().len();
    let e = google.list_calendars().await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("\"own\"")), "{e:?}");
    let own = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    assert!(own.own);
    let again = google.ensure_calendar(&CalendarChoice::Existing { id: own.id.clone() }).await.unwrap();
    assert_eq!((again.id.as_str(), again.own), (own.id.as_str(), true));
    let ev = sample("task:5:deadline", "Five", When::Date("2026-05-05".parse().unwrap()));
    let r = google.upsert_event(&own.id, &ev, None).await.unwrap();
    google.delete_event(&own.id, &ev.key, Some(&r)).await.unwrap();
    let methods: Vec<String> = double.calls()[before..].iter().map(|c| c.method.clone()).collect();
    assert_eq!(
        methods,
        ["calendar.calendars.insert", "calendar.calendars.get", "calendar.events.insert", "calendar.events.delete"]
    );
    assert!(double.take_violations().is_empty());
}

// ---- through the application ---------------------------------------------------------------

/// flowcal and Google as a user sets them up: a provider of kind google with
/// its default scopes, its endpoints at the authorization server peer and its
/// API at the double; alice connected through the browser flow.
struct App {
    /// Keeps the authorization server running.
    _peer: Arc<Oidc>,
    double: Arc<Double>,
    admin: String,
    alice: String,
    browser: crate::access::Browser,
    account: i64,
}

/// [`App`] on `t`; `None` when the authorization server peer is missing.
async fn connect(t: &crate::support::TestApp) -> Option<App> {
    use crate::access::{google_at_peer, put_provider, Browser};
    let callback = format!("{}/oauth/callback", t.base);
    let peer = Arc::new(Oidc::start(&callback, json!({"resource_scopes": PEER_SCOPES}))?);
    let double = Double::start(peer.clone()).await;
    let admin = t.user("root", true, &[]).await;
    let alice = t.user("alice", false, &[]).await;
    let mut provider = google_at_peer(&peer, Some(&double.base));
    // Google's default scopes, as flowcal asks for them.
    provider.as_object_mut().unwrap().remove("scopes");
    put_provider(t, &admin, "g", provider).await;
    let browser = Browser::new();
    browser.login(t, "alice").await;
    browser.api(t, reqwest::Method::PATCH, "/api/v1/me/settings", json!({"calendar_export": true})).await;
    let back = browser.start_connect(t, "g", "alice@example.com").await;
    assert_eq!(browser.visit(&back).await.0, 200);
    let (s, b) = t.get("/api/v1/calendar-accounts", &alice).await;
    assert_eq!(s, 200, "{b}");
    let account = b["accounts"][0]["id"].as_i64().unwrap();
    Some(App { _peer: peer, double, admin, alice, browser, account })
}

/// A step due two hours before a meeting (a timed entry).
const MEETING_MODEL: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:flowcal="https://flowcal.dev/schema/1"
                  id="d" targetNamespace="https://flowcal.dev/test">
  <bpmn:process id="meeting" name="Board meeting" isExecutable="true" flowcal:timeZone="Europe/Berlin">
    <bpmn:extensionElements>
      <flowcal:dataItem key="at" label="Meeting" type="datetime" required="true"/>
    </bpmn:extensionElements>
    <bpmn:startEvent id="s"/>
    <bpmn:userTask id="prep" name="Prepare" flowcal:assignee="starter" flowcal:deadlineFrom="at" flowcal:deadlineOffset="-PT2H"/>
    <bpmn:endEvent id="e"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="prep"/>
    <bpmn:sequenceFlow id="f2" sourceRef="prep" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>"#;

/// The deadline model of the delivery tests (`Check`, due in two days).
const DUE_MODEL: &str = include_str!("../../../../tests/peers/one-deadline.bpmn");

/// The event as Google answers `events.get` (through the double's HTTP API,
/// with the access token flowcal holds).
async fn read_back(t: &crate::support::TestApp, app: &App, calendar: &str, id: &str) -> Json {
    let (_, creds) = crate::access::stored_credentials(t, app.account).await;
    let r = reqwest::Client::new()
        .get(format!("{}/calendar/v3/calendars/{calendar}/events/{id}", app.double.base))
        .bearer_auth(creds["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn the_default_google_setup_runs_end_to_end() {
    let t = crate::access::app_now(crate::support::TestDb::sqlite()).await;
    let Some(app) = connect(&t).await else { return };
    let App { double, admin, alice, account, .. } = &app;
    // Connected with flowcal's default scope, as granted.
    let (_, creds) = crate::access::stored_credentials(&t, *account).await;
    let scope: Vec<&str> = creds["scope"].as_str().unwrap().split(' ').collect();
    assert!(scope.contains(&APP_CREATED_SCOPE) && !scope.contains(&"calendar"), "{scope:?}");

    // flowcal's own calendar, made at Google and chosen.
    let path = format!("/api/v1/calendar-accounts/{account}/calendar");
    let (s, b) = t.call(reqwest::Method::PUT, &path, alice, Some(json!({"calendar": "own"}))).await;
    assert_eq!(s, 200, "{b}");
    let calendar = b["calendar"].as_str().unwrap().to_owned();
    assert_eq!(double.lock().calendars[&calendar].description.as_deref(), Some(OWN_CALENDAR_DESCRIPTION));
    // The calendar list is out of reach: the user is told, the list is not asked for.
    let (s, b) = t.get(&format!("/api/v1/calendar-accounts/{account}/calendars"), alice).await;
    assert_eq!(s, 422, "{b}");
    assert!(b["error"]["message"].as_str().unwrap().contains("\"own\""), "{b}");
    let r = app.browser.http.get(format!("{}/settings", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // Chosen again: found by its id.
    let (s, b) = t.call(reqwest::Method::PUT, &path, alice, Some(json!({"calendar": "own"}))).await;
    assert_eq!((s, b["calendar"].as_str()), (200, Some(calendar.as_str())), "{b}");

    // An entry with a reminder goes out.
    let (s, b) =
        t.call(reqwest::Method::PATCH, "/api/v1/me/settings", alice, Some(json!({"reminder_minutes": 25}))).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.upload(admin, MEETING_MODEL).await.0, 201);
    let (s, b) = t
        .post(
            "/api/v1/instances",
            alice,
            json!({"model": "meeting", "title": "Q2", "data": {"at": "2026-04-14T10:00:00+02:00"}}),
        )
        .await;
    assert_eq!(s, 201, "{b}");
    let instance = b["id"].as_i64().unwrap();
    let task = b["tasks"][0]["id"].as_i64().unwrap();
    let (s, b) =
        t.post("/api/v1/exports", alice, json!({"task": task, "source": "deadline", "account": account})).await;
    assert_eq!(s, 202, "{b}");
    let export = b["id"].as_i64().unwrap();
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let (_, e) = t.get(&format!("/api/v1/exports/{export}"), alice).await;
    assert_eq!(e["state"], "synced", "{e}");
    let id = e["remote_id"].as_str().unwrap().to_owned();

    // What Google stored, read back, against what it came from.
    let link = format!("{}/tasks/{task}", t.base);
    let ev = read_back(&t, &app, &calendar, &id).await;
    assert_eq!(ev["summary"], "Prepare — Q2");
    assert_eq!(ev["description"], format!("Process: Board meeting\nOpen in flowcal: {link}"));
    assert_eq!(ev["source"], json!({"title": "Prepare — Q2", "url": link}));
    assert_eq!(ev["transparency"], "transparent");
    assert_eq!(ev["reminders"], json!({"useDefault": false, "overrides": [{"method": "popup", "minutes": 25}]}));
    assert_eq!(instant(&ev["start"]), Some("2026-04-14T06:00:00Z".parse().unwrap()));
    assert_eq!(instant(&ev["end"]), Some("2026-04-14T06:30:00Z".parse().unwrap()));
    assert_eq!(ev["start"]["timeZone"], "Europe/Berlin");

    // The meeting moves, the reminder goes: the same event, updated.
    let (s, b) =
        t.call(reqwest::Method::PATCH, "/api/v1/me/settings", alice, Some(json!({"reminder_minutes": null}))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = t
        .call(
            reqwest::Method::PATCH,
            &format!("/api/v1/instances/{instance}/data"),
            admin,
            Some(json!({"data": {"at": "2026-04-15T09:00:00+02:00"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let ev = read_back(&t, &app, &calendar, &id).await;
    assert_eq!(instant(&ev["start"]), Some("2026-04-15T05:00:00Z".parse().unwrap()));
    assert_eq!(ev["reminders"], json!({"useDefault": false, "overrides": []}));
    assert_eq!(ev["source"]["url"], json!(link));
    assert_eq!(ev["sequence"], 1);
    assert_eq!(double.events(&calendar).len(), 1);

    // Removed.
    let (s, b) = t.call(reqwest::Method::DELETE, &format!("/api/v1/exports/{export}"), alice, None).await;
    assert!(s == 200 || s == 202, "{s} {b}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    assert_eq!(double.stored(&calendar, &id).unwrap()["status"], "cancelled");
    let (_, e) = t.get(&format!("/api/v1/exports/{export}"), alice).await;
    assert_eq!(e["state"], "removed", "{e}");

    // Every call was allowed by the scope; the update was conditional.
    let calls = double.calls();
    assert!(!calls.iter().any(|c| c.method.starts_with("calendar.calendarList.")), "{calls:#?}");
    assert!(calls.iter().filter(|c| c.method.starts_with("calendar.events.")).all(|c| c.calendar == calendar));
    let updates: Vec<&Call> = calls.iter().filter(|c| c.method == "calendar.events.update").collect();
    assert_eq!(updates.len(), 1, "{calls:#?}");
    assert!(updates.iter().all(|c| c.if_match.is_some() && c.status == 200), "{updates:#?}");
    assert!(double.take_violations().is_empty());
}

// ---- faults inside a batch ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn failed_calls_in_a_batch_are_retried_alone() {
    let t = crate::access::app_now(crate::support::TestDb::sqlite()).await;
    let Some(app) = connect(&t).await else { return };
    let App { double, admin, alice, account, .. } = &app;
    let (s, b) = t
        .call(
            reqwest::Method::PATCH,
            "/api/v1/me/settings",
            alice,
            Some(json!({"auto_sync": {"account": account, "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let calendar = t.app.store.account(*account).await.unwrap().unwrap().calendar.unwrap();
    assert_eq!(t.upload(admin, DUE_MODEL).await.0, 201);
    let user = t.app.access.principal_by_token(alice).await.unwrap().unwrap().user.id;
    let mut keys = Vec::new();
    for i in 0..8 {
        let (s, b) = t.post("/api/v1/instances", alice, json!({"model": "due", "title": format!("Case {i}")})).await;
        assert_eq!(s, 201, "{b}");
        keys.push(event_key(user.0, &format!("task:{}:deadline", b["tasks"][0]["id"].as_i64().unwrap())));
    }
    let faults = [
        Fault::RateLimit { retry_after: None },
        Fault::UserRateLimit,
        Fault::TooManyRequests { retry_after: 5 },
        Fault::Backend,
        Fault::Duplicate,
    ];
    for (key, f) in keys.iter().zip(faults) {
        double.fail_call(key, f);
    }
    let per_event = |key: &str| -> Vec<String> {
        double
            .calls()
            .iter()
            .filter(|c| c.event.as_deref() == Some(key))
            .map(|c| format!("{}{} {}", if c.batch { "batch " } else { "" }, c.method, c.status))
            .collect()
    };
    let report = t.app.delivery.deliver_due_report("w1").await.unwrap();
    assert_eq!(report.len(), 8);
    assert_eq!(double.batches(), [8]);
    let app_ref = &t;
    let states = move || async move {
        let mut list = app_ref.app.store.exports_of(user).await.unwrap();
        list.sort_by_key(|e| e.id);
        list
    };
    let first = states().await;
    for (i, e) in first.iter().enumerate() {
        let expected = if i < 4 { "pending" } else { "synced" };
        assert_eq!(e.state.as_str(), expected, "{e:?}");
    }
    for (e, reason) in first.iter().zip(["rateLimitExceeded", "userRateLimitExceeded", "HTTP 429", "backendError"]) {
        assert!(e.last_error.as_deref().unwrap_or_default().contains(reason), "{e:?}");
        assert_eq!(e.attempts, 1);
    }
    // The duplicate was found and brought up to date, conditionally.
    assert_eq!(
        per_event(&keys[4]),
        ["batch calendar.events.insert 409", "calendar.events.get 200", "calendar.events.update 200"]
    );
    assert!(double.calls().iter().filter(|c| c.method == "calendar.events.update").all(|c| c.if_match.is_some()));

    // Later: only the four that failed go out again, in one batch.
    t.clock.set(t.app.now() + jiff::SignedDuration::from_secs(60));
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 4);
    assert_eq!(double.batches(), [8, 4]);
    for key in &keys[..4] {
        assert_eq!(per_event(key).len(), 2, "{key}: {:?}", per_event(key));
        assert_eq!(per_event(key)[1], "batch calendar.events.insert 200");
    }
    for key in &keys[5..] {
        assert_eq!(per_event(key), ["batch calendar.events.insert 200"], "sent once");
    }
    assert_eq!(per_event(&keys[4]).len(), 3, "not sent again");
    assert!(states().await.iter().all(|e| e.state.as_str() == "synced"));
    assert_eq!(double.events(&calendar).len(), 8);
    assert!(double.take_violations().is_empty());
}

// ---- every update is conditional ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn every_update_sends_if_match() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
    let cal = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap();
    let mut ev = sample("task:1:deadline", "One", When::Date("2026-05-04".parse().unwrap()));
    let r1 = google.upsert_event(&cal.id, &ev, None).await.unwrap();
    // 1. An update with the etag flowcal holds.
    ev.title = "One (1)".into();
    ev.sequence = 1;
    let r2 = google.upsert_event(&cal.id, &ev, Some(&r1)).await.unwrap();
    // 2. With a stale etag: 412, read, update.
    assert!(double.change_behind_flowcal(&ev.key));
    ev.title = "One (2)".into();
    ev.sequence = 2;
    let r3 = google.upsert_event(&cal.id, &ev, Some(&r2)).await.unwrap();
    assert_eq!(double.stored(&cal.id, &ev.key).unwrap()["etag"].as_str(), r3.etag.as_deref());
    // 3. Created again without knowing it exists: 409, read, update.
    ev.title = "One (3)".into();
    let r4 = google.upsert_event(&cal.id, &ev, None).await.unwrap();
    // 4. Known without an etag, changed at Google meanwhile (a higher sequence):
    //    read first, so that the update is conditional and its sequence fits.
    assert!(double.change_behind_flowcal(&ev.key));
    ev.title = "One (4)".into();
    let r5 = google.upsert_event(&cal.id, &ev, Some(&Remote { id: r4.id.clone(), etag: None })).await.unwrap();
    assert_eq!(double.stored(&cal.id, &ev.key).unwrap()["summary"], "One (4)");
    // 5. In a batch: an insert answered 409 (made before, its answer lost): read, update.
    let other = sample("task:2:deadline", "Two", When::Date("2026-05-05".parse().unwrap()));
    double.fail_call(&other.key, Fault::Duplicate);
    let results = google.create_events(&cal.id, std::slice::from_ref(&other)).await.unwrap();
    assert!(results[0].is_ok(), "{results:?}");
    // 6. Restoring a deleted event.
    google.delete_event(&cal.id, &ev.key, Some(&r5)).await.unwrap();
    google.upsert_event(&cal.id, &ev, None).await.unwrap();

    let calls = double.calls();
    let updates: Vec<&Call> = calls
        .iter()
        .filter(|c| matches!(c.method.as_str(), "calendar.events.update" | "calendar.events.patch"))
        .collect();
    let answered: Vec<u16> = updates.iter().map(|c| c.status).collect();
    assert_eq!(answered, [200, 412, 200, 200, 200, 200, 200], "{calls:#?}");
    for u in &updates {
        assert!(u.if_match.is_some(), "an update without If-Match: {u:?}");
    }
    // The stale one named the etag flowcal held; the others the event's etag of the moment.
    assert_eq!(updates[1].if_match, r2.etag);
    assert_eq!(updates[0].if_match, r1.etag);
    assert!(double.take_violations().is_empty());
}

// ---- when the next attempt comes ------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn retries_follow_retry_after_doubling_the_cap_and_jitter() {
    let t = crate::support::TestApp::spawn_with(
        crate::support::TestDb::sqlite(),
        "[delivery]\nworkers = 0\nattempts = 8\nbackoff_seconds = 30\nmax_backoff_seconds = 100\n",
    )
    .await;
    // Real time: ID tokens carry it; from here on only this clock moves.
    t.clock.set(jiff::Timestamp::now());
    let Some(app) = connect(&t).await else { return };
    let App { double, admin, alice, account, .. } = &app;
    let (s, b) = t
        .call(
            reqwest::Method::PATCH,
            "/api/v1/me/settings",
            alice,
            Some(json!({"auto_sync": {"account": account, "calendar": "own"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(t.upload(admin, DUE_MODEL).await.0, 201);
    let user = t.app.access.principal_by_token(alice).await.unwrap().unwrap().user.id;
    for i in 0..12 {
        let (s, b) = t.post("/api/v1/instances", alice, json!({"model": "due", "title": format!("Case {i}")})).await;
        assert_eq!(s, 201, "{b}");
    }
    // One pass that fails as a whole with `fault`: each export's next attempt,
    // in seconds after the pass, and the clock moved to the last of them.
    let pass = |fault: Fault, attempt: i64| {
        let t = &t;
        async move {
            double.fail_next(1, fault);
            let now = t.app.now();
            assert_eq!(t.app.exports.deliver_due().await.unwrap(), 12);
            let list = t.app.store.exports_of(user).await.unwrap();
            assert!(list.iter().all(|e| e.state.as_str() == "pending" && e.attempts == attempt), "{list:?}");
            let delays: Vec<f64> =
                list.iter().map(|e| e.not_before.duration_since(now).as_secs_f64()).collect::<Vec<_>>();
            let last = list.iter().map(|e| e.not_before).max().unwrap();
            t.clock.set(last);
            delays
        }
    };
    let within = |delays: &[f64], low: f64, high: f64| {
        assert!(delays.iter().all(|d| (low - 0.001..=high + 0.001).contains(d)), "{delays:?} not in {low}..={high}");
    };
    // 429 with Retry-After 90 (more than 30 s ± 25 %): exactly then.
    let d = pass(Fault::TooManyRequests { retry_after: 90 }, 1).await;
    within(&d, 90.0, 90.0);
    // 403 rateLimitExceeded, no Retry-After: the second delay, 60 s ± 25 %, spread.
    let d = pass(Fault::RateLimit { retry_after: None }, 2).await;
    within(&d, 45.0, 75.0);
    assert!(d.iter().any(|x| (x - d[0]).abs() > 0.01), "jitter spreads the retries: {d:?}");
    // 500: the third would be 120 s, capped at 100 (and jitter stays below the cap).
    let d = pass(Fault::Backend, 3).await;
    within(&d, 75.0, 100.0);
    assert!(d.iter().any(|x| (x - d[0]).abs() > 0.01), "jitter spreads the retries at the cap: {d:?}");
    // A Retry-After past the cap waits only as long as the cap.
    let d = pass(Fault::TooManyRequests { retry_after: 3600 }, 4).await;
    within(&d, 100.0, 100.0);
    // Then they go out, each once.
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 12);
    let list = t.app.store.exports_of(user).await.unwrap();
    assert!(list.iter().all(|e| e.state.as_str() == "synced"), "{list:?}");
    let calendar = t.app.store.account(*account).await.unwrap().unwrap().calendar.unwrap();
    assert_eq!(double.events(&calendar).len(), 12);
    assert_eq!(double.batches(), [12; 5]);
    assert!(double.take_violations().is_empty());
}

// ---- reading changes ------------------------------------------------------------------------

/// Reading changes with sync tokens: the first read lists flowcal's events
/// (not someone else's) with their etags and starts, page by page, complete;
/// an idle read lists nothing; an event a person deleted and one they moved
/// are read as such; a token Google no longer takes (invalidated, or never
/// issued) starts over with a complete listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn changes_are_read_with_sync_tokens() {
    let Some(Setup { oidc, double, google }) = setup().await else { return };
    let cal = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap().id;
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    let day = today.checked_add(30.days()).unwrap();
    let at: Timestamp = day.to_datetime(jiff::civil::time(9, 30, 0, 0)).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let a = sample("task:1:deadline", "A", When::Date(day));
    let b = sample("task:2:deadline", "B", When::At { at, zone: "Europe/Berlin".into() });
    let ra = google.upsert_event(&cal, &a, None).await.unwrap();
    let rb = google.upsert_event(&cal, &b, None).await.unwrap();
    // Someone else's event, under an id that is no key of flowcal's.
    let theirs = "abcde12345";
    let bearer = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let r = reqwest::Client::new()
        .post(format!("{}/calendar/v3/calendars/{cal}/events", double.base))
        .bearer_auth(&bearer)
        .json(&json!({"id": theirs, "summary": "Theirs", "start": {"date": day.to_string()},
            "end": {"date": day.tomorrow().unwrap().to_string()}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let lists = || -> Vec<Call> { double.calls().into_iter().filter(|c| c.method == "calendar.events.list").collect() };
    let param = |c: &Call, k: &str| c.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());

    // The first read: everything, in pages of the double's size.
    let first = google.changes(&cal, None).await.unwrap();
    assert!(first.complete && first.deleted.is_empty(), "{first:?}");
    let mut listed: Vec<(String, Option<String>, Option<When>)> =
        first.changed.iter().map(|c| (c.id.clone(), c.etag.clone(), c.start.clone())).collect();
    listed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![
        (a.key.clone(), ra.etag.clone(), Some(a.when.clone())),
        (b.key.clone(), rb.etag.clone(), Some(b.when.clone())),
    ];
    want.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(listed, want, "flowcal's events with the etags it wrote and their starts");
    let pages = lists();
    assert_eq!(pages.len(), 2, "three events, two a page: {pages:#?}");
    assert_eq!(param(&pages[0], "syncToken"), None);
    assert_eq!(param(&pages[0], "showDeleted").as_deref(), Some("true"));
    assert!(param(&pages[1], "pageToken").is_some(), "{pages:#?}");
    let token = first.token.clone().expect("the last page's nextSyncToken");

    // Idle: nothing changed.
    let idle = google.changes(&cal, Some(&token)).await.unwrap();
    assert!(idle.changed.is_empty() && idle.deleted.is_empty() && !idle.complete, "{idle:?}");
    let last = lists().pop().unwrap();
    assert_eq!(param(&last, "syncToken").as_deref(), Some(token.as_str()));
    let token = idle.token.expect("a new token");

    // A person deletes A, moves B, and moves their own event: A deleted, B
    // changed with its new start and etag; theirs is not flowcal's.
    assert!(double.delete_as_user(&a.key));
    let later = at.checked_add(jiff::SignedDuration::from_hours(50)).unwrap();
    assert!(double.move_as_user(&b.key, &When::At { at: later, zone: "Europe/Berlin".into() }));
    assert!(double.move_as_user(theirs, &When::Date(day.tomorrow().unwrap())));
    let after = google.changes(&cal, Some(&token)).await.unwrap();
    assert!(!after.complete, "{after:?}");
    assert_eq!(after.deleted, vec![a.key.clone()]);
    assert_eq!(after.changed.len(), 1, "{after:?}");
    let moved = &after.changed[0];
    assert_eq!(moved.id, b.key);
    assert_eq!(moved.start, Some(When::At { at: later, zone: "Europe/Berlin".into() }));
    assert_ne!(moved.etag, rb.etag, "a new version");
    assert_eq!(moved.etag.as_deref(), double.stored(&cal, &b.key).unwrap()["etag"].as_str());

    // The tokens no longer work: a complete listing again (the deleted event
    // is still there, cancelled); so with a token never issued.
    double.invalidate_sync_tokens();
    let again = google.changes(&cal, after.token.as_deref()).await.unwrap();
    assert!(again.complete && again.token.is_some(), "{again:?}");
    assert_eq!(again.changed.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [b.key.as_str()]);
    assert_eq!(again.deleted, vec![a.key.clone()]);
    assert!(lists().iter().any(|c| c.status == 410 && param(c, "syncToken").is_some()), "{:#?}", lists());
    let unknown = google.changes(&cal, Some("never-issued")).await.unwrap();
    assert!(unknown.complete, "{unknown:?}");
    assert_eq!(unknown.changed.len(), 1, "{unknown:?}");
    let v = double.take_violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");

    // The double holds a client to Google's rules for pages: the next page
    // is asked for with the very query of the first.
    let http = reqwest::Client::new();
    let events = format!("{}/calendar/v3/calendars/{cal}/events", double.base);
    let page: Json =
        http.get(format!("{events}?showDeleted=true")).bearer_auth(&bearer).send().await.unwrap().json().await.unwrap();
    let next = page["nextPageToken"].as_str().unwrap();
    let r = http.get(format!("{events}?pageToken={next}")).bearer_auth(&bearer).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let v = double.take_violations();
    assert!(v.len() == 1 && v[0].contains("the very query of the page before"), "{v:?}");
}

// ---- push: the connector's channels -----------------------------------------------------------

/// One request a [`Hook`] got.
#[derive(Debug, Clone)]
pub(crate) struct Hit {
    /// Path and query.
    pub(crate) target: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Hit {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A web hook standing in for flowcal's push endpoint (on 127.0.0.1): it
/// records every request and answers `202`; Graph's validation request
/// (`validationToken`) gets the token back as plain text, or, when `echo`
/// is off, something else.
pub(crate) struct Hook {
    pub(crate) base: String,
    hits: Arc<Mutex<Vec<Hit>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Hook {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Hook {
    pub(crate) async fn start(echo: bool) -> Hook {
        let hits = Arc::new(Mutex::new(Vec::new()));
        let kept = hits.clone();
        let handler = move |req: Request| {
            let kept = kept.clone();
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let target = parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                let url = reqwest::Url::parse(&format!("http://hook{target}")).unwrap();
                let token = url.query_pairs().find(|(k, _)| k == "validationToken").map(|(_, v)| v.into_owned());
                kept.lock().unwrap().push(Hit { target, headers: parts.headers, body });
                let plain = |text: String| {
                    Response::builder()
                        .status(200)
                        .header("content-type", "text/plain; charset=utf-8")
                        .body(Body::from(text))
                        .unwrap()
                };
                match token {
                    Some(t) if echo => plain(t),
                    Some(_) => plain("not the token".into()),
                    None => Response::builder().status(202).body(Body::empty()).unwrap(),
                }
            }
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new().fallback(handler);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hook { base, hits, server }
    }

    pub(crate) fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }
}

/// `events.watch` and `channels.stop` against the contract: a channel with
/// flowcal's id, address and token, its `resourceId` and `expiration` read
/// back; a `sync` notification, then one per change, with Google's headers;
/// no renewal (a new channel replaces one); stopped, it notifies no more, and
/// stopping it again is no error. The double refuses channels off the push
/// guide's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_peers), ignore = "needs the peers: built without FLOWCAL_REQUIRE_PEERS")]
async fn channels_are_opened_notify_and_are_stopped() {
    use flowcal_calendar::{Watch, WatchRequest};
    let Some(Setup { oidc, double, google }) = setup().await else { return };
    let hook = Hook::start(true).await;
    double.route_push("https://push.example.test", &hook.base);
    let cal = google.ensure_calendar(&CalendarChoice::Own { name: "flowcal".into() }).await.unwrap().id;
    let ttl = Duration::from_secs(3 * 24 * 3600);
    let request = WatchRequest {
        address: "https://push.example.test/push/google",
        lifecycle_address: "https://push.example.test/push/google?lifecycle=1",
        id: "chAbC-12_x",
        secret: "s3cret-token",
        ttl,
    };
    let before = Timestamp::now();
    let w = google.watch(&cal, &request).await.unwrap().expect("Google has channels");
    let after = Timestamp::now();
    assert_eq!(w.id, "chAbC-12_x");
    let channels = double.channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    let ch = &channels[0];
    assert_eq!((ch.calendar.as_str(), ch.address.as_str()), (cal.as_str(), request.address));
    assert_eq!(ch.token.as_deref(), Some("s3cret-token"));
    assert_eq!(w.resource_id.as_deref(), Some(ch.resource_id.as_str()));
    assert_eq!(w.expires_at.as_millisecond(), ch.expiration);
    let ttl_span = jiff::SignedDuration::try_from(ttl).unwrap();
    assert!(w.expires_at >= before + ttl_span - jiff::SignedDuration::from_millis(1), "{w:?}");
    assert!(w.expires_at <= after + ttl_span, "{w:?}");

    // The channel works ("sync"), then each change is notified ("exists").
    double.settle().await;
    let ev = sample("task:1:deadline", "One", When::Date("2026-05-04".parse().unwrap()));
    let r = google.upsert_event(&cal, &ev, None).await.unwrap();
    double.settle().await;
    let hits = hook.hits();
    assert_eq!(hits.len(), 2, "{hits:#?}");
    for (hit, (state, number)) in hits.iter().zip([("sync", "1"), ("exists", "2")]) {
        assert_eq!(hit.target, "/push/google");
        assert!(hit.body.is_empty());
        assert_eq!(hit.header("x-goog-channel-id"), Some("chAbC-12_x"));
        assert_eq!(hit.header("x-goog-channel-token"), Some("s3cret-token"));
        assert_eq!(hit.header("x-goog-resource-id"), w.resource_id.as_deref());
        assert_eq!(hit.header("x-goog-resource-state"), Some(state));
        assert_eq!(hit.header("x-goog-message-number"), Some(number));
        let expires = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(hit.header("x-goog-channel-expiration").unwrap())
            .unwrap();
        assert_eq!(expires.as_second(), w.expires_at.as_second());
    }
    let pushed = double.pushed();
    assert!(pushed.iter().all(|p| p.status == Some(202) && p.channel == w.id), "{pushed:?}");

    // No renewal: a new channel replaces this one.
    let n = double.calls().len();
    assert_eq!(google.renew_watch(&w, ttl).await.unwrap(), None);
    assert_eq!(double.calls().len(), n, "renewing asks Google nothing");

    // Stopped: no more notifications; stopping again is no error.
    google.unwatch(&w).await.unwrap();
    assert!(double.channels().is_empty());
    google.delete_event(&cal, &ev.key, Some(&r)).await.unwrap();
    double.settle().await;
    assert_eq!(hook.hits().len(), 2, "a stopped channel notifies no more");
    google.unwatch(&w).await.unwrap();
    let stops: Vec<u16> =
        double.calls().iter().filter(|c| c.method == "calendar.channels.stop").map(|c| c.status).collect();
    assert_eq!(stops, [204, 404]);
    let e = google.unwatch(&Watch { resource_id: None, ..w.clone() }).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("resourceId")), "{e:?}");
    let e = google.watch("gone0123@group.calendar.google.com", &request).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Gone(_)), "{e:?}");
    assert!(double.take_violations().is_empty());

    // The double holds clients to the push guide.
    let token = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let http = reqwest::Client::new();
    let watch = format!("{}/calendar/v3/calendars/{cal}/events/watch", double.base);
    let good = json!({"id": "ch-2", "type": "web_hook", "address": "https://push.example.test/x", "token": "t"});
    let with = |k: &str, v: Json| {
        let mut b = good.clone();
        b[k] = v;
        b
    };
    for (body, expect) in [
        (with("type", json!("email")), "is not web_hook"),
        (with("address", json!("http://push.example.test/x")), "is not an https URL"),
        (with("id", json!("ch 2")), "is not a channel id"),
        (with("id", json!("c".repeat(65))), "is not a channel id"),
        (with("params", json!({"ttl": "soon"})), "is not a number of seconds"),
        (with("params", json!({"ttl": "60", "payload": "true"})), "body.params.payload"),
        (with("resourceId", json!("r")), "the answer's"),
        (with("colour", json!("red")), "body.colour is not a field of Channel"),
        (json!({"type": "web_hook", "address": "https://push.example.test/x"}), "body.id (the channel id) is required"),
    ] {
        let r = http.post(&watch).bearer_auth(&token).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{expect}");
        let v = double.take_violations();
        assert!(v.len() == 1 && v[0].contains(expect), "{expect}: {v:?}");
    }
    let stop = format!("{}/calendar/v3/channels/stop", double.base);
    let r = http.post(&stop).bearer_auth(&token).json(&json!({"id": "ch-2"})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let v = double.take_violations();
    assert!(v.len() == 1 && v[0].contains("resourceId is required"), "{v:?}");
    // The same id twice: refused as Google does.
    assert_eq!(http.post(&watch).bearer_auth(&token).json(&good).send().await.unwrap().status(), 200);
    assert_eq!(http.post(&watch).bearer_auth(&token).json(&good).send().await.unwrap().status(), 400);
    assert!(double.take_violations().is_empty());
}

// ---- calendar edits and push through the application -----------------------------------------

/// Where flowcal is told Google and Microsoft send notifications; the
/// doubles route it to the application under test.
pub(crate) const PUSH_BASE: &str = "https://push.flowcal.test";

/// The configuration that turns push on (`[calendar_sync] push_url`).
pub(crate) fn push_config() -> String {
    format!("[calendar_sync]\npush_url = \"{PUSH_BASE}\"\n")
}

/// What a person does to flowcal's entries at the calendar service, and
/// what the service holds (by the entry's `remote_id`).
pub(crate) trait Person {
    fn delete(&self, remote_id: &str);
    /// Moves the all-day entry to `day` (`YYYY-MM-DD`).
    fn move_to(&self, remote_id: &str, day: &str);
    /// The day the entry starts on; `None` when it is gone.
    fn start(&self, remote_id: &str) -> Option<String>;
}

/// A person in Google Calendar, on flowcal's calendar there.
struct AtGoogle<'a> {
    double: &'a Double,
    calendar: String,
}

impl Person for AtGoogle<'_> {
    fn delete(&self, remote_id: &str) {
        assert!(self.double.delete_as_user(remote_id), "no event {remote_id}");
    }
    fn move_to(&self, remote_id: &str, day: &str) {
        assert!(self.double.move_as_user(remote_id, &When::Date(day.parse().unwrap())), "no event {remote_id}");
    }
    fn start(&self, remote_id: &str) -> Option<String> {
        let ev = self.double.stored(&self.calendar, remote_id).filter(|e| e["status"] != "cancelled")?;
        ev["start"]["date"].as_str().map(str::to_owned)
    }
}

pub(crate) async fn deliver_all(t: &crate::support::TestApp) {
    while t.app.exports.deliver_due().await.unwrap() > 0 {}
}

pub(crate) async fn export_json(t: &crate::support::TestApp, alice: &str, id: i64) -> Json {
    let (s, e) = t.get(&format!("/api/v1/exports/{id}"), alice).await;
    assert_eq!(s, 200, "{e}");
    e
}

pub(crate) async fn task_json(t: &crate::support::TestApp, alice: &str, id: i64) -> Json {
    let (s, task) = t.get(&format!("/api/v1/tasks/{id}"), alice).await;
    assert_eq!(s, 200, "{task}");
    task
}

/// One read of the account's calendar, made due (as a notification would),
/// a minute after what came before.
pub(crate) async fn read_now(t: &crate::support::TestApp, account: i64) -> flowcal_server::calendar_sync::ReadSummary {
    use flowcal_server::clock::Clock as _;
    t.clock.set(t.clock.now() + jiff::SignedDuration::from_secs(60));
    t.app.calendar_sync.wake_account(account).await.unwrap();
    // A notification the double sends meanwhile may hold the account's row
    // for a moment, and claims skip locked rows (on PostgreSQL): that read
    // is taken at the next try, as the read loop would.
    for _ in 0..200 {
        let s = t.app.calendar_sync.read_due().await.unwrap();
        if s.read + s.failed > 0 {
            assert_eq!((s.read, s.failed), (1, 0), "{s:?}");
            return s;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the account's read, made due, was never claimed");
}

/// Starts an instance of `model` on `day` and puts `source` (`deadline`, or
/// `item:day`) on alice's calendar: (the export, the task, the instance).
pub(crate) async fn dated_export(
    t: &crate::support::TestApp,
    alice: &str,
    account: i64,
    model: &str,
    day: &str,
    source: &str,
) -> (i64, i64, i64) {
    let data = json!({"model": model, "title": format!("{model} {day}"), "data": {"day": day}});
    let (s, inst) = t.post("/api/v1/instances", alice, data).await;
    assert_eq!(s, 201, "{inst}");
    let task = inst["tasks"][0]["id"].as_i64().unwrap();
    let (s, e) = t.post("/api/v1/exports", alice, json!({"task": task, "source": source, "account": account})).await;
    assert_eq!(s, 202, "{e}");
    (e["id"].as_i64().unwrap(), task, inst["id"].as_i64().unwrap())
}

/// The three processes of the calendar edit cases: one that follows the
/// configuration, one that restores and reverts, one that accepts moves.
pub(crate) async fn upload_dated_models(t: &crate::support::TestApp, admin: &str) {
    for (key, edits) in
        [("dated", None), ("restoring", Some("deleted=restore moved=revert")), ("accepting", Some("moved=accept"))]
    {
        let (s, m) = t.upload(admin, &crate::calendar_edits::dated_model(key, edits)).await;
        assert_eq!(s, 201, "{m}");
    }
}

/// Day `d` of the month after next (`YYYY-MM-DD`): ahead of the real clock
/// the application runs on, inside every service's window.
pub(crate) fn day(d: i8) -> String {
    let today = Timestamp::now().to_zoned(TimeZone::UTC).date();
    let month = today.first_of_month().checked_add(2.months()).unwrap();
    month.checked_add(jiff::Span::new().days(i64::from(d) - 1)).unwrap().to_string()
}

/// The calendar edit cases of the CalDAV test (`calendar_edits.rs`), with
/// the read driven by hand: an entry deleted by the person is not made
/// again when its task changes, shows as removed in calendar, and *Add
/// again* makes it again; an entry moved is proposed and stays there, *use
/// this date* changes the date item and the deadline, *keep* moves it
/// back; a process that restores and reverts, and one that accepts, do so
/// at the next read; flowcal's own writes are no edits.
pub(crate) async fn edits_follow_the_policies(
    t: &crate::support::TestApp,
    admin: &str,
    alice: &str,
    account: i64,
    person: &dyn Person,
) {
    use reqwest::Method;
    let (deleted, _, deleted_instance) = dated_export(t, alice, account, "dated", &day(4), "deadline").await;
    // The date item's own entry: using its new date changes the item, and the deadline follows.
    let (proposed, proposed_task, proposed_instance) =
        dated_export(t, alice, account, "dated", &day(5), "item:day").await;
    let (kept, kept_task, _) = dated_export(t, alice, account, "dated", &day(6), "deadline").await;
    let (restored, _, _) = dated_export(t, alice, account, "restoring", &day(7), "deadline").await;
    let (reverted, _, _) = dated_export(t, alice, account, "restoring", &day(8), "deadline").await;
    let (accepted, accepted_task, _) = dated_export(t, alice, account, "accepting", &day(9), "deadline").await;
    deliver_all(t).await;
    let remote = |e: &Json| e["remote_id"].as_str().unwrap().to_owned();
    let mut remotes = BTreeMap::new();
    for id in [deleted, proposed, kept, restored, reverted, accepted] {
        let e = export_json(t, alice, id).await;
        assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
        remotes.insert(id, remote(&e));
    }

    // The first read finds nothing to do; nor does a second.
    let first = read_now(t, account).await;
    assert_eq!((first.deleted, first.moved), (0, 0), "{first:?}");
    let idle = read_now(t, account).await;
    assert_eq!((idle.deleted, idle.moved, idle.edited), (0, 0, 0), "{idle:?}");

    // Deleted and moved by the person.
    person.delete(&remotes[&deleted]);
    person.delete(&remotes[&restored]);
    person.move_to(&remotes[&proposed], &day(15));
    person.move_to(&remotes[&kept], &day(16));
    person.move_to(&remotes[&reverted], &day(18));
    person.move_to(&remotes[&accepted], &day(19));
    let read = read_now(t, account).await;
    assert_eq!((read.deleted, read.moved), (2, 4), "{read:?}");

    // Respected: removed in calendar, and not made again when the task changes.
    let e = export_json(t, alice, deleted).await;
    assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("removed_in_calendar"), Some("deleted")));
    let path = format!("/api/v1/instances/{deleted_instance}/data");
    assert_eq!(t.call(Method::PATCH, &path, admin, Some(json!({"data": {"day": day(3)}}))).await.0, 200);
    deliver_all(t).await;
    assert_eq!(export_json(t, alice, deleted).await["state"], "removed_in_calendar");
    assert_eq!(person.start(&remotes[&deleted]), None, "not made again");
    // Add again.
    let (s, e) = t.post(&format!("/api/v1/exports/{deleted}/retry"), alice, json!({})).await;
    assert_eq!(s, 202, "{e}");
    deliver_all(t).await;
    let e = export_json(t, alice, deleted).await;
    assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
    assert_eq!(person.start(&remote(&e)), Some(day(3)), "added again with the new day");

    // Proposed: the entry stays where it was moved, even when the task changes.
    let e = export_json(t, alice, proposed).await;
    assert_eq!(e["remote"], json!({"state": "moved", "start": day(15)}), "{e}");
    let path = format!("/api/v1/instances/{proposed_instance}/data");
    assert_eq!(t.call(Method::PATCH, &path, admin, Some(json!({"data": {"day": day(4)}}))).await.0, 200);
    deliver_all(t).await;
    assert_eq!(task_json(t, alice, proposed_task).await["deadline"]["date"], day(4));
    assert_eq!(person.start(&remotes[&proposed]), Some(day(15)), "kept where it was moved");
    assert_eq!(export_json(t, alice, proposed).await["remote"]["state"], "moved");
    // Use this date: the item and the deadline follow, as changed through the calendar.
    let (s, e) = t.post(&format!("/api/v1/exports/{proposed}/accept-remote"), alice, json!({})).await;
    assert_eq!(s, 202, "{e}");
    assert_eq!(task_json(t, alice, proposed_task).await["deadline"]["date"], day(15));
    let (s, inst) = t.get(&format!("/api/v1/instances/{proposed_instance}"), alice).await;
    assert_eq!(s, 200, "{inst}");
    assert_eq!(inst["data"]["day"], day(15), "{inst}");
    let (s, events) = t.get(&format!("/api/v1/instances/{proposed_instance}/events"), alice).await;
    assert_eq!(s, 200, "{events}");
    assert!(events.to_string().contains("alice (through the calendar)"), "{events}");
    deliver_all(t).await;
    let e = export_json(t, alice, proposed).await;
    assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
    assert_eq!(person.start(&remotes[&proposed]), Some(day(15)));

    // Keep: the entry goes back; the deadline stays.
    let (s, e) = t.post(&format!("/api/v1/exports/{kept}/keep-local"), alice, json!({})).await;
    assert_eq!(s, 202, "{e}");
    deliver_all(t).await;
    assert_eq!(person.start(&remotes[&kept]), Some(day(6)), "moved back");
    assert_eq!(task_json(t, alice, kept_task).await["deadline"]["date"], day(6));
    assert_eq!(export_json(t, alice, kept).await["remote"]["state"], "in_sync");
    let (s, e) = t.post(&format!("/api/v1/exports/{kept}/keep-local"), alice, json!({})).await;
    assert_eq!(s, 409, "nothing to keep from any more: {e}");

    // restore and revert: at the read, without asking.
    deliver_all(t).await;
    let e = export_json(t, alice, restored).await;
    assert_eq!((e["state"].as_str(), e["remote"]["state"].as_str()), (Some("synced"), Some("in_sync")), "{e}");
    assert_eq!(person.start(&remote(&e)), Some(day(7)), "restored");
    assert_eq!(person.start(&remotes[&reverted]), Some(day(8)), "reverted");
    // accept: applied at once (alice started the instance), to the step's deadline alone.
    assert_eq!(task_json(t, alice, accepted_task).await["deadline"]["date"], day(19));
    let instance = task_json(t, alice, accepted_task).await["instance"].clone();
    let (s, inst) = t.get(&format!("/api/v1/instances/{instance}"), alice).await;
    assert_eq!((s, &inst["data"]["day"]), (200, &json!(day(9))), "{inst}");
    deliver_all(t).await;
    assert_eq!(export_json(t, alice, accepted).await["remote"]["state"], "in_sync");
    assert_eq!(person.start(&remotes[&accepted]), Some(day(19)));

    // flowcal's own writes are no edits: the next read finds nothing to do.
    let after = read_now(t, account).await;
    assert_eq!((after.deleted, after.moved), (0, 0), "{after:?}");
}

/// The application with push on, alice's Google account connected (the
/// double routes notifications to the application), flowcal's own calendar
/// chosen: the app, the connection, the calendar.
async fn google_with_push(db: crate::support::TestDb) -> Option<(crate::support::TestApp, App, String)> {
    let t = crate::support::TestApp::spawn_with(db, &push_config()).await;
    // Real time: ID tokens carry it.
    t.clock.set(Timestamp::now());
    let app = connect(&t).await?;
    app.double.route_push(PUSH_BASE, &t.base);
    let path = format!("/api/v1/calendar-accounts/{}/calendar", app.account);
    let (s, b) = t.call(reqwest::Method::PUT, &path, &app.alice, Some(json!({"calendar": "own"}))).await;
    assert_eq!(s, 200, "{b}");
    let calendar = b["calendar"].as_str().unwrap().to_owned();
    Some((t, app, calendar))
}

crate::on_both_backends!(peers: edits_in_google_calendar_follow_the_policies, google_notifications_wake_the_reads);

/// The calendar edit cases, in Google Calendar (the double), read by hand.
async fn edits_in_google_calendar_follow_the_policies(db: crate::support::TestDb) {
    let Some((t, app, calendar)) = google_with_push(db).await else { return };
    upload_dated_models(&t, &app.admin).await;
    let person = AtGoogle { double: &app.double, calendar };
    edits_follow_the_policies(&t, &app.admin, &app.alice, app.account, &person).await;
    let v = app.double.take_violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");
}

/// Push from Google: after the first read a channel is open with flowcal's
/// address and a secret (its hash is what flowcal keeps), and it works
/// (`sync`, answered); one near its end is replaced at the next read and
/// the old one stopped. Forged notifications (the channel's id with another
/// token, or an unknown channel) are answered but change nothing: no read,
/// the entry as it was. A person's move makes the double notify; with the
/// read loop running, the move is proposed. Disconnecting stops the channel,
/// which notifies no more.
async fn google_notifications_wake_the_reads(db: crate::support::TestDb) {
    let Some((t, app, calendar)) = google_with_push(db).await else { return };
    let double = &app.double;
    let person = AtGoogle { double, calendar: calendar.clone() };
    upload_dated_models(&t, &app.admin).await;
    let (moved, _, _) = dated_export(&t, &app.alice, app.account, "dated", &day(5), "deadline").await;
    let (later, _, _) = dated_export(&t, &app.alice, app.account, "dated", &day(6), "deadline").await;
    deliver_all(&t).await;
    assert!(double.channels().is_empty(), "no channel before the first read");
    read_now(&t, app.account).await;

    // A channel of flowcal's calendar, to flowcal's address, with the secret flowcal keeps the hash of.
    let channels = double.channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    let ch = channels[0].clone();
    assert_eq!(
        (ch.calendar.as_str(), ch.address.as_str()),
        (calendar.as_str(), "https://push.flowcal.test/push/google")
    );
    let token = ch.token.clone().unwrap();
    let kept = t.app.store.channel(app.account).await.unwrap().unwrap();
    assert_eq!(
        (kept.channel_id.as_str(), kept.resource_id.as_deref()),
        (ch.id.as_str(), Some(ch.resource_id.as_str()))
    );
    assert_eq!(kept.secret_hash, flowcal_server::secrets::token_hash(&token));
    assert_eq!(kept.expires_at.as_millisecond(), ch.expiration);
    double.settle().await;
    let sync: Vec<Pushed> = double.pushed().into_iter().filter(|p| p.channel == ch.id).collect();
    assert_eq!(sync.len(), 1, "{sync:?}");
    assert_eq!((sync[0].state.as_str(), sync[0].number, sync[0].status), ("sync", 1, Some(200)));

    // Near its end: a new channel at the next read (Google's cannot be extended), the old one stopped.
    let soon = t.app.now() + jiff::SignedDuration::from_hours(1);
    t.sql(&format!("UPDATE calendar_channels SET expires_at = {}", soon.as_millisecond())).await;
    read_now(&t, app.account).await;
    let channels = double.channels();
    assert_eq!(channels.len(), 1, "{channels:?}");
    let ch = channels[0].clone();
    assert_ne!(ch.id, kept.channel_id, "a new channel");
    let calls = double.calls();
    let stops: Vec<&Call> = calls.iter().filter(|c| c.method == "calendar.channels.stop").collect();
    assert_eq!(stops.len(), 1, "{calls:#?}");
    assert_eq!(stops[0].status, 204);
    assert_eq!(t.app.store.channel(app.account).await.unwrap().unwrap().channel_id, ch.id);
    let token = ch.token.clone().unwrap();

    // Forged notifications, while a change waits at Google: answered, nothing read.
    double.settle().await;
    read_now(&t, app.account).await;
    double.hold_notifications();
    let remote = export_json(&t, &app.alice, moved).await["remote_id"].as_str().unwrap().to_owned();
    person.move_to(&remote, &day(20));
    let lists = || double.calls().iter().filter(|c| c.method == "calendar.events.list").count();
    let reads = lists();
    let before = export_json(&t, &app.alice, moved).await;
    for (channel, secret) in [(ch.id.as_str(), "forged-token"), ("ch-unknown", token.as_str())] {
        let r = t
            .client
            .post(format!("{}/push/google", t.base))
            .header("X-Goog-Channel-ID", channel)
            .header("X-Goog-Channel-Token", secret)
            .header("X-Goog-Resource-ID", &ch.resource_id)
            .header("X-Goog-Resource-State", "exists")
            .header("X-Goog-Message-Number", "99")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "answered like any other");
    }
    let s = t.app.calendar_sync.read_due().await.unwrap();
    assert_eq!(s.read, 0, "a forged notification makes no read due: {s:?}");
    assert_eq!(lists(), reads, "Google was not asked");
    assert_eq!(export_json(&t, &app.alice, moved).await, before);
    assert_eq!(before["remote"]["state"], "in_sync");

    // Google's own notification, with the read loop running: the move is proposed.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let reader = tokio::spawn(t.app.calendar_sync.clone().run(async move {
        let _ = stopped.await;
    }));
    double.release_notifications();
    let e = crate::access::wait_until(Duration::from_secs(120), "the move to be proposed", || async {
        let e = export_json(&t, &app.alice, moved).await;
        (e["remote"]["state"] == "moved").then_some(e)
    })
    .await;
    assert_eq!(e["remote"], json!({"state": "moved", "start": day(20)}), "{e}");
    assert!(lists() > reads, "read after the notification");
    double.settle().await;
    let told: Vec<Pushed> = double.pushed().into_iter().filter(|p| p.channel == ch.id && p.state == "exists").collect();
    assert!(!told.is_empty(), "the double notified");
    for p in &told {
        assert_eq!((p.status, p.token.as_deref(), p.address.as_str()), (Some(200), Some(&*token), ch.address.as_str()));
    }
    let _ = stop.send(());
    reader.await.unwrap();

    // Disconnected: the channel is stopped, and notifies no more.
    let later_id = export_json(&t, &app.alice, later).await["remote_id"].as_str().unwrap().to_owned();
    let (s, b) =
        t.call(reqwest::Method::DELETE, &format!("/api/v1/calendar-accounts/{}", app.account), &app.alice, None).await;
    assert!(s == 200 || s == 204, "{s} {b}");
    assert!(double.channels().is_empty(), "{:?}", double.channels());
    let calls = double.calls();
    let stops: Vec<&Call> = calls.iter().filter(|c| c.method == "calendar.channels.stop").collect();
    assert_eq!(stops.iter().map(|c| c.status).collect::<Vec<_>>(), [204, 204], "{calls:#?}");
    let sent = double.pushed().len();
    person.move_to(&later_id, &day(21));
    double.settle().await;
    assert_eq!(double.pushed().len(), sent, "a stopped channel notifies no more");
    let v = double.take_violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");
}
