//! Replays the committed seed corpus through every harness, on stable and
//! without libFuzzer: `cargo test --manifest-path fuzz/Cargo.toml`.

use arbitrary::{Arbitrary, Unstructured};
use ctverify_fuzz::{bucket, targets};
use std::path::Path;

/// A fuzz target's harness over raw input.
type Harness = fn(&[u8]);

/// Every target and its harness (`bucket_mutation` decodes its input the way
/// libfuzzer-sys does: `arbitrary_take_rest`).
const TARGETS: &[(&str, Harness)] = &[
    ("gzip", targets::gzip),
    ("digest_json", targets::digest_json),
    ("key_file", targets::key_file),
    ("metadata_sidecar", targets::metadata_sidecar),
    ("object_keys", targets::object_keys),
    ("times", targets::times),
    ("arn", targets::arn),
    ("log_hasher", targets::log_hasher),
    ("bucket_mutation", |data| {
        if let Ok(case) = bucket::Case::arbitrary_take_rest(Unstructured::new(data)) {
            bucket::check(&case);
        }
    }),
];

#[test]
fn seed_corpus_replays() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    for (name, harness) in TARGETS {
        let dir = root.join(name);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            let data = std::fs::read(&path).expect("corpus file");
            println!("{name}: {}", path.display());
            harness(&data);
            n += 1;
        }
        assert!(n > 0, "no seed for {name}");
    }
}

#[test]
fn clean_bucket_is_valid_and_intact() {
    let orig = bucket::original();
    assert!(orig.intact(&orig.objects).is_ok());
    bucket::check(&bucket::Case {
        verbose: true,
        chunk: 1,
        mutations: vec![],
    });
}

/// Replays every crash reproducer saved under `fuzz/artifacts-found/TARGET/`
/// (debug build: overflow checks on) with any harness guard around a known
/// bug lifted: each is a regression test once its bug is fixed.
#[test]
fn found_crashes_are_fixed() {
    ctverify_fuzz::KNOWN_BUGS.store(true, std::sync::atomic::Ordering::Relaxed);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacts-found");
    let mut still = vec![];
    for (name, harness) in TARGETS {
        let Ok(files) = std::fs::read_dir(root.join(name)) else {
            continue;
        };
        for entry in files {
            let path = entry.expect("directory entry").path();
            let data = std::fs::read(&path).expect("reproducer");
            if std::panic::catch_unwind(|| harness(&data)).is_err() {
                still.push(path.display().to_string());
            }
        }
    }
    assert!(still.is_empty(), "still crashing: {still:#?}");
}
