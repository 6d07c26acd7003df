//! UTC instants without a clock.
//!
//! The core never reads the current time: callers pass "now" in (see
//! [`crate::verify::Options::now`]). This module only parses and formats.

use std::fmt;

/// An instant in UTC, in whole seconds since the Unix epoch.
///
/// CloudTrail writes every digest time to the second (`YYYY-MM-DDTHH:MM:SSZ`),
/// so sub-second precision is dropped on input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// One hour, the CloudTrail digest cadence, in seconds.
pub const HOUR: i64 = 3600;

/// Reasons a time string is rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unable to parse time {0:?} (expected RFC 3339, e.g. 2024-01-01T00:00:00Z or 2024-01-01)")]
pub struct TimeParseError(pub String);

impl Timestamp {
    /// The instant `secs` seconds after 1970-01-01T00:00:00Z.
    pub const fn from_unix(secs: i64) -> Self {
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub const fn unix(self) -> i64 {
        self.0
    }

    /// This instant moved by `secs` seconds (saturating).
    pub const fn add_secs(self, secs: i64) -> Self {
        Timestamp(self.0.saturating_add(secs))
    }

    /// Parses the exact digest form `YYYY-MM-DDTHH:MM:SSZ` (an optional
    /// fraction of a second is accepted and dropped). Anything else is `None`:
    /// digest fields are machine-written, so leniency would only hide tampering.
    pub fn parse_digest_time(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() < 20 || b[b.len() - 1] != b'Z' {
            return None;
        }
        let (date, rest) = parse_date(b)?;
        let rest = rest.strip_prefix(b"T")?;
        let (secs, rest) = parse_clock(rest)?;
        let rest = skip_fraction(rest);
        if rest != b"Z" {
            return None;
        }
        Some(Timestamp(date * 86_400 + secs))
    }

    /// Parses a user-given time: RFC 3339 / ISO 8601 (`2024-01-01T00:00:00Z`,
    /// `2024-01-01T05:30:00+05:30`, `2024-01-01 00:00`, `2024-01-01`).
    /// An offset is converted to UTC; no offset means UTC.
    pub fn parse_user(s: &str) -> Result<Self, TimeParseError> {
        let err = || TimeParseError(s.to_string());
        let b = s.trim().as_bytes();
        let (days, rest) = parse_date(b).ok_or_else(err)?;
        if rest.is_empty() {
            return Ok(Timestamp(days * 86_400));
        }
        let rest = match rest.first() {
            Some(b'T' | b't' | b' ') => &rest[1..],
            _ => return Err(err()),
        };
        let (secs, rest) = parse_clock_lenient(rest).ok_or_else(err)?;
        let rest = skip_fraction(rest);
        let offset = match rest {
            b"" | b"Z" | b"z" => 0,
            [sign @ (b'+' | b'-'), tail @ ..] => {
                let (h, m) = match tail {
                    [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => {
                        (two(*h1, *h2).ok_or_else(err)?, two(*m1, *m2).ok_or_else(err)?)
                    }
                    [h1, h2] => (two(*h1, *h2).ok_or_else(err)?, 0),
                    _ => return Err(err()),
                };
                if h > 23 || m > 59 {
                    return Err(err());
                }
                let o = h * HOUR + m * 60;
                if *sign == b'+' {
                    o
                } else {
                    -o
                }
            }
            _ => return Err(err()),
        };
        Ok(Timestamp(days * 86_400 + secs - offset))
    }

    /// `(year, month, day, hour, minute, second)` of this instant.
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        (
            y,
            m,
            d,
            (secs / 3600) as u32,
            ((secs % 3600) / 60) as u32,
            (secs % 60) as u32,
        )
    }

    /// `YYYYMMDDTHHMMSSZ`, the form used in digest object names.
    pub fn key_form(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
    }

    /// `YYYY/MM/DD`, the date folders of an object key.
    pub fn date_folders(self) -> String {
        let (y, mo, d, ..) = self.civil();
        format!("{y:04}/{mo:02}/{d:02}")
    }

    /// Parses the `YYYYMMDDTHHMMSSZ` form of digest object names.
    pub fn parse_key_form(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
            return None;
        }
        let y = digits(&b[0..4])?;
        let mo = digits(&b[4..6])?;
        let d = digits(&b[6..8])?;
        let h = digits(&b[9..11])?;
        let mi = digits(&b[11..13])?;
        let s = digits(&b[13..15])?;
        let days = checked_days(y, mo, d)?;
        if h > 23 || mi > 59 || s > 59 {
            return None;
        }
        Some(Timestamp(days * 86_400 + h * 3600 + mi * 60 + s))
    }

    /// Parses the minute-precision `YYYYMMDDTHHMMZ` form of log object names.
    pub fn parse_log_key_form(s: &str) -> Option<Self> {
        let b = s.as_bytes();
        if b.len() != 14 || b[8] != b'T' || b[13] != b'Z' {
            return None;
        }
        let mut full = String::with_capacity(16);
        full.push_str(&s[..13]);
        full.push_str("00Z");
        Self::parse_key_form(&full)
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SSZ`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, mo, d, h, mi, s) = self.civil();
        write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    /// The forms [`Timestamp::parse_user`] accepts (what `Serialize` writes
    /// among them).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_user(&text).map_err(serde::de::Error::custom)
    }
}

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |a, c| a * 10 + i64::from(c - b'0')))
}

fn two(a: u8, b: u8) -> Option<i64> {
    digits(&[a, b])
}

/// `YYYY-MM-DD` at the start of `b`; returns days since the epoch and the rest.
fn parse_date(b: &[u8]) -> Option<(i64, &[u8])> {
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let days = checked_days(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?)?;
    Some((days, &b[10..]))
}

/// Exactly `HH:MM:SS`.
fn parse_clock(b: &[u8]) -> Option<(i64, &[u8])> {
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, s) = (digits(&b[0..2])?, digits(&b[3..5])?, digits(&b[6..8])?);
    if h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some((h * 3600 + m * 60 + s.min(59), &b[8..]))
}

/// `HH:MM` or `HH:MM:SS`.
fn parse_clock_lenient(b: &[u8]) -> Option<(i64, &[u8])> {
    if b.len() >= 8 && b[5] == b':' {
        return parse_clock(b);
    }
    if b.len() < 5 || b[2] != b':' {
        return None;
    }
    let (h, m) = (digits(&b[0..2])?, digits(&b[3..5])?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((h * 3600 + m * 60, &b[5..]))
}

fn skip_fraction(b: &[u8]) -> &[u8] {
    match b.first() {
        Some(b'.' | b',') => {
            let n = b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                b
            } else {
                &b[1 + n..]
            }
        }
        _ => b,
    }
}

fn checked_days(y: i64, m: i64, d: i64) -> Option<i64> {
    if !(1..=12).contains(&m) || d < 1 || !(1..=9999).contains(&y) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if d > dim[(m - 1) as usize] {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

/// Howard Hinnant's `days_from_civil`.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_time_round_trips() {
        let t = Timestamp::parse_digest_time("2024-03-01T00:17:28Z").unwrap();
        assert_eq!(t.to_string(), "2024-03-01T00:17:28Z");
        assert_eq!(t.key_form(), "20240301T001728Z");
        assert_eq!(t.date_folders(), "2024/03/01");
        assert_eq!(Timestamp::parse_key_form("20240301T001728Z"), Some(t));
        assert_eq!(t.unix(), 1_709_252_248);
    }

    #[test]
    fn digest_time_is_strict() {
        for bad in [
            "2024-03-01 00:17:28Z",
            "2024-03-01T00:17:28",
            "2024-02-30T00:00:00Z",
            "2024-03-01T24:00:00Z",
            "",
            "2024-03-01T00:17:28+00:00",
        ] {
            assert_eq!(Timestamp::parse_digest_time(bad), None, "{bad}");
        }
        assert!(Timestamp::parse_digest_time("2024-03-01T00:17:28.123Z").is_some());
    }

    #[test]
    fn user_time_converts_offsets() {
        let z = Timestamp::parse_user("2024-01-01T00:00:00Z").unwrap();
        assert_eq!(Timestamp::parse_user("2024-01-01").unwrap(), z);
        assert_eq!(Timestamp::parse_user("2024-01-01T05:30:00+05:30").unwrap(), z);
        assert_eq!(Timestamp::parse_user("2023-12-31T19:00-05:00").unwrap(), z);
        assert_eq!(Timestamp::parse_user("2024-01-01 00:00").unwrap(), z);
        assert!(Timestamp::parse_user("yesterday").is_err());
        assert!(Timestamp::parse_user("2024-13-01").is_err());
    }

    #[test]
    fn log_key_form() {
        let t = Timestamp::parse_log_key_form("20240301T0035Z").unwrap();
        assert_eq!(t.to_string(), "2024-03-01T00:35:00Z");
    }

    #[test]
    fn civil_round_trip_many_days() {
        for d in (-800_000..800_000).step_by(997) {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, i64::from(m), i64::from(dd)), d);
        }
    }
}
