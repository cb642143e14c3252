//! Integration tests of the identity service over real HTTP on loopback, against a real
//! SQLite file and, when `GATEHOUSE_TEST_POSTGRES_DSN` is set, a real PostgreSQL database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod admin;
mod app;
mod bad_input;
mod browser;
mod builtin_hooks;
mod cache;
mod courier;
mod flow_hooks;
mod hooks;
mod links;
mod native;
mod receiver;
mod recovery;
mod reference;
mod settings;
mod smtp;
mod verification;

pub use app::{Backend, TestApp, backends};
