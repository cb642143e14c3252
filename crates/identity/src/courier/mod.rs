//! The courier: outgoing e-mail, as Kratos's courier does it. Messages wait in an outbox
//! (a table) until a worker delivers them over SMTP or HTTP (or, in dev mode, to the
//! built-in mailbox), retrying with backoff.

pub mod delivery;
pub mod http;
pub mod message;
pub mod smtp;
pub mod template_type;

pub use template_type::TemplateType;
