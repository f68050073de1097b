//! The PostgreSQL variants of the integration tests are built as ignored
//! (libtest then reports each as skipped, by name, with the reason) unless
//! `FLOWCAL_TEST_DATABASE_URL` is set when they are built, as `.ci/run` does:
//! a test that did not run is never counted as passed.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(flowcal_postgres)");
    println!("cargo::rerun-if-env-changed=FLOWCAL_TEST_DATABASE_URL");
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("FLOWCAL_TEST_DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        println!("cargo::rustc-cfg=flowcal_postgres");
    }
}
