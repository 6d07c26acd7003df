//! Incremental runs: a chain resumes at a checkpoint (the last digest of
//! the longest fully verified prefix of the chain, from an earlier run), and
//! each run says how far its chains are now fully verified.
//!
//! The rules, all in the core so every front end keeps the same ones:
//!
//! - A resumed chain's range starts at its checkpoint's `digestEndTime`. The
//!   checkpoint digest is read again (one object, its logs are not): if it is
//!   gone it is `digest_missing`, if its bytes or its metadata signature
//!   differ from what was verified it is `chain_hash_mismatch` /
//!   `chain_signature_mismatch` ([`super::chain`]'s anchor checks).
//! - Every authenticated digest of the new range that names a predecessor at
//!   or before the checkpoint must name the checkpoint itself, with its hash
//!   and signature; anything else (a fork, a re-delivered chain) is
//!   `chain_hash_mismatch` on the checkpoint.
//! - The new checkpoint ([`ChainProgress`]) is the newest authenticated
//!   regular digest in range that ends at or before the first problem of the
//!   chain: any violation or unverifiable finding on the chain, its digests
//!   or the logs they list (a coverage gap too, unless gaps are allowed). It
//!   never moves past anything not verified, so the next run looks (and
//!   alerts) again.

use crate::layout::ChainId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// A verified digest where a chain's verified history ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The bucket it was verified in.
    pub bucket: String,
    /// Its object key.
    pub key: String,
    /// Its `digestEndTime`: the next run's range starts here.
    pub end: Timestamp,
    /// Lowercase hex SHA-256 of its uncompressed bytes.
    pub sha256: String,
    /// Lowercase hex of the signature that verified it.
    pub signature: String,
}

/// A range that replaces `--start-time`/`--end-time` for one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainScope {
    /// Start of the chain's range (`None`: the chain's oldest digest, as
    /// without a range; a shard's first window).
    pub start: Option<Timestamp>,
    /// End of the chain's range (`None`: the run's end).
    pub end: Option<Timestamp>,
    /// The checkpoint the chain resumes at (then `start` is its end).
    pub anchor: Option<Checkpoint>,
}

impl ChainScope {
    /// Resumes at `checkpoint`: the range starts at its end.
    pub fn resume(checkpoint: Checkpoint) -> ChainScope {
        ChainScope {
            start: Some(checkpoint.end),
            end: None,
            anchor: Some(checkpoint),
        }
    }
}

/// How far one selected chain is verified after a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainProgress {
    /// The chain.
    pub chain: ChainId,
    /// The start of the range the run checked for it.
    pub start: Timestamp,
    /// The end of the range the run checked for it.
    pub end: Timestamp,
    /// The last digest of the longest fully verified prefix (the
    /// checkpoint the chain resumed at when nothing new verified; `None`
    /// when nothing verified yet).
    pub checkpoint: Option<Checkpoint>,
    /// Where the first problem of the run lies, if any (the checkpoint is
    /// at or before it).
    pub held_at: Option<Timestamp>,
}

/// What one chain's digests tell the checkpoint rule, gathered during the
/// analysis (see the module docs).
#[derive(Debug, Clone)]
pub(super) struct Track {
    pub(super) chain: ChainId,
    pub(super) start: Timestamp,
    pub(super) end: Timestamp,
    pub(super) anchor: Option<Checkpoint>,
    /// Authenticated regular digests in range (candidates), any order.
    pub(super) candidates: Vec<Checkpoint>,
    /// The earliest problem.
    pub(super) held_at: Option<Timestamp>,
}

impl Track {
    /// Holds the checkpoint at or before `t`.
    pub(super) fn hold(&mut self, t: Timestamp) {
        self.held_at = Some(self.held_at.map_or(t, |h| h.min(t)));
    }

    /// The chain's progress: the newest candidate that ends at or before
    /// the first problem, else the checkpoint it resumed at.
    pub(super) fn progress(self) -> ChainProgress {
        let limit = self.held_at;
        let best = self
            .candidates
            .into_iter()
            .filter(|c| limit.is_none_or(|h| c.end <= h))
            .filter(|c| self.anchor.as_ref().is_none_or(|a| c.end > a.end))
            .max_by(|a, b| (a.end, &a.key).cmp(&(b.end, &b.key)));
        ChainProgress {
            chain: self.chain,
            start: self.start,
            end: self.end,
            checkpoint: best.or(self.anchor),
            held_at: limit,
        }
    }
}
