//! The WASM layer, compiled natively, against the core's one in-memory
//! runner: for every committed vector, the page's sequence over
//! [`ctverify_wasm::Verifier`] (keys, listing plan, digests with their
//! sidecars, log jobs hashed by [`ctverify_wasm::Hasher`]) gives exactly the
//! report of [`ctverify_core::verify::run_in_memory`] over the same objects.
//! (The browser itself is tested by `vectors.mjs` and `browser/e2e.mjs`.)

use ctverify_core::keys::Keyring;
use ctverify_core::report::NullSink;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{run_in_memory, MemoryBucket, MemoryRun, Options, TrailFilter};
use ctverify_wasm::{object_path, Hasher, Verifier};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NOW: &str = "2026-01-01T00:00:00Z";

fn vectors() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    v.sort();
    v
}

fn load_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(key, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The vector's flags as the page's options and as core options.
fn options(args: &[String]) -> (Value, Options) {
    let mut page = json!({"now": NOW, "regions": [], "accounts": []});
    let mut core = Options::new(Timestamp::parse_user(NOW).unwrap());
    core.local_copy = true;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap().clone();
        match flag.as_str() {
            "--trail-arn" => {
                let v = value();
                core.trail = TrailFilter::from_arn(&v);
                page["trail_arn"] = json!(v);
            }
            "--start-time" => {
                let v = value();
                core.start = Some(Timestamp::parse_user(&v).unwrap());
                page["start_time"] = json!(v);
            }
            "--end-time" => {
                let v = value();
                core.end = Some(Timestamp::parse_user(&v).unwrap());
                page["end_time"] = json!(v);
            }
            "--region" => {
                let v = value();
                core.regions.push(v.clone());
                page["regions"].as_array_mut().unwrap().push(json!(v));
            }
            "--account-id" => {
                let v = value();
                core.accounts.push(v.clone());
                page["accounts"].as_array_mut().unwrap().push(json!(v));
            }
            "--s3-bucket" => {
                let v = value();
                core.bucket = Some(v.clone());
                page["s3_bucket"] = json!(v);
            }
            "--s3-prefix" => {
                let v = value();
                core.prefix = Some(v.clone());
                page["s3_prefix"] = json!(v);
            }
            "--allow-gaps" => {
                core.allow_gaps = true;
                page["allow_gaps"] = json!(true);
            }
            other => panic!("flag {other} not mapped in this test"),
        }
    }
    (page, core)
}

/// The page's sequence over the Verifier.
fn page_report(objects: &BTreeMap<String, Vec<u8>>, keys: &[(String, Vec<u8>)], page: &Value) -> String {
    let mut v = Verifier::new(&page.to_string()).unwrap();
    for (name, bytes) in keys {
        let _ = v.add_keys(name, bytes);
    }
    let read = |p: &str| objects.get(p).cloned();
    for key in v.plan(objects.keys().cloned().collect()).unwrap() {
        let path = object_path(&key);
        let bytes = path.as_deref().and_then(read);
        let sidecar = path.as_deref().and_then(|p| read(&format!("{p}.metadata.json")));
        v.add_digest(key, bytes, sidecar, None).unwrap();
    }
    let budget = v.log_budget();
    let jobs: Value = serde_json::from_str(&v.analyze().unwrap()).unwrap();
    for job in jobs.as_array().unwrap() {
        let id = u32::try_from(job["id"].as_u64().unwrap()).unwrap();
        if job["vouched"] != true {
            v.log_skipped(id).unwrap();
            continue;
        }
        let Some(path) = object_path(job["key"].as_str().unwrap()) else {
            v.log_failed(id, "unsafe", String::new()).unwrap();
            continue;
        };
        let Some(bytes) = read(&path) else {
            v.log_failed(id, "not_found", String::new()).unwrap();
            continue;
        };
        let mut h = Hasher::new(&budget).unwrap();
        for chunk in bytes.chunks(1 << 20) {
            if h.failed() {
                break;
            }
            h.update(chunk);
        }
        v.log_hashed(id, &h.finish().unwrap()).unwrap();
    }
    v.finish().unwrap()
}

#[test]
fn the_page_sequence_gives_the_in_memory_report_on_every_vector() {
    let mut failures = vec![];
    for dir in vectors() {
        let expected: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let args: Vec<String> = expected["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        let keys: Vec<(String, Vec<u8>)> = expected["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let name = k.as_str().unwrap().to_string();
                let bytes = std::fs::read(dir.join(&name)).unwrap();
                (name, bytes)
            })
            .collect();
        let objects = load_tree(&dir.join("bucket"));
        let (page, core) = options(&args);
        let mut keyring = Keyring::new();
        for (name, bytes) in &keys {
            let _ = keyring.add_file(name, bytes);
        }
        let (report, _) = run_in_memory(
            core.checked().unwrap(),
            &keyring,
            &MemoryBucket::new(objects.clone()),
            MemoryRun::default(),
            |r| r,
            &mut NullSink,
        )
        .unwrap();
        let want = format!("{}\n", report.to_json());
        let got = page_report(&objects, &keys, &page);
        if got != want {
            failures.push(dir.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert!(failures.is_empty(), "page and in-memory reports differ: {failures:?}");
}
