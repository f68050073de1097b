//! Which user-supplied URLs flowcal may fetch (protection against server-side
//! request forgery).
//!
//! CalDAV URLs come from users, so flowcal must not become a way to reach the
//! administrator's internal network. The administrator configures
//! `allowed_hosts` (host names, wildcards, IP literals, optionally with a
//! port) and `allowed_networks` (CIDR ranges). The rules:
//!
//! - Only `http` and `https` URLs, never with a username or password inside.
//! - The URL's host (and port) must match an `allowed_hosts` entry: an exact
//!   host (`caldav.example.org`, `caldav.example.org:8443`), a wildcard
//!   (`*.example.org`: any subdomain, not the apex) or `*` (any host whose
//!   addresses are public, https only).
//! - Plain `http` only for hosts matched by an exact or wildcard entry.
//! - An IP literal that is not a public address is allowed only if it is
//!   listed itself or lies inside an `allowed_networks` range (a range also
//!   works as an entry for the IP literals inside it).
//! - A host name may resolve only to public addresses or to addresses inside
//!   `allowed_networks`. This is enforced at connection time by the resolver
//!   of [`guarded_client`], so DNS rebinding does not get around it.
//! - Cloud metadata addresses are refused even inside an allowed network,
//!   unless the network is exactly that single address.
//! - Every redirect target goes through the same checks.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;

/// Redirects followed at most per request.
pub const MAX_REDIRECTS: usize = 5;
/// Time allowed to establish a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for a whole request, redirects and body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an outbound request is not made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    /// The URL cannot be used at all (scheme, missing host, credentials inside).
    #[error("invalid URL: {0}")]
    BadUrl(String),
    /// No `allowed_hosts` entry matches the host (and port).
    #[error("the administrator has not allowed CalDAV connections to {host}")]
    NotAllowed {
        /// The host, with its port when the URL names one.
        host: String,
    },
    /// Plain http to a host that only the `*` entry allows.
    #[error("plain http is allowed only for hosts the administrator listed (use https://{host})")]
    PlainHttp {
        /// The host, with its port when the URL names one.
        host: String,
    },
    /// The host is, or resolves to, an address the policy does not allow.
    #[error("{}", forbidden_address_message(.host, .address))]
    ForbiddenAddress {
        /// The host as written in the URL (with its port when the URL names one).
        host: String,
        /// The refused address.
        address: IpAddr,
    },
    /// The HTTP client could not be built.
    #[error("could not set up the HTTP client: {0}")]
    Client(String),
}

fn forbidden_address_message(host: &str, address: &IpAddr) -> String {
    let class = classify(*address).describe();
    let literal = host.parse::<IpAddr>().ok().or_else(|| host.parse::<SocketAddr>().ok().map(|s| s.ip()))
        == Some(*address)
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok() == Some(*address);
    if literal {
        format!("{host} is {class}; the administrator must allow it")
    } else {
        format!("{host} resolves to {address}, {class}; the administrator must allow it")
    }
}

/// Finds an [`OutboundError`] in an error's `source` chain (for example in a
/// `reqwest::Error` caused by the resolver or the redirect policy of
/// [`guarded_client`]).
pub fn find_outbound_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a OutboundError> {
    let mut current: Option<&'a (dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<OutboundError>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

// ---------------------------------------------------------------------------
// Address classification
// ---------------------------------------------------------------------------

/// What kind of address an IP address is, as far as reachability from
/// flowcal is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressClass {
    /// A globally reachable unicast address.
    Public,
    /// 127.0.0.0/8, ::1.
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, IPv6 unique local fc00::/7 and site-local fec0::/10.
    Private,
    /// 169.254/16, fe80::/10.
    LinkLocal,
    /// Cloud instance metadata services: 169.254.169.254, fd00:ec2::254, 100.100.100.200.
    Metadata,
    /// Any other non-public address: unspecified, broadcast, multicast,
    /// shared address space (100.64/10), documentation, benchmarking,
    /// reserved ranges, IPv6 transition and discard prefixes.
    Other,
}

impl AddressClass {
    /// Whether flowcal may connect to such an address without an allowed network.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }

    /// The class in words, with an article ("a private address").
    pub fn describe(self) -> &'static str {
        match self {
            AddressClass::Public => "a public address",
            AddressClass::Loopback => "a loopback address",
            AddressClass::Private => "a private address",
            AddressClass::LinkLocal => "a link-local address",
            AddressClass::Metadata => "a cloud metadata address",
            AddressClass::Other => "a reserved, non-public address",
        }
    }
}

/// Classifies an address. IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible
/// (`::a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) IPv6 addresses are classified
/// by the IPv4 address inside.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const V4_METADATA: [Ipv4Addr; 2] = [Ipv4Addr::new(169, 254, 169, 254), Ipv4Addr::new(100, 100, 100, 200)];
const V6_METADATA: Ipv6Addr = Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254);

const V4_RANGES: &[([u8; 4], u8, AddressClass)] = &[
    ([0, 0, 0, 0], 8, AddressClass::Other),
    ([10, 0, 0, 0], 8, AddressClass::Private),
    ([100, 64, 0, 0], 10, AddressClass::Other),
    ([127, 0, 0, 0], 8, AddressClass::Loopback),
    ([169, 254, 0, 0], 16, AddressClass::LinkLocal),
    ([172, 16, 0, 0], 12, AddressClass::Private),
    ([192, 0, 0, 0], 24, AddressClass::Other),
    ([192, 0, 2, 0], 24, AddressClass::Other),
    ([192, 88, 99, 0], 24, AddressClass::Other),
    ([192, 168, 0, 0], 16, AddressClass::Private),
    ([198, 18, 0, 0], 15, AddressClass::Other),
    ([198, 51, 100, 0], 24, AddressClass::Other),
    ([203, 0, 113, 0], 24, AddressClass::Other),
    ([224, 0, 0, 0], 4, AddressClass::Other),
    ([240, 0, 0, 0], 4, AddressClass::Other),
];

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    if V4_METADATA.contains(&ip) {
        return AddressClass::Metadata;
    }
    let bits = u32::from(ip);
    V4_RANGES
        .iter()
        .find(|(net, len, _)| bits & mask_v4(*len) == u32::from_be_bytes(*net))
        .map_or(AddressClass::Public, |(_, _, class)| *class)
}

const V6_RANGES: &[(Ipv6Addr, u8, AddressClass)] = &[
    (Ipv6Addr::new(0x0064, 0xff9b, 1, 0, 0, 0, 0, 0), 48, AddressClass::Other), // NAT64 local use
    (Ipv6Addr::new(0x0100, 0, 0, 0, 0, 0, 0, 0), 64, AddressClass::Other),      // discard
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, AddressClass::Other),      // IETF: Teredo, benchmarking, ORCHID
    (Ipv6Addr::new(0x2001, 0x0db8, 0, 0, 0, 0, 0, 0), 32, AddressClass::Other), // documentation
    (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16, AddressClass::Other),      // 6to4
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, AddressClass::Other),      // documentation
    (Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3, AddressClass::Public),      // global unicast
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, AddressClass::Private),     // unique local
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, AddressClass::LinkLocal),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, AddressClass::Private), // site-local (deprecated)
];

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip == V6_METADATA {
        return AddressClass::Metadata;
    }
    if ip == Ipv6Addr::LOCALHOST {
        return AddressClass::Loopback;
    }
    if ip.is_unspecified() {
        return AddressClass::Other;
    }
    if let Some(v4) = embedded_v4(ip) {
        return classify_v4(v4);
    }
    let bits = u128::from(ip);
    V6_RANGES
        .iter()
        .find(|(net, len, _)| bits & mask_v6(*len) == u128::from(*net))
        .map_or(AddressClass::Other, |(_, _, class)| *class)
}

/// The IPv4 address inside an IPv4-mapped, IPv4-compatible or NAT64 (64:ff9b::/96) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        _ => None,
    }
}

fn mask_v4(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    }
}

fn mask_v6(len: u8) -> u128 {
    if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len))
    }
}

// ---------------------------------------------------------------------------
// Networks (CIDR)
// ---------------------------------------------------------------------------

/// An IP network in CIDR notation (`10.0.0.0/8`, `fd00::/8`; a bare address
/// is a single-address network).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` lies inside the network. An IPv4-mapped IPv6 address is
    /// compared as its IPv4 address.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => u32::from(ip) & mask_v4(self.prefix) == u32::from(net),
            (IpAddr::V6(net), IpAddr::V6(ip)) => u128::from(ip) & mask_v6(self.prefix) == u128::from(net),
            _ => false,
        }
    }

    /// Whether the network holds exactly one address (/32 or /128).
    pub fn is_single_address(&self) -> bool {
        self.prefix == max_prefix(self.addr)
    }
}

fn max_prefix(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl FromStr for IpNetwork {
    type Err = String;

    /// Parses `address/prefix` or a bare address; the error explains what is wrong.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (addr_part, prefix_part) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr =
            addr_part.parse().map_err(|_| format!("\"{s}\" is not a network: \"{addr_part}\" is not an IP address"))?;
        let max = max_prefix(addr);
        let prefix = match prefix_part {
            None => max,
            Some(p) => {
                if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("\"{s}\" is not a network: the prefix length must be a number"));
                }
                let len: u16 = p.parse().map_err(|_| format!("\"{s}\" is not a network: bad prefix length"))?;
                if len > u16::from(max) {
                    return Err(format!(
                        "\"{s}\" is not a network: the prefix length is at most {max} for an IPv{} address",
                        if max == 32 { 4 } else { 6 }
                    ));
                }
                len as u8
            }
        };
        if addr.to_canonical() != addr {
            return Err(format!("\"{s}\" is not a network: write IPv4 ranges in IPv4 notation"));
        }
        let base = match addr {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask_v4(prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask_v6(prefix))),
        };
        if base != addr {
            return Err(format!(
                "\"{s}\" is not a network: the address has bits set after the prefix (did you mean {base}/{prefix}?)"
            ));
        }
        Ok(IpNetwork { addr, prefix })
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

// ---------------------------------------------------------------------------
// Host policy
// ---------------------------------------------------------------------------

/// A host as it appears in a URL or an entry, normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HostName {
    /// Lower-case ASCII (punycode) host name without trailing dot.
    Name(String),
    Ip(IpAddr),
}

impl HostName {
    /// From `Url::host_str` of an http(s) URL (already lower-case, punycode,
    /// IPv4 in dotted-quad form, IPv6 in brackets).
    fn from_url_host(host: &str) -> HostName {
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            if let Ok(v6) = inner.parse::<Ipv6Addr>() {
                return HostName::Ip(IpAddr::V6(v6));
            }
        }
        if let Ok(v4) = host.parse::<Ipv4Addr>() {
            return HostName::Ip(IpAddr::V4(v4));
        }
        HostName::Name(host.trim_end_matches('.').to_ascii_lowercase())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Pattern {
    /// An exact host name or IP literal.
    Exact(HostName),
    /// `*.suffix`: any subdomain of `suffix` (not `suffix` itself).
    Subdomains(String),
    /// `*`: any host with public addresses, https only.
    Any,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostEntry {
    pattern: Pattern,
    port: Option<u16>,
}

impl HostEntry {
    /// Whether this exact or wildcard entry matches (`*` never does here).
    fn matches(&self, host: &HostName, port: u16) -> bool {
        if self.port.is_some_and(|p| p != port) {
            return false;
        }
        match (&self.pattern, host) {
            (Pattern::Exact(entry), host) => entry == host,
            (Pattern::Subdomains(suffix), HostName::Name(name)) => {
                name.strip_suffix(suffix.as_str()).is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
            }
            _ => false,
        }
    }

    fn parse(raw: &str) -> Result<HostEntry, String> {
        let s = raw.trim();
        let bad = |why: &str| format!("allowed host \"{raw}\": {why}");
        if s.is_empty() {
            return Err(bad("the entry is empty"));
        }
        if s == "*" {
            return Ok(HostEntry { pattern: Pattern::Any, port: None });
        }
        if s.contains("://") {
            return Err(bad("write only the host name and optionally a port, without a scheme such as https://"));
        }
        if s.contains(['/', '@', '?', '#', '\\']) || s.chars().any(char::is_whitespace) {
            return Err(bad("write only the host name and optionally a port (like caldav.example.org:8443)"));
        }
        let (host_part, port_part) = if let Some(rest) = s.strip_prefix('[') {
            let (inner, after) = rest.split_once(']').ok_or_else(|| bad("a '[' without matching ']'"))?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("expected ':' and a port after ']'"))?),
            };
            (format!("[{inner}]"), port)
        } else if s.matches(':').count() > 1 {
            // A bare IPv6 address.
            (format!("[{s}]"), None)
        } else if let Some((h, p)) = s.rsplit_once(':') {
            (h.to_string(), Some(p))
        } else {
            (s.to_string(), None)
        };
        let port = match port_part {
            None => None,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Some(n),
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        if let Some(suffix) = host_part.strip_prefix("*.") {
            return match normalize_host(suffix).map_err(|why| bad(&why))? {
                HostName::Name(name) => Ok(HostEntry { pattern: Pattern::Subdomains(name), port }),
                HostName::Ip(_) => Err(bad("a wildcard needs a domain name after \"*.\"")),
            };
        }
        if host_part == "*" {
            return Err(bad("\"*\" cannot have a port"));
        }
        let host = normalize_host(&host_part).map_err(|why| bad(&why))?;
        Ok(HostEntry { pattern: Pattern::Exact(host), port })
    }
}

/// Normalizes a host (name, IPv4, or bracketed IPv6) the way URLs are normalized.
fn normalize_host(host: &str) -> Result<HostName, String> {
    let url = Url::parse(&format!("http://{host}/")).map_err(|e| format!("not a valid host name ({e})"))?;
    let valid = url.username().is_empty()
        && url.password().is_none()
        && url.port().is_none()
        && url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none();
    let host_str = url.host_str().filter(|_| valid).ok_or("not a valid host name")?;
    let parsed = HostName::from_url_host(host_str);
    if let HostName::Name(name) = &parsed {
        let labels_ok = !name.is_empty()
            && name.split('.').all(|label| {
                !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            });
        if !labels_ok {
            return Err("not a valid host name".to_string());
        }
    }
    Ok(parsed)
}

/// The administrator's rules for outbound requests to user-supplied URLs.
#[derive(Debug, Clone)]
pub struct HostPolicy {
    entries: Vec<HostEntry>,
    any_public: bool,
    networks: Vec<IpNetwork>,
}

impl HostPolicy {
    /// Builds the policy from the configuration.
    ///
    /// `allowed_hosts` entries: `"host"`, `"host:port"`, `"*.example.com"`
    /// (any subdomain, not the apex), `"*"` (any host with a public address,
    /// https only), IP literals `"127.0.0.1"`, `"127.0.0.1:5232"`,
    /// `"[::1]:5232"`. Host names are compared case-insensitively, a trailing
    /// dot is ignored. `allowed_networks`: CIDR ranges (`"10.0.0.0/8"`,
    /// `"fd00::/8"`) whose addresses may be connected to.
    ///
    /// The error names the entry that cannot be understood.
    pub fn new(allowed_hosts: &[String], allowed_networks: &[String]) -> Result<HostPolicy, String> {
        let mut entries = Vec::new();
        let mut any_public = false;
        for raw in allowed_hosts {
            let entry = HostEntry::parse(raw)?;
            if entry.pattern == Pattern::Any {
                any_public = true;
            } else {
                entries.push(entry);
            }
        }
        let networks = allowed_networks
            .iter()
            .map(|raw| raw.parse::<IpNetwork>().map_err(|e| format!("allowed network: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(HostPolicy { entries, any_public, networks })
    }

    /// Checks scheme, host and (for IP literals) address of a URL, before any
    /// request. Addresses of host names are checked when connecting (see
    /// [`guarded_client`]).
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        let scheme = url.scheme();
        if scheme != "http" && scheme != "https" {
            return Err(OutboundError::BadUrl(format!("only https:// and http:// URLs are supported, not {scheme}:")));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(OutboundError::BadUrl(
                "the URL must not contain a username or password; enter them in their own fields".to_string(),
            ));
        }
        let host_str = match url.host_str() {
            Some(h) if !h.is_empty() => h,
            _ => return Err(OutboundError::BadUrl("the URL has no host name".to_string())),
        };
        let port = url.port_or_known_default().unwrap_or(if scheme == "https" { 443 } else { 80 });
        let label = match url.port() {
            Some(p) => format!("{host_str}:{p}"),
            None => host_str.to_string(),
        };
        let host = HostName::from_url_host(host_str);
        let listed = self.entries.iter().any(|e| e.matches(&host, port));
        let https = scheme == "https";
        match host {
            HostName::Ip(ip) => {
                if listed || self.network_allows(ip) {
                    Ok(())
                } else if !classify(ip).is_public() {
                    Err(OutboundError::ForbiddenAddress { host: label, address: ip })
                } else if self.any_public && https {
                    Ok(())
                } else if self.any_public {
                    Err(OutboundError::PlainHttp { host: label })
                } else {
                    Err(OutboundError::NotAllowed { host: label })
                }
            }
            HostName::Name(_) => {
                if listed || (self.any_public && https) {
                    Ok(())
                } else if self.any_public {
                    Err(OutboundError::PlainHttp { host: label })
                } else {
                    Err(OutboundError::NotAllowed { host: label })
                }
            }
        }
    }

    /// Whether an address that a host name resolved to may be connected to:
    /// a public address, or one inside an allowed network.
    pub fn address_allowed(&self, ip: IpAddr) -> bool {
        classify(ip).is_public() || self.network_allows(ip)
    }

    /// Inside an allowed network; metadata addresses only through a
    /// single-address network.
    fn network_allows(&self, ip: IpAddr) -> bool {
        let metadata = classify(ip) == AddressClass::Metadata;
        self.networks.iter().any(|n| n.contains(ip) && (!metadata || n.is_single_address()))
    }
}

// ---------------------------------------------------------------------------
// The guarded client
// ---------------------------------------------------------------------------

/// Resolves with the system resolver and keeps only allowed addresses.
struct PolicyResolver {
    policy: Arc<HostPolicy>,
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("could not resolve {host}: {e}")))?
                .collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                resolved.into_iter().partition(|a| policy.address_allowed(a.ip()));
            if let Some(first) = refused.first() {
                tracing::warn!(host = %host, address = %first.ip(), refused = refused.len(), allowed = allowed.len(),
                    "outbound: dropped addresses the policy does not allow");
            }
            if allowed.is_empty() {
                return Err(match refused.first() {
                    Some(first) => OutboundError::ForbiddenAddress { host, address: first.ip() }.into(),
                    None => std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host} has no address")).into(),
                });
            }
            let addrs: reqwest::dns::Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether credentials entered for `entered` may also go to `target`: the
/// same host, or a host in the entered host's parent domain when that parent
/// still has two labels (caldav.icloud.com → p12-caldav.icloud.com, as iCloud
/// answers; never example.com → anything.com); and the same port (another
/// port may be another service), or both on their scheme's default port.
pub fn same_site(entered: &Url, target: &Url) -> bool {
    let same_port = entered.port_or_known_default() == target.port_or_known_default()
        || (entered.port().is_none() && target.port().is_none());
    if !same_port {
        return false;
    }
    let (Some(a), Some(b)) = (entered.host_str(), target.host_str()) else { return false };
    let (a, b) = (a.trim_end_matches('.').to_ascii_lowercase(), b.trim_end_matches('.').to_ascii_lowercase());
    if a == b {
        return true;
    }
    if a.parse::<IpAddr>().is_ok() || a.starts_with('[') {
        return false;
    }
    match a.split_once('.') {
        Some((_, parent)) if parent.contains('.') => b.ends_with(&format!(".{parent}")),
        _ => false,
    }
}

/// A reqwest client that enforces `policy`:
///
/// - its resolver drops every address [`HostPolicy::address_allowed`] refuses
///   (the request fails with [`OutboundError::ForbiddenAddress`] in the
///   error's source chain when none remains);
/// - every redirect target goes through [`HostPolicy::check_url`] (at most
///   [`MAX_REDIRECTS`] hops); a refusal ends the request with the
///   [`OutboundError`] in the error's source chain;
/// - connect timeout [`CONNECT_TIMEOUT`], total timeout [`REQUEST_TIMEOUT`],
///   `User-Agent: flowcal/<version>`, no proxy from the environment.
///
/// IP-literal URLs are not resolved, so the caller must run
/// [`HostPolicy::check_url`] on the first URL of every request.
pub fn guarded_client(policy: HostPolicy) -> Result<reqwest::Client, OutboundError> {
    guarded_client_with(policy, true)
}

/// [`guarded_client`] that follows no redirect at all: for writes, which must
/// go only to the URL flowcal names (reqwest re-sends a PUT or DELETE with its
/// body on a 307 or 308).
pub fn guarded_client_without_redirects(policy: HostPolicy) -> Result<reqwest::Client, OutboundError> {
    guarded_client_with(policy, false)
}

fn guarded_client_with(policy: HostPolicy, follow: bool) -> Result<reqwest::Client, OutboundError> {
    let policy = Arc::new(policy);
    let redirect_policy = Arc::clone(&policy);
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() > MAX_REDIRECTS {
            return attempt.error(format!("stopped after {MAX_REDIRECTS} redirects"));
        }
        match redirect_policy.check_url(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(e) => {
                tracing::warn!(error = %e, "outbound: refused a redirect");
                attempt.error(e)
            }
        }
    });
    let redirect = if follow { redirect } else { reqwest::redirect::Policy::none() };
    reqwest::Client::builder()
        .dns_resolver(Arc::new(PolicyResolver { policy }))
        .redirect(redirect)
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("flowcal/", env!("CARGO_PKG_VERSION")))
        .no_proxy()
        .https_only(false)
        .build()
        .map_err(|e| OutboundError::Client(e.to_string()))
}

// ---------------------------------------------------------------------------
// Reading bodies with a cap
// ---------------------------------------------------------------------------

/// Why a body was not read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than the limit arrived; reading stopped there.
    #[error("the answer is larger than {} KiB", .limit / 1024)]
    TooLarge { limit: usize },
    /// The transport failed (timeouts included).
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads a response body while it streams, refusing more than `limit`
/// bytes (never an unbounded `.bytes()` or `.text()` on an answer from outside).
pub async fn read_capped(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads at most `limit` bytes of a response body and drops the rest (for
/// error answers, whose start is all flowcal quotes).
pub async fn read_prefix(response: &mut reqwest::Response, limit: usize) -> Result<Vec<u8>, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(bytes.len());
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= limit {
            break;
        }
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------
// Test support: a tiny HTTP/1.1 server
// ---------------------------------------------------------------------------

/// A minimal HTTP/1.1 server for tests (one request per connection).
#[cfg(test)]
pub(crate) mod test_server {
    use std::net::SocketAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A request as the server saw it.
    #[derive(Debug, Clone)]
    pub(crate) struct Request {
        pub method: String,
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: String,
    }

    impl Request {
        pub fn header(&self, name: &str) -> Option<&str> {
            self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
        }
    }

    /// A running server: its address and how many requests it answered.
    pub(crate) struct Server {
        pub addr: SocketAddr,
        hits: Arc<AtomicUsize>,
    }

    impl Server {
        pub fn port(&self) -> u16 {
            self.addr.port()
        }
        pub fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }
    }

    /// A full response with `Content-Length` and `Connection: close`.
    pub(crate) fn response(status: &str, headers: &[(&str, &str)], body: &str) -> String {
        let mut out = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
        for (name, value) in headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        out.push_str(body);
        out
    }

    /// Starts a server on 127.0.0.1 (random port) answering with `handler`.
    pub(crate) async fn serve<F>(handler: F) -> Server
    where
        F: Fn(&Request) -> String + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let handler = Arc::new(handler);
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let Some(request) = read_request(&mut stream).await else { return };
                    counter.fetch_add(1, Ordering::SeqCst);
                    let answer = handler(&request);
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Server { addr, hits }
    }

    async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<Request> {
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
        let method = start.next()?.to_string();
        let path = start.next()?.to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
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
        Some(Request { method, path, headers, body: String::from_utf8_lossy(&body).to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::test_server::{response, serve};
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn policy(hosts: &[&str], networks: &[&str]) -> HostPolicy {
        let hosts: Vec<String> = hosts.iter().map(|s| s.to_string()).collect();
        let networks: Vec<String> = networks.iter().map(|s| s.to_string()).collect();
        HostPolicy::new(&hosts, &networks).unwrap()
    }

    #[test]
    fn classifies_ipv4() {
        use AddressClass::*;
        let table = [
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("172.32.0.1", Public),
            ("100.128.0.1", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.0.0.5", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("100.100.100.200", Metadata),
            ("0.0.0.0", Other),
            ("0.1.2.3", Other),
            ("100.64.0.1", Other),
            ("100.127.255.255", Other),
            ("192.0.0.8", Other),
            ("192.0.2.1", Other),
            ("198.18.0.1", Other),
            ("198.19.255.255", Other),
            ("198.51.100.1", Other),
            ("203.0.113.1", Other),
            ("224.0.0.1", Other),
            ("239.255.255.250", Other),
            ("240.0.0.1", Other),
            ("255.255.255.255", Other),
        ];
        for (addr, class) in table {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn classifies_ipv6() {
        use AddressClass::*;
        let table = [
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001::1", Public),
            ("::1", Loopback),
            ("::", Other),
            ("fd00:ec2::254", Metadata),
            ("fd12:3456::1", Private),
            ("fc00::1", Private),
            ("fec0::1", Private),
            ("fe80::1", LinkLocal),
            ("ff02::1", Other),
            ("2001:db8::1", Other),
            ("3fff::1", Other),
            ("2001::1", Other),
            ("2001:2::1", Other),
            ("2002:c0a8:101::1", Other),
            ("100::1", Other),
            ("64:ff9b:1::1", Other),
            ("4000::1", Other),
            // IPv4 inside IPv6
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.5", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::10.1.2.3", Private),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::8.8.8.8", Public),
        ];
        for (addr, class) in table {
            assert_eq!(classify(ip(addr)), class, "{addr}");
        }
    }

    #[test]
    fn parses_networks() {
        let net: IpNetwork = "10.0.0.0/8".parse().unwrap();
        assert!(net.contains(ip("10.255.1.2")));
        assert!(!net.contains(ip("11.0.0.1")));
        assert!(net.contains(ip("::ffff:10.1.1.1")), "mapped addresses compare as IPv4");
        assert!(!net.contains(ip("fd00::1")));
        let net: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(net.contains(ip("fd12::1")));
        assert!(!net.contains(ip("fe80::1")));
        let single: IpNetwork = "192.168.1.7".parse().unwrap();
        assert!(single.is_single_address());
        assert!(single.contains(ip("192.168.1.7")) && !single.contains(ip("192.168.1.8")));
        let all: IpNetwork = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        let all6: IpNetwork = "::/0".parse().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        assert_eq!("172.16.0.0/12".parse::<IpNetwork>().unwrap().to_string(), "172.16.0.0/12");
    }

    #[test]
    fn rejects_bad_networks() {
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/-1",
            "10.0.0.0/08x",
            "10.0.0/8",
            "example.com/24",
            "10.0.0.1/8",
            "fd00::1/8",
            "",
            "::ffff:10.0.0.0/104",
        ] {
            assert!(bad.parse::<IpNetwork>().is_err(), "{bad:?} should be refused");
        }
        let err = "10.0.0.1/8".parse::<IpNetwork>().unwrap_err();
        assert!(err.contains("10.0.0.0/8"), "{err}");
        let err = HostPolicy::new(&[], &["10.0.0.0/40".to_string()]).unwrap_err();
        assert!(err.contains("10.0.0.0/40") && err.contains("at most 32"), "{err}");
    }

    #[test]
    fn rejects_bad_host_entries() {
        for bad in [
            "",
            "https://caldav.example.org",
            "caldav.example.org:0",
            "caldav.example.org:99999",
            "host:x",
            "a/b",
            "user@host",
            "*:443",
            "*.10.0.0.1",
            "[::1",
            "[::1]x",
            "exa mple.org",
            "a..b",
            "*.",
            "foo.*.org",
        ] {
            let err = HostPolicy::new(&[bad.to_string()], &[]).unwrap_err();
            assert!(err.contains(&format!("\"{bad}\"")), "{bad:?}: {err}");
        }
    }

    #[test]
    fn exact_hosts_and_ports() {
        let p = policy(&["caldav.example.org", "dav.example.net:8443"], &[]);
        assert_eq!(p.check_url(&url("https://caldav.example.org/dav/")), Ok(()));
        assert_eq!(p.check_url(&url("https://caldav.example.org:4443/dav/")), Ok(()));
        assert_eq!(p.check_url(&url("https://dav.example.net:8443/")), Ok(()));
        assert_eq!(
            p.check_url(&url("https://dav.example.net/")),
            Err(OutboundError::NotAllowed { host: "dav.example.net".into() })
        );
        assert_eq!(
            p.check_url(&url("https://dav.example.net:8444/")),
            Err(OutboundError::NotAllowed { host: "dav.example.net:8444".into() })
        );
        assert!(p.check_url(&url("https://example.org/")).is_err());
        assert!(p.check_url(&url("https://evil-caldav.example.org/")).is_err());
        assert!(p.check_url(&url("https://caldav.example.org.evil.com/")).is_err());
        let msg = p.check_url(&url("https://other.example/")).unwrap_err().to_string();
        assert_eq!(msg, "the administrator has not allowed CalDAV connections to other.example");
    }

    #[test]
    fn default_port_matches_entry_port() {
        let p = policy(&["caldav.example.org:443"], &[]);
        assert_eq!(p.check_url(&url("https://caldav.example.org/")), Ok(()));
        assert!(p.check_url(&url("http://caldav.example.org/")).is_err(), "http is port 80");
    }

    #[test]
    fn case_and_trailing_dot() {
        let p = policy(&["CalDAV.Example.ORG."], &[]);
        assert_eq!(p.check_url(&url("https://caldav.example.org/")), Ok(()));
        assert_eq!(p.check_url(&url("https://CALDAV.EXAMPLE.ORG./")), Ok(()));
        let p = policy(&["*.Example.Org"], &[]);
        assert_eq!(p.check_url(&url("https://DAV.example.org./")), Ok(()));
    }

    #[test]
    fn wildcard_matches_subdomains_not_apex() {
        let p = policy(&["*.example.org"], &[]);
        assert_eq!(p.check_url(&url("https://caldav.example.org/")), Ok(()));
        assert_eq!(p.check_url(&url("https://a.b.example.org/")), Ok(()));
        assert_eq!(p.check_url(&url("http://a.example.org/")), Ok(()), "wildcard is a specific entry");
        assert!(p.check_url(&url("https://example.org/")).is_err());
        assert!(p.check_url(&url("https://badexample.org/")).is_err());
        assert!(p.check_url(&url("https://example.org.evil.com/")).is_err());
        let p = policy(&["*.example.org:8443"], &[]);
        assert_eq!(p.check_url(&url("https://a.example.org:8443/")), Ok(()));
        assert!(p.check_url(&url("https://a.example.org/")).is_err());
    }

    #[test]
    fn star_allows_https_to_any_public_host() {
        let p = policy(&["*"], &[]);
        assert_eq!(p.check_url(&url("https://anything.example/")), Ok(()));
        assert_eq!(p.check_url(&url("https://8.8.8.8/")), Ok(()));
        assert_eq!(
            p.check_url(&url("http://anything.example/")),
            Err(OutboundError::PlainHttp { host: "anything.example".into() })
        );
        assert_eq!(p.check_url(&url("http://8.8.8.8/")), Err(OutboundError::PlainHttp { host: "8.8.8.8".into() }));
        let msg = p.check_url(&url("http://anything.example/")).unwrap_err().to_string();
        assert!(msg.starts_with("plain http is allowed only for hosts the administrator listed"), "{msg}");
        // `*` never makes a non-public literal reachable.
        assert_eq!(
            p.check_url(&url("https://10.0.0.5/")),
            Err(OutboundError::ForbiddenAddress { host: "10.0.0.5".into(), address: ip("10.0.0.5") })
        );
        assert!(p.check_url(&url("https://[::1]/")).is_err());
        assert!(p.check_url(&url("https://169.254.169.254/")).is_err());
        assert!(p.check_url(&url("https://[::ffff:127.0.0.1]/")).is_err());
        // Obfuscated IPv4 forms are normalized by the URL parser.
        assert!(p.check_url(&url("https://2130706433/")).is_err());
        assert!(p.check_url(&url("https://0x7f.1/")).is_err());
        // Addresses of names are the resolver's business.
        assert!(!p.address_allowed(ip("127.0.0.1")));
        assert!(p.address_allowed(ip("8.8.8.8")));
    }

    #[test]
    fn http_only_with_specific_entry() {
        let p = policy(&["caldav.example.org", "*"], &[]);
        assert_eq!(p.check_url(&url("http://caldav.example.org/")), Ok(()));
        assert!(matches!(p.check_url(&url("http://other.example/")), Err(OutboundError::PlainHttp { .. })));
        let p = policy(&["caldav.example.org"], &[]);
        assert!(matches!(p.check_url(&url("http://other.example/")), Err(OutboundError::NotAllowed { .. })));
    }

    #[test]
    fn refuses_bad_urls() {
        let p = policy(&["*", "caldav.example.org"], &[]);
        for bad in ["ftp://caldav.example.org/", "file:///etc/passwd", "data:text/plain,hi"] {
            assert!(matches!(p.check_url(&url(bad)), Err(OutboundError::BadUrl(_))), "{bad}");
        }
        let err = p.check_url(&url("https://alice:s3cret@caldav.example.org/")).unwrap_err();
        assert!(matches!(err, OutboundError::BadUrl(_)));
        assert!(!err.to_string().contains("s3cret"), "{err}");
        assert!(p.check_url(&url("https://alice@caldav.example.org/")).is_err());
    }

    #[test]
    fn credentials_stay_within_the_entered_site() {
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(same_site(&u("https://caldav.icloud.com/"), &u("https://p12-caldav.icloud.com/1/calendars/")));
        assert!(same_site(&u("https://cloud.example.co.uk/dav/"), &u("https://cloud.example.co.uk/other")));
        assert!(!same_site(&u("https://example.com/"), &u("https://evil.com/")), "never up to the top level");
        assert!(!same_site(&u("https://caldav.icloud.com/"), &u("https://icloud.com.evil.net/")));
        assert!(!same_site(&u("https://caldav.icloud.com/"), &u("https://evilicloud.com/")));
        assert!(!same_site(&u("http://127.0.0.1:5232/"), &u("http://127.0.0.2:5232/")));
        // Another port may be another service: the credentials stay with the port entered.
        assert!(!same_site(&u("http://127.0.0.1:5232/"), &u("http://127.0.0.1:5233/")));
        assert!(!same_site(&u("https://caldav.icloud.com/"), &u("https://p12-caldav.icloud.com:8443/")));
        assert!(same_site(&u("https://caldav.example.org:443/"), &u("https://caldav.example.org/x/")));
        assert!(same_site(&u("http://caldav.example.org/"), &u("https://caldav.example.org/")), "an upgrade");
    }

    #[test]
    fn private_ip_literals_need_listing_or_network() {
        let p = policy(&["localhost:5232"], &[]);
        let err = p.check_url(&url("http://127.0.0.1:5232/")).unwrap_err();
        assert_eq!(err, OutboundError::ForbiddenAddress { host: "127.0.0.1:5232".into(), address: ip("127.0.0.1") });
        assert_eq!(err.to_string(), "127.0.0.1:5232 is a loopback address; the administrator must allow it");
        assert_eq!(p.check_url(&url("http://localhost:5232/")), Ok(()), "names are checked by the resolver");
        assert!(!p.address_allowed(ip("127.0.0.1")), "listing localhost does not allow 127.0.0.1");

        let p = policy(&["127.0.0.1:5232", "[::1]:5232", "10.0.0.5"], &[]);
        assert_eq!(p.check_url(&url("http://127.0.0.1:5232/")), Ok(()));
        assert_eq!(p.check_url(&url("http://[::1]:5232/")), Ok(()));
        assert_eq!(p.check_url(&url("http://10.0.0.5:8080/")), Ok(()));
        assert!(p.check_url(&url("http://127.0.0.1:5233/")).is_err());
        assert!(p.check_url(&url("http://127.0.0.2:5232/")).is_err());
        assert!(p.check_url(&url("http://[::1]:5233/")).is_err());
        assert!(!p.address_allowed(ip("10.0.0.5")), "listing a literal does not open it for names");

        let p = policy(&[], &["10.0.0.0/8", "fd00::/8"]);
        assert_eq!(p.check_url(&url("http://10.1.2.3:5232/")), Ok(()));
        assert_eq!(p.check_url(&url("https://[fd00::7]/")), Ok(()));
        assert!(p.check_url(&url("http://192.168.0.1/")).is_err());
        assert!(p.address_allowed(ip("10.9.9.9")));
        assert!(p.address_allowed(ip("::ffff:10.9.9.9")));
        assert!(!p.address_allowed(ip("192.168.0.1")));
        assert!(!p.address_allowed(ip("::ffff:192.168.0.1")));

        // Public literals still need an entry.
        let p = policy(&["caldav.example.org"], &[]);
        assert_eq!(p.check_url(&url("https://8.8.8.8/")), Err(OutboundError::NotAllowed { host: "8.8.8.8".into() }));
        let p = policy(&["8.8.8.8"], &[]);
        assert_eq!(p.check_url(&url("http://8.8.8.8/")), Ok(()));
    }

    #[test]
    fn metadata_needs_exact_network() {
        let p = policy(&[], &["169.254.0.0/16", "fd00::/8", "100.64.0.0/10"]);
        assert!(p.address_allowed(ip("169.254.1.1")));
        assert!(!p.address_allowed(ip("169.254.169.254")));
        assert!(!p.address_allowed(ip("fd00:ec2::254")));
        assert!(!p.address_allowed(ip("100.100.100.200")));
        assert!(p.check_url(&url("http://169.254.169.254/latest/meta-data/")).is_err());
        let p = policy(&[], &["169.254.169.254/32"]);
        assert!(p.address_allowed(ip("169.254.169.254")));
    }

    #[test]
    fn forbidden_address_messages() {
        let e = OutboundError::ForbiddenAddress { host: "caldav.example.org".into(), address: ip("10.0.0.5") };
        assert_eq!(
            e.to_string(),
            "caldav.example.org resolves to 10.0.0.5, a private address; the administrator must allow it"
        );
        let e = OutboundError::ForbiddenAddress { host: "[::1]:5232".into(), address: ip("::1") };
        assert_eq!(e.to_string(), "[::1]:5232 is a loopback address; the administrator must allow it");
    }

    fn ok_server_response() -> String {
        response("200 OK", &[], "ok")
    }

    fn find(err: &reqwest::Error) -> Option<OutboundError> {
        find_outbound_error(err).cloned()
    }

    #[tokio::test]
    async fn resolver_refuses_loopback_for_names() {
        let server = serve(|_| ok_server_response()).await;
        let target = url(&format!("http://localhost:{}/", server.port()));
        let p = policy(&[&format!("localhost:{}", server.port())], &[]);
        assert_eq!(p.check_url(&target), Ok(()));
        let client = guarded_client(p).unwrap();
        let err = client.get(target).send().await.unwrap_err();
        match find(&err) {
            Some(OutboundError::ForbiddenAddress { host, address }) => {
                assert_eq!(host, "localhost");
                assert!(address.is_loopback() || address.to_canonical().is_loopback(), "{address}");
                let msg = OutboundError::ForbiddenAddress { host, address }.to_string();
                assert!(msg.starts_with("localhost resolves to ") && msg.contains("a loopback address"), "{msg}");
            }
            other => panic!("expected the resolver refusal, got {other:?} from {err:?}"),
        }
        assert_eq!(server.hits(), 0);
    }

    #[tokio::test]
    async fn resolver_allows_network() {
        let server = serve(|_| ok_server_response()).await;
        let target = url(&format!("http://localhost:{}/", server.port()));
        let p = policy(&[&format!("localhost:{}", server.port())], &["127.0.0.0/8"]);
        let client = guarded_client(p).unwrap();
        let resp = client.get(target).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.text().await.unwrap(), "ok");
        assert_eq!(server.hits(), 1);
    }

    #[tokio::test]
    async fn sends_user_agent() {
        let server = serve(|req| response("200 OK", &[], req.header("user-agent").unwrap_or(""))).await;
        let client = guarded_client(policy(&[&format!("127.0.0.1:{}", server.port())], &[])).unwrap();
        let body = client.get(format!("http://127.0.0.1:{}/", server.port())).send().await.unwrap().text().await;
        assert_eq!(body.unwrap(), format!("flowcal/{}", env!("CARGO_PKG_VERSION")));
    }

    #[tokio::test]
    async fn redirect_to_unlisted_address_is_refused() {
        let target = serve(|_| ok_server_response()).await;
        let location = format!("http://127.0.0.1:{}/", target.port());
        let redirector = serve(move |_| response("302 Found", &[("Location", &location)], "")).await;
        let start = url(&format!("http://127.0.0.1:{}/", redirector.port()));
        let p = policy(&[&format!("127.0.0.1:{}", redirector.port())], &[]);
        assert_eq!(p.check_url(&start), Ok(()));
        let client = guarded_client(p).unwrap();
        let err = client.get(start).send().await.unwrap_err();
        assert_eq!(
            find(&err),
            Some(OutboundError::ForbiddenAddress {
                host: format!("127.0.0.1:{}", target.port()),
                address: ip("127.0.0.1")
            }),
            "{err:?}"
        );
        assert_eq!(redirector.hits(), 1);
        assert_eq!(target.hits(), 0);
    }

    #[tokio::test]
    async fn redirect_to_unlisted_host_is_refused() {
        let target = serve(|_| ok_server_response()).await;
        let location = format!("http://localhost:{}/", target.port());
        let redirector = serve(move |_| response("302 Found", &[("Location", &location)], "")).await;
        let start = url(&format!("http://127.0.0.1:{}/", redirector.port()));
        // The network would allow the address: only the host check stops it.
        let client = guarded_client(policy(&[&format!("127.0.0.1:{}", redirector.port())], &["127.0.0.0/8"])).unwrap();
        let err = client.get(start).send().await.unwrap_err();
        assert_eq!(find(&err), Some(OutboundError::NotAllowed { host: format!("localhost:{}", target.port()) }));
        assert_eq!(target.hits(), 0);
    }

    #[tokio::test]
    async fn allowed_redirect_is_followed() {
        let target = serve(|_| ok_server_response()).await;
        let location = format!("http://localhost:{}/", target.port());
        let redirector = serve(move |_| response("302 Found", &[("Location", &location)], "")).await;
        let p = policy(&[&format!("127.0.0.1:{}", redirector.port()), "localhost"], &["127.0.0.0/8"]);
        let client = guarded_client(p).unwrap();
        let resp = client.get(format!("http://127.0.0.1:{}/", redirector.port())).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(target.hits(), 1);
    }

    #[tokio::test]
    async fn redirect_loops_stop() {
        let server = serve(|req| {
            let n: u32 = req.path.trim_start_matches('/').parse().unwrap_or(0);
            response("302 Found", &[("Location", &format!("/{}", n + 1))], "")
        })
        .await;
        let client = guarded_client(policy(&[&format!("127.0.0.1:{}", server.port())], &[])).unwrap();
        let err = client.get(format!("http://127.0.0.1:{}/", server.port())).send().await.unwrap_err();
        assert!(err.is_redirect(), "{err:?}");
        assert!(find(&err).is_none());
        assert_eq!(server.hits(), MAX_REDIRECTS + 1);
    }
}
