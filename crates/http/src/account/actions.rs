//! Changing the password and managing app passwords (`POST
//! /account/password`, `/account/app-passwords/add`, `.../remove`).
//!
//! Each checks its whole form before it changes anything, then makes one
//! edit of the accounts file through the backend (under the file's lock,
//! written durably, taken by the running server at once and audited as an
//! accounts-file change). A password change needs the current password
//! (the sign-in check, throttled and audited), ends every session of the
//! account and gives this browser a fresh one. A new app password is shown
//! once, on a page that is never cached.

use super::login::check_password;
use super::pages::blocking;
use super::request::{
    PageError, SESSION_COOKIE, cookie, html_page, info, read_form, see_other, signed_in_post,
};
use super::text::{fill, t};
use super::{AccountPage, html};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_directory::app_password::{MAX_APP_PASSWORDS, MAX_LABEL_LEN, check_label};
use sealpost_directory::{MAX_PASSWORD_LEN, Secret};
use std::sync::Arc;
use std::time::Instant;

fn respond(r: Result<Response, PageError>) -> Response {
    r.unwrap_or_else(IntoResponse::into_response)
}

/// `POST /account/password`.
pub async fn change_password(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    respond(password(&page, req).await)
}

async fn password(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let info = info(&req)?;
    let (headers, form) = read_form(page, req).await?;
    let (token, current) = signed_in_post(page, &headers, &form)?;
    let t = t();
    let bad = |m: String| PageError::new(StatusCode::BAD_REQUEST, t.password_not_changed, m);
    let old = form
        .required("current_password", MAX_PASSWORD_LEN)
        .map_err(PageError::bad_form)?;
    let new = form
        .required("new_password", MAX_PASSWORD_LEN)
        .map_err(PageError::bad_form)?;
    let again = form
        .required("confirm_password", MAX_PASSWORD_LEN)
        .map_err(PageError::bad_form)?;
    let min = page.config.min_password_len;
    if new != again {
        return Err(bad(t.pw_differ.into()));
    }
    if new.chars().count() < min {
        return Err(bad(fill(t.pw_short, &[("min", &min.to_string())])));
    }
    if new.trim() != new {
        return Err(bad(t.pw_space.into()));
    }
    if new == old {
        return Err(bad(t.pw_same.into()));
    }
    check_password(page, &info, &current.address, &Secret::new(old)).await?;
    let address = current.address.clone();
    let secret = Secret::new(new);
    blocking(page, move |b| b.change_password(&address, &secret)).await?;
    // Every session of the account ends; this browser gets a new one.
    page.sessions.remove(&token);
    page.sessions.remove_account(&current.address);
    let mut r = see_other("/account");
    if let Ok(token) = page.sessions.create(&current.address, Instant::now()) {
        page.sessions.set_notice(&token, t.pw_changed);
        r.headers_mut().append(
            header::SET_COOKIE,
            cookie(SESSION_COOKIE, &token, page.config.session_max_secs),
        );
    }
    Ok(r)
}

/// `POST /account/app-passwords/add`: the new password, shown once.
pub async fn add_app_password(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    respond(add(&page, req).await)
}

async fn add(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let (headers, form) = read_form(page, req).await?;
    let (token, current) = signed_in_post(page, &headers, &form)?;
    let label = form
        .required("label", MAX_LABEL_LEN)
        .map_err(PageError::bad_form)?
        .trim()
        .to_string();
    check_new_label(page, &current.address, &label).await?;
    let address = current.address.clone();
    let l = label.clone();
    let password = blocking(page, move |b| b.add_app_password(&address, &l)).await?;
    // Read again by now: this session stands, the account's others end.
    if let Some(now) = page.directory.credentials(&current.address) {
        page.sessions.set_credentials(&token, now);
    }
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n\
         <p>{}</p>\n\
         <p><output class=\"secret\" id=\"app-password\">{}</output></p>\n\
         <p>{}</p>\n\
         <p><a href=\"/account\">{}</a></p>",
        t.app_new_h,
        fill(t.app_new_text, &[("label", &html::escape(&label))]),
        html::escape(password.expose()),
        t.app_shown_once,
        t.back_to_account,
    );
    Ok(html_page(
        t.app_new_title,
        Some((&current.address, &current.csrf)),
        &body,
    ))
}

/// Refuses, in the request's language, a label the backend would refuse
/// (its own check stays: this one only words it for the user).
async fn check_new_label(
    page: &Arc<AccountPage>,
    address: &str,
    label: &str,
) -> Result<(), PageError> {
    let t = t();
    let refuse = |status, message: String| Err(PageError::new(status, t.app_not_created, message));
    if label.is_empty() {
        return refuse(StatusCode::BAD_REQUEST, t.label_empty.into());
    }
    if label.chars().count() > MAX_LABEL_LEN {
        let max = MAX_LABEL_LEN.to_string();
        return refuse(
            StatusCode::BAD_REQUEST,
            fill(t.label_long, &[("max", &max)]),
        );
    }
    if label.chars().any(char::is_control) || check_label(label).is_err() {
        return refuse(StatusCode::BAD_REQUEST, t.label_control.into());
    }
    let a = address.to_string();
    let known = blocking(page, move |b| b.app_passwords(&a)).await?;
    if known.iter().any(|k| k.label == label) {
        return refuse(
            StatusCode::CONFLICT,
            fill(t.label_taken, &[("label", label)]),
        );
    }
    if known.len() >= MAX_APP_PASSWORDS {
        let max = MAX_APP_PASSWORDS.to_string();
        return refuse(
            StatusCode::CONFLICT,
            fill(t.label_too_many, &[("max", &max)]),
        );
    }
    Ok(())
}

/// `POST /account/app-passwords/remove`.
pub async fn remove_app_password(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    respond(remove(&page, req).await)
}

async fn remove(page: &Arc<AccountPage>, req: Request) -> Result<Response, PageError> {
    let (headers, form) = read_form(page, req).await?;
    let (token, current) = signed_in_post(page, &headers, &form)?;
    let label = form
        .required("label", MAX_LABEL_LEN)
        .map_err(PageError::bad_form)?
        .to_string();
    let address = current.address.clone();
    let known = blocking(page, move |b| b.app_passwords(&address)).await?;
    if !known.iter().any(|a| a.label == label) {
        return Err(PageError::new(
            StatusCode::NOT_FOUND,
            t().not_found,
            fill(t().label_missing, &[("label", &label)]),
        ));
    }
    let address = current.address.clone();
    let l = label.clone();
    blocking(page, move |b| b.remove_app_password(&address, &l)).await?;
    // Read again by now: this session stands, the account's others end
    // at their next request.
    if let Some(now) = page.directory.credentials(&current.address) {
        page.sessions.set_credentials(&token, now);
    }
    page.sessions
        .set_notice(&token, fill(t().app_removed, &[("label", &label)]));
    Ok(see_other("/account"))
}
