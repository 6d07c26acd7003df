//! Streaming log hashing: feed the compressed object in chunks, get the
//! SHA-256 of the uncompressed content and how the gzip stream ended.
//! A log is never held in memory whole.

use crate::gzip::{GzipDecoder, GzipEnd, GzipError, TruncatedAt};
use sha2::{Digest as _, Sha256};

/// Largest uncompressed log accepted (real logs are far below 1 GiB); the
/// limit turns a decompression bomb into a finding instead of hours of work.
pub const MAX_LOG_INFLATED: u64 = 16 * 1024 * 1024 * 1024;

/// Incremental hasher for one log object.
#[derive(Debug)]
pub struct LogHasher {
    gzip: GzipDecoder,
    sha: Sha256,
    error: Option<GzipError>,
    compressed: u64,
}

/// What hashing a log produced.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A hasher with the default inflated-size limit.
    pub fn new() -> Self {
        Self::with_limit(MAX_LOG_INFLATED)
    }

    /// A hasher that stops after `limit` inflated bytes.
    pub fn with_limit(limit: u64) -> Self {
        LogHasher {
            gzip: GzipDecoder::new(limit),
            sha: Sha256::new(),
            error: None,
            compressed: 0,
        }
    }

    /// Feeds the next chunk of the compressed object. After a gzip error the
    /// rest is ignored (the error is reported by [`finish`](Self::finish)).
    pub fn update(&mut self, chunk: &[u8]) {
        self.compressed += chunk.len() as u64;
        if self.error.is_some() {
            return;
        }
        let sha = &mut self.sha;
        if let Err(e) = self.gzip.update(chunk, &mut |piece| sha.update(piece)) {
            self.error = Some(e);
        }
    }

    /// True once a gzip error made further input pointless.
    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    /// Ends the object.
    pub fn finish(self) -> HashedLog {
        let inflated = self.gzip.inflated();
        let end = match self.error {
            Some(e) => Err(e),
            None => Ok(self.gzip.finish()),
        };
        HashedLog {
            sha256: self.sha.finalize().into(),
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
    /// Well-formed, but the content hash differs.
    Modified {
        /// SHA-256 actually computed.
        actual: [u8; 32],
    },
}

impl HashedLog {
    /// Strict mode: any framing problem is `Malformed`, checked before the hash.
    pub fn judge(&self, expected: &[u8; 32]) -> LogJudgement {
        match &self.end {
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
    fn bomb_is_malformed() {
        let z = gz(&vec![b'a'; 5_000_000]);
        let mut h = LogHasher::with_limit(1_000_000);
        h.update(&z);
        assert!(h.failed());
        assert!(matches!(h.finish().judge(&[0; 32]), LogJudgement::Malformed(_)));
    }
}
