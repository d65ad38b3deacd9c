//! Command latency for the metrics (`sealpost_command_duration_seconds`,
//! `protocol="imap"`): from the moment a whole command is framed to its
//! tagged answer, store calls and password checks included, the write to
//! the client not. The label is the command's name from a closed list
//! (`UID FETCH` as one), so client input never becomes a label.

use sealpost_telemetry::metrics as m;
use std::time::Instant;

/// IMAP commands by name; anything else is `other`.
const COMMANDS: &[&str] = &[
    "APPEND",
    "AUTHENTICATE",
    "CAPABILITY",
    "CHECK",
    "CLOSE",
    "COMPRESS",
    "COPY",
    "CREATE",
    "DELETE",
    "ENABLE",
    "EXAMINE",
    "EXPUNGE",
    "FETCH",
    "GETQUOTA",
    "GETQUOTAROOT",
    "ID",
    "IDLE",
    "LIST",
    "LOGIN",
    "LOGOUT",
    "LSUB",
    "MOVE",
    "NAMESPACE",
    "NOOP",
    "RENAME",
    "SEARCH",
    "SELECT",
    "SORT",
    "STARTTLS",
    "STATUS",
    "STORE",
    "SUBSCRIBE",
    "THREAD",
    "UNSELECT",
    "UNSUBSCRIBE",
];

const UID_COMMANDS: &[&str] = &[
    "UID COPY",
    "UID EXPUNGE",
    "UID FETCH",
    "UID MOVE",
    "UID SEARCH",
    "UID SORT",
    "UID STORE",
    "UID THREAD",
];

/// The command being timed.
#[derive(Default)]
pub(crate) struct Timing {
    running: Option<(Instant, &'static str)>,
}

impl Timing {
    /// A whole frame arrived: starts timing it when it is a command (not a
    /// SASL response or IDLE's `DONE`, which have no second word).
    pub(crate) fn start(&mut self, frame: &[u8]) {
        if let Some(name) = label(frame) {
            self.running = Some((Instant::now(), name));
        }
    }

    /// The session finished a step: the timed command is answered.
    pub(crate) fn done(&mut self) {
        if let Some((started, command)) = self.running.take() {
            m::histogram!(m::COMMAND_SECONDS, "protocol" => "imap", "command" => command)
                .record(started.elapsed().as_secs_f64());
        }
    }
}

/// The command's name as a label, `None` when the frame is not a command.
pub(crate) fn label(frame: &[u8]) -> Option<&'static str> {
    let line = frame.split(|&b| b == b'\r' || b == b'\n').next()?;
    let line = String::from_utf8_lossy(&line[..line.len().min(64)]);
    let mut words = line.split(' ').skip(1);
    let name = words.next()?.to_ascii_uppercase();
    if name == "UID" {
        let sub = format!("UID {}", words.next()?.to_ascii_uppercase());
        return Some(
            UID_COMMANDS
                .iter()
                .find(|c| **c == sub)
                .copied()
                .unwrap_or("other"),
        );
    }
    Some(
        COMMANDS
            .iter()
            .find(|c| **c == name)
            .copied()
            .unwrap_or("other"),
    )
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_come_from_the_closed_list() {
        assert_eq!(label(b"a1 select INBOX\r\n"), Some("SELECT"));
        assert_eq!(label(b"a2 UID fetch 1:* (FLAGS)\r\n"), Some("UID FETCH"));
        assert_eq!(label(b"a3 UID EVIL\r\n"), Some("other"));
        assert_eq!(label(b"a4 X-ANYTHING-\xff\r\n"), Some("other"));
        assert_eq!(label(b"DONE\r\n"), None);
        assert_eq!(label(b"AGFsaWNlAHNlY3JldA==\r\n"), None);
    }
}
