//! Hashing, gzip, PEM and RSA signing helpers.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use flate2::{Compression, GzBuilder};
use md5::Md5;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPublicKey};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{SignatureEncoding, Signer};
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Fixed compression level, so the gzip bytes never change.
const GZIP_LEVEL: u32 = 6;

/// Lowercase hex SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Lowercase hex MD5 (the CloudTrail public-key fingerprint).
pub fn md5_hex(data: &[u8]) -> String {
    hex::encode(Md5::digest(data))
}

/// One gzip member with `mtime` 0, no file name, OS 255 and a fixed level:
/// the same bytes on every run and platform.
pub fn gzip(data: &[u8]) -> Result<Vec<u8>> {
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::new(GZIP_LEVEL));
    enc.write_all(data).context("gzip")?;
    enc.finish().context("gzip")
}

/// PEM armor of `der` with a `label` (64-character lines, final newline).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// How a public key is encoded in a key list (and thus what its fingerprint
/// is computed over).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEncoding {
    /// PKCS#1 `RSAPublicKey` DER, what `ListPublicKeys` normally returns.
    Pkcs1,
    /// X.509 `SubjectPublicKeyInfo` DER, as in the AWS docs' sample response.
    Spki,
}

/// One committed test key pair.
pub struct TestKey {
    signer: SigningKey<Sha256>,
    sha1_signer: SigningKey<Sha1>,
    pkcs1_der: Vec<u8>,
    spki_der: Vec<u8>,
}

impl TestKey {
    /// Loads a PKCS#1 PEM private key (`-----BEGIN RSA PRIVATE KEY-----`).
    pub fn load(path: &Path) -> Result<TestKey> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let private =
            rsa::PrivateKey::from_pkcs1_pem(&text).map_err(|e| anyhow!("decoding {}: {e}", path.display()))?;
        let public = private.to_public_key();
        let pkcs1_der = public
            .to_pkcs1_der()
            .map_err(|e| anyhow!("encoding public key: {e}"))?
            .as_bytes()
            .to_vec();
        let spki_der = public
            .to_public_key_der()
            .map_err(|e| anyhow!("encoding public key: {e}"))?
            .as_bytes()
            .to_vec();
        Ok(TestKey {
            sha1_signer: SigningKey::<Sha1>::new(private.clone()),
            signer: SigningKey::<Sha256>::new(private),
            pkcs1_der,
            spki_der,
        })
    }

    /// RSASSA-PKCS1-v1_5 / SHA-256 signature of `msg`, lowercase hex.
    /// PKCS#1 v1.5 is deterministic, so the vectors are too.
    pub fn sign_hex(&self, msg: &[u8]) -> Result<String> {
        let sig = self.signer.try_sign(msg).map_err(|e| anyhow!("signing: {e}"))?;
        Ok(hex::encode(sig.to_vec()))
    }

    /// RSASSA-PKCS1-v1_5 / SHA-1 signature of `msg`, lowercase hex (what a
    /// verifier that pins SHA-256 must reject).
    pub fn sign_sha1_hex(&self, msg: &[u8]) -> Result<String> {
        let sig = self.sha1_signer.try_sign(msg).map_err(|e| anyhow!("signing: {e}"))?;
        Ok(hex::encode(sig.to_vec()))
    }

    /// The public key DER in the given encoding.
    pub fn public_der(&self, enc: KeyEncoding) -> &[u8] {
        match enc {
            KeyEncoding::Pkcs1 => &self.pkcs1_der,
            KeyEncoding::Spki => &self.spki_der,
        }
    }

    /// The CloudTrail fingerprint: MD5 of the DER bytes as listed.
    pub fn fingerprint(&self, enc: KeyEncoding) -> String {
        md5_hex(self.public_der(enc))
    }
}

/// The committed test keys by name (`a`, `b`, `c`, `attacker`).
pub struct Keys {
    keys: BTreeMap<String, TestKey>,
}

impl Keys {
    /// Loads every `*.pem` under `dir`.
    pub fn load_dir(dir: &Path) -> Result<Keys> {
        let mut keys = BTreeMap::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .with_context(|| format!("listing {}", dir.display()))?
            .collect::<std::io::Result<_>>()?;
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("pem") {
                continue;
            }
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| anyhow!("bad key file name {}", path.display()))?
                .to_owned();
            keys.insert(name, TestKey::load(&path)?);
        }
        Ok(Keys { keys })
    }

    /// Names of all keys, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// The key called `name`.
    pub fn get(&self, name: &str) -> Result<&TestKey> {
        self.keys.get(name).ok_or_else(|| anyhow!("no test key {name:?}"))
    }
}
