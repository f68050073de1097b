//! Pages of lists, in the API and the pages alike: `?limit=N&cursor=C`.
//!
//! `limit` is 1 to [`MAX_LIMIT`] ([`DEFAULT_LIMIT`] when left out); 0 or more
//! is refused, not clamped, so a client learns that it got less than it
//! asked for. A cursor is opaque to clients: the base64url text of a JSON
//! array of the list's name and the keyset position of the last row given
//! (e.g. `["tasks:deadline", 1774569600000, 42]`). It is refused when it is
//! not one the same list gave.

use crate::error::{AppError, AppResult};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Rows per page when the request names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// The most rows a page holds.
pub const MAX_LIMIT: usize = flowcal_store::MAX_PAGE;
/// Longer cursors are refused before they are decoded.
const MAX_CURSOR: usize = 512;

/// The page size asked for: [`DEFAULT_LIMIT`] when none; 0 and more than [`MAX_LIMIT`] refused.
pub fn limit(asked: Option<usize>) -> AppResult<usize> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(AppError::BadRequest(format!("limit must be from 1 to {MAX_LIMIT} (got {n})"))),
    }
}

/// The cursor for the position after `position` in the list `list`.
pub fn encode<P: Serialize>(list: &str, position: P) -> String {
    // A tuple of a string and numbers or strings always serializes.
    let json = serde_json::to_vec(&(list, position)).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

/// The position a cursor of the list `list` holds; none without a cursor.
pub fn decode<P: DeserializeOwned>(list: &str, cursor: Option<&str>) -> AppResult<Option<P>> {
    let Some(text) = cursor else { return Ok(None) };
    let bad = || {
        AppError::BadRequest(
            "the cursor is not one this list gave: pass the next_cursor of the previous page unchanged, \
             or leave it out to start again"
                .into(),
        )
    };
    if text.len() > MAX_CURSOR {
        return Err(bad());
    }
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
    let (name, position): (String, P) = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if name != list {
        return Err(bad());
    }
    Ok(Some(position))
}

/// The cursor of the next page: after the last row, when more follow.
pub fn next_cursor<T, P: Serialize>(
    list: &str,
    page: &flowcal_store::Page<T>,
    position: impl Fn(&T) -> P,
) -> Option<String> {
    if !page.more {
        return None;
    }
    page.items.last().map(|last| encode(list, position(last)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_only_in_its_own_list() {
        let c = encode("tasks:deadline", (5_i64, 7_i64));
        assert_eq!(decode::<(i64, i64)>("tasks:deadline", Some(&c)).unwrap(), Some((5, 7)));
        assert!(decode::<(i64, i64)>("tasks:created", Some(&c)).is_err());
        assert!(decode::<(i64, i64)>("tasks:deadline", Some("garbage!")).is_err());
        assert!(decode::<(i64, i64)>("tasks:deadline", Some(&encode("tasks:deadline", "x"))).is_err());
        assert_eq!(decode::<(i64, i64)>("tasks:deadline", None).unwrap(), None);
    }

    #[test]
    fn limits_outside_1_to_200_are_refused() {
        assert_eq!(limit(None).unwrap(), 50);
        assert_eq!(limit(Some(200)).unwrap(), 200);
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(201)).is_err());
    }
}
