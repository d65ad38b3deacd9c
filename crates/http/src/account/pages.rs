//! The account overview (`GET /account`): one page with a section per
//! right, each a plain form; and the small routes around it (style sheet,
//! not found, wrong method).

use super::request::{PageError, html_page, see_other, session};
use super::text::{Text, fill, t};
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
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n{}\n{}\n{}\n{}\n{}",
        t.overview_title,
        html::notice(current.notice.as_deref()),
        export_section(t, &current.csrf),
        password_section(t, &current.csrf, page.config.min_password_len),
        app_password_section(t, &current.csrf, &apps),
        delete_section(t),
    );
    html_page(
        t.overview_title,
        Some((&current.address, &current.csrf)),
        &body,
    )
}

fn export_section(t: &Text, csrf: &str) -> String {
    format!(
        "<section aria-labelledby=\"export-h\">\n<h2 id=\"export-h\">{}</h2>\n\
         <p><a href=\"/account/access\" id=\"access-link\">{}</a> {}</p>\n\
         <p>{}</p>\n\
         <form method=\"post\" action=\"/account/export\">{}\n\
         <fieldset><legend>{}</legend>\n\
         <div class=\"choice\"><input type=\"radio\" id=\"format-mbox\" name=\"format\" value=\"mbox\" checked> \
         <label for=\"format-mbox\">{}</label></div>\n\
         <div class=\"choice\"><input type=\"radio\" id=\"format-maildir\" name=\"format\" value=\"maildir\"> \
         <label for=\"format-maildir\">{}</label></div>\n\
         </fieldset>\n<button type=\"submit\" id=\"export\">{}</button>\n</form>\n</section>",
        t.export_h,
        t.access_link,
        t.access_link_hint,
        t.export_text,
        html::csrf_field(csrf),
        t.export_format,
        t.export_mbox,
        t.export_maildir,
        t.export_button,
    )
}

fn password_section(t: &Text, csrf: &str, min: usize) -> String {
    format!(
        "<section aria-labelledby=\"password-h\">\n<h2 id=\"password-h\">{}</h2>\n\
         <p>{}</p>\n\
         <form method=\"post\" action=\"/account/password\">{}\n\
         <label for=\"current_password\">{}</label>\n\
         <input id=\"current_password\" name=\"current_password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <label for=\"new_password\">{}</label>\n\
         <input id=\"new_password\" name=\"new_password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <label for=\"confirm_password\">{}</label>\n\
         <input id=\"confirm_password\" name=\"confirm_password\" type=\"password\" autocomplete=\"new-password\" required minlength=\"{min}\" maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <button type=\"submit\" id=\"change-password\">{}</button>\n</form>\n</section>",
        t.password_h,
        t.password_text,
        html::csrf_field(csrf),
        t.current_password,
        fill(t.new_password, &[("min", &min.to_string())]),
        t.confirm_password,
        t.change_password,
    )
}

fn app_password_section(t: &Text, csrf: &str, apps: &[AppPasswordInfo]) -> String {
    let list = if apps.is_empty() {
        format!("<p>{}</p>", t.apps_none)
    } else {
        let rows: String = apps
            .iter()
            .map(|a| {
                format!(
                    "<tr><td>{}</td><td><form method=\"post\" action=\"/account/app-passwords/remove\">{}\
                     <input type=\"hidden\" name=\"label\" value=\"{}\">\
                     <button type=\"submit\" class=\"plain\" aria-label=\"{}\">{}</button></form></td></tr>\n",
                    html::escape(&a.label),
                    html::csrf_field(csrf),
                    html::escape(&a.label),
                    html::escape(&fill(t.apps_remove_aria, &[("label", &a.label)])),
                    t.apps_remove,
                )
            })
            .collect();
        format!(
            "<table>\n<caption class=\"hint\">{}</caption>\n<thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>\n{rows}</tbody>\n</table>",
            t.apps_caption, t.apps_col_label, t.apps_col_action
        )
    };
    format!(
        "<section aria-labelledby=\"apps-h\">\n<h2 id=\"apps-h\">{}</h2>\n\
         <p>{}</p>\n{list}\n\
         <form method=\"post\" action=\"/account/app-passwords/add\">{}\n\
         <label for=\"label\">{}</label>\n\
         <input id=\"label\" name=\"label\" type=\"text\" required maxlength=\"{}\">\n\
         <button type=\"submit\" id=\"add-app-password\">{}</button>\n</form>\n</section>",
        t.apps_h,
        t.apps_text,
        html::csrf_field(csrf),
        t.apps_new_label,
        sealpost_directory::app_password::MAX_LABEL_LEN,
        t.apps_create,
    )
}

fn delete_section(t: &Text) -> String {
    format!(
        "<section aria-labelledby=\"delete-h\">\n<h2 id=\"delete-h\">{}</h2>\n\
         <p>{}</p>\n\
         <p><a href=\"/account/delete\" id=\"delete-link\">{}</a></p>\n</section>",
        t.delete_h, t.delete_text, t.delete_link
    )
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
        t().not_found_title,
        t().not_found_text,
    )
    .into_response()
}

/// A known path with the wrong method (`405`, with `Allow` set by the router).
pub async fn method_not_allowed() -> Response {
    PageError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        t().not_allowed_title,
        t().not_allowed_text,
    )
    .into_response()
}
