//! The account overview (`GET /account`): one page with a section per
//! right, each a plain form; and the small routes around it (style sheet,
//! not found, wrong method).

use super::request::{PageError, html_page, see_other, session};
use super::{AccountPage, ActionError, html};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_directory::{AppPasswordInfo, MAX_PASSWORD_LEN};
use std::sync::Arc;

/// Runs a blocking backend call on the blocking pool.
pub(super) async fn blocking<T: Send + 'static>(
    page: &Arc<AccountPage>,
    f: impl FnOnce(&dyn super::AccountBackend) -> Result<T, ActionError> + Send + 'static,
) -> Result<T, PageError> {
    let backend = page.backend.clone();
    tokio::task::spawn_blocking(move || f(backend.as_ref()))
        .await
        .map_err(|e| ActionError::Failed(format!("account action panicked: {e}")))?
        .map_err(PageError::from)
}

/// `GET /account`: the overview, or to the sign-in form.
pub async fn overview(State(page): State<Arc<AccountPage>>, headers: HeaderMap) -> Response {
    let Some((_, current)) = session(&page, &headers) else {
        return see_other("/account/login");
    };
    let address = current.address.clone();
    let apps = match blocking(&page, move |b| b.app_passwords(&address)).await {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let body = format!(
        "<h1>Your account</h1>\n{}\n{}\n{}\n{}\n{}",
        html::notice(current.notice.as_deref()),
        export_section(&current.csrf),
        password_section(&current.csrf, page.config.min_password_len),
        app_password_section(&current.csrf, &apps),
        delete_section(),
    );
    html_page(
        "Your account",
        Some((&current.address, &current.csrf)),
        &body,
    )
}

fn export_section(csrf: &str) -> String {
    format!(
        "<section aria-labelledby=\"export-h\">\n<h2 id=\"export-h\">Download your data</h2>\n\
         <p><a href=\"/account/access\" id=\"access-link\">See your sign-ins</a> (time, protocol, \
         client address, result).</p>\n\
         <p>One archive (tar) with all your mail, folder by folder, and the log of your sign-ins \
         (time, protocol, client address) that is kept. It is your right of access and to data \
         portability (GDPR articles 15 and 20); the download is recorded in the security log.</p>\n\
         <form method=\"post\" action=\"/account/export\">{}\n\
         <fieldset><legend>Format of the mail</legend>\n\
         <div class=\"choice\"><input type=\"radio\" id=\"format-mbox\" name=\"format\" value=\"mbox\" checked> \
         <label for=\"format-mbox\">mbox (one file per folder: most mail apps import it)</label></div>\n\
         <div class=\"choice\"><input type=\"radio\" id=\"format-maildir\" name=\"format\" value=\"maildir\"> \
         <label for=\"format-maildir\">Maildir (one file per message)</label></div>\n\
         </fieldset>\n<button type=\"submit\" id=\"export\">Download my data</button>\n</form>\n</section>",
        html::csrf_field(csrf)
    )
}

fn password_section(csrf: &str, min: usize) -> String {
    format!(
        "<section aria-labelledby=\"password-h\">\n<h2 id=\"password-h\">Change your password</h2>\n\
         <p>Mail apps that use this password must be given the new one; app passwords keep working. \
         You stay signed in here; other sign-ins to this page end.</p>\n\
         <form method=\"post\" action=\"/account/password\">{}\n\
         <label for=\"current_password\">Current password</label>\n\
         <input id=\"current_password\" name=\"current_password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <label for=\"new_password\">New password (at least {min} characters)</label>\n\
         <input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <label for=\"confirm_password\">New password again</label>\n\
         <input id=\"confirm_password\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <button type=\"submit\" id=\"change-password\">Change password</button>\n</form>\n</section>",
        html::csrf_field(csrf)
    )
}

fn app_password_section(csrf: &str, apps: &[AppPasswordInfo]) -> String {
    let list = if apps.is_empty() {
        "<p>You have no app passwords.</p>".to_string()
    } else {
        let rows: String = apps
            .iter()
            .map(|a| {
                format!(
                    "<tr><td>{}</td><td><form method=\"post\" action=\"/account/app-passwords/remove\">{}\
                     <input type=\"hidden\" name=\"label\" value=\"{}\">\
                     <button type=\"submit\" class=\"plain\" aria-label=\"Remove the app password {}\">Remove</button></form></td></tr>\n",
                    html::escape(&a.label),
                    html::csrf_field(csrf),
                    html::escape(&a.label),
                    html::escape(&a.label),
                )
            })
            .collect();
        format!(
            "<table>\n<caption class=\"hint\">Your app passwords</caption>\n<thead><tr><th scope=\"col\">Label</th><th scope=\"col\">Action</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>"
        )
    };
    format!(
        "<section aria-labelledby=\"apps-h\">\n<h2 id=\"apps-h\">App passwords</h2>\n\
         <p>A separate password for each mail app or device (IMAP, POP3, sending mail). \
         Remove one and that device is locked out, without changing your password.</p>\n{list}\n\
         <form method=\"post\" action=\"/account/app-passwords/add\">{}\n\
         <label for=\"label\">Name of the new app password (for example \"phone\")</label>\n\
         <input id=\"label\" name=\"label\" type=\"text\" required maxlength=\"{}\">\n\
         <button type=\"submit\" id=\"add-app-password\">Create app password</button>\n</form>\n</section>",
        html::csrf_field(csrf),
        sealpost_directory::app_password::MAX_LABEL_LEN,
    )
}

fn delete_section() -> String {
    "<section aria-labelledby=\"delete-h\">\n<h2 id=\"delete-h\">Delete your account</h2>\n\
     <p>Your right to erasure (GDPR article 17). The next page says exactly what happens \
     and asks for your password.</p>\n\
     <p><a href=\"/account/delete\" id=\"delete-link\">Delete my account…</a></p>\n</section>"
        .to_string()
}

/// `GET /account/`: the overview's one address.
pub async fn to_overview() -> Response {
    see_other("/account")
}

/// `GET /account/style.css`.
pub async fn style() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/css; charset=utf-8"),
        )],
        html::STYLE,
    )
        .into_response()
}

/// Any other path under `/account/`.
pub async fn not_found() -> Response {
    PageError::new(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no such page.",
    )
    .into_response()
}

/// A known path with the wrong method (`405`, with `Allow` set by the router).
pub async fn method_not_allowed() -> Response {
    PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Not allowed",
        "This page does not take this kind of request.",
    )
    .into_response()
}
