//! Benchmark (not a test): a user's iCal feed of N deadlines (10,000 by
//! default). The time to render it (cold: every entry's SEQUENCE recorded;
//! after a change: read back), then `wrk` with 64 connections against the
//! feed URL for full responses rendered on every request (a second flowcal
//! on the same database with `[feed] cache_megabytes = 0`), for full
//! responses from the cache, and for `304 Not Modified`, beside Radicale
//! serving the same N events as one collection (`GET` of the calendar) in the
//! same run; every load runs for the same SECONDS. A 304's cost at the server
//! is also measured in-process (the feed call alone, without HTTP).
//!
//! Run: `scripts/bench-feed [DEADLINES] [SECONDS]` (needs `wrk` and the peers venv).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowcal_server::clock::SystemClock;
use flowcal_server::config::Config;
use flowcal_server::feed::{Conditions, FeedAnswer};
use flowcal_server::principal::Principal;
use serde_json::Map;
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

mod common;
use common::radicale;

const MODEL: &str = include_str!("../../../tests/peers/one-deadline.bpmn");

/// What `wrk` measured.
struct Load {
    requests_per_second: f64,
    p50: String,
    p99: String,
    non_2xx: String,
}

fn wrk(url: &str, seconds: u64, connections: u32, headers: &[String]) -> Load {
    let mut cmd = Command::new("wrk");
    let threads = connections.min(2);
    cmd.args([
        &format!("-t{threads}"),
        &format!("-c{connections}"),
        &format!("-d{seconds}s"),
        "--latency",
        "--timeout",
        "60s",
    ]);
    for h in headers {
        cmd.args(["-H", h]);
    }
    let out = cmd.arg(url).output().expect("wrk must be installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "wrk failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    let field = |prefix: &str| -> String {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()))
            .unwrap_or_else(|| "-".into())
    };
    Load {
        requests_per_second: field("Requests/sec:").parse().unwrap_or(0.0),
        p50: field("50%"),
        p99: field("99%"),
        non_2xx: field("Non-2xx or 3xx responses:"),
    }
}

/// flowcal served on 127.0.0.1 from `data` (its SQLite database), with `feed`
/// as its `[feed]` section. Both flowcals have the same public URL, so that
/// they serve the same feed (its links, its entity tag).
async fn serve(data: &std::path::Path, feed: &str) -> (Arc<flowcal_server::app::App>, std::net::SocketAddr) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let toml = format!(
        "listen = \"{addr}\"\npublic_url = \"http://flowcal.example\"\ndata_dir = \"{}\"\nlog = \"warn\"\n\
         [delivery]\nworkers = 0\n[feed]\n{feed}\n",
        data.display()
    );
    let app =
        flowcal_server::build(Config::from_parts(&toml, "bench", &[]).unwrap(), Arc::new(SystemClock)).await.unwrap();
    let served = app.clone();
    tokio::spawn(async move { flowcal_server::serve(served, listener, std::future::pending()).await });
    (app, addr)
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1).filter_map(|a| a.parse::<u64>().ok());
    let n = args.next().unwrap_or(10_000) as usize;
    let seconds = args.next().unwrap_or(30);
    let python = std::env::var("FLOWCAL_PEER_PYTHON").expect("FLOWCAL_PEER_PYTHON (scripts/bench-feed sets it)");

    let dir = tempfile::tempdir().unwrap();
    let (app, addr) = serve(dir.path(), "").await;
    let user = app.access.add_user("alice", false, &[], None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    let user = app.access.update_settings(&p, None, Some(true), None).await.unwrap();
    let p = Principal { user, roles: vec![] };
    app.workflow.import_model(None, MODEL.as_bytes()).await.unwrap();
    let empty = Map::new();
    let started = Instant::now();
    for i in 0..n {
        app.workflow
            .start_instance(&p, "due", &format!("Case {i}, with a title of a usual length"), &empty)
            .await
            .unwrap();
    }
    println!("{n} open tasks with deadlines made in {:.1} s", started.elapsed().as_secs_f64());
    let public = app.feeds.new_feed(&p).await.unwrap().url.unwrap();
    let token = public.rsplit('/').next().unwrap().trim_end_matches(".ics").to_owned();
    let url = format!("http://{addr}/feeds/{token}.ics");
    let http = reqwest::Client::new();

    // Rendering: cold (every entry's SEQUENCE recorded), then after a change.
    let t = Instant::now();
    let body = http.get(&url).send().await.unwrap().text().await.unwrap();
    let cold = t.elapsed().as_secs_f64();
    let events = body.matches("BEGIN:VEVENT").count();
    assert_eq!(events, n);
    app.workflow.start_instance(&p, "due", "One more", &empty).await.unwrap();
    let t = Instant::now();
    let resp = http.get(&url).send().await.unwrap();
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let body = resp.text().await.unwrap();
    let warm = t.elapsed().as_secs_f64();
    assert_eq!(body.matches("BEGIN:VEVENT").count(), n + 1);
    println!(
        "feed of {} events, {:.1} MB: first render {:.0} ms, render after a change {:.0} ms",
        n + 1,
        body.len() as f64 / 1e6,
        cold * 1e3,
        warm * 1e3
    );

    // A 304 at the server: the feed call alone, in-process.
    let cond = Conditions { if_none_match: Some(etag.clone()), if_modified_since: None };
    let rounds = 20_000;
    let t = Instant::now();
    for _ in 0..rounds {
        assert!(matches!(app.feeds.feed(&token, &cond).await.unwrap(), FeedAnswer::NotModified { .. }));
    }
    let per_304 = t.elapsed().as_secs_f64() / f64::from(rounds);
    println!("304 at the server (in-process, {rounds} calls): {:.1} µs each", per_304 * 1e6);

    let full = wrk(&url, seconds, 64, &[]);
    // The same feed from a flowcal that keeps no rendered feed: every 200 is a render.
    let (_uncached_app, uncached_addr) = serve(dir.path(), "cache_megabytes = 0").await;
    let uncached_url = format!("http://{uncached_addr}/feeds/{token}.ics");
    let probe = http.get(&uncached_url).send().await.unwrap();
    assert_eq!(probe.headers()["etag"].to_str().unwrap(), etag, "both serve the same feed");
    let uncached = wrk(&uncached_url, seconds, 64, &[]);
    let not_modified = wrk(&url, seconds, 64, &[format!("If-None-Match: {etag}")]);
    // One connection: a 304's latency without queueing behind 63 others.
    let not_modified_one = wrk(&url, seconds, 1, &[format!("If-None-Match: {etag}")]);

    // Radicale with the same events as one collection.
    let r = radicale(&python);
    let collection = format!("http://127.0.0.1:{}/alice/feed/", r.port);
    let t = Instant::now();
    let put = http
        .put(&collection)
        .basic_auth("alice", Some("pw"))
        .header("content-type", "text/calendar")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "Radicale PUT: {}", put.status());
    println!("Radicale took the {} events as one calendar in {:.1} s", n + 1, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let got = http.get(&collection).basic_auth("alice", Some("pw")).send().await.unwrap().text().await.unwrap();
    println!(
        "Radicale: one GET of the collection {:.0} ms ({} events)",
        t.elapsed().as_secs_f64() * 1e3,
        got.matches("BEGIN:VEVENT").count()
    );
    // Basic alice:pw
    let radicale_load = wrk(&collection, seconds, 64, &["Authorization: Basic YWxpY2U6cHc=".to_owned()]);

    println!();
    println!("64 connections unless said otherwise; each load for {seconds} s");
    println!("| server | response | requests/s | p50 | p99 | non-2xx/3xx |");
    println!("|---|---|---|---|---|---|");
    for (who, what, l) in [
        ("flowcal", "full feed (200), rendered each time", &uncached),
        ("flowcal", "full feed (200), from the cache", &full),
        ("flowcal", "not modified (304)", &not_modified),
        ("flowcal", "not modified (304), 1 connection", &not_modified_one),
        ("Radicale 3.9", "full collection (200)", &radicale_load),
    ] {
        println!("| {who} | {what} | {:.1} | {} | {} | {} |", l.requests_per_second, l.p50, l.p99, l.non_2xx);
    }
    println!();
    let radicale_rate = radicale_load.requests_per_second.max(f64::MIN_POSITIVE);
    println!(
        "flowcal / Radicale on full responses: {:.0}x rendered each time, {:.0}x from the cache",
        uncached.requests_per_second / radicale_rate,
        full.requests_per_second / radicale_rate
    );
}
