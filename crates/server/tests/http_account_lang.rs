//! The account page in German and English on the real server, with curl:
//! the language follows `Accept-Language` (q-values honoured, English by
//! default), on the pages, the error pages and the deletion-confirmation
//! mail (read back over IMAPS with imaplib). A missing curl or python3
//! fails the test.

mod account_client;
mod common;
mod http_support;

use account_client::{Answer, Client, USER};
use common::{PASSWORD, Site, python};

const DE: &str = "Accept-Language: de-DE,de;q=0.9,en;q=0.3";

fn get(c: &Client, path: &str, lang: Option<&str>) -> Answer {
    match lang {
        Some(l) => c.request(path, &["-H", l]),
        None => c.get(path),
    }
}

#[test]
fn the_language_follows_accept_language_with_english_by_default() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    let server = site.start();
    let c = Client::new(&site, &server, "c");

    let en = get(&c, "/account/login", None);
    assert_eq!(en.status, 200);
    assert!(en.body.contains("<html lang=\"en\">"), "{}", en.body);
    assert!(en.body.contains("<h1>Sign in to your mail account</h1>"));
    assert_eq!(en.header("content-language"), Some("en"));
    assert!(
        en.all("vary").iter().any(|v| v.contains("Accept-Language")),
        "{:?}",
        en.headers
    );

    let de = get(&c, "/account/login", Some(DE));
    assert!(de.body.contains("<html lang=\"de\">"), "{}", de.body);
    assert!(de.body.contains("<h1>Bei Ihrem Mailkonto anmelden</h1>"));
    assert!(de.body.contains("<label for=\"password\">Passwort</label>"));
    assert!(!de.body.contains("Sign in"), "{}", de.body);
    assert_eq!(de.header("content-language"), Some("de"));

    // q-values decide; unknown languages and q=0 do not count.
    for (header, german) in [
        ("Accept-Language: fr-FR,fr;q=0.9,de;q=0.8,en;q=0.7", true),
        ("Accept-Language: en-US,en;q=0.9,de;q=0.8", false),
        ("Accept-Language: de;q=0, en;q=0.1", false),
        ("Accept-Language: fr", false),
        ("Accept-Language: de-AT", true),
    ] {
        let a = get(&c, "/account/login", Some(header));
        assert_eq!(
            a.body.contains("<html lang=\"de\">"),
            german,
            "{header}: {}",
            &a.body[..a.body.len().min(200)]
        );
    }

    // Error pages too.
    let missing = get(&c, "/account/nothing-here", Some(DE));
    assert_eq!(missing.status, 404);
    assert!(
        missing.body.contains("Seite nicht gefunden"),
        "{}",
        missing.body
    );
    assert!(
        get(&c, "/account/nothing-here", None)
            .body
            .contains("Page not found")
    );

    // Signed in: the overview and an action's refusal in German.
    let token = get(&c, "/account/login", Some(DE)).csrf();
    let signed_in = c.post(
        "/account/login",
        &[("csrf", &token), ("address", USER), ("password", PASSWORD)],
        &["-H", DE],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    let overview = get(&c, "/account", Some(DE));
    for text in [
        "<h1>Ihr Konto</h1>",
        "Angemeldet als <strong>alice@example.org</strong>",
        "Abmelden",
        "Passwort ändern",
        "App-Passwörter",
        "Mein Konto löschen",
    ] {
        assert!(overview.body.contains(text), "{text}: {}", overview.body);
    }
    let english = c.get("/account");
    assert!(english.body.contains("<h1>Your account</h1>"));
    let csrf = overview.csrf();
    let refused = c.post(
        "/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("new_password", "a long new passphrase"),
            ("confirm_password", "another long passphrase"),
        ],
        &["-H", DE],
    );
    assert_eq!(refused.status, 400);
    assert!(
        refused.body.contains("Passwort nicht geändert")
            && refused.body.contains("stimmen nicht überein"),
        "{}",
        refused.body
    );

    // App passwords: made, a second one of the same name refused.
    for (n, want) in [(1, 200), (2, 409)] {
        let csrf = get(&c, "/account", Some(DE)).csrf();
        let a = c.post(
            "/account/app-passwords/add",
            &[("csrf", &csrf), ("label", "Telefon")],
            &["-H", DE],
        );
        assert_eq!(a.status, want, "{n}: {}", a.body);
        let text = match n {
            1 => "Ihr neues App-Passwort",
            _ => "Sie haben bereits ein App-Passwort namens „Telefon“",
        };
        assert!(a.body.contains(text), "{}", a.body);
    }

    // The deletion-confirmation mail is in the language it was asked in.
    let csrf = get(&c, "/account/delete", Some(DE)).csrf();
    let asked = c.post(
        "/account/delete",
        &[
            ("csrf", &csrf),
            ("confirm_address", USER),
            ("password", PASSWORD),
        ],
        &["-H", DE],
    );
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert!(
        asked.body.contains("Sehen Sie in Ihr Postfach"),
        "{}",
        asked.body
    );
    let arg = serde_json::json!({
        "imaps": server.addr("imaps").port(),
        "cafile": site.path("certs/cert.pem"),
        "user": USER,
        "password": PASSWORD,
        "subject": "Kontos",
    });
    let out = python("imap_fetch_raw.py", &[&arg.to_string()]);
    assert!(out.ok(), "imap_fetch_raw.py: {}{}", out.stdout, out.stderr);
    let mail = out.stdout;
    assert!(
        mail.contains(
            "Subject: =?UTF-8?B?QmVzdMOkdGlnZW4gU2llIGRpZSBMw7ZzY2h1bmcgSWhyZXMgS29udG9z?=\r\n"
        ),
        "{mail}"
    );
    assert!(mail.contains("Content-Language: de\r\n"), "{mail}");
    assert!(
        mail.contains("verlangt, das Konto alice@example.org zu löschen."),
        "{mail}"
    );
    assert!(mail.contains("/account/delete/confirm?code="), "{mail}");
    server.stop();
}
