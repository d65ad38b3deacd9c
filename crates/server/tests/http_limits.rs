//! The limits of `[http]` on the real server, each with the answer a
//! client gets: 431 (head too large, too many fields), 413 (body too
//! large, declared or chunked), 408 (body too slow), a closed connection
//! (head too slow, idle keep-alive), 503 past the per-IP cap; and a clean
//! shutdown with a connection open. Driven with curl and raw sockets (a
//! slowloris client is exactly a raw socket that stops writing).

mod common;
mod http_support;

use http_support::{HttpSite, LISTEN_ALL, curl_http};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const LIMITS: &str = "[http]\nmax_header_bytes = 2048\nmax_headers = 16\nmax_body_bytes = 1024\nheader_timeout_secs = 1\nrequest_timeout_secs = 1\n";

/// Reads until the server closes; returns what it sent. Panics if the
/// connection is still open after `within` (generous: the machine is shared).
fn read_until_closed(stream: &mut TcpStream, within: Duration) -> String {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let end = Instant::now() + within;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned();
            }
            Err(_) => {}
        }
        assert!(
            Instant::now() < end,
            "connection still open after {within:?}; got {:?}",
            String::from_utf8_lossy(&got)
        );
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr).unwrap()
}

#[test]
fn a_head_over_the_size_limit_gets_431() {
    let site = HttpSite::new(LISTEN_ALL, LIMITS);
    let server = site.start();
    let big = format!("X-Big: {}", "a".repeat(3000));
    let (status, _) = curl_http(
        "autoconfig.example.org",
        server.addr("http"),
        "/mail/config-v1.1.xml",
        &["-H", &big],
    );
    assert_eq!(status, 431);
    // Just under the limit is fine.
    let fits = format!("X-Big: {}", "a".repeat(1500));
    let (status, _) = curl_http(
        "autoconfig.example.org",
        server.addr("http"),
        "/mail/config-v1.1.xml",
        &["-H", &fits],
    );
    assert_eq!(status, 200);
}

#[test]
fn too_many_header_fields_get_431() {
    let site = HttpSite::new(LISTEN_ALL, LIMITS);
    let server = site.start();
    let fields: Vec<String> = (0..20).map(|i| format!("X-F{i}: v")).collect();
    let mut args = Vec::new();
    for f in &fields {
        args.extend(["-H", f.as_str()]);
    }
    let (status, _) = curl_http(
        "autoconfig.example.org",
        server.addr("http"),
        "/mail/config-v1.1.xml",
        &args,
    );
    assert_eq!(status, 431);
}

#[test]
fn a_body_over_the_limit_gets_413_declared_or_chunked() {
    let site = HttpSite::new(LISTEN_ALL, LIMITS);
    let server = site.start();
    let body = format!(
        "<Autodiscover><Request><EMailAddress>{}@example.org</EMailAddress></Request></Autodiscover>",
        "a".repeat(2000)
    );
    for extra in [&[][..], &["-H", "Transfer-Encoding: chunked"][..]] {
        let mut args = vec!["-X", "POST", "--data-binary", body.as_str()];
        args.extend_from_slice(extra);
        let (status, _) = curl_http(
            "autodiscover.example.org",
            server.addr("http"),
            "/autodiscover/autodiscover.xml",
            &args,
        );
        assert_eq!(status, 413, "{extra:?}");
    }
    // Content-Length alone is enough to refuse, before any body arrives.
    let mut s = connect(server.addr("http"));
    s.write_all(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: autodiscover.example.org\r\nContent-Length: 1000000000\r\n\r\n")
        .unwrap();
    let answer = read_until_closed(&mut s, Duration::from_secs(20));
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
}

#[test]
fn a_slow_head_is_cut_off_and_so_is_an_idle_keep_alive_connection() {
    let site = HttpSite::new(LISTEN_ALL, LIMITS);
    let server = site.start();
    // Slowloris: half a head, then silence.
    let mut slow = connect(server.addr("http"));
    slow.write_all(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: autoconfig.exa")
        .unwrap();
    let got = read_until_closed(&mut slow, Duration::from_secs(30));
    assert!(!got.contains("200 OK"), "{got}");
    // A complete request is answered, then the idle connection is closed.
    let mut idle = connect(server.addr("http"));
    idle.write_all(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: autoconfig.example.org\r\n\r\n")
        .unwrap();
    let got = read_until_closed(&mut idle, Duration::from_secs(30));
    assert!(got.starts_with("HTTP/1.1 200 OK"), "{got}");
    // The server is still serving.
    let (status, _) = curl_http(
        "autoconfig.example.org",
        server.addr("http"),
        "/mail/config-v1.1.xml",
        &[],
    );
    assert_eq!(status, 200);
}

#[test]
fn a_slow_body_gets_408() {
    let site = HttpSite::new(LISTEN_ALL, LIMITS);
    let server = site.start();
    let mut s = connect(server.addr("http"));
    s.write_all(b"POST /autodiscover/autodiscover.xml HTTP/1.1\r\nHost: autodiscover.example.org\r\nContent-Length: 500\r\n\r\n<Autodiscover>")
        .unwrap();
    let got = read_until_closed(&mut s, Duration::from_secs(30));
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    assert!(
        got.to_ascii_lowercase().contains("connection: close"),
        "{got}"
    );
}

#[test]
fn connections_per_ip_are_capped_with_503_on_http_and_a_close_on_https() {
    let site = HttpSite::new(
        LISTEN_ALL,
        "[http]\nmax_connections_per_ip = 3\nheader_timeout_secs = 60\n",
    );
    let server = site.start();
    let (http, https) = (server.addr("http"), server.addr("https"));
    let held: Vec<TcpStream> = (0..3).map(|_| connect(http)).collect();
    // Give the server a moment to count them (they are accepted in order).
    let end = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let mut extra = connect(http);
        let got = read_until_closed(&mut extra, Duration::from_secs(20));
        if got.starts_with("HTTP/1.1 503 ") {
            break got;
        }
        assert!(
            Instant::now() < end,
            "fourth connection not refused: {got:?}"
        );
    };
    assert!(refused.contains("Retry-After"), "{refused}");
    // The cap is shared by both listeners: HTTPS is closed without a word.
    let mut tls = connect(https);
    tls.write_all(b"\x16\x03\x01\x00\x05hello").unwrap();
    assert_eq!(read_until_closed(&mut tls, Duration::from_secs(20)), "");
    // A place freed is a place taken.
    drop(held);
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = curl_http("autoconfig.example.org", http, "/mail/config-v1.1.xml", &[]);
        if status == 200 {
            break;
        }
        assert!(Instant::now() < end, "status {status} after closing");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Mail listeners have their own caps: IMAPS still greets.
    let mut imap = connect(server.addr("imap"));
    let mut greeting = [0u8; 4];
    imap.read_exact(&mut greeting).unwrap();
    assert_eq!(&greeting, b"* OK");
}

#[test]
fn shutdown_with_an_open_keep_alive_connection_is_clean() {
    let site = HttpSite::new(LISTEN_ALL, "[http]\nheader_timeout_secs = 60\n");
    let server = site.start();
    let mut open = connect(server.addr("http"));
    open.write_all(b"GET /mail/config-v1.1.xml HTTP/1.1\r\nHost: autoconfig.example.org\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 15];
    open.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200 OK");
    assert_eq!(server.stop(), Some(0));
    read_until_closed(&mut open, Duration::from_secs(5));
}
