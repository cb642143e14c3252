//! The built-in HTML UI: plain server-rendered pages that render any self-service flow's
//! `ui.nodes` as a form, work without JavaScript and load nothing from other hosts.
