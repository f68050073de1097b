//! The CalDAV connector (RFC 4791), with account discovery per RFC 6764, and
//! the check of an account when it is connected ([`probe`]).
//!
//! Discovery starts from the URL the user entered (a server, a principal or
//! a calendar home) and finds the calendar home: `DAV:current-user-principal`
//! (RFC 5397), then the principal's `CALDAV:calendar-home-set`; when the user
//! entered only a server and it names no principal, `/.well-known/caldav` is
//! asked too. [`probe`] runs it when an account is connected and says plainly
//! why an account cannot be used; [`CaldavCalendar`] runs it on first use
//! unless the home is known already, and keeps the home.
//!
//! - Calendars are the collections in the home whose `DAV:resourcetype` holds
//!   `CALDAV:calendar` and that accept VEVENTs. flowcal's own calendar is the
//!   collection `{home}flowcal/` (`{home}flowcal-<slug of its name>/` for
//!   other names), made with MKCALENDAR when missing.
//! - Each entry is the resource `{calendar}{key}.ics` holding one VEVENT with
//!   the UID [`ical::uid`]. Creating uses `If-None-Match: *` and updating
//!   `If-Match` with the last ETag, so a retry never makes a second copy and
//!   a change made elsewhere is noticed (412): flowcal then reads the current
//!   ETag and writes its version once more (flowcal owns these entries).
//!   Deleting is unconditional, since deleting is the intent.
//!
//! Every request goes through the clients of a [`CaldavHttp`] (the guarded
//! clients of [`flowcal_connect::outbound`], made once per policy and shared),
//! and every URL, hrefs named by the server included, through
//! [`HostPolicy::check_url`] first. Credentials go only to the host of the URL
//! the user entered, never from https down to plain http. That is also why the
//! WebDAV calls are written here instead of using a CalDAV library such as
//! libdav: libdav brings its own HTTP stack (hyper-util with tower
//! authentication layers), which would bypass the guarded client's allow-list
//! and its address checks after DNS resolution and on redirects.

use flowcal_connect::outbound::{
    find_outbound_error, guarded_client, guarded_client_without_redirects, read_capped, read_prefix, same_site,
    BodyError, HostPolicy, OutboundError,
};
use flowcal_connect::text::percent_decode;
use reqwest::header::{HeaderMap, CONTENT_TYPE, ETAG};
use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use crate::connector::{
    retry_after, transport_error, CalendarChanges, CalendarChoice, CalendarInfo, ChangedEntry, Connector,
    ConnectorError, Credential, Remote, RemoteEvent,
};
use crate::event::EventSpec;
use crate::http_auth::AuthSchemes;
use crate::ical;

const DAV_NS: &str = "DAV:";
const CALDAV_NS: &str = "urn:ietf:params:xml:ns:caldav";
/// Largest WebDAV answer read (a home with many calendars stays far below).
const MAX_XML: usize = 4 * 1024 * 1024;
/// Largest WebDAV answer read when an account is checked (a Depth: 0 answer
/// is a few kilobytes).
const MAX_PROBE_XML: usize = 1024 * 1024;
/// Largest calendar object read back (flowcal's own are a few kilobytes).
const MAX_ICS: usize = ical::MAX_OBJECT;
/// Longest server message quoted in an error.
const MAX_MESSAGE: usize = 300;
/// How much of an error answer is read (its start is all that is quoted).
const MAX_ERROR_BODY: usize = 64 * 1024;

const XML: &str = "application/xml; charset=utf-8";
const ICS: &str = "text/calendar; charset=utf-8";

const DISCOVERY_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop>
    <d:current-user-principal/>
    <c:calendar-home-set/>
    <d:resourcetype/>
    <d:displayname/>
  </d:prop>
</d:propfind>
"#;

const HOME_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop>
    <c:calendar-home-set/>
    <d:displayname/>
  </d:prop>
</d:propfind>
"#;

const CALENDAR_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop>
    <d:resourcetype/>
    <d:displayname/>
    <c:supported-calendar-component-set/>
  </d:prop>
</d:propfind>
"#;

/// The most pages of one incremental read (a server that truncates its
/// answers, RFC 6578 §3.6, says 507 for the rest).
const MAX_SYNC_PAGES: usize = 100;

/// An RFC 6578 `sync-collection` REPORT from `token` (the first read: none).
fn sync_request(token: Option<&str>) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:">
  <d:sync-token>{}</d:sync-token>
  <d:sync-level>1</d:sync-level>
  <d:prop>
    <d:getetag/>
  </d:prop>
</d:sync-collection>
"#,
        flowcal_xml::escape(token.unwrap_or_default())
    )
}

const ETAG_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:">
  <d:prop>
    <d:getetag/>
  </d:prop>
</d:propfind>
"#;

/// Largest answer to the listing of flowcal's entries in a calendar
/// ([`CaldavCalendar::flowcal_entries`]): one answer, no pages (a server
/// that ignores the partial retrieval sends each entry whole, a few
/// kilobytes each).
const MAX_LISTING: usize = 16 * 1024 * 1024;

/// The most entries [`CaldavCalendar::flowcal_entries`] lists: more is an
/// error, not a part of a listing.
pub const MAX_LISTED: usize = 50_000;

/// A `calendar-query` REPORT (RFC 4791 §7.8) for the VEVENTs whose UID
/// holds `@flowcal` ([`ical::uid`]), with their ETags and only their UIDs
/// (§9.6.1: partial retrieval; a server that ignores it sends the whole
/// object, and one that ignores the filter sends every event: the UIDs are
/// checked as they come).
const LISTING_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop>
    <d:getetag/>
    <c:calendar-data>
      <c:comp name="VCALENDAR">
        <c:comp name="VEVENT">
          <c:prop name="UID"/>
        </c:comp>
      </c:comp>
    </c:calendar-data>
  </d:prop>
  <c:filter>
    <c:comp-filter name="VCALENDAR">
      <c:comp-filter name="VEVENT">
        <c:prop-filter name="UID">
          <c:text-match collation="i;octet">@flowcal</c:text-match>
        </c:prop-filter>
      </c:comp-filter>
    </c:comp-filter>
  </c:filter>
</c:calendar-query>
"#;

/// One of flowcal's entries in a calendar, found by its UID
/// ([`CaldavCalendar::flowcal_entries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedEntry {
    /// The key its UID names (`{key}@flowcal`, [`ical::uid`]).
    pub key: String,
    /// The resource that holds it.
    pub url: String,
    /// Its version, when the server gives it.
    pub etag: Option<String>,
    /// Whether it is the resource flowcal writes for its key,
    /// `{calendar}{key}.ics` ([`CaldavCalendar::event_url`]); otherwise a
    /// copy saved under another name (by a user, or a client).
    pub at_key: bool,
}

/// The HTTP clients for CalDAV servers under one outbound policy: the
/// guarded client for reads (it follows the redirects the policy allows) and
/// the same without redirects for writes. Made once per policy and cloned
/// into every connector and account check, so they share one connection
/// pool: connections are kept and reused from one delivery pass to the next.
#[derive(Debug, Clone)]
pub struct CaldavHttp {
    policy: HostPolicy,
    /// From [`guarded_client`] with `policy`.
    read: reqwest::Client,
    /// From [`guarded_client_without_redirects`] with `policy`: for writes.
    write: reqwest::Client,
    /// What each server took: Basic or Digest ([`crate::http_auth`]).
    schemes: AuthSchemes,
}

impl CaldavHttp {
    /// The clients for `policy`.
    pub fn new(policy: HostPolicy) -> Result<Self, OutboundError> {
        let read = guarded_client(policy.clone())?;
        let write = guarded_client_without_redirects(policy.clone())?;
        Ok(CaldavHttp { policy, read, write, schemes: AuthSchemes::default() })
    }

    /// The policy every URL is checked against.
    pub fn policy(&self) -> &HostPolicy {
        &self.policy
    }
}

/// A calendar account at a CalDAV server.
#[derive(Debug)]
pub struct CaldavCalendar {
    http: CaldavHttp,
    /// The account URL the user gave, or its calendar home.
    base: Url,
    credential: Credential,
    /// The calendar home, once found.
    home: OnceCell<Url>,
    /// Largest WebDAV answer read.
    xml_limit: usize,
}

impl CaldavCalendar {
    /// A connector for the account at `base_url` (a server, a principal or a
    /// calendar home), through the shared clients `http`. Nothing is fetched
    /// yet; a URL the policy refuses is a [`ConnectorError::Permanent`] error.
    pub fn new(http: &CaldavHttp, base_url: Url, credential: Credential) -> Result<Self, ConnectorError> {
        http.policy.check_url(&base_url).map_err(|e| ConnectorError::Permanent(e.to_string()))?;
        let mut base = base_url;
        base.set_fragment(None);
        Ok(CaldavCalendar { http: http.clone(), base, credential, home: OnceCell::new(), xml_limit: MAX_XML })
    }

    /// The same connector with its calendar home already known (as
    /// [`probe`] found it when the account was connected), so no discovery
    /// is needed. The home must be on the host of the base URL.
    pub fn with_calendar_home(self, home: Url) -> Result<Self, ConnectorError> {
        self.check_target(&home)?;
        Ok(CaldavCalendar { home: OnceCell::from(ensure_slash(home)), ..self })
    }

    /// The URL the connector starts from.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// The calendar home (`CALDAV:calendar-home-set`), found on first use.
    pub async fn calendar_home(&self) -> Result<&Url, ConnectorError> {
        self.home.get_or_try_init(|| self.discover()).await
    }

    /// The resource that holds the entry `key` in `calendar`: `{calendar}{key}.ics`.
    pub fn event_url(calendar: &str, key: &str) -> Result<Url, ConnectorError> {
        let valid = !key.is_empty()
            && key.len() <= 200
            && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(ConnectorError::Permanent(format!("{key:?} is not a valid entry key")));
        }
        calendar_url(calendar)?
            .join(&format!("{key}.ics"))
            .map_err(|e| ConnectorError::Permanent(format!("no resource URL for {key} in {calendar}: {e}")))
    }

    // ---- discovery ------------------------------------------------------------------------

    /// The calendar home, found from the base URL. A collection that names no
    /// principal or home is taken as the home (servers without
    /// current-user-principal).
    async fn discover(&self) -> Result<Url, ConnectorError> {
        let (at_base, well_known) = self.walk().await?;
        match well_known {
            Some(Ok(Found::Home(found))) => return Ok(ensure_slash(found.home)),
            // Otherwise what the base URL said is the better explanation,
            // unless the credentials were refused there: a server may answer
            // its root without them (Cyrus names the principal
            // `DAV:unauthenticated`, RFC 5397 §3) and ask for them only
            // below.
            Some(Err(e)) => match ConnectorError::from(e) {
                refused @ ConnectorError::Unauthorized(_) => return Err(refused),
                e => tracing::debug!(error = %e, "caldav: /.well-known/caldav did not help"),
            },
            Some(Ok(_)) | None => {}
        }
        match at_base {
            Found::Home(found) => Ok(ensure_slash(found.home)),
            Found::Collection(url) => {
                tracing::debug!(url = %url, "caldav: no principal named; using the URL entered as the calendar home");
                Ok(ensure_slash(url))
            }
            Found::Missing(_) => {
                Err(ConnectorError::Gone(format!("nothing is found at {} (404 Not Found)", self.base)))
            }
            Found::NotDav(why) => Err(ConnectorError::Permanent(why)),
            Found::Nothing => Err(ConnectorError::Permanent(format!(
                "{} does not look like a CalDAV server: it names no current-user-principal or calendar-home-set",
                self.base
            ))),
        }
    }

    /// What the base URL says about the calendar home and, when that is no
    /// home and the base is a server root, what `/.well-known/caldav` says
    /// (RFC 6764, redirects followed).
    async fn walk(&self) -> Result<(Found, Option<Result<Found, DavError>>), DavError> {
        let at_base = self.home_from(&self.base).await?;
        if matches!(at_base, Found::Home(_)) || !is_server_root(&self.base) {
            return Ok((at_base, None));
        }
        let well_known = self
            .base
            .join("/.well-known/caldav")
            .map_err(|_| DavError::BadHref { answered: self.base.clone(), href: "/.well-known/caldav".into() })?;
        tracing::debug!(url = %well_known, "caldav: no principal at the server root, trying /.well-known/caldav");
        Ok((at_base, Some(self.home_from(&well_known).await)))
    }

    /// What `url` says about the calendar home: the home itself (named by the
    /// principal it names, or there when it is the principal), or why not.
    async fn home_from(&self, url: &Url) -> Result<Found, DavError> {
        let answer = match self.propfind_at(url, 0, DISCOVERY_REQUEST).await? {
            Propfind::Listing(answer) => answer,
            Propfind::Missing(at) => return Ok(Found::Missing(at)),
            Propfind::NotDav(why) => return Ok(Found::NotDav(why)),
        };
        let Some(props) = answer.first() else { return Ok(Found::Missing(answer.url.clone())) };
        let principal = props.principal.as_deref().map(|p| self.resolve(&answer.url, p)).transpose()?;
        match (principal, &props.home) {
            // The URL answering is the principal (calendar-home-set is a principal's property).
            (None, Some(home)) => Ok(Found::Home(self.home_named(&answer, answer.url.clone(), home)?)),
            (Some(principal), Some(home)) if ensure_slash(principal.clone()) == ensure_slash(answer.url.clone()) => {
                Ok(Found::Home(self.home_named(&answer, principal, home)?))
            }
            (Some(principal), _) => {
                tracing::debug!(principal = %principal, "caldav: asking the principal for its calendar home");
                let at_principal = match self.propfind_at(&principal, 0, HOME_REQUEST).await? {
                    Propfind::Listing(listing) => listing,
                    Propfind::Missing(answered) => {
                        return Err(DavError::PrincipalMissing { principal, answered: Box::new(answered) })
                    }
                    Propfind::NotDav(why) => return Err(DavError::NotDav(why)),
                };
                let Some(home) = at_principal.first().and_then(|p| p.home.clone()) else {
                    return Err(DavError::NoHome { principal });
                };
                Ok(Found::Home(self.home_named(&at_principal, principal, &home)?))
            }
            (None, None) if props.collection => Ok(Found::Collection(answer.url.clone())),
            (None, None) => Ok(Found::Nothing),
        }
    }

    /// The home `href` named in `listing`, the principal's answer.
    fn home_named(&self, listing: &Listing, principal: Url, href: &str) -> Result<Discovered, DavError> {
        let home = self.resolve(&listing.url, href)?;
        let display_name = listing.first().and_then(|p| p.display_name.clone());
        Ok(Discovered { principal, home, display_name })
    }

    /// An href from the server, resolved against the URL that answered and
    /// checked like every URL flowcal sends credentials to.
    fn resolve(&self, answered: &Url, href: &str) -> Result<Url, DavError> {
        let url =
            answered.join(href).map_err(|_| DavError::BadHref { answered: answered.clone(), href: href.to_owned() })?;
        self.check_target(&url)?;
        Ok(url)
    }

    // ---- calendars --------------------------------------------------------------------------

    /// The calendar at `url`; `None` when nothing is there; an error when
    /// something is there that is not a calendar taking events.
    async fn calendar_at(&self, url: &Url) -> Result<Option<CalendarInfo>, ConnectorError> {
        let Some(answer) = self.propfind(url, 0, CALENDAR_REQUEST).await? else { return Ok(None) };
        let Some(props) = answer.first() else { return Ok(None) };
        let id = ensure_slash(answer.url.clone());
        if !props.calendar {
            return Err(ConnectorError::Permanent(format!("{id} is not a calendar")));
        }
        if !props.takes_events() {
            return Err(ConnectorError::Permanent(format!("the calendar {id} does not take events (VEVENT)")));
        }
        Ok(Some(calendar_info(&id, props)))
    }

    async fn mkcalendar(&self, url: &Url, name: &str) -> Result<(), ConnectorError> {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?>
<c:mkcalendar xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:set>
    <d:prop>
      <d:displayname>{}</d:displayname>
      <c:supported-calendar-component-set>
        <c:comp name="VEVENT"/>
      </c:supported-calendar-component-set>
    </d:prop>
  </d:set>
</c:mkcalendar>
"#,
            flowcal_xml::escape(name)
        );
        let answer = self
            .send(dav_method("MKCALENDAR")?, url, MAX_XML, |r| r.header(CONTENT_TYPE, XML).body(body.clone()))
            .await?;
        match answer.status.as_u16() {
            200..=299 => {
                tracing::info!(url = %url, "caldav: created flowcal's calendar");
                Ok(())
            }
            // Something is there already (RFC 4918 §9.3.1: 405; RFC 4791 §5.3.1.1:
            // DAV:resource-must-be-null, which Radicale sends with 409 and Xandikos with 403).
            405 => Ok(()),
            403 | 409 if answer.body.contains("resource-must-be-null") => Ok(()),
            // 409: the home itself is missing.
            409 => {
                Err(ConnectorError::Gone(format!("the calendar home of {url} no longer exists ({})", answer.summary())))
            }
            _ => Err(answer.error("MKCALENDAR", url)),
        }
    }

    // ---- events -----------------------------------------------------------------------------

    /// PUTs `body` under `cond`; creates, updates, re-reads the ETag after a
    /// 412 once. Returns the ETag of what was written, when the server tells.
    async fn write(&self, url: &Url, body: &str, mut cond: Cond) -> Result<Option<String>, ConnectorError> {
        let mut refetched = false;
        for _ in 0..4 {
            let answer = self
                .send(Method::PUT, url, MAX_XML, |r| {
                    let r = r.header(CONTENT_TYPE, ICS).body(body.to_owned());
                    match &cond {
                        Cond::Create => r.header("If-None-Match", "*"),
                        Cond::Match(etag) => r.header("If-Match", etag.as_str()),
                        Cond::Any => r,
                    }
                })
                .await?;
            match answer.status.as_u16() {
                200..=299 => return Ok(header_etag(&answer.headers)),
                412 => {
                    if refetched {
                        return Err(ConnectorError::RetryLater {
                            after: None,
                            message: format!("{url} keeps changing at the CalDAV server while flowcal writes it"),
                        });
                    }
                    refetched = true;
                    // Created or changed behind flowcal's back (or deleted: some
                    // servers answer If-Match on a missing resource with 412).
                    cond = match self.current_etag(url).await? {
                        None => Cond::Create,
                        Some(Some(etag)) if !etag.starts_with("W/") => Cond::Match(etag),
                        Some(_) => Cond::Any,
                    };
                    tracing::debug!(url = %url, ?cond, "caldav: precondition failed; writing again");
                }
                // If-Match on a deleted resource: create it again.
                404 | 410 if matches!(cond, Cond::Match(_)) => cond = Cond::Create,
                // The collection may be missing: RFC 4918 §9.7.1 says 409, but
                // servers answer 403 (Cyrus), 404 or 405 (SabreDAV, DAViCal) too.
                403 | 404 | 405 | 409 | 410 => return Err(self.calendar_missing_or(url, &answer).await),
                _ => return Err(answer.error("PUT", url)),
            }
        }
        Err(ConnectorError::RetryLater { after: None, message: format!("{url} could not be written; try again") })
    }

    /// After PUT failed with 403, 404, 405, 409 or 410: `Gone` when the
    /// calendar is gone, else the server's refusal.
    async fn calendar_missing_or(&self, url: &Url, answer: &Answer) -> ConnectorError {
        let calendar = url.join("./").unwrap_or_else(|_| url.clone());
        match self.propfind(&calendar, 0, CALENDAR_REQUEST).await {
            Ok(None) => ConnectorError::Gone(format!("the calendar {calendar} no longer exists")),
            Ok(Some(_)) => {
                ConnectorError::Permanent(format!("the CalDAV server refused to store {url}: {}", answer.summary()))
            }
            Err(e) => e,
        }
    }

    /// The resource's current ETag: `None` when it does not exist,
    /// `Some(None)` when the server gives none.
    async fn current_etag(&self, url: &Url) -> Result<Option<Option<String>>, ConnectorError> {
        let answer = self.send(Method::GET, url, MAX_ICS, |r| r).await?;
        match answer.status.as_u16() {
            200..=299 => {}
            404 | 410 => return Ok(None),
            _ => return Err(answer.error("GET", url)),
        }
        match header_etag(&answer.headers) {
            Some(etag) => Ok(Some(Some(etag))),
            None => self.propfind_etag(url).await,
        }
    }

    /// `DAV:getetag` by PROPFIND (for servers that leave the ETag header out).
    async fn propfind_etag(&self, url: &Url) -> Result<Option<Option<String>>, ConnectorError> {
        Ok(self.propfind(url, 0, ETAG_REQUEST).await?.map(|a| a.first().and_then(|p| p.etag.clone())))
    }

    // ---- reading changes ---------------------------------------------------------------------

    /// What changed in `calendar` since `token` (none: everything there):
    /// an RFC 6578 `sync-collection` REPORT, paged while the server truncates;
    /// a token the server no longer takes (`DAV:valid-sync-token`) starts
    /// over with a complete listing; a server without the REPORT is listed
    /// whole (`DAV:getetag` by PROPFIND, Depth 1) every time. Only resources
    /// named like flowcal's entries (`{key}.ics`) are listed. An idle
    /// calendar costs one small request.
    async fn read_changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        let url = calendar_url(calendar)?;
        let report = dav_method("REPORT")?;
        let mut out = CalendarChanges { complete: token.is_none(), ..CalendarChanges::default() };
        let mut token = token.map(str::to_owned);
        for _ in 0..MAX_SYNC_PAGES {
            let body = sync_request(token.as_deref());
            let answer = self
                .send(report.clone(), &url, self.xml_limit, |r| {
                    r.header("Depth", "0").header(CONTENT_TYPE, XML).body(body.clone())
                })
                .await?;
            match answer.status.as_u16() {
                207 => {}
                // RFC 6578 §3.2 and RFC 4918 §16: 403 (or 409) with the
                // precondition; Xandikos answers 412.
                403 | 409 | 412 if token.is_some() && answer.body.contains("valid-sync-token") => {
                    tracing::info!(calendar = %url, "caldav: the server no longer takes the sync token; reading all");
                    token = None;
                    out = CalendarChanges { complete: true, ..CalendarChanges::default() };
                    continue;
                }
                404 | 410 => return Err(ConnectorError::Gone(format!("the calendar {url} no longer exists"))),
                400 | 403 | 405 | 415 | 422 | 501 => {
                    tracing::debug!(calendar = %url, status = %answer.status, "caldav: no sync-collection; listing the calendar");
                    return self.listing(&url).await;
                }
                _ => return Err(answer.error("REPORT", &url)),
            }
            let text = answer.body.clone();
            let (resources, next) = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || parse_sync(&text))
                .await
                .map_err(|e| ConnectorError::RetryLater { after: None, message: format!("{url}: {e}") })?
                .map_err(|why| ConnectorError::Permanent(format!("REPORT {url}: {why}")))?;
            let mut truncated = false;
            for r in resources {
                let Ok(at) = url.join(&r.href) else { continue };
                if ensure_slash(at.clone()) == url {
                    truncated |= r.status == Some(507);
                    continue;
                }
                let Some(key) = entry_key(&url, &at) else { continue };
                match r.status {
                    Some(404 | 410) => out.deleted.push(key),
                    _ => out.changed.push(ChangedEntry { id: key, etag: r.etag, start: None }),
                }
            }
            token = next;
            if !truncated {
                out.token = token;
                return Ok(out);
            }
        }
        Err(ConnectorError::RetryLater {
            after: None,
            message: format!("{url} answered more than {MAX_SYNC_PAGES} pages of changes"),
        })
    }

    /// Every entry of the calendar with its ETag (servers without sync-collection).
    async fn listing(&self, url: &Url) -> Result<CalendarChanges, ConnectorError> {
        let listing = self
            .propfind(url, 1, ETAG_REQUEST)
            .await?
            .ok_or_else(|| ConnectorError::Gone(format!("the calendar {url} no longer exists")))?;
        let mut out = CalendarChanges { complete: true, ..CalendarChanges::default() };
        for r in listing.resources {
            let Ok(at) = listing.url.join(&r.href) else { continue };
            if let Some(key) = entry_key(url, &at) {
                out.changed.push(ChangedEntry { id: key, etag: r.etag, start: None });
            }
        }
        Ok(out)
    }

    // ---- flowcal's entries, whatever their names --------------------------------------------

    /// flowcal's entries in `calendar`, found by their UIDs (`{key}@flowcal`)
    /// whatever their resource names, so that a copy of one saved under
    /// another name is found too: one `calendar-query` REPORT
    /// ([`LISTING_REQUEST`]), its answer read up to [`MAX_LISTING`] bytes and
    /// parsed off the async workers, at most [`MAX_LISTED`] entries. Only
    /// resources right in the calendar, on its site, with a UID of flowcal's
    /// form around a key flowcal makes are listed. A server that says it
    /// left some out (507 on the calendar) fails the listing: a part of a
    /// calendar cannot tell what is not in it.
    pub async fn flowcal_entries(&self, calendar: &str) -> Result<Vec<ListedEntry>, ConnectorError> {
        let url = calendar_url(calendar)?;
        let report = dav_method("REPORT")?;
        let answer = self
            .send(report, &url, MAX_LISTING, |r| r.header("Depth", "1").header(CONTENT_TYPE, XML).body(LISTING_REQUEST))
            .await?;
        match answer.status.as_u16() {
            207 => {}
            404 | 410 => return Err(ConnectorError::Gone(format!("the calendar {url} no longer exists"))),
            _ => return Err(answer.error("REPORT", &url)),
        }
        let text = answer.body.clone();
        let resources = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || parse_listing(&text))
            .await
            .map_err(|e| ConnectorError::RetryLater { after: None, message: format!("{url}: {e}") })?
            .map_err(|why| ConnectorError::Permanent(format!("REPORT {url}: {why}")))?;
        let mut out = Vec::new();
        for r in resources {
            let Ok(at) = url.join(&r.href) else { continue };
            if ensure_slash(at.clone()) == url {
                if r.status == Some(507) {
                    return Err(ConnectorError::Permanent(format!(
                        "the CalDAV server lists only a part of {url} (507 Insufficient Storage)"
                    )));
                }
                continue;
            }
            if r.status.is_some_and(|s| !(200..300).contains(&s)) || !in_collection(&url, &at) {
                continue;
            }
            let Some(key) = r.calendar_data.as_deref().and_then(first_uid).and_then(|uid| flowcal_key(&uid)) else {
                continue;
            };
            if out.len() == MAX_LISTED {
                return Err(ConnectorError::Permanent(format!(
                    "{url} holds more than {MAX_LISTED} of flowcal's entries"
                )));
            }
            let at_key = entry_key(&url, &at).as_deref() == Some(key.as_str());
            out.push(ListedEntry { key, url: at.to_string(), etag: r.etag, at_key });
        }
        Ok(out)
    }

    /// Deletes the resource `url` right in `calendar` (a copy of one of
    /// flowcal's entries under another name, as [`flowcal_entries`](Self::flowcal_entries)
    /// lists it), only while it is the version `etag` that was listed: one
    /// changed since is left, and the error says so. Deleting one that is
    /// gone already is no error.
    pub async fn delete_resource(&self, calendar: &str, url: &str, etag: Option<&str>) -> Result<(), ConnectorError> {
        let collection = calendar_url(calendar)?;
        let at = Url::parse(url).map_err(|_| ConnectorError::Permanent(format!("{url:?} is not a URL")))?;
        if !in_collection(&collection, &at) {
            return Err(ConnectorError::Permanent(format!("{at} is not an entry of the calendar {collection}")));
        }
        let strong = etag.filter(|e| !e.starts_with("W/"));
        let answer = self
            .send(Method::DELETE, &at, MAX_XML, |r| match strong {
                Some(e) => r.header("If-Match", e),
                None => r,
            })
            .await?;
        match answer.status.as_u16() {
            200..=299 | 404 | 410 => Ok(()),
            412 => Err(ConnectorError::RetryLater {
                after: None,
                message: format!("{at} changed at the CalDAV server since it was listed; it was left"),
            }),
            _ => Err(answer.error("DELETE", &at)),
        }
    }

    // ---- HTTP ---------------------------------------------------------------------------------

    /// Whether credentials may go to `url`: the policy allows it, it is on
    /// the site (and port) of the URL the user entered
    /// ([`flowcal_connect::outbound::same_site`]), and not plain http when
    /// that URL was https.
    fn check_target(&self, url: &Url) -> Result<(), DavError> {
        self.http.policy.check_url(url).map_err(DavError::Refused)?;
        if !same_site(&self.base, url) {
            let host = self.base.host_str().unwrap_or_default().to_owned();
            return Err(DavError::Elsewhere { url: url.clone(), host });
        }
        if self.base.scheme() == "https" && url.scheme() != "https" {
            return Err(DavError::Unencrypted(url.clone()));
        }
        Ok(())
    }

    /// One request with the credential; the answer's body read (up to
    /// `limit` bytes). A redirect is accepted only for GET and PROPFIND
    /// (sent again to where a 303 pointed, as that turns it into GET);
    /// flowcal writes only to the URLs it names.
    ///
    /// A username and password go only as the server asks
    /// ([`crate::http_auth`]): to a server not asked yet the request goes
    /// without them, and a `401` challenge picks Digest or Basic and the
    /// request is sent again, as it is after a new Digest nonce.
    async fn send(
        &self,
        method: Method,
        url: &Url,
        limit: usize,
        build: impl Fn(RequestBuilder) -> RequestBuilder,
    ) -> Result<Answer, DavError> {
        self.check_target(url)?;
        let reads = method == Method::GET || method.as_str() == "PROPFIND";
        let client = if reads { &self.http.read } else { &self.http.write };
        let mut target = url.clone();
        let mut sent = self.authorization(&method, &target);
        for attempt in 0..3 {
            let request = self.authorize(build(client.request(method.clone(), target.clone())), sent.as_deref());
            let mut response = request.send().await.map_err(|e| request_error(&target, e))?;
            if response.url() != &target {
                let moved = response.url().clone();
                self.check_target(&moved)?;
                let status = response.status();
                let answered =
                    matches!(status, StatusCode::MULTI_STATUS | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
                if method.as_str() == "PROPFIND" && !answered {
                    // A 303 turned it into GET: ask the new URL.
                    let auth = self.authorization(&method, &moved);
                    let request =
                        self.authorize(build(self.http.read.request(method.clone(), moved.clone())), auth.as_deref());
                    response = request.send().await.map_err(|e| request_error(&moved, e))?;
                    self.check_target(response.url())?;
                    sent = auth;
                } else if !reads {
                    return Err(DavError::Connector(ConnectorError::Permanent(format!(
                        "the CalDAV server redirected {method} {target} to {moved} ({status}); flowcal writes only to \
                         the calendar's own URLs"
                    ))));
                }
            }
            if response.status() == StatusCode::UNAUTHORIZED && attempt < 2 {
                if let Credential::Basic { username, password } = &self.credential {
                    let answered = response.url().clone();
                    // A Digest answer names the URL it was made for: one that
                    // was redirected was not made for where it arrived.
                    let sent_there = if answered == target { sent.as_deref() } else { None };
                    let again = self.http.schemes.challenged(
                        &answered,
                        response.headers(),
                        &method,
                        sent_there,
                        username,
                        password,
                    );
                    if let Some(again) = again {
                        tracing::debug!(url = %answered, scheme = again.split(' ').next().unwrap_or_default(),
                            "caldav: answering the server's authentication challenge");
                        target = answered;
                        sent = Some(again);
                        continue;
                    }
                }
            }
            return read_answer(response, limit).await;
        }
        Err(DavError::Connector(ConnectorError::Permanent(format!("{method} {url}: no request was sent"))))
    }

    /// The `Authorization` for a request to `url`, as its server asked
    /// before; `None` for a server not asked yet.
    fn authorization(&self, method: &Method, url: &Url) -> Option<String> {
        match &self.credential {
            Credential::Basic { username, password } => {
                self.http.schemes.authorization(url, method, username, password)
            }
            Credential::Bearer(_) => None,
        }
    }

    /// The request with its credential: `authorization` for a username and
    /// password, the token for a bearer credential.
    fn authorize(&self, request: RequestBuilder, authorization: Option<&str>) -> RequestBuilder {
        match (&self.credential, authorization) {
            (Credential::Bearer(_), _) => self.credential.apply(request),
            (Credential::Basic { .. }, Some(value)) => match reqwest::header::HeaderValue::from_bytes(value.as_bytes())
            {
                Ok(mut value) => {
                    value.set_sensitive(true);
                    request.header(reqwest::header::AUTHORIZATION, value)
                }
                Err(_) => request,
            },
            (Credential::Basic { .. }, None) => request,
        }
    }

    /// PROPFIND; `None` when nothing is at `url` (404, 410, or a 207 whose
    /// only response says 404, as Xandikos answers).
    async fn propfind(&self, url: &Url, depth: u8, body: &'static str) -> Result<Option<Listing>, ConnectorError> {
        match self.propfind_at(url, depth, body).await? {
            Propfind::Listing(listing) => Ok(Some(listing)),
            Propfind::Missing(_) => Ok(None),
            Propfind::NotDav(why) => Err(ConnectorError::Permanent(why)),
        }
    }

    async fn propfind_at(&self, url: &Url, depth: u8, body: &'static str) -> Result<Propfind, DavError> {
        let answer = self
            .send(dav_method("PROPFIND").map_err(DavError::Connector)?, url, self.xml_limit, |r| {
                r.header("Depth", depth.to_string()).header(CONTENT_TYPE, XML).body(body)
            })
            .await?;
        let not_dav =
            |why: String| Ok(Propfind::NotDav(format!("{} does not look like a CalDAV server: {why}", answer.url)));
        match answer.status.as_u16() {
            207 => {}
            404 | 410 => return Ok(Propfind::Missing(answer.url)),
            405 | 501 => return not_dav(format!("it does not support PROPFIND ({})", answer.status)),
            200..=299 => return not_dav(format!("it answered {} instead of a WebDAV multistatus", answer.status)),
            _ => return Err(DavError::Status { method: "PROPFIND", url: url.clone(), answer: Box::new(answer) }),
        }
        // Off the async workers: a hostile answer costs a blocking thread, never the server.
        let body = answer.body.clone();
        let parsed = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || parse_multistatus(&body))
            .await
            .map_err(|e| DavError::Unreadable { url: url.clone(), why: e.to_string() })?;
        let resources = match parsed {
            Ok(resources) => resources,
            Err(why) => return not_dav(why),
        };
        let mut listing = Listing { url: answer.url.clone(), resources };
        if depth == 0 && listing.resources.iter().all(|r| r.status.is_some_and(|s| !(200..300).contains(&s))) {
            return Ok(Propfind::Missing(answer.url));
        }
        // Responses for other resources that say they are missing.
        listing.resources.retain(|r| r.status.is_none_or(|s| (200..300).contains(&s)));
        Ok(Propfind::Listing(listing))
    }
}

/// What a PROPFIND found.
enum Propfind {
    Listing(Listing),
    /// Nothing there: where that was answered.
    Missing(Url),
    /// Not a WebDAV answer: why.
    NotDav(String),
}

impl Connector for CaldavCalendar {
    async fn list_calendars(&self) -> Result<Vec<CalendarInfo>, ConnectorError> {
        let home = self.calendar_home().await?;
        let listing = self
            .propfind(home, 1, CALENDAR_REQUEST)
            .await?
            .ok_or_else(|| ConnectorError::Gone(format!("the calendar home {home} no longer exists")))?;
        let mut out = Vec::new();
        for props in &listing.resources {
            if !props.calendar || !props.takes_events() {
                continue;
            }
            let Ok(url) = listing.url.join(&props.href).map(ensure_slash) else { continue };
            if url.path() == home.path() {
                continue;
            }
            if let Err(e) = self.check_target(&url) {
                tracing::debug!(url = %url, error = %ConnectorError::from(e), "caldav: leaving out a calendar flowcal may not use");
                continue;
            }
            out.push(calendar_info(&url, props));
        }
        Ok(out)
    }

    async fn ensure_calendar(&self, choice: &CalendarChoice) -> Result<CalendarInfo, ConnectorError> {
        match choice {
            CalendarChoice::Existing { id } => {
                let url = calendar_url(id)?;
                self.calendar_at(&url)
                    .await?
                    .ok_or_else(|| ConnectorError::Gone(format!("the calendar {url} no longer exists")))
            }
            CalendarChoice::Own { name } => {
                let home = self.calendar_home().await?;
                let url = home
                    .join(&format!("{}/", own_segment(name)))
                    .map_err(|e| ConnectorError::Permanent(format!("no calendar URL below {home}: {e}")))?;
                if let Some(info) = self.calendar_at(&url).await? {
                    return Ok(info);
                }
                self.mkcalendar(&url, name).await?;
                self.calendar_at(&url).await?.ok_or_else(|| {
                    ConnectorError::Permanent(format!(
                        "the CalDAV server accepted MKCALENDAR {url}, but nothing is there"
                    ))
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
        let url = Self::event_url(calendar, &event.key)?;
        let body = ical::calendar_object(event).map_err(|e| ConnectorError::Permanent(e.0))?;
        let cond = match known.filter(|r| r.id == url.as_str()).and_then(|r| r.etag.as_deref()) {
            Some(etag) if !etag.starts_with("W/") => Cond::Match(etag.to_owned()),
            // A weak ETag never matches If-Match (RFC 9110 §13.1.1).
            Some(_) => Cond::Any,
            None => Cond::Create,
        };
        let etag = match self.write(&url, &body, cond).await? {
            Some(etag) => Some(etag),
            // The server changed what was sent, or does not say (RFC 4791 §5.3.4).
            None => self.propfind_etag(&url).await?.flatten(),
        };
        Ok(Remote { id: url.to_string(), etag })
    }

    async fn get_event(
        &self,
        calendar: &str,
        key: &str,
        _known: Option<&Remote>,
    ) -> Result<Option<RemoteEvent>, ConnectorError> {
        let url = Self::event_url(calendar, key)?;
        let answer = self.send(Method::GET, &url, MAX_ICS, |r| r.header("Accept", "text/calendar")).await?;
        match answer.status.as_u16() {
            200 | 203 => {}
            404 | 410 => return Ok(None),
            _ => return Err(answer.error("GET", &url)),
        }
        let parsed = ical::read_event(&answer.body)
            .map_err(|e| ConnectorError::Permanent(format!("{url} holds an entry flowcal cannot read: {e}")))?;
        if parsed.uid != ical::uid(key) {
            return Err(ConnectorError::Permanent(format!(
                "{url} holds another entry than flowcal's (UID {:?})",
                parsed.uid
            )));
        }
        let cancelled = parsed.status.as_deref().is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"));
        Ok(Some(RemoteEvent {
            remote: Remote { id: url.to_string(), etag: header_etag(&answer.headers) },
            title: parsed.summary,
            description: parsed.description,
            when: parsed.when,
            end: parsed.end,
            cancelled,
        }))
    }

    async fn delete_event(&self, calendar: &str, key: &str, _known: Option<&Remote>) -> Result<(), ConnectorError> {
        let url = Self::event_url(calendar, key)?;
        let answer = self.send(Method::DELETE, &url, MAX_XML, |r| r).await?;
        match answer.status.as_u16() {
            200..=299 | 404 | 410 => Ok(()),
            _ => Err(answer.error("DELETE", &url)),
        }
    }

    async fn changes(&self, calendar: &str, token: Option<&str>) -> Result<CalendarChanges, ConnectorError> {
        self.read_changes(calendar, token).await
    }
}

/// The precondition of a PUT.
#[derive(Debug)]
enum Cond {
    /// `If-None-Match: *`: only if nothing is there.
    Create,
    /// `If-Match`: only if unchanged since this ETag.
    Match(String),
    /// Unconditional (the server gives no usable ETag).
    Any,
}

/// The key of the entry at `at` when it is a resource `{key}.ics` right in
/// the calendar `calendar` with a key flowcal makes
/// ([`flowcal_domain::export::is_event_key`]); `None` for anything else.
fn entry_key(calendar: &Url, at: &Url) -> Option<String> {
    let rest = at.path().strip_prefix(calendar.path())?;
    let key = rest.strip_suffix(".ics")?;
    (flowcal_domain::export::is_event_key(key) && same_site(calendar, at)).then(|| key.to_owned())
}

/// Whether `at` is a resource right in the collection `calendar` (not the
/// collection, not below another collection in it) on its site.
fn in_collection(calendar: &Url, at: &Url) -> bool {
    let Some(rest) = at.path().strip_prefix(calendar.path()) else { return false };
    !rest.is_empty() && !rest.contains('/') && same_site(calendar, at)
}

/// The key of a UID of flowcal's form (`{key}@flowcal`, [`ical::uid`])
/// around a key flowcal makes; `None` for any other UID.
fn flowcal_key(uid: &str) -> Option<String> {
    let key = uid.strip_suffix("@flowcal")?;
    (flowcal_domain::export::is_event_key(key) && ical::uid(key) == uid).then(|| key.to_owned())
}

/// The UID of the first VEVENT of a calendar object (the UID of a
/// component inside it, a VALARM's, does not count); `None` when it has none.
fn first_uid(ics: &str) -> Option<String> {
    let text = ical::unfold(ics);
    let mut open: Vec<String> = Vec::new();
    for line in text.split('\n') {
        let Some((head, value)) = split_content_line(line) else { continue };
        let name = head.split(';').next().unwrap_or_default().trim();
        let value = value.trim();
        if name.eq_ignore_ascii_case("BEGIN") {
            // Components do not nest deeply in an event: a deep one is no event of flowcal's.
            if open.len() >= 8 {
                return None;
            }
            open.push(value.to_ascii_uppercase());
        } else if name.eq_ignore_ascii_case("END") {
            open.pop();
        } else if name.eq_ignore_ascii_case("UID") && open.last().is_some_and(|c| c == "VEVENT") {
            return Some(ical::unescape_text(value));
        }
    }
    None
}

/// A content line's name with its parameters, and its value: split at the
/// first `:` outside a quoted parameter value (RFC 5545 §3.1).
fn split_content_line(line: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some((&line[..i], &line[i + 1..])),
            _ => {}
        }
    }
    None
}

fn dav_method(name: &'static str) -> Result<Method, ConnectorError> {
    Method::from_bytes(name.as_bytes()).map_err(|e| ConnectorError::Permanent(format!("{name}: {e}")))
}

fn is_server_root(url: &Url) -> bool {
    matches!(url.path(), "" | "/")
}

/// A collection URL: its path ends in `/`, so resources join below it.
fn ensure_slash(mut url: Url) -> Url {
    url.set_fragment(None);
    url.set_query(None);
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

/// A calendar id as a collection URL.
fn calendar_url(id: &str) -> Result<Url, ConnectorError> {
    let url = Url::parse(id).map_err(|_| ConnectorError::Permanent(format!("{id:?} is not a CalDAV calendar URL")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConnectorError::Permanent(format!("{id:?} is not a CalDAV calendar URL")));
    }
    Ok(ensure_slash(url))
}

/// The path segment of flowcal's own calendar named `name`: `flowcal` for
/// the name "flowcal", else `flowcal-<slug>` (lowercase ASCII letters and
/// digits, dashes; with a short hash when the name has other letters, so
/// names in other scripts stay apart).
pub fn own_segment(name: &str) -> String {
    let mut slug = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(40);
    let mut slug = slug.trim_end_matches('-').to_owned();
    if !name.is_ascii() {
        let hash = hex::encode(&Sha256::digest(name.trim().as_bytes())[..4]);
        slug = if slug.is_empty() { hash } else { format!("{slug}-{hash}") };
    }
    match slug.as_str() {
        "" | "flowcal" => "flowcal".to_owned(),
        _ => format!("flowcal-{slug}"),
    }
}

/// Whether a collection's last path segment is one flowcal makes.
/// Whether the calendar URL `id` names one of flowcal's own calendars
/// (`{home}flowcal/`, `{home}flowcal-…/`).
pub fn is_own_calendar(id: &str) -> bool {
    Url::parse(id).is_ok_and(|url| is_own_segment(&last_segment(&url)))
}

fn is_own_segment(segment: &str) -> bool {
    segment == "flowcal" || segment.starts_with("flowcal-")
}

/// The last path segment of a collection URL, percent-decoded.
fn last_segment(url: &Url) -> String {
    let raw = url.path().trim_end_matches('/').rsplit('/').next().unwrap_or_default();
    percent_decode(raw)
}

fn calendar_info(url: &Url, props: &Props) -> CalendarInfo {
    let segment = last_segment(url);
    CalendarInfo {
        id: url.to_string(),
        name: props.display_name.clone().unwrap_or_else(|| segment.clone()),
        own: is_own_segment(&segment),
    }
}

fn header_etag(headers: &HeaderMap) -> Option<String> {
    headers.get(ETAG).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// A request to `url` that got no answer; the outbound policy's refusals
/// (resolver, redirects) are told apart.
fn request_error(url: &Url, e: reqwest::Error) -> DavError {
    if let Some(refusal) = find_outbound_error(&e) {
        return DavError::Refused(refusal.clone());
    }
    if e.is_redirect() {
        return DavError::TooManyRedirects { url: url.clone(), error: e };
    }
    DavError::Transport { url: url.clone(), error: e }
}

/// An answer, its body read.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// Where it came from (after redirects).
    url: Url,
    body: String,
    /// What a failed answer says, from [`server_message`].
    said: String,
}

/// Reads the answer: a successful one whole (up to `limit` bytes, else an
/// error), a failed one only its first [`MAX_ERROR_BODY`] bytes, whose
/// explanation is read off the async workers.
async fn read_answer(mut response: Response, limit: usize) -> Result<Answer, DavError> {
    let (status, headers, url) = (response.status(), response.headers().clone(), response.url().clone());
    let bytes = if status.is_success() {
        read_capped(&mut response, limit).await.map_err(|e| match e {
            BodyError::TooLarge { .. } => DavError::TooLarge { url: url.clone(), limit },
            BodyError::Transport(e) => request_error(&url, e),
        })?
    } else {
        read_prefix(&mut response, MAX_ERROR_BODY).await.map_err(|e| request_error(&url, e))?
    };
    let body = String::from_utf8_lossy(&bytes).trim_start_matches('\u{feff}').to_owned();
    let said = if status.is_success() || body.trim().is_empty() {
        String::new()
    } else {
        let text = body.clone();
        flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || server_message(&text))
            .await
            .unwrap_or_else(|e| format!("(its explanation could not be read: {e})"))
    };
    Ok(Answer { status, headers, url, body, said })
}

impl Answer {
    /// The status and what the server said about it (a WebDAV precondition, or the text).
    fn summary(&self) -> String {
        if self.said.is_empty() {
            self.status.to_string()
        } else {
            format!("{}: {}", self.status, self.said)
        }
    }

    /// The failure classified (RFC 9110 statuses; `Retry-After` honoured).
    fn error(&self, method: &str, url: &Url) -> ConnectorError {
        let message = format!("{method} {url}: {}", self.summary());
        match self.status.as_u16() {
            401 => {
                ConnectorError::Unauthorized(format!("the CalDAV server refused the username or password ({message})"))
            }
            404 | 410 => ConnectorError::Gone(message),
            429 | 500..=599 => ConnectorError::RetryLater { after: retry_after(&self.headers), message },
            _ => ConnectorError::Permanent(message),
        }
    }
}

/// A server's explanation in a short line: the elements of a `DAV:error`
/// (the failed preconditions) and its `responsedescription`, or the start of
/// a text body. XML that flowcal does not read (too deep, too many
/// attributes) is described as such. Blocking: call it off the async workers.
pub fn server_message(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let limits = flowcal_xml::Limits::DEFAULT.with_max_bytes(MAX_ERROR_BODY);
    let text = match flowcal_xml::parse(body, &limits) {
        Ok(doc) => {
            let root = doc.root_element();
            let mut parts: Vec<String> = Vec::new();
            for node in root.children().filter(|n| n.is_element()) {
                let name = node.tag_name().name();
                if name == "responsedescription" || name == "message" {
                    parts.push(node.text().unwrap_or_default().trim().to_owned());
                } else {
                    parts.push(name.to_owned());
                }
            }
            parts.retain(|p| !p.is_empty());
            parts.join(", ")
        }
        Err(e @ flowcal_xml::XmlError::Malformed { .. }) if body.starts_with('<') => {
            tracing::debug!(error = %e, "caldav: the error answer is not XML");
            String::new()
        }
        Err(e) if body.starts_with('<') => format!("an explanation flowcal does not read ({e})"),
        Err(_) => body.split_whitespace().collect::<Vec<_>>().join(" "),
    };
    match text.char_indices().nth(MAX_MESSAGE) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

// ---- checking an account when it is connected -------------------------------------------------

/// What [`probe`] found out about a CalDAV account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaldavAccount {
    /// The user's principal URL (`DAV:current-user-principal`, or the URL
    /// entered when it names the calendar home itself).
    pub principal: Url,
    /// The collection holding the user's calendars (`CALDAV:calendar-home-set`).
    pub calendar_home: Url,
    /// The principal's `DAV:displayname`, when the server has one.
    pub display_name: Option<String>,
}

/// Why a CalDAV account could not be confirmed. Messages never contain the
/// password.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// 401: wrong username or app password.
    #[error("the CalDAV server refused the username or app password")]
    Unauthorized,
    /// 403: the login is known but has no access.
    #[error("the CalDAV server refused access (403 Forbidden); check that the app password allows calendar access")]
    Forbidden,
    /// 404 at the given URL.
    #[error("nothing was found at {0} (404 Not Found); check the CalDAV URL")]
    NotFound(String),
    /// The server answered, but not like a CalDAV server (the message says why).
    #[error("{0}")]
    NotCalDav(String),
    /// The outbound policy does not allow a URL on the way.
    #[error("{0}")]
    Refused(OutboundError),
    /// Network error: connection refused, DNS failure, TLS failure, timeout.
    #[error("{0}")]
    Unreachable(String),
    /// An answer flowcal cannot use: server error, unexpected status, too
    /// many redirects, or a redirect/href to a host other than the one entered.
    #[error("{0}")]
    Server(String),
}

/// How long a whole probe may take: each request has its own timeout, but a
/// server can chain several slow answers.
pub const PROBE_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// Checks a CalDAV account and finds its principal and calendar home, with
/// the connector's discovery: PROPFIND (Depth: 0) on `url`, then on the
/// principal it names; when `url`'s path is empty or `/` and the answer names
/// no principal, `/.well-known/caldav` too. Unlike a connector, it does not
/// take a collection that names no principal for the home: the account must
/// look like CalDAV. Every request carries the username and password as the
/// server asks (Basic or Digest, [`crate::http_auth`]) and goes through
/// `http` and its policy. The whole probe takes at most [`PROBE_BUDGET`].
pub async fn probe(http: &CaldavHttp, url: &Url, username: &str, password: &str) -> Result<CaldavAccount, ProbeError> {
    probe_within(PROBE_BUDGET, http, url, username, password).await
}

/// [`probe`] with another time budget.
pub async fn probe_within(
    budget: std::time::Duration,
    http: &CaldavHttp,
    url: &Url,
    username: &str,
    password: &str,
) -> Result<CaldavAccount, ProbeError> {
    tokio::time::timeout(budget, probe_unbounded(http, url, username, password)).await.unwrap_or_else(|_| {
        Err(ProbeError::Unreachable(format!(
            "{} did not finish answering within {} seconds; try again later",
            url.host_str().unwrap_or("the CalDAV server"),
            budget.as_secs_f32()
        )))
    })
}

async fn probe_unbounded(
    http: &CaldavHttp,
    url: &Url,
    username: &str,
    password: &str,
) -> Result<CaldavAccount, ProbeError> {
    http.policy.check_url(url).map_err(ProbeError::Refused)?;
    let account = CaldavCalendar {
        http: http.clone(),
        base: url.clone(),
        credential: Credential::Basic { username: username.to_owned(), password: password.to_owned() },
        home: OnceCell::new(),
        xml_limit: MAX_PROBE_XML,
    };
    let plain = |e: DavError| e.for_probe(url);
    let (at_base, well_known) = account.walk().await.map_err(plain)?;
    let found = match (at_base, well_known) {
        (Found::Home(found), _) | (_, Some(Ok(Found::Home(found)))) => found,
        (_, Some(Err(e))) => return Err(plain(e)),
        (Found::Collection(_) | Found::Nothing, Some(_)) => {
            return Err(not_caldav(
                url,
                "neither it nor /.well-known/caldav names a current-user-principal; enter the URL of your CalDAV \
                 principal or calendars instead",
            ))
        }
        (Found::Collection(_) | Found::Nothing, None) => {
            return Err(not_caldav(url, "its answer names no current-user-principal"))
        }
        (Found::Missing(at), _) => return Err(ProbeError::NotFound(at.to_string())),
        (Found::NotDav(why), _) => return Err(ProbeError::NotCalDav(why)),
    };
    Ok(CaldavAccount { principal: found.principal, calendar_home: found.home, display_name: found.display_name })
}

fn not_caldav(url: &Url, why: &str) -> ProbeError {
    ProbeError::NotCalDav(format!("{url} does not look like a CalDAV server: {why}"))
}

/// Where discovery found the calendar home.
struct Discovered {
    principal: Url,
    /// As named (not yet made a collection URL).
    home: Url,
    /// The principal's `DAV:displayname`.
    display_name: Option<String>,
}

/// What a URL says about the calendar home.
enum Found {
    Home(Discovered),
    /// A collection naming no principal or home.
    Collection(Url),
    /// Nothing there (404, 410): where that was answered.
    Missing(Url),
    /// Not a WebDAV answer: why.
    NotDav(String),
    /// A WebDAV answer naming no principal or home, not for a collection.
    Nothing,
}

/// Why a WebDAV request failed, in enough detail for both readers: a
/// connector's caller ([`ConnectorError`], by `From`) and a user connecting
/// an account ([`DavError::for_probe`]).
#[derive(Debug)]
enum DavError {
    /// The outbound policy refused a URL (checked first, or by the guarded
    /// client on a redirect or a resolved address).
    Refused(OutboundError),
    /// The credentials would go to another host than `host`, the one entered.
    Elsewhere {
        url: Url,
        host: String,
    },
    /// The credentials would go over plain http after https.
    Unencrypted(Url),
    TooManyRedirects {
        url: Url,
        error: reqwest::Error,
    },
    /// No answer (connection, TLS, timeout).
    Transport {
        url: Url,
        error: reqwest::Error,
    },
    TooLarge {
        url: Url,
        limit: usize,
    },
    /// A 207 answer that could not be read in time or at all.
    Unreadable {
        url: Url,
        why: String,
    },
    /// Not a WebDAV answer (the message names the URL and says why).
    NotDav(String),
    /// An href that is no URL.
    BadHref {
        answered: Url,
        href: String,
    },
    /// The principal a server named is not there.
    PrincipalMissing {
        principal: Url,
        answered: Box<Url>,
    },
    /// The principal names no calendar home.
    NoHome {
        principal: Url,
    },
    /// A failed answer (401, 403, 5xx, …) to a request for `url`.
    Status {
        method: &'static str,
        url: Url,
        answer: Box<Answer>,
    },
    /// Already classified for a connector's caller.
    Connector(ConnectorError),
}

impl From<DavError> for ConnectorError {
    fn from(e: DavError) -> ConnectorError {
        match e {
            DavError::Refused(e) => ConnectorError::Permanent(e.to_string()),
            DavError::Elsewhere { url, host } => ConnectorError::Permanent(format!(
                "the CalDAV server sent flowcal on to {url}; flowcal sends the credentials only to {host}"
            )),
            DavError::Unencrypted(url) => ConnectorError::Permanent(format!(
                "the CalDAV server sent flowcal on to the unencrypted URL {url}; flowcal does not send credentials \
                 over plain http"
            )),
            DavError::TooManyRedirects { error, .. } => {
                ConnectorError::Permanent(format!("the CalDAV server redirected too many times: {error}"))
            }
            DavError::Transport { error, .. } => transport_error(&error),
            DavError::TooLarge { url, limit } => ConnectorError::Permanent(format!(
                "the answer of the CalDAV server for {url} is larger than {} KiB",
                limit / 1024
            )),
            DavError::Unreadable { url, why } => ConnectorError::RetryLater {
                after: None,
                message: format!("the answer of the CalDAV server for {url} could not be read: {why}"),
            },
            DavError::NotDav(why) => ConnectorError::Permanent(why),
            DavError::BadHref { answered, href } => {
                ConnectorError::Permanent(format!("the CalDAV server at {answered} named {href:?}, which is not a URL"))
            }
            DavError::PrincipalMissing { principal, .. } => {
                ConnectorError::Permanent(format!("the principal {principal} named by the CalDAV server is not found"))
            }
            DavError::NoHome { principal } => ConnectorError::Permanent(no_home(&principal)),
            DavError::Status { method, url, answer } => answer.error(method, &url),
            DavError::Connector(e) => e,
        }
    }
}

impl DavError {
    /// The plain reason for a user connecting the account at `entered`.
    fn for_probe(self, entered: &Url) -> ProbeError {
        match self {
            DavError::Refused(e) => ProbeError::Refused(e),
            DavError::Elsewhere { url, .. } => ProbeError::Server(format!(
                "the CalDAV server sent flowcal on to {url}; flowcal sends the app password only to the host you \
                 entered, so enter {url} as the CalDAV URL instead"
            )),
            DavError::Unencrypted(url) => ProbeError::Server(format!(
                "the CalDAV server sent flowcal on to the unencrypted URL {url}; flowcal does not send the app \
                 password over plain http"
            )),
            DavError::Connector(_) => ProbeError::Server(ConnectorError::from(self).to_string()),
            DavError::TooManyRedirects { url, .. } => ProbeError::Server(format!("{url} redirected too many times")),
            DavError::Transport { url, error } => unreachable(&url, &error),
            DavError::TooLarge { url, limit } => {
                not_caldav(&url, &format!("its answer to PROPFIND is larger than {}", size(limit)))
            }
            DavError::Unreadable { url, why } => {
                ProbeError::Server(format!("the answer of {url} could not be read: {why}"))
            }
            DavError::NotDav(why) => ProbeError::NotCalDav(why),
            DavError::BadHref { answered, href } => {
                not_caldav(&answered, &format!("it names {href:?}, which is not a valid URL or path"))
            }
            DavError::PrincipalMissing { answered, .. } => ProbeError::NotFound(answered.to_string()),
            DavError::NoHome { principal } => not_caldav(entered, &no_home(&principal)),
            DavError::Status { answer, .. } => {
                let (status, answered) = (answer.status, &answer.url);
                match status.as_u16() {
                    401 => ProbeError::Unauthorized,
                    403 => ProbeError::Forbidden,
                    404 | 410 => ProbeError::NotFound(answered.to_string()),
                    500..=599 => ProbeError::Server(format!(
                        "the CalDAV server failed to answer for {answered} ({status}); try again later"
                    )),
                    _ => ProbeError::Server(format!("the CalDAV server answered {status} for {answered}")),
                }
            }
        }
    }
}

fn no_home(principal: &Url) -> String {
    format!("the principal {principal} has no calendar-home-set (is this a WebDAV server without CalDAV?)")
}

/// `limit` bytes for people: "1 MiB", "64 KiB".
fn size(limit: usize) -> String {
    if limit.is_multiple_of(1024 * 1024) {
        format!("{} MiB", limit / (1024 * 1024))
    } else {
        format!("{} KiB", limit / 1024)
    }
}

/// No answer from `url`, said plainly: which host, and the causes without
/// reqwest's own line (which repeats the URL).
fn unreachable(url: &Url, err: &reqwest::Error) -> ProbeError {
    let host = url.host_str().unwrap_or("the CalDAV server");
    if err.is_timeout() {
        return ProbeError::Unreachable(format!("{host} did not answer in time"));
    }
    let mut causes: Vec<String> = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        let text = cause.to_string();
        // Skip hyper's generic wrapper line ("client error (Connect)") and repeats.
        if !text.starts_with("client error (") && !causes.iter().any(|c| c.contains(&text)) {
            causes.push(text);
        }
        source = cause.source();
    }
    if causes.is_empty() {
        ProbeError::Unreachable(format!("could not reach {host}"))
    } else {
        ProbeError::Unreachable(format!("could not reach {host}: {}", causes.join(": ")))
    }
}
// ---- multistatus ----------------------------------------------------------------------------

/// A parsed multistatus and the URL that gave it (hrefs resolve against it).
struct Listing {
    url: Url,
    resources: Vec<Props>,
}

impl Listing {
    fn first(&self) -> Option<&Props> {
        self.resources.first()
    }
}

/// The properties flowcal reads from one `DAV:response` (hrefs unresolved),
/// taken from propstats with a 2xx status only.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Props {
    href: String,
    /// The response's own status, when it has one instead of propstats.
    status: Option<u16>,
    principal: Option<String>,
    home: Option<String>,
    collection: bool,
    calendar: bool,
    display_name: Option<String>,
    /// `CALDAV:supported-calendar-component-set`, when given.
    components: Option<Vec<String>>,
    etag: Option<String>,
    /// `CALDAV:calendar-data` (a `calendar-query` answer).
    calendar_data: Option<String>,
}

impl Props {
    /// Whether the calendar takes VEVENTs (all components when the server does not say).
    fn takes_events(&self) -> bool {
        self.components.as_ref().is_none_or(|c| c.iter().any(|c| c.eq_ignore_ascii_case("VEVENT")))
    }
}

fn status_code(text: &str) -> Option<u16> {
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Parses a `DAV:multistatus`, matching elements by namespace: one [`Props`]
/// per `DAV:response`. Pure and linear in the text (through flowcal-xml's
/// limits); blocking, so async code calls it off the async workers.
pub fn parse_multistatus(xml: &str) -> Result<Vec<Props>, String> {
    parse_sync(xml).map(|(resources, _)| resources)
}

/// A multistatus answer's resources and its `DAV:sync-token` (RFC 6578),
/// when it has one. Blocking: call it off the async workers.
pub fn parse_sync(xml: &str) -> Result<(Vec<Props>, Option<String>), String> {
    parse_within(xml, MAX_XML)
}

/// The resources of a `calendar-query` answer of up to [`MAX_LISTING`]
/// bytes, with their calendar data. Blocking: call it off the async workers.
pub fn parse_listing(xml: &str) -> Result<Vec<Props>, String> {
    parse_within(xml, MAX_LISTING).map(|(resources, _)| resources)
}

/// A multistatus answer of at most `max_bytes`: its resources and its sync token.
fn parse_within(xml: &str, max_bytes: usize) -> Result<(Vec<Props>, Option<String>), String> {
    let limits = flowcal_xml::Limits::DEFAULT.with_max_bytes(max_bytes);
    let doc = flowcal_xml::parse(xml, &limits).map_err(|e| format!("its answer is not XML that flowcal reads: {e}"))?;
    let root = doc.root_element();
    if !is(root, DAV_NS, "multistatus") {
        return Err("its answer is not a WebDAV multistatus".to_owned());
    }
    let token = children(root, DAV_NS, "sync-token").next().map(text).filter(|t| !t.is_empty());
    let mut out = Vec::new();
    for response in children(root, DAV_NS, "response") {
        let mut props = Props {
            href: children(response, DAV_NS, "href").next().map(text).unwrap_or_default(),
            status: children(response, DAV_NS, "status").next().and_then(|s| status_code(&text(s))),
            ..Props::default()
        };
        for propstat in children(response, DAV_NS, "propstat") {
            let ok = children(propstat, DAV_NS, "status")
                .next()
                .is_none_or(|s| status_code(&text(s)).is_some_and(|c| (200..300).contains(&c)));
            if !ok {
                continue;
            }
            for prop in children(propstat, DAV_NS, "prop").flat_map(|p| p.children().filter(|n| n.is_element())) {
                if is(prop, DAV_NS, "current-user-principal") {
                    props.principal = props.principal.or_else(|| first_href(prop));
                } else if is(prop, CALDAV_NS, "calendar-home-set") {
                    props.home = props.home.or_else(|| first_href(prop));
                } else if is(prop, DAV_NS, "resourcetype") {
                    props.collection |= children(prop, DAV_NS, "collection").next().is_some();
                    props.calendar |= children(prop, CALDAV_NS, "calendar").next().is_some();
                } else if is(prop, DAV_NS, "displayname") {
                    let name = text(prop);
                    if props.display_name.is_none() && !name.is_empty() {
                        props.display_name = Some(name);
                    }
                } else if is(prop, CALDAV_NS, "supported-calendar-component-set") {
                    let comps = children(prop, CALDAV_NS, "comp").filter_map(|c| c.attribute("name"));
                    props.components = Some(comps.map(str::to_owned).collect());
                } else if is(prop, DAV_NS, "getetag") {
                    props.etag = Some(text(prop)).filter(|e| !e.is_empty());
                } else if is(prop, CALDAV_NS, "calendar-data") {
                    props.calendar_data = Some(text(prop));
                }
            }
        }
        out.push(props);
    }
    Ok((out, token))
}

fn is(node: flowcal_xml::roxmltree::Node<'_, '_>, namespace: &str, name: &str) -> bool {
    node.is_element() && node.tag_name().namespace() == Some(namespace) && node.tag_name().name() == name
}

fn children<'a, 'input: 'a>(
    node: flowcal_xml::roxmltree::Node<'a, 'input>,
    namespace: &'a str,
    name: &'a str,
) -> impl Iterator<Item = flowcal_xml::roxmltree::Node<'a, 'input>> + 'a {
    node.children().filter(move |n| is(*n, namespace, name))
}

/// The text inside an element, trimmed.
fn text(node: flowcal_xml::roxmltree::Node<'_, '_>) -> String {
    let all: String = node.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
    all.trim().to_owned()
}

fn first_href(prop: flowcal_xml::roxmltree::Node<'_, '_>) -> Option<String> {
    children(prop, DAV_NS, "href").map(text).find(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{event_key, When, DEFAULT_DURATION_MINUTES};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const RADICALE_HOME: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><response><href>/alice/</href><propstat><prop><resourcetype><principal /><collection /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat><propstat><prop><displayname /><C:supported-calendar-component-set /></prop><status>HTTP/1.1 404 Not Found</status></propstat></response><response><href>/alice/flowcal/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype><displayname>flowcal</displayname><C:supported-calendar-component-set><C:comp name="VEVENT" /></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/alice/tasks/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype><displayname>Tasks</displayname><C:supported-calendar-component-set><C:comp name="VTODO" /></C:supported-calendar-component-set></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/alice/contacts/</href><propstat><prop><resourcetype><collection /><CR:addressbook xmlns:CR="urn:ietf:params:xml:ns:carddav" /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response><response><href>/alice/Caf%C3%A9/</href><propstat><prop><resourcetype><C:calendar /><collection /></resourcetype></prop><status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;

    const XANDIKOS_MISSING: &str = r#"<ns0:multistatus xmlns:ns0="DAV:"><ns0:response><ns0:href>http://127.0.0.1:15233/user/calendars/nocal/</ns0:href><ns0:status>HTTP/1.1 404 Not Found</ns0:status></ns0:response></ns0:multistatus>"#;

    #[test]
    fn parses_listings_by_namespace() {
        let all = parse_multistatus(RADICALE_HOME).unwrap();
        assert_eq!(all.len(), 5);
        assert!(all[0].collection && !all[0].calendar && all[0].components.is_none());
        assert_eq!(all[0].display_name, None, "404 propstats are ignored");
        let flowcal = &all[1];
        assert!(flowcal.calendar && flowcal.takes_events());
        assert_eq!(flowcal.display_name.as_deref(), Some("flowcal"));
        assert!(all[2].calendar && !all[2].takes_events(), "VTODO only");
        assert!(!all[3].calendar, "an address book");
        assert!(all[4].calendar && all[4].takes_events(), "no component set: all components");

        let missing = parse_multistatus(XANDIKOS_MISSING).unwrap();
        assert_eq!(missing[0].status, Some(404));

        let etag = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a.ics</d:href><d:propstat><d:prop>
            <d:getetag>"abc"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
            </d:multistatus>"#;
        assert_eq!(parse_multistatus(etag).unwrap()[0].etag.as_deref(), Some("\"abc\""));
        // Bound to another namespace, "C:calendar" is not CalDAV's.
        let foreign = r#"<D:multistatus xmlns:D="DAV:" xmlns:C="urn:other"><D:response><D:href>/x/</D:href>
            <D:propstat><D:prop><D:resourcetype><C:calendar/><D:collection/></D:resourcetype></D:prop>
            <D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        assert!(!parse_multistatus(foreign).unwrap()[0].calendar);
        assert!(parse_multistatus("<html/>").unwrap_err().contains("multistatus"));
        assert!(parse_multistatus("nope").is_err());
    }

    #[test]
    fn own_calendar_segments() {
        assert_eq!(own_segment("flowcal"), "flowcal");
        assert_eq!(own_segment(" FlowCal "), "flowcal");
        assert_eq!(own_segment(""), "flowcal");
        assert_eq!(own_segment("Deadlines & Leave"), "flowcal-deadlines-leave");
        let a = own_segment("Fristen für Urlaub");
        assert!(a.starts_with("flowcal-fristen-f-r-urlaub-") && a.len() == "flowcal-fristen-f-r-urlaub-".len() + 8);
        assert_ne!(own_segment("日本"), own_segment("中国"));
        assert!(own_segment(&"x".repeat(300)).len() <= 48);
        assert!(is_own_segment("flowcal") && is_own_segment(&own_segment("Team")));
        assert!(!is_own_segment("calendar") && !is_own_segment("flowcalendar"));
    }

    #[test]
    fn event_urls() {
        let key = event_key(1, "task:1:deadline");
        let url = CaldavCalendar::event_url("https://dav.example.org/alice/flowcal/", &key).unwrap();
        assert_eq!(url.as_str(), format!("https://dav.example.org/alice/flowcal/{key}.ics"));
        let url = CaldavCalendar::event_url("https://dav.example.org/alice/flowcal", &key).unwrap();
        assert_eq!(url.as_str(), format!("https://dav.example.org/alice/flowcal/{key}.ics"), "a slash added");
        for bad in ["../x", "a/b", "", "a b", "%2e"] {
            assert!(CaldavCalendar::event_url("https://dav.example.org/c/", bad).is_err(), "{bad:?}");
        }
        for bad in ["no-such-calendar", "ftp://dav.example.org/c/", "/alice/flowcal/"] {
            assert!(matches!(CaldavCalendar::event_url(bad, &key), Err(ConnectorError::Permanent(_))), "{bad}");
        }
        assert_eq!(last_segment(&Url::parse("http://h/alice/Caf%C3%A9/").unwrap()), "Café");
        assert_eq!(percent_decode("a%2"), "a%2");
    }

    #[test]
    fn server_messages_and_escaping() {
        let body = r#"<?xml version="1.0"?><D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
            <C:valid-calendar-data/><D:responsedescription> bad DTSTART </D:responsedescription></D:error>"#;
        assert_eq!(server_message(body), "valid-calendar-data, bad DTSTART");
        assert_eq!(server_message("Precondition\n failed."), "Precondition failed.");
        assert_eq!(server_message("<html><broken"), "");
        assert_eq!(server_message(&"x".repeat(1000)).chars().count(), MAX_MESSAGE + 1);
        assert_eq!(flowcal_xml::escape("A & <B> \"c\" 'd'\u{1}"), "A &amp; &lt;B&gt; &quot;c&quot; &apos;d&apos;");
    }

    #[test]
    fn hostile_xml_is_refused_without_overflowing_the_stack() {
        // 6,000 levels overflowed a tokio worker's stack (2 MiB) and aborted the process.
        let deep = format!("<D:error xmlns:D=\"DAV:\">{}{}</D:error>", "<x>".repeat(6_000), "</x>".repeat(6_000));
        let multistatus =
            format!("<D:multistatus xmlns:D=\"DAV:\">{}{}</D:multistatus>", "<x>".repeat(6_000), "</x>".repeat(6_000));
        let bomb: String = (0..110_000).map(|i| format!(" a{i}=''")).collect();
        let bomb = format!("<D:multistatus xmlns:D=\"DAV:\"{bomb}/>");
        let (said, listing, bombed) = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || (server_message(&deep), parse_multistatus(&multistatus), parse_multistatus(&bomb)))
            .unwrap()
            .join()
            .expect("no stack overflow");
        assert_eq!(
            said,
            "an explanation flowcal does not read (elements are nested deeper than the limit of 256 levels)"
        );
        assert_eq!(
            listing.unwrap_err(),
            "its answer is not XML that flowcal reads: elements are nested deeper than the limit of 256 levels"
        );
        assert_eq!(
            bombed.unwrap_err(),
            "its answer is not XML that flowcal reads: an element has more attributes than the limit of 256"
        );
    }

    // ---- against a scripted server -------------------------------------------------------

    /// A request as the server saw it.
    #[derive(Debug, Clone)]
    struct Seen {
        method: String,
        path: String,
        headers: Vec<(String, String)>,
        body: String,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    type Handler = dyn Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync;

    /// A one-request-per-connection HTTP/1.1 server on 127.0.0.1 that records what it saw.
    struct Server {
        port: u16,
        seen: Arc<Mutex<Vec<Seen>>>,
    }

    impl Server {
        async fn start(
            handler: impl Fn(&Seen) -> (u16, Vec<(&'static str, String)>, String) + Send + Sync + 'static,
        ) -> Server {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let seen = Arc::new(Mutex::new(Vec::new()));
            let handler: Arc<Handler> = Arc::new(handler);
            let log = Arc::clone(&seen);
            tokio::spawn(async move {
                while let Ok((mut stream, _)) = listener.accept().await {
                    let (handler, log) = (Arc::clone(&handler), Arc::clone(&log));
                    tokio::spawn(async move {
                        let Some(req) = read_request(&mut stream).await else { return };
                        log.lock().unwrap().push(req.clone());
                        let (status, headers, body) = handler(&req);
                        let mut out =
                            format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
                        for (name, value) in headers {
                            out.push_str(&format!("{name}: {value}\r\n"));
                        }
                        out.push_str("\r\n");
                        out.push_str(&body);
                        let _ = stream.write_all(out.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
            });
            Server { port, seen }
        }

        fn seen(&self) -> Vec<Seen> {
            self.seen.lock().unwrap().clone()
        }

        /// "METHOD path [condition]" per request.
        fn script(&self) -> Vec<String> {
            self.seen()
                .iter()
                .map(|s| {
                    let cond = s
                        .header("if-match")
                        .map(|m| format!(" If-Match {m}"))
                        .or_else(|| s.header("if-none-match").map(|m| format!(" If-None-Match {m}")))
                        .unwrap_or_default();
                    format!("{} {}{cond}", s.method, s.path)
                })
                .collect()
        }

        fn url(&self, path: &str) -> String {
            format!("http://127.0.0.1:{}{path}", self.port)
        }

        /// The clients for this server (and `more` hosts).
        fn http(&self, more: &[&str]) -> CaldavHttp {
            let mut hosts = vec![format!("127.0.0.1:{}", self.port)];
            hosts.extend(more.iter().map(|h| (*h).to_owned()));
            CaldavHttp::new(HostPolicy::new(&hosts, &[]).unwrap()).unwrap()
        }

        fn connector(&self, path: &str) -> CaldavCalendar {
            let http = self.http(&[]);
            let credential = Credential::Basic { username: "alice".into(), password: "pw".into() };
            CaldavCalendar::new(&http, Url::parse(&self.url(path)).unwrap(), credential).unwrap()
        }
    }

    async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Seen> {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let mut start = lines.next()?.split(' ');
        let (method, path) = (start.next()?.to_owned(), start.next()?.to_owned());
        let headers: Vec<(String, String)> =
            lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = buf[head_end + 4..].to_vec();
        while body.len() < length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        Some(Seen { method, path, headers, body: String::from_utf8_lossy(&body).to_string() })
    }

    type Reply = (u16, Vec<(&'static str, String)>, String);

    fn reply(status: u16) -> Reply {
        (status, Vec::new(), String::new())
    }

    fn multistatus(body: &str) -> Reply {
        (207, vec![("Content-Type", "application/xml; charset=utf-8".into())], body.to_owned())
    }

    fn with_etag(status: u16, etag: &str) -> Reply {
        (status, vec![("ETag", etag.to_owned())], String::new())
    }

    fn entry() -> EventSpec {
        EventSpec {
            key: event_key(1, "task:1:deadline"),
            title: "Deadline".into(),
            description: String::new(),
            url: None,
            when: When::Date("2026-05-04".parse().unwrap()),
            duration_minutes: DEFAULT_DURATION_MINUTES,
            transparent: true,
            reminder_minutes: None,
            sequence: 0,
            stamp: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// Root without a principal; /.well-known/caldav redirects with
    /// `redirect` to /dav/, which names the principal; its home holds two
    /// calendars and a task list.
    fn discovery_server(redirect: u16) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
        move |req| discovery_answer(redirect, req)
    }

    fn discovery_answer(redirect: u16, req: &Seen) -> Reply {
        let expected = "Basic YWxpY2U6cHc="; // alice:pw
        if req.header("authorization") != Some(expected) {
            return (401, vec![("WWW-Authenticate", "Basic realm=\"dav\"".into())], String::new());
        }
        match (req.method.as_str(), req.path.as_str()) {
            ("PROPFIND", "/") => reply(405),
            (_, "/.well-known/caldav") => (redirect, vec![("Location", "/dav/".into())], String::new()),
            ("PROPFIND", "/dav/") => multistatus(
                r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/</d:href><d:propstat><d:prop>
                <d:current-user-principal><d:href>principals/alice/</d:href></d:current-user-principal>
                </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#,
            ),
            ("PROPFIND", "/dav/principals/alice/") => multistatus(
                r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
                <d:href>/dav/principals/alice/</d:href><d:propstat><d:prop>
                <c:calendar-home-set><d:href>/dav/calendars/alice</d:href></c:calendar-home-set>
                </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#,
            ),
            ("PROPFIND", "/dav/calendars/alice/") if req.header("depth") == Some("1") => {
                multistatus(&RADICALE_HOME.replace("/alice/", "/dav/calendars/alice/"))
            }
            _ => reply(404),
        }
    }

    #[tokio::test]
    async fn discovers_the_home_through_well_known_and_lists_event_calendars() {
        // 301, 302, 307, 308 keep the method and body; 303 turns PROPFIND into GET.
        for redirect in [301, 303, 308] {
            let server = Server::start(discovery_server(redirect)).await;
            let c = server.connector("");
            let calendars = c.list_calendars().await.unwrap_or_else(|e| panic!("{e:?}: {:?}", server.script()));
            let home = server.url("/dav/calendars/alice/");
            assert_eq!(c.calendar_home().await.unwrap().as_str(), home);
            assert_eq!(
                calendars,
                vec![
                    CalendarInfo { id: format!("{home}flowcal/"), name: "flowcal".into(), own: true },
                    CalendarInfo { id: format!("{home}Caf%C3%A9/"), name: "Café".into(), own: false },
                ]
            );
            // Asked first without credentials: the server's challenge says Basic.
            let mut expected = vec!["PROPFIND /", "PROPFIND /", "PROPFIND /.well-known/caldav"];
            if redirect == 303 {
                expected.push("GET /dav/");
            }
            expected.extend(["PROPFIND /dav/", "PROPFIND /dav/principals/alice/", "PROPFIND /dav/calendars/alice/"]);
            let asked = server.script();
            assert_eq!(asked, expected, "{redirect}");
            let seen = server.seen();
            assert_eq!(seen[0].header("authorization"), None, "nothing before the server asks");
            assert!(seen[1..].iter().all(|s| s.header("authorization") == Some("Basic YWxpY2U6cHc=")), "{redirect}");
            let propfind = server.seen().into_iter().find(|s| s.path == "/dav/principals/alice/").unwrap();
            assert_eq!(propfind.header("content-type"), Some(XML));
            assert_eq!(propfind.header("depth"), Some("0"));
            assert!(propfind.body.contains("calendar-home-set"));
            // The home is kept.
            c.list_calendars().await.unwrap();
            assert_eq!(server.seen().len(), asked.len() + 1);
        }
    }

    #[tokio::test]
    async fn a_known_home_needs_no_discovery() {
        let server = Server::start(discovery_server(301)).await;
        let home = Url::parse(&server.url("/dav/calendars/alice")).unwrap();
        let c = server.connector("/").with_calendar_home(home).unwrap();
        assert_eq!(c.list_calendars().await.unwrap().len(), 2);
        // Once without credentials (the server's challenge says Basic), once with.
        assert_eq!(server.script(), ["PROPFIND /dav/calendars/alice/", "PROPFIND /dav/calendars/alice/"]);
        let elsewhere = Url::parse("http://localhost/dav/").unwrap();
        let e = server.connector("/").with_calendar_home(elsewhere).unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("has not allowed")), "{e:?}");
    }

    #[tokio::test]
    async fn wrong_credentials_are_unauthorized() {
        let server = Server::start(|_| reply(401)).await;
        let e = server.connector("/").list_calendars().await.unwrap_err();
        assert!(matches!(e, ConnectorError::Unauthorized(_)), "{e:?}");
    }

    #[tokio::test]
    async fn makes_its_own_calendar_once() {
        let made = Arc::new(Mutex::new(false));
        let state = Arc::clone(&made);
        let server = Server::start(move |req| {
            let mut made = state.lock().unwrap();
            match (req.method.as_str(), req.path.as_str()) {
                ("PROPFIND", "/cal/") => multistatus(
                    r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
                    <d:href>/cal/</d:href><d:propstat><d:prop><c:calendar-home-set><d:href>/cal/</d:href>
                    </c:calendar-home-set></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
                    </d:multistatus>"#,
                ),
                ("PROPFIND", "/cal/flowcal-leave-team/") if *made => multistatus(
                    r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
                    <d:href>/cal/flowcal-leave-team/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/>
                    <c:calendar/></d:resourcetype><d:displayname>Leave &amp; team</d:displayname></d:prop>
                    <d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#,
                ),
                ("MKCALENDAR", "/cal/flowcal-leave-team/") if *made => {
                    (403, vec![], r#"<D:error xmlns:D="DAV:"><D:resource-must-be-null/></D:error>"#.into())
                }
                ("MKCALENDAR", "/cal/flowcal-leave-team/") => {
                    *made = true;
                    reply(201)
                }
                _ => reply(404),
            }
        })
        .await;
        let c = server.connector("/cal/");
        let own = CalendarChoice::Own { name: "Leave & team".into() };
        let info = c.ensure_calendar(&own).await.unwrap();
        let id = server.url("/cal/flowcal-leave-team/");
        assert_eq!(info, CalendarInfo { id: id.clone(), name: "Leave & team".into(), own: true });
        assert_eq!(c.ensure_calendar(&own).await.unwrap(), info);
        assert_eq!(c.ensure_calendar(&CalendarChoice::Existing { id: id.clone() }).await.unwrap(), info);
        let mk = server.seen().into_iter().find(|s| s.method == "MKCALENDAR").unwrap();
        assert!(mk.body.contains("<d:displayname>Leave &amp; team</d:displayname>"), "{}", mk.body);
        assert!(mk.body.contains(r#"<c:comp name="VEVENT"/>"#), "{}", mk.body);
        assert_eq!(
            server.script(),
            [
                "PROPFIND /cal/",
                "PROPFIND /cal/flowcal-leave-team/",
                "MKCALENDAR /cal/flowcal-leave-team/",
                "PROPFIND /cal/flowcal-leave-team/",
                "PROPFIND /cal/flowcal-leave-team/",
                "PROPFIND /cal/flowcal-leave-team/",
            ]
        );
        let e = c.ensure_calendar(&CalendarChoice::Existing { id: server.url("/cal/gone/") }).await.unwrap_err();
        assert!(matches!(e, ConnectorError::Gone(_)), "{e:?}");
    }

    /// A calendar at /cal/ holding one resource whose ETag the test controls.
    struct Store {
        etag: Option<String>,
        /// Whether PUT answers carry the ETag.
        put_etag: bool,
        writes: u32,
    }

    fn store_server(store: Arc<Mutex<Store>>) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
        move |req| {
            if req.header("authorization") != Some("Basic YWxpY2U6cHc=") {
                return (401, vec![("WWW-Authenticate", "Basic realm=\"dav\"".into())], String::new());
            }
            let mut s = store.lock().unwrap();
            let is_resource = req.path.starts_with("/cal/") && req.path.ends_with(".ics");
            match req.method.as_str() {
                "PUT" if is_resource => {
                    let ok = match (req.header("if-none-match"), req.header("if-match"), &s.etag) {
                        (Some("*"), _, Some(_)) => false,
                        (_, Some(m), current) => current.as_deref() == Some(m),
                        _ => true,
                    };
                    if !ok {
                        return reply(412);
                    }
                    let status = if s.etag.is_some() { 204 } else { 201 };
                    s.writes += 1;
                    let etag = format!("\"v{}\"", s.writes);
                    s.etag = Some(etag.clone());
                    if s.put_etag {
                        with_etag(status, &etag)
                    } else {
                        reply(status)
                    }
                }
                "GET" if is_resource => match &s.etag {
                    Some(e) => with_etag(200, e),
                    None => reply(404),
                },
                "PROPFIND" if is_resource => match &s.etag {
                    Some(e) => multistatus(&format!(
                        r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>{}</d:href><d:propstat><d:prop>
                        <d:getetag>{e}</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
                        </d:response></d:multistatus>"#,
                        req.path
                    )),
                    None => reply(404),
                },
                "DELETE" if is_resource => match s.etag.take() {
                    Some(_) => reply(204),
                    None => reply(404),
                },
                "PUT" => reply(409),
                _ => reply(404),
            }
        }
    }

    #[tokio::test]
    async fn creates_updates_and_recovers_from_stale_etags() {
        let store = Arc::new(Mutex::new(Store { etag: None, put_etag: true, writes: 0 }));
        let server = Server::start(store_server(Arc::clone(&store))).await;
        let c = server.connector("/cal/");
        let cal = server.url("/cal/");
        let ev = entry();
        let path = format!("/cal/{}.ics", ev.key);

        let r1 = c.upsert_event(&cal, &ev, None).await.unwrap();
        assert_eq!(r1, Remote { id: server.url(&path), etag: Some("\"v1\"".into()) });
        // Sent first without credentials; the server's challenge says Basic.
        assert_eq!(server.seen()[0].header("authorization"), None);
        let put = &server.seen()[1];
        assert_eq!(put.header("content-type"), Some(ICS));
        assert_eq!(put.header("authorization"), Some("Basic YWxpY2U6cHc="));

        // A repeated create: 412, read the ETag, write over it.
        let r2 = c.upsert_event(&cal, &ev, None).await.unwrap();
        assert_eq!(r2.etag.as_deref(), Some("\"v2\""));
        // Changed elsewhere: the stored ETag is stale.
        store.lock().unwrap().etag = Some("\"elsewhere\"".into());
        let r3 = c.upsert_event(&cal, &ev, Some(&r2)).await.unwrap();
        assert_eq!(r3.etag.as_deref(), Some("\"v3\""));
        // Deleted elsewhere: If-Match fails, nothing is there, created again.
        store.lock().unwrap().etag = None;
        let r4 = c.upsert_event(&cal, &ev, Some(&r3)).await.unwrap();
        assert_eq!(r4.etag.as_deref(), Some("\"v4\""));
        // A weak ETag is never used for If-Match.
        let weak = Remote { id: r4.id.clone(), etag: Some("W/\"v4\"".into()) };
        c.upsert_event(&cal, &ev, Some(&weak)).await.unwrap();
        assert_eq!(
            server.script(),
            [
                format!("PUT {path} If-None-Match *"),
                format!("PUT {path} If-None-Match *"),
                format!("PUT {path} If-None-Match *"),
                format!("GET {path}"),
                format!("PUT {path} If-Match \"v1\""),
                format!("PUT {path} If-Match \"v2\""),
                format!("GET {path}"),
                format!("PUT {path} If-Match \"elsewhere\""),
                format!("PUT {path} If-Match \"v3\""),
                format!("GET {path}"),
                format!("PUT {path} If-None-Match *"),
                format!("PUT {path}"),
            ]
        );

        // Delete, delete again.
        c.delete_event(&cal, &ev.key, Some(&r4)).await.unwrap();
        c.delete_event(&cal, &ev.key, Some(&r4)).await.unwrap();
        assert!(server.seen().iter().rev().take(2).all(|s| s.method == "DELETE" && s.header("if-match").is_none()));
        assert_eq!(c.get_event(&cal, &ev.key, None).await.unwrap(), None);

        // The calendar is gone: PUT 409, the collection 404.
        let e = c.upsert_event(&server.url("/gone/"), &ev, None).await.unwrap_err();
        assert!(matches!(e, ConnectorError::Gone(_)), "{e:?}");
    }

    #[tokio::test]
    async fn reads_the_etag_when_put_gives_none() {
        let store = Arc::new(Mutex::new(Store { etag: None, put_etag: false, writes: 0 }));
        let server = Server::start(store_server(Arc::clone(&store))).await;
        let c = server.connector("/cal/");
        let r = c.upsert_event(&server.url("/cal/"), &entry(), None).await.unwrap();
        assert_eq!(r.etag.as_deref(), Some("\"v1\""));
        let script = server.script();
        assert_eq!(script.len(), 3, "{script:?}");
        assert!(script[2].starts_with("PROPFIND /cal/"), "{script:?}");
        assert_eq!(server.seen()[2].header("depth"), Some("0"));
    }

    /// A server that takes Digest only (as SabreDAV's stock backend): it
    /// checks each answer with MD5 and `qop=auth` (RFC 7616 §3.4.1), written
    /// out here apart from flowcal's.
    fn digest_only(req: &Seen) -> Reply {
        use md5::Digest as _;
        let challenge = || {
            let value = "Digest realm=\"SabreDAV\", qop=\"auth\", nonce=\"5f1b\", opaque=\"9c3e\"";
            (401, vec![("WWW-Authenticate", value.to_owned())], String::new())
        };
        let Some(auth) = req.header("authorization").and_then(|a| a.strip_prefix("Digest ")) else {
            return challenge();
        };
        let field = |name: &str| {
            auth.split(", ").find_map(|kv| kv.strip_prefix(&format!("{name}="))).map(|v| v.trim_matches('"').to_owned())
        };
        let h = |s: String| hex::encode(md5::Md5::digest(s.as_bytes()));
        let (Some(uri), Some(nc), Some(cnonce), Some(response)) =
            (field("uri"), field("nc"), field("cnonce"), field("response"))
        else {
            return challenge();
        };
        let ha1 = h("alice:SabreDAV:pw".to_owned());
        let ha2 = h(format!("{}:{uri}", req.method));
        let ok = uri == req.path
            && field("opaque").as_deref() == Some("9c3e")
            && response == h(format!("{ha1}:5f1b:{nc}:{cnonce}:auth:{ha2}"));
        if !ok {
            return challenge();
        }
        match req.method.as_str() {
            "PUT" => with_etag(201, "\"d1\""),
            _ => reply(404),
        }
    }

    #[tokio::test]
    async fn a_digest_only_server_is_answered_with_digest_and_never_sent_basic() {
        let server = Server::start(digest_only).await;
        let c = server.connector("/cal/");
        let cal = server.url("/cal/");
        let r = c.upsert_event(&cal, &entry(), None).await.unwrap();
        assert_eq!(r.etag.as_deref(), Some("\"d1\""));
        // Known now: the next request carries Digest at once, the nonce counted on.
        c.delete_event(&cal, &entry().key, None).await.unwrap();
        let seen = server.seen();
        let auth: Vec<Option<&str>> = seen.iter().map(|s| s.header("authorization")).collect();
        assert_eq!(auth.len(), 3, "{auth:?}");
        assert_eq!(auth[0], None);
        assert!(auth[1].is_some_and(|a| a.starts_with("Digest username=\"alice\"") && a.contains("nc=00000001")));
        assert!(auth[2].is_some_and(|a| a.contains("nc=00000002")), "{auth:?}");
        assert!(!auth.iter().flatten().any(|a| a.starts_with("Basic")), "{auth:?}");
        // A wrong password: refused after one answer, as the credentials' fault.
        let wrong = CaldavCalendar::new(
            &server.http(&[]),
            Url::parse(&cal).unwrap(),
            Credential::Basic { username: "alice".into(), password: "wrong".into() },
        )
        .unwrap();
        let e = wrong.upsert_event(&cal, &entry(), None).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Unauthorized(m) if m.contains("refused the username")), "{e:?}");
        assert_eq!(server.seen().len(), 5, "asked, answered once, refused");
    }

    #[tokio::test]
    async fn a_server_that_never_ends_its_changes_is_read_a_bounded_number_of_pages() {
        // Every answer says it is truncated (RFC 6578 §3.6: 507 on the collection).
        let server = Server::start(|req| match req.method.as_str() {
            "REPORT" => multistatus(
                r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/</d:href>
                <d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>
                <d:sync-token>http://x/sync/1</d:sync-token></d:multistatus>"#,
            ),
            _ => reply(404),
        })
        .await;
        let c = server.connector("/cal/");
        let e = c.changes(&server.url("/cal/"), None).await.unwrap_err();
        assert!(
            matches!(&e, ConnectorError::RetryLater { message, .. } if message.contains("more than 100 pages")),
            "{e:?}"
        );
        assert_eq!(server.seen().len(), MAX_SYNC_PAGES);
    }

    #[tokio::test]
    async fn a_write_refused_because_the_calendar_is_gone_says_gone() {
        // SabreDAV and DAViCal answer 405, Cyrus 403, others 404, RFC 4918 409.
        for status in [403, 404, 405, 409] {
            let server = Server::start(move |req| match req.method.as_str() {
                "PUT" => reply(status),
                _ => reply(404),
            })
            .await;
            let c = server.connector("/cal/");
            let e = c.upsert_event(&server.url("/cal/"), &entry(), None).await.unwrap_err();
            assert!(matches!(&e, ConnectorError::Gone(m) if m.contains("no longer exists")), "{status}: {e:?}");
            assert_eq!(server.script()[1], "PROPFIND /cal/", "{status}: the collection is looked at");
        }
    }

    #[tokio::test]
    async fn keeps_failing_preconditions_for_later() {
        let server = Server::start(|req| match req.method.as_str() {
            "GET" => with_etag(200, &format!("\"{}\"", rand::random::<u32>())),
            _ => reply(412),
        })
        .await;
        let c = server.connector("/cal/");
        let e = c.upsert_event(&server.url("/cal/"), &entry(), None).await.unwrap_err();
        assert!(matches!(e, ConnectorError::RetryLater { .. }), "{e:?}");
        assert_eq!(server.seen().len(), 3, "create, read, one more try");
    }

    #[tokio::test]
    async fn statuses_are_classified() {
        let server = Server::start(|req| match req.path.trim_start_matches("/c/").trim_end_matches(".ics") {
            k if k.starts_with("k429") => (429, vec![("Retry-After", "7".into())], String::new()),
            k if k.starts_with("k503") => (503, vec![("Retry-After", "120".into())], String::new()),
            k if k.starts_with("k500") => reply(500),
            k if k.starts_with("k401") => reply(401),
            k if k.starts_with("k403") => (
                403,
                vec![],
                r#"<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:no-uid-conflict/></D:error>"#
                    .into(),
            ),
            k if k.starts_with("k415") => (415, vec![], "Unsupported media type".into()),
            // The calendar is there (after a 403, flowcal looks).
            "" if req.method == "PROPFIND" => multistatus(
                r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
                <d:href>/c/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/>
                </d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
                </d:multistatus>"#,
            ),
            _ => reply(404),
        })
        .await;
        let c = server.connector("/c/");
        let cal = server.url("/c/");
        let mut ev = entry();
        let mut run = |key: &str| {
            ev.key = key.to_owned();
            let ev = ev.clone();
            let c = &c;
            let cal = cal.clone();
            async move { c.upsert_event(&cal, &ev, None).await.unwrap_err() }
        };
        assert_eq!(
            run("k429").await,
            ConnectorError::RetryLater {
                after: Some(Duration::from_secs(7)),
                message: format!("PUT {}: 429 Too Many Requests", server.url("/c/k429.ics"))
            }
        );
        assert!(matches!(run("k503").await, ConnectorError::RetryLater { after: Some(d), .. } if d.as_secs() == 120));
        assert!(matches!(run("k500").await, ConnectorError::RetryLater { after: None, .. }));
        assert!(matches!(run("k401").await, ConnectorError::Unauthorized(_)));
        match run("k403").await {
            ConnectorError::Permanent(m) => assert!(m.ends_with("403 Forbidden: no-uid-conflict"), "{m}"),
            other => panic!("{other:?}"),
        }
        match run("k415").await {
            ConnectorError::Permanent(m) => assert!(m.contains("Unsupported media type"), "{m}"),
            other => panic!("{other:?}"),
        }
        let e = c.get_event(&cal, "k429", None).await.unwrap_err();
        assert!(matches!(e, ConnectorError::RetryLater { .. }), "{e:?}");
        let e = c.delete_event(&cal, "k403", None).await.unwrap_err();
        assert!(matches!(e, ConnectorError::Permanent(_)), "{e:?}");
    }

    #[tokio::test]
    async fn credentials_stay_with_the_host_entered() {
        let server = Server::start(|req| match req.path.as_str() {
            "/" => multistatus(
                r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href><D:propstat><D:prop>
                <D:current-user-principal><D:href>http://localhost/alice/</D:href></D:current-user-principal>
                </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#,
            ),
            _ => (302, vec![("Location", "http://localhost:1/elsewhere.ics".into())], String::new()),
        })
        .await;
        // Even with the other host allowed, the credentials stay with the one entered.
        let http = server.http(&["localhost"]);
        let credential = Credential::Bearer("token".into());
        let c = CaldavCalendar::new(&http, Url::parse(&server.url("/")).unwrap(), credential).unwrap();
        let e = c.list_calendars().await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("http://localhost/alice/")), "{e:?}");
        assert_eq!(server.seen().len(), 1);
        assert_eq!(server.seen()[0].header("authorization"), Some("Bearer token"));
        // A calendar on another host is refused before anything is sent.
        let e = c.delete_event("http://localhost/cal/", "abc", None).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("only to 127.0.0.1")), "{e:?}");
        // A redirect of a write is not followed further (the guarded client refuses the target here).
        let e = c.delete_event(&server.url("/cal/"), "abc", None).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(_)), "{e:?}");
        assert_eq!(server.seen().len(), 2);
    }

    #[tokio::test]
    async fn the_policy_is_checked_before_connecting() {
        let server = Server::start(|_| reply(500)).await;
        let http = CaldavHttp::new(HostPolicy::new(&["localhost".to_string()], &[]).unwrap()).unwrap();
        let credential = Credential::Bearer("token".into());
        let e = CaldavCalendar::new(&http, Url::parse(&server.url("/")).unwrap(), credential.clone()).unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("127.0.0.1")), "{e:?}");
        // A name that resolves to loopback: the resolver refuses it.
        let by_name = Url::parse(&format!("http://localhost:{}/", server.port)).unwrap();
        let c = CaldavCalendar::new(&http, by_name, credential).unwrap();
        let e = c.list_calendars().await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.starts_with("localhost resolves to")), "{e:?}");
        assert!(server.seen().is_empty());
    }

    // ---- checking an account when it is connected ------------------------------------------

    const USER: &str = "alice";
    const PASSWORD: &str = "app-pass-7x";

    const RADICALE_ROOT: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:response>
    <D:href>/</D:href>
    <D:propstat>
      <D:prop>
        <D:current-user-principal><D:href>/alice/</D:href></D:current-user-principal>
      </D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
    <D:propstat>
      <D:prop><D:displayname /><C:calendar-home-set /></D:prop>
      <D:status>HTTP/1.1 404 Not Found</D:status>
    </D:propstat>
  </D:response>
</D:multistatus>"#;

    const RADICALE_PRINCIPAL: &str = r#"<?xml version='1.0' encoding='utf-8'?>
<multistatus xmlns="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <response>
    <href>/alice/</href>
    <propstat>
      <prop>
        <C:calendar-home-set><href>/alice/</href></C:calendar-home-set>
        <displayname>Alice &amp; Co</displayname>
      </prop>
      <status>HTTP/1.1 200 OK</status>
    </propstat>
  </response>
</multistatus>"#;

    #[test]
    fn parses_discovery_properties_by_namespace() {
        let root = &parse_multistatus(RADICALE_ROOT).unwrap()[0];
        assert_eq!((root.principal.as_deref(), root.home.as_deref()), (Some("/alice/"), None));
        assert_eq!(root.display_name, None, "404 propstats are ignored");
        let principal = &parse_multistatus(RADICALE_PRINCIPAL).unwrap()[0];
        assert_eq!(principal.home.as_deref(), Some("/alice/"));
        assert_eq!(principal.display_name.as_deref(), Some("Alice & Co"));
        assert_eq!(principal.principal, None);

        // Unusual prefixes, an absolute href with spaces, several hrefs: the first.
        let xml = r#"<x:multistatus xmlns:x="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <x:response><x:href>https://dav.example.org/p/alice/</x:href>
    <x:propstat><x:prop>
      <cal:calendar-home-set>
        <x:href> https://dav.example.org/calendars/alice/ </x:href>
        <x:href>/other/</x:href>
      </cal:calendar-home-set>
    </x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat>
  </x:response></x:multistatus>"#;
        let props = &parse_multistatus(xml).unwrap()[0];
        assert_eq!(props.home.as_deref(), Some("https://dav.example.org/calendars/alice/"));
        // "C:" bound to a foreign namespace is not CalDAV; "D:" bound to something else is not DAV.
        let xml = r#"<D:multistatus xmlns:D="DAV:" xmlns:C="http://example.com/not-caldav">
  <D:response><D:href>/</D:href><D:propstat><D:prop>
    <C:calendar-home-set><D:href>/wrong/</D:href></C:calendar-home-set>
  </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        assert_eq!(parse_multistatus(xml).unwrap()[0].home, None);
        let xml = r#"<D:multistatus xmlns:D="urn:other"><D:response/></D:multistatus>"#;
        assert!(parse_multistatus(xml).is_err());

        // A principal in a failed propstat, a blank display name, an unauthenticated principal.
        let xml = r#"<multistatus xmlns="DAV:"><response><href>/</href>
  <propstat><prop><current-user-principal><href>/nobody/</href></current-user-principal></prop>
    <status>HTTP/1.1 404 Not Found</status></propstat>
  <propstat><prop><displayname>  </displayname></prop><status>HTTP/1.1 200 OK</status></propstat>
</response></multistatus>"#;
        let props = &parse_multistatus(xml).unwrap()[0];
        assert_eq!((props.principal.as_deref(), props.display_name.as_deref()), (None, None));
        let xml = r#"<multistatus xmlns="DAV:"><response><href>/</href>
  <propstat><prop><current-user-principal><unauthenticated/></current-user-principal></prop>
    <status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        assert_eq!(parse_multistatus(xml).unwrap()[0].principal, None);
        assert!(parse_multistatus("not xml").unwrap_err().contains("not XML that flowcal reads: not well-formed XML"));
    }

    #[test]
    fn resolves_relative_and_absolute_hrefs_on_the_host_entered() {
        let http = CaldavHttp::new(HostPolicy::new(&["dav.example.org".into(), "other.example".into()], &[]).unwrap())
            .unwrap();
        let base = Url::parse("https://dav.example.org/dav/").unwrap();
        let c = CaldavCalendar::new(&http, base.clone(), Credential::Bearer("t".into())).unwrap();
        assert_eq!(c.resolve(&base, "/alice/").unwrap().as_str(), "https://dav.example.org/alice/");
        assert_eq!(c.resolve(&base, "alice/").unwrap().as_str(), "https://dav.example.org/dav/alice/");
        assert_eq!(c.resolve(&base, "https://dav.example.org/x").unwrap().as_str(), "https://dav.example.org/x");
        assert!(matches!(c.resolve(&base, "https://other.example/x/"), Err(DavError::Elsewhere { .. })));
        assert!(matches!(c.resolve(&base, "http://dav.example.org/x/"), Err(DavError::Unencrypted(_))));
        assert!(matches!(c.resolve(&base, "http://[::1"), Err(DavError::BadHref { .. })));
    }

    fn authorized(req: &Seen) -> bool {
        use base64::Engine as _;
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
        req.header("authorization") == Some(expected.as_str())
    }

    /// A Radicale-like server: principal at /alice/, home at /alice/.
    fn radicale(req: &Seen) -> Reply {
        if !authorized(req) {
            return (401, vec![("WWW-Authenticate", "Basic realm=\"test\"".into())], String::new());
        }
        if req.method != "PROPFIND" || req.header("depth") != Some("0") || req.header("content-type") != Some(XML) {
            return reply(400);
        }
        match req.path.as_str() {
            "/" if req.body.contains("current-user-principal") => multistatus(RADICALE_ROOT),
            "/alice/" if req.body.contains("calendar-home-set") => multistatus(RADICALE_PRINCIPAL),
            _ => reply(404),
        }
    }

    async fn run_probe(server: &Server, path: &str, password: &str) -> Result<CaldavAccount, ProbeError> {
        let url = Url::parse(&server.url(path)).unwrap();
        probe(&server.http(&[]), &url, USER, password).await
    }

    #[tokio::test]
    async fn probes_radicale_like_server() {
        let server = Server::start(radicale).await;
        let http = server.http(&[]);
        let at = |path: &str| Url::parse(&server.url(path)).unwrap();
        let account = probe(&http, &at("/"), USER, PASSWORD).await.unwrap();
        assert_eq!(account.principal.as_str(), server.url("/alice/"));
        assert_eq!(account.calendar_home.as_str(), server.url("/alice/"));
        assert_eq!(account.display_name.as_deref(), Some("Alice & Co"));
        // The first request without credentials: the server's challenge says Basic.
        assert_eq!(server.script(), ["PROPFIND /", "PROPFIND /", "PROPFIND /alice/"]);
        assert_eq!(server.seen()[0].header("authorization"), None);
        // Entered at the principal, which names its home itself: one request
        // (the server's scheme is known now).
        let account = probe(&http, &at("/alice/"), USER, PASSWORD).await.unwrap();
        assert_eq!(account.principal.as_str(), server.url("/alice/"));
        assert_eq!(account.calendar_home.as_str(), server.url("/alice/"));
        assert_eq!(server.seen().len(), 4);
    }

    #[tokio::test]
    async fn wrong_password_is_unauthorized() {
        let server = Server::start(radicale).await;
        let err = run_probe(&server, "/", "wrong").await.unwrap_err();
        assert!(matches!(err, ProbeError::Unauthorized), "{err:?}");
        assert_eq!(err.to_string(), "the CalDAV server refused the username or app password");
    }

    #[tokio::test]
    async fn the_probe_checks_the_policy_before_connecting() {
        let server = Server::start(radicale).await;
        let http = CaldavHttp::new(HostPolicy::new(&["localhost".to_string()], &[]).unwrap()).unwrap();
        let url = Url::parse(&server.url("/")).unwrap();
        let err = probe(&http, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Refused(OutboundError::ForbiddenAddress { .. })), "{err:?}");

        // A name that resolves to a loopback address: refused by the resolver.
        let url = Url::parse(&format!("http://localhost:{}/", server.port)).unwrap();
        let err = probe(&http, &url, USER, PASSWORD).await.unwrap_err();
        match &err {
            ProbeError::Refused(OutboundError::ForbiddenAddress { host, .. }) => assert_eq!(host, "localhost"),
            other => panic!("expected the resolver refusal, got {other:?}"),
        }
        assert!(err.to_string().starts_with("localhost resolves to "), "{err}");
        assert!(server.seen().is_empty());
    }

    #[tokio::test]
    async fn the_probe_uses_well_known_when_the_root_has_no_principal() {
        for redirect in [301, 303, 308] {
            let server = Server::start(discovery_server(redirect)).await;
            let url = Url::parse(&server.url("")).unwrap();
            let account = probe(&server.http(&[]), &url, "alice", "pw").await.unwrap();
            assert_eq!(account.principal.path(), "/dav/principals/alice/");
            assert_eq!(account.calendar_home.path(), "/dav/calendars/alice", "as named: {redirect}");
            assert_eq!(account.display_name, None);
        }
    }

    #[tokio::test]
    async fn no_principal_below_root_is_not_caldav() {
        let server = Server::start(|req| {
            if req.path == "/dav/" {
                multistatus(r#"<multistatus xmlns="DAV:"><response><href>/dav/</href></response></multistatus>"#)
            } else {
                reply(404)
            }
        })
        .await;
        let err = run_probe(&server, "/dav/", PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::NotCalDav(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "{} does not look like a CalDAV server: its answer names no current-user-principal",
                server.url("/dav/")
            )
        );
        assert_eq!(server.seen().len(), 1, "no well-known lookup below the root");
    }

    #[tokio::test]
    async fn a_collection_is_a_home_for_a_connector_but_not_for_the_probe() {
        let collection = r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/files/</d:href><d:propstat><d:prop>
            <d:resourcetype><d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status>
            </d:propstat></d:response></d:multistatus>"#;
        let server = Server::start(move |req| match req.path.as_str() {
            "/" | "/files/" => multistatus(collection),
            _ => reply(404),
        })
        .await;
        let err = run_probe(&server, "/", PASSWORD).await.unwrap_err();
        assert!(
            err.to_string().ends_with("neither it nor /.well-known/caldav names a current-user-principal; enter the URL of your CalDAV principal or calendars instead"),
            "{err}"
        );
        assert_eq!(server.script(), ["PROPFIND /", "PROPFIND /.well-known/caldav"]);
        let home = server.connector("/files/").calendar_home().await.unwrap().clone();
        assert_eq!(home.as_str(), server.url("/files/"));
    }

    #[tokio::test]
    async fn html_root_is_not_caldav() {
        let server = Server::start(|_| (200, vec![("Content-Type", "text/html".into())], "<html></html>".into())).await;
        let err = run_probe(&server, "/", PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::NotCalDav(_)), "{err:?}");
        assert!(err.to_string().ends_with("it answered 200 OK instead of a WebDAV multistatus"), "{err}");
    }

    #[tokio::test]
    async fn missing_home_is_not_caldav() {
        let server = Server::start(|req| match req.path.as_str() {
            "/" => multistatus(RADICALE_ROOT),
            _ => multistatus(r#"<multistatus xmlns="DAV:"><response><href>/alice/</href></response></multistatus>"#),
        })
        .await;
        let err = run_probe(&server, "/", PASSWORD).await.unwrap_err();
        assert!(err.to_string().contains("has no calendar-home-set"), "{err}");
        let e = server.connector("/").calendar_home().await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("has no calendar-home-set")), "{e:?}");
    }

    #[tokio::test]
    async fn the_probe_maps_statuses_to_plain_reasons() {
        let server = Server::start(|req| match req.path.as_str() {
            "/forbidden/" => reply(403),
            "/broken/" => reply(500),
            "/teapot/" => reply(418),
            "/" => multistatus(
                r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href><D:propstat><D:prop>
                <D:current-user-principal><D:href>/gone/</D:href></D:current-user-principal>
                </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#,
            ),
            _ => reply(404),
        })
        .await;
        assert!(matches!(run_probe(&server, "/forbidden/", PASSWORD).await, Err(ProbeError::Forbidden)));
        match run_probe(&server, "/broken/", PASSWORD).await {
            Err(e @ ProbeError::Server(_)) => {
                assert!(e.to_string().ends_with("(500 Internal Server Error); try again later"), "{e}")
            }
            other => panic!("expected Server, got {other:?}"),
        }
        match run_probe(&server, "/teapot/", PASSWORD).await {
            Err(e @ ProbeError::Server(_)) => {
                assert!(e.to_string().starts_with("the CalDAV server answered 418"), "{e}")
            }
            other => panic!("expected Server, got {other:?}"),
        }
        match run_probe(&server, "/missing/", PASSWORD).await {
            Err(ProbeError::NotFound(url)) => assert!(url.ends_with("/missing/"), "{url}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
        // The principal named is not there.
        match run_probe(&server, "/", PASSWORD).await {
            Err(ProbeError::NotFound(url)) => assert!(url.ends_with("/gone/"), "{url}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn the_probe_sends_the_password_only_to_the_host_entered() {
        let server = Server::start(|req| match req.path.as_str() {
            "/" => multistatus(
                r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href><D:propstat><D:prop>
                <D:current-user-principal><D:href>http://localhost/alice/</D:href></D:current-user-principal>
                </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#,
            ),
            _ => multistatus(RADICALE_PRINCIPAL),
        })
        .await;
        // Even when the policy allows the other host, the password stays with the host entered.
        let err = probe(&server.http(&["localhost"]), &Url::parse(&server.url("/")).unwrap(), USER, PASSWORD)
            .await
            .unwrap_err();
        assert!(matches!(err, ProbeError::Server(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the CalDAV server sent flowcal on to http://localhost/alice/; flowcal sends the app password only to \
             the host you entered, so enter http://localhost/alice/ as the CalDAV URL instead"
        );
        assert_eq!(server.seen().len(), 1);
    }

    #[tokio::test]
    async fn the_whole_probe_has_a_time_budget() {
        // Each answer comes just inside the per-request timeout; together they would take minutes.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_secs(600)).await;
                    drop(stream);
                });
            }
        });
        let http = CaldavHttp::new(HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = probe_within(Duration::from_millis(300), &http, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Unreachable(_)), "{err:?}");
        assert_eq!(err.to_string(), "127.0.0.1 did not finish answering within 0.3 seconds; try again later");
    }

    #[tokio::test]
    async fn unreachable_server_message_has_no_password() {
        // Bind then drop a listener: nothing listens on the port any more.
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let http = CaldavHttp::new(HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = probe(&http, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Unreachable(_)), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("could not reach 127.0.0.1"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }

    #[tokio::test]
    async fn a_large_answer_is_refused_with_the_limit_of_its_reader() {
        let big = format!(
            r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/a/</d:href><d:propstat><d:prop><d:resourcetype>
            <d:collection/></d:resourcetype></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
            {}</d:multistatus>"#,
            " ".repeat(2 * 1024 * 1024)
        );
        let server = Server::start(move |_| multistatus(&big)).await;
        let err = run_probe(&server, "/a/", PASSWORD).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{} does not look like a CalDAV server: its answer to PROPFIND is larger than 1 MiB",
                server.url("/a/")
            )
        );
        // A connector reads up to 4 MiB (a home listing can be long).
        let c = server.connector("/a/");
        assert_eq!(c.calendar_home().await.unwrap().as_str(), server.url("/a/"));
    }

    // ---- flowcal's entries, whatever their names -------------------------------------------

    /// A `calendar-query` answer's response for `path` holding a VEVENT with `uid_lines`.
    fn listed(path: &str, etag: &str, uid_lines: &str) -> String {
        format!(
            "<d:response><d:href>{path}</d:href><d:propstat><d:prop><d:getetag>{etag}</d:getetag>\
             <c:calendar-data>BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n{uid_lines}END:VEVENT\r\n\
             END:VCALENDAR\r\n</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>\
             </d:response>"
        )
    }

    #[tokio::test]
    async fn flowcal_entries_are_listed_by_uid_whatever_their_names() {
        let (k1, k2) = (event_key(1, "task:1:deadline"), event_key(1, "task:2:deadline"));
        let (a, b) = (k1.clone(), k2.clone());
        let server = Server::start(move |req| {
            if req.method != "REPORT" {
                return reply(405);
            }
            let (a1, a2) = a.split_at(10);
            let responses = [
                listed(&format!("/cal/{a}.ics"), "\"1\"", &format!("UID:{a}@flowcal\r\n")),
                // A copy under another name, its UID folded.
                listed("/cal/copy%20of%20it.ics", "\"2\"", &format!("UID:{a1}\r\n {a2}@flowcal\r\n")),
                // An alarm's UID first: the event's counts.
                listed(
                    &format!("/cal/{b}.ics"),
                    "\"3\"",
                    &format!("BEGIN:VALARM\r\nUID:alarm@flowcal\r\nEND:VALARM\r\nUID;X-P=\"a:b\":{b}@flowcal\r\n"),
                ),
                // Not flowcal's: another UID, a UID without a key, below another collection.
                listed("/cal/theirs.ics", "\"4\"", "UID:theirs@example.org\r\n"),
                listed("/cal/nokey.ics", "\"5\"", "UID:nokey@flowcal\r\n"),
                listed(&format!("/cal/sub/{b}.ics"), "\"6\"", &format!("UID:{b}@flowcal\r\n")),
                "<d:response><d:href>/cal/gone.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>"
                    .to_owned(),
            ];
            multistatus(&format!(
                r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">{}</d:multistatus>"#,
                responses.join("")
            ))
        })
        .await;
        let c = server.connector("/cal/");
        let got = c.flowcal_entries(&server.url("/cal/")).await.unwrap();
        let want = vec![
            ListedEntry {
                key: k1.clone(),
                url: server.url(&format!("/cal/{k1}.ics")),
                etag: Some("\"1\"".into()),
                at_key: true,
            },
            ListedEntry {
                key: k1.clone(),
                url: server.url("/cal/copy%20of%20it.ics"),
                etag: Some("\"2\"".into()),
                at_key: false,
            },
            ListedEntry {
                key: k2.clone(),
                url: server.url(&format!("/cal/{k2}.ics")),
                etag: Some("\"3\"".into()),
                at_key: true,
            },
        ];
        assert_eq!(got, want);
        let seen = server.seen();
        assert_eq!(server.script(), ["REPORT /cal/"]);
        assert_eq!(seen[0].header("depth"), Some("1"));
        assert!(seen[0].body.contains("calendar-query") && seen[0].body.contains(">@flowcal<"), "{}", seen[0].body);
    }

    #[tokio::test]
    async fn a_listing_the_server_cut_short_is_refused() {
        let server = Server::start(|_| {
            multistatus(
                r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/cal/</d:href>
                <d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response></d:multistatus>"#,
            )
        })
        .await;
        let e = server.connector("/cal/").flowcal_entries(&server.url("/cal/")).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("only a part")), "{e:?}");
        let server = Server::start(|_| reply(404)).await;
        let e = server.connector("/cal/").flowcal_entries(&server.url("/cal/")).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::Gone(_)), "{e:?}");
    }

    #[tokio::test]
    async fn a_copy_is_deleted_by_its_url_while_it_is_as_listed() {
        let server = Server::start(|req| match (req.method.as_str(), req.header("if-match")) {
            ("DELETE", Some("\"new\"")) => reply(204),
            ("DELETE", _) => reply(412),
            _ => reply(405),
        })
        .await;
        let c = server.connector("/cal/");
        let cal = server.url("/cal/");
        c.delete_resource(&cal, &server.url("/cal/copy.ics"), Some("\"new\"")).await.unwrap();
        let e = c.delete_resource(&cal, &server.url("/cal/copy.ics"), Some("\"old\"")).await.unwrap_err();
        assert!(matches!(&e, ConnectorError::RetryLater { message, .. } if message.contains("changed")), "{e:?}");
        // Nothing outside the calendar, nor the calendar itself.
        for elsewhere in [server.url("/other/copy.ics"), server.url("/cal/sub/copy.ics"), cal.clone()] {
            let e = c.delete_resource(&cal, &elsewhere, None).await.unwrap_err();
            assert!(matches!(&e, ConnectorError::Permanent(m) if m.contains("is not an entry")), "{e:?}");
        }
        assert_eq!(server.script(), ["DELETE /cal/copy.ics If-Match \"new\"", "DELETE /cal/copy.ics If-Match \"old\""]);
    }

    #[test]
    fn the_uid_of_the_first_event_is_read() {
        let k = event_key(1, "task:1:deadline");
        assert_eq!(
            first_uid(&format!("BEGIN:VEVENT\r\nuid:{k}@flowcal\r\nEND:VEVENT\r\n")),
            Some(format!("{k}@flowcal"))
        );
        assert_eq!(flowcal_key(&format!("{k}@flowcal")), Some(k.clone()));
        assert_eq!(flowcal_key(&format!("{k}@flowcal.example")), None);
        assert_eq!(flowcal_key("task@flowcal"), None);
        // A UID outside an event, or none: none.
        assert_eq!(first_uid("BEGIN:VTODO\r\nUID:x\r\nEND:VTODO\r\n"), None);
        assert_eq!(first_uid("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), None);
        assert_eq!(split_content_line("UID;X=\"a:b\":v:w"), Some(("UID;X=\"a:b\"", "v:w")));
    }
}
