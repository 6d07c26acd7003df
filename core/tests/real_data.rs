//! Checks against genuine AWS material in `../shared/real-data/` (keys,
//! digests, signatures). That folder is not part of the repository: these
//! tests pass vacuously (with a note) where it is absent. Set
//! `CTVERIFY_REAL_DATA` to point elsewhere.

use ctverify_core::digest::Digest;
use ctverify_core::keys::{md5_hex, KeyLookup, Keyring};
use ctverify_core::signature::verify_sha256_prehash;
use ctverify_core::time::Timestamp;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn real_data() -> Option<PathBuf> {
    let dir = std::env::var_os("CTVERIFY_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/real-data"));
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("note: {} not found; real-data checks skipped", dir.display());
        None
    }
}

fn read(dir: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(dir.join(rel)).unwrap()
}

/// The OpenWatch file has trailing commas before `}`/`]`; strip them.
fn strip_trailing_commas(b: &[u8]) -> Vec<u8> {
    let chars: Vec<char> = String::from_utf8_lossy(b).chars().collect();
    let mut out = String::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ','
            && matches!(
                chars[i + 1..].iter().find(|c| !c.is_whitespace()),
                Some('}') | Some(']')
            )
        {
            continue;
        }
        out.push(c);
    }
    out.into_bytes()
}

fn openwatch_keyring(dir: &Path) -> Keyring {
    let mut k = Keyring::new();
    let bytes = strip_trailing_commas(&read(dir, "public-keys/openwatch-PublicKeys-f5d6ffd.json"));
    let n = k.add_file("openwatch", &bytes).unwrap();
    assert_eq!(n, 1594);
    assert!(
        k.rejected().is_empty(),
        "{:?}",
        &k.rejected()[..k.rejected().len().min(3)]
    );
    k
}

#[test]
fn every_real_key_parses_with_a_matching_fingerprint() {
    let Some(dir) = real_data() else { return };
    let owk = openwatch_keyring(&dir);
    assert!(owk.entries().all(|e| md5_hex(&e.der) == e.fingerprint));
    let mut k = Keyring::new();
    assert_eq!(
        k.add_file(
            "docs",
            &read(&dir, "public-keys/aws-userguide-sample_list-public-keys.json")
        )
        .unwrap(),
        3
    );
    assert_eq!(
        k.add_file("cli", &read(&dir, "public-keys/aws-cli-example_list-public-keys.json"))
            .unwrap(),
        1
    );
    assert!(k.rejected().is_empty());
    // The docs' SPKI key, found by the MD5 of its SPKI bytes, inside its window.
    let at = Timestamp::parse_user("2015-07-10T00:00:00Z").unwrap();
    assert!(matches!(
        k.lookup("31e8b5433410dfb61a9dc45cc65b22ff", "us-east-1", at),
        KeyLookup::Found(_)
    ));
    let later = Timestamp::parse_user("2016-07-10T00:00:00Z").unwrap();
    assert!(matches!(
        k.lookup("31e8b5433410dfb61a9dc45cc65b22ff", "us-east-1", later),
        KeyLookup::NotValidThen
    ));
}

#[test]
fn a_wrong_listed_fingerprint_is_rejected() {
    let Some(dir) = real_data() else { return };
    let text = String::from_utf8(read(&dir, "public-keys/aws-cli-example_list-public-keys.json")).unwrap();
    let tampered = text.replace("7f3f401420072e50a65a141430817ab3", "7f3f401420072e50a65a141430817ab4");
    let mut k = Keyring::new();
    assert_eq!(k.add_file("tampered", tampered.as_bytes()), Ok(0));
    assert!(k.is_empty());
    assert_eq!(k.rejected().len(), 1);
}

#[test]
fn real_signatures_verify_under_their_key_only() {
    let Some(dir) = real_data() else { return };
    let vectors: Value = serde_json::from_slice(&read(&dir, "vectors/real-signature-recovery-vectors.json")).unwrap();
    let owk = openwatch_keyring(&dir);
    for v in vectors["vectors"].as_array().unwrap() {
        let b64 = v["public_key_b64"]
            .as_str()
            .or(v["public_key_b64_spki"].as_str())
            .unwrap();
        let fp = v["public_key_fingerprint"].as_str().unwrap();
        let file = format!(r#"{{"PublicKeyList":[{{"Value":"{b64}","Fingerprint":"{fp}"}}]}}"#);
        let mut k = Keyring::new();
        k.add_file("vector", file.as_bytes()).unwrap();
        let KeyLookup::Found(key) = k.lookup(fp, "us-west-2", Timestamp::from_unix(0)) else {
            panic!("{fp}")
        };
        let sig = hex::decode(v["signature_hex"].as_str().unwrap()).unwrap();
        let mut hash = [0u8; 32];
        hex::decode_to_slice(
            v["expected_recovered_sha256_of_signing_string"].as_str().unwrap(),
            &mut hash,
        )
        .unwrap();
        assert!(verify_sha256_prehash(key, &hash, &sig), "{}", v["id"]);
        let mut wrong = hash;
        wrong[0] ^= 1;
        assert!(!verify_sha256_prehash(key, &wrong, &sig), "{}", v["id"]);
        // Negative: no other real key of the same region verifies it.
        if v["public_key_region"] == "us-west-2" {
            let mut n = 0;
            for other in owk
                .entries()
                .filter(|e| e.region.as_deref() == Some("us-west-2") && e.fingerprint != fp)
            {
                n += 1;
                assert!(
                    !verify_sha256_prehash(other, &hash, &sig),
                    "{} verified by {}",
                    v["id"],
                    other.fingerprint
                );
            }
            assert!(n > 50, "{n}");
        }
    }
}

#[test]
fn real_digests_parse_and_find_their_keys() {
    let Some(dir) = real_data() else { return };
    let owk = openwatch_keyring(&dir);

    let beats = Digest::parse_inflated(&read(
        &dir,
        "digests/elastic-beats_144492464627_us-west-2_20200911T193649Z.digest.json",
    ))
    .unwrap();
    assert_eq!(beats.log_files.len(), 12);
    assert_eq!(beats.s3_bucket, "leh-ct-test-bucket");
    assert!(beats.previous.is_some());
    assert!(matches!(
        owk.lookup(&beats.fingerprint, "us-west-2", beats.end),
        KeyLookup::Found(_)
    ));
    assert!(matches!(
        owk.lookup(&beats.fingerprint, "eu-west-1", beats.end),
        KeyLookup::NotValidThen
    ));

    let raw = read(
        &dir,
        "digests/llm-guard_327878933619_ap-northeast-1_20231015T230404Z.digest.json",
    );
    assert!(raw.windows(2).any(|w| w == b"\\/"));
    let llm = Digest::parse_inflated(&raw).unwrap();
    assert!(llm.s3_object.contains("/CloudTrail-Digest/") && !llm.s3_object.contains('\\'));
    assert_eq!(llm.log_files.len(), 5);
    assert!(matches!(
        owk.lookup(&llm.fingerprint, "ap-northeast-1", llm.end),
        KeyLookup::Unknown
    ));
    let name = ctverify_core::layout::DigestKeyName::parse(&llm.s3_object).unwrap();
    assert_eq!(
        (
            name.chain.region.as_str(),
            name.chain.trail.as_str(),
            name.chain.home_region.as_str()
        ),
        ("ap-northeast-1", "llm-guard-trail", "us-west-2")
    );

    let start = Digest::parse_inflated(&read(
        &dir,
        "digests/panther_starting-digest_eu-west-1_20200421T132823Z.digest.json",
    ))
    .unwrap();
    assert!(start.previous.is_none());
    assert!(start.log_files.is_empty());
}
