//! The date handling of aws-cli's `validate-logs`: `dateutil.parser.parse`
//! for the forms people and CloudTrail write, `normalize_date` (the UTC
//! offset is *discarded*, not converted), and the display formats.

use crate::time::Timestamp;

/// `dateutil.parser.parse` + `normalize_date`: the wall-clock time written,
/// taken as UTC. `today` fills a missing date (dateutil's default).
/// Fractions of a second are dropped.
pub fn parse(s: &str, today: Timestamp) -> Option<Timestamp> {
    let t = s.trim();
    // Strip a zone designator; its offset is discarded by normalize_date.
    let body = strip_zone(t)?;
    let (date, time) = match body.find(['T', 't', ' ']) {
        Some(i) if looks_like_date(&body[..i]) => (Some(&body[..i]), Some(body[i + 1..].trim_start())),
        _ if looks_like_date(body) => (Some(body), None),
        _ => (None, Some(body)),
    };
    let days = match date {
        Some(d) => parse_date(d)?,
        None => today.unix().div_euclid(86_400),
    };
    let secs = match time {
        None | Some("") => 0,
        Some(tm) => parse_clock(tm)?,
    };
    Some(Timestamp::from_unix(days * 86_400 + secs))
}

/// `%Y-%m-%dT%H:%M:%SZ`.
pub fn display(t: Timestamp) -> String {
    t.to_string()
}

fn strip_zone(t: &str) -> Option<&str> {
    for z in ["Z", "z", " UTC", " GMT", "UTC", "GMT"] {
        if let Some(b) = t.strip_suffix(z) {
            return Some(b.trim_end());
        }
    }
    // ±HH:MM, ±HHMM, ±HH after a time (a '-' inside the date is not a zone).
    let bytes = t.as_bytes();
    if let Some(pos) = t.rfind(['+', '-']) {
        let tail = &t[pos + 1..];
        let has_time = t[..pos].contains(':') || t[..pos].contains(['T', 't']);
        let digits = tail.bytes().filter(u8::is_ascii_digit).count();
        let shape_ok = matches!(tail.len(), 2 | 4 | 5) && (tail.len() != 5 || bytes.get(pos + 3) == Some(&b':'));
        if has_time && shape_ok && (digits == 2 || digits == 4) {
            return Some(t[..pos].trim_end());
        }
    }
    Some(t)
}

fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-') || (b.len() == 8 && b.iter().all(u8::is_ascii_digit))
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn parse_date(d: &str) -> Option<i64> {
    let (y, m, dd) = if d.len() == 10 {
        (&d[0..4], &d[5..7], &d[8..10])
    } else {
        (&d[0..4], &d[4..6], &d[6..8])
    };
    let text = format!("{}{}{}T000000Z", y, m, dd);
    Timestamp::parse_key_form(&text).map(|t| t.unix().div_euclid(86_400))
}

fn parse_clock(tm: &str) -> Option<i64> {
    if !tm.is_ascii() {
        return None;
    }
    let tm = match tm.find(['.', ',']) {
        Some(i) if tm[i + 1..].bytes().all(|b| b.is_ascii_digit()) && i + 1 < tm.len() => &tm[..i],
        Some(_) => return None,
        None => tm,
    };
    let (h, m, s) = if tm.contains(':') {
        let parts: Vec<&str> = tm.split(':').collect();
        match parts.as_slice() {
            [h, m] => (num(h)?, num(m)?, 0),
            [h, m, s] => (num(h)?, num(m)?, num(s)?),
            _ => return None,
        }
    } else {
        match tm.len() {
            2 => (num(tm)?, 0, 0),
            4 => (num(&tm[0..2])?, num(&tm[2..4])?, 0),
            6 => (num(&tm[0..2])?, num(&tm[2..4])?, num(&tm[4..6])?),
            _ => return None,
        }
    };
    (h < 24 && m < 60 && s < 60).then(|| h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse(s, Timestamp::parse_user("2030-06-15").unwrap()).map(|t| t.to_string())
    }

    #[test]
    fn forms() {
        assert_eq!(p("2024-01-01T00:17:28Z").as_deref(), Some("2024-01-01T00:17:28Z"));
        assert_eq!(p("2024-01-01").as_deref(), Some("2024-01-01T00:00:00Z"));
        assert_eq!(p("20240101T001728Z").as_deref(), Some("2024-01-01T00:17:28Z"));
        assert_eq!(p("2024-01-01 10:00").as_deref(), Some("2024-01-01T10:00:00Z"));
        assert_eq!(p("2024-01-01T00:17:28.75Z").as_deref(), Some("2024-01-01T00:17:28Z"));
        // The offset is discarded, not converted (aws-cli's normalize_date).
        assert_eq!(p("2024-01-01T00:17:28+05:00").as_deref(), Some("2024-01-01T00:17:28Z"));
        assert_eq!(p("2024-01-01T00:17:28-0800").as_deref(), Some("2024-01-01T00:17:28Z"));
        assert_eq!(p("10:30").as_deref(), Some("2030-06-15T10:30:00Z"));
        assert_eq!(p("not a date"), None);
        assert_eq!(p("2024-13-01"), None);
    }

    /// Found by the `times` fuzz target: a clock field of 16+ digits
    /// overflowed while computing seconds before the range check.
    #[test]
    fn huge_clock_field_is_rejected_not_an_overflow() {
        assert_eq!(p("2:1800200333002003332"), None);
    }

    #[test]
    fn never_panics_on_odd_text() {
        for s in [
            "2024-01-01Taé1",
            "é",
            "2024-01-01T",
            "T",
            "+05:00",
            "2024-01-01 é:é",
            "０１:０２",
            "--",
            "2024-01-01T10:00+é",
        ] {
            let _ = p(s);
        }
    }
}
