//! `GET /account/access?page=N`: the signed-in user's own access log (GDPR
//! Art. 15): their logins over every protocol, successful or not, with the
//! time, the protocol, the client's address as the audit log recorded it
//! and the result, newest first, [`PAGE`] to a page. Read from the audit
//! log by the server ([`super::AccountBackend::access_log`]) for the
//! session's address only: no other account's records are read.

use super::pages::blocking;
use super::request::{html_page, see_other, session};
use super::text::{Text, fill, t};
use super::{AccountPage, html};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;

/// Accesses per page.
pub const PAGE: usize = 50;
/// Highest page number asked for that is taken (a larger one is the last).
const MAX_PAGE: u64 = 1_000_000;

/// A result as the audit log records it (`success`, `failure`,
/// `throttled`), in the page's language; one it does not know as recorded.
fn outcome<'a>(t: &'static Text, recorded: &'a str) -> &'a str {
    match recorded {
        "success" => t.access_success,
        "failure" => t.access_failure,
        "throttled" => t.access_throttled,
        other => other,
    }
}

/// `GET /account/access`.
pub async fn list(
    State(page): State<Arc<AccountPage>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some((_, current)) = session(&page, &headers) else {
        return see_other("/account/login");
    };
    let number = query
        .get("page")
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(1)
        .clamp(1, MAX_PAGE);
    let address = current.address.clone();
    let skip = (number - 1) * PAGE as u64;
    let found = match blocking(&page, move |b| b.access_log(&address, skip, PAGE)).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let t = t();
    let mut rows = String::new();
    for a in &found.accesses {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            html::escape(&a.time),
            html::escape(&a.protocol),
            html::escape(&a.remote),
            html::escape(outcome(t, &a.outcome)),
        ));
    }
    let pages = found.total.div_ceil(PAGE as u64).max(1);
    let mut nav = String::new();
    if number > 1 {
        nav.push_str(&format!(
            "<a href=\"/account/access?page={}\" rel=\"prev\">{}</a> ",
            number - 1,
            t.access_newer
        ));
    }
    if number < pages {
        nav.push_str(&format!(
            "<a href=\"/account/access?page={}\" rel=\"next\">{}</a>",
            number + 1,
            t.access_older
        ));
    }
    let table = if found.accesses.is_empty() {
        format!("<p id=\"no-accesses\">{}</p>", t.access_none)
    } else {
        format!(
            "<table id=\"accesses\">\n<caption>{}</caption>\n\
             <thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n\
             <tbody>\n{rows}</tbody>\n</table>",
            t.access_caption,
            t.access_col_time,
            t.access_col_protocol,
            t.access_col_client,
            t.access_col_result,
        )
    };
    let text = fill(
        t.access_text,
        &[
            ("total", &found.total.to_string()),
            ("number", &number.to_string()),
            ("pages", &pages.to_string()),
        ],
    );
    let body = format!(
        "<h1>{}</h1>\n<p>{text}</p>\n{table}\n\
         <nav aria-label=\"{}\">{nav}</nav>\n<p><a href=\"/account\">{}</a></p>",
        t.access_title, t.access_pages, t.back_to_account
    );
    html_page(
        t.access_title,
        Some((&current.address, &current.csrf)),
        &body,
    )
}
