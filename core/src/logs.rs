//! Streaming log hashing: feed the compressed object in chunks, get the
//! SHA-256 of the uncompressed content and how the gzip stream ended.
//! A log is never held in memory whole.

use crate::gzip::{GzipDecoder, GzipEnd, GzipError, TruncatedAt};
use sha2::{Digest as _, Sha256};

/// Default largest uncompressed log (real CloudTrail logs are far below it).
pub const MAX_LOG_INFLATED: u64 = 2 * 1024 * 1024 * 1024;
/// Default largest inflation ratio of a log (CloudTrail JSON compresses
/// about 10:1; a run of zeros about 1000:1).
pub const MAX_LOG_RATIO: u64 = 100;
/// Inflated bytes always allowed on top of the ratio (tiny logs).
pub const LOG_RATIO_GRACE: u64 = 64 * 1024;

/// How much inflating a log may cost. A log over budget is not judged at
/// all: it is unverifiable (`read_error`), neither valid nor tampered. The
/// ratio bounds the total work by the size of the input: a 100 MB folder of
/// decompression bombs costs at most `100 MB × max_ratio` of inflating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogBudget {
    /// Largest uncompressed size of one log.
    pub max_inflated: u64,
    /// Largest ratio of uncompressed to compressed bytes (plus
    /// [`LOG_RATIO_GRACE`]), checked as the log streams in.
    pub max_ratio: u64,
}

impl Default for LogBudget {
    fn default() -> Self {
        LogBudget {
            max_inflated: MAX_LOG_INFLATED,
            max_ratio: MAX_LOG_RATIO,
        }
    }
}

impl LogBudget {
    /// A budget of `limit` inflated bytes and no ratio limit.
    pub fn size_only(limit: u64) -> Self {
        LogBudget {
            max_inflated: limit,
            max_ratio: u64::MAX,
        }
    }

    /// The inflated bytes allowed after `compressed` input bytes.
    pub fn allowed(&self, compressed: u64) -> u64 {
        let by_ratio = compressed
            .saturating_mul(self.max_ratio)
            .saturating_add(LOG_RATIO_GRACE);
        by_ratio.min(self.max_inflated)
    }
}

/// Incremental hasher for one log object.
#[derive(Debug)]
pub struct LogHasher {
    gzip: GzipDecoder,
    /// `None`: the front end hashes the inflated bytes itself
    /// ([`LogHasher::inflate_only`]).
    sha: Option<Sha256>,
    error: Option<GzipError>,
    compressed: u64,
    budget: LogBudget,
}

/// What hashing a log produced.
/// Serializable, so that a front end hashing on several threads or WASM
/// instances (the browser's Web Workers) can hand it to the driver's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HashedLog {
    /// SHA-256 of the bytes inflated (all of them, even when the stream
    /// ended badly; meaningful only with a clean [`GzipEnd`]).
    pub sha256: [u8; 32],
    /// How the gzip stream ended, or the error that stopped it.
    pub end: Result<GzipEnd, GzipError>,
    /// Compressed bytes read.
    pub compressed: u64,
    /// Uncompressed bytes hashed.
    pub inflated: u64,
}

impl Default for LogHasher {
    fn default() -> Self {
        Self::new()
    }
}

impl LogHasher {
    /// A hasher with the default [`LogBudget`].
    pub fn new() -> Self {
        Self::with_budget(LogBudget::default())
    }

    /// A hasher that stops once the log costs more than `budget`.
    pub fn with_budget(budget: LogBudget) -> Self {
        LogHasher {
            gzip: GzipDecoder::new(budget.allowed(0)),
            sha: Some(Sha256::new()),
            error: None,
            compressed: 0,
            budget,
        }
    }

    /// A hasher that stops after `limit` inflated bytes (no ratio limit).
    pub fn with_limit(limit: u64) -> Self {
        Self::with_budget(LogBudget::size_only(limit))
    }

    /// Feeds the next chunk of the compressed object. After a gzip error the
    /// rest is ignored (the error is reported by [`finish`](Self::finish)).
    pub fn update(&mut self, chunk: &[u8]) {
        self.update_inflated(chunk, &mut |_| {});
    }

    /// [`update`](Self::update), also handing every inflated piece to
    /// `out` (an [`inflate_only`](Self::inflate_only) hasher's caller
    /// hashes them itself).
    pub fn update_inflated(&mut self, chunk: &[u8], out: &mut dyn FnMut(&[u8])) {
        self.compressed += chunk.len() as u64;
        if self.error.is_some() {
            return;
        }
        self.gzip.set_limit(self.budget.allowed(self.compressed));
        let sha = &mut self.sha;
        if let Err(e) = self.gzip.update(chunk, &mut |piece| {
            if let Some(sha) = sha.as_mut() {
                sha.update(piece);
            }
            out(piece);
        }) {
            self.error = Some(e);
        }
    }

    /// A hasher that inflates and checks the gzip framing and the budget,
    /// but leaves SHA-256 of the inflated bytes to the caller (a browser
    /// hashes whole buffers with WebCrypto, several times faster than
    /// SHA-256 in WASM); end it with [`finish_with`](Self::finish_with).
    pub fn inflate_only(budget: LogBudget) -> Self {
        let mut h = Self::with_budget(budget);
        h.sha = None;
        h
    }

    /// Ends an [`inflate_only`](Self::inflate_only) hasher with the
    /// caller's SHA-256 of every inflated byte.
    pub fn finish_with(mut self, sha256: [u8; 32]) -> HashedLog {
        self.sha = None;
        let mut h = self.finish();
        h.sha256 = sha256;
        h
    }

    /// True once a gzip error made further input pointless.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Ends the object. (An [`inflate_only`](Self::inflate_only) hasher
    /// must end with [`finish_with`](Self::finish_with): here it would
    /// report an all-zero SHA-256, which matches no log.)
    pub fn finish(self) -> HashedLog {
        let inflated = self.gzip.inflated();
        let end = match self.error {
            Some(e) => Err(e),
            None => Ok(self.gzip.finish()),
        };
        HashedLog {
            sha256: self.sha.map_or([0; 32], |sha| sha.finalize().into()),
            end,
            compressed: self.compressed,
            inflated,
        }
    }
}

/// The strict judgement of a hashed log against the digest's `hashValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogJudgement {
    /// One complete gzip member, nothing after it, hash matches.
    Valid,
    /// Framing or compression problem (the message says which).
    Malformed(String),
    /// Inflating it would cost more than the [`LogBudget`]: not judged.
    OverBudget(String),
    /// Well-formed, but the content hash differs.
    Modified {
        /// SHA-256 actually computed.
        actual: [u8; 32],
    },
}

impl LogJudgement {
    /// A finding of tampering (`log_malformed` or `log_modified`): a front
    /// end must be sure the bytes it hashed are the object's own before it
    /// hands such a result over (a transport checksum, or a second read
    /// that gives the same result).
    pub fn is_violation(&self) -> bool {
        matches!(self, LogJudgement::Malformed(_) | LogJudgement::Modified { .. })
    }
}

impl HashedLog {
    /// Strict mode: any framing problem is `Malformed`, checked before the hash.
    pub fn judge(&self, expected: &[u8; 32]) -> LogJudgement {
        match &self.end {
            Err(GzipError::TooLarge(limit)) => LogJudgement::OverBudget(format!(
                "log inflates beyond the budget ({limit} bytes after {} compressed bytes; see --max-log-bytes and --max-log-ratio)",
                self.compressed
            )),
            Err(e) => LogJudgement::Malformed(e.to_string()),
            Ok(GzipEnd::Truncated { stage }) => LogJudgement::Malformed(match stage {
                TruncatedAt::Header if self.compressed == 0 => "empty object, not gzip".to_string(),
                TruncatedAt::Header => "gzip header is truncated".to_string(),
                TruncatedAt::Deflate => "gzip stream is truncated inside the compressed data".to_string(),
                TruncatedAt::Trailer => "gzip trailer (CRC-32 and length) is missing or cut".to_string(),
            }),
            Ok(GzipEnd::Complete { trailing }) if *trailing > 0 => {
                LogJudgement::Malformed(format!("{trailing} byte(s) of data after the end of the gzip stream"))
            }
            Ok(GzipEnd::Complete { .. }) if &self.sha256 != expected => LogJudgement::Modified { actual: self.sha256 },
            Ok(GzipEnd::Complete { .. }) => LogJudgement::Valid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn hash(obj: &[u8]) -> HashedLog {
        let mut h = LogHasher::new();
        for c in obj.chunks(3) {
            h.update(c);
        }
        h.finish()
    }

    #[test]
    fn judges_each_failure() {
        let body = br#"{"Records":[{"eventName":"GetObject"}]}"#;
        let good: [u8; 32] = Sha256::digest(body).into();
        let z = gz(body);
        assert_eq!(hash(&z).judge(&good), LogJudgement::Valid);
        assert!(matches!(
            hash(&gz(b"{\"Records\":[]}")).judge(&good),
            LogJudgement::Modified { .. }
        ));
        assert!(matches!(
            hash(&z[..z.len() - 8]).judge(&good),
            LogJudgement::Malformed(_)
        ));
        let mut extra = z.clone();
        extra.extend_from_slice(&gz(b"x"));
        assert!(matches!(hash(&extra).judge(&good), LogJudgement::Malformed(_)));
        assert!(matches!(hash(body).judge(&good), LogJudgement::Malformed(_)));
        assert!(matches!(hash(b"").judge(&good), LogJudgement::Malformed(_)));
    }

    #[test]
    fn bomb_is_over_budget_not_malformed() {
        let z = gz(&vec![b'a'; 5_000_000]);
        let mut h = LogHasher::with_limit(1_000_000);
        h.update(&z);
        assert!(h.failed());
        assert!(matches!(h.finish().judge(&[0; 32]), LogJudgement::OverBudget(_)));
    }

    #[test]
    fn ratio_stops_a_bomb_early_but_passes_real_logs() {
        // ~1000:1: stopped after about 100x its compressed size.
        let body = vec![0u8; 50_000_000];
        let z = gz(&body);
        let mut h = LogHasher::new();
        for c in z.chunks(64 * 1024) {
            h.update(c);
            if h.failed() {
                break;
            }
        }
        let out = h.finish();
        assert!(
            out.inflated <= 100 * out.compressed + LOG_RATIO_GRACE + 256 * 1024,
            "{out:?}"
        );
        assert!(matches!(out.judge(&[0; 32]), LogJudgement::OverBudget(_)));
        // Ordinary JSON records compress ~10:1 and pass.
        let mut text = String::new();
        for i in 0..20_000u32 {
            text.push_str(&format!(
                "{{\"eventID\":\"{:08x}\",\"eventName\":\"GetObject\",\"n\":{i}}},",
                i.wrapping_mul(2_654_435_761)
            ));
        }
        let expected: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        assert_eq!(hash(&gz(text.as_bytes())).judge(&expected), LogJudgement::Valid);
    }
}
