//! Client autoconfig end to end: the real server's HTTP and HTTPS
//! listeners, fetched with Python's http.client (documents parsed with
//! xml.etree, plistlib, json) and curl; what they advertise must be the
//! listeners really bound.

mod common;
mod http_support;

use common::Server;
use http_support::{HttpSite, LISTEN_ALL, curl_http, curl_https};
use serde_json::{Value, json};

/// Python's view of a document: {"status", "content_type", "parsed"}.
fn fetch(site: &HttpSite, server: &Server, mut a: Value) -> Value {
    let scheme = a["scheme"].as_str().unwrap_or("https").to_string();
    a["scheme"] = scheme.clone().into();
    a["port"] = server.addr(&scheme).port().into();
    a["cafile"] = site.cert().to_str().unwrap().into();
    if a.get("sni").is_none() {
        a["sni"] = "mail.example.org".into();
    }
    let out = common::python("http_autoconfig.py", &[&a.to_string()]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    serde_json::from_str(out.stdout.trim()).unwrap()
}

fn port(server: &Server, listener: &str) -> u64 {
    u64::from(server.addr(listener).port())
}

const POX: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>ADDRESS</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>";

fn pox(address: &str) -> String {
    POX.replace("ADDRESS", address)
}

#[test]
fn thunderbird_autoconfig_advertises_the_bound_listeners() {
    let site = HttpSite::new(LISTEN_ALL, "");
    let server = site.start();
    for (scheme, host, path) in [
        (
            "https",
            "autoconfig.example.org",
            "/mail/config-v1.1.xml?emailaddress=alice%40example.org",
        ),
        ("http", "autoconfig.example.org", "/mail/config-v1.1.xml"),
        (
            "https",
            "example.org",
            "/.well-known/autoconfig/mail/config-v1.1.xml",
        ),
    ] {
        let r = fetch(
            &site,
            &server,
            json!({"kind": "thunderbird", "scheme": scheme, "host": host, "path": path}),
        );
        assert_eq!(r["status"], 200, "{scheme} {host}{path}: {r}");
        assert_eq!(r["content_type"], "application/xml; charset=utf-8");
        let p = &r["parsed"];
        assert_eq!(p["domain"], "example.org");
        let incoming = p["incoming"].as_array().unwrap();
        assert_eq!(incoming.len(), 2, "{p}");
        assert_eq!(incoming[0]["type"], "imap");
        assert_eq!(incoming[0]["port"], port(&server, "imaps"));
        assert_eq!(incoming[0]["socketType"], "SSL");
        assert_eq!(incoming[1]["type"], "pop3");
        assert_eq!(incoming[1]["port"], port(&server, "pop3s"));
        assert_eq!(incoming[1]["socketType"], "SSL");
        let outgoing = p["outgoing"].as_array().unwrap();
        assert_eq!(outgoing.len(), 1);
        assert_eq!(outgoing[0]["port"], port(&server, "submissions"));
        assert_eq!(outgoing[0]["socketType"], "SSL");
        for s in incoming.iter().chain(outgoing) {
            assert_eq!(s["hostname"], "mail.example.org");
            assert_eq!(s["username"], "%EMAILADDRESS%");
            assert_eq!(s["authentication"], "password-cleartext");
        }
    }
    // curl sees the same document (verified certificate for the mail host name).
    let (status, body) = curl_https(
        "mail.example.org",
        server.addr("https"),
        "/mail/config-v1.1.xml?emailaddress=bob@example.net",
        &site.cert(),
        &[],
    );
    assert_eq!(status, 200);
    assert!(body.contains("<domain>example.net</domain>"), "{body}");
    assert!(body.contains(&format!("<port>{}</port>", port(&server, "imaps"))));
}

#[test]
fn starttls_is_advertised_only_where_no_implicit_tls_listener_exists() {
    let listen = "imap = [\"127.0.0.1:0\"]\npop3 = [\"127.0.0.1:0\"]\nsubmission = [\"127.0.0.1:0\"]\nsubmissions = [\"127.0.0.1:0\"]\nsmtp = [\"127.0.0.1:0\"]\nhttp = [\"127.0.0.1:0\"]\nhttps = [\"127.0.0.1:0\"]\n";
    let site = HttpSite::new(listen, "");
    let server = site.start();
    let r = fetch(
        &site,
        &server,
        json!({"kind": "thunderbird", "host": "autoconfig.example.org", "path": "/mail/config-v1.1.xml"}),
    );
    let p = &r["parsed"];
    assert_eq!(p["incoming"][0]["port"], port(&server, "imap"));
    assert_eq!(p["incoming"][0]["socketType"], "STARTTLS");
    assert_eq!(p["incoming"][1]["port"], port(&server, "pop3"));
    assert_eq!(p["incoming"][1]["socketType"], "STARTTLS");
    // submissions (implicit TLS) wins over submission; smtp (MX) is never advertised.
    assert_eq!(p["outgoing"][0]["port"], port(&server, "submissions"));
    assert_eq!(p["outgoing"][0]["socketType"], "SSL");
    let r = fetch(
        &site,
        &server,
        json!({"kind": "autodiscover", "host": "autodiscover.example.org", "method": "POST",
               "path": "/autodiscover/autodiscover.xml", "body": pox("alice@example.org")}),
    );
    let protocols = r["parsed"]["protocols"].as_array().unwrap();
    assert_eq!(protocols[0]["Type"], "IMAP");
    assert_eq!(protocols[0]["Encryption"], "TLS");
    assert_eq!(protocols[1]["Type"], "POP3");
    assert_eq!(protocols[1]["Encryption"], "TLS");
    assert_eq!(protocols[2]["Encryption"], "SSL");
    let text = r.to_string();
    for plain in ["\"None\"", "\"off\"}"] {
        assert!(!text.contains(plain), "plaintext advertised: {text}");
    }
}

#[test]
fn outlook_autodiscover_pox_and_json_v2() {
    let site = HttpSite::new(LISTEN_ALL, "");
    let server = site.start();
    // Outlook capitalises the path; Exchange matches it in any case.
    for path in [
        "/Autodiscover/Autodiscover.xml",
        "/autodiscover/autodiscover.xml",
    ] {
        let r = fetch(
            &site,
            &server,
            json!({"kind": "autodiscover", "host": "autodiscover.example.org", "method": "POST",
                   "path": path, "body": pox("Alice@Example.org")}),
        );
        assert_eq!(r["status"], 200, "{r}");
        let protocols = r["parsed"]["protocols"].as_array().unwrap();
        let want = [
            ("IMAP", "imaps", "SSL"),
            ("POP3", "pop3s", "SSL"),
            ("SMTP", "submissions", "SSL"),
        ];
        assert_eq!(protocols.len(), want.len(), "{r}");
        for (p, (kind, listener, encryption)) in protocols.iter().zip(want) {
            assert_eq!(p["Type"], kind);
            assert_eq!(p["Server"], "mail.example.org");
            assert_eq!(p["Port"], port(&server, listener));
            assert_eq!(p["SSL"], "on");
            assert_eq!(p["Encryption"], encryption);
            assert_eq!(p["LoginName"], "alice@example.org");
            assert_eq!(p["SPA"], "off");
        }
    }
    // The JSON v2 endpoint points Outlook at the POX one on our HTTPS listener.
    let r = fetch(
        &site,
        &server,
        json!({"kind": "autodiscover_json", "host": "autodiscover.example.org",
               "path": "/autodiscover/autodiscover.json/v1.0/alice@example.org?Protocol=AutodiscoverV1"}),
    );
    assert_eq!(r["status"], 200);
    assert_eq!(
        r["parsed"],
        json!({"Protocol": "AutodiscoverV1",
               "Url": format!("https://mail.example.org:{}/Autodiscover/Autodiscover.xml", port(&server, "https"))})
    );
    let r = fetch(
        &site,
        &server,
        json!({"kind": "autodiscover_json", "host": "example.org",
               "path": "/autodiscover/autodiscover.json?Email=alice%40example.org&Protocol=ActiveSync"}),
    );
    assert_eq!(r["status"], 400);
    assert_eq!(r["parsed"]["ErrorCode"], "InvalidProtocol");
}

#[test]
fn apple_mobileconfig_is_a_mail_payload_for_the_bound_listeners() {
    let site = HttpSite::new(LISTEN_ALL, "");
    let server = site.start();
    let r = fetch(
        &site,
        &server,
        json!({"kind": "mobileconfig", "host": "mail.example.org",
               "path": "/apple/mobileconfig?email=alice%40example.org"}),
    );
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["content_type"], "application/x-apple-aspen-config");
    let profile = &r["parsed"];
    assert_eq!(profile["PayloadType"], "Configuration");
    let mail = &profile["PayloadContent"][0];
    assert_eq!(mail["PayloadType"], "com.apple.mail.managed");
    assert_eq!(mail["EmailAccountType"], "EmailTypeIMAP");
    assert_eq!(mail["EmailAddress"], "alice@example.org");
    assert_eq!(mail["IncomingMailServerHostName"], "mail.example.org");
    assert_eq!(mail["IncomingMailServerPortNumber"], port(&server, "imaps"));
    assert_eq!(mail["IncomingMailServerUseSSL"], true);
    assert_eq!(mail["IncomingMailServerUsername"], "alice@example.org");
    assert_eq!(
        mail["OutgoingMailServerPortNumber"],
        port(&server, "submissions")
    );
    assert_eq!(mail["OutgoingMailServerUseSSL"], true);
    assert_eq!(mail["OutgoingPasswordSameAsIncomingPassword"], true);
    assert_ne!(mail["PayloadUUID"], profile["PayloadUUID"]);
}

#[test]
fn mta_sts_policy_from_config_on_https_for_hosted_domains_only() {
    let site = HttpSite::new(
        LISTEN_ALL,
        "[http.mta_sts]\nmode = \"enforce\"\nmax_age_secs = 86400\nmx = [\"mail.example.org\", \"*.mx.example.org\"]\n",
    );
    let server = site.start();
    let https = server.addr("https");
    let (status, body) = curl_https(
        "mail.example.org",
        https,
        "/.well-known/mta-sts.txt",
        &site.cert(),
        &["-H", "Host: mta-sts.example.net", "--include"],
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.to_ascii_lowercase()
            .contains("content-type: text/plain"),
        "{body}"
    );
    let text = body.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(
        text,
        "version: STSv1\r\nmode: enforce\r\nmx: mail.example.org\r\nmx: *.mx.example.org\r\nmax_age: 86400\r\n"
    );
    for host in ["mta-sts.other.example", "mail.example.org", "example.org"] {
        let (status, _) = curl_https(
            "mail.example.org",
            https,
            "/.well-known/mta-sts.txt",
            &site.cert(),
            &["-H", &format!("Host: {host}")],
        );
        assert_eq!(status, 404, "{host}");
    }
    // Never over plain HTTP: a browser there is sent to HTTPS.
    let (status, _) = curl_http(
        "mta-sts.example.org",
        server.addr("http"),
        "/.well-known/mta-sts.txt",
        &[],
    );
    assert_eq!(status, 308);
}

#[test]
fn only_hosted_domains_get_answers() {
    let site = HttpSite::new(LISTEN_ALL, "");
    let server = site.start();
    let https = server.addr("https");
    let cert = site.cert();
    let get = |host: &str, path: &str| {
        curl_https(
            "mail.example.org",
            https,
            path,
            &cert,
            &["-H", &format!("Host: {host}")],
        )
        .0
    };
    assert_eq!(
        get("autoconfig.other.example", "/mail/config-v1.1.xml"),
        404
    );
    assert_eq!(
        get(
            "autoconfig.example.org",
            "/mail/config-v1.1.xml?emailaddress=a%40other.example"
        ),
        404
    );
    assert_eq!(
        get(
            "autoconfig.example.org",
            "/mail/config-v1.1.xml?emailaddress=not-an-address"
        ),
        400
    );
    assert_eq!(
        get(
            "mail.example.org",
            "/apple/mobileconfig?email=a%40other.example"
        ),
        404
    );
    assert_eq!(get("mail.example.org", "/apple/mobileconfig"), 400);
    assert_eq!(
        get(
            "mail.example.org",
            "/autodiscover/autodiscover.json/v1.0/a@other.example?Protocol=AutodiscoverV1"
        ),
        404
    );
    let r = fetch(
        &site,
        &server,
        json!({"kind": "autodiscover", "host": "autodiscover.other.example", "method": "POST",
               "path": "/autodiscover/autodiscover.xml", "body": pox("a@other.example")}),
    );
    assert_eq!(r["status"], 404);
    assert_eq!(get("mail.example.org", "/nothing-here"), 404);
    // Plain HTTP for a name that is not ours: no redirect, nothing.
    assert_eq!(
        curl_http("www.other.example", server.addr("http"), "/", &[]).0,
        404
    );
}

#[test]
fn answers_do_not_reveal_whether_an_account_exists() {
    let site = HttpSite::new(LISTEN_ALL, "");
    site.add_account("alice@example.org");
    let server = site.start();
    let https = server.addr("https");
    let cert = site.cert();
    let body = |address: &str, path: String, post: bool| {
        let data = pox(address);
        let mut extra = vec!["-H", "Host: autoconfig.example.org", "--include"];
        if post {
            extra.extend([
                "-H",
                "Content-Type: text/xml",
                "--data-binary",
                data.as_str(),
            ]);
        }
        let (status, body) = curl_https("mail.example.org", https, &path, &cert, &extra);
        let without_date: Vec<&str> = body
            .split("\r\n")
            .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
            .collect();
        (
            status,
            without_date.join("\r\n").replace(address, "ADDRESS"),
        )
    };
    for (path, post) in [
        (
            "/mail/config-v1.1.xml?emailaddress=LOCAL%40example.org",
            false,
        ),
        ("/autodiscover/autodiscover.xml", true),
        (
            "/autodiscover/autodiscover.json/v1.0/LOCAL@example.org?Protocol=AutodiscoverV1",
            false,
        ),
    ] {
        let existing = body("alice@example.org", path.replace("LOCAL", "alice"), post);
        let unknown = body("zelda@example.org", path.replace("LOCAL", "zelda"), post);
        assert_eq!(existing.0, 200, "{path}");
        assert_eq!(existing, unknown, "{path}");
    }
    // (Local parts of equal length: the Content-Length must match too.)
    // The profile's identifiers derive from the address (so reinstalling
    // replaces it); everything else is the same.
    let profile = |address: &str| {
        let r = fetch(
            &site,
            &server,
            json!({"kind": "mobileconfig", "host": "mail.example.org",
                   "path": format!("/apple/mobileconfig?email={address}")}),
        );
        let mut text = r.to_string().replace(address, "ADDRESS");
        let v: Value = serde_json::from_str(&text).unwrap();
        for uuid in [
            v["parsed"]["PayloadUUID"].as_str().unwrap(),
            v["parsed"]["PayloadContent"][0]["PayloadUUID"]
                .as_str()
                .unwrap(),
            v["parsed"]["PayloadIdentifier"].as_str().unwrap(),
        ] {
            text = text.replace(uuid, "ID");
        }
        text
    };
    assert_eq!(profile("alice@example.org"), profile("zelda@example.org"));
}

#[test]
fn bad_autodiscover_requests_get_protocol_errors() {
    let site = HttpSite::new(LISTEN_ALL, "[http]\nmax_body_bytes = 2048\n");
    let server = site.start();
    let post = |body: &str| {
        fetch(
            &site,
            &server,
            json!({"kind": "autodiscover", "host": "autodiscover.example.org", "method": "POST",
                   "path": "/autodiscover/autodiscover.xml", "body": body}),
        )
    };
    for bad in [
        "not xml at all",
        "<Autodiscover><Request><EMailAddress>a@example.org</Request></Autodiscover>",
        "<!DOCTYPE d [<!ENTITY x \"a@example.org\">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>",
        "<Autodiscover><Request></Request></Autodiscover>",
    ] {
        let r = post(bad);
        assert_eq!(r["status"], 400, "{bad}: {r}");
        assert_eq!(r["parsed"]["error_code"], "600", "{bad}: {r}");
    }
    let mobilesync = POX.replace("ADDRESS", "a@example.org").replace(
        "outlook/responseschema/2006a",
        "mobilesync/responseschema/2006",
    );
    let r = post(&mobilesync);
    assert_eq!(r["status"], 200);
    assert_eq!(r["parsed"]["error_code"], "601");
    let r = post(&pox(&format!("{}@example.org", "a".repeat(3000))));
    assert_eq!(r["status"], 413, "{r}");
    // A GET is not how POX autodiscover is asked.
    let (status, _) = curl_https(
        "mail.example.org",
        server.addr("https"),
        "/autodiscover/autodiscover.xml",
        &site.cert(),
        &[],
    );
    assert_eq!(status, 405);
}
