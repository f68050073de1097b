//! iCal subscription feeds: `GET /feeds/{token}.ics`.
//!
//! A user's feed shows their open tasks' deadlines and the dates they
//! exported, in a window around today. The token (256 random bits) is stored
//! only as its hash; a new one replaces the old at once. A poll is answered
//! `304 Not Modified` from the owner's row and the settings, without
//! rendering: the entity tag covers the feed's version (moved by every
//! transaction that changes what it shows), the window and the settings that
//! shape entries. A rendered feed is kept in memory for its entity tag, and
//! gzipped once when a client asks for it.

use crate::access::Access;
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{AppError, AppResult};
use crate::exports::Exports;
use crate::principal::Principal;
use crate::settings::ExportConfig;
use flowcal_calendar::ical::{self, FeedEntry};
use flowcal_calendar::{EventSpec, When};
use flowcal_domain::export::ExportSource;
use flowcal_domain::UserId;
use flowcal_store::{FeedMark, FeedOwner, Store};
use jiff::{tz::TimeZone, Timestamp, ToSpan};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, OnceLock};

/// A user's feed, as the account settings show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct FeedStatus {
    pub enabled: bool,
    /// The URLs: only when the feed was just made (the token is not stored).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webcal_url: Option<String>,
    /// When what the feed shows last changed (RFC 3339), when enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
}

/// A rendered feed.
#[derive(Debug)]
pub struct Rendered {
    pub etag: String,
    pub last_modified: Timestamp,
    pub body: bytes::Bytes,
    gzipped: OnceLock<bytes::Bytes>,
}

impl Rendered {
    /// The body gzipped (made once).
    pub fn gzipped(&self) -> bytes::Bytes {
        self.gzipped
            .get_or_init(|| {
                let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                // Writing to a Vec cannot fail.
                let _ = z.write_all(&self.body);
                z.finish().map(bytes::Bytes::from).unwrap_or_default()
            })
            .clone()
    }
}

/// What a feed request gets.
#[derive(Debug)]
pub enum FeedAnswer {
    /// The token names no feed (or one the owner may no longer have).
    NotFound,
    NotModified {
        etag: String,
        last_modified: Timestamp,
    },
    Full(Arc<Rendered>),
}

/// The request's validators.
#[derive(Debug, Default)]
pub struct Conditions {
    /// `If-None-Match`, as sent.
    pub if_none_match: Option<String>,
    pub if_modified_since: Option<Timestamp>,
}

/// Rendered feeds by user.
#[derive(Debug, Default)]
pub struct FeedCache(Mutex<HashMap<i64, Arc<Rendered>>>);

/// The feed service.
#[derive(Debug)]
pub struct Feeds {
    store: Store,
    clock: Arc<dyn Clock>,
    config: Arc<Config>,
    access: Arc<Access>,
    exports: Arc<Exports>,
    cache: FeedCache,
}

impl Feeds {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        config: Arc<Config>,
        access: Arc<Access>,
        exports: Arc<Exports>,
    ) -> Self {
        Feeds { store, clock, config, access, exports, cache: FeedCache::default() }
    }

    fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// `GET /api/v1/me/feed`.
    pub async fn feed_status(&self, p: &Principal) -> AppResult<FeedStatus> {
        let changed = self.store.feed_state(p.user.id).await?;
        Ok(FeedStatus {
            enabled: changed.is_some(),
            url: None,
            webcal_url: None,
            changed_at: changed.and_then(|ms| Timestamp::from_millisecond(ms).ok()).map(|t| t.to_string()),
        })
    }

    /// `POST /api/v1/me/feed`: a new feed URL; the previous one stops working.
    pub async fn new_feed(&self, p: &Principal) -> AppResult<FeedStatus> {
        let c = self.access.connectivity().await?;
        self.access.export_allowed(&c, p)?;
        let token = crate::secrets::new_token("");
        self.store.set_feed_token(p.user.id, Some(crate::secrets::token_hash(&token)), self.now()).await?;
        self.forget_feed(p.user.id);
        let url = format!("{}/feeds/{token}.ics", self.config.public_url);
        let webcal = match url.split_once("://") {
            Some((_, rest)) => format!("webcal://{rest}"),
            None => url.clone(),
        };
        let mut status = self.feed_status(p).await?;
        status.url = Some(url);
        status.webcal_url = Some(webcal);
        Ok(status)
    }

    /// `DELETE /api/v1/me/feed`: the feed URL stops working.
    pub async fn disable_feed(&self, p: &Principal) -> AppResult<FeedStatus> {
        self.store.set_feed_token(p.user.id, None, self.now()).await?;
        self.forget_feed(p.user.id);
        self.feed_status(p).await
    }

    fn forget_feed(&self, user: UserId) {
        self.cache.0.lock().unwrap_or_else(|e| e.into_inner()).remove(&user.0);
    }

    /// The feed of `token`, as the request's validators allow.
    pub async fn feed(&self, token: &str, cond: &Conditions) -> AppResult<FeedAnswer> {
        // Tokens are URL-safe base64 of 32 bytes: anything else is no token.
        if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Ok(FeedAnswer::NotFound);
        }
        let Some(owner) = self.store.feed_owner(&crate::secrets::token_hash(token)).await? else {
            return Ok(FeedAnswer::NotFound);
        };
        let export = self.export_settings().await?;
        let p = Principal { user: owner.user.clone(), roles: Vec::new() };
        if !export.allow.allows(p.login()) || !p.user.calendar_export {
            return Ok(FeedAnswer::NotFound);
        }
        let window = self.feed_window(&owner)?;
        let etag = self.feed_etag(&owner, &window, &export);
        let last_modified = self.feed_last_modified(&owner, &window);
        let fresh = match (&cond.if_none_match, cond.if_modified_since) {
            (Some(inm), _) => etag_matches(inm, &etag),
            (None, Some(ims)) => last_modified.as_second() <= ims.as_second(),
            (None, None) => false,
        };
        if fresh {
            return Ok(FeedAnswer::NotModified { etag, last_modified });
        }
        let cached = self.cache.0.lock().unwrap_or_else(|e| e.into_inner()).get(&owner.user.id.0).cloned();
        if let Some(r) = cached.filter(|r| r.etag == etag) {
            return Ok(FeedAnswer::Full(r));
        }
        let body = self.render_feed(&owner, &window).await?;
        let rendered = Arc::new(Rendered { etag, last_modified, body: body.into(), gzipped: OnceLock::new() });
        let cache_bytes =
            usize::try_from(self.config.feed.cache_megabytes).unwrap_or(usize::MAX).saturating_mul(1 << 20);
        if cache_bytes == 0 {
            return Ok(FeedAnswer::Full(rendered));
        }
        let mut cache = self.cache.0.lock().unwrap_or_else(|e| e.into_inner());
        cache.insert(owner.user.id.0, rendered.clone());
        // Keep the memory bounded: drop others until the rest fits.
        let mut total: usize = cache.values().map(|r| r.body.len()).sum();
        let others: Vec<i64> = cache.keys().copied().filter(|k| *k != owner.user.id.0).collect();
        for k in others {
            if total <= cache_bytes {
                break;
            }
            if let Some(r) = cache.remove(&k) {
                total -= r.body.len();
            }
        }
        Ok(FeedAnswer::Full(rendered))
    }

    /// The calendar export settings alone (one read; no provider secrets).
    async fn export_settings(&self) -> AppResult<ExportConfig> {
        for (key, value) in self.store.settings().await? {
            if key == "calendar_export" {
                return serde_json::from_str(&value)
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("stored setting {key}: {e}")));
            }
        }
        Ok(self.config.calendar_export.clone())
    }

    /// The feed's window: from `days_back` days before the owner's today to
    /// `days_ahead` days after it.
    fn feed_window(&self, owner: &FeedOwner) -> AppResult<Window> {
        let tz = TimeZone::get(&owner.user.time_zone).unwrap_or(TimeZone::UTC);
        let today = self.now().to_zoned(tz.clone()).date();
        let f = &self.config.feed;
        let bad = |e: jiff::Error| AppError::Internal(e.into());
        let from = today.checked_sub(i64::from(f.days_back).days()).map_err(bad)?;
        let to = today.checked_add(i64::from(f.days_ahead).days()).map_err(bad)?;
        let from_at = from.to_zoned(tz.clone()).map_err(bad)?.timestamp();
        let today_at = today.to_zoned(tz.clone()).map_err(bad)?.timestamp();
        let to_at = to.tomorrow().map_err(bad)?.to_zoned(tz).map_err(bad)?.timestamp();
        Ok(Window { from, to, from_at, to_at, today_at })
    }

    fn feed_etag(&self, owner: &FeedOwner, w: &Window, export: &ExportConfig) -> String {
        let f = &self.config.feed;
        let u = &owner.user;
        let basis = format!(
            "{}|{}|{}|{}|{}|{}|{:?}|{}|{}|{}",
            u.id.0,
            owner.version,
            w.from,
            w.to,
            f.refresh_minutes,
            export.event_minutes,
            u.reminder_minutes,
            u.display_name,
            self.config.public_url,
            env!("CARGO_PKG_VERSION"),
        );
        format!("\"{}\"", &hex::encode(Sha256::digest(basis.as_bytes()))[..32])
    }

    /// When the feed last changed: its last change, or the start of the
    /// window's first day (the window moves every day).
    fn feed_last_modified(&self, owner: &FeedOwner, w: &Window) -> Timestamp {
        let changed = Timestamp::from_millisecond(owner.changed_at).unwrap_or(Timestamp::UNIX_EPOCH);
        changed.max(w.today_at).min(self.now())
    }

    async fn render_feed(&self, owner: &FeedOwner, w: &Window) -> AppResult<String> {
        let now = self.now();
        let roles = self.store.roles(owner.user.id).await?;
        let p = Principal { user: owner.user.clone(), roles };
        let c = self.access.connectivity().await?;
        let mut entries: Vec<(String, EventSpec)> = Vec::new();
        let tasks = self
            .store
            .feed_tasks(
                p.user.id,
                p.login(),
                (w.from.to_string(), w.to.to_string()),
                (w.from_at.as_millisecond(), w.to_at.as_millisecond()),
            )
            .await?;
        for t in &tasks {
            match self.exports.deadline_entry_of(&p, t, 0, &c).await {
                Ok(ev) => entries.push((ExportSource::TaskDeadline(t.id).to_string(), ev)),
                Err(e) => tracing::warn!(task = t.id.0, error = %e, "a feed entry could not be made"),
            }
        }
        for source in self.store.feed_item_sources(p.user.id).await? {
            let Some(ExportSource::InstanceItem { instance, key }) = ExportSource::parse(&source) else { continue };
            // An item that no longer holds a date, or an instance out of
            // sight, is left out.
            if let Ok(ev) = self.exports.item_entry_in(&p, instance, &key, 0, &c).await {
                if w.contains(&ev.when) {
                    entries.push((source, ev));
                }
            }
        }
        // SEQUENCE and LAST-MODIFIED from what was served before.
        let marks = self.store.feed_marks(p.user.id).await?;
        let mut changed = Vec::new();
        let mut feed = Vec::with_capacity(entries.len());
        for (source, ev) in entries {
            let hash = ev.content_hash();
            let (sequence, modified) = match marks.get(&source) {
                Some(m) if m.content_hash == hash => (m.sequence, m.modified_at),
                // Served before the versioned hash and unchanged: the mark gets it, nothing moves.
                Some(m) if ev.unchanged_since(&m.content_hash) => {
                    let kept = FeedMark { content_hash: hash, sequence: m.sequence, modified_at: m.modified_at };
                    changed.push((source.clone(), kept));
                    (m.sequence, m.modified_at)
                }
                other => {
                    let sequence = other.map_or(0, |m| m.sequence + 1);
                    let modified = now.as_millisecond();
                    changed.push((source, FeedMark { content_hash: hash, sequence, modified_at: modified }));
                    (sequence, modified)
                }
            };
            let modified = Timestamp::from_millisecond(modified).unwrap_or(now);
            let event = EventSpec { sequence: u32::try_from(sequence).unwrap_or(u32::MAX), stamp: now, ..ev };
            feed.push(FeedEntry { event, modified });
        }
        self.store.save_feed_marks(p.user.id, changed).await?;
        feed.sort_by(|a, b| start_of(&a.event.when).cmp(&start_of(&b.event.when)).then(a.event.key.cmp(&b.event.key)));
        let name = format!("flowcal — {}", p.user.display_name);
        Ok(ical::feed(&name, self.config.feed.refresh_minutes, &feed))
    }
}

/// The span a feed shows.
#[derive(Debug)]
struct Window {
    from: jiff::civil::Date,
    to: jiff::civil::Date,
    from_at: Timestamp,
    to_at: Timestamp,
    /// The start of the owner's today: the window moved then.
    today_at: Timestamp,
}

impl Window {
    fn contains(&self, when: &When) -> bool {
        match when {
            When::Date(d) => *d >= self.from && *d <= self.to,
            When::At { at, .. } => *at >= self.from_at && *at < self.to_at,
        }
    }
}

/// An entry's start, for ordering (dates at midnight UTC).
fn start_of(when: &When) -> Timestamp {
    match when {
        When::Date(d) => d.to_zoned(TimeZone::UTC).map(|z| z.timestamp()).unwrap_or(Timestamp::UNIX_EPOCH),
        When::At { at, .. } => *at,
    }
}

/// Whether an `If-None-Match` list names `etag` (weak comparison, RFC 9110
/// §13.1.2; the gzipped representation's tag, with `-gz`, names it too).
fn etag_matches(header: &str, etag: &str) -> bool {
    let norm = |t: &str| t.trim_start_matches("W/").replace("-gz\"", "\"");
    let bare = norm(etag);
    header.split(',').map(str::trim).any(|t| t == "*" || norm(t) == bare)
}

/// The entity tag of the gzipped representation.
pub fn gzip_etag(etag: &str) -> String {
    match etag.strip_suffix('"') {
        Some(open) => format!("{open}-gz\""),
        None => format!("{etag}-gz"),
    }
}
