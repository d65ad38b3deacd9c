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

/// The visible text of a page: tags dropped, the entities the page
/// writes turned back into characters.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        out.push(' ');
        rest = rest[open..].split_once('>').map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The English sentences and words of the table (each string cut at its
/// `{value}` places and its markup), except the ones German shares.
fn english_fragments() -> Vec<(&'static str, String)> {
    use sealpost_http::account::text::{DE, EN, SAME_IN_BOTH};
    let mut out = Vec::new();
    for ((name, en), (_, de)) in EN.entries().into_iter().zip(DE.entries()) {
        if name == "code" || en == de || SAME_IN_BOTH.contains(&name) {
            continue;
        }
        let text = visible_text(en);
        for piece in text.split(['{', '}']).step_by(2) {
            let piece = piece.trim_matches(|c: char| c.is_whitespace() || ".,:;()\"".contains(c));
            if piece.chars().filter(|c| c.is_alphabetic()).count() >= 4 {
                out.push((name, piece.to_string()));
            }
        }
    }
    out
}

#[test]
fn the_german_pages_hold_no_english_string_of_the_table() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    let mut pages: Vec<(String, Answer)> = Vec::new();
    let mut visit = |what: &str, a: Answer| pages.push((what.to_string(), a));

    visit("sign-in", get(&c, "/account/login", Some(DE)));
    visit("not found", get(&c, "/account/nothing-here", Some(DE)));
    visit(
        "not allowed",
        c.request("/account/login", &["-X", "DELETE", "-H", DE]),
    );
    let token = get(&c, "/account/login", Some(DE)).csrf();
    let wrong = c.post(
        "/account/login",
        &[("csrf", &token), ("address", USER), ("password", "not it")],
        &["-H", DE],
    );
    visit("wrong password", wrong);
    let token = get(&c, "/account/login", Some(DE)).csrf();
    let signed_in = c.post(
        "/account/login",
        &[("csrf", &token), ("address", USER), ("password", PASSWORD)],
        &["-H", DE],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    visit("overview", get(&c, "/account", Some(DE)));
    visit("access log", get(&c, "/account/access", Some(DE)));
    visit("deletion", get(&c, "/account/delete", Some(DE)));
    let csrf = get(&c, "/account", Some(DE)).csrf();
    // Malformed forms: each reason worded in German.
    for body in ["a=%zz", "a=%FF", "a=x%00", "a=1&a=2"] {
        let raw = format!("csrf={csrf}&{body}");
        let a = c.request("/account/password", &["--data-binary", &raw, "-H", DE]);
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        visit(&format!("malformed {body}"), a);
    }
    for (what, new, again) in [
        (
            "passwords differ",
            "a long new passphrase",
            "another long passphrase",
        ),
        ("password short", "short", "short"),
    ] {
        let csrf = get(&c, "/account", Some(DE)).csrf();
        let a = c.post(
            "/account/password",
            &[
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("new_password", new),
                ("confirm_password", again),
            ],
            &["-H", DE],
        );
        visit(what, a);
    }
    for (what, path, label) in [
        ("app password made", "/account/app-passwords/add", "Telefon"),
        (
            "app password taken",
            "/account/app-passwords/add",
            "Telefon",
        ),
        (
            "app password missing",
            "/account/app-passwords/remove",
            "Uhr",
        ),
    ] {
        let csrf = get(&c, "/account", Some(DE)).csrf();
        let a = c.post(path, &[("csrf", &csrf), ("label", label)], &["-H", DE]);
        visit(what, a);
    }
    visit(
        "overview with an app password",
        get(&c, "/account", Some(DE)),
    );
    let csrf = get(&c, "/account/delete", Some(DE)).csrf();
    let typed_wrong = c.post(
        "/account/delete",
        &[
            ("csrf", &csrf),
            ("confirm_address", "bob@example.org"),
            ("password", PASSWORD),
        ],
        &["-H", DE],
    );
    visit("deletion typed wrong", typed_wrong);
    let csrf = get(&c, "/account", Some(DE)).csrf();
    visit(
        "signed out",
        c.post("/account/logout", &[("csrf", &csrf)], &["-H", DE]),
    );

    let english = english_fragments();
    assert!(english.len() > 150, "{}", english.len());
    // The check finds English where there is English.
    let en = visible_text(&get(&c, "/account/login", None).body);
    let on_english_page = english
        .iter()
        .filter(|(_, p)| en.contains(p.as_str()))
        .count();
    assert!(
        on_english_page >= 5,
        "{on_english_page} strings found on the English page"
    );
    let mut found = Vec::new();
    for (what, page) in &pages {
        assert!(
            page.body.contains("<html lang=\"de\">"),
            "{what}: {}",
            page.body
        );
        let text = visible_text(&page.body);
        for (name, piece) in &english {
            if text.contains(piece.as_str()) {
                found.push(format!("{what}: {name}: {piece:?}"));
            }
        }
    }
    assert!(found.is_empty(), "English on German pages: {found:#?}");
    server.stop();
}

/// Signs `c` in with the German page; returns the overview's CSRF token.
fn sign_in_de(c: &Client) -> String {
    let token = get(c, "/account/login", Some(DE)).csrf();
    let signed_in = c.post(
        "/account/login",
        &[("csrf", &token), ("address", USER), ("password", PASSWORD)],
        &["-H", DE],
    );
    assert_eq!(signed_in.status, 303, "{}", signed_in.body);
    get(c, "/account", Some(DE)).csrf()
}

/// No English sentence of the table on a German page (see
/// [`english_fragments`]), and none of the accounts file's own English.
fn assert_german(what: &str, a: &Answer) {
    assert!(a.body.contains("<html lang=\"de\">"), "{what}: {}", a.body);
    let text = visible_text(&a.body);
    for (name, piece) in english_fragments() {
        assert!(
            !text.contains(&piece),
            "{what}: {name}: {piece:?} in {text}"
        );
    }
    for english in ["labelled", "already", "octets", "accounts", "Not found"] {
        assert!(!text.contains(english), "{what}: {english:?} in {text}");
    }
}

/// What only the accounts file's own checks find reaches the German page
/// in German, from the directory's typed refusals: a password longer than
/// the file takes in octets (the form counts characters), the same app
/// password asked for at once from several tabs (one made, the others
/// refused, also those that passed the page's own check before the first
/// was written), and an accounts file broken by hand (the server's
/// failure, not the user's).
#[test]
fn the_accounts_files_refusals_are_worded_in_german() {
    let site = Site::with_listeners(&["http", "https"], "");
    site.add_account(USER);
    let server = site.start();
    let c = Client::new(&site, &server, "c");
    let csrf = sign_in_de(&c);

    // 520 characters, 1040 octets: past the file's 1024.
    let long = "ä".repeat(520);
    let a = c.post(
        "/account/password",
        &[
            ("csrf", &csrf),
            ("current_password", PASSWORD),
            ("new_password", &long),
            ("confirm_password", &long),
        ],
        &["-H", DE],
    );
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.body.contains("Passwort nicht geändert")
            && a.body
                .contains("Das neue Passwort ist länger als 1024 Bytes"),
        "{}",
        a.body
    );
    assert_german("password too long", &a);

    // Eight tabs of the same session add the same label at once.
    let csrf = get(&c, "/account", Some(DE)).csrf();
    let tabs: Vec<Client> = (0..8)
        .map(|i| {
            let name = format!("tab{i}");
            std::fs::copy(site.path("c.jar"), site.path(&format!("{name}.jar"))).unwrap();
            Client::new(&site, &server, &name)
        })
        .collect();
    let answers: Vec<Answer> = std::thread::scope(|s| {
        let running: Vec<_> = tabs
            .iter()
            .map(|tab| {
                let csrf = &csrf;
                s.spawn(move || {
                    tab.post(
                        "/account/app-passwords/add",
                        &[("csrf", csrf), ("label", "Telefon")],
                        &["-H", DE],
                    )
                })
            })
            .collect();
        running.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let made = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(
        made,
        1,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in &answers {
        match a.status {
            200 => assert!(a.body.contains("Ihr neues App-Passwort"), "{}", a.body),
            409 => assert!(
                a.body
                    .contains("Sie haben bereits ein App-Passwort namens „Telefon“"),
                "{}",
                a.body
            ),
            // The session's credentials changed under a request in flight.
            403 => assert!(
                a.body.contains("Bitte melden Sie sich erneut an"),
                "{}",
                a.body
            ),
            s => panic!("{s}: {}", a.body),
        }
        assert_german("the same label at once", a);
    }

    // The operator breaks the file: the running server keeps the accounts
    // it had (the session stands), the page's reads and edits fail on the
    // file: the server's failure, said in German.
    let csrf = get(&c, "/account", Some(DE)).csrf();
    let accounts = site.path("accounts.toml");
    let mut text = std::fs::read_to_string(&accounts).unwrap();
    text.push_str("\n[[account]\n");
    std::fs::write(&accounts, text).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let overview = get(&c, "/account", Some(DE));
    let add = c.post(
        "/account/app-passwords/add",
        &[("csrf", &csrf), ("label", "Uhr")],
        &["-H", DE],
    );
    for (what, a) in [("overview", overview), ("add", add)] {
        assert_eq!(a.status, 500, "{what}: {}", a.body);
        assert!(
            a.body.contains("Etwas ist schiefgegangen"),
            "{what}: {}",
            a.body
        );
        assert_german(what, &a);
    }
    server.stop();
}
