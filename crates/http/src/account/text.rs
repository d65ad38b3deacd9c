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
//! (app-password labels, throttling); what only the server's own checks
//! find (an edit racing another, an export of an account without a mail
//! store yet) stays as the server words it, in English.

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
    pub request_refused: &'static str,
    pub forbidden_text: &'static str,
    pub wrong_password_text: &'static str,
    pub wait_title: &'static str,
    pub not_done: &'static str,
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

/// English.
pub static EN: Text = Text {
    code: "en",
    title_suffix: "sealpost account",
    signed_in_as: "Signed in as",
    sign_out: "Sign out",
    back_to_account: "Back to your account",
    overview_title: "Your account",
    export_h: "Download your data",
    access_link: "See your sign-ins",
    access_link_hint: "(time, protocol, client address, result).",
    export_text: "One archive (tar) with all your mail, folder by folder, and the log of your sign-ins \
         (time, protocol, client address) that is kept. It is your right of access and to data \
         portability (GDPR articles 15 and 20); the download is recorded in the security log.",
    export_format: "Format of the mail",
    export_mbox: "mbox (one file per folder: most mail apps import it)",
    export_maildir: "Maildir (one file per message)",
    export_button: "Download my data",
    password_h: "Change your password",
    password_text: "Mail apps that use this password must be given the new one; app passwords keep working. \
         You stay signed in here; other sign-ins to this page end.",
    current_password: "Current password",
    new_password: "New password (at least {min} characters)",
    confirm_password: "New password again",
    change_password: "Change password",
    apps_h: "App passwords",
    apps_text: "A separate password for each mail app or device (IMAP, POP3, sending mail). \
         Remove one and that device is locked out, without changing your password.",
    apps_none: "You have no app passwords.",
    apps_caption: "Your app passwords",
    apps_col_label: "Label",
    apps_col_action: "Action",
    apps_remove: "Remove",
    apps_remove_aria: "Remove the app password {label}",
    apps_new_label: "Name of the new app password (for example \"phone\")",
    apps_create: "Create app password",
    delete_h: "Delete your account",
    delete_text: "Your right to erasure (GDPR article 17). The next page says exactly what happens \
         and asks for your password.",
    delete_link: "Delete my account…",
    not_found_title: "Page not found",
    not_found_text: "There is no such page.",
    not_allowed_title: "Not allowed",
    not_allowed_text: "This page does not take this kind of request.",
    login_h: "Sign in to your mail account",
    address_label: "Email address",
    password_label: "Password",
    login_hint: "Your account's own password. App passwords are for mail apps and do not work here.",
    sign_in: "Sign in",
    login_about: "Here you can download your data, change your password, manage app passwords and delete your account.",
    login_wrong: "The address or password is wrong. App passwords do not work here: use your account's own password.",
    busy_title: "Please try again later",
    busy_text: "Too many people are signed in right now. Please try again in a few minutes.",
    password_not_accepted: "Password not accepted",
    throttled_failures: "Too many failed logins, try again in {secs} seconds.",
    throttled_busy: "Too many logins in progress from your address, try again in {secs} seconds.",
    signed_out_title: "Signed out",
    signed_out_h: "You are signed out",
    sign_in_again: "Sign in again",
    form_not_accepted: "The form was not accepted",
    form_too_many: "The form has too many fields.",
    form_malformed: "The form could not be read: {why}.",
    form_missing: "Please fill in the field \"{field}\".",
    form_too_long: "The field \"{field}\" is too long (at most {max} characters).",
    form_type: "Forms here are sent as application/x-www-form-urlencoded.",
    form_too_large: "The form is larger than {limit} bytes. Nothing was changed.",
    request_refused: "Request refused",
    forbidden_text: "This form did not come from this page, or it expired. Nothing was changed. Go back, reload the page and try again.",
    wrong_password_text: "The address or password is wrong. App passwords do not work here: use your account's own password. Nothing was changed.",
    wait_title: "Please wait",
    not_done: "Not done",
    not_found: "Not found",
    went_wrong_title: "Something went wrong",
    went_wrong_text: "The server could not do this. Nothing was changed. Please try again later; if it keeps failing, write to your mail provider.",
    error_title: "Error",
    sign_in_again_title: "Please sign in again",
    session_ended_text: "Your session has ended (signed out, expired, or the password was changed). Nothing was changed.",
    password_not_changed: "Password not changed",
    pw_differ: "The new password and its repetition differ. Your password was not changed.",
    pw_short: "The new password is shorter than {min} characters. Your password was not changed.",
    pw_space: "The new password begins or ends with a space, which mail apps often drop. Your password was not changed.",
    pw_same: "The new password is the current one. Your password was not changed.",
    pw_changed: "Your password was changed. Use the new one in your mail apps.",
    app_not_created: "App password not created",
    app_new_title: "New app password",
    app_new_h: "Your new app password",
    app_new_text: "Enter this password in the mail app \"{label}\" instead of your account's password:",
    app_shown_once: "<strong>It is shown only now.</strong> Only a hash of it is kept: nobody, not even \
         your provider, can show it again. Lost it? Remove it and create a new one.",
    app_removed: "The app password \"{label}\" was removed: it no longer works.",
    label_empty: "Please give the app password a name.",
    label_long: "The name is longer than {max} characters.",
    label_control: "The name holds a control character.",
    label_taken: "You have an app password named \"{label}\" already: choose another name.",
    label_too_many: "You have {max} app passwords already: remove one first.",
    label_missing: "You have no app password named \"{label}\" (removed already?).",
    access_title: "Your sign-ins",
    access_text: "Every sign-in to your account that the security log keeps: by mail apps (IMAP, \
         POP3, sending) and on this page, successful or not. It is your right of access \
         (GDPR article 15). {total} in all; page {number} of {pages}.",
    access_newer: "Newer",
    access_older: "Older",
    access_none: "No sign-ins recorded on this page.",
    access_caption: "Sign-ins, newest first",
    access_col_time: "Time (UTC)",
    access_col_protocol: "Protocol",
    access_col_client: "Client address",
    access_col_result: "Result",
    access_pages: "Pages",
    export_running: "An export of your account is running already. Wait until its download has finished.",
    export_busy: "Too many exports are running right now. Please try again in a minute.",
    export_not_started: "Export not started",
    export_bad_format: "The format must be mbox or Maildir.",
    st_audit_forever: "for as long as the security log is kept",
    st_audit_until: "until they are {months} months old",
    st_audit_kept: "Your provider is under a legal obligation to keep its security log: the records of \
         your sign-ins and of this deletion keep your address and IP addresses {until}, \
         then only anonymous records remain.",
    st_audit_erased: "The records of your sign-ins and of this deletion in the security log lose your address \
         and IP addresses at the purge; only anonymous records remain.",
    st_at_once: "<strong>At once:</strong> you cannot sign in any more, here or in any mail app \
         (app passwords included), and mail sent to your address is refused. Your mail, folders \
         and app passwords become unreadable: their key is sealed away.",
    st_until: "<strong>Until {date}</strong> ({days} days): your provider can still restore the account, \
         with all its mail, if you ask them to.",
    st_on: "<strong>On {date}:</strong> everything is destroyed for good, including mail you sent \
         that is still waiting to be delivered. Nobody can restore it after that.",
    st_keep_mail: "Want to keep your mail? <a href=\"/account\">Download your data</a> first.",
    delete_intro: "You are about to delete the account <strong>{address}</strong>. This is what happens:",
    delete_confirm_address: "Type your email address to confirm",
    delete_password: "Your password",
    delete_button: "Delete my account",
    keep_account: "No, keep my account",
    not_deleted: "Account not deleted",
    typed_wrong: "The address you typed is not this account's. Your account was not deleted.",
    no_host: "The request names no host. Your account was not deleted.",
    check_mailbox: "Check your mailbox",
    check_mailbox_text: "A message with a link to confirm the deletion was \
         delivered to <strong>{address}</strong> (your INBOX). Open it within {minutes} minutes, signed in \
         here, and confirm: only then is the account deleted.",
    changed_mind: "Changed your mind? Do nothing: the link stops working by itself.",
    confirm_title: "Confirm the deletion",
    confirm_question: "Delete the account <strong>{address}</strong> now?",
    confirm_button: "Delete my account now",
    link_invalid: "This link is not valid any more (used, replaced by a newer one, or older than half \
         an hour). Your account was not deleted; ask again from your account page.",
    deleted_h: "Your account is deleted",
    deleted_text: "The account <strong>{address}</strong> is deleted. \
         Its mail is unreadable from now on and will be destroyed for good on {date}.",
    deleted_restore: "Changed your mind? Until then, your provider can restore it if you ask them.",
    deleted_title: "Account deleted",
    mail_from_name: "Account page",
    mail_subject: "Confirm the deletion of your account",
    mail_body: "Someone signed in to your account page with your password and asked to\r\n\
         delete the account {address}.\r\n\r\n\
         To delete it, open this link within {minutes} minutes, signed in, and confirm:\r\n\r\n\
         {link}\r\n\r\n\
         If it was not you, do nothing: the account stays, and the link stops\r\n\
         working after {minutes} minutes. Then change your password.\r\n",
};

/// German.
pub static DE: Text = Text {
    code: "de",
    title_suffix: "sealpost-Konto",
    signed_in_as: "Angemeldet als",
    sign_out: "Abmelden",
    back_to_account: "Zurück zu Ihrem Konto",
    overview_title: "Ihr Konto",
    export_h: "Ihre Daten herunterladen",
    access_link: "Ihre Anmeldungen ansehen",
    access_link_hint: "(Zeit, Protokoll, Adresse des Geräts, Ergebnis).",
    export_text: "Ein Archiv (tar) mit Ihrer gesamten Post, Ordner für Ordner, und dem gespeicherten \
         Protokoll Ihrer Anmeldungen (Zeit, Protokoll, Adresse des Geräts). Das ist Ihr Recht auf \
         Auskunft und Datenübertragbarkeit (DSGVO Artikel 15 und 20); der Download wird im \
         Sicherheitsprotokoll vermerkt.",
    export_format: "Format der Post",
    export_mbox: "mbox (eine Datei je Ordner: die meisten Mailprogramme können sie importieren)",
    export_maildir: "Maildir (eine Datei je Nachricht)",
    export_button: "Meine Daten herunterladen",
    password_h: "Passwort ändern",
    password_text: "Mailprogramme, die dieses Passwort verwenden, brauchen danach das neue; \
         App-Passwörter gelten weiter. Sie bleiben hier angemeldet; andere Anmeldungen auf \
         dieser Seite enden.",
    current_password: "Aktuelles Passwort",
    new_password: "Neues Passwort (mindestens {min} Zeichen)",
    confirm_password: "Neues Passwort wiederholen",
    change_password: "Passwort ändern",
    apps_h: "App-Passwörter",
    apps_text: "Ein eigenes Passwort für jedes Mailprogramm oder Gerät (IMAP, POP3, Mail \
         versenden). Entfernen Sie eines, ist dieses Gerät ausgesperrt, ohne dass Sie Ihr \
         Passwort ändern müssen.",
    apps_none: "Sie haben keine App-Passwörter.",
    apps_caption: "Ihre App-Passwörter",
    apps_col_label: "Name",
    apps_col_action: "Aktion",
    apps_remove: "Entfernen",
    apps_remove_aria: "Das App-Passwort {label} entfernen",
    apps_new_label: "Name des neuen App-Passworts (zum Beispiel „Telefon“)",
    apps_create: "App-Passwort erstellen",
    delete_h: "Konto löschen",
    delete_text: "Ihr Recht auf Löschung (DSGVO Artikel 17). Die nächste Seite sagt genau, was \
         geschieht, und fragt nach Ihrem Passwort.",
    delete_link: "Mein Konto löschen …",
    not_found_title: "Seite nicht gefunden",
    not_found_text: "Diese Seite gibt es nicht.",
    not_allowed_title: "Nicht erlaubt",
    not_allowed_text: "Diese Seite nimmt diese Art von Anfrage nicht an.",
    login_h: "Bei Ihrem Mailkonto anmelden",
    address_label: "E-Mail-Adresse",
    password_label: "Passwort",
    login_hint: "Das eigene Passwort Ihres Kontos. App-Passwörter sind für Mailprogramme und \
         funktionieren hier nicht.",
    sign_in: "Anmelden",
    login_about: "Hier können Sie Ihre Daten herunterladen, Ihr Passwort ändern, App-Passwörter \
         verwalten und Ihr Konto löschen.",
    login_wrong: "Adresse oder Passwort ist falsch. App-Passwörter funktionieren hier nicht: \
         Verwenden Sie das eigene Passwort Ihres Kontos.",
    busy_title: "Bitte später erneut versuchen",
    busy_text: "Gerade sind zu viele Personen angemeldet. Bitte versuchen Sie es in ein paar \
         Minuten erneut.",
    password_not_accepted: "Passwort nicht angenommen",
    throttled_failures: "Zu viele fehlgeschlagene Anmeldungen, versuchen Sie es in {secs} Sekunden erneut.",
    throttled_busy: "Zu viele laufende Anmeldungen von Ihrer Adresse, versuchen Sie es in {secs} Sekunden erneut.",
    signed_out_title: "Abgemeldet",
    signed_out_h: "Sie sind abgemeldet",
    sign_in_again: "Erneut anmelden",
    form_not_accepted: "Das Formular wurde nicht angenommen",
    form_too_many: "Das Formular hat zu viele Felder.",
    form_malformed: "Das Formular konnte nicht gelesen werden: {why}.",
    form_missing: "Bitte füllen Sie das Feld „{field}“ aus.",
    form_too_long: "Das Feld „{field}“ ist zu lang (höchstens {max} Zeichen).",
    form_type: "Formulare werden hier als application/x-www-form-urlencoded gesendet.",
    form_too_large: "Das Formular ist größer als {limit} Bytes. Es wurde nichts geändert.",
    request_refused: "Anfrage abgelehnt",
    forbidden_text: "Dieses Formular kam nicht von dieser Seite oder ist abgelaufen. Es wurde \
         nichts geändert. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
    wrong_password_text: "Adresse oder Passwort ist falsch. App-Passwörter funktionieren hier \
         nicht: Verwenden Sie das eigene Passwort Ihres Kontos. Es wurde nichts geändert.",
    wait_title: "Bitte warten",
    not_done: "Nicht ausgeführt",
    not_found: "Nicht gefunden",
    went_wrong_title: "Etwas ist schiefgegangen",
    went_wrong_text: "Der Server konnte das nicht ausführen. Es wurde nichts geändert. Bitte \
         versuchen Sie es später erneut; wenn es weiter scheitert, schreiben Sie Ihrem \
         Mail-Anbieter.",
    error_title: "Fehler",
    sign_in_again_title: "Bitte melden Sie sich erneut an",
    session_ended_text: "Ihre Sitzung ist beendet (abgemeldet, abgelaufen oder das Passwort wurde \
         geändert). Es wurde nichts geändert.",
    password_not_changed: "Passwort nicht geändert",
    pw_differ: "Das neue Passwort und seine Wiederholung stimmen nicht überein. Ihr Passwort \
         wurde nicht geändert.",
    pw_short: "Das neue Passwort ist kürzer als {min} Zeichen. Ihr Passwort wurde nicht geändert.",
    pw_space: "Das neue Passwort beginnt oder endet mit einem Leerzeichen, das Mailprogramme oft \
         weglassen. Ihr Passwort wurde nicht geändert.",
    pw_same: "Das neue Passwort ist das aktuelle. Ihr Passwort wurde nicht geändert.",
    pw_changed: "Ihr Passwort wurde geändert. Verwenden Sie das neue in Ihren Mailprogrammen.",
    app_not_created: "App-Passwort nicht erstellt",
    app_new_title: "Neues App-Passwort",
    app_new_h: "Ihr neues App-Passwort",
    app_new_text: "Geben Sie dieses Passwort im Mailprogramm „{label}“ statt des Passworts Ihres \
         Kontos ein:",
    app_shown_once: "<strong>Es wird nur jetzt angezeigt.</strong> Gespeichert wird nur ein Hash: \
         niemand, auch nicht Ihr Anbieter, kann es wieder anzeigen. Verloren? Entfernen Sie es \
         und erstellen Sie ein neues.",
    app_removed: "Das App-Passwort „{label}“ wurde entfernt: Es funktioniert nicht mehr.",
    label_empty: "Bitte geben Sie dem App-Passwort einen Namen.",
    label_long: "Der Name ist länger als {max} Zeichen.",
    label_control: "Der Name enthält ein Steuerzeichen.",
    label_taken: "Sie haben bereits ein App-Passwort namens „{label}“: Wählen Sie einen anderen Namen.",
    label_too_many: "Sie haben bereits {max} App-Passwörter: Entfernen Sie zuerst eines.",
    label_missing: "Sie haben kein App-Passwort namens „{label}“ (schon entfernt?).",
    access_title: "Ihre Anmeldungen",
    access_text: "Jede Anmeldung bei Ihrem Konto, die das Sicherheitsprotokoll aufbewahrt: durch \
         Mailprogramme (IMAP, POP3, Versand) und auf dieser Seite, erfolgreich oder nicht. Das \
         ist Ihr Auskunftsrecht (DSGVO Artikel 15). {total} insgesamt; Seite {number} von {pages}.",
    access_newer: "Neuere",
    access_older: "Ältere",
    access_none: "Auf dieser Seite sind keine Anmeldungen verzeichnet.",
    access_caption: "Anmeldungen, neueste zuerst",
    access_col_time: "Zeit (UTC)",
    access_col_protocol: "Protokoll",
    access_col_client: "Adresse des Geräts",
    access_col_result: "Ergebnis",
    access_pages: "Seiten",
    export_running: "Ein Export Ihres Kontos läuft bereits. Warten Sie, bis sein Download \
         abgeschlossen ist.",
    export_busy: "Gerade laufen zu viele Exporte. Bitte versuchen Sie es in einer Minute erneut.",
    export_not_started: "Export nicht gestartet",
    export_bad_format: "Das Format muss mbox oder Maildir sein.",
    st_audit_forever: "so lange das Sicherheitsprotokoll aufbewahrt wird",
    st_audit_until: "bis sie {months} Monate alt sind",
    st_audit_kept: "Ihr Anbieter ist gesetzlich verpflichtet, sein Sicherheitsprotokoll \
         aufzubewahren: Die Einträge Ihrer Anmeldungen und dieser Löschung behalten Ihre Adresse \
         und IP-Adressen {until}; danach bleiben nur anonyme Einträge.",
    st_audit_erased: "Die Einträge Ihrer Anmeldungen und dieser Löschung im Sicherheitsprotokoll \
         verlieren beim endgültigen Löschen Ihre Adresse und IP-Adressen; es bleiben nur \
         anonyme Einträge.",
    st_at_once: "<strong>Sofort:</strong> Sie können sich nicht mehr anmelden, weder hier noch in \
         einem Mailprogramm (App-Passwörter eingeschlossen), und Post an Ihre Adresse wird \
         abgewiesen. Ihre Post, Ordner und App-Passwörter werden unlesbar: Ihr Schlüssel wird \
         weggeschlossen.",
    st_until: "<strong>Bis zum {date}</strong> ({days} Tage): Ihr Anbieter kann das Konto mit \
         aller Post noch wiederherstellen, wenn Sie ihn darum bitten.",
    st_on: "<strong>Am {date}:</strong> Alles wird endgültig vernichtet, auch von Ihnen gesendete \
         Post, die noch auf die Zustellung wartet. Danach kann niemand es wiederherstellen.",
    st_keep_mail: "Möchten Sie Ihre Post behalten? <a href=\"/account\">Laden Sie zuerst Ihre \
         Daten herunter</a>.",
    delete_intro: "Sie sind dabei, das Konto <strong>{address}</strong> zu löschen. Das \
         geschieht dann:",
    delete_confirm_address: "Geben Sie zur Bestätigung Ihre E-Mail-Adresse ein",
    delete_password: "Ihr Passwort",
    delete_button: "Mein Konto löschen",
    keep_account: "Nein, mein Konto behalten",
    not_deleted: "Konto nicht gelöscht",
    typed_wrong: "Die eingegebene Adresse ist nicht die dieses Kontos. Ihr Konto wurde nicht \
         gelöscht.",
    no_host: "Die Anfrage nennt keinen Host. Ihr Konto wurde nicht gelöscht.",
    check_mailbox: "Sehen Sie in Ihr Postfach",
    check_mailbox_text: "Eine Nachricht mit einem Link zur Bestätigung der Löschung wurde an \
         <strong>{address}</strong> zugestellt (Ihr Posteingang). Öffnen Sie ihn innerhalb von \
         {minutes} Minuten, hier angemeldet, und bestätigen Sie: Erst dann wird das Konto \
         gelöscht.",
    changed_mind: "Umentschieden? Tun Sie nichts: Der Link hört von selbst auf zu funktionieren.",
    confirm_title: "Löschung bestätigen",
    confirm_question: "Das Konto <strong>{address}</strong> jetzt löschen?",
    confirm_button: "Mein Konto jetzt löschen",
    link_invalid: "Dieser Link gilt nicht mehr (benutzt, durch einen neueren ersetzt oder älter \
         als eine halbe Stunde). Ihr Konto wurde nicht gelöscht; fordern Sie auf Ihrer \
         Kontoseite einen neuen an.",
    deleted_h: "Ihr Konto ist gelöscht",
    deleted_text: "Das Konto <strong>{address}</strong> ist gelöscht. Seine Post ist ab jetzt \
         unlesbar und wird am {date} endgültig vernichtet.",
    deleted_restore: "Umentschieden? Bis dahin kann Ihr Anbieter es wiederherstellen, wenn Sie \
         ihn darum bitten.",
    deleted_title: "Konto gelöscht",
    mail_from_name: "Kontoseite",
    mail_subject: "Bestätigen Sie die Löschung Ihres Kontos",
    mail_body: "Jemand hat sich mit Ihrem Passwort auf Ihrer Kontoseite angemeldet und\r\n\
         verlangt, das Konto {address} zu löschen.\r\n\r\n\
         Um es zu löschen, öffnen Sie diesen Link innerhalb von {minutes} Minuten,\r\n\
         angemeldet, und bestätigen Sie:\r\n\r\n\
         {link}\r\n\r\n\
         Wenn Sie es nicht waren, tun Sie nichts: Das Konto bleibt, und der Link\r\n\
         funktioniert nach {minutes} Minuten nicht mehr. Ändern Sie dann Ihr Passwort.\r\n",
};

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
