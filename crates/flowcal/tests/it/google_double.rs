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
//! grants stands for Google's `https://www.googleapis.com/auth/calendar`.

use crate::access::Oidc;
use crate::connectors::{sample, suite};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use flowcal_calendar::google::{GoogleCalendar, OWN_CALENDAR_DESCRIPTION};
use flowcal_calendar::{event_key, CalendarChoice, Connector, ConnectorError, Credential, EventSpec, Remote, When};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Nothing listens there: the token flow stops at the redirect.
const REDIRECT: &str = "http://127.0.0.1:1/cb";
/// The Google scope the peer's `calendar` resource scope stands for.
const CALENDAR_SCOPE: &str = "https://www.googleapis.com/auth/calendar";
/// Calendar list entries per page (small, so that paging is exercised).
const PAGE: usize = 2;
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
        Contract { doc, service, batch }
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
        if id.starts_with("calendar.events.") {
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

/// A failure the double answers instead of the next request.
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// `403 rateLimitExceeded` with `Retry-After`.
    RateLimit { retry_after: u64 },
    /// `429` with `Retry-After`.
    TooManyRequests { retry_after: u64 },
    /// `500 backendError`.
    Backend,
    /// `401 authError`: the access token is no longer accepted (expired early, or revoked).
    Unauthorized,
}

struct Cal {
    id: String,
    summary: String,
    description: Option<String>,
    time_zone: String,
    primary: bool,
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
    tokens: HashMap<String, Json>,
    log: Vec<String>,
    batches: Vec<usize>,
}

impl St {
    fn etag(&mut self) -> String {
        self.next += 1;
        format!("\"{}\"", 3_181_161_784_712_000 + self.next)
    }

    fn add_calendar(&mut self, id: &str, summary: &str, description: Option<&str>, zone: &str, primary: bool) {
        let etag = self.etag();
        let cal = Cal {
            id: id.to_owned(),
            summary: summary.to_owned(),
            description: description.map(str::to_owned),
            time_zone: zone.to_owned(),
            primary,
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

    /// Someone changes the event in Google Calendar: a new title, a higher sequence, a new etag.
    pub fn change_behind_flowcal(&self, id: &str) -> bool {
        let mut st = self.lock();
        let etag = st.etag();
        let Some(ev) = st.calendars.values_mut().find_map(|c| c.events.get_mut(id)) else { return false };
        ev["summary"] = json!("Changed in Google Calendar");
        // Moved twice: Google counts each change of the times.
        ev["sequence"] = json!(ev["sequence"].as_i64().unwrap_or(0) + 2);
        ev["etag"] = json!(etag);
        true
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
    /// and that it carries a scope the method accepts.
    async fn authorize(&self, req: &Req, method: &Json) -> Result<(), Resp> {
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
        let granted: Vec<&str> = info["scope"]
            .as_str()
            .unwrap_or_default()
            .split(' ')
            .map(|s| if s == "calendar" { CALENDAR_SCOPE } else { s })
            .collect();
        let accepted = method["scopes"].as_array().into_iter().flatten().filter_map(Json::as_str);
        if !accepted.into_iter().any(|s| granted.contains(&s)) {
            return Err(Resp::error(
                403,
                "global",
                "insufficientPermissions",
                "Request had insufficient authentication scopes.",
            )
            .with(
                "www-authenticate",
                "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\"".into(),
            ));
        }
        Ok(())
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
        let problems = self.contract.check(&m, &query, &req.headers, &req.body);
        if !problems.is_empty() {
            return self.violation(&req, &problems);
        }
        if let Err(resp) = self.authorize(&req, &m.method).await {
            return resp;
        }
        if outer {
            if let Some(f) = self.lock().faults.pop_front() {
                return fault(f);
            }
        }
        let body: Json = if req.body.is_empty() { Json::Null } else { serde_json::from_slice(&req.body).unwrap() };
        let resp = self.api(&m, &query, &req.headers, body);
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
                Resp::json(200, calendar_resource(&st.calendars[&id]))
            }
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
                Resp::json(200, render(&cal.events[&id], &cal.time_zone, q("timeZone")))
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
                Resp::json(200, render(&cal.events[&id], &cal.time_zone, q("timeZone")))
            }
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
                Resp { status: 204, headers: Vec::new(), body: None, text: None }
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
        let mut out = String::new();
        for part in parts {
            let (part_headers, inner) = head(part);
            let content_id = part_headers.iter().find(|(k, _)| k == "content-id").map(|(_, v)| v.clone());
            let resp = match part_headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.as_str()) {
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
        if let Some(v) = words.next().filter(|v| !v.starts_with("HTTP/")) {
            return Err(format!("a batch call's request line ends with the HTTP version, not {v:?}"));
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
                continue;
            }
            headers.insert(axum::http::HeaderName::try_from(k).unwrap(), v.parse().unwrap());
        }
        Ok(Req { method, target: target.to_owned(), headers, body: Bytes::from(body.trim_end().to_owned()) })
    }
}

fn fault(f: Fault) -> Resp {
    match f {
        Fault::RateLimit { retry_after } => Resp::error(403, "usageLimits", "rateLimitExceeded", "Rate Limit Exceeded")
            .with("retry-after", retry_after.to_string()),
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
    let oidc = Arc::new(Oidc::start(REDIRECT, json!({}))?);
    let token = oidc.access_token(REDIRECT, OWNER, "openid calendar").await;
    let double = Double::start(oidc.clone()).await;
    let google = GoogleCalendar::new(&double.base, Credential::Bearer(token)).unwrap();
    Some(Setup { oidc, double, google })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
    let part = |target: &str| format!("--b\r\nContent-Type: application/http\r\n\r\nGET {target} HTTP/1.1\r\n\r\n");
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
async fn rate_limits_and_refused_credentials_are_classified() {
    let Some(Setup { oidc, double, google }) = setup().await else { return };
    let seven = Some(Duration::from_secs(7));
    double.fail_next(1, Fault::RateLimit { retry_after: 7 });
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
    double.fail_next(1, Fault::RateLimit { retry_after: 7 });
    let ev = sample("task:1:deadline", "t", When::Date("2026-05-04".parse().unwrap()));
    let e = google.batch_upsert(OWNER, std::slice::from_ref(&ev)).await.unwrap_err();
    assert!(matches!(&e, ConnectorError::RetryLater { after, .. } if *after == seven), "{e:?}");
    // The faults are used up.
    assert!(google.list_calendars().await.unwrap().len() >= 3);

    // A token the authorization server does not know.
    let secret = "not-a-token-3f9a7c";
    let bad = GoogleCalendar::new(&double.base, Credential::Bearer(secret.into())).unwrap();
    let e = bad.list_calendars().await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    assert!(!format!("{e:?} {e}").contains(secret), "the token stays out of errors");
    let e = bad.upsert_event(OWNER, &ev, None).await.unwrap_err();
    assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    // A token without the calendar scope (the user granted less): the token is
    // valid, so refreshing would not help; the call is not allowed.
    let partial = oidc.access_token(REDIRECT, "alice+partial@example.com", "openid calendar").await;
    let narrow = GoogleCalendar::new(&double.base, Credential::Bearer(partial)).unwrap();
    let e = narrow.list_calendars().await.unwrap_err();
    assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("granted scopes")), "{e:?}");
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_upsert_goes_out_in_batches_of_fifty_and_never_duplicates() {
    let Some(Setup { double, google, .. }) = setup().await else { return };
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
    let results = google.batch_upsert(&cal.id, &events).await.unwrap();
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
    let results = google.batch_upsert(&cal.id, &again).await.unwrap();
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(double.batches(), [50, 50, 20, 50, 50, 20]);
    assert_eq!(double.events(&cal.id).len(), 120);
    assert_eq!(double.stored(&cal.id, &again[7].key).unwrap()["summary"], "Task 7 (moved)");
    // An event with a key Google would refuse is reported, the others go out.
    let mut odd = sample("task:x:deadline", "x", When::Date(day));
    odd.key = "NOT-BASE32".into();
    let results = google.batch_upsert(&cal.id, &[odd, events[0].clone()]).await.unwrap();
    assert!(matches!(&results[0], Err(ConnectorError::Permanent(_))), "{results:?}");
    assert!(results[1].is_ok(), "{results:?}");
    let e = google.batch_upsert("no-such-calendar-1", &events[..2]).await.unwrap();
    assert!(e.iter().all(|r| matches!(r, Err(ConnectorError::Gone(_)))), "{e:?}");
    assert!(double.take_violations().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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
