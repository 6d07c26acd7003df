//! One chain's digests, indexed for the checks: which loaded digests
//! ([`Entry`], indices into the run's entries) belong to it, its requested
//! range, where each digest was found, and what else the chain is known by
//! (the trail's last delivery, the checkpoint it resumes at). Every check of
//! a chain reads it; it judges nothing itself.

use super::entry::Entry;
use super::resume::Checkpoint;
use crate::layout::{key_form, ChainId};
use crate::report::Interval;
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// One chain's digests (indices into `entries`) and its requested range.
pub(super) struct ChainIndex<'a> {
    chain: &'a ChainId,
    idx: &'a [usize],
    entries: &'a [Entry],
    range: Interval,
    /// Keys compared as a local copy stores them ([`key_form`]).
    local_copy: bool,
    /// Where each digest was found (in [`key_form`]).
    found: BTreeMap<String, usize>,
    /// The trail last delivered a digest of this chain at this time.
    delivered: Option<Timestamp>,
    /// The checkpoint the chain resumes at (an earlier run verified it).
    anchor: Option<&'a Checkpoint>,
}

impl<'a> ChainIndex<'a> {
    /// Indexes the chain's digests by location.
    pub(super) fn new(
        chain: &'a ChainId,
        idx: &'a [usize],
        entries: &'a [Entry],
        range: Interval,
        local_copy: bool,
    ) -> Self {
        let found = idx
            .iter()
            .map(|&i| (key_form(&entries[i].key, local_copy).into_owned(), i))
            .collect();
        ChainIndex {
            chain,
            idx,
            entries,
            range,
            local_copy,
            found,
            delivered: None,
            anchor: None,
        }
    }

    /// The chain resumes at `anchor` ([`super::ChainScope::anchor`]).
    pub(super) fn with_anchor(mut self, anchor: Option<&'a Checkpoint>) -> Self {
        self.anchor = anchor;
        self
    }

    /// The trail says it delivered a digest of this chain at `t`
    /// ([`super::Options::latest_digest_delivery`]).
    pub(super) fn with_delivery(mut self, t: Option<Timestamp>) -> Self {
        self.delivered = t;
        self
    }

    /// The checkpoint the chain resumes at.
    pub(super) fn anchor(&self) -> Option<&'a Checkpoint> {
        self.anchor
    }

    /// When the trail last delivered a digest of this chain.
    pub(super) fn delivered(&self) -> Option<Timestamp> {
        self.delivered
    }

    /// The chain.
    pub(super) fn chain(&self) -> &'a ChainId {
        self.chain
    }

    /// Its digests (indices into [`entries`](Self::entries)), oldest first.
    pub(super) fn indices(&self) -> &'a [usize] {
        self.idx
    }

    /// Every loaded digest.
    pub(super) fn entries(&self) -> &'a [Entry] {
        self.entries
    }

    /// Its digests, oldest first, with their indices.
    pub(super) fn digests(&self) -> impl Iterator<Item = (usize, &'a Entry)> + 'a {
        let entries = self.entries;
        self.idx.iter().map(move |&i| (i, &entries[i]))
    }

    /// Its requested range.
    pub(super) fn range(&self) -> Interval {
        self.range
    }

    /// Keys are compared as a local copy stores them.
    pub(super) fn local_copy(&self) -> bool {
        self.local_copy
    }

    /// The window overlaps the requested range.
    pub(super) fn in_range(&self, w: Interval) -> bool {
        w.end > self.range.start && w.start < self.range.end
    }

    /// The digest found at `key` (never one that merely claims that place:
    /// a digest found elsewhere is moved, and its place is empty).
    pub(super) fn find(&self, key: &str) -> Option<usize> {
        self.found.get(key_form(key, self.local_copy).as_ref()).copied()
    }

    /// For each digest, the digests that name its key as their predecessor.
    /// Matched by key only: which bucket is right is decided later, and a
    /// previousDigestSignature that verifies proves the content whoever
    /// carries it.
    pub(super) fn successors(&self) -> BTreeMap<usize, Vec<usize>> {
        let mut successors: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &j in self.idx {
            if let Some(p) = self.entries[j].digest().and_then(|d| d.previous.as_ref()) {
                if let Some(i) = self.find(&p.object) {
                    if i != j {
                        successors.entry(i).or_default().push(j);
                    }
                }
            }
        }
        successors
    }
}
