//! Which digests are authentic: the one place a [`Verified`] digest is
//! made. Everything that trusts a digest — the chain links, the checkpoint
//! anchor, coverage, the logs a digest vouches for, the new checkpoint —
//! takes a [`Verified`], so an unauthenticated digest cannot reach it.
//!
//! This step depends on nothing but the digests' own bytes, their S3
//! metadata and the keyring, so its result can decide everything else
//! (which bucket the trail delivers to, which logs are referenced).
//!
//! The key is chosen by fingerprint at the signing time, and every time used
//! for that is authenticated or bounded: a regular digest's end time is
//! covered by the very signature it selects the key for, and must not lie
//! after `now`; a backfill digest's generation time comes from unsigned S3
//! metadata and must lie between the digest's end time and `now`, else the
//! digest is unverifiable.

use super::entry::{Entry, Metadata, State};
use super::index::ChainIndex;
use super::resume::Checkpoint;
use crate::digest::Digest;
use crate::keys::{KeyLookup, Keyring, PublicKeyEntry};
use crate::layout::ObjectRef;
use crate::report::{Hint, Interval, Kind};
use crate::signature::{verify_digest_signature, SignatureSource};
use crate::time::Timestamp;
use std::collections::BTreeMap;

/// A digest whose signature verified, holding the digest it vouches for.
/// Only the signature check of this module makes one (its fields and its
/// constructor are private), so code that holds it cannot have skipped the
/// check:
///
/// ```
/// use ctverify_core::verify::Verified;
/// // Trusting code takes a `Verified`: what it vouches for is reachable.
/// fn vouched(v: &Verified<'_>) -> usize {
///     v.vouched_logs().count()
/// }
/// ```
///
/// A parsed but unauthenticated digest cannot be made into one, nor passed
/// where one is required:
///
/// ```compile_fail,E0308
/// use ctverify_core::digest::Digest;
/// use ctverify_core::verify::Verified;
/// fn vouched(v: &Verified<'_>) -> usize {
///     v.vouched_logs().count()
/// }
/// fn skip_the_check(d: &Digest) -> usize {
///     vouched(d) // a `&Digest` is not a `&Verified`
/// }
/// ```
///
/// ```compile_fail,E0451
/// use ctverify_core::digest::Digest;
/// use ctverify_core::verify::Verified;
/// fn forge<'a>(d: &'a Digest) -> Verified<'a> {
///     Verified { digest: d, signature_hex: String::new() } // private fields
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    entry: &'a Entry,
    digest: &'a Digest,
    fingerprint: String,
    source: SignatureSource,
    signature_hex: String,
}

impl<'a> Verified<'a> {
    /// Checks `signature_hex` over the entry's digest with `key`: the only
    /// constructor.
    fn check(entry: &'a Entry, signature_hex: &str, key: &PublicKeyEntry, source: SignatureSource) -> Option<Self> {
        let digest = entry.digest()?;
        let signature_hex = verify_digest_signature(digest, signature_hex, key)?;
        Some(Verified {
            entry,
            digest,
            fingerprint: key.fingerprint.clone(),
            source,
            signature_hex,
        })
    }

    /// The authenticated digest.
    pub fn digest(&self) -> &'a Digest {
        self.digest
    }

    /// The key it was found at.
    pub fn key(&self) -> &'a str {
        &self.entry.key
    }

    /// Fingerprint of the key that verified it.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The signature that verified, lowercase hex.
    pub fn signature_hex(&self) -> &str {
        &self.signature_hex
    }

    /// Where the verifying signature came from.
    pub fn source(&self) -> SignatureSource {
        self.source
    }

    /// True for a backfill digest (it lists late logs of its hour and never
    /// stands in for the hour's regular digest).
    pub fn is_backfill(&self) -> bool {
        self.entry.name.backfill
    }

    /// The period it covers: a regular digest's own period; a backfill
    /// digest covers nothing.
    pub fn coverage(&self) -> Option<Interval> {
        (!self.is_backfill()).then_some(Interval {
            start: self.digest.start,
            end: self.digest.end,
        })
    }

    /// The logs it vouches for, with the hash each must have.
    pub fn vouched_logs(&self) -> impl Iterator<Item = (ObjectRef, [u8; 32])> + 'a {
        self.digest
            .log_files
            .iter()
            .map(|l| (ObjectRef::new(&l.bucket, &l.object), l.hash))
    }

    /// It as a checkpoint in `bucket` (regular digests only: a backfill
    /// digest is never where a chain's verified history ends).
    pub fn checkpoint(&self, bucket: &str) -> Option<Checkpoint> {
        (!self.is_backfill()).then(|| Checkpoint {
            bucket: bucket.to_string(),
            key: self.entry.key.clone(),
            end: self.digest.end,
            sha256: self.digest.raw_sha256_hex(),
            signature: self.signature_hex.clone(),
        })
    }

    /// The loaded digest it is.
    pub(super) fn entry(&self) -> &'a Entry {
        self.entry
    }
}

/// The authentic digests of one chain (by index into the run's entries),
/// and the signature findings of the others. Only [`authenticate`] makes
/// one.
pub(super) struct Authenticated<'a> {
    verified: BTreeMap<usize, Verified<'a>>,
    notes: BTreeMap<usize, Vec<Note>>,
}

/// A signature finding of one digest: kind, message, the front end's hint.
pub(super) type Note = (Kind, String, Option<Hint>);

impl<'a> Authenticated<'a> {
    /// Digest `i`, when it is authentic.
    pub(super) fn get(&self, i: usize) -> Option<&Verified<'a>> {
        self.verified.get(&i)
    }

    /// The authentic digests, oldest first.
    pub(super) fn iter(&self) -> impl Iterator<Item = &Verified<'a>> {
        self.verified.values()
    }

    /// The signature findings of digest `i`.
    pub(super) fn notes(&self, i: usize) -> &[Note] {
        self.notes.get(&i).map(Vec::as_slice).unwrap_or_default()
    }
}

/// Which digests of `chain` in its range are authentic.
pub(super) fn authenticate<'a>(chain: &ChainIndex<'a>, keyring: &Keyring, now: Timestamp) -> Authenticated<'a> {
    let entries = chain.entries();
    let successors = chain.successors();
    let mut out = Authenticated {
        verified: BTreeMap::new(),
        notes: BTreeMap::new(),
    };
    for (i, e) in chain.digests() {
        if !chain.in_range(e.window()) {
            continue;
        }
        let State::Parsed(d) = &e.state else { continue };
        let mut note = |kind: Kind, message: String, hint: Option<Hint>| {
            out.notes.entry(i).or_default().push((kind, message, hint))
        };
        if d.end > now {
            note(
                Kind::DigestKeyUnknown,
                format!(
                    "digest ends at {}, after the current time {now}: the clock or the evidence is wrong; not verified",
                    d.end
                ),
                None,
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
                    None,
                );
                continue;
            }
            match backfill_signing_time(&e.metadata, d.end, now) {
                Ok(t) => t,
                Err(why) => {
                    note(Kind::DigestKeyUnknown, why, None);
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
                    None,
                );
                continue;
            }
            KeyLookup::Unknown => {
                note(
                    Kind::DigestKeyUnknown,
                    format!("no public key with fingerprint {}", d.fingerprint),
                    Some(Hint::AddPublicKey),
                );
                continue;
            }
        };
        let meta_alg = e.metadata.get("signature-algorithm");
        let meta_verified = meta_sig.map(|s| {
            if meta_alg.is_some_and(|a| a != "SHA256withRSA") {
                return None;
            }
            Verified::check(e, s, key, SignatureSource::Metadata)
        });
        // One RSA verification is enough: the successor's copy of the
        // signature is only needed when the metadata's does not verify.
        let meta_ok = matches!(meta_verified, Some(Some(_)));
        let succ_verified = succ.iter().filter(|_| !meta_ok).find_map(|&j| {
            let p = entries[j].digest()?.previous.as_ref()?;
            Verified::check(e, &p.signature_hex, key, SignatureSource::Successor)
        });
        match (&meta_verified, &succ_verified) {
            (Some(None), vouched) => note(
                Kind::DigestSignatureInvalid,
                if vouched.is_some() {
                    "the signature in the object's S3 metadata does not verify (the content itself is vouched for by the next digest)".to_string()
                } else {
                    format!("signature does not verify with key {}: the digest or its signature was altered", d.fingerprint)
                },
                None,
            ),
            (None, None) if !succ.is_empty() => note(
                Kind::DigestSignatureInvalid,
                "the signature recorded by the next digest (previousDigestSignature) does not verify: the digest was altered".to_string(),
                None,
            ),
            (None, None) => note(
                Kind::DigestUnsigned,
                match &e.metadata {
                    Metadata::Unreadable(why) => format!("no usable signature: {why}; no later digest vouches for it"),
                    _ => "no signature: the object has no S3 metadata signature and no later digest vouches for it".to_string(),
                },
                None,
            ),
            _ => {}
        }
        if let Some(v) = meta_verified.flatten().or(succ_verified) {
            out.verified.insert(i, v);
        }
    }
    out
}

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
