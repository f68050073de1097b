//! Benchmark (not a test): what saying a service's English message in the
//! reader's language costs a page (`Lang::translate`, see
//! `crates/flowcal-server/src/i18n/messages.rs`).
//!
//! - typical messages: a refused password, a missing task, a BPMN refusal
//!   with a step inside, a list of data problems, a CalDAV server's refusal
//!   inside the calendar service's, the lapse warning, and a text that fits
//!   no message (shown as written);
//! - the worst texts the bounds allow: 2 KiB of one separator repeated, so
//!   patterns with several values try every split until their steps run out.
//!
//! Each figure is the median of ROUNDS rounds, each translating the text
//! REPEAT times into German, after a warm-up round; the goal is well under
//! a millisecond for a typical message, so a page's one or two cost nothing.
//!
//! Run: `cargo bench -p flowcal --bench translate -- [ROUNDS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::i18n::Lang;
use std::hint::black_box;
use std::time::Instant;

const REPEAT: usize = 200;

fn median_micros(rounds: usize, text: &str) -> f64 {
    let mut each: Vec<f64> = (0..=rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..REPEAT {
                black_box(Lang::De.translate(black_box(text)));
            }
            start.elapsed().as_secs_f64() * 1e6 / REPEAT as f64
        })
        .skip(1)
        .collect();
    each.sort_by(f64::total_cmp);
    each[each.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(21);
    let typical = [
        ("refused password", "the current password is wrong: nothing was changed".to_owned()),
        ("missing task", "task 42 not found".to_owned()),
        (
            "BPMN refusal, step inside",
            "line 12, column 5: user task 'approve' (Approve) has no outgoing flow; every path must lead to an end event"
                .to_owned(),
        ),
        (
            "two data problems",
            "invalid data: due: a value is required; amount: expected a number".to_owned(),
        ),
        (
            "CalDAV inside the service",
            "the calendar service refused the credentials: the CalDAV server refused the username or app password"
                .to_owned(),
        ),
        (
            "lapse warning",
            "Google's access for flowcal lapses on Mon 7 Dec 2026 14:00 UTC (the provider's app is in testing): \
             connect this calendar again before then"
                .to_owned(),
        ),
        ("fits no message", "Kein Zugriff auf den Kalender".to_owned()),
    ];
    let worst: Vec<(&str, String)> = ["': '", " in ", "; ", " (", "'"]
        .into_iter()
        .map(|piece| (piece, piece.repeat(2048 / piece.len() - 1)))
        .collect();
    println!("| text | bytes | µs per text (median of {rounds} rounds of {REPEAT}) |");
    println!("|---|---|---|");
    for (what, text) in &typical {
        println!("| {what} | {} | {:.1} |", text.len(), median_micros(rounds, text));
    }
    for (piece, text) in &worst {
        println!("| worst: {piece:?} repeated | {} | {:.1} |", text.len(), median_micros(rounds, text));
    }
}
