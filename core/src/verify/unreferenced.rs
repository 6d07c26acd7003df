//! `log_unreferenced`: objects in a selected chain's log folder, inside its
//! covered period, that no authenticated digest lists. Off-pattern names
//! count too: by their date folder's day, or whenever the folder has
//! coverage at all.

use super::bounds::UNREFERENCED_END_MARGIN;
use crate::layout::{ChainId, LogPlace, ObjectRef};
use crate::report::{Finding, Interval, Kind};
use crate::time::HOUR;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The keys an authenticated digest lists, by [`key_id`] (16 bytes each
/// instead of the key: a run holds one per log).
pub(super) type Referenced = BTreeSet<[u8; 16]>;

/// A log key's id in [`Referenced`]: the first 16 bytes of its SHA-256
/// (a collision would need a second key with the same 128-bit prefix).
pub(super) fn key_id(key: &str) -> [u8; 16] {
    use sha2::Digest as _;
    let full = sha2::Sha256::digest(key.as_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&full[..16]);
    id
}

/// The findings, in the order of `log_keys` (key, log folder, place).
pub(super) fn findings(
    bucket: &str,
    log_keys: &[(String, Arc<str>, LogPlace)],
    covered: &[(ChainId, Vec<Interval>)],
    referenced: &Referenced,
) -> Vec<Finding> {
    let mut spans_by_folder: BTreeMap<String, Vec<Interval>> = BTreeMap::new();
    for (chain, spans) in covered {
        spans_by_folder
            .entry(chain.log_folder())
            .or_default()
            .extend(spans.iter().copied());
    }
    let mut out = vec![];
    for (key, folder, place) in log_keys {
        let Some(spans) = spans_by_folder.get(folder.as_ref()) else {
            continue;
        };
        if referenced.contains(&key_id(key)) {
            continue;
        }
        let inside = match place {
            LogPlace::Named(t) => spans
                .iter()
                .any(|s| *t >= s.start && t.add_secs(UNREFERENCED_END_MARGIN) <= s.end),
            LogPlace::Day(d) => spans.iter().any(|s| s.start < d.add_secs(24 * HOUR) && *d < s.end),
            LogPlace::Undated => !spans.is_empty(),
        };
        if !inside {
            continue;
        }
        let message = match place {
            LogPlace::Named(_) => "log file in the trail's log folder, inside the covered period, that no digest lists (injected?)",
            _ => "object with a name CloudTrail never writes, in the trail's log folder inside the covered period, that no digest lists (injected?)",
        };
        out.push(Finding::object(
            Kind::LogUnreferenced,
            ObjectRef::new(bucket, key),
            message,
        ));
    }
    out
}
