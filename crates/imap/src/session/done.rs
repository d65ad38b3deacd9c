//! A command's successful completion ([`Done`]): what its tagged OK says.

use crate::error::CmdResult;
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
