//! What several benchmarks share: a Radicale of their own.
#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

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
