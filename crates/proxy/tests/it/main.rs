//! Integration tests of the access proxy over real HTTP on loopback: an echo upstream,
//! the identity service for sessions, rule files on disk, nginx for `auth_request`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;
mod jwt;
mod nginx;
mod oauth2;
mod pipeline;
mod reference;
mod session_cache;
