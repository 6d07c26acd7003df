//! Phase 1: from the listed keys, which digests to load and which objects of
//! the selected chains' log folders matter.

use super::bounds::LOAD_MARGIN;
use super::options::Options;
use crate::layout::{candidate_log_folders, log_place, ChainId, DigestKeyName, LogPlace};
use crate::time::{Timestamp, HOUR};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Phase 1: what to load.
#[derive(Debug, Clone)]
pub(super) struct Plan {
    pub(super) digests: Vec<(String, DigestKeyName)>,
    /// Objects in the selected chains' log folders: key, folder (shared
    /// by every key in it), place.
    pub(super) log_keys: Vec<(String, Arc<str>, LogPlace)>,
    pub(super) selected: BTreeSet<ChainId>,
}

impl Plan {
    /// Classifies listed keys. Digests of chains that are not selected but
    /// share a selected chain's digest folder are loaded too, only to know
    /// which logs they list (for `log_unreferenced`).
    pub(super) fn new(keys: impl IntoIterator<Item = String>, opts: &Options) -> Plan {
        let mut digests = Vec::new();
        let mut others = Vec::new();
        for key in keys {
            if let Some(name) = DigestKeyName::parse(&key) {
                digests.push((key, name));
            } else if key.contains("CloudTrail/") {
                // Possibly in a log folder: placed once the selected
                // chains are known.
                others.push(key);
            }
        }
        // A chain that resumes at a checkpoint is checked even when none
        // of its digests is listed any more (the checkpoint was deleted).
        let resumed = opts
            .scopes
            .iter()
            .filter(|(_, scope)| scope.anchor.is_some())
            .map(|(c, _)| c);
        let selected: BTreeSet<ChainId> = digests
            .iter()
            .map(|(_, n)| &n.chain)
            .chain(resumed)
            .filter(|c| opts.selects(c))
            .cloned()
            .collect();
        let folders: BTreeSet<String> = selected.iter().map(ChainId::digest_folder).collect();
        digests.retain(|(_, n)| {
            // Other trails' digests in a selected folder: over the whole
            // listed period (they only say which logs are theirs).
            let window = if selected.contains(&n.chain) {
                opts.window_of(&n.chain)
            } else {
                opts.listing_window()
            };
            // A resumed chain needs nothing older than its checkpoint.
            let anchor = opts.scopes.get(&n.chain).and_then(|s| s.anchor.as_ref());
            let from = anchor.map(|a| DigestKeyName::parse(&a.key).map_or(a.end, |k| k.time));
            folders.contains(&n.chain.digest_folder()) && in_load_window(n.time, window, from)
        });
        digests.sort_by(|a, b| a.0.cmp(&b.0));
        // Every object in a selected chain's log folder, well-named or not:
        // an injected `x.json` is as much an injection as a log-named one.
        let log_folders: BTreeMap<String, Arc<str>> = selected
            .iter()
            .map(|c| (c.log_folder(), Arc::from(c.log_folder())))
            .collect();
        let mut log_keys: Vec<(String, Arc<str>, LogPlace)> = others
            .into_iter()
            .filter_map(|key| {
                let folder = candidate_log_folders(&key)
                    .into_iter()
                    .find_map(|f| log_folders.get(f))?
                    .clone();
                let place = log_place(&key, &folder);
                Some((key, folder, place))
            })
            .collect();
        log_keys.sort();
        Plan {
            digests,
            log_keys,
            selected,
        }
    }

    /// Digest keys the front end must load (with their metadata).
    pub(super) fn digest_keys(&self) -> impl Iterator<Item = &str> {
        self.digests.iter().map(|(k, _)| k.as_str())
    }
}

/// A digest named for `t` may matter to a chain whose range is `window`
/// (from `from` on when given: a checkpoint).
fn in_load_window(t: Timestamp, window: (Option<Timestamp>, Option<Timestamp>), from: Option<Timestamp>) -> bool {
    let (start, end) = window;
    let after_start = match from {
        Some(f) => t >= f,
        None => start.is_none_or(|s| t >= s.add_secs(-LOAD_MARGIN)),
    };
    after_start && end.is_none_or(|e| t <= e.add_secs(LOAD_MARGIN + HOUR))
}
