//! A test run leaves nothing behind: the processes a test starts stop with it
//! (also when it fails), and its PostgreSQL database is dropped. scripts/test
//! checks the whole run at its end (scripts/lib/leak-check.sh).

use crate::support::{Peer, TestApp, TestDb};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::Duration;

/// Running: not gone and not a zombie waiting for its parent (init) to reap it.
fn running(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| !rest.starts_with('Z')))
}

#[test]
fn a_peer_and_what_it_started_stop_when_the_test_panics() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // A shell that starts a process of its own, as chromedriver starts Chromium.
    let script = format!("sleep 300 & echo $$ $! > {}.part && mv {0}.part {0}; wait", pids.display());
    let failed = std::panic::catch_unwind(|| {
        let _peer = Peer::spawn_group(Command::new("sh").args(["-c", &script])).unwrap();
        for _ in 0..200 {
            if pids.exists() {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("a failing test, with its peer running");
    });
    assert!(failed.is_err());
    let pids = std::fs::read_to_string(&pids).unwrap().trim().to_owned();
    for pid in pids.split_whitespace() {
        let mut gone = false;
        for _ in 0..200 {
            gone = !running(pid);
            if gone {
                break;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        assert!(gone, "process {pid} (of {pids}) still runs after the test that started it failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
async fn a_test_database_is_dropped_after_the_test() {
    let db = TestDb::postgres().await;
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    // In use by the application (its pool holds connections) until the end.
    let t = TestApp::spawn(db).await;
    t.user("alice", false, &[]).await;
    drop(t);
    let base = std::env::var("FLOWCAL_TEST_DATABASE_URL").unwrap();
    let left: i64 = tokio::task::spawn_blocking(move || {
        let mut c = postgres::Client::connect(&base, postgres::NoTls).unwrap();
        c.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).unwrap().get(0)
    })
    .await
    .unwrap();
    assert_eq!(left, 0, "the test database is still on the server");
}

/// Leaks a process on purpose, to show scripts/test's end-of-run check failing:
/// `scripts/check-leaks cargo test -p flowcal --test it -- --ignored leaks::a_process_left_running_on_purpose`
#[test]
#[ignore = "leaks a process on purpose; run by hand under scripts/check-leaks"]
#[allow(clippy::zombie_processes)] // the leak is the point
fn a_process_left_running_on_purpose() {
    // Its own process group and never stopped, like the orphaned Chromium was.
    let child = Command::new("sleep").arg("300").process_group(0).spawn().unwrap();
    eprintln!("left running on purpose: sleep 300, pid {}", child.id());
}
