//! Parsers of user- and attacker-controlled text never panic: random strings
//! over an alphabet of structural characters, digits, letters and
//! multi-byte characters (byte-index slicing bugs show up there).

mod common;
use common::Rng;
#[cfg(feature = "compat")]
use ctverify_core::compat::parse_py_date;
use ctverify_core::digest::Digest;
use ctverify_core::keys::Keyring;
use ctverify_core::layout::{safe_segments, DigestKeyName, LogKeyName};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{Metadata, TrailFilter};

const ALPHABET: &[&str] = &[
    "0",
    "1",
    "2",
    "9",
    "-",
    ":",
    "T",
    "Z",
    "+",
    ".",
    "/",
    "_",
    " ",
    "é",
    "ü",
    "日",
    "🙂",
    "a",
    "o-",
    "AWSLogs",
    "CloudTrail-Digest",
    "CloudTrail",
    "111122223333",
    "us-east-1",
    ".json.gz",
    "_backfill",
    "20240301T011728Z",
    "arn",
    "cloudtrail",
    "trail/",
    "\n",
    "..",
    "{",
    "}",
    "[",
    "]",
    "\"",
    ",",
    "\\",
    "\0",
];

fn random_text(rng: &mut Rng) -> String {
    let n = rng.next() % 24;
    (0..n)
        .map(|_| ALPHABET[(rng.next() % ALPHABET.len() as u64) as usize])
        .collect()
}

#[test]
fn text_parsers_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    #[cfg(feature = "compat")]
    let today = Timestamp::from_unix(1_700_000_000);
    for _ in 0..200_000 {
        let s = random_text(&mut rng);
        #[cfg(feature = "compat")]
        let _ = parse_py_date(&s, today);
        let _ = Timestamp::parse_user(&s);
        let _ = Timestamp::parse_digest_time(&s);
        let _ = Timestamp::parse_key_form(&s);
        let _ = Timestamp::parse_log_key_form(&s);
        let _ = TrailFilter::from_arn(&s);
        let _ = DigestKeyName::parse(&s);
        let _ = LogKeyName::parse(&s);
        let _ = safe_segments(&s);
        let _ = Metadata::from_sidecar(s.as_bytes());
        let _ = Digest::parse_inflated(s.as_bytes());
        let _ = Keyring::new().add_file("fuzz", s.as_bytes());
    }
}
