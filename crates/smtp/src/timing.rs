//! Command latency for the metrics (`sealpost_command_duration_seconds`,
//! `protocol` = the listener's role, `smtp` or `submission`): from a whole
//! frame to its reply. The end of DATA is timed as `DATA_END` (delivery and
//! queueing, the `250` waits for both to be durable), a BDAT chunk as
//! `BDAT`. Labels come from a closed list; anything else is `other`, and
//! an AUTH continuation line is not timed.

use crate::session::Role;
use crate::wire::framer::Frame;
use sealpost_telemetry::metrics as m;
use std::time::Instant;

const COMMANDS: &[&str] = &[
    "AUTH", "DATA", "EHLO", "HELO", "HELP", "MAIL", "NOOP", "QUIT", "RCPT", "RSET", "STARTTLS",
    "VRFY", "EXPN",
];

/// A frame being timed.
pub(crate) struct Timed {
    started: Instant,
    command: &'static str,
}

impl Timed {
    /// Starts timing `frame` (`None` for an AUTH continuation).
    pub(crate) fn start(frame: &Frame, in_auth: bool) -> Option<Timed> {
        let command = label(frame, in_auth)?;
        Some(Timed {
            started: Instant::now(),
            command,
        })
    }

    /// The frame is answered.
    pub(crate) fn done(self, role: Role) {
        let protocol = match role {
            Role::Inbound => "smtp",
            Role::Submission => "submission",
        };
        m::histogram!(m::COMMAND_SECONDS, "protocol" => protocol, "command" => self.command)
            .record(self.started.elapsed().as_secs_f64());
    }
}

fn label(frame: &Frame, in_auth: bool) -> Option<&'static str> {
    match frame {
        Frame::Line(_) if in_auth => None,
        Frame::Line(line) => {
            let word = line.split(|&b| b == b' ').next().unwrap_or_default();
            Some(
                COMMANDS
                    .iter()
                    .find(|c| c.as_bytes().eq_ignore_ascii_case(word))
                    .copied()
                    .unwrap_or("other"),
            )
        }
        Frame::Data(_) => Some("DATA_END"),
        Frame::Bdat { .. } | Frame::BdatStart { .. } | Frame::BdatTooBig => Some("BDAT"),
        _ => Some("other"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_closed_list() {
        assert_eq!(
            label(&Frame::Line(b"mail FROM:<a@b>".to_vec()), false),
            Some("MAIL")
        );
        assert_eq!(label(&Frame::Line(b"XYZZY".to_vec()), false), Some("other"));
        assert_eq!(label(&Frame::Line(b"AGFsaWNl".to_vec()), true), None);
        assert_eq!(label(&Frame::Data(Ok(Vec::new())), false), Some("DATA_END"));
    }
}
