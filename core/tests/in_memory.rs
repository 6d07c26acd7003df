//! Drives the core over committed vectors entirely in memory (as the
//! browser front end does), and checks that no mutation of a digest or log
//! makes it panic or call tampered data `valid`.

mod common;
use common::Rng;
use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogHasher;
use ctverify_core::report::{NullSink, Report};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{Driver, LogResult, Metadata, Options, ParsedDigest, ReadFailure};
use ctverify_core::Verdict;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn vector(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../test-vectors/vectors")
        .join(name)
}

/// The bucket copy as key -> bytes.
fn load_bucket(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    common::load_tree(&dir.join("bucket"))
}

fn verify(objects: &BTreeMap<String, Vec<u8>>, keys: &[u8]) -> Report {
    let mut keyring = Keyring::new();
    keyring.add_file("keys", keys).unwrap();
    let opts = Options::new(Timestamp::parse_user("2026-01-01").unwrap());
    let mut sink = NullSink;
    let mut driver = Driver::new(opts, keyring).unwrap();
    let listed: Vec<&String> = objects.keys().filter(|k| !k.ends_with(".metadata.json")).collect();
    for k in driver.plan(&listed) {
        let object = objects.get(&k).cloned().ok_or(ReadFailure::NotFound);
        let metadata = objects
            .get(&format!("{k}.metadata.json"))
            .map_or(Metadata::Absent, |b| Metadata::from_sidecar(b));
        driver
            .add_digest(ParsedDigest::parse(k, object, metadata), &mut sink)
            .unwrap();
    }
    for job in driver.analyze(&mut sink).unwrap() {
        let result = match objects.get(&job.object.key) {
            None => LogResult::Failed(ReadFailure::NotFound),
            Some(bytes) => {
                let mut h = LogHasher::new();
                for chunk in bytes.chunks(1000) {
                    h.update(chunk);
                }
                LogResult::Hashed(h.finish())
            }
        };
        driver.log_result(job.id, result, &mut sink);
    }
    driver.finish(&mut sink).unwrap()
}

#[test]
fn clean_vector_is_valid_in_memory() {
    let dir = vector("clean_chain_valid");
    let keys = std::fs::read(dir.join("public-keys.json")).unwrap();
    let report = verify(&load_bucket(&dir), &keys);
    assert_eq!(report.verdict, Verdict::Valid, "{:#?}", report.findings);
    assert_eq!(report.summary.digests.valid, report.summary.digests.total);
    assert_eq!(report.summary.logs.valid, report.summary.logs.total);
    assert!(report.summary.logs.total > 0);
}

/// True when both objects are one complete gzip member inflating to the
/// same bytes (checked with flate2's own decoder, independently of ours).
fn same_content(a: &[u8], b: &[u8]) -> bool {
    use std::io::Read;
    let inflate = |z: &[u8]| {
        let mut d = flate2::read::GzDecoder::new(z);
        let mut out = Vec::new();
        d.read_to_end(&mut out).ok()?;
        d.into_inner().is_empty().then_some(out)
    };
    matches!((inflate(a), inflate(b)), (Some(x), Some(y)) if x == y)
}

#[test]
fn no_mutation_panics_or_stays_valid() {
    let dir = vector("clean_chain_valid");
    let keys = std::fs::read(dir.join("public-keys.json")).unwrap();
    let clean = load_bucket(&dir);
    let targets: Vec<String> = clean.keys().filter(|k| k.ends_with(".json.gz")).cloned().collect();
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    for round in 0..300 {
        let mut objects = clean.clone();
        let key = &targets[(rng.next() % targets.len() as u64) as usize];
        let bytes = objects.get_mut(key).unwrap();
        match rng.next() % 4 {
            0 => {
                // Not the gzip header's MTIME, XFL and OS bytes (4..10), or
                // FTEXT: they do not change the content, which is what is
                // signed and hashed.
                let i = 10 + (rng.next() % (bytes.len() as u64 - 10)) as usize;
                bytes[i] ^= 1 << (rng.next() % 8);
            }
            1 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
            2 => bytes.extend_from_slice(&rng.next().to_le_bytes()),
            _ => {
                let i = (rng.next() % bytes.len() as u64) as usize;
                bytes.insert(i, rng.next() as u8);
            }
        }
        let report = verify(&objects, &keys);
        if report.verdict == Verdict::Valid && same_content(&clean[key], &objects[key]) {
            continue; // e.g. a flipped deflate padding bit: the content is intact
        }
        assert_ne!(
            report.verdict,
            Verdict::Valid,
            "round {round}: mutation of {key} went unnoticed"
        );
    }
}
