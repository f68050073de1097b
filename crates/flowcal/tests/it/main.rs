//! flowcal's integration tests, in one binary (each test binary links the
//! whole application, so there is only this one).
//!
//! Tests that need PostgreSQL read `FLOWCAL_TEST_DATABASE_URL` and create a
//! fresh database per test on that server; built without it, they are ignored
//! (libtest lists each as skipped, with the reason; see build.rs).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod browser;
mod caldav_peers;
mod cli;
mod connectors;
mod credentials;
mod feed;
mod google_double;
mod graph_double;
mod hardening;
mod hostile;
mod ical_validity;
mod leaks;
mod matrix;
mod microsoft;
mod peer_spiff;
mod promises;
mod signin;
mod store_contract;
mod support;
