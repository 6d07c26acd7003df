//! The checks of one digest chain: each digest (readable, well-formed, in
//! place, signed), the links between them (hash, signature, missing digests
//! by pointer and by hourly cadence) and the coverage of the requested range.

use super::{describe_failure, merge, Entry, Metadata, ReadFailure, State, MAX_MISSING_PER_GAP, NOT_YET_DUE};
use crate::keys::{KeyLookup, Keyring};
use crate::layout::{collapse_slashes, hourly_back, ChainId, DigestKeyName, ObjectRef};
use crate::report::{Finding, Interval, Kind};
use crate::signature::{SignatureSource, VerifiedDigest};
use crate::time::{Timestamp, HOUR};
use std::collections::{BTreeMap, BTreeSet};

/// One chain's digests (indices into `entries`) and its requested range.
pub(super) struct ChainCheck<'a> {
    chain: &'a ChainId,
    idx: &'a [usize],
    entries: &'a [Entry],
    bucket: &'a str,
    range: Interval,
    /// Where each digest was found.
    found: BTreeMap<&'a str, usize>,
    /// Where each digest says it belongs (`digestS3Bucket`, `digestS3Object`).
    claims: BTreeMap<(&'a str, &'a str), usize>,
}

impl<'a> ChainCheck<'a> {
    /// Indexes the chain's digests by location and by claimed location.
    pub(super) fn new(
        chain: &'a ChainId,
        idx: &'a [usize],
        entries: &'a [Entry],
        bucket: &'a str,
        range: Interval,
    ) -> Self {
        let found = idx.iter().map(|&i| (entries[i].key.as_str(), i)).collect();
        let claims = idx
            .iter()
            .filter_map(|&i| {
                entries[i]
                    .digest()
                    .map(|d| ((d.s3_bucket.as_str(), d.s3_object.as_str()), i))
            })
            .collect();
        ChainCheck {
            chain,
            idx,
            entries,
            bucket,
            range,
            found,
            claims,
        }
    }

    /// The window overlaps the requested range.
    pub(super) fn in_range(&self, w: Interval) -> bool {
        w.end > self.range.start && w.start < self.range.end
    }

    fn obj(&self, key: &str) -> ObjectRef {
        ObjectRef::new(self.bucket, key)
    }

    /// The digest found at `bucket/key`, else the one claiming that place.
    fn resolve(&self, b: &str, k: &str) -> Option<usize> {
        if b == self.bucket {
            if let Some(&i) = self.found.get(k) {
                return Some(i);
            }
        }
        self.claims.get(&(b, k)).copied()
    }

    /// For each digest, the digests that name it as their predecessor.
    fn successors(&self) -> BTreeMap<usize, Vec<usize>> {
        let mut successors: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &j in self.idx {
            if let Some(p) = self.entries[j].digest().and_then(|d| d.previous.as_ref()) {
                if let Some(i) = self.resolve(&p.bucket, &p.object) {
                    if i != j {
                        successors.entry(i).or_default().push(j);
                    }
                }
            }
        }
        successors
    }

    /// Step 1: each digest in range. Returns its findings and the digests
    /// whose signature verified.
    pub(super) fn digests(&self, keyring: &Keyring) -> (Vec<Finding>, BTreeMap<usize, VerifiedDigest>) {
        let (idx, entries, bucket) = (self.idx, self.entries, self.bucket);
        let obj = |key: &str| self.obj(key);
        let in_range = |w: Interval| self.in_range(w);
        let successors = self.successors();
        let mut findings: Vec<Finding> = vec![];
        let mut verified: BTreeMap<usize, VerifiedDigest> = BTreeMap::new();
        // 1. Each digest in range: readable, well-formed, in place, signed.
        for &i in idx {
            let e = &entries[i];
            if !in_range(e.window()) {
                continue;
            }
            let here = obj(&e.key);
            let d = match &e.state {
                State::Unreadable(ReadFailure::Unsafe) => {
                    findings.push(Finding::object(
                        Kind::ReadError,
                        &here,
                        "digest key resolves outside the local copy; not read",
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
            // A local copy cannot tell `a//b` from `a/b` (sync writes both to one file).
            let same_key = d.s3_object == e.key || collapse_slashes(&d.s3_object) == collapse_slashes(&e.key);
            if d.s3_bucket != bucket || !same_key || d.account_id != e.name.chain.account {
                findings.push(Finding::object(
                    Kind::DigestMoved,
                    &here,
                    format!(
                        "digest says it was delivered to s3://{}/{} (account {}), but was found here",
                        d.s3_bucket, d.s3_object, d.account_id
                    ),
                ));
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
            let signed_at = match (e.name.backfill, e.metadata.get("backfill-generation-timestamp")) {
                (true, Some(ts)) => Timestamp::parse_user(ts).unwrap_or(d.end),
                _ => d.end,
            };
            let key = match keyring.lookup(&d.fingerprint, &e.name.chain.region, signed_at) {
                KeyLookup::Found(k) => k,
                KeyLookup::NotValidThen => {
                    findings.push(Finding::object(
                        Kind::DigestKeyUnknown,
                        &here,
                        format!(
                            "public key {} is known but not valid for region {} at {signed_at}",
                            d.fingerprint, e.name.chain.region
                        ),
                    ));
                    continue;
                }
                KeyLookup::Unknown => {
                    findings.push(Finding::object(
                        Kind::DigestKeyUnknown,
                        &here,
                        format!(
                            "no public key with fingerprint {} (add it with --public-keys)",
                            d.fingerprint
                        ),
                    ));
                    continue;
                }
            };
            let meta_sig = e.metadata.get("signature");
            let meta_alg = e.metadata.get("signature-algorithm");
            let meta_verified = meta_sig.map(|s| {
                if meta_alg.is_some_and(|a| a != "SHA256withRSA") {
                    return None;
                }
                VerifiedDigest::verify(d, s, key, SignatureSource::Metadata)
            });
            let succ: &[usize] = successors.get(&i).map(Vec::as_slice).unwrap_or_default();
            let succ_verified = succ.iter().find_map(|&j| {
                let p = entries[j].digest()?.previous.as_ref()?;
                VerifiedDigest::verify(d, &p.signature_hex, key, SignatureSource::Successor)
            });
            match (&meta_verified, &succ_verified) {
                (Some(None), vouched) => findings.push(Finding::object(
                    Kind::DigestSignatureInvalid,
                    &here,
                    if vouched.is_some() {
                        "the signature in the object's S3 metadata does not verify (the content itself is vouched for by the next digest)".to_string()
                    } else {
                        format!("signature does not verify with key {}: the digest or its signature was altered", d.fingerprint)
                    },
                )),
                (None, None) if !succ.is_empty() => findings.push(Finding::object(
                    Kind::DigestSignatureInvalid,
                    &here,
                    "the signature recorded by the next digest (previousDigestSignature) does not verify: the digest was altered",
                )),
                (None, None) => findings.push(Finding::object(
                    Kind::DigestUnsigned,
                    &here,
                    match &e.metadata {
                        Metadata::Unreadable(why) => format!("no usable signature: {why}; no later digest vouches for it"),
                        _ => "no signature: the object has no S3 metadata signature and no later digest vouches for it".to_string(),
                    },
                )),
                _ => {}
            }
            if let Some(v) = meta_verified.flatten().or(succ_verified) {
                verified.insert(i, v);
            }
        }

        (findings, verified)
    }

    /// Step 2: the links, from every digest that names a predecessor.
    /// Returns the findings and the keys of the missing digests.
    pub(super) fn links(&self) -> (Vec<Finding>, BTreeSet<String>) {
        let (idx, entries, bucket, chain) = (self.idx, self.entries, self.bucket, self.chain);
        let obj = |key: &str| self.obj(key);
        let in_range = |w: Interval| self.in_range(w);
        let resolve = |b: &str, k: &str| self.resolve(b, k);
        let mut findings: Vec<Finding> = vec![];
        // 2. Chain links, from every digest that names a predecessor.
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for &j in idx {
            let Some(d) = entries[j].digest() else { continue };
            let Some(p) = d.previous.as_ref() else { continue };
            match resolve(&p.bucket, &p.object) {
                Some(i) => {
                    let prev = &entries[i];
                    let Some(pd) = prev.digest() else { continue };
                    if !in_range(prev.window()) {
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
                None if p.bucket != bucket => {}
                None => {
                    let p_time = DigestKeyName::parse(&p.object)
                        .filter(|n| &n.chain == chain)
                        .map_or(d.start, |n| n.time);
                    if in_range(Interval {
                        start: p_time.add_secs(-HOUR),
                        end: p_time,
                    }) {
                        missing.insert(p.object.clone());
                    }
                    // Several in a row: the hourly cadence names the others,
                    // back to the newest older digest that is present.
                    let older = idx
                        .iter()
                        .map(|&k| &entries[k])
                        .filter(|e| !e.name.backfill && e.name.time < p_time.add_secs(-HOUR / 2))
                        .map(|e| e.name.time)
                        .max();
                    if let Some(a_time) = older {
                        for t in hourly_back(p_time.add_secs(-HOUR), a_time.add_secs(HOUR / 2), MAX_MISSING_PER_GAP) {
                            if in_range(Interval {
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
        for key in &missing {
            findings.push(Finding::object(
                Kind::DigestMissing,
                obj(key),
                "digest is missing: the chain or the hourly cadence says it must exist (deleted?)",
            ));
        }

        (findings, missing)
    }

    /// Step 3: the covered intervals (clipped to the range) and the gaps,
    /// up to `now` minus what is not yet due.
    pub(super) fn coverage(
        &self,
        verified: &BTreeMap<usize, VerifiedDigest>,
        now: Timestamp,
    ) -> (Vec<Interval>, Vec<Finding>) {
        let (idx, entries, chain, range) = (self.idx, self.entries, self.chain, self.range);
        let obj = |key: &str| self.obj(key);
        let mut findings: Vec<Finding> = vec![];
        // 3. Coverage by authenticated digests.
        let mut spans: Vec<Interval> = idx
            .iter()
            .filter(|i| verified.contains_key(i))
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
        let due_end = range.end.min(now.add_secs(-NOT_YET_DUE));
        let mut cursor = range.start;
        for c in covered.iter().chain(std::iter::once(&Interval {
            start: due_end,
            end: due_end,
        })) {
            let gap_end = c.start.min(due_end);
            if cursor < gap_end {
                findings.push(Finding::interval(
                    Kind::CoverageGap,
                    obj(&chain.digest_folder()),
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
