//! Command latency for the metrics (`sealpost_command_duration_seconds`,
//! `protocol="pop3"`): from a whole command line to its reply written
//! (a RETR's message included). The label is the command's name from a
//! closed list; anything else (an AUTH continuation, a typo) is `other`.

use crate::wire::framer::Frame;
use sealpost_telemetry::metrics as m;
use std::time::Instant;

const COMMANDS: &[&str] = &[
    "APOP", "AUTH", "CAPA", "DELE", "LIST", "NOOP", "PASS", "QUIT", "RETR", "RSET", "STAT", "STLS",
    "TOP", "UIDL", "USER", "UTF8",
];

/// A command being timed.
pub(crate) struct Timed {
    started: Instant,
    command: &'static str,
}

impl Timed {
    /// Starts timing `frame`.
    pub(crate) fn start(frame: &Frame) -> Timed {
        Timed {
            started: Instant::now(),
            command: label(frame),
        }
    }

    /// The command is answered.
    pub(crate) fn done(self) {
        m::histogram!(m::COMMAND_SECONDS, "protocol" => "pop3", "command" => self.command)
            .record(self.started.elapsed().as_secs_f64());
    }
}

fn label(frame: &Frame) -> &'static str {
    let Frame::Line(line) = frame else {
        return "other";
    };
    let word = line.split(|&b| b == b' ').next().unwrap_or_default();
    COMMANDS
        .iter()
        .find(|c| c.as_bytes().eq_ignore_ascii_case(word))
        .copied()
        .unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_the_closed_list() {
        assert_eq!(label(&Frame::Line(b"retr 1".to_vec())), "RETR");
        assert_eq!(label(&Frame::Line(b"STAT".to_vec())), "STAT");
        assert_eq!(label(&Frame::Line(b"AGFsaWNl".to_vec())), "other");
        assert_eq!(label(&Frame::TooLong), "other");
    }
}
