//! Integration tests of the permissions service over HTTP on loopback, on a real SQLite
//! file and, when `GATEHOUSE_TEST_POSTGRES_DSN` is set, a real PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod api;
mod differential;
mod harness;
mod opl_model;
mod reference;
