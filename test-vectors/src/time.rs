//! UTC timestamps as epoch seconds, with the few formats CloudTrail uses.
//!
//! The generator needs no time zones, leap seconds or parsing of arbitrary
//! input, so a tiny civil-calendar conversion is used instead of a date crate.

use anyhow::{bail, Context, Result};

/// Seconds since 1970-01-01T00:00:00Z.
pub type Time = i64;

/// One minute in seconds.
pub const MINUTE: Time = 60;
/// One hour in seconds.
pub const HOUR: Time = 3600;
/// One day in seconds.
pub const DAY: Time = 86_400;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Calendar fields (year, month, day, hour, minute, second) of `t`.
fn fields(t: Time) -> (i64, i64, i64, i64, i64, i64) {
    let (y, mo, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    (y, mo, d, s / HOUR, (s % HOUR) / MINUTE, s % MINUTE)
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`.
pub fn parse(s: &str) -> Result<Time> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        bail!("not a YYYY-MM-DDTHH:MM:SSZ time: {s:?}");
    }
    let num = |r: std::ops::Range<usize>| -> Result<i64> {
        s[r].parse::<i64>().with_context(|| format!("bad number in time {s:?}"))
    };
    let days = days_from_civil(num(0..4)?, num(5..7)?, num(8..10)?);
    Ok(days * DAY + num(11..13)? * HOUR + num(14..16)? * MINUTE + num(17..19)?)
}

/// `YYYY-MM-DDTHH:MM:SSZ`, the form of every time inside digests.
pub fn iso(t: Time) -> String {
    let (y, mo, d, h, mi, s) = fields(t);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// `YYYYMMDDTHHMMSSZ`, the timestamp in a digest key.
pub fn digest_stamp(t: Time) -> String {
    let (y, mo, d, h, mi, s) = fields(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{s:02}Z")
}

/// `YYYYMMDDTHHMMZ`, the minute-precision timestamp in a log key.
pub fn log_stamp(t: Time) -> String {
    let (y, mo, d, h, mi, _) = fields(t);
    format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}Z")
}

/// `YYYY/MM/DD`, the date folders of digest and log keys.
pub fn date_path(t: Time) -> String {
    let (y, mo, d, _, _, _) = fields(t);
    format!("{y:04}/{mo:02}/{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let t = parse("2024-03-01T00:17:28Z").unwrap();
        assert_eq!(t, 1_709_252_248);
        assert_eq!(iso(t), "2024-03-01T00:17:28Z");
        assert_eq!(digest_stamp(t), "20240301T001728Z");
        assert_eq!(log_stamp(t), "20240301T0017Z");
        assert_eq!(date_path(t - DAY), "2024/02/29");
        assert_eq!(iso(parse("1970-01-01T00:00:00Z").unwrap()), "1970-01-01T00:00:00Z");
    }
}
