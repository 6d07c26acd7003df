//! The bucket the trail delivers to, which every finding names and every
//! digest's place is judged against.

use super::entry::{Bucket, Entry};
use super::index::ChainIndex;
use super::options::Options;
use super::trust::Authenticated;
use crate::layout::ChainId;
use std::collections::{BTreeMap, BTreeSet};

/// The bucket. Never a vote over every parseable digest (decoys could
/// outvote the real ones): the bucket option, else what the authenticated
/// digests of the selected chains that sit where they say they belong
/// agree on (most of them; ties by name), else the bucket an earlier run
/// verified the checkpoints in. When no digest is authenticated, the most
/// named bucket is used for naming only.
pub(super) fn decide(
    opts: &Options,
    entries: &[Entry],
    checks: &BTreeMap<&ChainId, (ChainIndex, Authenticated)>,
    selected: &BTreeSet<ChainId>,
) -> Bucket {
    if let Some(b) = &opts.bucket {
        return Bucket {
            name: b.clone(),
            judged: true,
        };
    }
    let vote = |trusted_only: bool| {
        let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
        for (ix, auth) in checks.iter().filter(|(c, _)| selected.contains(**c)).map(|(_, v)| v) {
            for &i in ix.indices() {
                let e = &entries[i];
                let bucket = if trusted_only {
                    match auth.get(i) {
                        Some(v) if e.in_place(opts.local_copy) => &v.digest().s3_bucket,
                        _ => continue,
                    }
                } else {
                    match e.digest() {
                        Some(d) => &d.s3_bucket,
                        None => continue,
                    }
                };
                *votes.entry(bucket.as_str()).or_default() += 1;
            }
        }
        votes
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(b, _)| b.to_string())
    };
    // The bucket an earlier run verified the checkpoints in.
    let verified_before = || {
        opts.scopes
            .iter()
            .filter(|(c, _)| selected.contains(*c))
            .find_map(|(_, s)| s.anchor.as_ref().map(|a| a.bucket.clone()))
    };
    match vote(true).or_else(verified_before) {
        Some(name) => Bucket { name, judged: true },
        None => Bucket {
            name: vote(false).unwrap_or_else(|| "unknown-bucket".to_string()),
            judged: false,
        },
    }
}
