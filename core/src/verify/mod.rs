//! The strict verification engine. Every front end (local CLI, S3, browser)
//! runs it through one [`Driver`], which owns the sequence and leaves the IO
//! to the caller:
//!
//! 0. [`Listing`]: which prefixes of the bucket to list (never the whole
//!    bucket).
//! 1. [`Plan`]: from the listed keys, which digests to load and which
//!    objects of the selected chains' log folders matter.
//! 2. [`Analysis`]: from the loaded digests (parsed on the loading worker,
//!    [`ParsedDigest`]), signatures, chain links, missing digests and
//!    coverage; the log jobs ([`LogJob`], with ids).
//! 3. The log results, hashed by the front end (streaming, in parallel),
//!    accepted one at a time in any order ([`Analysis::accept`]); then the
//!    [`crate::report::Report`].
//!
//! Every finding goes through the caller's [`crate::report::Sink`] as it is
//! produced, with progress events.

mod analysis;
mod chain;
mod driver;
mod listing;
mod options;
mod plan;
mod resume;

pub use analysis::{Analysis, JobId, LogJob, LogResult, ParsedDigest, RunError};
pub use driver::Driver;
pub use listing::{
    ListRequest, ListResponse, Listing, ListingError, MAX_DISCOVERY_ENTRIES, MAX_DISCOVERY_FOLDERS, MAX_PREFIX_DEPTH,
    MAX_TRAIL_PREFIX_LEN,
};
pub use options::{Options, OptionsError, TrailFilter};
pub use plan::Plan;
pub use resume::{ChainProgress, ChainScope, Checkpoint};

use crate::time::HOUR;
use std::collections::BTreeMap;

/// Digests arrive hourly and minutes late: the last 75 minutes before "now"
/// are not yet due and are never a coverage gap (SPEC §6).
pub const NOT_YET_DUE: i64 = 75 * 60;
/// Digests this far outside an explicit range are still loaded: the
/// predecessor of the first and the successor of the last digest in range
/// (whose `previousDigestSignature` vouches for a digest without metadata).
pub const LOAD_MARGIN: i64 = 3 * HOUR;
/// At most this many cadence-named missing digests per gap (a year of hours);
/// bounds the work a hostile pointer can cause.
pub const MAX_MISSING_PER_GAP: usize = 24 * 366;
/// A log named this close to the end of a covered interval may be listed by
/// a later digest; it is not called unreferenced.
const UNREFERENCED_END_MARGIN: i64 = 20 * 60;
/// Default budget of log entries all loaded digests may list together
/// (about a year of a busy multi-region trail); bounds the memory a hostile
/// bucket can make the run hold.
pub const MAX_LISTED_LOGS: usize = 2_000_000;

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

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        match self {
            Metadata::Present(m) => m.get(name).map(String::as_str),
            _ => None,
        }
    }
}
