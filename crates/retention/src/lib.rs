//! sealpost-retention.
#![warn(missing_docs)]
