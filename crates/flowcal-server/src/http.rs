//! What every HTTP handler reads from a request: cookies, the session
//! cookie, and whether a form post came from flowcal's own pages.

use crate::app::App;
use crate::error::{AppError, AppResult};
use axum::http::{header, HeaderMap};

/// The browser session's cookie.
pub const SESSION_COOKIE: &str = "flowcal_session";

/// The media type of a request's or a response's body (`Content-Type`
/// without its parameters, lower case), if it has one.
pub fn media_type(h: &HeaderMap) -> Option<String> {
    let v = h.get(header::CONTENT_TYPE)?.to_str().ok()?;
    Some(v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

/// The session cookie's value, if any.
pub fn session_cookie(h: &HeaderMap) -> Option<String> {
    cookie(h, SESSION_COOKIE)
}

/// A cookie's value: the first cookie named `name` in any `Cookie` header
/// (a header that is not visible ASCII is skipped). Every cookie flowcal reads
/// goes through here.
pub fn cookie(h: &HeaderMap, name: &str) -> Option<String> {
    h.get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// Refuses a form post that a browser says came from another site.
pub fn same_origin(app: &App, headers: &HeaderMap) -> AppResult<()> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // No Origin: older browsers; they may still tell the site relation.
        let site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()).unwrap_or("none");
        return match site {
            "cross-site" | "same-site" => Err(AppError::Forbidden("a form from another site may not post here".into())),
            _ => Ok(()),
        };
    };
    let ours = &app.config.public_url;
    let ours_origin = ours.splitn(4, '/').take(3).collect::<Vec<_>>().join("/");
    let listen_origin = format!("http://{}", app.config.listen);
    if origin == ours_origin || origin == listen_origin {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!("a form from {origin} may not post here")))
    }
}
