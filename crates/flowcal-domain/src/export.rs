//! What a calendar entry is about, and its stable identity. No I/O.

use sha2::{Digest, Sha256};

/// The alphabet of base32hex (RFC 4648 §7), lowercase: what Google accepts in event ids.
const BASE32HEX: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";

/// The stable identity of the entry for `source` (e.g. `task:42:deadline`,
/// `instance:7:item:first_day`) in the calendar of user `user`: 160 bits of
/// SHA-256, in lowercase base32hex (32 characters). Google takes it as the
/// event `id` (5–1024 characters of [a-v0-9]); CalDAV as the UID and
/// resource name; Microsoft Graph as the `transactionId`.
pub fn event_key(user: i64, source: &str) -> String {
    let digest = Sha256::digest(format!("flowcal:{user}:{source}").as_bytes());
    let mut out = String::with_capacity(32);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in &digest[..20] {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32HEX[((acc >> bits) & 31) as usize]));
        }
    }
    out
}

/// Whether `id` is a valid Google Calendar event id.
pub fn is_google_event_id(id: &str) -> bool {
    (5..=1024).contains(&id.len()) && id.bytes().all(|b| BASE32HEX.contains(&b))
}

/// The source name of a task's deadline.
pub fn task_deadline_source(task: i64) -> String {
    format!("task:{task}:deadline")
}
