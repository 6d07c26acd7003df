//! The checks of one digest chain, in two steps:
//!
//! 1. [`ChainCheck::signatures`]: which digests are authentic. This step
//!    depends on nothing but the digests' own bytes, their S3 metadata and
//!    the keyring, so its result can decide everything else (which bucket
//!    the trail delivers to, which logs are referenced).
//! 2. [`ChainCheck::digests`], [`ChainCheck::links`] and
//!    [`ChainCheck::coverage`]: each digest (readable, well-formed, in
//!    place), the links between them (hash, signature, missing digests by
//!    pointer and by hourly cadence) and the coverage of the requested range
//!    by authenticated *regular* digests.
//!
//! Rule: nothing an unauthenticated object says changes the judgement of an
//! authenticated one. Link findings (`chain_hash_mismatch`,
//! `chain_signature_mismatch`) are only raised by authenticated successors.

use super::analysis::{describe_failure, merge, Entry, State};
use super::resume::Checkpoint;
use super::{Metadata, ReadFailure, MAX_MISSING_PER_GAP};
use crate::keys::{KeyLookup, Keyring};
use crate::layout::{hourly_back, key_form, ChainId, DigestKeyName, ObjectRef};
use crate::report::{Finding, Interval, Kind};
use crate::signature::{SignatureSource, VerifiedDigest};
use crate::time::{Timestamp, HOUR};
use std::collections::{BTreeMap, BTreeSet};

/// The bucket findings name, and whether digests are judged against it.
#[derive(Debug, Clone)]
pub(super) struct Bucket {
    /// The name used in `s3://BUCKET/KEY`.
    pub(super) name: String,
    /// True when the name is authoritative (`--s3-bucket`, or what the
    /// authenticated digests of the selected chains say). When false (no
    /// digest could be authenticated), a digest naming another bucket is not
    /// called moved: nothing trustworthy says which bucket is right.
    pub(super) judged: bool,
}

/// The outcome of step 1 for one chain.
#[derive(Default)]
pub(super) struct Signatures {
    /// Digests whose signature verified.
    pub(super) verified: BTreeMap<usize, VerifiedDigest>,
    /// Signature findings (kind, message) per digest in range.
    notes: BTreeMap<usize, Vec<(Kind, String)>>,
}

/// One chain's digests (indices into `entries`) and its requested range.
pub(super) struct ChainCheck<'a> {
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

impl<'a> ChainCheck<'a> {
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
        ChainCheck {
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
    pub(super) fn anchor_checkpoint(&self) -> Option<&'a Checkpoint> {
        self.anchor
    }

    /// The chain checked.
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

    /// Its requested range.
    pub(super) fn range(&self) -> Interval {
        self.range
    }

    /// The window overlaps the requested range.
    pub(super) fn in_range(&self, w: Interval) -> bool {
        w.end > self.range.start && w.start < self.range.end
    }

    /// The digest found at `key` (never one that merely claims that place:
    /// a digest found elsewhere is moved, and its place is empty).
    fn find(&self, key: &str) -> Option<usize> {
        self.found.get(key_form(key, self.local_copy).as_ref()).copied()
    }

    /// For each digest, the digests that name its key as their predecessor.
    /// Matched by key only: which bucket is right is decided later, and a
    /// previousDigestSignature that verifies proves the content whoever
    /// carries it.
    fn successors(&self) -> BTreeMap<usize, Vec<usize>> {
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

    /// Step 1: which digests in range are authentic.
    ///
    /// The key is chosen by fingerprint at the signing time, and every time
    /// used for that is authenticated or bounded: a regular digest's end
    /// time is covered by the very signature it selects the key for, and
    /// must not lie after `now`; a backfill digest's generation time comes
    /// from unsigned S3 metadata and must lie between the digest's end time
    /// and `now`, else the digest is unverifiable.
    pub(super) fn signatures(&self, keyring: &Keyring, now: Timestamp) -> Signatures {
        let entries = self.entries;
        let successors = self.successors();
        let mut out = Signatures::default();
        for &i in self.idx {
            let e = &entries[i];
            if !self.in_range(e.window()) {
                continue;
            }
            let State::Parsed(d) = &e.state else { continue };
            let mut note = |kind: Kind, message: String| out.notes.entry(i).or_default().push((kind, message));
            if d.end > now {
                note(
                    Kind::DigestKeyUnknown,
                    format!(
                        "digest ends at {}, after the current time {now}: the clock or the evidence is wrong; not verified",
                        d.end
                    ),
                );
                continue;
            }
            let meta_sig = e.metadata.get("signature");
            let succ: &[usize] = successors.get(&i).map(Vec::as_slice).unwrap_or_default();
            let signed_at = if e.name.backfill {
                if meta_sig.is_none() && succ.is_empty() {
                    note(
                        Kind::DigestUnsigned,
                        "no signature: the backfill digest has no S3 metadata signature".to_string(),
                    );
                    continue;
                }
                match backfill_signing_time(&e.metadata, d.end, now) {
                    Ok(t) => t,
                    Err(why) => {
                        note(Kind::DigestKeyUnknown, why);
                        continue;
                    }
                }
            } else {
                d.end
            };
            let key = match keyring.lookup(&d.fingerprint, &e.name.chain.region, signed_at) {
                KeyLookup::Found(k) => k,
                KeyLookup::NotValidThen => {
                    note(
                        Kind::DigestKeyUnknown,
                        format!(
                            "public key {} is known but not valid for region {} at {signed_at}",
                            d.fingerprint, e.name.chain.region
                        ),
                    );
                    continue;
                }
                KeyLookup::Unknown => {
                    note(
                        Kind::DigestKeyUnknown,
                        format!(
                            "no public key with fingerprint {} (add it with --public-keys)",
                            d.fingerprint
                        ),
                    );
                    continue;
                }
            };
            let meta_alg = e.metadata.get("signature-algorithm");
            let meta_verified = meta_sig.map(|s| {
                if meta_alg.is_some_and(|a| a != "SHA256withRSA") {
                    return None;
                }
                VerifiedDigest::verify(d, s, key, SignatureSource::Metadata)
            });
            // One RSA verification is enough: the successor's copy of the
            // signature is only needed when the metadata's does not verify.
            let meta_ok = matches!(meta_verified, Some(Some(_)));
            let succ_verified = succ.iter().filter(|_| !meta_ok).find_map(|&j| {
                let p = entries[j].digest()?.previous.as_ref()?;
                VerifiedDigest::verify(d, &p.signature_hex, key, SignatureSource::Successor)
            });
            match (&meta_verified, &succ_verified) {
                (Some(None), vouched) => note(
                    Kind::DigestSignatureInvalid,
                    if vouched.is_some() {
                        "the signature in the object's S3 metadata does not verify (the content itself is vouched for by the next digest)".to_string()
                    } else {
                        format!("signature does not verify with key {}: the digest or its signature was altered", d.fingerprint)
                    },
                ),
                (None, None) if !succ.is_empty() => note(
                    Kind::DigestSignatureInvalid,
                    "the signature recorded by the next digest (previousDigestSignature) does not verify: the digest was altered".to_string(),
                ),
                (None, None) => note(
                    Kind::DigestUnsigned,
                    match &e.metadata {
                        Metadata::Unreadable(why) => format!("no usable signature: {why}; no later digest vouches for it"),
                        _ => "no signature: the object has no S3 metadata signature and no later digest vouches for it".to_string(),
                    },
                ),
                _ => {}
            }
            if let Some(v) = meta_verified.flatten().or(succ_verified) {
                out.verified.insert(i, v);
            }
        }
        out
    }

    /// Step 2a: each digest in range: readable, well-formed, in place, and
    /// the signature findings of step 1. Returns the findings and the places
    /// that authenticated but moved digests say they belong to and where
    /// nothing was found (those digests are missing there).
    pub(super) fn digests(&self, bucket: &Bucket, sigs: &Signatures) -> (Vec<Finding>, BTreeSet<String>) {
        let mut findings = vec![];
        let mut vacated = BTreeSet::new();
        for &i in self.idx {
            let e = &self.entries[i];
            if !self.in_range(e.window()) {
                continue;
            }
            let here = ObjectRef::new(&bucket.name, &e.key);
            let d = match &e.state {
                State::Unreadable(ReadFailure::Unsafe) => {
                    findings.push(Finding::object(
                        Kind::ReadError,
                        &here,
                        "digest key cannot be read safely from this source (it resolves outside the copy); not read",
                    ));
                    continue;
                }
                State::Unreadable(f) => {
                    findings.push(Finding::object(
                        Kind::ReadError,
                        &here,
                        format!("digest could not be read: {}", describe_failure(f)),
                    ));
                    continue;
                }
                State::Malformed(why) => {
                    findings.push(Finding::object(
                        Kind::DigestMalformed,
                        &here,
                        format!("digest is malformed: {why}"),
                    ));
                    continue;
                }
                State::Parsed(d) => d,
            };
            let same_bucket = !bucket.judged || d.s3_bucket == bucket.name;
            if !same_bucket || !e.in_place(self.local_copy) {
                findings.push(Finding::object(
                    Kind::DigestMoved,
                    &here,
                    format!(
                        "digest says it was delivered to s3://{}/{} (account {}), but was found here",
                        d.s3_bucket, d.s3_object, d.account_id
                    ),
                ));
                // Its signature binds the place it names: when that place
                // is in this chain and empty, a digest is missing there.
                let claimed_here = DigestKeyName::parse(&d.s3_object).is_some_and(|n| &n.chain == self.chain);
                if sigs.verified.contains_key(&i)
                    && d.s3_bucket == bucket.name
                    && claimed_here
                    && self.find(&d.s3_object).is_none()
                {
                    vacated.insert(d.s3_object.clone());
                }
            }
            if d.previous.is_none() && !e.name.backfill {
                findings.push(Finding::object(
                    Kind::ChainRestart,
                    &here,
                    format!(
                        "starting digest: the chain (re)starts at {}; logging or validation was (re)enabled",
                        d.start
                    ),
                ));
            }
            for (kind, message) in sigs.notes.get(&i).map(Vec::as_slice).unwrap_or_default() {
                findings.push(Finding::object(*kind, &here, message.clone()));
            }
        }
        (findings, vacated)
    }

    /// Step 2b: the links, from every digest that names a predecessor, and
    /// the missing digests (by pointer, by the hourly cadence, and the places
    /// moved digests left empty). Returns the findings and the keys of the
    /// missing digests.
    pub(super) fn links(
        &self,
        bucket: &Bucket,
        verified: &BTreeMap<usize, VerifiedDigest>,
        vacated: BTreeSet<String>,
    ) -> (Vec<Finding>, BTreeSet<String>) {
        let (idx, entries, chain) = (self.idx, self.entries, self.chain);
        let obj = |key: &str| ObjectRef::new(&bucket.name, key);
        let mut findings: Vec<Finding> = vec![];
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for key in vacated {
            let t = DigestKeyName::parse(&key).map(|n| n.time);
            if t.is_some_and(|t| {
                self.in_range(Interval {
                    start: t.add_secs(-HOUR),
                    end: t,
                })
            }) {
                missing.insert(key);
            }
        }
        for &j in idx {
            let Some(d) = entries[j].digest() else { continue };
            let Some(p) = d.previous.as_ref() else { continue };
            if bucket.judged && p.bucket != bucket.name {
                // Points into another bucket: nothing here to compare with.
                continue;
            }
            match self.find(&p.object) {
                Some(i) => {
                    // Only an authenticated successor may accuse its
                    // predecessor: an injected digest must not make an
                    // authentic one look tampered.
                    if !verified.contains_key(&j) {
                        continue;
                    }
                    let prev = &entries[i];
                    let Some(pd) = prev.digest() else { continue };
                    if !self.in_range(prev.window()) {
                        continue;
                    }
                    if pd.raw_sha256 != p.hash {
                        findings.push(Finding::object(
                            Kind::ChainHashMismatch,
                            obj(&prev.key),
                            format!(
                                "{} records previousDigestHashValue {} but this digest hashes to {}",
                                obj(&entries[j].key),
                                hex::encode(p.hash),
                                pd.raw_sha256_hex()
                            ),
                        ));
                    }
                    if let Some(sig) = prev.metadata.get("signature") {
                        if !sig.trim().eq_ignore_ascii_case(&p.signature_hex) {
                            findings.push(Finding::object(
                                Kind::ChainSignatureMismatch,
                                obj(&prev.key),
                                format!("the signature in this digest's S3 metadata differs from the previousDigestSignature recorded by {}", obj(&entries[j].key)),
                            ));
                        }
                    }
                }
                None => {
                    let p_time = DigestKeyName::parse(&p.object)
                        .filter(|n| &n.chain == chain)
                        .map_or(d.start, |n| n.time);
                    if self.in_range(Interval {
                        start: p_time.add_secs(-HOUR),
                        end: p_time,
                    }) {
                        missing.insert(p.object.clone());
                    }
                    // Several in a row: the hourly cadence names the others,
                    // back to the newest older regular digest that is present
                    // (a backfill digest never stands in for a regular one).
                    let older = idx
                        .iter()
                        .map(|&k| &entries[k])
                        .filter(|e| !e.name.backfill && e.name.time < p_time.add_secs(-HOUR / 2))
                        .map(|e| e.name.time)
                        .max();
                    if let Some(a_time) = older {
                        for t in hourly_back(p_time.add_secs(-HOUR), a_time.add_secs(HOUR / 2), MAX_MISSING_PER_GAP) {
                            if self.in_range(Interval {
                                start: t.add_secs(-HOUR),
                                end: t,
                            }) {
                                missing.insert(chain.digest_key(t));
                            }
                        }
                    }
                }
            }
        }
        // The trail's own word: digests were delivered up to `delivered`,
        // so every hour after the newest regular digest present, up to
        // then, must exist (a deleted newest digest, even without an end
        // time that demands coverage).
        if let Some(delivered) = self.delivered {
            let newest = idx
                .iter()
                .map(|&k| &entries[k])
                .filter(|e| !e.name.backfill)
                .map(|e| e.name.time)
                .max();
            if let Some(newest) = newest {
                let mut t = newest.add_secs(HOUR);
                let mut named = 0;
                // A digest's key time (its end) precedes its delivery; the
                // margin absorbs the cadence's drift of seconds to minutes.
                while t.add_secs(DELIVERY_MARGIN) <= delivered && named < MAX_MISSING_PER_GAP {
                    if self.in_range(Interval {
                        start: t.add_secs(-HOUR),
                        end: t,
                    }) {
                        missing.insert(chain.digest_key(t));
                    }
                    t = t.add_secs(HOUR);
                    named += 1;
                }
            }
        }
        for key in &missing {
            findings.push(Finding::object(
                Kind::DigestMissing,
                obj(key),
                "digest is missing: the chain or the hourly cadence says it must exist (deleted?)",
            ));
        }
        (findings, missing)
    }

    /// Step 2c, for a chain that resumes at a checkpoint: the checkpoint
    /// digest is still there with the bytes and signature that were
    /// verified, and every authenticated digest that names a predecessor at
    /// or before it names exactly it (else the chain forked or was
    /// re-delivered). Findings name the checkpoint digest.
    pub(super) fn anchor(&self, bucket: &Bucket, verified: &BTreeMap<usize, VerifiedDigest>) -> Vec<Finding> {
        let Some(a) = self.anchor else { return vec![] };
        let here = ObjectRef::new(&bucket.name, &a.key);
        let mut findings = vec![];
        let gone = || {
            Finding::object(
                Kind::DigestMissing,
                &here,
                "the checkpoint digest (verified by an earlier run, recorded in the state file) is gone: deleted or moved since",
            )
        };
        match self.find(&a.key).map(|i| &self.entries[i]) {
            None => findings.push(gone()),
            Some(e) => match &e.state {
                State::Unreadable(ReadFailure::NotFound) => findings.push(gone()),
                State::Unreadable(f) => findings.push(Finding::object(
                    Kind::ReadError,
                    &here,
                    format!("the checkpoint digest could not be read again: {}", describe_failure(f)),
                )),
                State::Malformed(why) => findings.push(Finding::object(
                    Kind::DigestMalformed,
                    &here,
                    format!("the checkpoint digest was replaced after an earlier run verified it: it is now malformed: {why}"),
                )),
                State::Parsed(d) => {
                    if d.raw_sha256_hex() != a.sha256 {
                        findings.push(Finding::object(
                            Kind::ChainHashMismatch,
                            &here,
                            format!(
                                "the checkpoint digest now hashes to {}, but hashed to {} when an earlier run verified it (state file): replaced",
                                d.raw_sha256_hex(),
                                a.sha256
                            ),
                        ));
                    }
                    if let Some(sig) = e.metadata.get("signature") {
                        if !sig.trim().eq_ignore_ascii_case(&a.signature) {
                            findings.push(Finding::object(
                                Kind::ChainSignatureMismatch,
                                &here,
                                "the signature in the checkpoint digest's S3 metadata differs from the one an earlier run verified (state file)",
                            ));
                        }
                    }
                }
            },
        }
        let anchor_key = key_form(&a.key, self.local_copy);
        let anchor_time = DigestKeyName::parse(&a.key).map_or(a.end, |n| n.time);
        for &j in self.idx {
            let e = &self.entries[j];
            if e.name.backfill || !verified.contains_key(&j) || !self.in_range(e.window()) {
                continue;
            }
            let Some(d) = e.digest() else { continue };
            let Some(p) = d.previous.as_ref() else { continue };
            let p_time = DigestKeyName::parse(&p.object).map_or(d.start, |n| n.time);
            if p_time > anchor_time {
                continue;
            }
            let successor = ObjectRef::new(&bucket.name, &e.key);
            if p.bucket != bucket.name || key_form(&p.object, self.local_copy) != anchor_key {
                findings.push(Finding::object(
                    Kind::ChainHashMismatch,
                    &here,
                    format!(
                        "{successor} continues the chain from s3://{}/{}, not from the checkpoint digest an earlier run verified: the chain forked or was re-delivered",
                        p.bucket, p.object
                    ),
                ));
                continue;
            }
            if hex::encode(p.hash) != a.sha256 {
                findings.push(Finding::object(
                    Kind::ChainHashMismatch,
                    &here,
                    format!(
                        "{successor} records previousDigestHashValue {}, but the checkpoint digest an earlier run verified hashed to {}",
                        hex::encode(p.hash),
                        a.sha256
                    ),
                ));
            }
            if !p.signature_hex.trim().eq_ignore_ascii_case(&a.signature) {
                findings.push(Finding::object(
                    Kind::ChainSignatureMismatch,
                    &here,
                    format!("{successor} records a previousDigestSignature that differs from the checkpoint digest's verified signature"),
                ));
            }
        }
        findings
    }

    /// Step 3: the covered intervals (clipped to the range) and the gaps up
    /// to `due_end`. Coverage comes from authenticated *regular* digests
    /// only: a backfill digest supplements its hour (it lists logs that came
    /// late) and never stands in for the regular digest of that hour.
    pub(super) fn coverage(
        &self,
        bucket: &Bucket,
        verified: &BTreeMap<usize, VerifiedDigest>,
        due_end: Timestamp,
    ) -> (Vec<Interval>, Vec<Finding>) {
        let (idx, entries, chain, range) = (self.idx, self.entries, self.chain, self.range);
        let mut findings: Vec<Finding> = vec![];
        let mut spans: Vec<Interval> = idx
            .iter()
            .filter(|i| verified.contains_key(i) && !entries[**i].name.backfill)
            .map(|&i| entries[i].window())
            .collect();
        spans.sort();
        let merged = merge(&spans);
        let covered: Vec<Interval> = merged
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
}

/// `GetTrailStatus`: a digest is expected only when the trail delivered
/// one at least this long after its key time.
const DELIVERY_MARGIN: i64 = 5 * 60;

/// The signing time of a backfill digest: its `backfill-generation-timestamp`
/// metadata, which S3 does not authenticate, so it is accepted only between
/// the digest's own end time and `now`.
fn backfill_signing_time(metadata: &Metadata, end: Timestamp, now: Timestamp) -> Result<Timestamp, String> {
    let Some(text) = metadata.get("backfill-generation-timestamp") else {
        return Err(
            "backfill digest without backfill-generation-timestamp metadata: its signing time, and so its key, cannot be established"
                .to_string(),
        );
    };
    let Ok(t) = Timestamp::parse_user(text) else {
        return Err(format!(
            "backfill-generation-timestamp {text:?} is not a time: the signing key cannot be chosen"
        ));
    };
    if t < end || t > now {
        return Err(format!(
            "backfill-generation-timestamp {t} lies outside [digestEndTime {end}, now {now}]: the signing time is not credible; not verified"
        ));
    }
    Ok(t)
}
