//! Base subject extraction, RFC 5256 section 2.1.
//!
//! The input is the Subject already decoded from RFC 2047 words to UTF-8
//! (step 1's first half is done by the summary). Then, exactly as the RFC
//! lists them:
//!
//! 1. tabs and line breaks become spaces, runs of spaces become one;
//! 2. trailing `subj-trailer`s (`(fwd)` or a space) are removed, repeatedly;
//! 3. a leading `subj-leader` (`*subj-blob subj-refwd`, or a space) is
//!    removed;
//! 4. a leading `subj-blob` is removed if something non-blank remains;
//! 5. steps 3 and 4 repeat until neither applies;
//! 6. `[fwd: ... ]` around the whole is removed, and we go back to step 2.
//!
//! Matching of `re`, `fw`, `fwd` is case-insensitive. We also report whether
//! the subject was a reply or forward, which REFERENCES threading needs.

/// The base subject of a decoded Subject (RFC 5256 section 2.1).
pub fn base_subject(subject: &str) -> String {
    base_subject_ext(subject).0
}

/// The base subject, and whether extraction removed a reply/forward marker
/// (`re:`, `fw:`, `fwd:`, `(fwd)` or `[fwd: ...]`).
pub(crate) fn base_subject_ext(subject: &str) -> (String, bool) {
    // Step 1: whitespace.
    let mut s = String::with_capacity(subject.len());
    for c in subject.chars() {
        let c = if matches!(c, '\t' | '\r' | '\n') {
            ' '
        } else {
            c
        };
        if c == ' ' && s.ends_with(' ') {
            continue;
        }
        s.push(c);
    }
    let mut reply = false;
    // Leaders are skipped by moving `start`, so long runs stay linear.
    let mut start = 0;
    loop {
        // Step 2: trailers.
        loop {
            if s.len() > start && s.ends_with(' ') {
                s.truncate(s.len() - 1);
            } else if s.len() >= start + 5
                && s.as_bytes()[s.len() - 5..].eq_ignore_ascii_case(b"(fwd)")
            {
                s.truncate(s.len() - 5);
                reply = true;
            } else {
                break;
            }
        }
        // Steps 3-5: leaders and blobs.
        loop {
            let rest = &s[start..];
            if let Some((n, refwd)) = leader(rest) {
                reply |= refwd;
                start += n;
                continue;
            }
            // Step 2 left no trailing space, so text remains after offset
            // `n` exactly when `n < rest.len()`. The leader failed after
            // this run of blobs, so step 4 takes them one after another:
            // take the whole run at once (the last one only if text remains).
            if let Some(mut n) = blob(rest, 0)
                && n < rest.len()
            {
                while let Some(m) = blob(rest, n) {
                    if m >= rest.len() {
                        break;
                    }
                    n = m;
                }
                start += n;
                continue;
            }
            break;
        }
        // Step 6: [fwd: ...].
        let rest = &s[start..];
        if rest.len() >= 6
            && rest.as_bytes()[..5].eq_ignore_ascii_case(b"[fwd:")
            && rest.ends_with(']')
        {
            s = rest[5..rest.len() - 1].to_string();
            start = 0;
            reply = true;
            continue;
        }
        return (s[start..].to_string(), reply);
    }
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP` at `at`: the offset after it.
fn blob(s: &str, at: usize) -> Option<usize> {
    let b = s.as_bytes();
    if b.get(at) != Some(&b'[') {
        return None;
    }
    let close = at + 1 + b[at + 1..].iter().position(|&c| c == b']' || c == b'[')?;
    if b[close] != b']' {
        return None;
    }
    Some(skip_wsp(b, close + 1))
}

fn skip_wsp(b: &[u8], mut i: usize) -> usize {
    while b.get(i) == Some(&b' ') {
        i += 1;
    }
    i
}

/// `subj-leader = (*subj-blob subj-refwd) / WSP`: its length, and whether
/// it was a reply/forward marker.
fn leader(s: &str) -> Option<(usize, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(n) = blob(s, i) {
        i = n;
    }
    if let Some(n) = refwd(b, i) {
        return Some((n, true));
    }
    (b.first() == Some(&b' ')).then_some((1, false))
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"`.
fn refwd(b: &[u8], at: usize) -> Option<usize> {
    let lower = |i: usize| b.get(i).map(u8::to_ascii_lowercase);
    let mut i = at;
    match (lower(i), lower(i + 1)) {
        (Some(b'r'), Some(b'e')) => i += 2,
        (Some(b'f'), Some(b'w')) => {
            i += 2;
            if lower(i) == Some(b'd') {
                i += 1;
            }
        }
        _ => return None,
    }
    i = skip_wsp(b, i);
    if b.get(i) == Some(&b'[') {
        // The blob is optional: try with it, then without.
        let s = std::str::from_utf8(b).ok()?;
        if let Some(n) = blob(s, i)
            && b.get(n) == Some(&b':')
        {
            return Some(n + 1);
        }
    }
    (b.get(i) == Some(&b':')).then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases = [
            ("Hello", "Hello", false),
            ("Re: Hello", "Hello", true),
            ("RE: re: Hello", "Hello", true),
            ("Fwd: Hello", "Hello", true),
            ("FW: Hello", "Hello", true),
            ("Re[2]: Hello", "Hello", true),
            ("Re [2]: Hello", "Hello", true),
            ("[list] Re: Hello", "Hello", true),
            ("[list] Hello", "Hello", false),
            ("[list]", "[list]", false),
            ("[a][b] Hello", "Hello", false),
            ("Hello (fwd)", "Hello", true),
            ("Hello (FWD) (fwd)  ", "Hello", true),
            ("[Fwd: Re: Hello]", "Hello", true),
            ("[fwd: [fwd: Hello]]", "Hello", true),
            ("  Hello \t  world  ", "Hello world", false),
            ("Re:Hello", "Hello", true),
            ("Reply: Hello", "Reply: Hello", false),
            ("Re: ", "", true),
            ("", "", false),
            ("Re: [x]", "[x]", true),
            ("Re: café", "café", true),
            ("Ré: x", "Ré: x", false),
            ("[unclosed Re: x", "[unclosed Re: x", false),
            ("Grüße (fwd)", "Grüße", true),
            ("x é(fwd)", "x é", true),
            ("[fwd:é]", "é", true),
            ("[fwdé]", "[fwdé]", false),
        ];
        for (input, want, reply) in cases {
            assert_eq!(
                base_subject_ext(input),
                (want.to_string(), reply),
                "{input:?}"
            );
        }
    }

    #[test]
    fn long_input_terminates() {
        let s = "Re: ".repeat(10_000) + &"[x]".repeat(10_000) + "y";
        assert_eq!(base_subject(&s), "y");
    }
}
