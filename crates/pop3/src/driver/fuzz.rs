//! The fuzz target's body (fuzz/pop3_session), also replayed over the
//! checked-in corpus by `cargo test`: random octets through the framer,
//! parser, session and the one driver, over an in-memory maildrop and a
//! real directory (cheap argon2id hashes, throttling on).

use super::memory::MemoryMaildrops;
use super::{Control, Driver, LOCK_WAIT, Services};
use crate::locks::Locks;
use crate::session::SessionConfig;
use sealpost_audit::AuditLog;
use sealpost_directory::{Directory, ThrottleLimits};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// argon2id of "pw" with tiny parameters (m=8, t=1): the directory takes
/// any argon2id cost, and fuzzing must not spend its time hashing.
const PW_HASH: &str =
    "$argon2id$v=19$m=8,t=1,p=1$tqyTbw9xSu8Asr/d76ynXA$CVHZjH4AE1cAliOUzJPXjgRYL5tP1OgGZ9ur+o0QdTI";

/// The accounts file: a@example.org, b@example.org and t@example.org, all
/// with password "pw"; written once per process, whole, by rename.
fn accounts_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = std::env::temp_dir().join("sealpost-pop3-fuzz");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("accounts.toml");
        let tmp = dir.join(format!("accounts.{}.tmp", std::process::id()));
        let text: String = ["a", "b", "t"]
            .iter()
            .map(|u| {
                format!("[[account]]\naddress = \"{u}@example.org\"\npassword = \"{PW_HASH}\"\n\n")
            })
            .collect();
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &path).unwrap();
        path
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap()
    })
}

/// One input. The first octet chooses the policy (bit 0: TLS already on;
/// bit 1: EXPIRE 0; bits 2-3: line limit) and, in its high nibble, the size
/// of the chunks the rest is fed in. A chunk starting with 0x7F also makes
/// "another session" expunge a message. Panics if the server writes
/// anything that is not CRLF-terminated lines, or writes after closing.
///
/// t@example.org is throttled (one failure fills its window), and each
/// input has a fresh directory whose address limit (4 failures) keeps
/// unknown users, which cost a full-price argon2 check, few.
pub fn fuzz_session(data: &[u8]) {
    let Some((&policy, rest)) = data.split_first() else {
        return;
    };
    runtime().block_on(async move {
        let maildrops = MemoryMaildrops::new(7);
        maildrops.add(
            "a@example.org",
            &[
                b"Subject: x\r\n\r\nbody\r\n.\r\n",
                b".\r\n..\r\n\r\n.x",
                b"no header or end",
            ],
        );
        maildrops.add("b@example.org", &[]);
        let directory = Directory::load(
            accounts_file(),
            vec!["example.org".into()],
            ThrottleLimits {
                per_ip: 4,
                per_account: 1,
                window: Duration::from_secs(900),
            },
        )
        .unwrap();
        let elsewhere = "192.0.2.99".parse().unwrap();
        let _ = directory
            .authenticate(
                "t@example.org",
                &sealpost_directory::Secret::new("no"),
                elsewhere,
            )
            .await;
        let session = SessionConfig {
            max_line: [255, 16, 1000, 3][usize::from(policy >> 2 & 3)],
            expire_days: (policy & 2 != 0).then_some(0),
            ..SessionConfig::default()
        };
        let services = Arc::new(Services {
            session,
            maildrops,
            directory,
            audit: AuditLog::disabled(),
            locks: Arc::new(Locks::default()),
            lock_wait: LOCK_WAIT,
        });
        let chunk = usize::from(policy >> 4) + 1;
        let tls = (policy & 1 != 0).then(|| "TLSv1.3".to_string());
        let mut driver = Driver::new(services.clone(), "192.0.2.1:1110".parse().unwrap(), tls);
        let mut out = Vec::new();
        driver.flush(&mut out).await.unwrap();
        for part in rest.chunks(chunk) {
            if part.first() == Some(&0x7F) {
                let uid = part.len() as u32 % 4;
                services.maildrops.expunge("a@example.org", uid);
            }
            let was_closed = driver.is_closed();
            let mut more = Vec::new();
            match driver.feed(part, &mut more).await.unwrap() {
                Control::StartTls => driver.tls_started(Some("TLSv1.3".into())),
                Control::Continue | Control::Close => {}
            }
            assert!(!was_closed || more.is_empty(), "wrote after closing");
            out.extend(more);
        }
        driver.shutdown(&mut out).await.unwrap();
        assert!(
            out.is_empty() || out.ends_with(b"\r\n"),
            "output not line-terminated"
        );
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            assert!(line.ends_with(b"\r"), "bare LF in output");
        }
        drop(driver);
        assert!(
            !services.locks.is_locked(sealpost_store::AccountId(1)),
            "maildrop still locked after the connection ended"
        );
    });
}
