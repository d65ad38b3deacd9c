//! The SMTP wire format, sans-IO: commands, replies, addresses and the
//! framer that cuts lines, DATA and BDAT chunks. No tokio, no store.

pub mod address;
pub mod command;
pub mod framer;
pub mod lines;
pub mod reply;

pub use address::{Address, AddressError};
pub use command::{
    Body, Command, CommandError, ForwardPath, MailParams, Notify, RcptParams, Ret, ReversePath,
};
pub use framer::{DataError, Frame, Framer, Limits, LineEndings};
pub use reply::{Enhanced, Reply};
