//! The web app's languages: English, German and Japanese. The words live in
//! Fluent files (`locales/LANG/*.ftl`, see `locales/README.md`) that a
//! translator edits without touching code; they are built into the binary.
//! A page's language is the user's setting, else the browser's
//! `Accept-Language`, else English. Dates are put together from each
//! language's own patterns and names.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::LazyLock;

mod messages;

/// A language of the web app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Ja,
}

/// The message files, each in every language (en, de, ja).
macro_rules! ftl {
    ($($file:literal),* $(,)?) => {
        [$([
            ($file, include_str!(concat!("../locales/en/", $file, ".ftl"))),
            ($file, include_str!(concat!("../locales/de/", $file, ".ftl"))),
            ($file, include_str!(concat!("../locales/ja/", $file, ".ftl"))),
        ]),*]
    };
}
const FILES: [[(&str, &str); 3]; 14] = ftl!(
    "common",
    "frame",
    "tasks",
    "models",
    "settings",
    "admin",
    "work-calendars",
    "calendar",
    "team",
    "messages-server",
    "messages-data",
    "messages-bpmn",
    "messages-calendar",
    "messages-caldav",
);

/// A header longer than this, or with more entries, is read only that far.
const MAX_ACCEPT_LANGUAGE: usize = 4096;
const MAX_ACCEPT_ENTRIES: usize = 32;

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Ja];

    /// The BCP 47 code, as in `<html lang>` and the stored setting.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Ja => "ja",
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::De => 1,
            Lang::Ja => 2,
        }
    }

    /// A language tag (`de`, `de-AT`, `JA-jp`) as one of ours, by its primary subtag.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first of ours the browser asks for, by its q-values (RFC 9110 §12.5.4).
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        let header = match header.char_indices().nth(MAX_ACCEPT_LANGUAGE) {
            Some((cut, _)) => &header[..cut],
            None => header,
        };
        let mut wanted: Vec<(u16, usize, Lang)> = Vec::new();
        for (order, entry) in header.split(',').take(MAX_ACCEPT_ENTRIES).enumerate() {
            let mut parts = entry.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else { continue };
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .map(quality)
                .next()
                .unwrap_or(Some(1000));
            match q {
                Some(q) if q > 0 => wanted.push((q, order, lang)),
                _ => {}
            }
        }
        // Highest quality first; among equals, the order given.
        wanted.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        wanted.first().map(|w| w.2)
    }

    /// The page's language: the user's setting, else the browser's, else English.
    pub fn choose(setting: Option<&str>, accept_language: Option<&str>) -> Lang {
        setting
            .and_then(Lang::parse)
            .or_else(|| accept_language.and_then(Lang::from_accept_language))
            .unwrap_or_default()
    }

    /// The message `id` in this language (in English where it is missing).
    pub fn t(self, id: &str) -> String {
        self.format(id, None)
    }

    /// The message `id` with its placeables filled.
    pub fn t_with(self, id: &str, args: &[(&str, FluentValue<'_>)]) -> String {
        let mut a = FluentArgs::new();
        for (name, value) in args {
            a.set(*name, value.clone());
        }
        self.format(id, Some(&a))
    }

    fn format(self, id: &str, args: Option<&FluentArgs<'_>>) -> String {
        for bundle in [&BUNDLES[self.index()], &BUNDLES[0]] {
            if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
                let mut errors = Vec::new();
                let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
                if !errors.is_empty() {
                    tracing::warn!(id, lang = self.code(), ?errors, "a message could not be filled in wholly");
                }
                return text;
            }
        }
        tracing::warn!(id, "no such message in any language");
        id.to_owned()
    }

    /// What a service said in English (`AppError` texts, refusals, the
    /// calendar service's answers), said in this language: see `messages`.
    pub fn translate(self, english: &str) -> String {
        let mut steps = messages::MAX_STEPS;
        self.translate_at(english, 0, &mut steps)
    }

    fn translate_at(self, english: &str, depth: usize, steps: &mut u32) -> String {
        if self == Lang::En || depth > messages::MAX_DEPTH {
            return english.to_owned();
        }
        let Some((known, values)) = messages::find(&KNOWN, english, steps) else {
            // A list of messages is said message by message.
            if english.contains(messages::LIST_SEPARATOR) && depth < messages::MAX_DEPTH {
                let pieces: Vec<String> = english
                    .split(messages::LIST_SEPARATOR)
                    .map(|piece| self.translate_at(piece, depth, steps))
                    .collect();
                return pieces.join(messages::LIST_SEPARATOR);
            }
            return english.to_owned();
        };
        let values: Vec<(&str, FluentValue<'_>)> = values
            .into_iter()
            .map(|(name, value)| match whole_number(value) {
                // A count, so that a language's plural forms can follow it.
                Some(n) => (name, n.into()),
                None => (name, self.translate_at(value, depth + 1, steps).into()),
            })
            .collect();
        self.t_with(&known.id, &values)
    }

    /// A date, as this language writes it: "Mon 7 Dec 2026", "Mo., 7. Dez. 2026", "2026年12月7日(月)".
    pub fn date(self, d: jiff::civil::Date) -> String {
        let weekday = self.t(&format!("weekday-{}", d.weekday().to_monday_one_offset()));
        let month = self.t(&format!("month-{}", d.month()));
        self.t_with(
            "date-long",
            &[
                ("weekday", weekday.into()),
                ("day", i64::from(d.day()).into()),
                ("month", month.into()),
                ("month-number", i64::from(d.month()).into()),
                ("year", d.year().to_string().into()),
            ],
        )
    }

    /// A date and a 24-hour time, with the zone's abbreviation where given.
    pub fn date_time(self, z: &jiff::Zoned) -> String {
        let time = z.strftime("%H:%M %Z").to_string();
        self.t_with("date-time", &[("date", self.date(z.date()).into()), ("time", time.into())])
    }
}

/// `value` as a number, where it is written as one ("12", not "012" or "1e3").
fn whole_number(value: &str) -> Option<i64> {
    let plain = !value.is_empty() && value.len() <= 15 && value.bytes().all(|b| b.is_ascii_digit());
    (plain && (value == "0" || !value.starts_with('0'))).then(|| value.parse().ok()).flatten()
}

/// A q-value (`0`, `0.5`, `1.000`) in thousandths; None when malformed.
fn quality(q: &str) -> Option<u16> {
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{frac:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// The English messages of the `messages-*` files, read once.
static KNOWN: LazyLock<Vec<messages::Known>> =
    LazyLock::new(|| messages::known(&FILES.iter().map(|f| f[0]).collect::<Vec<_>>()));

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 3]> = LazyLock::new(|| Lang::ALL.map(|lang| bundle(lang).0));

/// A language's bundle, with what was wrong in its files (none, as the tests check).
fn bundle(lang: Lang) -> (FluentBundle<FluentResource>, Vec<String>) {
    let id: unic_langid::LanguageIdentifier = lang.code().parse().unwrap_or_default();
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // maud escapes every value; Unicode isolation marks would only show as noise.
    b.set_use_isolating(false);
    let mut problems = Vec::new();
    for file in &FILES {
        let (name, source) = file[lang.index()];
        let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(partial, errors)| {
            problems.push(format!("{}/{name}.ftl: {errors:?}", lang.code()));
            partial
        });
        if let Err(errors) = b.add_resource(resource) {
            problems.push(format!("{}/{name}.ftl: {errors:?}", lang.code()));
        }
    }
    (b, problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fluent_syntax::ast;

    fn ids(source: &str) -> Vec<String> {
        let r = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
        r.entries()
            .filter_map(|e| match e {
                ast::Entry::Message(m) => Some(m.id.name.to_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_file_parses_and_every_language_has_every_message() {
        for lang in Lang::ALL {
            let (_, problems) = bundle(lang);
            assert!(problems.is_empty(), "{problems:?}");
        }
        for file in &FILES {
            let english = ids(file[0].1);
            for (lang, (name, source)) in Lang::ALL.into_iter().zip(file).skip(1) {
                let theirs = ids(source);
                let missing: Vec<_> = english.iter().filter(|id| !theirs.contains(id)).collect();
                let extra: Vec<_> = theirs.iter().filter(|id| !english.contains(id)).collect();
                assert!(missing.is_empty(), "{}/{name}.ftl lacks {missing:?}", lang.code());
                assert!(extra.is_empty(), "{}/{name}.ftl has {extra:?}, which English lacks", lang.code());
            }
        }
    }

    #[test]
    fn the_language_is_the_setting_else_the_browsers() {
        assert_eq!(Lang::choose(Some("de"), Some("ja")), Lang::De);
        assert_eq!(Lang::choose(None, Some("ja-JP,ja;q=0.9,en;q=0.8")), Lang::Ja);
        assert_eq!(Lang::choose(Some("fr"), Some("de-DE")), Lang::De, "a setting we do not have");
        assert_eq!(Lang::choose(None, None), Lang::En);
        assert_eq!(Lang::choose(None, Some("fr-CH, fr;q=0.9, *;q=0.5")), Lang::En);
        // q-values decide, then the order.
        assert_eq!(Lang::from_accept_language("en;q=0.4, de;q=0.8, ja;q=0.6"), Some(Lang::De));
        assert_eq!(Lang::from_accept_language("ja, de"), Some(Lang::Ja));
        assert_eq!(Lang::from_accept_language("de;q=0, ja;q=0.1"), Some(Lang::Ja), "q=0 means not wanted");
        assert_eq!(Lang::from_accept_language("de;q=2, ja;q=0.1"), Some(Lang::Ja), "a malformed q is skipped");
        assert_eq!(Lang::from_accept_language("DE-at"), Some(Lang::De));
        assert_eq!(Lang::from_accept_language(""), None);
        // Hostile headers are read only so far.
        let long = format!("{}de", "x-y;q=0.1,".repeat(100_000));
        assert_eq!(Lang::from_accept_language(&long), None);
        assert_eq!(Lang::from_accept_language(&"ja,".repeat(100_000)), Some(Lang::Ja));
    }

    #[test]
    fn messages_and_dates_in_each_language() {
        assert!(!ids(FILES[0][0].1).is_empty());
        assert_eq!(Lang::En.t("nav-my-tasks"), "My tasks");
        assert_eq!(Lang::De.t("nav-my-tasks"), "Meine Aufgaben");
        assert_eq!(Lang::Ja.t("nav-my-tasks"), "自分のタスク");
        assert_eq!(Lang::Ja.t("no-such-message"), "no-such-message");
        let d = jiff::civil::date(2026, 12, 7);
        assert_eq!(Lang::En.date(d), "Mon 7 Dec 2026");
        assert_eq!(Lang::De.date(d), "Mo., 7. Dez. 2026");
        assert_eq!(Lang::Ja.date(d), "2026年12月7日(月)");
        let z = jiff::civil::date(2026, 3, 1).at(9, 5, 0, 0).in_tz("Europe/Berlin").unwrap();
        assert_eq!(Lang::En.date_time(&z), "Sun 1 Mar 2026, 09:05 CET");
        assert_eq!(Lang::De.date_time(&z), "So., 1. März 2026, 09:05 CET");
        assert_eq!(Lang::Ja.date_time(&z), "2026年3月1日(日) 09:05 CET");
    }
}
