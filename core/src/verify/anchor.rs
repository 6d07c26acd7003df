//! The checkpoint a resumed chain is anchored at (see [`super::resume`]):
//! the checkpoint digest is still there with the bytes and signature that
//! were verified, and every authenticated digest that names a predecessor at
//! or before it names exactly it (else the chain forked or was
//! re-delivered). Findings name the checkpoint digest.

use super::entry::{Bucket, ReadFailure, State};
use super::index::ChainIndex;
use super::resume::Checkpoint;
use super::trust::Authenticated;
use crate::layout::{key_form, DigestKeyName, ObjectRef};
use crate::report::{Finding, Kind};

/// The checkpoint digest at `key` is gone (the one place this is said:
/// also when no digest of the chain is left at all).
pub(super) fn gone(bucket: &str, key: &str) -> Finding {
    Finding::object(
        Kind::DigestMissing,
        ObjectRef::new(bucket, key),
        "the checkpoint digest (verified by an earlier run, recorded in the state file) is gone: deleted or moved since",
    )
}

/// The anchor checks of a chain that resumes at a checkpoint (none
/// otherwise).
pub(super) fn check(ix: &ChainIndex, bucket: &Bucket, auth: &Authenticated) -> Vec<Finding> {
    let Some(a) = ix.anchor() else { return vec![] };
    let here = ObjectRef::new(&bucket.name, &a.key);
    let mut findings = vec![];
    match ix.find(&a.key).map(|i| &ix.entries()[i]) {
        None => findings.push(gone(&bucket.name, &a.key)),
        Some(e) => match &e.state {
            State::Unreadable(ReadFailure::NotFound) => findings.push(gone(&bucket.name, &a.key)),
            State::Unreadable(f) => findings.push(Finding::object(
                Kind::ReadError,
                &here,
                format!("the checkpoint digest could not be read again: {}", f.describe()),
            )),
            State::Malformed(why) => findings.push(Finding::object(
                Kind::DigestMalformed,
                &here,
                format!(
                    "the checkpoint digest was replaced after an earlier run verified it: it is now malformed: {why}"
                ),
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
    findings.extend(successors(ix, bucket, auth, a));
    findings
}

/// Every authenticated regular digest in range that names a predecessor at
/// or before the checkpoint must name the checkpoint, with its hash and
/// signature.
fn successors(ix: &ChainIndex, bucket: &Bucket, auth: &Authenticated, a: &Checkpoint) -> Vec<Finding> {
    let here = ObjectRef::new(&bucket.name, &a.key);
    let anchor_key = key_form(&a.key, ix.local_copy());
    let anchor_time = DigestKeyName::parse(&a.key).map_or(a.end, |n| n.time);
    let mut findings = vec![];
    for v in auth.iter() {
        if v.is_backfill() || !ix.in_range(v.entry().window()) {
            continue;
        }
        let d = v.digest();
        let Some(p) = d.previous.as_ref() else { continue };
        let p_time = DigestKeyName::parse(&p.object).map_or(d.start, |n| n.time);
        if p_time > anchor_time {
            continue;
        }
        let successor = ObjectRef::new(&bucket.name, v.key());
        if p.bucket != bucket.name || key_form(&p.object, ix.local_copy()) != anchor_key {
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
