//! Deleting one's account (`GET`/`POST /account/delete`, GDPR art. 17).
//!
//! The page states what happens, from the running `[retention]` settings,
//! then asks for the account's own password (the sign-in check, throttled
//! and audited) and for the address typed again. Then a message with a
//! one-time link goes to the account's own INBOX (`confirm.rs`); opened
//! within half an hour in a signed-in session and confirmed
//! (`GET`/`POST /account/delete/confirm`), it deletes. The deletion is the
//! operator's `sealpost account delete`, run by the backend: out of the
//! accounts file (every login stops), the data key sealed away (the mail
//! is unreadable at once), the purge after the grace period by the
//! retention worker, which then erases the account's personal fields in
//! the audit log unless a legal hold keeps them. Every session of the
//! account ends.

use super::login::{MAX_ADDRESS_LEN, check_password};
use super::pages::blocking;
use super::request::{
    PageError, SESSION_COOKIE, expire_cookie, html_page, info, read_form, see_other, session,
    signed_in_post,
};
use super::text::{fill, t};
use super::{AccountPage, DeletionTerms, confirm, html};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_directory::{MAX_PASSWORD_LEN, Secret};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// The date of the purge of an account deleted now (UTC, `YYYY-MM-DD`).
fn purge_date(grace_days: u32) -> String {
    (chrono::Utc::now() + chrono::Duration::days(i64::from(grace_days)))
        .format("%Y-%m-%d")
        .to_string()
}

/// What happens, in plain words (the request's language).
pub fn statement(terms: &DeletionTerms) -> String {
    let t = t();
    let date = purge_date(terms.grace_days);
    let audit = if terms.audit_kept_after_purge {
        let until = match terms.anonymize_after_months {
            0 => t.st_audit_forever.to_string(),
            m => fill(t.st_audit_until, &[("months", &m.to_string())]),
        };
        fill(t.st_audit_kept, &[("until", &until)])
    } else {
        t.st_audit_erased.to_string()
    };
    let days = terms.grace_days.to_string();
    format!(
        "<ul>\n<li>{}</li>\n<li>{}</li>\n<li>{}</li>\n<li>{audit}</li>\n</ul>\n<p>{}</p>",
        t.st_at_once,
        fill(t.st_until, &[("date", &date), ("days", &days)]),
        fill(t.st_on, &[("date", &date)]),
        t.st_keep_mail,
    )
}

/// `GET /account/delete`: the statement and the confirmation form.
pub async fn form(State(page): State<Arc<AccountPage>>, headers: HeaderMap) -> Response {
    let Some((_, current)) = session(&page, &headers) else {
        return see_other("/account/login");
    };
    let terms = page.backend.deletion_terms();
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n{}\n\
         <form method=\"post\" action=\"/account/delete\">{}\n\
         <label for=\"confirm_address\">{}</label>\n\
         <input id=\"confirm_address\" name=\"confirm_address\" type=\"email\" autocomplete=\"off\" required maxlength=\"{MAX_ADDRESS_LEN}\">\n\
         <label for=\"password\">{}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <button type=\"submit\" class=\"danger\" id=\"delete\">{}</button>\n</form>\n\
         <p><a href=\"/account\">{}</a></p>",
        t.delete_h,
        fill(
            t.delete_intro,
            &[("address", &html::escape(&current.address))]
        ),
        statement(&terms),
        html::csrf_field(&current.csrf),
        t.delete_confirm_address,
        t.delete_password,
        t.delete_button,
        t.keep_account,
    );
    html_page(t.delete_h, Some((&current.address, &current.csrf)), &body)
}

/// `POST /account/delete` (form: `csrf`, `confirm_address`, `password`).
pub async fn submit(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    match delete(&page, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn delete(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let info = info(&req)?;
    let (headers, form) = read_form(page, req).await?;
    let (_, current) = signed_in_post(page, &headers, &form)?;
    let typed = form
        .required("confirm_address", MAX_ADDRESS_LEN)
        .map_err(PageError::bad_form)?;
    let password = Secret::new(
        form.required("password", MAX_PASSWORD_LEN)
            .map_err(PageError::bad_form)?,
    );
    if !typed.trim().eq_ignore_ascii_case(&current.address) {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t().not_deleted,
            t().typed_wrong,
        ));
    }
    check_password(page, &info, &current.address, &password).await?;
    let Some(host) = info.host.clone() else {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t().not_deleted,
            t().no_host,
        ));
    };
    let code = page.pending.issue(&current.address, Instant::now());
    let raw = confirm::message(&current.address, &host, &code);
    let address = current.address.clone();
    blocking(page, move |b| b.deliver_to_account(&address, &raw)).await?;
    let t = t();
    let minutes = (confirm::CONFIRM_TTL.as_secs() / 60).to_string();
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p>{} <a href=\"/account\">{}</a></p>",
        t.check_mailbox,
        fill(
            t.check_mailbox_text,
            &[
                ("address", &html::escape(&current.address)),
                ("minutes", &minutes)
            ]
        ),
        t.changed_mind,
        t.back_to_account,
    );
    Ok(html_page(
        t.check_mailbox,
        Some((&current.address, &current.csrf)),
        &body,
    ))
}

/// `GET /account/delete/confirm?code=...`: the link of the message; asks
/// for a last click (a GET never deletes: mail scanners open links).
pub async fn confirm_form(
    State(page): State<Arc<AccountPage>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((_, current)) = session(&page, &headers) else {
        return see_other("/account/login");
    };
    let code = query.get("code").map(String::as_str).unwrap_or("");
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n{}\n\
         <form method=\"post\" action=\"/account/delete/confirm\">{}\n\
         <input type=\"hidden\" name=\"code\" value=\"{}\">\n\
         <button type=\"submit\" class=\"danger\" id=\"confirm-delete\">{}</button>\n</form>\n\
         <p><a href=\"/account\">{}</a></p>",
        t.confirm_title,
        fill(
            t.confirm_question,
            &[("address", &html::escape(&current.address))]
        ),
        statement(&page.backend.deletion_terms()),
        html::csrf_field(&current.csrf),
        html::escape(code),
        t.confirm_button,
        t.keep_account,
    );
    html_page(
        t.confirm_title,
        Some((&current.address, &current.csrf)),
        &body,
    )
}

/// `POST /account/delete/confirm` (form: `csrf`, `code`).
pub async fn confirm_submit(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    match confirmed(&page, req).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

async fn confirmed(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let (headers, form) = read_form(page, req).await?;
    let (_, current) = signed_in_post(page, &headers, &form)?;
    let code = form.required("code", 64).map_err(PageError::bad_form)?;
    if !page.pending.take(&current.address, code, Instant::now()) {
        return Err(PageError::new(
            StatusCode::BAD_REQUEST,
            t().not_deleted,
            t().link_invalid,
        ));
    }
    let terms = page.backend.deletion_terms();
    let address = current.address.clone();
    blocking(page, move |b| b.delete_account(&address)).await?;
    page.sessions.remove_account(&current.address);
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n<p>{}</p>\n<p>{}</p>",
        t.deleted_h,
        fill(
            t.deleted_text,
            &[
                ("address", &html::escape(&current.address)),
                ("date", &purge_date(terms.grace_days))
            ]
        ),
        t.deleted_restore,
    );
    let mut r = html_page(t.deleted_title, None, &body);
    r.headers_mut()
        .append(header::SET_COOKIE, expire_cookie(SESSION_COOKIE));
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_statement_follows_the_retention_terms() {
        let mut terms = DeletionTerms {
            grace_days: 30,
            audit_kept_after_purge: false,
            anonymize_after_months: 6,
            audit_log_months: 18,
        };
        let s = statement(&terms);
        assert!(s.contains("(30 days)"), "{s}");
        assert!(s.contains(&purge_date(30)));
        assert!(s.contains("lose your address"));
        terms.audit_kept_after_purge = true;
        let s = statement(&terms);
        assert!(s.contains("legal obligation") && s.contains("until they are 6 months old"));
    }
}
