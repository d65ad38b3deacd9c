//! sealpost-smtp.
#![warn(missing_docs)]
