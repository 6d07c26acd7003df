//! The engine's fixed margins and bounds (SPEC §6 and the hostile-input
//! rules), in one place.

use crate::time::HOUR;

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
pub(super) const UNREFERENCED_END_MARGIN: i64 = 20 * 60;
/// Default budget of log entries all loaded digests may list together
/// (about a year of a busy multi-region trail); bounds the memory a hostile
/// bucket can make the run hold.
pub const MAX_LISTED_LOGS: usize = 2_000_000;
/// `GetTrailStatus`: a digest is expected only when the trail delivered
/// one at least this long after its key time.
pub(super) const DELIVERY_MARGIN: i64 = 5 * 60;

/// How deep (in `/` segments) a prefix before `AWSLogs/` is searched for
/// when the prefix is not given.
pub const MAX_PREFIX_DEPTH: usize = 32;
/// How many folders prefix discovery lists at most (the bucket root
/// included): a shared bucket with many other folders needs the prefix
/// named instead of one request per folder.
pub const MAX_DISCOVERY_FOLDERS: usize = 256;
/// Entries one folder of the prefix discovery may hold: past it the folder
/// is not searched entry by entry (see `ListRequest::max_entries`).
pub const MAX_DISCOVERY_ENTRIES: usize = 10_000;
/// The longest trail key prefix CloudTrail accepts (`S3KeyPrefix`): a folder
/// whose path is longer cannot be, or hold, a trail prefix and is not listed.
pub const MAX_TRAIL_PREFIX_LEN: usize = 200;
