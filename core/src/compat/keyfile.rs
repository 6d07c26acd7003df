//! Saved public keys, answered the way `ListPublicKeys` would answer
//! aws-cli: entries whose validity overlaps the requested window, with the
//! `Fingerprint` and base64 `Value` exactly as listed (aws-cli checks
//! neither).
//!
//! Deliberately not the strict reader ([`crate::keys::Keyring`] and its
//! [`crate::keys::ListedKey`]s): aws-cli's semantics differ — fingerprints
//! and values are passed through unchecked (a mislisted key is still
//! offered), unparsable validity times are ignored rather than rejected,
//! and a `{region: ...}` map answers for the client region only. Both share
//! the validity-time reader (`entry_time`) and the MD5 fingerprint.

use super::ApiPublicKey;
use crate::keys::{entry_time, md5_hex};
use crate::time::Timestamp;
use base64::Engine as _;
use serde_json::Value;

/// One saved key with its validity window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedKey {
    /// The entry as the API returns it.
    pub key: ApiPublicKey,
    /// `ValidityStartTime`.
    pub valid_from: Option<Timestamp>,
    /// `ValidityEndTime`.
    pub valid_to: Option<Timestamp>,
}

/// Reads a key file: list-public-keys JSON (`PublicKeyList` or
/// `publicKeyList`; a `{region: ...}` map gives the `region` list), or PEM /
/// DER keys (fingerprint = MD5 of the DER, no validity window).
pub fn saved_keys(bytes: &[u8], region: &str) -> Result<Vec<SavedKey>, String> {
    let text = bytes.trim_ascii();
    if text.starts_with(b"{") || text.starts_with(b"[") {
        let doc: Value = serde_json::from_slice(text).map_err(|e| e.to_string())?;
        let list = match &doc {
            Value::Object(m) => match m.get("PublicKeyList").or_else(|| m.get("publicKeyList")) {
                Some(l) => l.clone(),
                None => match m.get(region) {
                    Some(Value::Object(r)) => r
                        .get("PublicKeyList")
                        .or_else(|| r.get("publicKeyList"))
                        .cloned()
                        .unwrap_or(Value::Null),
                    Some(other) => other.clone(),
                    None => Value::Null,
                },
            },
            other => other.clone(),
        };
        let entries = list.as_array().cloned().unwrap_or_default();
        return Ok(entries
            .iter()
            .filter_map(|e| {
                let o = e.as_object()?;
                Some(SavedKey {
                    key: ApiPublicKey {
                        fingerprint: o.get("Fingerprint")?.as_str()?.to_string(),
                        value: o.get("Value")?.as_str()?.to_string(),
                    },
                    valid_from: entry_time(o.get("ValidityStartTime")).ok().flatten(),
                    valid_to: entry_time(o.get("ValidityEndTime")).ok().flatten(),
                })
            })
            .collect());
    }
    let ders: Vec<Vec<u8>> = if text.starts_with(b"-----BEGIN") {
        pem::parse_many(text)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|p| p.into_contents())
            .collect()
    } else {
        vec![bytes.to_vec()]
    };
    Ok(ders
        .into_iter()
        .map(|der| SavedKey {
            key: ApiPublicKey {
                fingerprint: md5_hex(&der),
                value: base64::engine::general_purpose::STANDARD.encode(&der),
            },
            valid_from: None,
            valid_to: None,
        })
        .collect())
}

/// The keys `ListPublicKeys(start, end)` returns: validity overlapping the window.
pub fn in_window(keys: &[SavedKey], start: Timestamp, end: Timestamp) -> Vec<ApiPublicKey> {
    keys.iter()
        .filter(|k| k.valid_from.is_none_or(|f| f <= end) && k.valid_to.is_none_or(|t| t >= start))
        .map(|k| k.key.clone())
        .collect()
}
