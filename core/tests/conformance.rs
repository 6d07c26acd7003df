//! Every committed test vector, run in memory through the core [`Driver`]
//! (no binary, no files beyond reading the vector once): the same results
//! as the CLI test (`cli/tests/vectors.rs`) — the harness the WASM build
//! runs too. Also: log results fed in any order give the same report, and a
//! dropped result is never `valid`.

mod common;

use ctverify_core::keys::Keyring;
use ctverify_core::report::{NullSink, Report};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{
    run_in_memory, Driver, LogJob, LogResult, MemoryBucket, MemoryRun, Options, ReadFailure, RunError, SequenceError,
    TrailFilter,
};
use ctverify_core::Verdict;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
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

/// The keys of `map` that start with `prefix`, in order.
fn under<'a, V>(map: &'a BTreeMap<String, V>, prefix: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    map.range::<str, _>((std::ops::Bound::Included(prefix), std::ops::Bound::Unbounded))
        .map(|(k, _)| k.as_str())
        .take_while(move |k| k.starts_with(prefix))
}

/// The CLI arguments a vector uses, as core options.
fn options(args: &[String]) -> Options {
    let mut o = Options::new(Timestamp::parse_user(NOW).unwrap());
    o.local_copy = true;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap().clone();
        match flag.as_str() {
            "--trail-arn" => o.trail = Some(TrailFilter::from_arn(&value()).unwrap()),
            "--start-time" => o.start = Some(Timestamp::parse_user(&value()).unwrap()),
            "--end-time" => o.end = Some(Timestamp::parse_user(&value()).unwrap()),
            "--region" => o.regions.push(value()),
            "--account-id" => o.accounts.push(value()),
            "--s3-bucket" => o.bucket = Some(value()),
            "--s3-prefix" => o.prefix = Some(value().trim_end_matches('/').to_string()),
            "--allow-gaps" => o.allow_gaps = true,
            "--verbose" => o.verbose = true,
            other => panic!("flag {other} not mapped in this test"),
        }
    }
    o
}

struct Vector {
    name: String,
    store: MemoryBucket,
    keyring: Keyring,
    opts: Options,
    expected: Value,
}

fn vector(dir: &Path) -> Vector {
    let expected: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let mut keyring = Keyring::new();
    for k in expected["public_keys"].as_array().unwrap() {
        let name = k.as_str().unwrap();
        let _ = keyring.add_file(name, &std::fs::read(dir.join(name)).unwrap());
    }
    let args: Vec<String> = expected["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    Vector {
        name: dir.file_name().unwrap().to_string_lossy().into_owned(),
        store: MemoryBucket::new(common::load_tree(&dir.join("bucket"))),
        keyring,
        opts: options(&args),
        expected,
    }
}

/// Runs the driver (digests handed over newest first); `order`
/// rearranges (or drops) the log results.
fn try_run(
    v: &Vector,
    order: impl FnOnce(Vec<(LogJob, LogResult)>) -> Vec<(LogJob, LogResult)>,
) -> Result<Report, RunError> {
    let run = MemoryRun {
        digests_reversed: true,
        ..MemoryRun::default()
    };
    let opts = v.opts.clone().checked().unwrap();
    run_in_memory(opts, &v.keyring, &v.store, run, order, &mut NullSink).map(|(report, _)| report)
}

fn run(v: &Vector, order: impl FnOnce(Vec<(LogJob, LogResult)>) -> Vec<(LogJob, LogResult)>) -> Report {
    try_run(v, order).unwrap()
}

fn tuples(list: &Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] != "valid")
        .map(|f| format!("{} {} {} {}", f["kind"], f["object"], f["start"], f["end"]))
        .collect();
    v.sort();
    v
}

#[test]
fn every_vector_in_memory_matches_the_expected_report() {
    let mut failures = vec![];
    for dir in vectors() {
        let v = vector(&dir);
        let report: Value = serde_json::from_str(&run(&v, |r| r).to_json()).unwrap();
        let (got, want) = (tuples(&report["findings"]), tuples(&v.expected["findings"]));
        if report["verdict"] != v.expected["verdict"] || got != want {
            failures.push(format!(
                "{}: verdict {} (expected {})\n  got  {got:#?}\n  want {want:#?}",
                v.name, report["verdict"], v.expected["verdict"]
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn log_results_in_any_order_give_the_same_report() {
    for name in [
        "clean_chain_valid",
        "log_modified_detected",
        "log_missing_detected",
        "multi_region_valid",
    ] {
        let dir = vectors().into_iter().find(|d| d.ends_with(name)).unwrap();
        let v = vector(&dir);
        let forward = run(&v, |r| r).to_json();
        let reversed = run(&v, |mut r| {
            r.reverse();
            r
        })
        .to_json();
        let shuffled = run(&v, |mut r| {
            // A fixed interleaving: odd positions first, then even ones.
            let (odd, even): (Vec<_>, Vec<_>) = r.drain(..).enumerate().partition(|(i, _)| i % 2 == 1);
            odd.into_iter().chain(even).map(|(_, x)| x).collect()
        })
        .to_json();
        assert_eq!(forward, reversed, "{name}");
        assert_eq!(forward, shuffled, "{name}");
    }
}

#[test]
fn a_dropped_log_result_is_never_valid() {
    let dir = vectors()
        .into_iter()
        .find(|d| d.ends_with("clean_chain_valid"))
        .unwrap();
    let v = vector(&dir);
    assert_eq!(run(&v, |r| r).verdict, Verdict::Valid);
    let report = run(&v, |mut r| {
        let i = r.iter().position(|(j, _)| j.vouched).unwrap();
        r.remove(i);
        r
    });
    assert_eq!(report.verdict, Verdict::Incomplete);
    assert_eq!(report.summary.logs.unverified, 1);
    assert!(report.findings.iter().any(|f| f.kind == ctverify_core::Kind::ReadError));
    // A duplicated (conflicting) result is an error of the front end: it
    // neither overrides the first one nor is dropped silently.
    let twice = try_run(&v, |mut r| {
        let (job, _) = r[0].clone();
        r.push((job, LogResult::Failed(ReadFailure::NotFound)));
        r
    });
    assert!(
        matches!(twice, Err(RunError::Sequence(SequenceError::UnexpectedLogResult(0)))),
        "{twice:?}"
    );
}

/// An organization trail with 50 member accounts in 17 regions, validated
/// over 3 days of a bucket that holds 7: the listings are the delimiter
/// listings that find accounts and regions, then exactly the selected
/// chains' day folders (digests and logs) over the load window.
#[test]
fn listing_plan_lists_only_the_selected_day_folders() {
    let org = "o-abc123def4";
    let accounts: Vec<String> = (0..50).map(|i| format!("{:012}", 100_000_000_000u64 + i)).collect();
    let regions: Vec<String> = (0..17).map(|i| format!("xx-test-{}", i + 1)).collect();
    let first = Timestamp::parse_user("2024-02-27").unwrap();
    let mut keys = BTreeMap::new();
    for a in &accounts {
        for r in &regions {
            for h in 0..7 * 24 {
                let t = first.add_secs(h * 3600 + 1000);
                let digest = format!(
                    "AWSLogs/{org}/{a}/CloudTrail-Digest/{r}/{}/{a}_CloudTrail-Digest_{r}_org_us-east-1_{}.json.gz",
                    t.date_folders(),
                    t.key_form()
                );
                let log = format!(
                    "AWSLogs/{org}/{a}/CloudTrail/{r}/{}/{a}_CloudTrail_{r}_{}_x.json.gz",
                    t.date_folders(),
                    &t.key_form()[..13]
                );
                keys.insert(digest, ());
                keys.insert(log, ());
            }
        }
    }
    keys.insert("unrelated/file.txt".to_string(), ());
    let mut opts = Options::new(Timestamp::parse_user(NOW).unwrap());
    opts.trail = TrailFilter::from_arn("arn:aws:cloudtrail:us-east-1:999988887777:trail/org");
    opts.prefix = Some(String::new());
    opts.start = Some(Timestamp::parse_user("2024-03-01T00:00:00Z").unwrap());
    opts.end = Some(Timestamp::parse_user("2024-03-04T00:00:00Z").unwrap());

    let mut driver = Driver::new(opts.checked().unwrap());
    let mut requests = vec![];
    let mut found = BTreeSet::new();
    while let Some(req) = driver.next_listing().unwrap() {
        let resp = req.answer(under(&keys, &req.prefix));
        requests.push(req.clone());
        found.extend(resp.keys.iter().cloned());
        driver.listed(&req, resp).unwrap();
    }
    driver.plan().expect("listing complete");

    let days = ["2024/02/29", "2024/03/01", "2024/03/02", "2024/03/03", "2024/03/04"];
    let mut want = BTreeSet::new();
    for a in &accounts {
        for r in &regions {
            for d in days {
                want.insert(format!("AWSLogs/{org}/{a}/CloudTrail-Digest/{r}/{d}/"));
                want.insert(format!("AWSLogs/{org}/{a}/CloudTrail/{r}/{d}/"));
            }
        }
    }
    let day_listings: BTreeSet<String> = requests
        .iter()
        .filter(|r| !r.delimiter)
        .map(|r| r.prefix.clone())
        .collect();
    assert_eq!(day_listings, want);
    assert_eq!(
        requests.iter().filter(|r| !r.delimiter).count(),
        want.len(),
        "a folder listed twice"
    );
    // Structure: AWSLogs/, the org, then one CloudTrail-Digest/ per account.
    assert_eq!(requests.iter().filter(|r| r.delimiter).count(), 2 + accounts.len());
    // Whole day folders of digests (5 days x 24); logs from the window's
    // first minute on (start-after: 3 on the first day, then 4 x 24).
    assert_eq!(found.len(), accounts.len() * regions.len() * (5 * 24 + 3 + 4 * 24));
}
