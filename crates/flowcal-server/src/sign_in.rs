//! Who is signing in, and how many at once: the client's address (behind
//! trusted proxies), the stored form of a typed login, and the cap on
//! password checks in flight per address. Never logs a typed login.

use axum::http::HeaderMap;
use flowcal_connect::outbound::IpNetwork;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

/// The longest login accepted, in bytes; longer ones are refused before any work.
pub const LONGEST_LOGIN: usize = 256;

/// Password sign-ins from one address in flight at once; more are refused at
/// once, so one address cannot queue ahead of everyone for the password checks.
pub const IN_FLIGHT_PER_ADDRESS: usize = 4;

/// The client of a request: the peer, or, when the peer is a trusted proxy,
/// the rightmost address in `X-Forwarded-For` that is not a trusted proxy
/// (addresses left of it were written by the client and prove nothing).
/// `None` when the peer is unknown.
pub fn client_address(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNetwork]) -> Option<IpAddr> {
    let mut client = peer?.to_canonical();
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
        client = ip.to_canonical();
        if !trusted.iter().any(|r| r.contains(client)) {
            break;
        }
    }
    Some(client)
}

/// How an address is counted: IPv4 as itself, IPv6 by its /64 (one
/// subscriber gets a whole /64), an unknown peer as `unknown`.
pub fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
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
    fn the_client_is_the_rightmost_untrusted_hop() {
        let trusted: [IpNetwork; 2] = ["127.0.0.1".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
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
