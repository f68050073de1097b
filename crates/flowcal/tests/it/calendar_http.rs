//! One HTTP client per process for calendar calls: a CalDAV server of the
//! test's own that keeps connections open (HTTP/1.1 keep-alive) and counts
//! them sees the account check and several delivery passes come over the
//! same connections, and new ones only after the administrator changed the
//! allow-list (a connection opened under the old rules is not used again).

use crate::support::{LeaveCase, TestApp, TestDb};
use reqwest::Method;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CalDAV account at /alice/ (principal and calendar home) holding
/// flowcal's calendar; every connection is kept open and serves any number
/// of requests.
struct KeepAlive {
    port: u16,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

impl KeepAlive {
    async fn start() -> KeepAlive {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (connections, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let (accepted, served) = (connections.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, served.clone()));
            }
        });
        KeepAlive { port, connections, requests }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn serve(mut stream: TcpStream, served: Arc<AtomicUsize>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // One request: the head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let length: usize = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + 4 + length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..head_end + 4 + length);
        served.fetch_add(1, Ordering::SeqCst);
        let mut start = head.split("\r\n").next().unwrap_or_default().split(' ');
        let (method, path) = (start.next().unwrap_or_default(), start.next().unwrap_or_default());
        let (status, body) = answer(method, path);
        let out = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/xml; charset=utf-8\r\nETag: \"1\"\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if stream.write_all(out.as_bytes()).await.is_err() {
            return;
        }
    }
}

fn answer(method: &str, path: &str) -> (&'static str, String) {
    let props = |href: &str, props: &str| {
        format!(
            "<D:multistatus xmlns:D=\"DAV:\" xmlns:C=\"urn:ietf:params:xml:ns:caldav\"><D:response><D:href>{href}\
             </D:href><D:propstat><D:prop>{props}</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>\
             </D:response></D:multistatus>"
        )
    };
    match (method, path) {
        ("PROPFIND", "/alice/") => (
            "207 Multi-Status",
            props("/alice/", "<C:calendar-home-set><D:href>/alice/</D:href></C:calendar-home-set>"),
        ),
        ("PROPFIND", "/alice/flowcal/") => (
            "207 Multi-Status",
            props(
                "/alice/flowcal/",
                "<D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>flowcal</D:displayname>",
            ),
        ),
        ("PUT", p) if p.starts_with("/alice/flowcal/") => ("201 Created", String::new()),
        _ => ("404 Not Found", String::new()),
    }
}

#[tokio::test]
async fn calendar_calls_reuse_connections_across_delivery_passes() {
    let server = KeepAlive::start().await;
    let port = server.port;
    let t = TestApp::spawn_with(TestDb::sqlite(), &format!("[caldav]\nallowed_hosts = [\"127.0.0.1:{port}\"]\n")).await;
    let LeaveCase { admin, alice, account, task } =
        t.leave_case_on_caldav(&format!("http://127.0.0.1:{port}/alice/"), "pw").await;
    // Nothing is delivered while the case is set up (no worker runs).
    assert_eq!((server.connections(), server.requests()), (1, 1), "the account check");

    // One delivery pass per export: each reaches the server, and is synced.
    let pass = |source: &'static str| {
        let (t, alice) = (&t, alice.clone());
        async move {
            let (s, e) =
                t.post("/api/v1/exports", &alice, json!({"task": task, "source": source, "account": account})).await;
            assert_eq!(s, 202, "{e}");
            assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
            let (_, e) = t.get(&format!("/api/v1/exports/{}", e["id"]), &alice).await;
            assert_eq!(e["state"], "synced", "{source}: {e}");
            e["id"].as_i64().unwrap()
        }
    };
    pass("deadline").await;
    let after_first = (server.connections(), server.requests());
    // Reads (PROPFIND) and writes (PUT, which follows no redirect) have a client each.
    assert_eq!(after_first.0, 2, "the account check's connection read the calendar; the PUT opened one");
    let first_day = pass("item:first_day").await;
    pass("item:handover").await;
    assert!(server.requests() >= after_first.1 + 2, "{} requests", server.requests());
    assert_eq!(server.connections(), after_first.0, "later passes reuse the connections");

    // Another allow-list: new clients, new connections; the old ones are not used.
    let hosts = json!({"caldav": {"allowed_hosts": [format!("127.0.0.1:{port}"), "caldav.example.org"], "allowed_networks": []}});
    assert_eq!(t.call(Method::PATCH, "/api/v1/admin/settings", &admin, Some(hosts)).await.0, 200);
    let before = server.connections();
    let (s, e) = t.call(Method::DELETE, &format!("/api/v1/exports/{first_day}"), &alice, None).await;
    assert!(s < 300, "{s}: {e}");
    assert_eq!(t.app.exports.deliver_due().await.unwrap(), 1);
    let (_, e) = t.get(&format!("/api/v1/exports/{first_day}"), &alice).await;
    assert_eq!(e["state"], "removed", "{e}");
    assert_eq!(server.connections(), before + 1, "the DELETE came over a connection under the new allow-list");
}
