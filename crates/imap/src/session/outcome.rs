//! How a command ends: its tagged OK ([`Done`]), or the error a store
//! reply becomes, and small helpers every handler shares.

use super::{Reply, StoreReply};
use crate::error::{CmdError, CmdResult};
use crate::wire::response::Code;

/// A command's successful completion: the tagged OK's code and text.
pub(crate) struct Done {
    pub code: Option<Code>,
    pub text: String,
}

impl Done {
    pub(crate) fn ok(text: impl Into<String>) -> CmdResult<Done> {
        Ok(Done {
            code: None,
            text: text.into(),
        })
    }

    pub(crate) fn with(code: Code, text: impl Into<String>) -> CmdResult<Done> {
        Ok(Done {
            code: Some(code),
            text: text.into(),
        })
    }
}

/// The store's answer to a request, or the error to answer with.
pub(crate) fn store_reply(reply: Reply) -> CmdResult<StoreReply> {
    match reply {
        Reply::Store(r) => r.map_err(CmdError::from),
        _ => Err(unexpected()),
    }
}

/// A reply that does not fit the request (a driver bug).
pub(crate) fn unexpected() -> CmdError {
    debug_assert!(false, "unexpected reply");
    CmdError::no(Some(Code::ServerBug), "Internal error")
}

pub(crate) fn trim_crlf(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}
