//! IMAP dates, RFC 9051 section 9: `date` (SEARCH BEFORE/ON/SINCE,
//! `dd-Mon-yyyy`, the day with one or two digits, optionally quoted) and
//! `date-time` (INTERNALDATE and APPEND, `"dd-Mon-yyyy hh:mm:ss +zzzz"`,
//! the day space-padded or two digits).

use chrono::{DateTime, FixedOffset, NaiveDate, Offset, TimeZone, Utc};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn month(s: &str) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(s))
        .map(|i| i as u32 + 1)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

fn digits(s: &str, min: usize, max: usize) -> Option<u32> {
    (s.len() >= min && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses a search `date` (`1-Feb-1994`, `"01-feb-1994"`).
pub fn parse_imap_date(s: &str) -> Option<NaiveDate> {
    let mut it = unquote(s).split('-');
    let day = digits(it.next()?, 1, 2)?;
    let m = month(it.next()?)?;
    let year = digits(it.next()?, 4, 4)?;
    if it.next().is_some() {
        return None;
    }
    NaiveDate::from_ymd_opt(year as i32, m, day)
}

/// Parses a `date-time` (`"17-Jul-1996 02:44:25 -0700"`, quotes optional)
/// into Unix seconds.
pub fn parse_date_time(s: &str) -> Option<i64> {
    let s = unquote(s);
    if s.len() != 26 || !s.is_ascii() {
        return None;
    }
    let day = digits(s[..2].trim_start_matches(' '), 1, 2)?;
    if &s[2..3] != "-" || &s[6..7] != "-" || &s[11..12] != " " || &s[20..21] != " " {
        return None;
    }
    let m = month(&s[3..6])?;
    let year = digits(&s[7..11], 4, 4)?;
    let (h, mi, sec) = (
        digits(&s[12..14], 2, 2)?,
        digits(&s[15..17], 2, 2)?,
        digits(&s[18..20], 2, 2)?,
    );
    if &s[14..15] != ":" || &s[17..18] != ":" {
        return None;
    }
    let sign = match &s[21..22] {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let (zh, zm) = (digits(&s[22..24], 2, 2)?, digits(&s[24..26], 2, 2)?);
    if zm > 59 {
        return None;
    }
    let offset = FixedOffset::east_opt(sign * (zh as i32 * 3600 + zm as i32 * 60))?;
    let date = NaiveDate::from_ymd_opt(year as i32, m, day)?.and_hms_opt(h, mi, sec)?;
    offset
        .from_local_datetime(&date)
        .single()
        .map(|d| d.timestamp())
}

/// Formats an INTERNALDATE in UTC: `"dd-Mon-yyyy hh:mm:ss +0000"` without
/// the quotes (the day space-padded, as `date-day-fixed` allows).
pub fn format_internal_date(unix: i64) -> String {
    format_internal_date_in(unix, 0)
}

/// Formats an INTERNALDATE at a fixed offset east of UTC, in seconds.
pub fn format_internal_date_in(unix: i64, offset_secs: i32) -> String {
    let offset = FixedOffset::east_opt(offset_secs).unwrap_or_else(|| Utc.fix());
    let dt: DateTime<FixedOffset> = match DateTime::from_timestamp(unix, 0) {
        Some(d) => d.with_timezone(&offset),
        None => DateTime::from_timestamp(0, 0)
            .unwrap_or_default()
            .with_timezone(&offset),
    };
    dt.format("%e-%b-%Y %H:%M:%S %z").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_dates() {
        assert_eq!(
            parse_imap_date("1-Feb-1994"),
            NaiveDate::from_ymd_opt(1994, 2, 1)
        );
        assert_eq!(
            parse_imap_date("\"01-feb-1994\""),
            NaiveDate::from_ymd_opt(1994, 2, 1)
        );
        for bad in [
            "",
            "1-Foo-1994",
            "31-Feb-1994",
            "1-Feb-94",
            "001-Feb-1994",
            "1-Feb-1994-x",
            "x-Feb-1994",
        ] {
            assert_eq!(parse_imap_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn date_times() {
        assert_eq!(
            parse_date_time("\"17-Jul-1996 02:44:25 -0700\""),
            Some(837_596_665)
        );
        assert_eq!(
            parse_date_time(" 7-Jul-1996 02:44:25 +0000"),
            Some(836_707_465)
        );
        for bad in [
            "17-Jul-1996 02:44:25",
            "17-Jul-1996 25:44:25 -0700",
            "17-Jul-1996 02:44:25 *0700",
            "17-Jul-1996 02:44:25 -0760",
            "17-Jxl-1996 02:44:25 -0700",
            "17-Jul-1996T02:44:25 -0700",
            "17-Jul-1996 02:44:25 -07000",
            "17-Jul-1996 02:44:25 -07é",
        ] {
            assert_eq!(parse_date_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn internal_date_formats_and_round_trips() {
        assert_eq!(
            format_internal_date(837_596_665),
            "17-Jul-1996 09:44:25 +0000"
        );
        assert_eq!(
            format_internal_date(836_707_465),
            " 7-Jul-1996 02:44:25 +0000"
        );
        assert_eq!(
            format_internal_date_in(837_596_665, -7 * 3600),
            "17-Jul-1996 02:44:25 -0700"
        );
        for t in [0, 1_700_000_000, 4_000_000_000] {
            assert_eq!(parse_date_time(&format_internal_date(t)), Some(t));
        }
        // Out of range timestamps do not panic.
        let _ = format_internal_date(i64::MAX);
    }
}
