//! Who is signing in, and how many at once: the client's address (behind
//! trusted proxies), the stored form of a typed login, and the cap on
//! password checks in flight per address. Never logs a typed login.

use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The longest login accepted, in bytes; longer ones are refused before any work.
pub const LONGEST_LOGIN: usize = 256;

/// Password sign-ins from one address in flight at once; more are refused at
/// once, so one address cannot queue ahead of everyone for the password checks.
pub const IN_FLIGHT_PER_ADDRESS: usize = 4;

/// An address or a CIDR range (`10.0.0.0/8`, `fd00::/8`, `127.0.0.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpRange {
    net: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub fn parse(s: &str) -> Result<IpRange, String> {
        let bad = || format!("'{s}' is neither an IP address nor a CIDR range like 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim().parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        Ok(IpRange { net: addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, canonical(ip)) {
            (IpAddr::V4(n), IpAddr::V4(a)) => same_prefix(&n.octets(), &a.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(a)) => same_prefix(&n.octets(), &a.octets(), self.prefix),
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], bits: u8) -> bool {
    let bits = usize::from(bits);
    let (whole, rest) = (bits / 8, bits % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// An IPv4 address written as IPv6 (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client of a request: the peer, or, when the peer is a trusted proxy,
/// the rightmost address in `X-Forwarded-For` that is not a trusted proxy
/// (addresses left of it were written by the client and prove nothing).
/// `None` when the peer is unknown.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpRange]) -> Option<IpAddr> {
    let mut client = canonical(peer?);
    if !trusted.iter().any(|r| r.contains(client)) {
        return Some(client);
    }
    // Several headers count as one list, in order.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.into_iter().rev() {
        // Some proxies add the port: `1.2.3.4:5678`, `[::1]:80`.
        let Some(ip) = hop.parse::<IpAddr>().ok().or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip())) else {
            // Junk: the hop after it (already a trusted proxy's word) is the best known.
            break;
        };
        client = canonical(ip);
        if !trusted.iter().any(|r| r.contains(client)) {
            break;
        }
    }
    Some(client)
}

/// How an address is counted: IPv4 as itself, IPv6 by its /64 (one
/// subscriber gets a whole /64), an unknown peer as `unknown`.
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(canonical) {
        Some(IpAddr::V4(a)) => a.to_string(),
        Some(IpAddr::V6(a)) => {
            let s = a.segments();
            format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        None => "unknown".to_owned(),
    }
}

/// How a typed login is stored and logged: its SHA-256, hex (a failed login
/// may be a password typed in the wrong field).
pub fn login_hash(login: &str) -> String {
    hex::encode(Sha256::digest(format!("flowcal-sign-in\u{0}{login}").as_bytes()))
}

/// Password sign-ins in flight, per address.
#[derive(Debug, Default)]
pub struct InFlight(Arc<Mutex<HashMap<String, usize>>>);

/// One sign-in in flight; it counts until dropped.
#[derive(Debug)]
pub struct Ticket {
    of: Arc<Mutex<HashMap<String, usize>>>,
    address: String,
}

impl InFlight {
    /// A ticket for one more sign-in from `address`, unless it already has `cap` in flight.
    pub fn enter(&self, address: &str, cap: usize) -> Option<Ticket> {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = m.entry(address.to_owned()).or_insert(0);
        if *n >= cap {
            return None;
        }
        *n += 1;
        Some(Ticket { of: self.0.clone(), address: address.to_owned() })
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut m = self.of.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges() {
        let r = IpRange::parse("10.1.0.0/16").unwrap();
        assert!(r.contains(ip("10.1.200.3")) && !r.contains(ip("10.2.0.1")));
        assert!(r.contains(ip("::ffff:10.1.0.9")));
        assert!(IpRange::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        assert!(!IpRange::parse("127.0.0.1").unwrap().contains(ip("127.0.0.2")));
        let r = IpRange::parse("fd00::/8").unwrap();
        assert!(r.contains(ip("fd12::1")) && !r.contains(ip("fe80::1")) && !r.contains(ip("10.0.0.1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpRange::parse("10.0.0.0/12").unwrap().contains(ip("10.15.255.255")));
        assert!(!IpRange::parse("10.0.0.0/12").unwrap().contains(ip("10.16.0.0")));
        for bad in ["10.0.0.0/33", "::/129", "proxy.example", "10.0.0/8", ""] {
            assert!(IpRange::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted = [IpRange::parse("127.0.0.1").unwrap(), IpRange::parse("10.0.0.0/8").unwrap()];
        let mut h = HeaderMap::new();
        h.append("x-forwarded-for", HeaderValue::from_static("6.6.6.6, 203.0.113.7"));
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.2"));
        assert_eq!(client_address(Some(ip("127.0.0.1")), &h, &trusted), Some(ip("203.0.113.7")));
        // From an untrusted peer the header is ignored.
        assert_eq!(client_address(Some(ip("198.51.100.1")), &h, &trusted), Some(ip("198.51.100.1")));
        assert_eq!(client_address(Some(ip("198.51.100.1")), &h, &[]), Some(ip("198.51.100.1")));
        // Only proxies: the leftmost of them; junk stops the walk at the last good hop.
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.5, 10.0.0.6"));
        assert_eq!(client_address(Some(ip("127.0.0.1")), &h, &trusted), Some(ip("10.0.0.5")));
        h.insert("x-forwarded-for", HeaderValue::from_static("203.0.113.9:4711, junk, 10.0.0.6"));
        assert_eq!(client_address(Some(ip("127.0.0.1")), &h, &trusted), Some(ip("10.0.0.6")));
        h.insert("x-forwarded-for", HeaderValue::from_static("[2001:db8::1]:80"));
        assert_eq!(client_address(Some(ip("127.0.0.1")), &h, &trusted), Some(ip("2001:db8::1")));
        assert_eq!(client_address(None, &h, &trusted), None);
    }

    #[test]
    fn addresses_are_counted_by_subscriber() {
        assert_eq!(address_key(Some(ip("2001:db8:1:2:aaaa::1"))), "2001:db8:1:2::/64");
        assert_eq!(address_key(Some(ip("2001:db8:1:2:bbbb::9"))), "2001:db8:1:2::/64");
        assert_eq!(address_key(Some(ip("::ffff:192.0.2.1"))), "192.0.2.1");
        assert_eq!(address_key(None), "unknown");
    }

    #[test]
    fn in_flight_is_capped_and_released() {
        let f = InFlight::default();
        let a = f.enter("a", 2).unwrap();
        let _b = f.enter("a", 2).unwrap();
        assert!(f.enter("a", 2).is_none());
        assert!(f.enter("b", 2).is_some());
        drop(a);
        assert!(f.enter("a", 2).is_some());
        assert_eq!(login_hash("root").len(), 64);
        assert!(!login_hash("root").contains("root"));
    }
}
