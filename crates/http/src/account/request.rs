//! What every handler of the account page does with a request before its
//! own work: find the session from the cookie, refuse cross-origin POSTs,
//! read the form under its limits, check the CSRF token; and the error page
//! every refusal becomes.

use super::form::{Form, FormError};
use super::session::{Current, tokens_equal};
use super::text::{fill, t};
use super::{AccountPage, ActionError, html};
use crate::routes::RequestInfo;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sealpost_directory::app_password::{MAX_APP_PASSWORDS, MAX_LABEL_LEN};
use sealpost_directory::{MAX_PASSWORD_LEN, Refusal};
use std::time::Instant;

/// The session cookie (`__Host-`: Secure, Path=/, no Domain: only this
/// host, only over HTTPS).
pub const SESSION_COOKIE: &str = "__Host-sealpost-session";
/// The double-submit cookie of the sign-in form.
pub const LOGIN_COOKIE: &str = "__Host-sealpost-login";

/// A refusal: a whole HTML page with the right status and a way back.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
    retry_after: Option<u64>,
    clear_session: bool,
    wrong_password: bool,
}

impl PageError {
    /// A page with `status`, a heading and one sentence.
    pub fn new(status: StatusCode, title: &'static str, message: impl Into<String>) -> PageError {
        PageError {
            status,
            title,
            message: message.into(),
            retry_after: None,
            clear_session: false,
            wrong_password: false,
        }
    }

    /// `400`: the form was not as the page sends it.
    pub fn bad_form(e: FormError) -> PageError {
        let t = t();
        PageError::new(StatusCode::BAD_REQUEST, t.form_not_accepted, e.message(t))
    }

    /// `403`: a missing or wrong CSRF token, or another origin.
    pub fn forbidden_origin() -> PageError {
        PageError::new(
            StatusCode::FORBIDDEN,
            t().request_refused,
            t().forbidden_text,
        )
    }

    /// `403` after a wrong password (or an app password) where the
    /// account's own password was needed.
    pub fn wrong_password(title: &'static str) -> PageError {
        let mut e = PageError::new(StatusCode::FORBIDDEN, title, t().wrong_password_text);
        e.wrong_password = true;
        e
    }

    /// Whether this is [`PageError::wrong_password`].
    pub fn is_wrong_password(&self) -> bool {
        self.wrong_password
    }

    /// `429` with `Retry-After`.
    pub fn throttled(message: String, retry_after: u64) -> PageError {
        let mut e = PageError::new(StatusCode::TOO_MANY_REQUESTS, t().wait_title, message);
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// Also expires the session cookie (the session is gone).
    pub fn ending_session(mut self) -> PageError {
        self.clear_session = true;
        self
    }

    /// The status (for tests and logs).
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<ActionError> for PageError {
    fn from(e: ActionError) -> PageError {
        let t = t();
        match e {
            ActionError::Refused(r) => refused(r),
            ActionError::NoAccount => {
                PageError::new(StatusCode::NOT_FOUND, t.not_found, t.account_gone)
            }
            ActionError::NoMailStore => {
                PageError::new(StatusCode::NOT_FOUND, t.not_found, t.export_no_store)
            }
            ActionError::Failed(m) => {
                tracing::error!(error = %m, "account page action failed");
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    t.went_wrong_title,
                    t.went_wrong_text,
                )
            }
        }
    }
}

/// A refusal of the accounts file, in the request's language (the page
/// checks most of these itself first; it meets them when another edit
/// came between its check and its own edit).
fn refused(r: Refusal) -> PageError {
    let t = t();
    let password =
        |text: String| PageError::new(StatusCode::BAD_REQUEST, t.password_not_changed, text);
    let app = |status, text: String| PageError::new(status, t.app_not_created, text);
    match r {
        Refusal::PasswordEmpty => password(fill(t.pw_short, &[("min", "1")])),
        Refusal::PasswordTooLong => {
            password(fill(t.pw_long, &[("max", &MAX_PASSWORD_LEN.to_string())]))
        }
        Refusal::BadLabel(_) => app(
            StatusCode::BAD_REQUEST,
            fill(t.label_bad, &[("max", &MAX_LABEL_LEN.to_string())]),
        ),
        Refusal::LabelTaken { label, .. } => app(
            StatusCode::CONFLICT,
            fill(t.label_taken, &[("label", &label)]),
        ),
        Refusal::TooManyAppPasswords { .. } => app(
            StatusCode::CONFLICT,
            fill(t.label_too_many, &[("max", &MAX_APP_PASSWORDS.to_string())]),
        ),
        Refusal::AppPasswordIdTaken => app(StatusCode::CONFLICT, t.app_id_taken.into()),
        Refusal::NoAppPassword { label, .. } => PageError::new(
            StatusCode::NOT_FOUND,
            t.not_found,
            fill(t.label_missing, &[("label", &label)]),
        ),
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            "<h1>{}</h1>\n{}\n<p><a href=\"/account\">{}</a></p>",
            html::escape(self.title),
            html::alert(&self.message),
            t().back_to_account,
        );
        let mut r = (self.status, html_page(self.title, None, &body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.clear_session {
            r.headers_mut()
                .append(header::SET_COOKIE, expire_cookie(SESSION_COOKIE));
        }
        r
    }
}

/// An HTML page as a response body with its content type.
pub fn html_page(title: &str, signed_in: Option<(&str, &str)>, body: &str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html::page(title, signed_in, body),
    )
        .into_response()
}

/// `303 See Other` to `location` (after a POST: the browser GETs it).
pub fn see_other(location: &'static str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, HeaderValue::from_static(location))],
    )
        .into_response()
}

/// A cookie that lives `max_age` seconds.
pub fn cookie(name: &str, value: &str, max_age: u64) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}"
    ))
    .unwrap_or_else(|_| expire_cookie(name))
}

/// A cookie that the browser deletes at once.
pub fn expire_cookie(name: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"
    ))
    .unwrap_or(HeaderValue::from_static(""))
}

/// A cookie's value from the request's `Cookie` headers (RFC 6265 5.4).
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.trim())
}

/// The connection facts the listener attached.
pub fn info(req: &Request) -> Result<RequestInfo, PageError> {
    req.extensions()
        .get::<RequestInfo>()
        .cloned()
        .ok_or_else(|| {
            PageError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                t().error_title,
                t().went_wrong_text,
            )
        })
}

/// The live session of the request, if any, whose account still exists
/// with the credentials the session was opened under.
pub fn session(page: &AccountPage, headers: &HeaderMap) -> Option<(String, Current)> {
    let token = cookie_value(headers, SESSION_COOKIE)?;
    let current = page.sessions.get(token, Instant::now())?;
    let Some(credentials) = page.directory.credentials(&current.address) else {
        // Deleted, or removed from the accounts file by the operator.
        page.sessions.remove_account(&current.address);
        return None;
    };
    // A new password or a revoked app password, from here or the CLI.
    if !page.sessions.check_credentials(token, &credentials) {
        return None;
    }
    Some((token.to_string(), current))
}

/// Refuses a POST that a browser says came from elsewhere: `Sec-Fetch-Site`
/// other than `same-origin`/`none`, or an `Origin` (other than `null`)
/// that is not `https://` + this request's `Host`.
pub fn check_origin(headers: &HeaderMap) -> Result<(), PageError> {
    if let Some(site) = headers.get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        // No header value is logged: it is client input before sign-in.
        tracing::info!("account page: a POST marked cross-site (Sec-Fetch-Site) refused");
        return Err(PageError::forbidden_origin());
    }
    // Under `Referrer-Policy: no-referrer` (ours) browsers send `Origin:
    // null` with every POST (Fetch, "serializing a request origin"): it
    // says nothing, so the token and `Sec-Fetch-Site` decide.
    if let Some(origin) = headers
        .get(header::ORIGIN)
        .filter(|o| o.as_bytes() != b"null")
    {
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let expected = format!("https://{}", host.to_ascii_lowercase());
        let same = origin
            .to_str()
            .is_ok_and(|o| o.eq_ignore_ascii_case(&expected) && !host.is_empty());
        if !same {
            tracing::info!("account page: a POST from another origin refused");
            return Err(PageError::forbidden_origin());
        }
    }
    Ok(())
}

/// Reads a POST's form: same origin, urlencoded, at most `max_form_bytes`,
/// strictly parsed.
pub async fn read_form(page: &AccountPage, req: Request) -> Result<(HeaderMap, Form), PageError> {
    let (parts, body) = req.into_parts();
    check_origin(&parts.headers)?;
    let urlencoded = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !urlencoded {
        return Err(PageError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            t().form_not_accepted,
            t().form_type,
        ));
    }
    let limit = page.config.max_form_bytes;
    let too_large = || {
        PageError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            t().form_not_accepted,
            fill(t().form_too_large, &[("limit", &limit.to_string())]),
        )
    };
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(Body::new(body), limit)
        .await
        .map_err(|_| too_large())?;
    let form = Form::parse(&bytes).map_err(PageError::bad_form)?;
    Ok((parts.headers, form))
}

/// The signed-in session of a POST, its CSRF token checked.
pub fn signed_in_post(
    page: &AccountPage,
    headers: &HeaderMap,
    form: &Form,
) -> Result<(String, Current), PageError> {
    let Some((token, current)) = session(page, headers) else {
        return Err(PageError::new(
            StatusCode::FORBIDDEN,
            t().sign_in_again_title,
            t().session_ended_text,
        )
        .ending_session());
    };
    let sent = form.get("csrf").unwrap_or_default();
    if !tokens_equal(sent, &current.csrf) {
        return Err(PageError::forbidden_origin());
    }
    Ok((token, current))
}

#[cfg(test)]
mod tests {
    use super::super::text::{DE, EN, Lang, in_lang};
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in pairs {
            h.append(*n, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[
            ("cookie", "a=1; __Host-sealpost-session=tok"),
            (
                "cookie",
                "x__Host-sealpost-login=no; __Host-sealpost-login=yes",
            ),
        ]);
        assert_eq!(cookie_value(&h, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie_value(&h, LOGIN_COOKIE), Some("yes"));
        assert_eq!(cookie_value(&h, "b"), None);
    }

    #[test]
    fn cookie_flags() {
        let c = cookie(SESSION_COOKIE, "v", 60);
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-sealpost-session=v; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=60"
        );
        assert!(
            expire_cookie(SESSION_COOKIE)
                .to_str()
                .unwrap()
                .ends_with("Max-Age=0")
        );
    }

    #[test]
    fn cross_origin_posts_are_refused() {
        assert!(check_origin(&headers(&[])).is_ok());
        assert!(
            check_origin(&headers(&[
                ("origin", "null"),
                ("sec-fetch-site", "same-origin")
            ]))
            .is_ok()
        );
        assert!(
            check_origin(&headers(&[
                ("host", "mail.example.org:8443"),
                ("origin", "https://mail.example.org:8443"),
                ("sec-fetch-site", "same-origin"),
            ]))
            .is_ok()
        );
        for h in [
            headers(&[
                ("host", "mail.example.org"),
                ("origin", "https://evil.example"),
            ]),
            headers(&[
                ("host", "mail.example.org"),
                ("origin", "http://mail.example.org"),
            ]),
            headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            headers(&[("origin", "https://")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
        ] {
            assert_eq!(
                check_origin(&h).unwrap_err().status(),
                StatusCode::FORBIDDEN,
                "{h:?}"
            );
        }
    }

    /// Every typed case of the server's refusals has the page's own words
    /// in each language: the German page never shows the English one.
    #[test]
    fn each_refusal_is_worded_in_the_request_s_language() {
        let address = "alice@example.org".to_string();
        let cases = [
            ActionError::Refused(Refusal::PasswordEmpty),
            ActionError::Refused(Refusal::PasswordTooLong),
            ActionError::Refused(Refusal::BadLabel("the app password label is empty".into())),
            ActionError::Refused(Refusal::LabelTaken {
                address: address.clone(),
                label: "Telefon".into(),
            }),
            ActionError::Refused(Refusal::TooManyAppPasswords {
                address: address.clone(),
            }),
            ActionError::Refused(Refusal::AppPasswordIdTaken),
            ActionError::Refused(Refusal::NoAppPassword {
                address,
                label: "Uhr".into(),
            }),
            ActionError::NoAccount,
            ActionError::NoMailStore,
            ActionError::Failed("accounts.toml:3: expected `]`".into()),
        ];
        for case in cases {
            let english = case.to_string();
            let en = in_lang(Lang::En, || PageError::from(case.clone()));
            let de = in_lang(Lang::De, || PageError::from(case.clone()));
            assert_eq!(en.status, de.status, "{case:?}");
            assert_ne!(en.message, de.message, "{case:?}");
            assert_ne!(en.title, de.title, "{case:?}");
            for page in [&en, &de] {
                assert!(
                    !page.message.contains(&english),
                    "{case:?}: {}",
                    page.message
                );
                assert!(
                    !page.message.contains("alice@"),
                    "{case:?}: {}",
                    page.message
                );
            }
            let de_strings = DE.entries();
            let title_is_german = de_strings.iter().any(|(_, d)| *d == de.title);
            assert!(title_is_german, "{case:?}: {}", de.title);
            assert!(
                !EN.entries().iter().any(|(_, e)| *e == de.message),
                "{case:?}: {}",
                de.message
            );
        }
    }
}
