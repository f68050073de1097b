//! Checking a CalDAV account at connect time (Basic auth with an app password).
//!
//! [`probe`] finds the user's principal (`DAV:current-user-principal`, with
//! the RFC 6764 `/.well-known/caldav` fallback when the user entered only a
//! server) and the principal's calendar home (`CALDAV:calendar-home-set`).
//!
//! The app password goes only to the host the user entered: reqwest drops the
//! `Authorization` header on redirects to another host, and the probe refuses
//! to follow hrefs or redirects to another host (the error tells the user
//! which URL to enter instead) or from https down to plain http.

use reqwest::{Method, Response, StatusCode, Url};

use crate::outbound::{find_outbound_error, read_capped, BodyError, HostPolicy, OutboundError};

const DAV_NS: &str = "DAV:";
const CALDAV_NS: &str = "urn:ietf:params:xml:ns:caldav";
/// Largest PROPFIND answer read (a Depth: 0 answer is a few kilobytes).
const MAX_BODY: usize = 1024 * 1024;

const PRINCIPAL_REQUEST: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:">
  <d:prop>
    <d:current-user-principal/>
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

/// What the probe found out about a CalDAV account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaldavAccount {
    /// The user's principal URL (`DAV:current-user-principal`).
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

/// Checks a CalDAV account and finds its principal and calendar home.
///
/// PROPFIND (Depth: 0) on `url` for `DAV:current-user-principal` (and
/// `DAV:displayname`); when `url`'s path is empty or `/` and the answer names
/// no principal, `/.well-known/caldav` is tried (RFC 6764, redirects
/// followed). Then PROPFIND (Depth: 0) on the principal for
/// `CALDAV:calendar-home-set`. Relative hrefs are resolved against the URL
/// that answered. Every request carries Basic auth; every URL goes through
/// `policy` (`client` should come from [`crate::outbound::guarded_client`]
/// with the same policy, which also checks redirects and resolved addresses).
/// The whole probe takes at most [`PROBE_BUDGET`].
pub async fn probe(
    client: &reqwest::Client,
    policy: &HostPolicy,
    url: &Url,
    username: &str,
    password: &str,
) -> Result<CaldavAccount, ProbeError> {
    probe_within(PROBE_BUDGET, client, policy, url, username, password).await
}

/// How long a whole probe may take: each request has its own timeout, but a
/// server can chain several slow answers.
pub const PROBE_BUDGET: std::time::Duration = std::time::Duration::from_secs(60);

/// [`probe`] with another time budget.
pub async fn probe_within(
    budget: std::time::Duration,
    client: &reqwest::Client,
    policy: &HostPolicy,
    url: &Url,
    username: &str,
    password: &str,
) -> Result<CaldavAccount, ProbeError> {
    tokio::time::timeout(budget, probe_unbounded(client, policy, url, username, password)).await.unwrap_or_else(|_| {
        Err(ProbeError::Unreachable(format!(
            "{} did not finish answering within {} seconds; try again later",
            url.host_str().unwrap_or("the CalDAV server"),
            budget.as_secs_f32()
        )))
    })
}

async fn probe_unbounded(
    client: &reqwest::Client,
    policy: &HostPolicy,
    url: &Url,
    username: &str,
    password: &str,
) -> Result<CaldavAccount, ProbeError> {
    policy.check_url(url).map_err(ProbeError::Refused)?;
    let session = Session { client, policy, entered: url, username, password };

    let principal = match session.propfind(url, PRINCIPAL_REQUEST).await {
        Ok(answer) if answer.props.principal.is_some() => answer.resolve(answer.props.principal.as_deref())?,
        outcome
            if is_server_root(url)
                && matches!(outcome, Ok(_) | Err(ProbeError::NotFound(_) | ProbeError::NotCalDav(_))) =>
        {
            let well_known = url.join("/.well-known/caldav").map_err(|e| ProbeError::NotCalDav(e.to_string()))?;
            tracing::debug!(url = %well_known, "caldav: no principal at the server root, trying /.well-known/caldav");
            match session.propfind(&well_known, PRINCIPAL_REQUEST).await {
                Ok(answer) if answer.props.principal.is_some() => answer.resolve(answer.props.principal.as_deref())?,
                Ok(_) | Err(ProbeError::NotFound(_) | ProbeError::NotCalDav(_)) => {
                    return Err(match outcome {
                        Ok(_) => not_caldav(
                            url,
                            "neither it nor /.well-known/caldav names a current-user-principal; \
                             enter the URL of your CalDAV principal or calendars instead",
                        ),
                        Err(e) => e,
                    })
                }
                Err(e) => return Err(e),
            }
        }
        Ok(_) => return Err(not_caldav(url, "its answer names no current-user-principal")),
        Err(e) => return Err(e),
    };

    let answer = session.propfind(&principal, HOME_REQUEST).await?;
    let Some(home_href) = answer.props.calendar_home.as_deref() else {
        return Err(not_caldav(
            url,
            &format!("the principal {principal} has no calendar-home-set (is this a WebDAV server without CalDAV?)"),
        ));
    };
    let calendar_home = answer.resolve(Some(home_href))?;
    session.check_target(&calendar_home)?;
    Ok(CaldavAccount { principal, calendar_home, display_name: answer.props.display_name })
}

fn is_server_root(url: &Url) -> bool {
    matches!(url.path(), "" | "/")
}

fn not_caldav(url: &Url, why: &str) -> ProbeError {
    ProbeError::NotCalDav(format!("{url} does not look like a CalDAV server: {why}"))
}

/// The fixed parts of one probe.
struct Session<'a> {
    client: &'a reqwest::Client,
    policy: &'a HostPolicy,
    /// The URL the user entered: credentials go only to its host.
    entered: &'a Url,
    username: &'a str,
    password: &'a str,
}

/// A parsed 207 answer and the URL that gave it (after redirects).
struct Answer {
    url: Url,
    props: Props,
}

impl Answer {
    fn resolve(&self, href: Option<&str>) -> Result<Url, ProbeError> {
        let href = href.unwrap_or_default();
        self.url
            .join(href)
            .map_err(|_| not_caldav(&self.url, &format!("it names {href:?}, which is not a valid URL or path")))
    }
}

impl Session<'_> {
    /// Whether the password may be sent to `url`: allowed by the policy, on
    /// the host the user entered, not downgraded from https to http.
    fn check_target(&self, url: &Url) -> Result<(), ProbeError> {
        self.policy.check_url(url).map_err(ProbeError::Refused)?;
        if !crate::outbound::same_site(self.entered, url) {
            return Err(ProbeError::Server(format!(
                "the CalDAV server sent flowcal on to {url}; flowcal sends the app password only to the host \
                 you entered, so enter {url} as the CalDAV URL instead"
            )));
        }
        if self.entered.scheme() == "https" && url.scheme() != "https" {
            return Err(ProbeError::Server(format!(
                "the CalDAV server sent flowcal on to the unencrypted URL {url}; flowcal does not send the app \
                 password over plain http"
            )));
        }
        Ok(())
    }

    /// PROPFIND `url` (Depth: 0) with `body`; a 207 answer parsed, any other
    /// status turned into the matching error.
    async fn propfind(&self, url: &Url, body: &'static str) -> Result<Answer, ProbeError> {
        self.check_target(url)?;
        let mut response = self.send(url, body).await?;
        // A 303 redirect turns PROPFIND into GET: ask the new URL again.
        let status = response.status();
        let retry = !matches!(status, StatusCode::MULTI_STATUS | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN);
        if response.url() != url && retry {
            let moved = response.url().clone();
            self.check_target(&moved)?;
            response = self.send(&moved, body).await?;
        }
        let answered = response.url().clone();
        self.check_target(&answered)?;
        let status = response.status();
        match status.as_u16() {
            207 => {}
            401 => return Err(ProbeError::Unauthorized),
            403 => return Err(ProbeError::Forbidden),
            404 => return Err(ProbeError::NotFound(answered.to_string())),
            405 | 501 => return Err(not_caldav(&answered, &format!("it does not support PROPFIND ({status})"))),
            200..=299 => {
                return Err(not_caldav(&answered, &format!("it answered {status} instead of a WebDAV multistatus")))
            }
            500..=599 => {
                return Err(ProbeError::Server(format!(
                    "the CalDAV server failed to answer for {answered} ({status}); try again later"
                )))
            }
            _ => return Err(ProbeError::Server(format!("the CalDAV server answered {status} for {answered}"))),
        }
        let text = read_limited(response, &answered).await?;
        // Off the async workers: a hostile answer costs a blocking thread, never the server.
        let props = flowcal_xml::off_workers(flowcal_xml::PARSE_BUDGET, move || parse_multistatus(&text))
            .await
            .map_err(|e| ProbeError::Server(format!("the answer of {answered} could not be read: {e}")))?
            .map_err(|why| not_caldav(&answered, &why))?;
        Ok(Answer { url: answered, props })
    }

    async fn send(&self, url: &Url, body: &'static str) -> Result<Response, ProbeError> {
        let propfind = Method::from_bytes(b"PROPFIND").map_err(|e| ProbeError::Server(e.to_string()))?;
        self.client
            .request(propfind, url.clone())
            .basic_auth(self.username, Some(self.password))
            .header("Depth", "0")
            .header(reqwest::header::CONTENT_TYPE, "application/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|e| request_error(url, &e))
    }
}

/// Turns a transport error into a [`ProbeError`]; the policy's refusals
/// (resolver, redirects) become [`ProbeError::Refused`].
fn request_error(url: &Url, err: &reqwest::Error) -> ProbeError {
    if let Some(refusal) = find_outbound_error(err) {
        return ProbeError::Refused(refusal.clone());
    }
    let host = url.host_str().unwrap_or("the CalDAV server");
    if err.is_redirect() {
        return ProbeError::Server(format!("{url} redirected too many times"));
    }
    if err.is_timeout() {
        return ProbeError::Unreachable(format!("{host} did not answer in time"));
    }
    // The causes, without reqwest's own line (which repeats the URL).
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

async fn read_limited(mut response: Response, url: &Url) -> Result<String, ProbeError> {
    let bytes = read_capped(&mut response, MAX_BODY).await.map_err(|e| match e {
        BodyError::TooLarge { .. } => not_caldav(url, "its answer to PROPFIND is larger than 1 MiB"),
        BodyError::Transport(e) => request_error(url, &e),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| not_caldav(url, "its answer is not UTF-8 text"))?;
    Ok(text.trim_start_matches('\u{feff}').to_string())
}

/// The properties the probe looks for, as found in a multistatus answer
/// (hrefs not yet resolved).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Props {
    principal: Option<String>,
    calendar_home: Option<String>,
    display_name: Option<String>,
}

/// Parses a `DAV:multistatus` document, matching elements by namespace, and
/// takes the first value of each property from propstats with a 2xx status.
fn parse_multistatus(xml: &str) -> Result<Props, String> {
    let limits = flowcal_xml::Limits::DEFAULT.with_max_bytes(MAX_BODY);
    let doc = flowcal_xml::parse(xml, &limits).map_err(|e| format!("its answer is not XML that flowcal reads: {e}"))?;
    let root = doc.root_element();
    if !is(root, DAV_NS, "multistatus") {
        return Err("its answer is not a WebDAV multistatus".to_string());
    }
    let mut props = Props::default();
    let propstats = children(root, DAV_NS, "response").flat_map(|r| children(r, DAV_NS, "propstat"));
    for propstat in propstats {
        let ok = children(propstat, DAV_NS, "status").next().is_none_or(|s| {
            s.text().unwrap_or_default().split_whitespace().nth(1).is_some_and(|code| code.starts_with('2'))
        });
        if !ok {
            continue;
        }
        for prop in children(propstat, DAV_NS, "prop").flat_map(|p| p.children().filter(|n| n.is_element())) {
            if is(prop, DAV_NS, "current-user-principal") {
                props.principal = props.principal.or_else(|| first_href(prop));
            } else if is(prop, CALDAV_NS, "calendar-home-set") {
                props.calendar_home = props.calendar_home.or_else(|| first_href(prop));
            } else if is(prop, DAV_NS, "displayname") {
                let text: String = prop.descendants().filter(|n| n.is_text()).filter_map(|n| n.text()).collect();
                let text = text.trim();
                if props.display_name.is_none() && !text.is_empty() {
                    props.display_name = Some(text.to_string());
                }
            }
        }
    }
    Ok(props)
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

fn first_href(prop: flowcal_xml::roxmltree::Node<'_, '_>) -> Option<String> {
    children(prop, DAV_NS, "href").map(|h| h.text().unwrap_or_default().trim().to_string()).find(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbound::guarded_client;
    use crate::outbound::test_server::{response, serve, Request, Server};
    use base64::Engine as _;

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
      <D:prop><D:displayname /></D:prop>
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
    fn parses_prefixed_multistatus() {
        let props = parse_multistatus(RADICALE_ROOT).unwrap();
        assert_eq!(props, Props { principal: Some("/alice/".into()), ..Props::default() });
    }

    #[test]
    fn parses_default_namespace_multistatus() {
        let props = parse_multistatus(RADICALE_PRINCIPAL).unwrap();
        assert_eq!(props.calendar_home.as_deref(), Some("/alice/"));
        assert_eq!(props.display_name.as_deref(), Some("Alice & Co"));
        assert_eq!(props.principal, None);
    }

    #[test]
    fn matches_by_namespace_not_prefix() {
        // Unusual prefixes, absolute href, several hrefs.
        let xml = r#"<x:multistatus xmlns:x="DAV:" xmlns:cal="urn:ietf:params:xml:ns:caldav">
  <x:response><x:href>https://dav.example.org/p/alice/</x:href>
    <x:propstat><x:prop>
      <cal:calendar-home-set>
        <x:href> https://dav.example.org/calendars/alice/ </x:href>
        <x:href>/other/</x:href>
      </cal:calendar-home-set>
    </x:prop><x:status>HTTP/1.1 200 OK</x:status></x:propstat>
  </x:response></x:multistatus>"#;
        let props = parse_multistatus(xml).unwrap();
        assert_eq!(props.calendar_home.as_deref(), Some("https://dav.example.org/calendars/alice/"));

        // "C:" bound to a foreign namespace is not CalDAV; "D:" bound to something else is not DAV.
        let xml = r#"<D:multistatus xmlns:D="DAV:" xmlns:C="http://example.com/not-caldav">
  <D:response><D:href>/</D:href><D:propstat><D:prop>
    <C:calendar-home-set><D:href>/wrong/</D:href></C:calendar-home-set>
  </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#;
        assert_eq!(parse_multistatus(xml).unwrap(), Props::default());
        let xml = r#"<D:multistatus xmlns:D="urn:other"><D:response/></D:multistatus>"#;
        assert!(parse_multistatus(xml).is_err());
    }

    #[test]
    fn ignores_failed_propstats_and_unauthenticated() {
        let xml = r#"<multistatus xmlns="DAV:"><response><href>/</href>
  <propstat><prop><current-user-principal><href>/nobody/</href></current-user-principal></prop>
    <status>HTTP/1.1 404 Not Found</status></propstat>
  <propstat><prop><displayname>  </displayname></prop><status>HTTP/1.1 200 OK</status></propstat>
</response></multistatus>"#;
        assert_eq!(parse_multistatus(xml).unwrap(), Props::default());
        let xml = r#"<multistatus xmlns="DAV:"><response><href>/</href>
  <propstat><prop><current-user-principal><unauthenticated/></current-user-principal></prop>
    <status>HTTP/1.1 200 OK</status></propstat></response></multistatus>"#;
        assert_eq!(parse_multistatus(xml).unwrap().principal, None);
    }

    #[test]
    fn refuses_non_multistatus() {
        assert!(parse_multistatus("<html><body>hello</body></html>").unwrap_err().contains("multistatus"));
        assert!(parse_multistatus("not xml").unwrap_err().contains("not XML that flowcal reads: not well-formed XML"));
    }

    #[test]
    fn resolves_relative_and_absolute_hrefs() {
        let answer = Answer { url: Url::parse("https://dav.example.org/dav/").unwrap(), props: Props::default() };
        assert_eq!(answer.resolve(Some("/alice/")).unwrap().as_str(), "https://dav.example.org/alice/");
        assert_eq!(answer.resolve(Some("alice/")).unwrap().as_str(), "https://dav.example.org/dav/alice/");
        assert_eq!(answer.resolve(Some("https://other.example/x/")).unwrap().as_str(), "https://other.example/x/");
    }

    const USER: &str = "alice";
    const PASSWORD: &str = "app-pass-7x";

    fn authorized(req: &Request) -> bool {
        let expected =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{USER}:{PASSWORD}")));
        req.header("authorization") == Some(expected.as_str())
    }

    fn multistatus(body: &str) -> String {
        response("207 Multi-Status", &[("Content-Type", "application/xml; charset=utf-8")], body)
    }

    fn unauthorized() -> String {
        response("401 Unauthorized", &[("WWW-Authenticate", "Basic realm=\"test\"")], "")
    }

    /// A Radicale-like server: principal at /alice/, home at /alice/.
    fn radicale(req: &Request) -> String {
        if !authorized(req) {
            return unauthorized();
        }
        if req.method != "PROPFIND"
            || req.header("depth") != Some("0")
            || req.header("content-type") != Some("application/xml; charset=utf-8")
        {
            return response("400 Bad Request", &[], "");
        }
        match req.path.as_str() {
            "/" if req.body.contains("current-user-principal") => multistatus(RADICALE_ROOT),
            "/alice/" if req.body.contains("calendar-home-set") => multistatus(RADICALE_PRINCIPAL),
            _ => response("404 Not Found", &[], ""),
        }
    }

    async fn run_probe(server: &Server, path: &str, password: &str) -> Result<CaldavAccount, ProbeError> {
        let policy = HostPolicy::new(&[format!("127.0.0.1:{}", server.port())], &[]).unwrap();
        let client = guarded_client(policy.clone()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{}{path}", server.port())).unwrap();
        probe(&client, &policy, &url, USER, password).await
    }

    #[tokio::test]
    async fn probes_radicale_like_server() {
        let server = serve(radicale).await;
        let account = run_probe(&server, "/", PASSWORD).await.unwrap();
        let base = format!("http://127.0.0.1:{}", server.port());
        assert_eq!(account.principal.as_str(), format!("{base}/alice/"));
        assert_eq!(account.calendar_home.as_str(), format!("{base}/alice/"));
        assert_eq!(account.display_name.as_deref(), Some("Alice & Co"));
        assert_eq!(server.hits(), 2);
    }

    #[tokio::test]
    async fn wrong_password_is_unauthorized() {
        let server = serve(radicale).await;
        let err = run_probe(&server, "/", "wrong").await.unwrap_err();
        assert!(matches!(err, ProbeError::Unauthorized), "{err:?}");
        assert_eq!(err.to_string(), "the CalDAV server refused the username or app password");
    }

    #[tokio::test]
    async fn policy_is_checked_before_connecting() {
        let server = serve(radicale).await;
        let policy = HostPolicy::new(&["localhost".to_string()], &[]).unwrap();
        let client = guarded_client(policy.clone()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{}/", server.port())).unwrap();
        let err = probe(&client, &policy, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Refused(OutboundError::ForbiddenAddress { .. })), "{err:?}");
        assert_eq!(server.hits(), 0);

        // A name that resolves to a loopback address: refused by the resolver.
        let url = Url::parse(&format!("http://localhost:{}/", server.port())).unwrap();
        let err = probe(&client, &policy, &url, USER, PASSWORD).await.unwrap_err();
        match &err {
            ProbeError::Refused(OutboundError::ForbiddenAddress { host, .. }) => assert_eq!(host, "localhost"),
            other => panic!("expected the resolver refusal, got {other:?}"),
        }
        assert!(err.to_string().starts_with("localhost resolves to "), "{err}");
        assert_eq!(server.hits(), 0);
    }

    #[tokio::test]
    async fn uses_well_known_when_root_has_no_principal() {
        for redirect in ["301 Moved Permanently", "303 See Other", "308 Permanent Redirect"] {
            well_known(redirect).await;
        }
    }

    async fn well_known(redirect: &'static str) {
        let server = serve(move |req| {
            if !authorized(req) {
                return unauthorized();
            }
            match req.path.as_str() {
                "/" => response("405 Method Not Allowed", &[], ""),
                "/.well-known/caldav" => response(redirect, &[("Location", "/dav/")], ""),
                "/dav/" if req.method != "PROPFIND" => response("405 Method Not Allowed", &[], ""),
                "/dav/" => multistatus(
                    r#"<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/</d:href><d:propstat><d:prop>
                    <d:current-user-principal><d:href>principals/alice/</d:href></d:current-user-principal>
                    </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#,
                ),
                "/dav/principals/alice/" => multistatus(
                    r#"<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response>
                    <d:href>/dav/principals/alice/</d:href><d:propstat><d:prop>
                    <c:calendar-home-set><d:href>/dav/calendars/alice/</d:href></c:calendar-home-set>
                    </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#,
                ),
                _ => response("404 Not Found", &[], ""),
            }
        })
        .await;
        let account = run_probe(&server, "", PASSWORD).await.unwrap();
        assert_eq!(account.principal.path(), "/dav/principals/alice/");
        assert_eq!(account.calendar_home.path(), "/dav/calendars/alice/");
        assert_eq!(account.display_name, None, "{redirect}");
    }

    #[tokio::test]
    async fn no_principal_below_root_is_not_caldav() {
        let server = serve(|req| {
            if req.path == "/dav/" {
                multistatus(r#"<multistatus xmlns="DAV:"><response><href>/dav/</href></response></multistatus>"#)
            } else {
                response("404 Not Found", &[], "")
            }
        })
        .await;
        let err = run_probe(&server, "/dav/", PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::NotCalDav(_)), "{err:?}");
        assert!(err.to_string().contains("does not look like a CalDAV server"), "{err}");
        assert_eq!(server.hits(), 1, "no well-known lookup below the root");
    }

    #[tokio::test]
    async fn html_root_is_not_caldav() {
        let server = serve(|_| response("200 OK", &[("Content-Type", "text/html")], "<html></html>")).await;
        let err = run_probe(&server, "/", PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::NotCalDav(_)), "{err:?}");
    }

    #[tokio::test]
    async fn missing_home_is_not_caldav() {
        let server = serve(|req| match req.path.as_str() {
            "/" => multistatus(RADICALE_ROOT),
            _ => multistatus(r#"<multistatus xmlns="DAV:"><response><href>/alice/</href></response></multistatus>"#),
        })
        .await;
        let err = run_probe(&server, "/", PASSWORD).await.unwrap_err();
        assert!(err.to_string().contains("calendar-home-set"), "{err}");
    }

    #[tokio::test]
    async fn statuses_map_to_errors() {
        let server = serve(|req| match req.path.as_str() {
            "/forbidden/" => response("403 Forbidden", &[], ""),
            "/broken/" => response("500 Internal Server Error", &[], ""),
            _ => response("404 Not Found", &[], ""),
        })
        .await;
        assert!(matches!(run_probe(&server, "/forbidden/", PASSWORD).await, Err(ProbeError::Forbidden)));
        assert!(matches!(run_probe(&server, "/broken/", PASSWORD).await, Err(ProbeError::Server(_))));
        match run_probe(&server, "/missing/", PASSWORD).await {
            Err(ProbeError::NotFound(url)) => assert!(url.ends_with("/missing/"), "{url}"),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn principal_on_other_host_is_not_followed() {
        let server = serve(|req| match req.path.as_str() {
            "/" => multistatus(
                r#"<D:multistatus xmlns:D="DAV:"><D:response><D:href>/</D:href><D:propstat><D:prop>
                <D:current-user-principal><D:href>http://localhost/alice/</D:href></D:current-user-principal>
                </D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>"#,
            ),
            _ => multistatus(RADICALE_PRINCIPAL),
        })
        .await;
        // Even when the policy allows the other host, the password stays with the host entered.
        let policy =
            HostPolicy::new(&[format!("127.0.0.1:{}", server.port()), "localhost".into()], &["127.0.0.0/8".into()])
                .unwrap();
        let client = guarded_client(policy.clone()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{}/", server.port())).unwrap();
        let err = probe(&client, &policy, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Server(_)), "{err:?}");
        assert!(err.to_string().contains("http://localhost/alice/"), "{err}");
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn the_whole_probe_has_a_time_budget() {
        // Each answer comes just inside the per-request timeout; together they would take minutes.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                    drop(stream);
                });
            }
        });
        let policy = HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap();
        let client = guarded_client(policy.clone()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let budget = std::time::Duration::from_millis(300);
        let err = probe_within(budget, &client, &policy, &url, USER, PASSWORD).await.unwrap_err();
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
        let policy = HostPolicy::new(&[format!("127.0.0.1:{port}")], &[]).unwrap();
        let client = guarded_client(policy.clone()).unwrap();
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = probe(&client, &policy, &url, USER, PASSWORD).await.unwrap_err();
        assert!(matches!(err, ProbeError::Unreachable(_)), "{err:?}");
        let text = format!("{err} {err:?}");
        assert!(text.contains("could not reach 127.0.0.1"), "{text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
}
