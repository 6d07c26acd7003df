//! Drives the core over committed vectors entirely in memory (as the
//! browser front end does), and checks that no mutation of a digest or log
//! makes it panic or call tampered data `valid`.

mod common;
use common::Rng;
use ctverify_core::report::Report;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::Options;
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
    verify_with(
        objects,
        keys,
        Options::new(Timestamp::parse_user("2026-01-01").unwrap()),
    )
}

fn verify_with(objects: &BTreeMap<String, Vec<u8>>, keys: &[u8], opts: Options) -> Report {
    common::run_in_memory(objects, keys, opts).0
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

/// S3 mode's extra (`GetTrailStatus`): the trail delivered digests up to
/// a time, so a deleted newest digest is `digest_missing` (a violation),
/// not only a coverage gap; an intact chain stays valid; another trail's
/// chain is not judged by it.
#[test]
fn latest_delivery_names_a_deleted_newest_digest() {
    let dir = vector("clean_chain_valid");
    let keys = std::fs::read(dir.join("public-keys.json")).unwrap();
    let mut objects = load_bucket(&dir);
    let newest = objects
        .keys()
        .filter(|k| k.contains("CloudTrail-Digest") && k.ends_with(".json.gz"))
        .max()
        .unwrap()
        .clone();
    let name = ctverify_core::layout::DigestKeyName::parse(&newest).unwrap();
    let opts = |trail: &str, delivered: Timestamp| {
        // S3 mode: the run happens soon after, and ends now.
        let now = delivered.add_secs(600);
        let mut o = Options::new(now)
            .with_trail_arn(&format!("arn:aws:cloudtrail:us-east-1:111122223333:trail/{trail}"))
            .unwrap();
        o.latest_digest_delivery = Some(delivered);
        o.end = Some(now);
        o
    };
    // Delivered ten minutes after the newest digest's end: intact.
    let delivered = name.time.add_secs(600);
    assert_eq!(
        verify_with(&objects, &keys, opts("demo", delivered)).verdict,
        Verdict::Valid
    );
    objects.remove(&newest);
    objects.remove(&format!("{newest}.metadata.json"));
    let report = verify_with(&objects, &keys, opts("demo", delivered));
    assert_eq!(report.verdict, Verdict::Invalid);
    let missing: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.kind.name() == "digest_missing")
        .filter_map(|f| f.object.as_ref().map(|o| o.key.as_str()))
        .collect();
    assert_eq!(missing, [newest.as_str()]);
    // Without the trail's word the deletion is at most a gap at the edge of
    // the not-yet-due window (SPEC: the last 75 minutes are never a gap).
    let mut plain = opts("demo", delivered);
    plain.latest_digest_delivery = None;
    let plain = verify_with(&objects, &keys, plain);
    assert_ne!(plain.verdict, Verdict::Invalid);
    assert!(plain.findings.iter().all(|f| f.kind.name() != "digest_missing"));
}
