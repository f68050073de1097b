//! Tests that cannot run here are built as ignored, so that libtest reports
//! each as skipped, by name, with the reason, and none is counted as passed:
//! - the PostgreSQL variants, unless `FLOWCAL_TEST_DATABASE_URL` is set when
//!   they are built (as `.ci/run` does);
//! - tests that need the peer servers (Radicale, Xandikos, oidc-provider,
//!   SpiffWorkflow, Chromium, libical), unless `FLOWCAL_REQUIRE_PEERS` is set
//!   (as `scripts/test` does, after installing them); built with it, a test
//!   whose peer is missing fails.
//!
//! It also names the commit the binary is built from, for `flowcal --version`
//! (`FLOWCAL_VERSION_COMMIT`): `FLOWCAL_COMMIT` (and `FLOWCAL_COMMIT_DATE`)
//! when set, as `scripts/package` does, else the git checkout's HEAD, else
//! "unknown commit" (a source tree without git).
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(flowcal_postgres)");
    println!("cargo::rustc-check-cfg=cfg(flowcal_peers)");
    println!("cargo::rerun-if-env-changed=FLOWCAL_TEST_DATABASE_URL");
    println!("cargo::rerun-if-env-changed=FLOWCAL_REQUIRE_PEERS");
    println!("cargo::rerun-if-changed=build.rs");
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.is_empty());
    if set("FLOWCAL_TEST_DATABASE_URL") {
        println!("cargo::rustc-cfg=flowcal_postgres");
    }
    if set("FLOWCAL_REQUIRE_PEERS") {
        println!("cargo::rustc-cfg=flowcal_peers");
    }
    println!("cargo::rustc-env=FLOWCAL_VERSION_COMMIT={}", version_commit());
}

/// "commit 5985e2c1a2b3, 2026-12-05", or "unknown commit".
fn version_commit() -> String {
    println!("cargo::rerun-if-env-changed=FLOWCAL_COMMIT");
    println!("cargo::rerun-if-env-changed=FLOWCAL_COMMIT_DATE");
    let given = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let (commit, date) = match given("FLOWCAL_COMMIT") {
        Some(commit) => (commit, given("FLOWCAL_COMMIT_DATE")),
        None => {
            let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            match git(&dir, &["rev-parse", "--short=12", "HEAD"]) {
                Some(commit) => {
                    watch_head(&dir);
                    (commit, git(&dir, &["log", "-1", "--format=%cs", "HEAD"]))
                }
                None => return "unknown commit".into(),
            }
        }
    };
    // Whatever the environment gave, the version line stays one short line.
    if !(7..=40).contains(&commit.len()) || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        panic!("FLOWCAL_COMMIT must be a commit id (7 to 40 hex digits), not {commit:?}");
    }
    match date {
        Some(d) if d.len() == 10 && d.bytes().all(|b| b.is_ascii_digit() || b == b'-') => {
            format!("commit {commit}, {d}")
        }
        Some(d) => panic!("FLOWCAL_COMMIT_DATE must be a date such as 2026-12-05, not {d:?}"),
        None => format!("commit {commit}"),
    }
}

/// Reruns this script when HEAD moves (a commit, a checkout, a reset), and
/// only then. In a worktree `.git` is a file, so git names the paths: HEAD,
/// its reflog, the branch's loose ref and packed-refs. Only existing files are
/// named: cargo reruns on every build for a missing one.
fn watch_head(dir: &Path) {
    let mut files = vec!["HEAD".to_owned(), "logs/HEAD".to_owned(), "packed-refs".to_owned()];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        files.push(branch);
    }
    for file in files {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &file]) {
            let path = dir.join(path);
            if path.is_file() {
                println!("cargo::rerun-if-changed={}", path.display());
            }
        }
    }
}

/// git's one line of output in `dir`, or None (no git, not a checkout).
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(dir).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let line = text.trim();
    (out.status.success() && !line.is_empty() && !line.contains('\n')).then(|| line.to_owned())
}
