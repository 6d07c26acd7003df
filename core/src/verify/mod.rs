//! The strict verification engine. Every front end (local CLI, S3, browser)
//! runs it through one [`Driver`], which owns the whole sequence and leaves
//! the IO to the caller (see [`driver`](Driver) for the diagram):
//!
//! 1. the listing plan: which prefixes of the bucket to list (never the
//!    whole bucket);
//! 2. the plan: from the listed keys, which digests to load and which
//!    objects of the selected chains' log folders matter;
//! 3. the digests, parsed on the loading worker ([`ParsedDigest`]);
//! 4. the analysis: which digests are authentic ([`Verified`]), then each
//!    chain's digests, links, checkpoint anchor and coverage; the log jobs
//!    ([`LogJob`]), vouched only by verified digests;
//! 5. the log results, hashed by the front end (streaming, in parallel), in
//!    any order; then the [`crate::report::Report`].
//!
//! Every finding goes through the caller's [`crate::report::Sink`] as it is
//! produced, with progress events. [`run_in_memory`] runs the sequence over
//! objects held in memory.
//!
//! # Modules
//!
//! No two modules import each other; shared types sit below the rules:
//!
//! ```text
//!   driver ─▶ listing, plan, analysis                 the sequence
//!   analysis ─▶ bucket, chain, anchor, coverage,      one run's judgement
//!               unreferenced, trust, index
//!   chain, anchor, coverage, bucket ─▶ trust, index   one rule each
//!   trust ─▶ index ─▶ entry                           authenticity; the chain's digests
//!   entry, options, resume, bounds, error             shared types, no rules
//! ```
//!
//! # Where each finding kind is raised
//!
//! | kind | raised by | vectors (`test-vectors/vectors/`) |
//! |---|---|---|
//! | `log_modified` | `analysis::Analysis::accept` | `log_modified_detected`, `backfill_log_modified_detected` |
//! | `log_missing` | `analysis::Analysis::accept` | `log_missing_detected` |
//! | `log_malformed` | `analysis::Analysis::accept` | `log_bad_crc_malformed`, `log_not_gzip_malformed` |
//! | `log_unreferenced` | `unreferenced::findings` | `log_folder_off_pattern_objects_unreferenced` |
//! | `digest_missing` | `chain::links`; `anchor::gone` (from `anchor::check` and `analysis::Analysis::lost_checkpoint`) | `digest_missing_middle_detected`, `digest_missing_oldest_with_start_time` |
//! | `digest_malformed` | `chain::digests`; `anchor::check` | `digest_json_array_malformed`, `digest_duplicate_key_malformed` |
//! | `digest_signature_invalid` | `trust::authenticate` (reported by `chain::digests`) | `digest_modified_signature_invalid`, `digest_metadata_signature_corrupt_middle` |
//! | `digest_moved` | `chain::digests` | `digest_moved_detected` |
//! | `chain_hash_mismatch` | `chain::link`; `anchor::check` | `chain_hash_mismatch_resigned`, `digest_modified_signature_invalid` |
//! | `chain_signature_mismatch` | `chain::link`; `anchor::check` | `chain_signature_mismatch_resigned`, `digest_metadata_signature_corrupt_middle` |
//! | `digest_unsigned` | `trust::authenticate` (reported by `chain::digests`) | `digest_newest_no_metadata_unsigned`, `no_metadata_sync_copy_incomplete` |
//! | `digest_key_unknown` | `trust::authenticate` (reported by `chain::digests`) | `digest_after_now_incomplete`, `backfill_generated_after_now_unverifiable` |
//! | `coverage_gap` | `coverage::coverage`; `analysis::Analysis::range_gap` (no digest near the range, a requested region without digests) | `backfill_newest_regular_deleted_gap`, `chain_restart_gap_incomplete` |
//! | `read_error` | `chain::digests`; `anchor::check`; `analysis::Analysis::accept` | `log_decompression_bomb_read_error`, `log_key_dotdot_read_error` |
//! | `chain_restart` | `chain::digests` | `chain_restart_gap_incomplete`, `clean_chain_valid` |
//! | `valid` | `analysis::Analysis::chain` (digests), `analysis::Analysis::accept` (logs); verbose runs only | `clean_chain_valid` |
//!
//! The checkpoint rules of incremental runs are in [`resume`](ChainScope)'s
//! docs; `core/tests/kind_table.rs` checks this table against
//! [`crate::report::Kind::ALL`] and the vectors' expected findings.

mod analysis;
mod anchor;
mod bounds;
mod bucket;
mod chain;
mod coverage;
mod driver;
mod entry;
mod error;
mod index;
mod listing;
mod memory;
mod options;
mod plan;
mod resume;
mod trust;
mod unreferenced;

pub use analysis::{JobId, LogJob, LogResult};
pub use bounds::{
    LOAD_MARGIN, MAX_DISCOVERY_ENTRIES, MAX_DISCOVERY_FOLDERS, MAX_LISTED_LOGS, MAX_MISSING_PER_GAP, MAX_PREFIX_DEPTH,
    MAX_TRAIL_PREFIX_LEN, NOT_YET_DUE,
};
pub use driver::Driver;
pub use entry::{Metadata, ParsedDigest, ReadFailure};
pub use error::{ListingError, OptionsError, RunError, SequenceError};
pub use listing::{ListRequest, ListResponse};
pub use memory::{run_in_memory, MemoryBucket, MemoryRun, SIDECAR};
pub use options::{CheckedOptions, Options, TrailFilter};
pub use resume::{ChainProgress, ChainScope, Checkpoint};
pub use trust::Verified;
