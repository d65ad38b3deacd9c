//! End-to-end tests of the foundation: config errors, start-up refusals,
//! accounts picked up while running, TLS on every listener, reloads and
//! graceful shutdown, all through the real binary.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// (path, size, mtime) of every file under a folder: to prove nothing changed.
fn tree_state(dir: &Path) -> BTreeMap<String, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for e in walk(dir) {
        let m = std::fs::metadata(&e).unwrap();
        out.insert(e.display().to_string(), (m.len(), m.modified().unwrap()));
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(walk(&p));
        } else {
            v.push(p);
        }
    }
    v
}

fn assert_one_line_failure(out: &CliOutput, needles: &[&str]) {
    assert!(!out.ok(), "should fail: {}", out.stderr);
    let text = out.stderr.trim_end();
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("sealpost:"))
        .collect();
    assert_eq!(lines.len(), 1, "exactly one error line: {text}");
    for n in needles {
        assert!(lines[0].contains(n), "error names {n:?}: {}", lines[0]);
    }
}

#[test]
fn check_config_accepts_good_and_names_file_key_line_of_bad() {
    let site = Site::new("");
    let out = site.cli(&["check-config"], "");
    assert!(out.ok(), "{}", out.stderr);
    let bad = Site::new("[imap]\nmax_line = \"long\"\n");
    let out = bad.cli(&["check-config"], "");
    assert_eq!(out.code, 2);
    let path = bad.config.display().to_string();
    let line = std::fs::read_to_string(&bad.config)
        .unwrap()
        .lines()
        .position(|l| l.starts_with("max_line"))
        .unwrap()
        + 1;
    assert_one_line_failure(&out, &[&path, "imap.max_line", &format!(":{line}:")]);
    let out =
        Site::new("[retention]\ndeleted_account_grace_days = 46\n").cli(&["check-config"], "");
    assert_one_line_failure(&out, &["deleted_account_grace_days", "maximum is 45"]);
    let out = Site::new("[listen2]\nx = 1\n").cli(&["serve"], "");
    assert_one_line_failure(&out, &["listen2"]);
}

#[test]
fn malformed_accounts_file_is_refused_without_touching_data_dir() {
    let site = Site::new("");
    std::fs::write(
        site.path("accounts.toml"),
        "[[account]]\naddress = \"a@example.org\"\npassword = 5\n",
    )
    .unwrap();
    let out = site.cli(&["serve"], "");
    assert_one_line_failure(&out, &["accounts.toml"]);
    assert!(!site.path("data").exists(), "data_dir must not be created");
    let out = site.cli(&["check-config"], "");
    assert_one_line_failure(&out, &["accounts.toml"]);
}

#[test]
fn bad_certificate_setups_are_refused() {
    // A certificate without its key.
    let site = Site::new("");
    std::fs::create_dir_all(site.path("certs")).unwrap();
    std::fs::write(site.path("certs/cert.pem"), "x").unwrap();
    assert_one_line_failure(
        &site.cli(&["serve"], ""),
        &["tls.key", "give both or neither"],
    );
    // Both present, but garbage.
    std::fs::write(site.path("certs/key.pem"), "y").unwrap();
    assert_one_line_failure(&site.cli(&["serve"], ""), &["cert.pem"]);
    assert!(!site.path("data").exists());
    // A key path that cannot be written (its folder is a file).
    let site = Site::new("");
    std::fs::write(site.path("notadir"), "").unwrap();
    let text = std::fs::read_to_string(&site.config)
        .unwrap()
        .replace("certs/key.pem", "notadir/key.pem")
        .replace("certs/cert.pem", "notadir/cert.pem");
    std::fs::write(&site.config, text).unwrap();
    assert_one_line_failure(&site.cli(&["serve"], ""), &["notadir"]);
    assert!(!site.path("data").exists());
}

#[test]
fn unusable_data_dir_is_refused_and_left_alone() {
    // data_dir is a file.
    let site = Site::new("");
    std::fs::write(site.path("data"), "not a folder").unwrap();
    assert_one_line_failure(&site.cli(&["serve"], ""), &["data", "not a directory"]);
    assert_eq!(std::fs::read(site.path("data")).unwrap(), b"not a folder");

    // A data_dir made with another master key.
    let site = Site::new("");
    let server = site.start();
    assert_eq!(server.stop(), Some(0));
    std::fs::write(site.path("keys/master.key"), [9u8; 32]).unwrap();
    let before = tree_state(&site.path("data"));
    assert_one_line_failure(&site.cli(&["serve"], ""), &["master.key", "is not the key"]);
    assert_eq!(
        before,
        tree_state(&site.path("data")),
        "nothing in data_dir changed"
    );

    // A garbled metadata database: sled would recover it to nothing, and an
    // empty store would re-create every account without its mail.
    let site = Site::new("");
    site.add_account("alice@example.org");
    assert_eq!(site.start().stop(), Some(0));
    let db = site.path("data/db/db");
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    let garbage: Vec<u8> = (0..len).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(&db, garbage).unwrap();
    let outside_db = |t: BTreeMap<String, (u64, SystemTime)>| -> BTreeMap<_, _> {
        t.into_iter()
            .filter(|(p, _)| !p.contains("/data/db/"))
            .collect()
    };
    let before = outside_db(tree_state(&site.path("data")));
    assert_one_line_failure(&site.cli(&["serve"], ""), &["db", "lost its contents"]);
    // sled's own recovery rewrites the garbled file as it opens it (there is
    // no read-only open); nothing else in data_dir is touched.
    assert_eq!(before, outside_db(tree_state(&site.path("data"))));
    // And it stays refused: the recovery did not make it look healthy.
    assert_one_line_failure(&site.cli(&["serve"], ""), &["db", "lost its contents"]);

    // A corrupt data_dir (its key check overwritten).
    let site = Site::new("");
    assert_eq!(site.start().stop(), Some(0));
    std::fs::write(site.path("data/keycheck"), b"garbage").unwrap();
    let before = tree_state(&site.path("data"));
    assert_one_line_failure(&site.cli(&["serve"], ""), &["master.key"]);
    assert_eq!(before, tree_state(&site.path("data")));
}

#[test]
fn second_server_on_same_data_dir_is_refused() {
    let site = Site::new("");
    let server = site.start();
    let before = tree_state(&site.path("data"));
    let out = site.cli(&["serve"], "");
    assert_one_line_failure(&out, &["in use by another sealpost process"]);
    // The running server's own audit segment may be flushed meanwhile.
    let settled = |t: BTreeMap<String, (u64, SystemTime)>| -> BTreeMap<_, _> {
        t.into_iter()
            .filter(|(p, _)| !p.contains("/audit/"))
            .collect()
    };
    assert_eq!(settled(before), settled(tree_state(&site.path("data"))));
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn second_server_with_the_same_fixed_ports_names_the_data_dir() {
    // With fixed ports, the second server must still report the data_dir
    // lock (what the operator needs to know), not the taken ports.
    let site = Site::new("");
    let server = site.start();
    let text = std::fs::read_to_string(&site.config).unwrap();
    let mut fixed = text.clone();
    for l in ALL_LISTENERS {
        fixed = fixed.replace(
            &format!("{l} = [\"127.0.0.1:0\"]"),
            &format!("{l} = [\"{}\"]", server.addr(l)),
        );
    }
    std::fs::write(&site.config, fixed).unwrap();
    let out = site.cli(&["serve"], "");
    assert_one_line_failure(&out, &["in use by another sealpost process"]);
    std::fs::write(&site.config, text).unwrap();
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn missing_data_dir_beside_an_existing_master_key_is_refused() {
    let site = Site::new("");
    assert_eq!(site.start().stop(), Some(0));
    // As if the data disk were not mounted: the folder is gone, the key is not.
    std::fs::rename(site.path("data"), site.path("data.away")).unwrap();
    assert_one_line_failure(
        &site.cli(&["serve"], ""),
        &["data", "does not exist", "master.key", "mounted"],
    );
    assert!(
        !site.path("data").exists(),
        "no empty store made in its place"
    );
    // The folder alone (an unmounted mount point looks like this) is
    // refused too, and left empty.
    std::fs::create_dir(site.path("data")).unwrap();
    assert_one_line_failure(
        &site.cli(&["serve"], ""),
        &["data", "is empty", "master.key", "mounted", "new-store"],
    );
    assert!(!site.path("data/keycheck").exists());
    // With the marker, on purpose, an empty store starts (the marker goes).
    std::fs::write(site.path("data/new-store"), b"").unwrap();
    assert_eq!(site.start().stop(), Some(0));
    assert!(site.path("data/keycheck").exists());
    assert!(!site.path("data/new-store").exists());
}

#[test]
fn accounts_added_while_running_are_picked_up_within_2s() {
    let site = Site::new("");
    let server = site.start();
    site.add_account("alice@example.org");
    assert!(
        server.wait_log("reloaded certificates and accounts", Duration::from_secs(2)),
        "{}",
        server.log()
    );
    // A hand edit of the file is noticed too.
    let hash_line = std::fs::read_to_string(site.path("accounts.toml"))
        .unwrap()
        .lines()
        .find(|l| l.trim_start().starts_with("password"))
        .unwrap()
        .to_string();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(site.path("accounts.toml"))
        .unwrap();
    write!(
        f,
        "\n# added by hand\n[[account]]\naddress = \"bob@example.net\"\n{hash_line}\n"
    )
    .unwrap();
    drop(f);
    assert!(
        server.wait_log("accounts file changed: reloaded", Duration::from_secs(2)),
        "{}",
        server.log()
    );
    let list = site.cli(&["account", "list"], "");
    assert!(list.stdout.contains("alice@example.org") && list.stdout.contains("bob@example.net"));
    // Both new accounts can log in at once, without a restart.
    for user in ["alice@example.org", "bob@example.net"] {
        let mut tls = tls_connect(&server, &site, "imaps");
        let greeting = imap_read_until(&mut tls, "* OK");
        assert!(greeting.starts_with("* OK"), "{greeting}");
        write!(tls, "a LOGIN {user} \"{PASSWORD}\"\r\n").unwrap();
        tls.flush().unwrap();
        let reply = imap_read_until(&mut tls, "a ");
        assert!(reply.contains("a OK"), "{user}: {reply}");
    }
    // Refused: a domain that is not hosted.
    let out = site.cli(
        &["account", "add", "eve@example.com", "--password-stdin"],
        "pw\n",
    );
    assert_one_line_failure(&out, &["example.com", "not hosted"]);
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn password_change_and_delete_edit_the_file() {
    let site = Site::new("");
    site.add_account("alice@example.org");
    let before = std::fs::read_to_string(site.path("accounts.toml")).unwrap();
    let out = site.cli(
        &["account", "passwd", "alice@example.org", "--password-stdin"],
        "new secret\n",
    );
    assert!(out.ok(), "{}", out.stderr);
    let after = std::fs::read_to_string(site.path("accounts.toml")).unwrap();
    assert_ne!(before, after);
    assert!(after.contains("$argon2id$"));
    assert!(!after.contains("new secret"));
    let out = site.cli(&["account", "delete", "alice@example.org"], "");
    assert!(out.ok(), "{}", out.stderr);
    assert!(!site.cli(&["account", "list"], "").stdout.contains("alice@"));
    let out = site.cli(
        &[
            "account",
            "passwd",
            "nobody@example.org",
            "--password-stdin",
        ],
        "x\n",
    );
    assert_one_line_failure(&out, &["nobody@example.org"]);
}

fn tls_connect(
    server: &Server,
    site: &Site,
    listener: &str,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let config = client_tls(&site.path("certs/cert.pem"));
    let name = rustls::pki_types::ServerName::try_from("mail.example.org").unwrap();
    let conn = rustls::ClientConnection::new(config, name).unwrap();
    let tcp = TcpStream::connect(server.addr(listener)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    // Drive the handshake to completion.
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).unwrap();
    }
    tls
}

/// Reads from an IMAP stream until a line starting with `prefix` is complete.
fn imap_read_until(s: &mut impl Read, prefix: &str) -> String {
    let mut text = String::new();
    let mut b = [0u8; 512];
    loop {
        if text.lines().any(|l| l.starts_with(prefix)) && text.ends_with("\r\n") {
            return text;
        }
        match s.read(&mut b) {
            Ok(0) | Err(_) => return text,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&b[..n])),
        }
    }
}

#[test]
fn tls_handshake_completes_on_implicit_tls_listeners() {
    let site = Site::new("");
    let server = site.start();
    for l in ["imaps", "pop3s", "submissions"] {
        let tls = tls_connect(&server, &site, l);
        let v = tls.conn.protocol_version().unwrap();
        assert!(
            matches!(
                v,
                rustls::ProtocolVersion::TLSv1_3 | rustls::ProtocolVersion::TLSv1_2
            ),
            "{l}: {v:?}"
        );
    }
}

/// A TLS 1.1 ClientHello, written by hand: rustls-based clients cannot even offer 1.1.
fn client_hello(minor: u8) -> Vec<u8> {
    let mut body = vec![0x03, minor]; // client_version: 0x0302 is TLS 1.1
    body.extend_from_slice(&[0x42; 32]); // random
    body.push(0); // session id
    // Suites rustls supports (ECDSA and RSA GCM), so the version is the only thing refused.
    body.extend_from_slice(&[0x00, 0x04, 0xc0, 0x2b, 0xc0, 0x2f]);
    body.extend_from_slice(&[0x01, 0x00]); // null compression
    // Extensions a TLS 1.2 server needs to go ahead: groups, point formats, signature schemes.
    let ext: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00,
        0x17, // supported_groups: x25519, P-256
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // ec_point_formats: uncompressed
        0x00, 0x0d, 0x00, 0x06, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, // signature_algorithms
    ];
    body.extend_from_slice(&[(ext.len() >> 8) as u8, ext.len() as u8]);
    body.extend_from_slice(ext);
    let mut hs = vec![0x01, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(&body);
    let mut rec = vec![0x16, 0x03, 0x01, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

#[test]
fn tls_1_1_is_refused() {
    let site = Site::new("");
    let server = site.start();
    for l in ["imaps", "pop3s", "submissions"] {
        let mut tcp = TcpStream::connect(server.addr(l)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(&client_hello(2)).unwrap();
        let mut reply = Vec::new();
        let _ = tcp.read_to_end(&mut reply);
        assert!(!reply.is_empty(), "{l}: the server answers with an alert");
        assert_eq!(
            reply[0], 0x15,
            "{l}: an alert record, not a ServerHello: {reply:02x?}"
        );
        assert_eq!(reply[5], 2, "{l}: fatal");
        assert_eq!(reply[6], 70, "{l}: protocol_version alert");
        // Control: the same hello as TLS 1.2 gets a ServerHello.
        let mut tcp = TcpStream::connect(server.addr(l)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(&client_hello(3)).unwrap();
        let mut head = [0u8; 6];
        tcp.read_exact(&mut head).unwrap();
        assert_eq!(
            (head[0], head[5]),
            (0x16, 0x02),
            "{l}: handshake record with ServerHello"
        );
    }
}

#[test]
fn sighup_reloads_the_certificate() {
    let site = Site::new("");
    let server = site.start();
    let first = tls_connect(&server, &site, "imaps")
        .conn
        .peer_certificates()
        .unwrap()[0]
        .clone();
    let new = rcgen::generate_simple_self_signed(vec!["mail.example.org".to_string()]).unwrap();
    std::fs::write(site.path("certs/cert.pem"), new.cert.pem()).unwrap();
    std::fs::write(site.path("certs/key.pem"), new.signing_key.serialize_pem()).unwrap();
    server.signal("HUP");
    assert!(
        server.wait_log("reloaded certificates", Duration::from_secs(5)),
        "{}",
        server.log()
    );
    let second = tls_connect(&server, &site, "imaps")
        .conn
        .peer_certificates()
        .unwrap()[0]
        .clone();
    assert_ne!(first, second);
    assert_eq!(second.as_ref(), new.cert.der().as_ref());
}

#[test]
fn sigterm_stops_gracefully() {
    let site = Site::new("");
    let server = site.start();
    assert_eq!(server.stop(), Some(0));
    assert!(!site.path("data/admin.sock").exists());
    // The log was sealed on the way out and names both ends of the run.
    let verify = site.cli(&["audit", "verify"], "");
    assert!(verify.ok(), "{}", verify.stderr);
    assert!(
        !verify.stdout.contains("open segment"),
        "sealed at shutdown: {}",
        verify.stdout
    );
    let csv = site.cli(&["audit", "export", "--csv", "--kind", "admin"], "");
    assert!(csv.ok(), "{}", csv.stderr);
    assert!(
        csv.stdout.contains("server_started") && csv.stdout.contains("server_stopped"),
        "{}",
        csv.stdout
    );
}

#[test]
fn generated_key_is_0600_and_certificate_names_host() {
    use std::os::unix::fs::PermissionsExt;
    let site = Site::new("");
    let server = site.start();
    assert!(server.log().contains("generated a self-signed certificate"));
    for k in ["certs/key.pem", "keys/master.key"] {
        let mode = std::fs::metadata(site.path(k))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{k}");
    }
    let mode = std::fs::metadata(site.path("data/admin.sock"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
}

/// Reads one line (up to CRLF) from a plaintext socket.
fn read_line(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n") {
        match s.read(&mut b) {
            Ok(0) | Err(_) => break,
            Ok(_) => out.push(b[0]),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn connections_over_the_per_ip_cap_get_their_protocols_refusal() {
    let site = Site::new("[limits]\nmax_connections_per_ip = 2\n");
    let server = site.start();
    let connect = |l: &str| {
        let s = TcpStream::connect(server.addr(l)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    };
    // Two connections from 127.0.0.1 use up the cap (it spans listeners).
    let mut held = vec![connect("imap"), connect("smtp")];
    assert!(read_line(&mut held[0]).starts_with("* OK"));
    assert!(read_line(&mut held[1]).starts_with("220 "));
    for (listener, refusal) in [
        ("imap", "* BYE [UNAVAILABLE] "),
        ("pop3", "-ERR [SYS/TEMP] "),
        ("smtp", "421 4.7.0 "),
        ("submission", "421 4.7.0 "),
    ] {
        let mut s = connect(listener);
        let line = read_line(&mut s);
        assert!(line.starts_with(refusal), "{listener}: {line:?}");
        let mut rest = Vec::new();
        assert_eq!(
            s.read_to_end(&mut rest).unwrap_or(0),
            0,
            "{listener}: closed"
        );
    }
    // Implicit TLS: closed without a handshake.
    let mut s = connect("imaps");
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).unwrap_or(0), 0);
    // A freed slot is usable again at once.
    drop(held.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut s = connect("pop3");
        let line = read_line(&mut s);
        if line.starts_with("+OK") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "slot not freed: {line:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(server.stop(), Some(0));
}

#[test]
fn audit_log_can_be_turned_off_and_serve_says_so() {
    let site = Site::new("[audit]\nenabled = false\n");
    site.add_account("alice@example.org");
    let server = site.start();
    assert!(
        server.log().contains("[audit] enabled = false"),
        "{}",
        server.log()
    );
    let mut tls = tls_connect(&server, &site, "imaps");
    imap_read_until(&mut tls, "* OK");
    write!(tls, "a LOGIN alice@example.org \"{PASSWORD}\"\r\n").unwrap();
    tls.flush().unwrap();
    assert!(imap_read_until(&mut tls, "a ").contains("a OK"));
    drop(tls);
    assert_eq!(server.stop(), Some(0));
    let segments = std::fs::read_dir(site.path("data/audit"))
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "seg")
            })
            .count()
        })
        .unwrap_or(0);
    assert_eq!(segments, 0, "nothing recorded with the log off");
}
