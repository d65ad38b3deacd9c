//! DATA (RFC 5321 4.1.1.4) and BDAT (RFC 3030 2). The framer reads the
//! message or chunk; here the transaction moves on and the message is
//! handed to delivery.
//!
//! A BDAT chunk is kept only when it belongs to a transaction with at least
//! one recipient and fits in the message limit; otherwise the framer counts
//! it down and drops it, and the reply says why once it has passed: `530
//! 5.7.0` before STARTTLS or (submission) before AUTH, `503 5.5.1` without
//! MAIL, `554 5.5.1` without a recipient, `552 5.3.4` when too big.

use super::{Action, Envelope, Message, Session, Transaction, bad_sequence};
use crate::wire::{DataError, Enhanced, Reply};

impl Session {
    pub(super) fn data(&mut self) -> Action {
        match &self.transaction {
            Transaction::Mail(env) if !env.recipients.is_empty() => Action::StartData(
                Reply::plain(354, "Start mail input; end with <CRLF>.<CRLF>"),
            ),
            Transaction::Mail(_) => {
                Action::Reply(Reply::new(554, Enhanced(5, 5, 1), "No valid recipients"))
            }
            Transaction::Idle => Action::Reply(self.no_transaction("DATA")),
            Transaction::Chunking { .. } | Transaction::ChunkingFailed(_) => {
                Action::Reply(bad_sequence("DATA cannot follow BDAT"))
            }
        }
    }

    pub(super) fn on_data(&mut self, result: Result<Vec<u8>, DataError>) -> Action {
        let Transaction::Mail(envelope) = std::mem::take(&mut self.transaction) else {
            // Unreachable: the framer reads a message only after 354.
            return Action::Reply(bad_sequence("No transaction"));
        };
        match result {
            Ok(data) => self.deliver(envelope, data, false),
            Err(e) => Action::Reply(e.reply()),
        }
    }

    /// A BDAT line: keep its chunk only if a transaction can take it.
    pub(super) fn on_bdat_start(&mut self, size: u64) -> Action {
        let max = self.config.max_message_size;
        let keep = match &self.transaction {
            Transaction::Mail(env) => !env.recipients.is_empty() && size <= max,
            Transaction::Chunking { data, .. } => (data.len() as u64).saturating_add(size) <= max,
            Transaction::Idle | Transaction::ChunkingFailed(_) => false,
        };
        Action::ReadChunk { keep }
    }

    pub(super) fn on_bdat(&mut self, size: u64, last: bool, chunk: Option<Vec<u8>>) -> Action {
        let too_big = || {
            Reply::new(
                552,
                Enhanced(5, 3, 4),
                "Message size exceeds fixed maximum message size",
            )
        };
        let max = self.config.max_message_size;
        match std::mem::take(&mut self.transaction) {
            Transaction::Idle => Action::Reply(self.no_transaction("BDAT")),
            Transaction::Mail(envelope) if envelope.recipients.is_empty() => {
                self.transaction = Transaction::Mail(envelope);
                Action::Reply(Reply::new(554, Enhanced(5, 5, 1), "No valid recipients"))
            }
            Transaction::Mail(envelope) => {
                self.chunk(envelope, Vec::new(), size, last, chunk, max, too_big)
            }
            Transaction::Chunking { envelope, data } => {
                self.chunk(envelope, data, size, last, chunk, max, too_big)
            }
            Transaction::ChunkingFailed(reply) => {
                if !last {
                    self.transaction = Transaction::ChunkingFailed(reply.clone());
                }
                Action::Reply(reply)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn chunk(
        &mut self,
        envelope: Envelope,
        mut data: Vec<u8>,
        size: u64,
        last: bool,
        chunk: Option<Vec<u8>>,
        max: u64,
        too_big: impl Fn() -> Reply,
    ) -> Action {
        match chunk {
            Some(c) if data.len() as u64 + c.len() as u64 <= max => {
                data.extend_from_slice(&c);
                if last {
                    self.deliver(envelope, data, true)
                } else {
                    self.transaction = Transaction::Chunking { envelope, data };
                    Action::Reply(Reply::new(
                        250,
                        Enhanced(2, 0, 0),
                        format!("{size} octets received"),
                    ))
                }
            }
            _ => {
                if !last {
                    self.transaction = Transaction::ChunkingFailed(too_big());
                }
                Action::Reply(too_big())
            }
        }
    }

    fn deliver(&mut self, envelope: Envelope, data: Vec<u8>, chunked: bool) -> Action {
        let (helo, esmtp) = self
            .helo
            .as_ref()
            .map(|h| (h.name.clone(), h.esmtp))
            .unwrap_or_default();
        Action::Deliver(Box::new(Message {
            envelope,
            data,
            helo,
            esmtp,
            account: self.account().cloned(),
            chunked,
        }))
    }
}
