//! The keyring: CloudTrail public keys by fingerprint.
//!
//! Sources: `aws cloudtrail list-public-keys` JSON (`PublicKeyList`, or the
//! User Guide's `publicKeyList`; times as ISO strings, epoch numbers or epoch
//! strings; also `{region: [...]}` and `{region: {"PublicKeyList": [...]}}`
//! maps), PEM files (`RSA PUBLIC KEY` = PKCS#1, `PUBLIC KEY` = SPKI) and raw
//! DER. The fingerprint is the lowercase hex MD5 of the DER bytes exactly as
//! given (holds for every real AWS key, PKCS#1 and SPKI alike); a listed
//! fingerprint that does not match is rejected, never trusted.

use crate::time::{Timestamp, HOUR};
use base64::Engine as _;
use md5::{Digest as _, Md5};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use serde_json::Value;
use std::collections::BTreeMap;

/// Largest key file accepted (the full real key set is about 1 MB).
pub const MAX_KEY_FILE: usize = 64 * 1024 * 1024;

/// A key file that cannot be used at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Larger than [`MAX_KEY_FILE`].
    #[error("{0}: key file is larger than {MAX_KEY_FILE} bytes")]
    TooLarge(String),
    /// Neither list-public-keys JSON, PEM nor DER.
    #[error("{0}: not a public-key list (list-public-keys JSON), PEM or DER key: {1}")]
    Unrecognized(String, String),
}

/// One usable public key.
#[derive(Debug, Clone)]
pub struct PublicKeyEntry {
    /// Lowercase hex MD5 of `der`.
    pub fingerprint: String,
    /// The DER bytes as given (PKCS#1 or SPKI).
    pub der: Vec<u8>,
    /// The RSA key.
    pub key: rsa::PublicKey,
    /// `ValidityStartTime`, when listed.
    pub valid_from: Option<Timestamp>,
    /// `ValidityEndTime`, when listed.
    pub valid_to: Option<Timestamp>,
    /// The region the key list was for, when the file says.
    pub region: Option<String>,
    /// Where the key came from (file name and entry), for messages.
    pub source: String,
}

/// One entry of a public-key list, structured as `ListPublicKeys` answers
/// it (the S3 front end builds these from the API response; key files are
/// parsed into them). Nothing in it is trusted until
/// [`Keyring::add_listed`] has checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    /// `Fingerprint` as listed (hex MD5 of `der`, any case).
    pub fingerprint: String,
    /// `Value`: the DER bytes (PKCS#1 or SPKI).
    pub der: Vec<u8>,
    /// `ValidityStartTime`.
    pub valid_from: Option<Timestamp>,
    /// `ValidityEndTime`.
    pub valid_to: Option<Timestamp>,
    /// The region the list was fetched for (keys are per region), if known.
    pub region: Option<String>,
    /// Where it came from, for messages.
    pub source: String,
}

/// Outcome of looking a fingerprint up.
#[derive(Debug, Clone)]
pub enum KeyLookup<'a> {
    /// A key with that fingerprint, valid at the signing time.
    Found(&'a PublicKeyEntry),
    /// Keys with that fingerprint exist, but none is valid at that time
    /// (or for that region).
    NotValidThen,
    /// No key with that fingerprint.
    Unknown,
}

/// Public keys by fingerprint, plus the entries that were rejected.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    by_fingerprint: BTreeMap<String, Vec<PublicKeyEntry>>,
    rejected: Vec<String>,
}

/// A digest may be signed a little after its end time, with a key whose
/// validity began in between; allow that much before `ValidityStartTime`.
const START_GRACE: i64 = HOUR;

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of usable keys.
    pub fn len(&self) -> usize {
        self.by_fingerprint.values().map(Vec::len).sum()
    }

    /// True when no key is usable.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every usable key, by fingerprint.
    pub fn entries(&self) -> impl Iterator<Item = &PublicKeyEntry> {
        self.by_fingerprint.values().flatten()
    }

    /// Entries that were skipped, with the reason (fingerprint mismatch,
    /// undecodable key...): front ends print them as warnings.
    pub fn rejected(&self) -> &[String] {
        &self.rejected
    }

    /// Adds every key in one file (`name` is used in messages). Returns the
    /// number of keys added.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) -> Result<usize, KeyFileError> {
        if bytes.len() > MAX_KEY_FILE {
            return Err(KeyFileError::TooLarge(name.to_string()));
        }
        let before = self.len();
        let trimmed = trim_ascii(bytes);
        if trimmed.starts_with(b"{") || trimmed.starts_with(b"[") {
            let value: Value =
                serde_json::from_slice(trimmed).map_err(|e| KeyFileError::Unrecognized(name.into(), e.to_string()))?;
            self.add_json(name, &value, None);
        } else if trimmed.starts_with(b"-----BEGIN") {
            let blocks =
                pem::parse_many(trimmed).map_err(|e| KeyFileError::Unrecognized(name.into(), e.to_string()))?;
            for (i, block) in blocks.iter().enumerate() {
                self.add_bare_der(&format!("{name} PEM block {}", i + 1), block.contents());
            }
        } else {
            self.add_bare_der(name, bytes);
        }
        // An empty list, or entries that were rejected (see `rejected()`),
        // is not an error: digests that need a key get `digest_key_unknown`.
        Ok(self.len() - before)
    }

    /// Finds the key for `fingerprint` that may have signed at `at`.
    /// `region` is the digest's delivery region; keys whose list names
    /// another region are not used for it (CloudTrail keys are per region).
    pub fn lookup(&self, fingerprint: &str, region: &str, at: Timestamp) -> KeyLookup<'_> {
        let Some(entries) = self.by_fingerprint.get(&fingerprint.to_ascii_lowercase()) else {
            return KeyLookup::Unknown;
        };
        entries
            .iter()
            .find(|e| {
                e.region.as_deref().is_none_or(|r| r == region)
                    && e.valid_from.is_none_or(|f| f.add_secs(-START_GRACE) <= at)
                    && e.valid_to.is_none_or(|t| at <= t)
            })
            .map_or(KeyLookup::NotValidThen, KeyLookup::Found)
    }

    fn add_json(&mut self, name: &str, value: &Value, region: Option<&str>) {
        match value {
            Value::Array(list) => {
                for (i, entry) in list.iter().enumerate() {
                    self.add_json_entry(&format!("{name} entry {}", i + 1), entry, region);
                }
            }
            Value::Object(map) => {
                if let Some(list) = map.get("PublicKeyList").or_else(|| map.get("publicKeyList")) {
                    self.add_json(name, list, region);
                } else if map.contains_key("Value") {
                    self.add_json_entry(name, value, region);
                } else if region.is_none() {
                    // {region: [...]} or {region: {"PublicKeyList": [...]}}
                    for (r, inner) in map {
                        self.add_json(&format!("{name} [{r}]"), inner, Some(r));
                    }
                }
            }
            _ => {}
        }
    }

    fn add_json_entry(&mut self, name: &str, entry: &Value, region: Option<&str>) {
        match parse_json_entry(entry, region, name) {
            Ok(listed) => {
                let _ = self.add_listed(listed);
            }
            Err(why) => self.rejected.push(format!("{name}: {why}")),
        }
    }

    /// Adds one structured list entry after checking it: its fingerprint
    /// must be the MD5 of its DER, and the DER an RSA public key (PKCS#1 or
    /// SPKI). A rejected entry is also recorded in [`rejected`](Self::rejected).
    pub fn add_listed(&mut self, listed: ListedKey) -> Result<(), String> {
        let fingerprint = md5_hex(&listed.der);
        let checked = if listed.fingerprint.eq_ignore_ascii_case(&fingerprint) {
            decode_key(&listed.der)
        } else {
            Err(format!(
                "listed fingerprint {} is not the MD5 of the key ({fingerprint}); key rejected",
                listed.fingerprint
            ))
        };
        match checked {
            Ok(key) => {
                self.insert(PublicKeyEntry {
                    fingerprint,
                    der: listed.der,
                    key,
                    valid_from: listed.valid_from,
                    valid_to: listed.valid_to,
                    region: listed.region,
                    source: listed.source,
                });
                Ok(())
            }
            Err(why) => {
                self.rejected.push(format!("{}: {why}", listed.source));
                Err(why)
            }
        }
    }

    /// A key file without a listed fingerprint: register the key under the
    /// MD5 of both its PKCS#1 and its SPKI encodings, since either may be
    /// what CloudTrail's fingerprint was computed over.
    fn add_bare_der(&mut self, name: &str, der: &[u8]) {
        let key = match decode_key(der) {
            Ok(k) => k,
            Err(why) => {
                self.rejected.push(format!("{name}: {why}"));
                return;
            }
        };
        let mut encodings = vec![der.to_vec()];
        if let Ok(pkcs1) = rsa::pkcs1::EncodeRsaPublicKey::to_pkcs1_der(&key) {
            encodings.push(pkcs1.as_bytes().to_vec());
        }
        if let Ok(spki) = rsa::pkcs8::EncodePublicKey::to_public_key_der(&key) {
            encodings.push(spki.as_bytes().to_vec());
        }
        encodings.dedup();
        for enc in encodings {
            let fingerprint = md5_hex(&enc);
            if self
                .by_fingerprint
                .get(&fingerprint)
                .is_some_and(|v| v.iter().any(|e| e.der == enc))
            {
                continue;
            }
            self.insert(PublicKeyEntry {
                fingerprint,
                der: enc,
                key: key.clone(),
                valid_from: None,
                valid_to: None,
                region: None,
                source: name.to_string(),
            });
        }
    }

    fn insert(&mut self, e: PublicKeyEntry) {
        self.by_fingerprint.entry(e.fingerprint.clone()).or_default().push(e);
    }
}

fn parse_json_entry(entry: &Value, region: Option<&str>, name: &str) -> Result<ListedKey, String> {
    let obj = entry.as_object().ok_or("not an object")?;
    let value = obj.get("Value").and_then(Value::as_str).ok_or("no Value")?;
    let compact: String = value.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("Value is not base64: {e}"))?;
    let fingerprint = obj
        .get("Fingerprint")
        .and_then(Value::as_str)
        .ok_or("no Fingerprint")?
        .to_string();
    Ok(ListedKey {
        fingerprint,
        der,
        valid_from: entry_time(obj.get("ValidityStartTime"))?,
        valid_to: entry_time(obj.get("ValidityEndTime"))?,
        region: region.map(str::to_string),
        source: name.to_string(),
    })
}

/// ISO string, epoch number, or epoch string (`"1436317441.0"`).
pub(crate) fn entry_time(v: Option<&Value>) -> Result<Option<Timestamp>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .map(|f| Some(Timestamp::from_unix(f.floor() as i64)))
            .ok_or_else(|| "bad validity time".into()),
        Some(Value::String(s)) => {
            if let Ok(f) = s.parse::<f64>() {
                if f.is_finite() {
                    return Ok(Some(Timestamp::from_unix(f.floor() as i64)));
                }
            }
            Timestamp::parse_user(s).map(Some).map_err(|e| e.to_string())
        }
        Some(_) => Err("bad validity time".into()),
    }
}

/// PKCS#1 `RSAPublicKey` or SPKI DER.
fn decode_key(der: &[u8]) -> Result<rsa::PublicKey, String> {
    rsa::PublicKey::from_pkcs1_der(der)
        .or_else(|_| rsa::PublicKey::from_public_key_der(der))
        .map_err(|_| "not a PKCS#1 or SPKI RSA public key".to_string())
}

/// Lowercase hex MD5.
pub fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}
