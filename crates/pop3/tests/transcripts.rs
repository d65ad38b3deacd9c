//! C:/S: transcripts (tests/transcripts/*.txt) replayed through the driver
//! over the in-memory maildrops. `store_transcripts.rs` replays the same
//! files over the real store: a difference between the two fails one of them.

mod common;

use common::transcript::{Harness, directory, policy, run, services};
use common::*;
use sealpost_pop3::driver::Services;
use sealpost_pop3::driver::memory::MemoryMaildrops;
use sealpost_pop3::wire::RespCode;
use std::sync::Arc;

struct Memory {
    services: Arc<Services<MemoryMaildrops>>,
    _dir: tempfile::TempDir,
}

impl Memory {
    async fn new(text: &str) -> Memory {
        let dir = tempfile::tempdir().unwrap();
        let m = MemoryMaildrops::new(0x5EA1);
        m.add(ALICE, &MESSAGES);
        m.add(BOB, &[]);
        m.fail("broken@example.org", RespCode::SysPerm);
        m.fail("flaky@example.org", RespCode::SysTemp);
        let (session, _) = policy(text);
        Memory {
            services: services(m, directory(dir.path()).await, session),
            _dir: dir,
        }
    }
}

impl Harness for Memory {
    type M = MemoryMaildrops;
    fn services(&self) -> &Arc<Services<MemoryMaildrops>> {
        &self.services
    }
    fn expunge(&self, user: &str, uid: u32) {
        self.services.maildrops.expunge(user, uid)
    }
    fn fail(&self, user: &str, code: &str) {
        let code = match code {
            "SYS/TEMP" => RespCode::SysTemp,
            "SYS/PERM" => RespCode::SysPerm,
            _ => panic!("unknown code {code}"),
        };
        self.services.maildrops.fail(user, code);
    }
    fn uid_validity_hex(&self) -> String {
        format!("{:08X}", self.services.maildrops.uid_validity())
    }
}

macro_rules! transcripts {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test]
        async fn $name() {
            let file = concat!(stringify!($name), ".txt");
            let text = include_str!(concat!("transcripts/", stringify!($name), ".txt"));
            run(file, text, &Memory::new(text).await).await;
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
    long_line_before_login,
    utf8_and_apop,
    no_quit_deletes_nothing,
    shutdown,
    expire_zero,
    quit_before_login,
    pipelining,
);

/// What the server answers to `chunks`, each fed as one read, on a fresh
/// server.
async fn replies(chunks: &[&[u8]]) -> String {
    use common::transcript::feed;
    use sealpost_pop3::driver::Driver;
    let h = Memory::new("").await;
    let mut out = Vec::new();
    let mut driver = Driver::new(
        h.services.clone(),
        "192.0.2.1:41100".parse().unwrap(),
        Some("TLSv1.3".into()),
    );
    driver.flush(&mut out).await.unwrap();
    for c in chunks {
        feed(&mut driver, c, &mut out).await;
    }
    assert!(driver.is_closed());
    String::from_utf8_lossy(&out).into_owned()
}

/// The whole stack (framer, parser, session, driver) answers the same
/// however the client's octets are cut into reads.
#[tokio::test]
async fn input_split_at_every_byte_gives_the_same_replies() {
    let input: &[u8] = b"CAPA\r\nUSER alice@example.org\r\nPASS correct horse\r\nSTAT\r\nLIST\r\n\
        UIDL 2\r\nRETR 2\r\nTOP 3 1\r\nDELE 1\r\nLIST 1\r\nRSET\r\nBOGUS\r\nNOOP\nDELE 3\r\nQUIT\r\n";
    let whole = replies(&[input]).await;
    assert!(whole.contains("...two dots\r\n"), "{whole}");
    assert!(whole.ends_with("+OK sealpost POP3 server signing off (1 messages deleted)\r\n"));
    for cut in 0..=input.len() {
        assert_eq!(
            replies(&[&input[..cut], &input[cut..]]).await,
            whole,
            "cut at {cut}"
        );
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    assert_eq!(replies(&bytes).await, whole, "one byte at a time");
}
