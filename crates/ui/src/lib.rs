//! The built-in HTML UI: plain server-rendered pages that render any self-service flow's
//! `ui.nodes` as a form, so a method added later appears without a new template. Pages
//! work without JavaScript, load nothing from other hosts, and escape everything they show.

mod chrome;
mod mail;
mod nodes;
mod pages;

pub use chrome::{Branding, escape};
pub use mail::{mail_page, mailbox_page};
pub use pages::{error_page, flow_page, signed_out_page, welcome_page};
