//! aws-cli v1's key handling and signature check, as python-rsa 4.7.2 and
//! CPython do them: non-strict base64, PKCS#1-only DER (SPKI is rejected,
//! trailing bytes are accepted), and `rsa.verify`, which recovers the hash
//! algorithm from the signature itself (MD5, SHA-1 and SHA-2 are accepted).
//!
//! Only the outcomes matter here (and the text of the exceptions that end
//! up in aws-cli's output); no secret is involved, so nothing needs to be
//! constant-time.

use md5::Md5;
use rsa::hazmat::rsa_encrypt;
use rsa::traits::PublicKeyParts;
use rsa::BoxedUint;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// Why a key or signature was refused, as aws-cli reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PyRsaError {
    /// pyasn1 could not load PKCS#1 DER.
    NotPkcs1,
    /// `rsa.pkcs1.VerificationError`.
    VerificationFailed,
    /// Another exception, with Python's `str(e)`.
    Other(String),
}

/// `base64.b64decode(s)` (non-strict): characters outside the alphabet are
/// discarded, then the padding is checked.
pub fn b64decode(s: &str) -> Result<Vec<u8>, String> {
    let mut vals = Vec::with_capacity(s.len());
    let mut pads = 0usize;
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                // A complete padded quad ends the data; later input is ignored
                // only in strict mode, so count it like CPython does.
                if vals.len() % 4 >= 2 {
                    pads += 1;
                    if vals.len() % 4 + pads >= 4 {
                        let bytes = decode_quads(&vals);
                        return Ok(bytes);
                    }
                }
                continue;
            }
            _ => continue,
        };
        if pads > 0 {
            pads = 0;
        }
        vals.push(v);
    }
    match vals.len() % 4 {
        0 => Ok(decode_quads(&vals)),
        1 => Err(format!(
            "Invalid base64-encoded string: number of data characters ({}) cannot be 1 more than a multiple of 4",
            vals.len()
        )),
        _ => Err("Incorrect padding".to_string()),
    }
}

fn decode_quads(vals: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(vals.len() * 3 / 4);
    for q in vals.chunks(4) {
        let mut acc = 0u32;
        for (i, v) in q.iter().enumerate() {
            acc |= u32::from(*v) << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..q.len()]);
    }
    out
}

/// A PKCS#1 `RSAPublicKey` as python-rsa loads it.
#[derive(Debug, Clone)]
pub struct PyPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

/// Reads one DER TLV; returns (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = b.split_first()?;
    let (&l0, rest) = rest.split_first()?;
    let (len, rest) = if l0 < 0x80 {
        (usize::from(l0), rest)
    } else {
        let n = usize::from(l0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        (
            rest[..n].iter().fold(0usize, |a, &x| (a << 8) | usize::from(x)),
            &rest[n..],
        )
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[i..]
}

impl PyPublicKey {
    /// `rsa.PublicKey.load_pkcs1(der, format='DER')`: SEQUENCE of two
    /// INTEGERs; bytes after the SEQUENCE are ignored (pyasn1 returns them).
    pub fn load_pkcs1(der: &[u8]) -> Result<PyPublicKey, PyRsaError> {
        let (tag, body, _rest) = tlv(der).ok_or(PyRsaError::NotPkcs1)?;
        if tag != 0x30 {
            return Err(PyRsaError::NotPkcs1);
        }
        let (t1, n, body) = tlv(body).ok_or(PyRsaError::NotPkcs1)?;
        let (t2, e, body) = tlv(body).ok_or(PyRsaError::NotPkcs1)?;
        if t1 != 0x02 || t2 != 0x02 || !body.is_empty() || n.is_empty() || e.is_empty() {
            return Err(PyRsaError::NotPkcs1);
        }
        Ok(PyPublicKey {
            n: strip_zeros(n).to_vec(),
            e: strip_zeros(e).to_vec(),
        })
    }

    /// `rsa.verify(message, signature, key)`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), PyRsaError> {
        let keylength = self.n.len();
        // core.decrypt_int is a plain pow(s, e, n): no range check, so a
        // signature >= n is reduced mod n (encrypt_int's OverflowError does
        // not apply on this path).
        let reduced = reduce_mod(strip_zeros(signature), &self.n);
        let clearsig = if reduced.is_empty() {
            vec![0u8; keylength] // 0^e mod n
        } else {
            self.raw_public(&reduced).ok_or(PyRsaError::VerificationFailed)?
        };
        let (prefix, hash) = find_method_hash(&clearsig, message).ok_or(PyRsaError::VerificationFailed)?;
        let mut cleartext = prefix.to_vec();
        cleartext.extend_from_slice(&hash);
        if cleartext.len() + 11 > keylength {
            return Err(PyRsaError::Other(format!(
                "{} bytes needed for message, but there is only space for {}",
                cleartext.len(),
                keylength.saturating_sub(11)
            )));
        }
        let mut expected = vec![0x00, 0x01];
        expected.resize(keylength - cleartext.len() - 1, 0xff);
        expected.push(0x00);
        expected.extend_from_slice(&cleartext);
        if signature.len() != keylength || expected != clearsig {
            return Err(PyRsaError::VerificationFailed);
        }
        Ok(())
    }

    /// `s^e mod n`, left-padded to the key length. `None` where the
    /// arithmetic library cannot represent the key (even modulus).
    fn raw_public(&self, s: &[u8]) -> Option<Vec<u8>> {
        if self.n.last().is_none_or(|b| b & 1 == 0) {
            return None;
        }
        let bits = u32::try_from(self.n.len() * 8).ok()?;
        let n = BoxedUint::from_be_slice(&self.n, bits).ok()?;
        let e_bits = u32::try_from(self.e.len().max(1) * 8).ok()?;
        let e = BoxedUint::from_be_slice(&self.e, e_bits).ok()?;
        let key = rsa::PublicKey::new_unchecked(n, e);
        let m = BoxedUint::from_be_slice(s, key.n_bits_precision()).ok()?;
        let c = rsa_encrypt(&key, &m).ok()?;
        let bytes = c.to_be_bytes();
        let keylength = self.n.len();
        let trimmed = strip_zeros(&bytes);
        if trimmed.len() > keylength {
            return None;
        }
        let mut out = vec![0u8; keylength - trimmed.len()];
        out.extend_from_slice(trimmed);
        Some(out)
    }
}

/// python-rsa's `_find_method_hash` (first DigestInfo prefix found anywhere
/// in the block, in HASH_ASN1 order) and the message hash with that method.
/// SHA-3 DigestInfos (also accepted by python-rsa) are not supported here.
fn find_method_hash(clearsig: &[u8], message: &[u8]) -> Option<(&'static [u8], Vec<u8>)> {
    const MD5: &[u8] = &[
        0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10,
    ];
    const SHA1: &[u8] = &[
        0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14,
    ];
    const fn sha2(len: u8, id: u8, out: u8) -> [u8; 19] {
        [
            0x30, len, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, id, 0x05, 0x00, 0x04,
            out,
        ]
    }
    const SHA224: [u8; 19] = sha2(0x2d, 0x04, 0x1c);
    const SHA256: [u8; 19] = sha2(0x31, 0x01, 0x20);
    const SHA384: [u8; 19] = sha2(0x41, 0x02, 0x30);
    const SHA512: [u8; 19] = sha2(0x51, 0x03, 0x40);
    let contains = |p: &[u8]| clearsig.windows(p.len()).any(|w| w == p);
    if contains(MD5) {
        return Some((MD5, Md5::digest(message).to_vec()));
    }
    if contains(SHA1) {
        return Some((SHA1, sha1::Sha1::digest(message).to_vec()));
    }
    if contains(&SHA224) {
        return Some((&SHA224, Sha224::digest(message).to_vec()));
    }
    if contains(&SHA256) {
        return Some((&SHA256, Sha256::digest(message).to_vec()));
    }
    if contains(&SHA384) {
        return Some((&SHA384, Sha384::digest(message).to_vec()));
    }
    if contains(&SHA512) {
        return Some((&SHA512, Sha512::digest(message).to_vec()));
    }
    None
}

/// `s mod n` for big-endian unsigned integers (leading zeros stripped).
/// Only signatures of up to the key's length matter (longer ones fail the
/// length check anyway), so `s < 256^len(n) <= 256 n` and a few hundred
/// subtractions at most are needed; longer inputs are cut to that bound.
fn reduce_mod(s: &[u8], n: &[u8]) -> Vec<u8> {
    let greater_eq = |a: &[u8], b: &[u8]| (a.len(), a) >= (b.len(), b);
    if s.len() > n.len() {
        // Longer than the key: verify() rejects it by length whatever the
        // value; keep it cheap.
        return vec![1];
    }
    let mut cur = strip_zeros(s).to_vec();
    while greater_eq(&cur, n) {
        // cur -= n (big-endian, cur >= n)
        let mut borrow = 0i16;
        let offset = cur.len() - n.len();
        for i in (0..cur.len()).rev() {
            let sub = if i >= offset { i16::from(n[i - offset]) } else { 0 };
            let mut v = i16::from(cur[i]) - sub - borrow;
            borrow = 0;
            if v < 0 {
                v += 256;
                borrow = 1;
            }
            cur[i] = v as u8;
        }
        cur = strip_zeros(&cur).to_vec();
    }
    cur
}

/// `binascii.unhexlify(s)`.
pub fn unhexlify(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("Odd-length string".into());
    }
    hex::decode(s).map_err(|_| "Non-hexadecimal digit found".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn b64_like_cpython() {
        assert_eq!(b64decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(b64decode("aGVs\nbG8=").unwrap(), b"hello");
        assert_eq!(b64decode("aGVsbG8").unwrap_err(), "Incorrect padding");
        assert!(b64decode("aGVsb")
            .unwrap_err()
            .contains("cannot be 1 more than a multiple of 4"));
        assert_eq!(b64decode("").unwrap(), b"");
        // Checked against CPython 3.11 base64.b64decode.
        for (input, want) in [
            ("aGVsbG8==", &b"hello"[..]),
            ("aGVsbG8=junk", b"hello"),
            ("a=GVsbG8=", b"hello"),
            ("!!!!", b""),
            ("aG=Vs", b"hel"),
            ("aGVsbA==bG8=", b"hell"),
        ] {
            assert_eq!(b64decode(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn modulo() {
        assert_eq!(reduce_mod(&[0x09, 0x00], &[0x01, 0x07]), vec![0xc8]); // 2304 mod 263 = 200
        assert_eq!(reduce_mod(&[0x0e], &[0x07]), Vec::<u8>::new());
        assert_eq!(reduce_mod(&[0x06], &[0x07]), vec![0x06]);
        assert_eq!(reduce_mod(&[0xff, 0xff], &[0x01, 0x01]), Vec::<u8>::new()); // 65535 = 255 * 257
        assert_eq!(reduce_mod(&[0xff, 0xfe], &[0xf0, 0x01]), vec![0x0f, 0xfd]);
    }

    #[test]
    fn unhex() {
        assert_eq!(unhexlify("0aFF").unwrap(), vec![10, 255]);
        assert_eq!(unhexlify("abc").unwrap_err(), "Odd-length string");
        assert_eq!(unhexlify("zz").unwrap_err(), "Non-hexadecimal digit found");
    }
}
