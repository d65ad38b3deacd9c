//! The POP3 wire format, sans-IO: framing ([`framer`]), command parsing
//! ([`command`]), responses ([`reply`]) and message byte-stuffing
//! ([`stuff`]). No tokio, no store.

pub mod command;
pub mod framer;
pub mod reply;
pub mod stuff;

pub use command::{Command, CommandError, parse_command};
pub use framer::{Frame, LineFramer};
pub use reply::{Reply, RespCode};
pub use stuff::{StuffedChunks, stuffed};
