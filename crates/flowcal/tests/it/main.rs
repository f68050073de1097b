//! flowcal's integration tests, in one binary (each test binary links the
//! whole application, so there is only this one).
//!
//! Tests that need PostgreSQL read `FLOWCAL_TEST_DATABASE_URL` and create a
//! fresh database per test on that server; tests that need the peer servers
//! find them through the variables `scripts/test` sets. Built without
//! `FLOWCAL_TEST_DATABASE_URL`, or without `FLOWCAL_REQUIRE_PEERS`, those
//! tests are ignored: libtest lists each as skipped, with the reason, and none
//! counts as passed (see build.rs).

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod access;
mod api;
mod architecture;
mod browser;
mod caldav_peers;
mod calendar_edits;
mod calendar_http;
mod calendar_view;
mod cli;
mod connectors;
mod credentials;
mod delivery;
mod diagram;
mod feed;
mod google_double;
mod graph_double;
mod hardening;
mod hostile;
mod ical_validity;
mod languages;
mod leaks;
mod matrix;
mod microsoft;
mod multinode;
mod paging;
mod peer_spiff;
mod pg_tls;
mod promises;
mod signin;
mod store_contract;
mod support;
mod timers;
mod verify;
mod workcal;
mod workcal_numpy;
