//! flowcal's integration tests, in one binary (each test binary links the
//! whole application, so there is only this one).
//!
//! Tests that need PostgreSQL read `FLOWCAL_TEST_DATABASE_URL` and create a
//! fresh database per test on that server; without it they say they did not run.

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
mod peer_spiff;
mod signin;
mod store_contract;
mod support;
