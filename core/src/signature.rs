//! Digest signatures: the string to sign and RSASSA-PKCS1-v1_5 / SHA-256.
//!
//! String to sign (AWS CloudTrail User Guide, "Validating digest files"),
//! UTF-8, `\n`-separated, no trailing newline:
//! `digestEndTime`, `digestS3Bucket/digestS3Object`, hex SHA-256 of the
//! inflated digest, `previousDigestSignature` or the literal `null`.
//!
//! Only SHA-256 DigestInfo is accepted (aws-cli v1 also accepts MD5/SHA-1).

use crate::digest::Digest;
use crate::keys::PublicKeyEntry;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::sha2::Sha256;
use rsa::signature::Verifier;

/// Where the signature that authenticated a digest came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureSource {
    /// The object's S3 user metadata (`x-amz-meta-signature`).
    Metadata,
    /// The successor digest's `previousDigestSignature`.
    Successor,
}

/// Verifies `signature_hex` (hex, surrounding whitespace ignored) over
/// `digest` with `key`; returns the signature as lowercase hex when it
/// verifies. Only [`crate::verify::Verified`]'s check calls it to trust a
/// digest.
pub fn verify_digest_signature(digest: &Digest, signature_hex: &str, key: &PublicKeyEntry) -> Option<String> {
    let signature_bytes = hex::decode(signature_hex.trim()).ok()?;
    let signature = Signature::try_from(signature_bytes.as_slice()).ok()?;
    let verifier = VerifyingKey::<Sha256>::new(key.key.clone());
    verifier.verify(&string_to_sign(digest), &signature).ok()?;
    Some(hex::encode(signature_bytes))
}

/// The CloudTrail string to sign for `digest`.
pub fn string_to_sign(digest: &Digest) -> Vec<u8> {
    let previous = digest.previous.as_ref().map_or("null", |p| p.signature_hex.as_str());
    format!(
        "{}\n{}/{}\n{}\n{}",
        digest.end_text,
        digest.s3_bucket,
        digest.s3_object,
        digest.raw_sha256_hex(),
        previous
    )
    .into_bytes()
}

/// Verifies `signature` over an already computed SHA-256 `hash` (the
/// DigestInfo must be SHA-256). Used to check real AWS signatures whose
/// signing string is not fully known.
pub fn verify_sha256_prehash(key: &PublicKeyEntry, hash: &[u8; 32], signature: &[u8]) -> bool {
    use rsa::signature::hazmat::PrehashVerifier;
    let Ok(signature) = Signature::try_from(signature) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.key.clone())
        .verify_prehash(hash, &signature)
        .is_ok()
}
