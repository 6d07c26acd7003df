//! Scheduled runs over a local copy (`--state`, `--recheck`, `--report`,
//! `--metrics`): incremental runs equal one full run, tampering between
//! runs is caught from the checkpoint, the checkpoint never passes a
//! problem, and the state file is locked, versioned and checked.
//!
//! The chains come from the deterministic generator (`bench-data`), a
//! 72-hour trail with every digest's metadata signature.

mod generator;
mod schema;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2024-03-20T00:00:00Z";
/// The first digest's start (bench-data's t0).
const T0: &str = "2024-03-01T00:17:28Z";
const HOURS: usize = 72;

/// A generated chain (seed `seed`), made once per test binary, copied
/// fresh for each test.
fn chain(seed: &str, name: &str) -> PathBuf {
    static MADE: std::sync::Mutex<Vec<(String, PathBuf)>> = std::sync::Mutex::new(Vec::new());
    let src = {
        let mut made = MADE.lock().unwrap();
        match made.iter().find(|(s, _)| s == seed) {
            Some((_, p)) => p.clone(),
            None => {
                let dir = generator::bench_data(
                    &format!("state-{seed}"),
                    &[
                        "--hours",
                        &HOURS.to_string(),
                        "--logs-per-digest",
                        "2",
                        "--log-mb",
                        "0.004",
                        "--seed",
                        seed,
                    ],
                );
                made.push((seed.to_string(), dir.clone()));
                dir
            }
        }
    };
    let dst = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("state-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dst);
    copy_tree(&src, &dst);
    dst
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_tree(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// `h` hours after T0, RFC 3339.
fn at(h: f64) -> String {
    let t0 = 1_709_252_248_i64; // 2024-03-01T00:17:28Z
    let t = t0 + (h * 3600.0) as i64;
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // 2024-03-01 is day 19783.
    let day = days - 19_783 + 1;
    assert!((1..=31).contains(&day), "test times stay in March 2024");
    format!(
        "2024-03-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Runs `ctverify validate --local DIR/bucket` with the keys, `--now`,
/// JSON output and `extra`.
fn run(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctverify"))
        .arg("validate")
        .arg("--local")
        .arg(dir.join("bucket"))
        .arg("--public-keys")
        .arg(dir.join("public-keys.json"))
        .args(["--now", NOW, "--format", "json"])
        .args(extra)
        .output()
        .expect("run ctverify")
}

fn report(out: &Output) -> Value {
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {:?}; stderr: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    schema::check(&report);
    report
}

/// (kind, object key) of every finding.
fn findings(r: &Value) -> BTreeSet<(String, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["object"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn kinds(r: &Value) -> BTreeSet<String> {
    findings(r).into_iter().map(|(k, _)| k).collect()
}

/// The state's chains without run counters: (chain, since, checkpoint).
fn chains_of(state: &Path) -> Value {
    let v: Value = serde_json::from_slice(&std::fs::read(state).unwrap()).unwrap();
    let mut chains = v["body"]["chains"].clone();
    for c in chains.as_array_mut().unwrap() {
        let o = c.as_object_mut().unwrap();
        o.remove("recheck_next");
        o.remove("recheck_rounds");
    }
    chains
}

fn checkpoint_key(state: &Path) -> String {
    chains_of(state)[0]["checkpoint"]["key"].as_str().unwrap().to_string()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The files the run read, from `--verbose` ("read N files").
fn files_read(out: &Output) -> u64 {
    let err = stderr(out);
    let line = err
        .lines()
        .find(|l| l.contains(" files, "))
        .expect("--verbose prints what was read");
    line.split_whitespace().nth(2).unwrap().parse().unwrap()
}

/// The log files (sorted) of the chain.
fn logs(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.join("bucket/AWSLogs/111122223333/CloudTrail")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The digest key ending `h` hours after T0.
fn digest_key(h: usize) -> String {
    let end = at(h as f64);
    let stamp: String = end.chars().filter(|c| *c != '-' && *c != ':').collect();
    format!(
        "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/{}/111122223333_CloudTrail-Digest_us-east-1_bench_us-east-1_{stamp}.json.gz",
        &end[8..10]
    )
}

/// A fresh copy of the chain, verified from T0 to `end_hours` with
/// `--state DIR/s.json` (valid): the copy and the state file.
fn verified(name: &str, end_hours: f64) -> (PathBuf, PathBuf) {
    let dir = chain("bench-data", name);
    let state = dir.join("s.json");
    let first = run(
        &dir,
        &[
            "--start-time",
            T0,
            "--state",
            state.to_str().unwrap(),
            "--end-time",
            &at(end_hours),
        ],
    );
    assert_eq!(code(&first), 0, "{name}: {}", stderr(&first));
    (dir, state)
}

/// Flips a bit near the end of a log's deflate data (the log is then
/// modified or malformed).
fn corrupt(log: &Path) {
    let mut bytes = std::fs::read(log).unwrap();
    let n = bytes.len();
    bytes[n - 9] ^= 1;
    std::fs::write(log, &bytes).unwrap();
}

#[test]
fn incremental_runs_equal_one_full_run() {
    let dir = chain("bench-data", "incremental");
    // A log modified at hour ~40: the checkpoint must stop before it.
    corrupt(&logs(&dir)[80]);

    let full_state = dir.join("full.state.json");
    let full = run(&dir, &["--start-time", T0, "--state", full_state.to_str().unwrap()]);
    assert_eq!(code(&full), 1, "{}", stderr(&full));
    let full_report = report(&full);

    let inc_state = dir.join("inc.state.json");
    let state = inc_state.to_str().unwrap();
    let mut union = BTreeSet::new();
    let mut codes = vec![];
    for (i, end) in [Some(20.5), Some(39.0), Some(45.2), Some(60.0), None]
        .into_iter()
        .enumerate()
    {
        let end = end.map(at);
        let mut args = vec!["--state", state];
        if i == 0 {
            args.extend(["--start-time", T0]);
        }
        if let Some(e) = &end {
            args.extend(["--end-time", e.as_str()]);
        }
        let out = run(&dir, &args);
        codes.push(code(&out));
        union.extend(findings(&report(&out)));
    }
    assert_eq!(
        codes,
        [0, 0, 1, 1, 1],
        "runs before the tampered hour are valid, later ones report it"
    );
    assert_eq!(
        union,
        findings(&full_report),
        "union of the incremental findings == the full run's"
    );
    assert!(kinds(&full_report).contains("log_malformed") || kinds(&full_report).contains("log_modified"));
    assert_eq!(
        chains_of(&inc_state),
        chains_of(&full_state),
        "same checkpoint as one full run"
    );
    // The checkpoint stopped before the tampered hour.
    let cp_end = chains_of(&inc_state)[0]["checkpoint"]["end"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(cp_end < at(41.0) && cp_end >= at(38.0), "checkpoint at {cp_end}");
}

#[test]
fn nothing_new_reads_only_the_checkpoint_digest() {
    let dir = chain("bench-data", "nothing-new");
    let state = dir.join("s.json");
    let s = state.to_str().unwrap();
    let first = run(
        &dir,
        &["--start-time", T0, "--state", s, "--end-time", &at(48.0), "--verbose"],
    );
    assert_eq!(code(&first), 0, "{}", stderr(&first));
    assert!(files_read(&first) >= 48 * 3);
    // The next 24 hours: their 24 digests and 48 logs, plus the checkpoint digest.
    let next = run(&dir, &["--state", s, "--verbose"]);
    assert_eq!(code(&next), 0, "{}", stderr(&next));
    assert_eq!(files_read(&next), 24 + 48 + 1, "{}", stderr(&next));
    let r = report(&next);
    assert_eq!(r["summary"]["digests"]["total"], 24);
    assert_eq!(r["requested"]["start"], at(48.0));
    let again = run(&dir, &["--state", s, "--verbose"]);
    assert_eq!(code(&again), 0);
    assert_eq!(files_read(&again), 1, "only the checkpoint digest is read again");
}

#[test]
fn tampering_between_runs_is_caught_at_the_checkpoint() {
    let fork = chain("fork", "fork-source");
    for (case, expect) in [
        ("deleted", "digest_missing"),
        ("tail-deleted", "digest_missing"),
        ("replaced", "chain_hash_mismatch"),
        ("resigned", "chain_signature_mismatch"),
        ("forked", "chain_hash_mismatch"),
    ] {
        let (dir, state) = verified(&format!("between-{case}"), 30.0);
        let s = state.to_str().unwrap();
        let cp = checkpoint_key(&state);
        assert_eq!(cp, digest_key(30), "{case}");
        let cp_path = dir.join("bucket").join(&cp);
        match case {
            "deleted" => std::fs::remove_file(&cp_path).unwrap(),
            "tail-deleted" => {
                // The checkpoint and every later digest: nothing of the
                // chain is listed after it any more.
                for h in 30..=HOURS {
                    std::fs::remove_file(dir.join("bucket").join(digest_key(h))).unwrap();
                }
            }
            "replaced" => std::fs::copy(dir.join("bucket").join(digest_key(29)), &cp_path)
                .map(|_| ())
                .unwrap(),
            "resigned" => {
                let sidecar = dir.join("bucket").join(format!("{cp}.metadata.json"));
                let other =
                    std::fs::read(dir.join("bucket").join(format!("{}.metadata.json", digest_key(29)))).unwrap();
                std::fs::write(sidecar, other).unwrap();
            }
            "forked" => {
                // Every digest after the checkpoint replaced by the fork's
                // (same keys, other content), with the fork's logs.
                for h in 31..=HOURS {
                    for suffix in ["", ".metadata.json"] {
                        let k = format!("{}{suffix}", digest_key(h));
                        std::fs::copy(fork.join("bucket").join(&k), dir.join("bucket").join(&k)).unwrap();
                    }
                }
                copy_tree(
                    &fork.join("bucket/AWSLogs/111122223333/CloudTrail"),
                    &dir.join("bucket/AWSLogs/111122223333/CloudTrail"),
                );
            }
            _ => unreachable!(),
        }
        let second = run(&dir, &["--state", s, "--verbose"]);
        assert_eq!(code(&second), 1, "{case}: {}", stderr(&second));
        let r = report(&second);
        let f = findings(&r);
        assert!(
            f.contains(&(expect.to_string(), format!("s3://ctv-bench-bucket/{cp}"))),
            "{case}: expected {expect} on the checkpoint digest; got {f:?}"
        );
        // Without reading the old hours: only digests from the checkpoint on.
        assert!(
            files_read(&second) <= (HOURS as u64 - 30) * 3 + 1,
            "{case}: {}",
            stderr(&second)
        );
        // The checkpoint stays, so the next run reports it again.
        assert_eq!(checkpoint_key(&state), cp, "{case}");
        let third = run(&dir, &["--state", s]);
        assert_eq!(code(&third), 1, "{case}");
        assert!(findings(&report(&third)).contains(&(expect.to_string(), format!("s3://ctv-bench-bucket/{cp}"))));
    }
}

#[test]
fn problems_are_reported_again_until_resolved() {
    let dir = chain("bench-data", "again");
    // Hour ~10: a deleted log (violation). Hour ~20: a log that cannot be
    // read (a FIFO where the file should be: read_error).
    let all = logs(&dir);
    let missing = all[20].clone();
    let unreadable = all[40].clone();
    std::fs::remove_file(&missing).unwrap();
    std::fs::remove_file(&unreadable).unwrap();
    assert!(Command::new("mkfifo").arg(&unreadable).status().unwrap().success());
    let state = dir.join("s.json");
    let s = state.to_str().unwrap();
    let first = run(&dir, &["--start-time", T0, "--state", s, "--end-time", &at(30.0)]);
    assert_eq!(code(&first), 1);
    let problems = |out: &Output| {
        let mut k = kinds(&report(out));
        k.remove("chain_restart"); // the notice of the first digest
        k
    };
    let k1 = problems(&first);
    assert!(k1.contains("log_missing") && k1.contains("read_error"), "{k1:?}");
    let cp1 = chains_of(&state)[0]["checkpoint"]["end"].as_str().unwrap().to_string();
    assert!(cp1 <= at(11.0), "checkpoint {cp1} stays before the deleted log");
    let second = run(&dir, &["--state", s, "--end-time", &at(50.0)]);
    assert_eq!(code(&second), 1);
    assert_eq!(problems(&second), k1, "reported again");
    // The deleted log is restored from a backup; the read error stays.
    std::fs::copy(
        chain("bench-data", "again-backup").join(missing.strip_prefix(&dir).unwrap()),
        &missing,
    )
    .unwrap();
    let third = run(&dir, &["--state", s, "--end-time", &at(50.0)]);
    assert_eq!(code(&third), 2, "only the read error is left: incomplete");
    let cp3 = chains_of(&state)[0]["checkpoint"]["end"].as_str().unwrap().to_string();
    assert!(
        cp3 > at(11.0) && cp3 <= at(21.0),
        "checkpoint {cp3} moved up to the read error"
    );
}

#[test]
fn recheck_catches_an_old_modified_log_within_the_documented_runs() {
    let (dir, state) = verified("recheck", 70.0);
    let s = state.to_str().unwrap();
    // Later (after the checkpoint moved past it), a log of hour 60 is
    // modified.
    corrupt(&logs(&dir)[120]);
    // Without --recheck the incremental run does not look back.
    let plain = run(&dir, &["--state", s]);
    assert_eq!(code(&plain), 0);
    // 70 verified hours, 24 per run: caught within ceil(70 / 24) = 3 runs.
    let mut caught_at = None;
    for i in 1..=3 {
        let out = run(&dir, &["--state", s, "--recheck", "24"]);
        let r = report(&out);
        assert!(r["rechecked"].as_array().is_some_and(|a| !a.is_empty()), "{r}");
        if code(&out) == 1 {
            caught_at = Some(i);
            break;
        }
    }
    // Windows [0 h, 24 h], [24 h, 48 h], [48 h, 70 h]: the third run.
    assert_eq!(
        caught_at,
        Some(3),
        "a modified old log is caught within 3 rechecking runs"
    );
    // And reported again by the next rechecking run (the re-verification
    // does not move past it).
    let again = run(&dir, &["--state", s, "--recheck", "24"]);
    assert_eq!(code(&again), 1);
}

#[test]
fn state_file_is_locked_versioned_and_scoped() {
    let (dir, state) = verified("guard", 10.0);
    let s = state.to_str().unwrap();
    let good = std::fs::read(&state).unwrap();

    // Lock held by another process: exit 2, the state untouched.
    let lock = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(dir.join("s.json.lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let locked = run(&dir, &["--state", s]);
    assert_eq!(code(&locked), 2);
    assert!(stderr(&locked).contains("lock"), "{}", stderr(&locked));
    drop(lock);
    // A lock on the state file itself (`flock FILE ...`) keeps it out too.
    let held = std::fs::File::open(&state).unwrap();
    held.try_lock().unwrap();
    let locked = run(&dir, &["--state", s]);
    assert_eq!(code(&locked), 2);
    assert!(stderr(&locked).contains("locked"), "{}", stderr(&locked));
    drop(held);

    let refused = |bytes: &[u8], extra: &[&str], what: &str| {
        std::fs::write(&state, bytes).unwrap();
        let mut args = vec!["--state", s];
        args.extend(extra);
        let out = run(&dir, &args);
        assert_eq!(code(&out), 2, "{what}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(s),
            "{what}: the message names the file: {}",
            stderr(&out)
        );
        assert_eq!(
            std::fs::read(&state).unwrap(),
            bytes,
            "{what}: the state is left as it was"
        );
    };
    refused(&good[..good.len() / 2], &[], "truncated");
    refused(b"not json at all", &[], "garbage");
    let text = String::from_utf8(good.clone()).unwrap();
    refused(text.replacen("\"runs\": 1", "\"runs\": 7", 1).as_bytes(), &[], "edited");
    refused(
        text.replacen("\"version\": 1", "\"version\": 9", 1).as_bytes(),
        &[],
        "other version",
    );
    refused(&good, &["--region", "eu-west-1"], "other scope");

    // --state-reset starts over deliberately.
    std::fs::write(&state, b"garbage").unwrap();
    let reset = run(&dir, &["--state", s, "--state-reset", "--start-time", T0]);
    assert_eq!(code(&reset), 0, "{}", stderr(&reset));
    assert!(checkpoint_key(&state).ends_with(".json.gz"));
}

#[test]
fn report_and_metrics_files() {
    let dir = chain("bench-data", "outputs");
    let state = dir.join("s.json");
    let (report_file, metrics_file) = (dir.join("r.json"), dir.join("m.prom"));
    let out = run(
        &dir,
        &[
            "--start-time",
            T0,
            "--end-time",
            &at(12.0),
            "--state",
            state.to_str().unwrap(),
            "--report",
            report_file.to_str().unwrap(),
            "--metrics",
            metrics_file.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 0);
    let written: Value = serde_json::from_slice(&std::fs::read(&report_file).unwrap()).unwrap();
    schema::check(&written);
    assert_eq!(written, report(&out), "--report holds the JSON report");
    let text = std::fs::read_to_string(&metrics_file).unwrap();
    let lines = text.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let value = |name: &str, label: Option<(&str, &str)>| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} {label:?} in\n{text}"))
    };
    assert_eq!(value("ctverify_verdict", Some(("verdict", "valid"))), 1.0);
    assert_eq!(value("ctverify_verdict", Some(("verdict", "invalid"))), 0.0);
    assert_eq!(value("ctverify_exit_code", None), 0.0);
    assert_eq!(value("ctverify_findings", Some(("kind", "log_modified"))), 0.0);
    assert_eq!(value("ctverify_digests", Some(("result", "valid"))), 12.0);
    assert!(value("ctverify_checkpoint_age_seconds", None) > 0.0);

    // A run that cannot run still writes metrics (verdict "error").
    let failed = run(
        &dir,
        &[
            "--state",
            state.to_str().unwrap(),
            "--region",
            "eu-west-1",
            "--metrics",
            metrics_file.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&failed), 2);
    let text = std::fs::read_to_string(&metrics_file).unwrap();
    assert!(text.contains("ctverify_verdict{verdict=\"error\"} 1"), "{text}");
}
