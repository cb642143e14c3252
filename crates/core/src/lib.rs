//! Plumbing shared by every gatehouse service: Ory's error envelope, configuration loading
//! (files, environment overlay, `file://`/`base64://`/`http(s)://` URLs), secret tokens, the
//! clock, Go-style durations, health and version endpoints, and pagination tokens.

pub mod clock;
pub mod config;
pub mod cors;
pub mod duration;
pub mod error;
pub mod health;
pub mod loader;
pub mod pagination;
pub mod runtime;
pub mod server;
pub mod token;

pub use clock::Clock;
pub use error::{ApiError, ErrorBody};

/// The gatehouse version, reported by `/version` and `gatehouse version`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Installs ring as the process's TLS provider (the only one gatehouse builds with).
/// Idempotent; call before building any HTTP client.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
