//! Coverage of one chain's requested range: by authenticated *regular*
//! digests only ([`super::trust::Verified::coverage`]). A backfill digest
//! supplements its hour (it lists logs that came late) and never stands in
//! for the regular digest of that hour.

use super::entry::{merge, Bucket};
use super::index::ChainIndex;
use super::trust::Authenticated;
use crate::layout::ObjectRef;
use crate::report::{Finding, Interval, Kind};
use crate::time::Timestamp;

/// The covered intervals (clipped to the range) and the gaps up to
/// `due_end`.
pub(super) fn coverage(
    ix: &ChainIndex,
    bucket: &Bucket,
    auth: &Authenticated,
    due_end: Timestamp,
) -> (Vec<Interval>, Vec<Finding>) {
    let (chain, range) = (ix.chain(), ix.range());
    let mut findings: Vec<Finding> = vec![];
    let mut spans: Vec<Interval> = auth.iter().filter_map(|v| v.coverage()).collect();
    spans.sort();
    let covered: Vec<Interval> = merge(&spans)
        .iter()
        .filter_map(|s| {
            let c = Interval {
                start: s.start.max(range.start),
                end: s.end.min(range.end),
            };
            (c.start < c.end).then_some(c)
        })
        .collect();
    let due_end = range.end.min(due_end);
    let mut cursor = range.start;
    for c in covered.iter().chain(std::iter::once(&Interval {
        start: due_end,
        end: due_end,
    })) {
        let gap_end = c.start.min(due_end);
        if cursor < gap_end {
            findings.push(Finding::interval(
                Kind::CoverageGap,
                ObjectRef::new(&bucket.name, chain.digest_folder()),
                cursor,
                gap_end,
                format!(
                    "no authenticated digest of {} covers {cursor} to {gap_end}",
                    chain.describe()
                ),
            ));
        }
        cursor = cursor.max(c.end);
    }
    (covered, findings)
}
