//! One harness per parser of untrusted input. Each must never panic on any
//! input; the assertions below are properties that hold by construction of
//! the parser (a failure is a bug in the core, not in the harness).

use crate::{chunks, flate2_member, gz};
use ctverify_core::compat::parse_py_date;
use ctverify_core::digest::Digest;
use ctverify_core::gzip::{gunzip, GzipDecoder, GzipEnd, GzipError};
use ctverify_core::keys::{KeyLookup, Keyring};
use ctverify_core::layout::{collapse_slashes, safe_segments, ChainId, DigestKeyName, LogKeyName};
use ctverify_core::logs::{LogHasher, LogJudgement};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{Metadata, Options, TrailFilter};
use md5::Md5;
use sha2::{Digest as _, Sha256};

/// An inflated-size limit no fuzz input can reach (libFuzzer inputs are a
/// few KiB; deflate expands at most about 1032:1), so that the whole-buffer
/// and the streamed decoding can be compared exactly.
const NO_LIMIT: u64 = 1 << 40;

/// Text for the string parsers: invalid UTF-8 is replaced, not skipped, so
/// every input reaches them.
fn text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(data)
}

/// `core::gzip`. Input: one chunking byte (see [`chunks`]), then the object.
///
/// - [`GzipDecoder`] fed in fuzzer-chosen pieces gives exactly what
///   [`gunzip`] gives over the whole buffer (output, end, or error);
/// - with a small limit, the result is the unlimited one when the output
///   fits, else [`GzipError::TooLarge`] with that limit;
/// - a complete member is one flate2's gzip reader decodes to the same
///   bytes, with the same number of bytes after it.
pub fn gzip(data: &[u8]) {
    let Some((&seed, object)) = data.split_first() else {
        return;
    };
    let whole = gunzip(object, NO_LIMIT);

    let mut dec = GzipDecoder::new(NO_LIMIT);
    let mut out = Vec::new();
    let mut error = None;
    for piece in chunks(object, seed) {
        if let Err(e) = dec.update(piece, &mut |p| out.extend_from_slice(p)) {
            error = Some(e);
            break;
        }
        assert_eq!(
            dec.inflated(),
            out.len() as u64,
            "inflated() counts what was handed out"
        );
    }
    let streamed = match error {
        Some(e) => Err(e),
        None => Ok((out, dec.finish())),
    };
    match (&whole, &streamed) {
        (Ok(w), Ok(s)) => assert!(w == s, "chunking changed the output or end: {:?} vs {:?}", w.1, s.1),
        (Err(w), Err(s)) => assert_eq!(w, s, "chunking changed the error"),
        _ => panic!(
            "chunking changed the outcome: whole {:?}, streamed {:?}",
            whole.as_ref().map(|r| r.1),
            streamed.as_ref().map(|r| r.1)
        ),
    }

    let limit = u64::from(seed) * 61;
    let limited = gunzip(object, limit);
    match (&whole, &limited) {
        (Ok((out, _)), _) if out.len() as u64 <= limit => {
            assert!(limited == whole, "a limit the output fits changed the result")
        }
        (Ok(_), Err(GzipError::TooLarge(l))) => assert_eq!(*l, limit),
        (Ok(_), _) => panic!("output beyond the limit was not stopped"),
        (Err(_), Ok((out, _))) => panic!("a limit hid an error ({} bytes out)", out.len()),
        (Err(_), Err(_)) => {}
    }

    if let Ok((out, GzipEnd::Complete { trailing })) = &whole {
        let Some((reference, after)) = flate2_member(object) else {
            panic!("a member ctverify calls complete is rejected by flate2's gzip reader");
        };
        assert!(&reference == out, "flate2 inflates the member to other bytes");
        assert_eq!(after as u64, *trailing, "trailing byte count differs from flate2's");
    }
}

/// `Digest::parse_inflated` and `Digest::parse_object` over the input.
///
/// A parsed digest's `raw_sha256` is the SHA-256 of the bytes as given
/// (never re-serialized), its times are consistent, its fingerprint is 32
/// lowercase hex digits; and the same bytes gzip-compressed parse to exactly
/// the same result through `parse_object`.
pub fn digest_json(data: &[u8]) {
    let _ = Digest::parse_object(data);
    let parsed = Digest::parse_inflated(data);
    if let Ok(d) = &parsed {
        assert_eq!(d.raw_sha256, <[u8; 32]>::from(Sha256::digest(data)));
        assert!(d.start <= d.end);
        assert_eq!(Timestamp::parse_digest_time(&d.end_text), Some(d.end));
        assert!(d.fingerprint.len() == 32 && d.fingerprint.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
        if let Some(p) = &d.previous {
            assert!(p.signature_hex.len() % 2 == 0 && hex::decode(&p.signature_hex).is_ok());
        }
    }
    assert!(
        Digest::parse_object(&gz(data)) == parsed,
        "parse_object(gzip(x)) differs from parse_inflated(x)"
    );
}

/// `Keyring::add_file` over the input.
///
/// Every key the keyring accepts is registered under the MD5 of its DER
/// bytes (a listed fingerprint is never trusted), the count returned is the
/// number of keys added, and each key is found by its own fingerprint,
/// region and validity start.
pub fn key_file(data: &[u8]) {
    let mut ring = Keyring::new();
    match ring.add_file("fuzz", data) {
        Ok(n) => assert_eq!(n, ring.len()),
        Err(_) => assert!(ring.is_empty(), "a rejected file added keys"),
    }
    for e in ring.entries() {
        assert_eq!(
            e.fingerprint,
            hex::encode(Md5::digest(&e.der)),
            "fingerprint is not the MD5 of the DER"
        );
        let region = e.region.as_deref().unwrap_or("us-east-1");
        let at = e.valid_from.or(e.valid_to).unwrap_or(Timestamp::from_unix(0));
        let consistent = match (e.valid_from, e.valid_to) {
            (Some(f), Some(t)) => f <= t,
            _ => true,
        };
        match ring.lookup(&e.fingerprint.to_ascii_uppercase(), region, at) {
            KeyLookup::Found(k) => assert_eq!(k.fingerprint, e.fingerprint),
            _ if consistent => panic!("key {} not found at its own validity time", e.fingerprint),
            _ => {}
        }
    }
}

/// `Metadata::from_sidecar` over the input: never `Absent` (a sidecar
/// exists), names are lowercase, anything over 1 MiB is `Unreadable`.
pub fn metadata_sidecar(data: &[u8]) {
    match Metadata::from_sidecar(data) {
        Metadata::Present(map) => {
            assert!(data.len() <= 1024 * 1024);
            for name in map.keys() {
                assert!(
                    !name.bytes().any(|b| b.is_ascii_uppercase()),
                    "name {name:?} not lowercased"
                );
            }
        }
        Metadata::Unreadable(_) => {}
        Metadata::Absent => panic!("a sidecar that exists parsed as Absent"),
    }
}

/// `DigestKeyName::parse`, `LogKeyName::parse`, `safe_segments` and
/// `collapse_slashes` over the input as a key.
///
/// - a key is never both a digest and a log key;
/// - a parsed digest key's chain names it again: `chain.digest_key(time)`
///   parses back to the same chain and time (this is how missing digests
///   are named), and lies in the chain's digest folder;
/// - a parsed log key lies in its folder;
/// - `collapse_slashes` is idempotent and leaves no empty segment;
/// - `safe_segments` accepts exactly the keys without NUL, backslash, `.` or
///   `..` segment and with at least one segment, and its segments joined
///   are the collapsed key.
pub fn object_keys(data: &[u8]) {
    let key = text(data);
    let key = key.as_ref();
    let collapsed = collapse_slashes(key);
    assert_eq!(collapse_slashes(&collapsed), collapsed);
    assert!(!collapsed.starts_with('/') && !collapsed.ends_with('/') && !collapsed.contains("//"));

    let digest = DigestKeyName::parse(key);
    let log = LogKeyName::parse(key);
    assert!(digest.is_none() || log.is_none(), "both a digest and a log key");
    if let Some(d) = &digest {
        let again = d.chain.digest_key(d.time);
        let reparsed = DigestKeyName::parse(&again);
        assert!(
            reparsed
                .as_ref()
                .is_some_and(|r| r.chain == d.chain && r.time == d.time && !r.backfill),
            "digest_key() of a parsed key does not parse back: {again:?}"
        );
        assert!(collapsed.starts_with(&collapse_slashes(&d.chain.digest_folder())));
    }
    if let Some(l) = &log {
        assert!(l.folder.ends_with('/'));
        assert!(collapsed.starts_with(&collapse_slashes(&l.folder)));
    }

    let unsafe_text = key.contains('\0') || key.contains('\\');
    let dot_segment = collapsed.split('/').any(|s| s == "." || s == "..");
    match safe_segments(key) {
        Some(segs) => {
            assert!(!unsafe_text && !dot_segment && !collapsed.is_empty());
            assert!(segs.iter().all(|s| !s.is_empty() && !s.contains('/')));
            assert_eq!(segs.join("/"), collapsed);
        }
        None => assert!(unsafe_text || dot_segment || collapsed.is_empty(), "safe key rejected"),
    }
}

/// `Timestamp::parse_user`, `parse_digest_time`, `parse_key_form`,
/// `parse_log_key_form` (and the compat `parse_py_date`) over the input.
///
/// Each strict form prints back to the text it was parsed from, and a
/// digest time is also a valid user time with the same value.
pub fn times(data: &[u8]) {
    let s = text(data);
    let s = s.as_ref();
    // Regression: fuzz/artifacts-found/times/pydate-clock-overflow (fixed).
    let _ = parse_py_date(s, Timestamp::from_unix(1_700_000_000));
    if let Ok(t) = Timestamp::parse_user(s) {
        let _ = (t.to_string(), t.key_form(), t.date_folders(), t.civil());
    }
    if let Some(t) = Timestamp::parse_digest_time(s) {
        assert_eq!(Timestamp::parse_digest_time(&t.to_string()), Some(t));
        assert_eq!(Timestamp::parse_key_form(&t.key_form()), Some(t));
        assert_eq!(
            Timestamp::parse_user(s).ok(),
            Some(t),
            "a digest time is not the same user time"
        );
    }
    if let Some(t) = Timestamp::parse_key_form(s) {
        assert_eq!(t.key_form(), s);
    }
    if let Some(t) = Timestamp::parse_log_key_form(s) {
        let full = t.key_form();
        assert_eq!(format!("{}Z", &full[..13]), s);
    }
}

/// `TrailFilter::from_arn` over the input. A parsed ARN has a 12-digit
/// account and a non-empty name without `/`; rebuilt as
/// `arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME` it parses to the same
/// filter, and the filter selects that trail's chains.
pub fn arn(data: &[u8]) {
    let s = text(data);
    let Some(f) = TrailFilter::from_arn(&s) else {
        return;
    };
    assert!(f.account.len() == 12 && f.account.bytes().all(|b| b.is_ascii_digit()));
    assert!(!f.name.is_empty() && !f.name.contains('/') && !f.home_region.is_empty());
    let rebuilt = format!("arn:aws:cloudtrail:{}:{}:trail/{}", f.home_region, f.account, f.name);
    assert_eq!(TrailFilter::from_arn(&rebuilt).as_ref(), Some(&f));
    let chain = ChainId {
        prefix: String::new(),
        org: None,
        account: f.account.clone(),
        region: "us-east-1".into(),
        trail: f.name.clone(),
        home_region: f.home_region.clone(),
    };
    let mut opts = Options::new(Timestamp::from_unix(0));
    opts.trail = Some(f);
    assert!(opts.selects(&chain), "the filter does not select its own trail");
}

/// `logs::LogHasher`. Input: one chunking byte (see [`chunks`]), then the
/// object.
///
/// Fed in pieces it gives the same end, hash and size as fed whole; it
/// judges `Valid` exactly a complete member with nothing after it whose
/// hash is the expected one (never against another hash), and then the hash
/// is the SHA-256 of what `gunzip` inflates. A hasher with a small limit
/// that fails judges the log malformed or over budget.
pub fn log_hasher(data: &[u8]) {
    let Some((&seed, object)) = data.split_first() else {
        return;
    };
    // The default budget's ratio is checked as the input streams in, so
    // near its edge the chunking may decide it: then the log is over budget
    // (unverifiable), never judged otherwise.
    let mut h = LogHasher::new();
    for piece in chunks(object, seed) {
        h.update(piece);
    }
    let budgeted = h.finish();
    if !matches!(budgeted.judge(&[0; 32]), LogJudgement::OverBudget(_)) {
        let mut h = LogHasher::new();
        h.update(object);
        let whole = h.finish();
        if !matches!(whole.judge(&[0; 32]), LogJudgement::OverBudget(_)) {
            assert_eq!(budgeted.end, whole.end, "chunking changed how the stream ended");
        }
    }
    // Without a ratio, chunking changes nothing.
    let mut h = LogHasher::with_limit(NO_LIMIT);
    for piece in chunks(object, seed) {
        h.update(piece);
    }
    let chunked = h.finish();
    let mut h = LogHasher::with_limit(NO_LIMIT);
    h.update(object);
    let whole = h.finish();

    assert_eq!(chunked.compressed, object.len() as u64);
    assert_eq!(chunked.end, whole.end, "chunking changed how the stream ended");
    if chunked.end.is_ok() {
        assert_eq!(chunked.sha256, whole.sha256);
        assert_eq!(chunked.inflated, whole.inflated);
    }
    let clean = matches!(chunked.end, Ok(GzipEnd::Complete { trailing: 0 }));
    assert_eq!(chunked.judge(&chunked.sha256) == LogJudgement::Valid, clean);
    let mut other = chunked.sha256;
    other[0] ^= 1;
    assert_ne!(chunked.judge(&other), LogJudgement::Valid);
    if clean {
        let inflated = gunzip(object, NO_LIMIT).map(|r| r.0);
        let sha = inflated.as_deref().map(|b| <[u8; 32]>::from(Sha256::digest(b)));
        assert_eq!(sha.ok(), Some(chunked.sha256), "hash differs from SHA-256 of gunzip");
    }

    let mut small = LogHasher::with_limit(u64::from(seed) * 61);
    for piece in chunks(object, seed.rotate_left(3)) {
        small.update(piece);
    }
    if small.failed() {
        assert!(matches!(
            small.finish().judge(&[0; 32]),
            LogJudgement::Malformed(_) | LogJudgement::OverBudget(_)
        ));
    }
}
