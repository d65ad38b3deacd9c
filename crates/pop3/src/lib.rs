//! sealpost-pop3.
#![warn(missing_docs)]
