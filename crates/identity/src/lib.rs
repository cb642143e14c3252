//! The identity service, wire-compatible with Ory Kratos: identity schemas, identities and
//! their credentials, self-service flows (registration, login, logout), sessions, the
//! courier (outgoing e-mail), the admin API and the built-in UI's routes.
//!
//! Layers: `api/` (axum handlers and wire DTOs) calls the domain modules (`flow/`,
//! `identity/`, `session/`, `credential/`, `schema/`, `courier/`), which reach the database
//! only through `store/`.

pub mod api;
pub mod boot;
pub mod config;
pub mod courier;
pub mod credential;
pub mod flow;
pub mod hook;
pub mod identity;
pub mod ratelimit;
pub mod schema;
pub mod service;
pub mod session;
pub mod settings;
pub mod store;
