//! The account page's HTML: one layout, plain forms, no script.
//!
//! Every value that came from outside (addresses, labels, messages) goes
//! through [`escape`]. Pages are built for screen readers and keyboards:
//! `lang` of the request's language ([`super::text`]), one `h1` per page and `h2` per section, a `label` for every
//! input, `autocomplete` hints so password managers fill the right fields,
//! notices in a `role="status"` region and errors in `role="alert"`. The
//! style sheet is a file of its own (`/account/style.css`), so the
//! Content-Security-Policy needs no `'unsafe-inline'`.

/// The style sheet, served at `/account/style.css`.
pub const STYLE: &str = "\
body{font-family:system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-top:1px solid #ccc;padding-top:1rem}
label{display:block;font-weight:600;margin-top:.75rem}
input[type=text],input[type=email],input[type=password]{width:100%;max-width:24rem;padding:.4rem;font-size:1rem;border:1px solid #555;border-radius:3px}
button{margin-top:1rem;padding:.45rem 1rem;font-size:1rem;border:1px solid #1a4f8b;background:#1a4f8b;color:#fff;border-radius:3px;cursor:pointer}
button.danger{background:#a4161a;border-color:#a4161a}
button.plain{background:#fff;color:#1a4f8b}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.notice{background:#e6f4ea;border:1px solid #2e7d32;padding:.5rem 1rem}
.error{background:#fdecea;border:1px solid #a4161a;padding:.5rem 1rem}
.secret{font-family:monospace;font-size:1.3rem;background:#f3f3f3;padding:.5rem;display:inline-block}
table{border-collapse:collapse}td,th{padding:.25rem .75rem .25rem 0;text-align:left}
fieldset{border:0;padding:0;margin:0}legend{font-weight:600}
.choice{margin-top:.4rem}.choice label{display:inline;font-weight:normal}
.hint{color:#444;font-size:.9rem}
header{display:flex;justify-content:space-between;align-items:baseline}
";

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(csrf: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    )
}

/// A whole page. `signed_in` adds the account line and the sign-out
/// button (a form: signing out changes state, so it is a POST with CSRF).
pub fn page(title: &str, signed_in: Option<(&str, &str)>, body: &str) -> String {
    let t = super::text::t();
    let header = match signed_in {
        Some((address, csrf)) => format!(
            "<header><p>{} <strong>{}</strong></p>\
             <form method=\"post\" action=\"/account/logout\">{}<button class=\"plain\" type=\"submit\">{}</button></form></header>",
            t.signed_in_as,
            escape(address),
            csrf_field(csrf),
            t.sign_out,
        ),
        None => String::new(),
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{} - {}</title>\n<link rel=\"stylesheet\" href=\"/account/style.css\">\n</head>\n\
         <body>\n{header}\n<main>\n{body}\n</main>\n</body>\n</html>\n",
        t.code,
        escape(title),
        t.title_suffix,
    )
}

/// A one-time notice (`role="status"`), empty without one.
pub fn notice(text: Option<&str>) -> String {
    text.map(|t| format!("<p class=\"notice\" role=\"status\">{}</p>", escape(t)))
        .unwrap_or_default()
}

/// An error box (`role="alert"`).
pub fn alert(text: &str) -> String {
    format!("<p class=\"error\" role=\"alert\">{}</p>", escape(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn a_page_has_language_title_style_and_no_script() {
        let p = page("Sign in", None, "<h1>Sign in</h1>");
        assert!(p.starts_with("<!DOCTYPE html>"));
        assert!(p.contains("<html lang=\"en\">"));
        assert!(p.contains("<title>Sign in - sealpost account</title>"));
        assert!(!p.contains("<script"));
        assert!(!p.contains("style="), "no inline style: the CSP forbids it");
        let p = page("Account", Some(("a@example.org", "tok<")), "");
        assert!(p.contains("Signed in as <strong>a@example.org</strong>"));
        assert!(p.contains("name=\"csrf\" value=\"tok&lt;\""));
    }
}
