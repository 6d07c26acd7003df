//! The checkpoint rules of incremental runs (`verify::resume`), in memory:
//! a resumed run continues the verified chain, and whatever is mutated
//! after the checkpoint, the run is never `valid` and the new checkpoint
//! never moves past anything not verified.

mod common;
use common::Rng;
use ctverify_core::layout::DigestKeyName;
use ctverify_core::report::Report;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{ChainProgress, ChainScope, Checkpoint, Options};
use ctverify_core::Verdict;
use std::collections::BTreeMap;
use std::path::Path;

type Objects = BTreeMap<String, Vec<u8>>;

fn clean() -> (Objects, Vec<u8>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid");
    let keys = std::fs::read(dir.join("public-keys.json")).unwrap();
    (common::load_tree(&dir.join("bucket")), keys)
}

fn now() -> Timestamp {
    Timestamp::parse_user("2026-01-01").unwrap()
}

/// One in-memory run: the report and each chain's progress.
fn run(objects: &Objects, keys: &[u8], opts: Options) -> (Report, Vec<ChainProgress>) {
    common::run_in_memory(objects, keys, opts)
}

fn digests(objects: &Objects) -> Vec<String> {
    objects
        .keys()
        .filter(|k| k.contains("CloudTrail-Digest") && k.ends_with(".json.gz"))
        .cloned()
        .collect()
}

/// The progress of the only chain.
fn only(progress: &[ChainProgress]) -> &ChainProgress {
    assert_eq!(progress.len(), 1);
    &progress[0]
}

/// Resumes every chain of `progress` at its checkpoint.
fn resumed(progress: &[ChainProgress]) -> Options {
    let mut o = Options::new(now());
    for p in progress {
        if let Some(cp) = &p.checkpoint {
            o.scopes.insert(p.chain.clone(), ChainScope::resume(cp.clone()));
        }
    }
    o
}

#[test]
fn resumed_run_continues_to_the_same_checkpoint() {
    let (objects, keys) = clean();
    let (full, full_progress) = run(&objects, &keys, Options::new(now()));
    assert_eq!(full.verdict, Verdict::Valid);
    let newest = digests(&objects).last().cloned().unwrap();
    assert_eq!(only(&full_progress).checkpoint.as_ref().unwrap().key, newest);

    // First run up to the second digest's end, then resume.
    let second = DigestKeyName::parse(&digests(&objects)[1]).unwrap().time;
    let mut first = Options::new(now());
    first.end = Some(second);
    let (r1, p1) = run(&objects, &keys, first);
    assert_eq!(r1.verdict, Verdict::Valid);
    let cp1 = only(&p1).checkpoint.clone().unwrap();
    assert_eq!(cp1.key, digests(&objects)[1]);
    let (r2, p2) = run(&objects, &keys, resumed(&p1));
    assert_eq!(r2.verdict, Verdict::Valid, "{:#?}", r2.findings);
    assert_eq!(r2.summary.digests.total as usize, digests(&objects).len() - 2);
    assert_eq!(only(&p2).checkpoint, only(&full_progress).checkpoint);
    assert_eq!(r2.requested.unwrap().start, cp1.end);
}

#[test]
fn a_checkpoint_that_does_not_match_is_never_passed() {
    let (objects, keys) = clean();
    let mut first = Options::new(now());
    first.end = Some(DigestKeyName::parse(&digests(&objects)[1]).unwrap().time);
    let (_, p1) = run(&objects, &keys, first);
    let cp = only(&p1).checkpoint.clone().unwrap();
    // The state recorded other bytes or another signature than the bucket
    // holds (the checkpoint digest was replaced after it was verified).
    for (what, forged) in [
        (
            "sha256",
            Checkpoint {
                sha256: "00".repeat(32),
                ..cp.clone()
            },
        ),
        (
            "signature",
            Checkpoint {
                signature: "ab".repeat(256),
                ..cp.clone()
            },
        ),
    ] {
        let mut o = Options::new(now());
        o.scopes
            .insert(only(&p1).chain.clone(), ChainScope::resume(forged.clone()));
        let (r, p) = run(&objects, &keys, o);
        assert_eq!(r.verdict, Verdict::Invalid, "{what}");
        assert!(
            r.findings
                .iter()
                .all(|f| f.object.as_ref().is_some_and(|o| o.key == cp.key)
                    || f.class == ctverify_core::report::Class::Notice),
            "{what}: findings name the checkpoint: {:#?}",
            r.findings
        );
        assert_eq!(
            only(&p).checkpoint.as_ref(),
            Some(&forged),
            "{what}: the checkpoint stays"
        );
    }
}

/// Mutate any object at or after the checkpoint: the resumed run is never
/// `valid`, and a full run up to the new checkpoint over the same objects
/// is `valid` (the checkpoint did not move past the mutation).
#[test]
fn mutations_after_the_checkpoint_hold_it() {
    let (clean_objects, keys) = clean();
    let ds = digests(&clean_objects);
    let mut first = Options::new(now());
    let cp_time = DigestKeyName::parse(&ds[1]).unwrap().time;
    first.end = Some(cp_time);
    let (_, p1) = run(&clean_objects, &keys, first);
    let cp = only(&p1).checkpoint.clone().unwrap();
    // The checkpoint digest, the digests after it and the logs they list
    // (older logs are the re-verification's work, not the resumed run's).
    let after: Vec<&String> = ds
        .iter()
        .filter(|k| DigestKeyName::parse(k).unwrap().time > cp_time)
        .collect();
    let mut targets: Vec<String> = after.iter().map(|k| k.to_string()).collect();
    targets.push(cp.key.clone());
    for k in &after {
        let d = ctverify_core::digest::Digest::parse_object(&clean_objects[*k]).unwrap();
        targets.extend(d.log_files.iter().map(|l| l.object.clone()));
    }
    targets.sort();
    targets.dedup();
    let mut rng = Rng(0x0c4e_c4b0_1234_5678);
    let mut held = 0;
    for round in 0..200 {
        let mut objects = clean_objects.clone();
        let key = targets[(rng.next() % targets.len() as u64) as usize].clone();
        match rng.next() % 3 {
            0 => {
                objects.remove(&key);
            }
            1 => {
                let bytes = objects.get_mut(&key).unwrap();
                let i = 10 + (rng.next() % (bytes.len() as u64 - 10)) as usize;
                bytes[i] ^= 1 << (rng.next() % 8);
            }
            _ => {
                let bytes = objects.get_mut(&key).unwrap();
                bytes.truncate((rng.next() % bytes.len() as u64) as usize);
            }
        }
        let (r, p) = run(&objects, &keys, resumed(&p1));
        let new_cp = only(&p).checkpoint.clone().unwrap();
        if r.verdict == Verdict::Valid {
            // Only a mutation that leaves the content intact (a deflate
            // padding bit), or of an old log the resumed run never reads.
            let (full, _) = run(&objects, &keys, Options::new(now()));
            assert_eq!(
                full.verdict,
                Verdict::Valid,
                "round {round}: mutation of {key} went unnoticed"
            );
            continue;
        }
        held += 1;
        if key == cp.key {
            assert_eq!(new_cp, cp, "round {round}: the mutated checkpoint stays");
            continue;
        }
        let mut upto = Options::new(now());
        upto.end = Some(new_cp.end);
        let (check, _) = run(&objects, &keys, upto);
        assert_eq!(
            check.verdict,
            Verdict::Valid,
            "round {round}: mutation of {key}: the checkpoint {} moved past it: {:#?}",
            new_cp.key,
            check.findings
        );
    }
    assert!(held > 100, "most mutations are caught ({held})");
}
