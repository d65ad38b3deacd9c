//! Writing XML text and attribute values (XML 1.0 section 2.4).

/// `s` with the five XML-special characters escaped, for element text and
/// double-quoted attributes. Control characters other than TAB/LF/CR are
/// not allowed in XML 1.0 at all: they become U+FFFD.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes() {
        assert_eq!(
            super::escape("a&b<c>\"d'\u{1}é"),
            "a&amp;b&lt;c&gt;&quot;d&apos;\u{fffd}é"
        );
    }
}
