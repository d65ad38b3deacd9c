//! The sans-IO wire layer: framing ([`framer`]), parsing ([`parser`]) into
//! typed commands ([`command`]), serializing responses ([`response`]) and
//! modified UTF-7 mailbox names ([`mutf7`]), CATENATE's parts and IMAP URLs
//! ([`catenate`]). No tokio, no store.

pub mod acl;
pub mod catenate;
pub mod command;
pub mod framer;
pub mod mutf7;
pub mod notify;
pub mod parser;
pub mod response;
