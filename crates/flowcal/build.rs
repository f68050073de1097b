//! Tests that cannot run here are built as ignored, so that libtest reports
//! each as skipped, by name, with the reason, and none is counted as passed:
//! - the PostgreSQL variants, unless `FLOWCAL_TEST_DATABASE_URL` is set when
//!   they are built (as `.ci/run` does);
//! - tests that need the peer servers (Radicale, Xandikos, oidc-provider,
//!   SpiffWorkflow, Chromium, libical), unless `FLOWCAL_REQUIRE_PEERS` is set
//!   (as `scripts/test` does, after installing them); built with it, a test
//!   whose peer is missing fails.
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
}
