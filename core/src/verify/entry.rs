//! The shared record of the engine: one loaded digest as the front end
//! delivered it ([`ParsedDigest`]: parsed on the loading worker, its bytes
//! dropped), and the same digest placed by the plan ([`Entry`]). Every
//! other module of `verify` builds on these; this one imports none of them.

use crate::digest::Digest;
use crate::layout::{key_form, DigestKeyName};
use crate::report::Interval;
use crate::time::HOUR;
use std::collections::BTreeMap;

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadFailure {
    /// The object does not exist.
    NotFound,
    /// The source refuses the key as unsafe to read (a local copy: `..`,
    /// absolute, a symlink leading outside the copy); it was not read.
    Unsafe,
    /// Any other failure (permissions, IO, network after retries).
    Other(String),
}

impl ReadFailure {
    /// The failure in words, for a finding's message.
    pub(super) fn describe(&self) -> String {
        match self {
            ReadFailure::NotFound => "not found".into(),
            ReadFailure::Unsafe => "key cannot be read safely from this source".into(),
            ReadFailure::Other(s) => s.clone(),
        }
    }
}

/// S3 user metadata of a digest object, as the front end found it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Metadata {
    /// No metadata (a plain sync copy).
    #[default]
    Absent,
    /// The user metadata map (keys without `x-amz-meta-`).
    Present(BTreeMap<String, String>),
    /// Metadata exists but could not be read or parsed.
    Unreadable(String),
}

impl Metadata {
    /// Parses a sidecar (`aws s3api head-object --query Metadata` output).
    pub fn from_sidecar(bytes: &[u8]) -> Metadata {
        if bytes.len() > 1024 * 1024 {
            return Metadata::Unreadable("metadata sidecar larger than 1 MiB".into());
        }
        match crate::strict_json::from_slice(bytes) {
            Ok(serde_json::Value::Object(map)) => Metadata::Present(
                map.into_iter()
                    .filter_map(|(k, v)| {
                        // Accept header-style names too (`x-amz-meta-signature`).
                        let k = k.to_ascii_lowercase();
                        let k = k.strip_prefix("x-amz-meta-").map(str::to_string).unwrap_or(k);
                        v.as_str().map(|s| (k, s.to_string()))
                    })
                    .collect(),
            ),
            Ok(_) => Metadata::Unreadable("metadata sidecar is not a JSON object".into()),
            Err(e) => Metadata::Unreadable(format!("metadata sidecar is not a JSON object of strings: {e}")),
        }
    }

    /// The value of user metadata `name`, when present.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        match self {
            Metadata::Present(m) => m.get(name).map(String::as_str),
            _ => None,
        }
    }
}

/// A digest object parsed right after loading: its bytes are not kept.
pub struct ParsedDigest {
    pub(super) key: String,
    pub(super) state: State,
    pub(super) metadata: Metadata,
}

impl ParsedDigest {
    /// Parses a loaded digest object (strict gzip, strict JSON, the size
    /// caps of [`crate::digest`]). Pure: call it on the loading worker.
    pub fn parse(key: String, object: Result<Vec<u8>, ReadFailure>, metadata: Metadata) -> ParsedDigest {
        let state = match object {
            Err(e) => State::Unreadable(e),
            Ok(bytes) => match Digest::parse_object(&bytes) {
                Ok(d) => State::Parsed(Box::new(d)),
                Err(e) => State::Malformed(e.to_string()),
            },
        };
        ParsedDigest { key, state, metadata }
    }

    /// True when the object was read but is not a well-formed digest (a
    /// `digest_malformed` finding): a front end must be sure the bytes were
    /// the object's own before it hands such a result over.
    pub fn is_malformed(&self) -> bool {
        matches!(self.state, State::Malformed(_))
    }

    /// Its key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// How many `logFiles` entries it holds (for the run's budget).
    pub fn listed_logs(&self) -> usize {
        match &self.state {
            State::Parsed(d) => d.log_files.len(),
            _ => 0,
        }
    }
}

/// What loading a digest gave.
pub(super) enum State {
    Parsed(Box<Digest>),
    Malformed(String),
    Unreadable(ReadFailure),
}

/// A loaded digest, placed by the plan: its key, the name it was found
/// under, what loading gave and its S3 metadata. Not trusted: only
/// [`super::trust::Verified`] says a digest is authentic.
pub(super) struct Entry {
    pub(super) key: String,
    pub(super) name: DigestKeyName,
    pub(super) state: State,
    pub(super) metadata: Metadata,
}

impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry").field("key", &self.key).finish_non_exhaustive()
    }
}

impl Entry {
    /// The parsed digest, if it parsed (authentic or not).
    pub(super) fn digest(&self) -> Option<&Digest> {
        match &self.state {
            State::Parsed(d) => Some(d),
            _ => None,
        }
    }

    /// The period the digest vouches for (from its name when unparsable).
    pub(super) fn window(&self) -> Interval {
        match self.digest() {
            Some(d) => Interval {
                start: d.start,
                end: d.end,
            },
            None => Interval {
                start: self.name.time.add_secs(-HOUR),
                end: self.name.time,
            },
        }
    }

    /// Parsed, and found at the key it names, in the account it names
    /// (keys compared in [`key_form`]).
    pub(super) fn in_place(&self, local_copy: bool) -> bool {
        self.digest().is_some_and(|d| {
            key_form(&d.s3_object, local_copy) == key_form(&self.key, local_copy)
                && d.account_id == self.name.chain.account
        })
    }
}

/// The bucket findings name, and whether digests are judged against it.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    /// The name used in `s3://BUCKET/KEY`.
    pub(super) name: String,
    /// True when the name is authoritative (`--s3-bucket`, or what the
    /// authenticated digests of the selected chains say). When false (no
    /// digest could be authenticated), a digest naming another bucket is not
    /// called moved: nothing trustworthy says which bucket is right.
    pub(super) judged: bool,
}

/// Merges sorted intervals that overlap or touch.
pub(super) fn merge(sorted: &[Interval]) -> Vec<Interval> {
    let mut out: Vec<Interval> = Vec::new();
    for s in sorted {
        match out.last_mut() {
            Some(last) if s.start <= last.end => last.end = last.end.max(s.end),
            _ => out.push(*s),
        }
    }
    out
}
