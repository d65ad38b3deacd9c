//! C:/S: transcripts (tests/transcripts/*.txt) replayed against the session
//! over the in-memory backend. `store_transcripts.rs` replays the same files
//! over the real store.

mod common;

use common::transcript::{TranscriptBackend, run};
use common::*;
use sealpost_pop3::driver::MemoryBackend;
use sealpost_pop3::wire::RespCode;

impl TranscriptBackend for MemoryBackend {
    fn expunge(&mut self, user: &str, uid: u32) {
        MemoryBackend::expunge(self, user, uid)
    }
    fn lock(&mut self, user: &str) {
        self.account_mut(user).unwrap().locked = true;
    }
    fn fail(&mut self, user: &str, code: &str) {
        self.account_mut(user).unwrap().failing = Some(match code {
            "SYS/TEMP" => RespCode::SysTemp,
            "SYS/PERM" => RespCode::SysPerm,
            _ => panic!("unknown code {code}"),
        });
    }
    fn set_login_delay(&mut self) {
        self.login_delay = true;
    }
    fn uid_validity_hex(&self) -> String {
        format!("{:08X}", self.uid_validity)
    }
}

fn backend() -> MemoryBackend {
    let mut b = MemoryBackend {
        uid_validity: 0x5EA1,
        ..MemoryBackend::default()
    };
    b.add(ALICE, ALICE_PASS, &MESSAGES);
    b.add(BOB, BOB_PASS, &[]);
    b.add("broken@example.org", "x", &[]);
    b.account_mut("broken@example.org").unwrap().failing = Some(RespCode::SysPerm);
    b.add("flaky@example.org", "x", &[]);
    b.account_mut("flaky@example.org").unwrap().failing = Some(RespCode::SysTemp);
    b.throttled.insert("throttled@example.org".into());
    b
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            let file = concat!(stringify!($name), ".txt");
            let text = include_str!(concat!("transcripts/", stringify!($name), ".txt"));
            run(file, text, &mut backend());
        }
    )*};
}

transcripts!(
    stls_first,
    user_pass_session,
    sasl_plain,
    auth_failures,
    throttled,
    in_use,
    login_delay,
    sys_errors,
    expunged_by_imap,
    bad_commands,
    too_many_bad_commands,
    long_lines,
    utf8_and_apop,
    no_quit_deletes_nothing,
    shutdown,
    expire_zero,
    quit_before_login,
    pipelining,
);

/// The whole stack (framer, parser, session) answers the same however the
/// client's bytes are cut into reads.
#[test]
fn input_split_at_every_byte_gives_the_same_replies() {
    use sealpost_pop3::driver::Driver;
    use sealpost_pop3::session::SessionConfig;
    let input: &[u8] = b"CAPA\r\nUSER alice@example.org\r\nPASS correct horse\r\nSTAT\r\nLIST\r\n\
        UIDL 2\r\nRETR 2\r\nTOP 3 1\r\nDELE 1\r\nLIST 1\r\nRSET\r\nBOGUS\r\nNOOP\nDELE 3\r\nQUIT\r\n";
    let run_chunks = |chunks: &[&[u8]]| {
        let mut driver = Driver::new(backend(), SessionConfig::default(), true);
        for c in chunks {
            driver.feed(c);
        }
        assert!(driver.is_closed());
        driver.take_output()
    };
    let whole = run_chunks(&[input]);
    let text = String::from_utf8_lossy(&whole);
    assert!(text.contains("...two dots\r\n"), "{text}");
    assert!(text.ends_with("+OK sealpost POP3 server signing off (1 messages deleted)\r\n"));
    for cut in 0..=input.len() {
        assert_eq!(
            run_chunks(&[&input[..cut], &input[cut..]]),
            whole,
            "cut at {cut}"
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(run_chunks(&bytes), whole, "one byte at a time");
}
