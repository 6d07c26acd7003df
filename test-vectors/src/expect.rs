//! Expected results: finding kinds (SPEC §6), CLI arguments and the
//! derivation of the findings that follow from the chain layout
//! (`chain_restart`, `coverage_gap`) plus verdict and exit code.
//!
//! Violations are planted explicitly by each scenario; only the findings that
//! are a pure function of which digests exist and are authenticated are
//! computed here, so the expectations stay independent of ctverify's code.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use crate::json::Json;
use crate::model::{Scenario, Trail, BUCKET};
use crate::time::{self, Time, HOUR};

/// Finding kinds of strict mode (SPEC §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// SHA-256 of the uncompressed log differs from `hashValue`.
    LogModified,
    /// A listed log does not exist.
    LogMissing,
    /// A log is not gzip, is corrupt or truncated, or has data after it.
    LogMalformed,
    /// A digest the chain or the hourly cadence requires does not exist.
    DigestMissing,
    /// A digest is not gzip / not JSON / lacks a field / has trailing data.
    DigestMalformed,
    /// A digest's RSA signature does not verify.
    DigestSignatureInvalid,
    /// A digest was found somewhere else than `digestS3Object`.
    DigestMoved,
    /// `previousDigestHashValue` differs from the previous digest's hash.
    ChainHashMismatch,
    /// `previousDigestSignature` differs from the previous digest's metadata.
    ChainSignatureMismatch,
    /// No signature available for the newest digest.
    DigestUnsigned,
    /// No public key with the digest's fingerprint.
    DigestKeyUnknown,
    /// Part of the requested range no authenticated digest covers.
    CoverageGap,
    /// An object could not be read (or must never be read).
    ReadError,
    /// A starting digest inside the range.
    ChainRestart,
    /// A log in the trail's log folder that no digest lists.
    LogUnreferenced,
}

/// Class of a finding kind, which drives the verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    /// Tampering or corruption.
    Violation,
    /// Something could not be verified.
    Unverifiable,
    /// Informational.
    Notice,
}

impl Kind {
    /// The stable name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Kind::LogModified => "log_modified",
            Kind::LogMissing => "log_missing",
            Kind::LogMalformed => "log_malformed",
            Kind::DigestMissing => "digest_missing",
            Kind::DigestMalformed => "digest_malformed",
            Kind::DigestSignatureInvalid => "digest_signature_invalid",
            Kind::DigestMoved => "digest_moved",
            Kind::ChainHashMismatch => "chain_hash_mismatch",
            Kind::ChainSignatureMismatch => "chain_signature_mismatch",
            Kind::DigestUnsigned => "digest_unsigned",
            Kind::DigestKeyUnknown => "digest_key_unknown",
            Kind::CoverageGap => "coverage_gap",
            Kind::ReadError => "read_error",
            Kind::ChainRestart => "chain_restart",
            Kind::LogUnreferenced => "log_unreferenced",
        }
    }

    /// The class of the kind.
    pub fn class(self) -> Class {
        match self {
            Kind::LogModified
            | Kind::LogMissing
            | Kind::LogMalformed
            | Kind::DigestMissing
            | Kind::DigestMalformed
            | Kind::DigestSignatureInvalid
            | Kind::DigestMoved
            | Kind::ChainHashMismatch
            | Kind::ChainSignatureMismatch => Class::Violation,
            Kind::DigestUnsigned | Kind::DigestKeyUnknown | Kind::CoverageGap | Kind::ReadError => Class::Unverifiable,
            Kind::ChainRestart | Kind::LogUnreferenced => Class::Notice,
        }
    }
}

/// One expected finding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Its kind.
    pub kind: Kind,
    /// `s3://BUCKET/KEY` (a folder for coverage gaps).
    pub object: String,
    /// Start of a coverage gap.
    pub start: Option<Time>,
    /// End of a coverage gap.
    pub end: Option<Time>,
}

impl Finding {
    /// A finding without an interval on object `key` of the bucket.
    pub fn on(kind: Kind, key: &str) -> Finding {
        Finding {
            kind,
            object: uri(key),
            start: None,
            end: None,
        }
    }

    /// Sort key: (object, kind, start) as the brief requires.
    fn sort_key(&self) -> (String, &'static str, Option<Time>, Option<Time>) {
        (self.object.clone(), self.kind.name(), self.start, self.end)
    }

    fn to_json(&self) -> Json {
        Json::obj([
            ("kind", Json::str(self.kind.name())),
            ("object", Json::str(&self.object)),
            ("start", Json::opt_str(self.start.map(time::iso))),
            ("end", Json::opt_str(self.end.map(time::iso))),
        ])
    }
}

/// `s3://ctv-test-bucket/KEY`.
pub fn uri(key: &str) -> String {
    format!("s3://{BUCKET}/{key}")
}

/// Extra CLI arguments of a scenario, kept structured so that the same value
/// renders the command line and selects the chains it validates.
#[derive(Clone, Debug, Default)]
pub struct Args {
    /// `--start-time`.
    pub start: Option<Time>,
    /// `--end-time`.
    pub end: Option<Time>,
    /// `--trail-arn`.
    pub trail_arn: Option<String>,
    /// `--account-id`.
    pub account: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--allow-gaps`.
    pub allow_gaps: bool,
}

impl Args {
    /// The arguments as passed to `ctverify validate`.
    pub fn to_cli(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |flag: &str, value: Option<String>| {
            if let Some(v) = value {
                out.push(flag.to_owned());
                out.push(v);
            }
        };
        push("--trail-arn", self.trail_arn.clone());
        push("--start-time", self.start.map(time::iso));
        push("--end-time", self.end.map(time::iso));
        push("--account-id", self.account.clone());
        push("--region", self.region.clone());
        if self.allow_gaps {
            out.push("--allow-gaps".to_owned());
        }
        out
    }

    /// Whether the chain of `trail` is validated under these filters.
    pub fn selects(&self, trail: &Trail) -> bool {
        if let Some(arn) = &self.trail_arn {
            if arn != &trail.arn() {
                return false;
            }
        }
        if let Some(a) = &self.account {
            if a != &trail.account {
                return false;
            }
        }
        if let Some(r) = &self.region {
            if r != &trail.region {
                return false;
            }
        }
        true
    }
}

/// Overall outcome of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Everything verified.
    Valid,
    /// At least one violation.
    Invalid,
    /// Something could not be verified.
    Incomplete,
}

impl Verdict {
    /// Report name.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// Exit code in strict mode.
    pub fn exit_code(self) -> i32 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Incomplete => 2,
        }
    }
}

/// The complete expectation of a scenario.
pub struct Expected {
    /// Sorted findings.
    pub findings: Vec<Finding>,
    /// Verdict.
    pub verdict: Verdict,
}

/// Computes the verdict from findings (SPEC §6).
pub fn verdict(findings: &[Finding], allow_gaps: bool) -> Verdict {
    if findings.iter().any(|f| f.kind.class() == Class::Violation) {
        Verdict::Invalid
    } else if findings
        .iter()
        .any(|f| f.kind.class() == Class::Unverifiable && !(allow_gaps && f.kind == Kind::CoverageGap))
    {
        Verdict::Incomplete
    } else {
        Verdict::Valid
    }
}

/// Maximal sub-intervals of `[from, to]` that none of `covered` covers.
pub fn gaps(from: Time, to: Time, covered: &[(Time, Time)]) -> Vec<(Time, Time)> {
    let mut spans: Vec<(Time, Time)> = covered.to_vec();
    spans.sort_unstable();
    let mut out = Vec::new();
    let mut cursor = from;
    for (s, e) in spans {
        if e <= cursor {
            continue;
        }
        if s > cursor {
            out.push((cursor, s.min(to)));
        }
        cursor = cursor.max(e);
        if cursor >= to {
            break;
        }
    }
    if cursor < to {
        out.push((cursor, to));
    }
    out.retain(|(s, e)| s < e);
    out
}

impl Scenario<'_> {
    /// Planted findings plus the derived `chain_restart` and `coverage_gap`
    /// findings of every selected chain, sorted, with the verdict.
    pub fn expected(&self) -> Result<Expected> {
        let mut findings = self.findings.clone();
        let chains: BTreeSet<&Trail> = self
            .digests
            .iter()
            .map(|d| &d.trail)
            .filter(|t| self.args.selects(t))
            .collect();
        for chain in chains {
            let recs: Vec<_> = self.digests.iter().filter(|d| &d.trail == chain).collect();
            // The default range is the extent of the digests present: their
            // own times, or for one that does not parse the hour before its
            // key timestamp.
            let mut windows = Vec::new();
            for d in recs.iter().filter(|d| d.present) {
                windows.push(if d.parseable {
                    (d.start, d.end)
                } else {
                    let end = key_stamp(&d.key)?;
                    (end - HOUR, end)
                });
            }
            let from = match self.args.start {
                Some(t) => t,
                None => match windows.iter().map(|w| w.0).min() {
                    Some(t) => t,
                    None => continue,
                },
            };
            let to = match self.args.end {
                Some(t) => t,
                None => match windows.iter().map(|w| w.1).max() {
                    Some(t) => t,
                    None => continue,
                },
            };
            for d in &recs {
                let in_range = d.end > from && d.start < to;
                if d.present && d.parseable && d.starting && in_range {
                    findings.push(Finding::on(Kind::ChainRestart, &d.key));
                }
            }
            let covered: Vec<(Time, Time)> = recs
                .iter()
                .filter(|d| d.present && d.authenticated && !d.backfill)
                .map(|d| (d.start, d.end))
                .collect();
            for (s, e) in gaps(from, to, &covered) {
                findings.push(Finding {
                    kind: Kind::CoverageGap,
                    object: uri(&chain.digest_folder()),
                    start: Some(s),
                    end: Some(e),
                });
            }
        }
        self.check_planted()?;
        findings.sort_by_key(Finding::sort_key);
        let verdict = verdict(&findings, self.args.allow_gaps);
        Ok(Expected { findings, verdict })
    }

    /// Guards against planting a finding on a digest of a chain the
    /// arguments filter out.
    fn check_planted(&self) -> Result<()> {
        for f in &self.findings {
            for d in &self.digests {
                let on_it = f.object == uri(&d.key) || d.logs.iter().any(|l| f.object == uri(l));
                if on_it && !self.args.selects(&d.trail) {
                    bail!(
                        "{}: finding {} on {} of a filtered-out chain",
                        self.name,
                        f.kind.name(),
                        f.object
                    );
                }
            }
        }
        Ok(())
    }
}

/// The `YYYYMMDDTHHMMSSZ` timestamp of a digest key, as a time.
fn key_stamp(key: &str) -> Result<Time> {
    let stem = key.strip_suffix(".json.gz").unwrap_or(key);
    let stem = stem.strip_suffix("_backfill").unwrap_or(stem);
    let stamp = stem.rsplit('_').next().unwrap_or(stem);
    let b = stamp.as_bytes();
    if !stamp.is_ascii() || b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        bail!("no timestamp in digest key {key:?}");
    }
    let s = |r: std::ops::Range<usize>| &stamp[r];
    time::parse(&format!(
        "{}-{}-{}T{}:{}:{}Z",
        s(0..4),
        s(4..6),
        s(6..8),
        s(9..11),
        s(11..13),
        s(13..15)
    ))
}

/// Renders a list of findings for `expected.json`.
pub fn findings_json(findings: &[Finding]) -> Json {
    Json::Arr(findings.iter().map(Finding::to_json).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_computation() {
        assert_eq!(gaps(0, 10, &[(0, 5), (5, 10)]), vec![]);
        assert_eq!(gaps(0, 10, &[(0, 3), (5, 10)]), vec![(3, 5)]);
        assert_eq!(gaps(0, 10, &[(2, 3)]), vec![(0, 2), (3, 10)]);
        assert_eq!(gaps(0, 10, &[]), vec![(0, 10)]);
        assert_eq!(gaps(4, 6, &[(0, 5), (5, 10)]), vec![]);
    }
}
