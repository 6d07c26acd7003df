//! Digest files: strict gunzip, strict JSON field checks, raw bytes kept.
//!
//! The SHA-256 that the signature and the successor's
//! `previousDigestHashValue` cover is taken over the inflated bytes exactly
//! as stored; JSON is parsed only to read values and is never re-serialized
//! (a digest with `\/` escapes would hash differently otherwise).

use crate::gzip::{gunzip, GzipEnd, TruncatedAt};
use crate::time::Timestamp;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// Largest compressed digest object `--compat` reads (aws-cli has no limit).
pub const MAX_DIGEST_OBJECT: u64 = 16 * 1024 * 1024;
/// Largest inflated digest `--compat` accepts.
pub const MAX_DIGEST_INFLATED: u64 = 64 * 1024 * 1024;
/// Largest compressed digest object strict mode reads. Real digests are a
/// few KB (an hour with a thousand log files is about 100 KB).
pub const DIGEST_READ_CAP: u64 = 4 * 1024 * 1024;
/// Largest inflated digest strict mode accepts.
pub const DIGEST_INFLATED_CAP: u64 = 16 * 1024 * 1024;
/// Largest inflation ratio of a digest (plus 64 KiB): real digests, mostly
/// hex hashes and keys, compress less than 10:1. Bounds the parsing work a
/// folder of digest bombs can cause by its size.
pub const DIGEST_MAX_RATIO: u64 = 64;

/// Why a digest object is not a well-formed digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DigestFormatError {
    /// Larger than [`DIGEST_READ_CAP`], or inflating beyond
    /// [`DIGEST_INFLATED_CAP`] or [`DIGEST_MAX_RATIO`] times its size.
    #[error("digest is larger than the {0}-byte limit")]
    TooLarge(u64),
    /// Not gzip, corrupt, or failing its CRC/length check.
    #[error("not a valid gzip stream ({0})")]
    Gzip(String),
    /// The gzip stream stops early.
    #[error("gzip stream is truncated ({0:?})")]
    Truncated(TruncatedAt),
    /// Bytes follow the end of the gzip member.
    #[error("{0} byte(s) of data after the end of the gzip stream")]
    TrailingData(u64),
    /// The inflated bytes are not JSON (or nest too deeply).
    #[error("not JSON: {0}")]
    Json(String),
    /// A required field is absent, or present with the wrong type or form.
    #[error("field {field}: {problem}")]
    Field {
        /// The JSON field name.
        field: String,
        /// What is wrong with it.
        problem: String,
    },
}

/// The previous-digest pointer and link values of a non-starting digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousLink {
    /// `previousDigestS3Bucket`.
    pub bucket: String,
    /// `previousDigestS3Object`.
    pub object: String,
    /// `previousDigestHashValue` (SHA-256 of the previous digest's inflated bytes).
    pub hash: [u8; 32],
    /// `previousDigestSignature`, hex as written.
    pub signature_hex: String,
}

/// One `logFiles` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogFileEntry {
    /// `s3Bucket`.
    pub bucket: String,
    /// `s3Object`.
    pub object: String,
    /// `hashValue`: SHA-256 of the log's uncompressed bytes.
    pub hash: [u8; 32],
}

/// A digest file, parsed. It is only data: whether it is authentic is
/// decided by the signature check, which alone can create a
/// [`crate::verify::Verified`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// SHA-256 of the inflated bytes, as stored.
    pub raw_sha256: [u8; 32],
    /// `awsAccountId`.
    pub account_id: String,
    /// `digestStartTime`.
    pub start: Timestamp,
    /// `digestEndTime` (as written, for the string to sign).
    pub end_text: String,
    /// `digestEndTime`.
    pub end: Timestamp,
    /// `digestS3Bucket`.
    pub s3_bucket: String,
    /// `digestS3Object`.
    pub s3_object: String,
    /// `digestPublicKeyFingerprint`, lowercase.
    pub fingerprint: String,
    /// The previous digest, `None` for a starting (or backfill) digest.
    pub previous: Option<PreviousLink>,
    /// `logFiles`.
    pub log_files: Vec<LogFileEntry>,
}

impl Digest {
    /// Inflates and parses a digest object (the compressed bytes as stored).
    pub fn parse_object(object: &[u8]) -> Result<Digest, DigestFormatError> {
        let inflated = inflate_digest(object)?;
        Digest::parse_inflated(&inflated)
    }

    /// Parses the inflated digest bytes.
    pub fn parse_inflated(inflated: &[u8]) -> Result<Digest, DigestFormatError> {
        let raw_sha256: [u8; 32] = Sha256::digest(inflated).into();
        // Strict: a duplicated key is malformed, never "last one wins".
        let value: Value =
            crate::strict_json::from_slice(inflated).map_err(|e| DigestFormatError::Json(e.to_string()))?;
        let obj = value
            .as_object()
            .ok_or_else(|| field("(top level)", "must be a JSON object"))?;

        let end_text = string(obj, "digestEndTime")?.to_string();
        let end = time(obj, "digestEndTime")?;
        let start = time(obj, "digestStartTime")?;
        if start > end {
            return Err(field("digestStartTime", "is after digestEndTime"));
        }
        let algorithm = string(obj, "digestSignatureAlgorithm")?;
        if algorithm != "SHA256withRSA" {
            return Err(field("digestSignatureAlgorithm", "must be SHA256withRSA"));
        }
        let fingerprint = string(obj, "digestPublicKeyFingerprint")?;
        if fingerprint.len() != 32 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(field("digestPublicKeyFingerprint", "must be 32 hex digits"));
        }
        Ok(Digest {
            raw_sha256,
            account_id: string(obj, "awsAccountId")?.to_string(),
            start,
            end_text,
            end,
            s3_bucket: string(obj, "digestS3Bucket")?.to_string(),
            s3_object: string(obj, "digestS3Object")?.to_string(),
            fingerprint: fingerprint.to_ascii_lowercase(),
            previous: previous(obj)?,
            log_files: log_files(obj)?,
        })
    }

    /// Hex SHA-256 of the inflated bytes.
    pub fn raw_sha256_hex(&self) -> String {
        hex::encode(self.raw_sha256)
    }
}

/// Inflates a digest object under the strict framing rules: one complete
/// gzip member, nothing after it, bounded size.
pub fn inflate_digest(object: &[u8]) -> Result<Vec<u8>, DigestFormatError> {
    if object.len() as u64 > DIGEST_READ_CAP {
        return Err(DigestFormatError::TooLarge(DIGEST_READ_CAP));
    }
    let limit = (object.len() as u64)
        .saturating_mul(DIGEST_MAX_RATIO)
        .saturating_add(64 * 1024)
        .min(DIGEST_INFLATED_CAP);
    let (inflated, end) = gunzip(object, limit).map_err(|e| match e {
        crate::gzip::GzipError::TooLarge(n) => DigestFormatError::TooLarge(n),
        other => DigestFormatError::Gzip(other.to_string()),
    })?;
    match end {
        GzipEnd::Complete { trailing: 0 } => Ok(inflated),
        GzipEnd::Complete { trailing } => Err(DigestFormatError::TrailingData(trailing)),
        GzipEnd::Truncated { stage } => Err(DigestFormatError::Truncated(stage)),
    }
}

fn field(name: &str, problem: &str) -> DigestFormatError {
    DigestFormatError::Field {
        field: name.to_string(),
        problem: problem.to_string(),
    }
}

fn string<'a>(obj: &'a Map<String, Value>, name: &str) -> Result<&'a str, DigestFormatError> {
    match obj.get(name) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) => Err(field(name, "is empty")),
        Some(_) => Err(field(name, "must be a string")),
        None => Err(field(name, "is missing")),
    }
}

fn time(obj: &Map<String, Value>, name: &str) -> Result<Timestamp, DigestFormatError> {
    Timestamp::parse_digest_time(string(obj, name)?)
        .ok_or_else(|| field(name, "must be a time like 2024-01-01T00:00:00Z"))
}

fn sha256_hex(obj: &Map<String, Value>, name: &str) -> Result<[u8; 32], DigestFormatError> {
    let s = string(obj, name)?;
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| field(name, "must be 64 hex digits"))?;
    Ok(out)
}

fn previous(obj: &Map<String, Value>) -> Result<Option<PreviousLink>, DigestFormatError> {
    const FIELDS: [&str; 5] = [
        "previousDigestS3Bucket",
        "previousDigestS3Object",
        "previousDigestHashValue",
        "previousDigestHashAlgorithm",
        "previousDigestSignature",
    ];
    let nulls = FIELDS
        .iter()
        .filter(|f| matches!(obj.get(**f), None | Some(Value::Null)))
        .count();
    if nulls == FIELDS.len() {
        return Ok(None);
    }
    if nulls != 0 {
        return Err(field(
            "previousDigest*",
            "the five previous-digest fields must be all null or all set",
        ));
    }
    if string(obj, "previousDigestHashAlgorithm")? != "SHA-256" {
        return Err(field("previousDigestHashAlgorithm", "must be SHA-256"));
    }
    let signature_hex = string(obj, "previousDigestSignature")?;
    if signature_hex.len() % 2 != 0 || !signature_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(field("previousDigestSignature", "must be hex"));
    }
    Ok(Some(PreviousLink {
        bucket: string(obj, "previousDigestS3Bucket")?.to_string(),
        object: string(obj, "previousDigestS3Object")?.to_string(),
        hash: sha256_hex(obj, "previousDigestHashValue")?,
        signature_hex: signature_hex.to_string(),
    }))
}

fn log_files(obj: &Map<String, Value>) -> Result<Vec<LogFileEntry>, DigestFormatError> {
    let list = match obj.get("logFiles") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(field("logFiles", "must be an array")),
        None => return Err(field("logFiles", "is missing")),
    };
    list.iter()
        .enumerate()
        .map(|(i, entry)| {
            // Field names for messages are built only on error (a digest
            // lists many entries; formatting them eagerly costs more than
            // parsing).
            let bad = |f: &str, problem: &str| field(&format!("logFiles[{i}].{f}"), problem);
            let e = entry
                .as_object()
                .ok_or_else(|| field(&format!("logFiles[{i}]"), "must be an object"))?;
            let get = |f: &str| string(e, f).map_err(|_| bad(f, "must be a non-empty string"));
            if get("hashAlgorithm")? != "SHA-256" {
                return Err(bad("hashAlgorithm", "must be SHA-256"));
            }
            let mut hash = [0u8; 32];
            hex::decode_to_slice(get("hashValue")?, &mut hash)
                .map_err(|_| bad("hashValue", "must be 64 hex digits"))?;
            Ok(LogFileEntry {
                bucket: get("s3Bucket")?.to_string(),
                object: get("s3Object")?.to_string(),
                hash,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = r#"{"awsAccountId":"111122223333","digestStartTime":"2024-03-01T00:17:28Z","digestEndTime":"2024-03-01T01:17:28Z","digestS3Bucket":"b","digestS3Object":"AWSLogs\/111122223333\/x.json.gz","digestPublicKeyFingerprint":"0123456789abcdef0123456789ABCDEF","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":null,"oldestEventTime":null,"previousDigestS3Bucket":null,"previousDigestS3Object":null,"previousDigestHashValue":null,"previousDigestHashAlgorithm":null,"previousDigestSignature":null,"logFiles":[]}"#;

    #[test]
    fn parses_starting_digest_with_escaped_slashes() {
        let d = Digest::parse_inflated(START.as_bytes()).unwrap();
        assert_eq!(d.s3_object, "AWSLogs/111122223333/x.json.gz");
        assert!(d.previous.is_none());
        assert_eq!(d.fingerprint, "0123456789abcdef0123456789abcdef");
        assert_eq!(d.raw_sha256, <[u8; 32]>::from(Sha256::digest(START.as_bytes())));
    }

    #[test]
    fn rejects_partial_previous_and_bad_fields() {
        let partial = START.replace(r#""previousDigestS3Bucket":null"#, r#""previousDigestS3Bucket":"b""#);
        assert!(matches!(
            Digest::parse_inflated(partial.as_bytes()),
            Err(DigestFormatError::Field { .. })
        ));
        let no_end = START.replace(r#""digestEndTime":"2024-03-01T01:17:28Z","#, "");
        assert!(matches!(
            Digest::parse_inflated(no_end.as_bytes()),
            Err(DigestFormatError::Field { .. })
        ));
        let bad_alg = START.replace("SHA256withRSA", "SHA1withRSA");
        assert!(Digest::parse_inflated(bad_alg.as_bytes()).is_err());
        assert!(matches!(
            Digest::parse_inflated(b"[1,2]"),
            Err(DigestFormatError::Field { .. })
        ));
        assert!(matches!(Digest::parse_inflated(b"{"), Err(DigestFormatError::Json(_))));
    }

    #[test]
    fn deep_nesting_is_rejected_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert!(matches!(
            Digest::parse_inflated(deep.as_bytes()),
            Err(DigestFormatError::Json(_))
        ));
    }
}
