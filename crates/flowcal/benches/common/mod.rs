//! What several benchmarks share: a Radicale of their own, and a CalDAV
//! double that answers at once.
#![allow(dead_code)]

use axum::body::Body;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A running Radicale with one user, `alice`, password `pw`; stopped when dropped.
pub struct Radicale {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Radicale {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts Radicale with the peers venv's `python`.
pub fn radicale(python: &str) -> Radicale {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    std::fs::write(dir.path().join("users"), "alice:pw\n").unwrap();
    let config = format!(
        "[server]\nhosts = 127.0.0.1:{port}\n[auth]\ntype = htpasswd\nhtpasswd_filename = {d}/users\n\
         htpasswd_encryption = plain\n[rights]\ntype = owner_only\n[storage]\nfilesystem_folder = {d}/data\n\
         [logging]\nlevel = warning\n",
        d = dir.path().display()
    );
    std::fs::write(dir.path().join("config"), config).unwrap();
    let child = Command::new(python)
        .args(["-m", "radicale", "--config"])
        .arg(dir.path().join("config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let r = Radicale { child, port, _dir: dir };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return r;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("Radicale did not start");
}

const MULTISTATUS: &str = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:response><d:href>HREF</d:href>
<d:propstat><d:prop><d:current-user-principal><d:href>/u/</d:href></d:current-user-principal>
<c:calendar-home-set><d:href>/u/</d:href></c:calendar-home-set>
<d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>flowcal</d:displayname>
<c:supported-calendar-component-set><c:comp name="VEVENT"/></c:supported-calendar-component-set>
</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>"#;

/// A CalDAV server that stores nothing and answers at once.
pub async fn caldav_double() -> (u16, Arc<AtomicUsize>) {
    let puts = Arc::new(AtomicUsize::new(0));
    let counter = puts.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let counter = counter.clone();
        async move {
            let path = req.uri().path().to_owned();
            match req.method().as_str() {
                "PROPFIND" => Response::builder()
                    .status(StatusCode::MULTI_STATUS)
                    .header("content-type", "application/xml; charset=utf-8")
                    .body(Body::from(MULTISTATUS.replace("HREF", &path)))
                    .unwrap(),
                "PUT" => {
                    counter.fetch_add(1, Ordering::Relaxed);
                    Response::builder().status(StatusCode::CREATED).header("etag", "\"1\"").body(Body::empty()).unwrap()
                }
                _ => Response::builder().status(StatusCode::OK).body(Body::empty()).unwrap(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, puts)
}
