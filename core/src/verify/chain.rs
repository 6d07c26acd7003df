//! The checks of one digest chain once its authentic digests are known
//! ([`super::trust`]): each digest (readable, well-formed, in place, its
//! signature findings) and the links between them (hash, signature, missing
//! digests by pointer, by the hourly cadence and by the trail's last
//! delivery).
//!
//! Rule: nothing an unauthenticated object says changes the judgement of an
//! authenticated one. Link findings (`chain_hash_mismatch`,
//! `chain_signature_mismatch`) are only raised by authenticated successors
//! ([`Verified`]).

use super::bounds::{DELIVERY_MARGIN, MAX_MISSING_PER_GAP};
use super::entry::{Bucket, ReadFailure, State};
use super::index::ChainIndex;
use super::trust::{Authenticated, Verified};
use crate::layout::{hourly_back, DigestKeyName, ObjectRef};
use crate::report::{Finding, Interval, Kind};
use crate::time::{Timestamp, HOUR};
use std::collections::BTreeSet;

/// Each digest in range: readable, well-formed, in place, and the
/// signature findings of [`super::trust::authenticate`]. Returns the
/// findings and the places that authenticated but moved digests say they
/// belong to and where nothing was found (those digests are missing there).
pub(super) fn digests(ix: &ChainIndex, bucket: &Bucket, auth: &Authenticated) -> (Vec<Finding>, BTreeSet<String>) {
    let mut findings = vec![];
    let mut vacated = BTreeSet::new();
    for (i, e) in ix.digests() {
        if !ix.in_range(e.window()) {
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
                    format!("digest could not be read: {}", f.describe()),
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
        if !same_bucket || !e.in_place(ix.local_copy()) {
            findings.push(Finding::object(
                Kind::DigestMoved,
                &here,
                format!(
                    "digest says it was delivered to s3://{}/{} (account {}), but was found here",
                    d.s3_bucket, d.s3_object, d.account_id
                ),
            ));
            // Its signature binds the place it names: when that place is
            // in this chain and empty, a digest is missing there.
            let claimed_here = DigestKeyName::parse(&d.s3_object).is_some_and(|n| &n.chain == ix.chain());
            if let Some(v) = auth.get(i) {
                let claimed = &v.digest().s3_object;
                if v.digest().s3_bucket == bucket.name && claimed_here && ix.find(claimed).is_none() {
                    vacated.insert(claimed.clone());
                }
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
        for (kind, message, hint) in auth.notes(i) {
            findings.push(Finding::object(*kind, &here, message.clone()).with_hint(*hint));
        }
    }
    (findings, vacated)
}

/// The links, from every digest that names a predecessor, and the missing
/// digests (by pointer, by the hourly cadence, by the trail's last delivery,
/// and the places moved digests left empty). Returns the findings and the
/// keys of the missing digests.
pub(super) fn links(
    ix: &ChainIndex,
    bucket: &Bucket,
    auth: &Authenticated,
    vacated: BTreeSet<String>,
) -> (Vec<Finding>, BTreeSet<String>) {
    let obj = |key: &str| ObjectRef::new(&bucket.name, key);
    let hour_in_range = |t: Timestamp| {
        ix.in_range(Interval {
            start: t.add_secs(-HOUR),
            end: t,
        })
    };
    let mut findings: Vec<Finding> = vec![];
    let mut missing: BTreeSet<String> = BTreeSet::new();
    for key in vacated {
        if DigestKeyName::parse(&key).is_some_and(|n| hour_in_range(n.time)) {
            missing.insert(key);
        }
    }
    // Only an authenticated successor may accuse its predecessor: an
    // injected digest must not make an authentic one look tampered.
    for v in auth.iter() {
        findings.extend(link(ix, bucket, v));
    }
    for (_, e) in ix.digests() {
        let Some(d) = e.digest() else { continue };
        let Some(p) = d.previous.as_ref() else { continue };
        if bucket.judged && p.bucket != bucket.name {
            // Points into another bucket: nothing here to compare with.
            continue;
        }
        if ix.find(&p.object).is_some() {
            continue;
        }
        let p_time = DigestKeyName::parse(&p.object)
            .filter(|n| &n.chain == ix.chain())
            .map_or(d.start, |n| n.time);
        if hour_in_range(p_time) {
            missing.insert(p.object.clone());
        }
        // Several in a row: the hourly cadence names the others, back to
        // the newest older regular digest that is present (a backfill
        // digest never stands in for a regular one).
        let older = ix
            .digests()
            .map(|(_, e)| e)
            .filter(|e| !e.name.backfill && e.name.time < p_time.add_secs(-HOUR / 2))
            .map(|e| e.name.time)
            .max();
        if let Some(a_time) = older {
            for t in hourly_back(p_time.add_secs(-HOUR), a_time.add_secs(HOUR / 2), MAX_MISSING_PER_GAP) {
                if hour_in_range(t) {
                    missing.insert(ix.chain().digest_key(t));
                }
            }
        }
    }
    // The trail's own word: digests were delivered up to `delivered`, so
    // every hour after the newest regular digest present, up to then, must
    // exist (a deleted newest digest, even without an end time that demands
    // coverage).
    if let Some(delivered) = ix.delivered() {
        let newest = ix
            .digests()
            .map(|(_, e)| e)
            .filter(|e| !e.name.backfill)
            .map(|e| e.name.time)
            .max();
        if let Some(newest) = newest {
            let mut t = newest.add_secs(HOUR);
            let mut named = 0;
            // A digest's key time (its end) precedes its delivery; the
            // margin absorbs the cadence's drift of seconds to minutes.
            while t.add_secs(DELIVERY_MARGIN) <= delivered && named < MAX_MISSING_PER_GAP {
                if hour_in_range(t) {
                    missing.insert(ix.chain().digest_key(t));
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

/// The link from authenticated `successor` to the predecessor found where
/// it points: the predecessor's hash, and the signature in its metadata.
fn link(ix: &ChainIndex, bucket: &Bucket, successor: &Verified) -> Vec<Finding> {
    let obj = |key: &str| ObjectRef::new(&bucket.name, key);
    let Some(p) = successor.digest().previous.as_ref() else {
        return vec![];
    };
    if bucket.judged && p.bucket != bucket.name {
        return vec![];
    }
    let Some(prev) = ix.find(&p.object).map(|i| &ix.entries()[i]) else {
        return vec![];
    };
    let Some(pd) = prev.digest() else { return vec![] };
    if !ix.in_range(prev.window()) {
        return vec![];
    }
    let mut findings = vec![];
    if pd.raw_sha256 != p.hash {
        findings.push(Finding::object(
            Kind::ChainHashMismatch,
            obj(&prev.key),
            format!(
                "{} records previousDigestHashValue {} but this digest hashes to {}",
                obj(successor.key()),
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
                format!(
                    "the signature in this digest's S3 metadata differs from the previousDigestSignature recorded by {}",
                    obj(successor.key())
                ),
            ));
        }
    }
    findings
}
