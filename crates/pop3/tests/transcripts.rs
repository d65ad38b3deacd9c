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
