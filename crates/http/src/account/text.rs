//! The account page's languages: English (the default) and German, chosen
//! per request from the browser's `Accept-Language` (RFC 9110 12.5.4:
//! language ranges with q-values, `de`, `de-DE`, `*`; a range with `q=0`
//! is refused, the highest q that we have wins, the first of equals), and
//! every user-visible string of the page and of its deletion-confirmation
//! mail, one table per language ([`EN`], [`DE`]).
//!
//! The choice is made once per request by [`negotiate`] (a layer of the
//! page's router) and held in a task-local for the request's handler, so
//! every page, error page and notice built while answering it reads
//! [`t`] without the language being passed through every function.
//! Answers carry `Content-Language` and `Vary: Accept-Language`.
//!
//! Limits: at most [`MAX_HEADER`] octets of the header and [`MAX_RANGES`]
//! ranges are read; anything malformed is skipped, never an error.
//! The page words what it refuses itself, before the server is asked
//! (app-password labels, throttling), and what only the server's own
//! checks find (an edit racing another, an account gone from the accounts
//! file, an export of an account without a mail store yet): those come as
//! typed cases (`sealpost_directory::Refusal`, `ActionError`), each with
//! its own string here, never as the server's English.

mod de;
mod en;

pub use de::DE;
pub use en::EN;

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The header octets read at most.
pub const MAX_HEADER: usize = 1024;
/// The language ranges read at most.
pub const MAX_RANGES: usize = 32;

/// A language of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English, the default.
    En,
    /// German.
    De,
}

impl Lang {
    /// The language for an `Accept-Language` value (`None`: English).
    pub fn from_accept_language(value: Option<&str>) -> Lang {
        let Some(value) = value else {
            return Lang::En;
        };
        let value = &value[..floor_boundary(value, MAX_HEADER)];
        let mut best: Option<(u16, Lang)> = None;
        for range in value.split(',').take(MAX_RANGES) {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").or(p.trim().strip_prefix("Q=")))
                .map_or(Some(1000), quality);
            let (Some(q), Some(lang)) = (q, Lang::of_tag(tag)) else {
                continue;
            };
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, l)| l)
    }

    /// The language a range names, if we have it (`*`: the default).
    fn of_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split('-').next().unwrap_or("");
        if primary.eq_ignore_ascii_case("de") {
            Some(Lang::De)
        } else if primary.eq_ignore_ascii_case("en") || primary == "*" {
            Some(Lang::En)
        } else {
            None
        }
    }

    /// Its strings.
    pub fn text(self) -> &'static Text {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
        }
    }
}

/// A q-value (`0`, `0.8`, `1.000`) in thousandths; `None` if malformed.
fn quality(q: &str) -> Option<u16> {
    let (whole, frac) = q.split_once('.').unwrap_or((q, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

fn floor_boundary(s: &str, max: usize) -> usize {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

tokio::task_local! {
    static LANG: Lang;
}

/// The strings of the language of the request being answered (English
/// outside a request).
pub fn t() -> &'static Text {
    LANG.try_with(|l| l.text()).unwrap_or(&EN)
}

/// Runs `f` as if answering a request in `lang` (for tests of what the
/// page says).
#[cfg(test)]
pub(crate) fn in_lang<R>(lang: Lang, f: impl FnOnce() -> R) -> R {
    LANG.sync_scope(lang, f)
}

/// The layer that chooses the request's language and labels the answer.
pub async fn negotiate(req: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut r = LANG.scope(lang, next.run(req)).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.text().code),
    );
    h.append(header::VARY, HeaderValue::from_static("Accept-Language"));
    r
}

/// Replaces each `{name}` in `template` with its value, in one pass (a
/// value that holds `{...}` itself stays as it is).
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let found = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        });
        match found {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// A header's text as it may go into a message: as it is when ASCII,
/// else one RFC 2047 encoded word (UTF-8, base64).
pub fn header_text(text: &str) -> String {
    use base64::Engine;
    if text.is_ascii() {
        return text.to_string();
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

/// Fields whose text is the same in English and German (none today: a
/// word such as "E-Mail" would go here).
pub const SAME_IN_BOTH: &[&str] = &[];

/// Every user-visible string. `{name}` marks a value put in by [`fill`];
/// strings holding markup are HTML already (values are escaped before).
#[allow(missing_docs)]
pub struct Text {
    pub code: &'static str,
    pub title_suffix: &'static str,
    pub signed_in_as: &'static str,
    pub sign_out: &'static str,
    pub back_to_account: &'static str,
    // The overview.
    pub overview_title: &'static str,
    pub export_h: &'static str,
    pub access_link: &'static str,
    pub access_link_hint: &'static str,
    pub export_text: &'static str,
    pub export_format: &'static str,
    pub export_mbox: &'static str,
    pub export_maildir: &'static str,
    pub export_button: &'static str,
    pub password_h: &'static str,
    pub password_text: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub confirm_password: &'static str,
    pub change_password: &'static str,
    pub apps_h: &'static str,
    pub apps_text: &'static str,
    pub apps_none: &'static str,
    pub apps_caption: &'static str,
    pub apps_col_label: &'static str,
    pub apps_col_action: &'static str,
    pub apps_remove: &'static str,
    pub apps_remove_aria: &'static str,
    pub apps_new_label: &'static str,
    pub apps_create: &'static str,
    pub delete_h: &'static str,
    pub delete_text: &'static str,
    pub delete_link: &'static str,
    pub not_found_title: &'static str,
    pub not_found_text: &'static str,
    pub not_allowed_title: &'static str,
    pub not_allowed_text: &'static str,
    // Signing in and out.
    pub login_h: &'static str,
    pub address_label: &'static str,
    pub password_label: &'static str,
    pub login_hint: &'static str,
    pub sign_in: &'static str,
    pub login_about: &'static str,
    pub login_wrong: &'static str,
    pub busy_title: &'static str,
    pub busy_text: &'static str,
    pub password_not_accepted: &'static str,
    pub throttled_failures: &'static str,
    pub throttled_busy: &'static str,
    pub signed_out_title: &'static str,
    pub signed_out_h: &'static str,
    pub sign_in_again: &'static str,
    // Refusals.
    pub form_not_accepted: &'static str,
    pub form_too_many: &'static str,
    pub form_malformed: &'static str,
    pub form_missing: &'static str,
    pub form_too_long: &'static str,
    pub form_type: &'static str,
    pub form_too_large: &'static str,
    pub form_bad_percent: &'static str,
    pub form_not_utf8: &'static str,
    pub form_control: &'static str,
    pub form_twice: &'static str,
    pub request_refused: &'static str,
    pub forbidden_text: &'static str,
    pub wrong_password_text: &'static str,
    pub wait_title: &'static str,
    pub not_found: &'static str,
    pub went_wrong_title: &'static str,
    pub went_wrong_text: &'static str,
    pub error_title: &'static str,
    pub sign_in_again_title: &'static str,
    pub session_ended_text: &'static str,
    // Password and app passwords.
    pub password_not_changed: &'static str,
    pub pw_differ: &'static str,
    pub pw_short: &'static str,
    pub pw_space: &'static str,
    pub pw_same: &'static str,
    pub pw_changed: &'static str,
    pub app_not_created: &'static str,
    pub app_new_title: &'static str,
    pub app_new_h: &'static str,
    pub app_new_text: &'static str,
    pub app_shown_once: &'static str,
    pub app_removed: &'static str,
    pub label_empty: &'static str,
    pub label_long: &'static str,
    pub label_control: &'static str,
    pub label_taken: &'static str,
    pub label_too_many: &'static str,
    pub label_missing: &'static str,
    pub pw_long: &'static str,
    pub label_bad: &'static str,
    pub app_id_taken: &'static str,
    pub account_gone: &'static str,
    pub export_no_store: &'static str,
    // The access log.
    pub access_title: &'static str,
    pub access_text: &'static str,
    pub access_newer: &'static str,
    pub access_older: &'static str,
    pub access_none: &'static str,
    pub access_caption: &'static str,
    pub access_col_time: &'static str,
    pub access_col_protocol: &'static str,
    pub access_col_client: &'static str,
    pub access_col_result: &'static str,
    pub access_pages: &'static str,
    pub access_success: &'static str,
    pub access_failure: &'static str,
    pub access_throttled: &'static str,
    // The export.
    pub export_running: &'static str,
    pub export_busy: &'static str,
    pub export_not_started: &'static str,
    pub export_bad_format: &'static str,
    // Deletion.
    pub st_audit_forever: &'static str,
    pub st_audit_until: &'static str,
    pub st_audit_kept: &'static str,
    pub st_audit_erased: &'static str,
    pub st_at_once: &'static str,
    pub st_until: &'static str,
    pub st_on: &'static str,
    pub st_keep_mail: &'static str,
    pub delete_intro: &'static str,
    pub delete_confirm_address: &'static str,
    pub delete_password: &'static str,
    pub delete_button: &'static str,
    pub keep_account: &'static str,
    pub not_deleted: &'static str,
    pub typed_wrong: &'static str,
    pub no_host: &'static str,
    pub check_mailbox: &'static str,
    pub check_mailbox_text: &'static str,
    pub changed_mind: &'static str,
    pub confirm_title: &'static str,
    pub confirm_question: &'static str,
    pub confirm_button: &'static str,
    pub link_invalid: &'static str,
    pub deleted_h: &'static str,
    pub deleted_text: &'static str,
    pub deleted_restore: &'static str,
    pub deleted_title: &'static str,
    // The deletion-confirmation mail (plain text; a subject or sender
    // name that is not ASCII goes into the header as an RFC 2047 encoded
    // word, at most 75 characters).
    pub mail_from_name: &'static str,
    pub mail_subject: &'static str,
    pub mail_body: &'static str,
}

impl Text {
    /// Every string with its field's name, in the table's order (tests
    /// compare the languages with it).
    pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("code", self.code),
            ("title_suffix", self.title_suffix),
            ("signed_in_as", self.signed_in_as),
            ("sign_out", self.sign_out),
            ("back_to_account", self.back_to_account),
            ("overview_title", self.overview_title),
            ("export_h", self.export_h),
            ("access_link", self.access_link),
            ("access_link_hint", self.access_link_hint),
            ("export_text", self.export_text),
            ("export_format", self.export_format),
            ("export_mbox", self.export_mbox),
            ("export_maildir", self.export_maildir),
            ("export_button", self.export_button),
            ("password_h", self.password_h),
            ("password_text", self.password_text),
            ("current_password", self.current_password),
            ("new_password", self.new_password),
            ("confirm_password", self.confirm_password),
            ("change_password", self.change_password),
            ("apps_h", self.apps_h),
            ("apps_text", self.apps_text),
            ("apps_none", self.apps_none),
            ("apps_caption", self.apps_caption),
            ("apps_col_label", self.apps_col_label),
            ("apps_col_action", self.apps_col_action),
            ("apps_remove", self.apps_remove),
            ("apps_remove_aria", self.apps_remove_aria),
            ("apps_new_label", self.apps_new_label),
            ("apps_create", self.apps_create),
            ("delete_h", self.delete_h),
            ("delete_text", self.delete_text),
            ("delete_link", self.delete_link),
            ("not_found_title", self.not_found_title),
            ("not_found_text", self.not_found_text),
            ("not_allowed_title", self.not_allowed_title),
            ("not_allowed_text", self.not_allowed_text),
            ("login_h", self.login_h),
            ("address_label", self.address_label),
            ("password_label", self.password_label),
            ("login_hint", self.login_hint),
            ("sign_in", self.sign_in),
            ("login_about", self.login_about),
            ("login_wrong", self.login_wrong),
            ("busy_title", self.busy_title),
            ("busy_text", self.busy_text),
            ("password_not_accepted", self.password_not_accepted),
            ("throttled_failures", self.throttled_failures),
            ("throttled_busy", self.throttled_busy),
            ("signed_out_title", self.signed_out_title),
            ("signed_out_h", self.signed_out_h),
            ("sign_in_again", self.sign_in_again),
            ("form_not_accepted", self.form_not_accepted),
            ("form_too_many", self.form_too_many),
            ("form_malformed", self.form_malformed),
            ("form_missing", self.form_missing),
            ("form_too_long", self.form_too_long),
            ("form_type", self.form_type),
            ("form_too_large", self.form_too_large),
            ("form_bad_percent", self.form_bad_percent),
            ("form_not_utf8", self.form_not_utf8),
            ("form_control", self.form_control),
            ("form_twice", self.form_twice),
            ("request_refused", self.request_refused),
            ("forbidden_text", self.forbidden_text),
            ("wrong_password_text", self.wrong_password_text),
            ("wait_title", self.wait_title),
            ("not_found", self.not_found),
            ("went_wrong_title", self.went_wrong_title),
            ("went_wrong_text", self.went_wrong_text),
            ("error_title", self.error_title),
            ("sign_in_again_title", self.sign_in_again_title),
            ("session_ended_text", self.session_ended_text),
            ("password_not_changed", self.password_not_changed),
            ("pw_differ", self.pw_differ),
            ("pw_short", self.pw_short),
            ("pw_space", self.pw_space),
            ("pw_same", self.pw_same),
            ("pw_changed", self.pw_changed),
            ("app_not_created", self.app_not_created),
            ("app_new_title", self.app_new_title),
            ("app_new_h", self.app_new_h),
            ("app_new_text", self.app_new_text),
            ("app_shown_once", self.app_shown_once),
            ("app_removed", self.app_removed),
            ("label_empty", self.label_empty),
            ("label_long", self.label_long),
            ("label_control", self.label_control),
            ("label_taken", self.label_taken),
            ("label_too_many", self.label_too_many),
            ("label_missing", self.label_missing),
            ("pw_long", self.pw_long),
            ("label_bad", self.label_bad),
            ("app_id_taken", self.app_id_taken),
            ("account_gone", self.account_gone),
            ("export_no_store", self.export_no_store),
            ("access_title", self.access_title),
            ("access_text", self.access_text),
            ("access_newer", self.access_newer),
            ("access_older", self.access_older),
            ("access_none", self.access_none),
            ("access_caption", self.access_caption),
            ("access_col_time", self.access_col_time),
            ("access_col_protocol", self.access_col_protocol),
            ("access_col_client", self.access_col_client),
            ("access_col_result", self.access_col_result),
            ("access_pages", self.access_pages),
            ("access_success", self.access_success),
            ("access_failure", self.access_failure),
            ("access_throttled", self.access_throttled),
            ("export_running", self.export_running),
            ("export_busy", self.export_busy),
            ("export_not_started", self.export_not_started),
            ("export_bad_format", self.export_bad_format),
            ("st_audit_forever", self.st_audit_forever),
            ("st_audit_until", self.st_audit_until),
            ("st_audit_kept", self.st_audit_kept),
            ("st_audit_erased", self.st_audit_erased),
            ("st_at_once", self.st_at_once),
            ("st_until", self.st_until),
            ("st_on", self.st_on),
            ("st_keep_mail", self.st_keep_mail),
            ("delete_intro", self.delete_intro),
            ("delete_confirm_address", self.delete_confirm_address),
            ("delete_password", self.delete_password),
            ("delete_button", self.delete_button),
            ("keep_account", self.keep_account),
            ("not_deleted", self.not_deleted),
            ("typed_wrong", self.typed_wrong),
            ("no_host", self.no_host),
            ("check_mailbox", self.check_mailbox),
            ("check_mailbox_text", self.check_mailbox_text),
            ("changed_mind", self.changed_mind),
            ("confirm_title", self.confirm_title),
            ("confirm_question", self.confirm_question),
            ("confirm_button", self.confirm_button),
            ("link_invalid", self.link_invalid),
            ("deleted_h", self.deleted_h),
            ("deleted_text", self.deleted_text),
            ("deleted_restore", self.deleted_restore),
            ("deleted_title", self.deleted_title),
            ("mail_from_name", self.mail_from_name),
            ("mail_subject", self.mail_subject),
            ("mail_body", self.mail_body),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_with_q_values() {
        let table: &[(Option<&str>, Lang)] = &[
            (None, Lang::En),
            (Some(""), Lang::En),
            (Some("de"), Lang::De),
            (Some("de-DE"), Lang::De),
            (Some("DE-at,en;q=0.5"), Lang::De),
            (Some("en-US,en;q=0.9,de;q=0.8"), Lang::En),
            (Some("fr-FR,fr;q=0.9,de;q=0.8,en;q=0.7"), Lang::De),
            (Some("fr, en;q=0.1, de;q=0.2"), Lang::De),
            (Some("de;q=0, en;q=0.1"), Lang::En),
            (Some("de;q=0"), Lang::En),
            (Some("fr"), Lang::En),
            (Some("*;q=0.5, de;q=0.6"), Lang::De),
            (Some("de;q=1.5"), Lang::En),
            (Some("de;q=0.x"), Lang::En),
            (Some("de;q=0.0001"), Lang::En),
            (Some("en;q=0.5, de;q=0.5"), Lang::En),
            (Some("de;q=0.5, en;q=0.5"), Lang::De),
            (Some("ü,,;;=,de"), Lang::De),
        ];
        for (header, want) in table {
            assert_eq!(Lang::from_accept_language(*header), *want, "{header:?}");
        }
        // Only the first ranges are read.
        let many = "fr,".repeat(MAX_RANGES) + "de";
        assert_eq!(Lang::from_accept_language(Some(&many)), Lang::En);
        let long = format!("{}de", "x".repeat(MAX_HEADER));
        assert_eq!(Lang::from_accept_language(Some(&long)), Lang::En);
        let cut = format!("{}é", "x".repeat(MAX_HEADER - 1));
        assert_eq!(Lang::from_accept_language(Some(&cut)), Lang::En);
    }

    #[test]
    fn fill_puts_values_in() {
        assert_eq!(
            fill(EN.new_password, &[("min", "12")]),
            "New password (at least 12 characters)"
        );
        assert_eq!(
            fill("{a} and {b} {c}", &[("a", "{b}"), ("b", "2")]),
            "{b} and 2 {c}"
        );
        assert!(
            fill(
                DE.access_text,
                &[("total", "3"), ("number", "1"), ("pages", "1")]
            )
            .contains("3 insgesamt; Seite 1 von 1")
        );
    }

    /// Every field is in [`Text::entries`] (a field added to the table
    /// but not there would escape the comparison below and the pages'
    /// test).
    #[test]
    fn entries_lists_every_field() {
        assert_eq!(
            EN.entries().len() * std::mem::size_of::<&str>(),
            std::mem::size_of::<Text>()
        );
    }

    /// Every German string is German: none is left as its English text,
    /// except the ones that are the same word in both languages.
    #[test]
    fn no_german_string_is_left_in_english() {
        let en = EN.entries();
        let de = DE.entries();
        let untranslated: Vec<_> = en
            .iter()
            .zip(&de)
            .filter(|((name, e), (_, d))| e == d && !SAME_IN_BOTH.contains(name))
            .map(|((name, e), _)| format!("{name}: {e:?}"))
            .collect();
        assert!(untranslated.is_empty(), "{untranslated:#?}");
        for name in SAME_IN_BOTH {
            let e = en.iter().find(|(n, _)| n == name).map(|(_, e)| e);
            let d = de.iter().find(|(n, _)| n == name).map(|(_, d)| d);
            assert_eq!(e, d, "{name} is listed as the same in both");
        }
    }

    #[test]
    fn mail_header_words_fit_one_encoded_word() {
        for t in [&EN, &DE] {
            for text in [t.mail_subject, t.mail_from_name] {
                let word = header_text(text);
                assert!(word.is_ascii() && word.len() <= 75, "{word}");
            }
        }
        assert_eq!(header_text("plain"), "plain");
        assert_eq!(header_text("Löschung"), "=?UTF-8?B?TMO2c2NodW5n?=");
    }
}
