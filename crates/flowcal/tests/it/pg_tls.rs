//! PostgreSQL over TLS as `database_url`'s `sslmode` and `sslrootcert` say
//! (libpq's rules): against the machine's PostgreSQL, against a cluster started
//! here that takes only TLS with a password, and against a server that declines
//! TLS, which shows that no password goes out in the clear under `require`.
//!
//! The PostgreSQL tests are built as ignored (listed as skipped, with the
//! reason) without `FLOWCAL_TEST_DATABASE_URL`; the cluster test also needs the
//! PostgreSQL server binaries (`/usr/lib/postgresql/*/bin`) and `openssl`,
//! which come with the machine's PostgreSQL.

use flowcal_store::{postgres_session_tls, redact_url, Store};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// An error and its causes, as `flowcal` prints them.
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Opens a store on `url`; returns the TLS version its sessions run over.
async fn encrypted(url: &str) -> String {
    let store = Store::connect(url).await.unwrap_or_else(|e| panic!("{}: {}", redact_url(url), chain(&e)));
    store.close();
    let tls = postgres_session_tls(url).await.unwrap_or_else(|e| panic!("{}: {}", redact_url(url), chain(&e)));
    tls.unwrap_or_else(|| panic!("{}: the session is not encrypted", redact_url(url)))
}

/// Opening a store on `url` fails: the whole error, which must not show the password.
async fn refused(url: &str) -> String {
    let e = match Store::connect(url).await {
        Ok(_) => panic!("{} was accepted", redact_url(url)),
        Err(e) => chain(&e),
    };
    let password = url.split_once("://").and_then(|(_, r)| r.split_once('@')).and_then(|(c, _)| c.split_once(':'));
    if let Some((_, password)) = password {
        assert!(!e.contains(password), "the error shows the password: {e}");
    }
    e
}

// ---- a server that declines TLS -----------------------------------------------------------------

/// PostgreSQL's SSLRequest: length 8, code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f];

/// Reads one protocol message (with its type byte when `typed`), at most 64 KiB.
fn read_message(s: &mut std::net::TcpStream, typed: bool) -> Option<Vec<u8>> {
    let mut head = vec![0u8; if typed { 5 } else { 4 }];
    s.read_exact(&mut head).ok()?;
    let len = u32::from_be_bytes(head[head.len() - 4..].try_into().ok()?) as usize;
    if !(4..=65536).contains(&len) {
        return Some(head);
    }
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).ok()?;
    head.extend(body);
    Some(head)
}

/// A server on a free port that answers the SSLRequest with 'N' (no TLS) and
/// then, if the client goes on in the clear, asks for its password in
/// cleartext. Hands back every byte the client sent.
fn declining_server() -> (u16, std::thread::JoinHandle<Vec<u8>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        // A bound, not a timing assertion: a client that hangs fails the test.
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut got = Vec::new();
        let Some(request) = read_message(&mut s, false) else { return got };
        got.extend(&request);
        if request != SSL_REQUEST {
            return got;
        }
        s.write_all(b"N").unwrap();
        let Some(startup) = read_message(&mut s, false) else { return got };
        got.extend(startup);
        // AuthenticationCleartextPassword.
        s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 3]).unwrap();
        if let Some(password) = read_message(&mut s, true) {
            got.extend(password);
        }
        got
    });
    (port, server)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_sends_no_password_to_a_server_without_tls() {
    const PASSWORD: &str = "never-in-the-clear";
    for mode in ["require", "verify-ca", "verify-full"] {
        let (port, server) = declining_server();
        let e = refused(&format!("postgres://flowcal:{PASSWORD}@127.0.0.1:{port}/flowcal?sslmode={mode}")).await;
        let sent = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
        assert_eq!(sent, SSL_REQUEST, "sslmode={mode}: the client sent more than the SSLRequest");
        assert!(e.contains("does not accept TLS") && e.contains("password was not sent"), "{mode}: {e}");
        assert!(!e.contains(PASSWORD), "{e}");
    }
    // The contrast that shows the server would have got it: prefer goes on in
    // the clear, with the startup message and then the password.
    let (port, server) = declining_server();
    refused(&format!("postgres://flowcal:{PASSWORD}@127.0.0.1:{port}/flowcal?sslmode=prefer")).await;
    let sent = tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
    assert!(sent.starts_with(&SSL_REQUEST) && sent.len() > 8, "prefer did not go on: {sent:?}");
    assert!(contains(&sent, b"flowcal") && contains(&sent, PASSWORD.as_bytes()), "prefer: {sent:?}");
}

// ---- the machine's PostgreSQL --------------------------------------------------------------------

fn with_params(url: &str, params: &str) -> String {
    format!("{url}{}{params}", if url.contains('?') { '&' } else { '?' })
}

/// The machine's PostgreSQL has TLS on with a self-signed certificate (as
/// Debian sets it up, "snakeoil").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
async fn the_machines_postgresql_over_tls() {
    let base = std::env::var("FLOWCAL_TEST_DATABASE_URL").expect("FLOWCAL_TEST_DATABASE_URL");
    let url = |params: &str| with_params(&base, params);

    let version = encrypted(&url("sslmode=require")).await;
    assert!(version.starts_with("TLS"), "{version}");
    // No sslmode is prefer: encrypted when the server offers TLS.
    assert!(postgres_session_tls(&base).await.unwrap().is_some(), "the default (prefer) did not encrypt");
    // Its certificate is signed by no CA flowcal knows.
    let e = refused(&url("sslmode=verify-full")).await;
    assert!(e.contains("certificate is not signed by a CA in the system roots (sslmode=verify-full)"), "{e}");
    assert!(e.contains(&redact_url(&url("sslmode=verify-full"))), "{e}");

    let store = Store::connect(&url("sslmode=disable")).await.unwrap();
    store.close();
    assert_eq!(postgres_session_tls(&url("sslmode=disable")).await.unwrap(), None);
}

// ---- a cluster that takes only TLS ---------------------------------------------------------------

const PASSWORD: &str = "tls-0nly-s3cret";

/// A PostgreSQL cluster in a temporary folder, with its own CA, that accepts
/// user `flowcal` only over TLS with a password. Dropping it (also when the
/// test fails) stops the server and removes the folder.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Running as root: the server's programs run as user postgres (initdb refuses root).
    as_postgres: bool,
    started: bool,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.started {
            let data = self.path("data");
            let out = self.pg("pg_ctl").arg("-D").arg(&data).args(["-m", "immediate", "-w", "stop"]).output();
            if !out.as_ref().is_ok_and(|o| o.status.success()) {
                eprintln!("warning: could not stop the test cluster in {}: {out:?}", data.display());
            }
        }
    }
}

/// The newest PostgreSQL server's programs on the machine.
fn server_bin() -> PathBuf {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin).expect(
        "no PostgreSQL server under /usr/lib/postgresql/*/bin: install it (apt-get install postgresql) to run this test",
    )
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs `openssl` in `dir` with whitespace-separated arguments.
fn openssl(dir: &Path, args: &str) {
    run(Command::new("openssl").current_dir(dir).args(args.split_whitespace()));
}

impl Cluster {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// One of the server's programs, run as the user that owns the cluster.
    fn pg(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        cmd.current_dir(self.dir.path());
        cmd
    }

    fn start() -> Cluster {
        let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = free.local_addr().unwrap().port();
        drop(free);
        let as_postgres = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        let mut cluster =
            Cluster { dir: tempfile::tempdir().unwrap(), bin: server_bin(), port, as_postgres, started: false };
        let dir = cluster.dir.path().to_owned();

        // Two CAs (the server's, and one that signed nothing of it); the
        // server's certificate names localhost and 127.0.0.1, and is signed
        // with SHA-384 (the hash channel binding must then use).
        for ca in ["ca", "other-ca"] {
            openssl(
                &dir,
                &format!(
                    "req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
                     -keyout {ca}.key -out {ca}.crt -days 2 -subj /CN=flowcal-test-{ca}"
                ),
            );
        }
        std::fs::write(
            dir.join("server.ext"),
            "subjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n\
             basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\n",
        )
        .unwrap();
        openssl(
            &dir,
            "req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
             -keyout server.key -out server.csr -subj /CN=localhost",
        );
        openssl(
            &dir,
            "x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
             -out server.crt -days 2 -sha384 -extfile server.ext",
        );
        // The server refuses a key others may read.
        std::fs::set_permissions(dir.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        if as_postgres {
            let id = |flag: &str| -> u32 {
                let out = run(Command::new("id").args([flag, "postgres"]));
                String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
            };
            let (uid, gid) = (id("-u"), id("-g"));
            for entry in std::fs::read_dir(&dir).unwrap() {
                std::os::unix::fs::chown(entry.unwrap().path(), Some(uid), Some(gid)).unwrap();
            }
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
        }

        let data = dir.join("data");
        run(cluster.pg("initdb").arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "--locale=C",
            "-E",
            "UTF8",
        ]));
        let mut conf = std::fs::OpenOptions::new().append(true).open(data.join("postgresql.conf")).unwrap();
        write!(
            conf,
            "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{dir}'\n\
             ssl = on\nssl_cert_file = '{dir}/server.crt'\nssl_key_file = '{dir}/server.key'\nfsync = off\n",
            dir = dir.display()
        )
        .unwrap();
        // Over TCP only TLS with a password; the test's own set-up uses the socket.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all postgres trust\n\
             hostssl flowcal flowcal 127.0.0.1/32 scram-sha-256\n\
             host all all 127.0.0.1/32 reject\n",
        )
        .unwrap();

        cluster.started = true;
        let log = dir.join("server.log");
        let started =
            cluster.pg("pg_ctl").arg("-D").arg(&data).arg("-l").arg(&log).args(["-w", "-t", "60", "start"]).output();
        if !started.as_ref().is_ok_and(|o| o.status.success()) {
            panic!(
                "the test cluster did not start: {started:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }

        let mut admin = postgres::Config::new()
            .host_path(&dir)
            .port(port)
            .user("postgres")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .unwrap();
        admin.batch_execute(&format!("CREATE ROLE flowcal LOGIN PASSWORD '{PASSWORD}'")).unwrap();
        admin.batch_execute("CREATE DATABASE flowcal OWNER flowcal").unwrap();
        cluster
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(flowcal_postgres), ignore = "PostgreSQL: built without FLOWCAL_TEST_DATABASE_URL")]
async fn a_server_that_takes_only_tls() {
    let cluster = tokio::task::spawn_blocking(Cluster::start).await.unwrap();
    let port = cluster.port;
    let (ca, other_ca) = (cluster.path("ca.crt"), cluster.path("other-ca.crt"));
    let (ca, other_ca) = (ca.display(), other_ca.display());
    let url = |host: &str, params: &str| format!("postgres://flowcal:{PASSWORD}@{host}:{port}/flowcal?{params}");
    // The name TLS checks is the host; hostaddr is where the connection goes.
    let named = |name: &str, params: &str| url(name, &format!("hostaddr=127.0.0.1&{params}"));

    // verify-full: the CA, and the host the certificate names (a name or an IP address).
    encrypted(&named("localhost", &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    encrypted(&url("127.0.0.1", &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    // A name the certificate does not list: refused by verify-full, not verify-ca.
    let e = refused(&named("db.example", &format!("sslmode=verify-full&sslrootcert={ca}"))).await;
    assert!(
        e.contains(
            "the database server's certificate is not valid for host 'db.example' (sslmode=verify-full); \
                    it names localhost, 127.0.0.1"
        ),
        "{e}"
    );
    encrypted(&named("db.example", &format!("sslmode=verify-ca&sslrootcert={ca}"))).await;

    // Another CA: refused whatever the name; and by require too, which checks
    // the CA once given one (libpq).
    for mode in ["verify-ca", "verify-full", "require"] {
        let e = refused(&named("localhost", &format!("sslmode={mode}&sslrootcert={other_ca}"))).await;
        assert!(e.contains(&format!("not signed by a CA in sslrootcert {other_ca} (sslmode={mode}")), "{mode}: {e}");
    }
    let e = refused(&named("localhost", "sslrootcert=system")).await;
    assert!(e.contains("not signed by a CA in the system roots (sslmode=verify-full)"), "{e}");

    // require without a CA, and the default (prefer): encrypted, certificate unchecked.
    encrypted(&named("db.example", "sslmode=require")).await;
    encrypted(&url("127.0.0.1", "application_name=flowcal")).await;

    // disable: the server refuses, and the error says why.
    let e = refused(&url("127.0.0.1", "sslmode=disable")).await;
    assert!(e.contains("no encryption") && e.contains("only over TLS"), "{e}");

    // SCRAM bound to the TLS session (SCRAM-SHA-256-PLUS): the client hashes
    // the server's certificate with the hash of its signature (SHA-384 here).
    encrypted(&named("localhost", &format!("sslmode=verify-full&sslrootcert={ca}&channel_binding=require"))).await;

    // The key=value form.
    let kv = format!(
        "host=localhost hostaddr=127.0.0.1 port={port} user=flowcal password={PASSWORD} dbname=flowcal \
         sslmode=verify-full sslrootcert='{ca}' channel_binding=require"
    );
    assert!(postgres_session_tls(&kv).await.unwrap().is_some());
    let kv_wrong =
        kv.replace("sslmode=verify-full", "sslmode=verify-ca").replace(&ca.to_string(), &other_ca.to_string());
    let e = postgres_session_tls(&kv_wrong).await.unwrap_err().to_string();
    assert!(e.contains("not signed by a CA in sslrootcert"), "{e}");
    assert!(!e.contains(PASSWORD), "{e}");

    drop(cluster);
}
