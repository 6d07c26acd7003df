//! Findings, verdict and the report (SPEC §6–§8), plus the [`Sink`] through
//! which front ends receive results as they are produced.
//!
//! Findings are data; errors (`crate::Error`) are for "could not run".

use crate::layout::ObjectRef;
use crate::time::Timestamp;
use serde::Serialize;
use std::fmt;

/// The fixed finding vocabulary of SPEC §6 (plus `valid`, listed with `--verbose`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Kind {
    /// SHA-256 of the uncompressed log differs from the digest's hashValue.
    LogModified,
    /// A listed log file does not exist.
    LogMissing,
    /// Not gzip, corrupt, truncated, or data after the gzip stream.
    LogMalformed,
    /// A digest the chain or the hourly cadence says must exist does not.
    DigestMissing,
    /// Not gzip / not JSON / required field missing or mistyped / trailing data.
    DigestMalformed,
    /// The RSA signature does not verify.
    DigestSignatureInvalid,
    /// digestS3Bucket/digestS3Object differ from where the object was found.
    DigestMoved,
    /// previousDigestHashValue differs from the SHA-256 of the previous digest.
    ChainHashMismatch,
    /// previousDigestSignature differs from the previous digest's metadata signature.
    ChainSignatureMismatch,
    /// No signature available (newest digest without metadata).
    DigestUnsigned,
    /// No public key with that fingerprint (valid at that time).
    DigestKeyUnknown,
    /// Part of the requested range no verified digest covers.
    CoverageGap,
    /// The object could not be read; never reported as tampering.
    ReadError,
    /// A starting digest inside the range.
    ChainRestart,
    /// A log file in the trail's log folder, in the covered range, that no digest lists.
    LogUnreferenced,
    /// A verified object (listed only with `--verbose`).
    Valid,
}

/// How a finding weighs on the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// Evidence of tampering: verdict `invalid`.
    Violation,
    /// Something could not be verified: verdict `incomplete`.
    Unverifiable,
    /// Worth knowing, no effect on the verdict.
    Notice,
    /// A verified object (`--verbose`).
    Valid,
}

impl Kind {
    /// Every kind a finding can have, in declaration order, `Valid` last:
    /// the one list that metrics, the report schema, the docs and the
    /// tests are checked against (`all_lists_every_kind` keeps it complete).
    pub const ALL: [Kind; 16] = [
        Kind::LogModified,
        Kind::LogMissing,
        Kind::LogMalformed,
        Kind::DigestMissing,
        Kind::DigestMalformed,
        Kind::DigestSignatureInvalid,
        Kind::DigestMoved,
        Kind::ChainHashMismatch,
        Kind::ChainSignatureMismatch,
        Kind::DigestUnsigned,
        Kind::DigestKeyUnknown,
        Kind::CoverageGap,
        Kind::ReadError,
        Kind::ChainRestart,
        Kind::LogUnreferenced,
        Kind::Valid,
    ];

    /// The kinds of the contract's vocabulary: [`Kind::ALL`] without
    /// `Valid` (which only `--verbose` lists).
    pub fn vocabulary() -> impl Iterator<Item = Kind> {
        Kind::ALL.into_iter().filter(|k| *k != Kind::Valid)
    }

    /// The class SPEC §6 assigns to this kind.
    pub fn class(self) -> Class {
        use Kind::*;
        match self {
            LogModified
            | LogMissing
            | LogMalformed
            | DigestMissing
            | DigestMalformed
            | DigestSignatureInvalid
            | DigestMoved
            | ChainHashMismatch
            | ChainSignatureMismatch => Class::Violation,
            DigestUnsigned | DigestKeyUnknown | CoverageGap | ReadError => Class::Unverifiable,
            ChainRestart | LogUnreferenced => Class::Notice,
            Valid => Class::Valid,
        }
    }

    /// The snake_case name used in JSON and text output.
    pub fn name(self) -> &'static str {
        use Kind::*;
        match self {
            LogModified => "log_modified",
            LogMissing => "log_missing",
            LogMalformed => "log_malformed",
            DigestMissing => "digest_missing",
            DigestMalformed => "digest_malformed",
            DigestSignatureInvalid => "digest_signature_invalid",
            DigestMoved => "digest_moved",
            ChainHashMismatch => "chain_hash_mismatch",
            ChainSignatureMismatch => "chain_signature_mismatch",
            DigestUnsigned => "digest_unsigned",
            DigestKeyUnknown => "digest_key_unknown",
            CoverageGap => "coverage_gap",
            ReadError => "read_error",
            ChainRestart => "chain_restart",
            LogUnreferenced => "log_unreferenced",
            Valid => "valid",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Class {
    /// The snake_case name used in JSON and text output.
    pub fn name(self) -> &'static str {
        match self {
            Class::Violation => "violation",
            Class::Unverifiable => "unverifiable",
            Class::Notice => "notice",
            Class::Valid => "valid",
        }
    }
}

/// One finding (SPEC §8 `findings[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What was found.
    pub kind: Kind,
    /// Its class (derived from `kind`).
    pub class: Class,
    /// The object concerned (for `coverage_gap`, the chain's digest folder),
    /// rendered as `s3://bucket/key` at the edges (text, JSON).
    pub object: Option<ObjectRef>,
    /// A sentence for people.
    pub message: String,
    /// Start of the interval (`coverage_gap`), else `None`.
    pub start: Option<Timestamp>,
    /// End of the interval (`coverage_gap`), else `None`.
    pub end: Option<Timestamp>,
    /// What the user can do about it, for the front end to say in its own
    /// words ([`Hint`]); not part of the report (the message is neutral).
    #[serde(skip)]
    pub hint: Option<Hint>,
}

/// What a user can do about a finding, named by the core and worded by
/// each front end (the core's messages name no flag, file or button of any
/// front end): the CLI adds its flags, the page its own words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Hint {
    /// The signing key is not among the keys given: add it.
    AddPublicKey,
    /// The message begins with the region the user asked for (say how it
    /// was asked).
    RequestedRegion,
}

impl Finding {
    /// A finding about one object.
    pub fn object(kind: Kind, object: impl Into<ObjectRef>, message: impl Into<String>) -> Self {
        Finding {
            kind,
            class: kind.class(),
            object: Some(object.into()),
            message: message.into(),
            start: None,
            end: None,
            hint: None,
        }
    }

    /// A finding about an interval.
    pub fn interval(
        kind: Kind,
        object: impl Into<ObjectRef>,
        start: Timestamp,
        end: Timestamp,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            kind,
            class: kind.class(),
            object: Some(object.into()),
            message: message.into(),
            start: Some(start),
            end: Some(end),
            hint: None,
        }
    }

    /// The same finding with a [`Hint`] for the front end.
    pub fn with_hint(mut self, hint: Option<Hint>) -> Self {
        self.hint = hint;
        self
    }

    /// Rewrites the message of every hinted finding in the front end's
    /// words (`render` gets the hint and the neutral message).
    pub fn render_hint(&mut self, render: impl Fn(Hint, &str) -> String) {
        if let Some(h) = self.hint {
            self.message = render(h, &self.message);
        }
    }

    /// Findings are sorted by object as rendered, then start, then kind.
    fn sort_key(&self) -> (Option<String>, Option<Timestamp>, Kind) {
        (self.object.as_ref().map(ToString::to_string), self.start, self.kind)
    }
}

/// The overall result (SPEC §6 "Verdict").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Everything in range verified.
    Valid,
    /// At least one violation.
    Invalid,
    /// No violation, but something could not be verified.
    Incomplete,
}

impl Verdict {
    /// Strict-mode exit code (SPEC §7).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Valid => 0,
            Verdict::Invalid => 1,
            Verdict::Incomplete => 2,
        }
    }

    /// `valid` / `invalid` / `incomplete`.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Valid => "valid",
            Verdict::Invalid => "invalid",
            Verdict::Incomplete => "incomplete",
        }
    }

    /// The verdict for a set of findings (`allow_gaps` ignores `coverage_gap`).
    pub fn of(findings: &[Finding], allow_gaps: bool) -> Verdict {
        if findings.iter().any(|f| f.class == Class::Violation) {
            Verdict::Invalid
        } else if findings
            .iter()
            .any(|f| f.class == Class::Unverifiable && !(allow_gaps && f.kind == Kind::CoverageGap))
        {
            Verdict::Incomplete
        } else {
            Verdict::Valid
        }
    }
}

/// A time interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Interval {
    /// Start (inclusive).
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
}

/// A covered interval of one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Covered {
    /// Start.
    pub start: Timestamp,
    /// End.
    pub end: Timestamp,
    /// The chain (digest folder, trail, home region).
    pub chain: String,
}

/// Counts of one object type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Objects considered.
    pub total: u64,
    /// Verified.
    pub valid: u64,
    /// With a violation.
    pub invalid: u64,
    /// Not verifiable.
    pub unverified: u64,
}

/// `summary` of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Digest counts (missing digests count as invalid).
    pub digests: Counts,
    /// Log counts.
    pub logs: Counts,
}

/// The JSON report (SPEC §8), schema 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Always 1.
    pub schema: u32,
    /// The verdict.
    pub verdict: Verdict,
    /// The requested range (union over chains when defaults are per chain).
    pub requested: Option<Interval>,
    /// Covered intervals, per chain.
    pub covered: Vec<Covered>,
    /// Counts.
    pub summary: Summary,
    /// Findings, sorted by object, start, kind.
    pub findings: Vec<Finding>,
    /// Uncompressed log bytes hashed (for throughput reports).
    pub log_bytes_hashed: u64,
    /// Earlier periods re-verified in the same run (`--recheck`), per
    /// chain; their findings are among `findings`. Absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rechecked: Vec<Covered>,
}

impl Report {
    /// Assembles a report; sorts the findings and derives the verdict.
    pub fn new(
        requested: Option<Interval>,
        covered: Vec<Covered>,
        summary: Summary,
        mut findings: Vec<Finding>,
        allow_gaps: bool,
        log_bytes_hashed: u64,
    ) -> Report {
        findings.sort_by_cached_key(Finding::sort_key);
        let verdict = Verdict::of(&findings, allow_gaps);
        Report {
            schema: 1,
            verdict,
            requested,
            covered,
            summary,
            findings,
            log_bytes_hashed,
            rechecked: vec![],
        }
    }

    /// Adds the results of a second pass of the same run over earlier
    /// periods (`periods`, a re-verification): its findings, counts and
    /// covered intervals; the verdict is derived again over all findings.
    pub fn absorb(&mut self, other: Report, periods: Vec<Covered>, allow_gaps: bool) {
        self.findings.extend(other.findings);
        self.findings.sort_by_cached_key(Finding::sort_key);
        self.verdict = Verdict::of(&self.findings, allow_gaps);
        self.covered.extend(other.covered);
        for (mine, theirs) in [
            (&mut self.summary.digests, other.summary.digests),
            (&mut self.summary.logs, other.summary.logs),
        ] {
            mine.total += theirs.total;
            mine.valid += theirs.valid;
            mine.invalid += theirs.invalid;
            mine.unverified += theirs.unverified;
        }
        self.log_bytes_hashed += other.log_bytes_hashed;
        self.rechecked.extend(periods);
    }

    /// Words every hinted finding's message in the front end's terms
    /// ([`Finding::render_hint`]).
    pub fn render_hints(&mut self, render: impl Fn(Hint, &str) -> String) {
        for f in &mut self.findings {
            f.render_hint(&render);
        }
    }

    /// The report as one JSON object.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

/// Receives results as verification produces them (push model): progress
/// bars, streaming text output, the browser table.
pub trait Sink {
    /// A finding was produced (also `valid` objects, for verbose output).
    fn finding(&mut self, finding: &Finding);
    /// One more log object was hashed (`bytes` uncompressed; 0 when it
    /// could not be read or was not needed).
    fn log_done(&mut self, _bytes: u64) {}
    /// One more digest was loaded.
    fn digest_loaded(&mut self) {}
    /// The digests are verified; this many logs are to be hashed.
    fn logs_planned(&mut self, _vouched: u64) {}
}

/// A sink that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NullSink;

impl Sink for NullSink {
    fn finding(&mut self, _finding: &Finding) {}
}

#[cfg(test)]
mod tests {
    /// [`Kind::ALL`] is exactly the declared variants, in order (read from
    /// this file: `Kind` is `#[non_exhaustive]`, so other crates cannot
    /// match it exhaustively, and a list can silently fall behind).
    #[test]
    fn all_lists_every_kind() {
        let source = include_str!("report.rs");
        let body = source
            .split_once("pub enum Kind {")
            .and_then(|(_, rest)| rest.split_once("\n}"))
            .map(|(body, _)| body)
            .expect("`pub enum Kind { ... }`");
        let declared: Vec<&str> = body
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with("#["))
            .map(|l| l.trim_end_matches(','))
            .collect();
        let listed: Vec<String> = super::Kind::ALL.iter().map(|k| format!("{k:?}")).collect();
        assert_eq!(declared, listed, "Kind::ALL must list every Kind, in order");
        let names: std::collections::BTreeSet<&str> = super::Kind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), super::Kind::ALL.len(), "names are unique");
    }

    use super::*;

    #[test]
    fn verdict_rules() {
        let t = Timestamp::from_unix(0);
        let gap = Finding::interval(Kind::CoverageGap, ObjectRef::new("b", ""), t, t, "gap");
        let notice = Finding::object(Kind::ChainRestart, ObjectRef::new("b", "k"), "restart");
        let bad = Finding::object(Kind::LogModified, ObjectRef::new("b", "l"), "modified");
        assert_eq!(Verdict::of(std::slice::from_ref(&notice), false), Verdict::Valid);
        assert_eq!(Verdict::of(&[notice.clone(), gap.clone()], false), Verdict::Incomplete);
        assert_eq!(Verdict::of(std::slice::from_ref(&gap), true), Verdict::Valid);
        assert_eq!(Verdict::of(&[gap, bad], true), Verdict::Invalid);
    }

    #[test]
    fn json_names() {
        let f = Finding::object(Kind::DigestSignatureInvalid, ObjectRef::new("b", "k"), "m");
        let v: serde_json::Value = serde_json::to_value(&f).unwrap();
        assert_eq!(v["kind"], "digest_signature_invalid");
        assert_eq!(v["class"], "violation");
        assert_eq!(v["start"], serde_json::Value::Null);
    }
}
