//! Self-service flows and the `ui` container they carry.

pub mod ui;
