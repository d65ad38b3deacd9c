//! Signing in and out, and the password check every sensitive action
//! repeats.
//!
//! The sign-in form carries a double-submit token (the `__Host-` login
//! cookie and a hidden field, equal and random) so that another site
//! cannot sign a browser into an account of its choosing (login CSRF). A
//! successful sign-in opens a new session with a new token (no token
//! chosen before sign-in survives it: no session fixation).

use super::request::{
    LOGIN_COOKIE, PageError, SESSION_COOKIE, cookie, cookie_value, expire_cookie, html_page, info,
    read_form, see_other, session, signed_in_post,
};
use super::session::{random_token, tokens_equal};
use super::text::{fill, t};
use super::{AccountPage, html, remote};
use crate::routes::RequestInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_audit::{Event, LoginOutcome, Protocol};
use sealpost_directory::{AuthOutcome, MAX_PASSWORD_LEN, Secret, ThrottleReason};
use std::sync::Arc;
use std::time::Instant;

/// Longest address accepted (RFC 5321 4.5.3.1.3: a path is at most 256
/// octets with its brackets).
pub const MAX_ADDRESS_LEN: usize = 254;
/// How long the sign-in form's token lives, in seconds.
const LOGIN_TOKEN_SECS: u64 = 3600;

/// `GET /account/login`.
pub async fn form(State(page): State<Arc<AccountPage>>, headers: HeaderMap) -> Response {
    if session(&page, &headers).is_some() {
        return see_other("/account");
    }
    login_page(&headers, StatusCode::OK, None)
}

/// The sign-in form with its double-submit token: the browser's own if it
/// has one of the right shape (so two open sign-in tabs both work; the
/// `__Host-` prefix keeps other hosts from planting one), else a new one.
fn login_page(headers: &HeaderMap, status: StatusCode, error: Option<&str>) -> Response {
    let token = cookie_value(headers, LOGIN_COOKIE)
        .filter(|t| {
            t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
        .unwrap_or_else(random_token);
    let t = t();
    let body = format!(
        "<h1>{}</h1>\n{}\
         <form method=\"post\" action=\"/account/login\">\n{}\n\
         <label for=\"address\">{}</label>\n\
         <input id=\"address\" name=\"address\" type=\"email\" autocomplete=\"username\" required maxlength=\"{MAX_ADDRESS_LEN}\">\n\
         <label for=\"password\">{}</label>\n\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required maxlength=\"{MAX_PASSWORD_LEN}\">\n\
         <p class=\"hint\">{}</p>\n\
         <button type=\"submit\">{}</button>\n</form>\n\
         <p class=\"hint\">{}</p>",
        t.login_h,
        error.map(html::alert).unwrap_or_default(),
        html::csrf_field(&token),
        t.address_label,
        t.password_label,
        t.login_hint,
        t.sign_in,
        t.login_about,
    );
    let mut r = (status, html_page(t.sign_in, None, &body)).into_response();
    r.headers_mut().append(
        header::SET_COOKIE,
        cookie(LOGIN_COOKIE, &token, LOGIN_TOKEN_SECS),
    );
    r
}

/// `POST /account/login`.
pub async fn submit(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    let headers = req.headers().clone();
    match sign_in(&page, req).await {
        Ok(r) => r,
        // A wrong password shows the form again.
        Err(e) if e.status() == StatusCode::FORBIDDEN && e.is_wrong_password() => {
            login_page(&headers, StatusCode::FORBIDDEN, Some(t().login_wrong))
        }
        Err(e) => e.into_response(),
    }
}

async fn sign_in(page: &AccountPage, req: Request) -> Result<Response, PageError> {
    let info = info(&req)?;
    let (headers, form) = read_form(page, req).await?;
    let sent = form.get("csrf").unwrap_or_default();
    let expected = cookie_value(&headers, LOGIN_COOKIE).unwrap_or_default();
    if expected.is_empty() || !tokens_equal(sent, expected) {
        return Err(PageError::forbidden_origin());
    }
    let address = form
        .required("address", MAX_ADDRESS_LEN)
        .map_err(PageError::bad_form)?
        .trim()
        .to_ascii_lowercase();
    let password = Secret::new(
        form.required("password", MAX_PASSWORD_LEN)
            .map_err(PageError::bad_form)?,
    );
    check_password(page, &info, &address, &password).await?;
    let token = page
        .sessions
        .create(&address, Instant::now())
        .map_err(|_| {
            PageError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                t().busy_title,
                t().busy_text,
            )
        })?;
    let mut r = see_other("/account");
    let h = r.headers_mut();
    h.append(
        header::SET_COOKIE,
        cookie(SESSION_COOKIE, &token, page.config.session_max_secs),
    );
    h.append(header::SET_COOKIE, expire_cookie(LOGIN_COOKIE));
    Ok(r)
}

/// Checks the account's own password (the IMAP check and throttling) and
/// audits the attempt as a `Login` over `https`. An app password that
/// matches is refused and audited as a failure naming its label.
pub(super) async fn check_password(
    page: &AccountPage,
    info: &RequestInfo,
    address: &str,
    password: &Secret,
) -> Result<(), PageError> {
    let outcome = page
        .directory
        .authenticate(address, password, info.peer.ip())
        .await;
    let (audited, app_password, result) = match outcome {
        AuthOutcome::Success(account) => match account.app_password {
            None => (LoginOutcome::Success, None, Ok(())),
            Some(label) => (
                LoginOutcome::Failure,
                Some(label),
                Err(PageError::wrong_password(t().password_not_accepted)),
            ),
        },
        AuthOutcome::Failed => (
            LoginOutcome::Failure,
            None,
            Err(PageError::wrong_password(t().password_not_accepted)),
        ),
        AuthOutcome::Throttled {
            retry_after,
            reason,
        } => (
            LoginOutcome::Throttled,
            None,
            Err(PageError::throttled(
                throttled_text(reason, retry_after),
                retry_after.as_secs(),
            )),
        ),
    };
    page.audit.record(Event::Login {
        protocol: Protocol::Https,
        account: address.to_string(),
        remote: remote(info),
        tls: info.tls.clone(),
        outcome: audited,
        app_password,
        // A password typed into the page's sign-in form.
        mechanism: Some("form".into()),
    });
    result
}

/// Why a sign-in waits, and for how long, in the request's language.
fn throttled_text(reason: ThrottleReason, retry_after: std::time::Duration) -> String {
    let secs = retry_after.as_secs().max(1).to_string();
    let template = match reason {
        ThrottleReason::Failures => t().throttled_failures,
        ThrottleReason::Busy => t().throttled_busy,
    };
    fill(template, &[("secs", &secs)])
}

/// `POST /account/logout`.
pub async fn logout(State(page): State<Arc<AccountPage>>, req: Request) -> Response {
    let signed_out = async {
        let (headers, form) = read_form(&page, req).await?;
        let (token, _) = signed_in_post(&page, &headers, &form)?;
        page.sessions.remove(&token);
        Ok::<_, PageError>(())
    };
    match signed_out.await {
        Ok(()) => {
            let t = t();
            let body = format!(
                "<h1>{}</h1>\n<p><a href=\"/account/login\">{}</a></p>",
                t.signed_out_h, t.sign_in_again
            );
            let mut r = html_page(t.signed_out_title, None, &body);
            r.headers_mut()
                .append(header::SET_COOKIE, expire_cookie(SESSION_COOKIE));
            r
        }
        Err(e) => e.into_response(),
    }
}
