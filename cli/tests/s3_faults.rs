//! S3 mode against a hostile or broken endpoint (the fault proxy of
//! `test-support/s3/proxy.py` in front of moto): docs/s3.md "Faults".
//! For every class of fault, a clean trail stays `valid` when the fault is
//! transient, and when it is permanent becomes `incomplete` with
//! `read_error` on exactly the objects hit (a listing: exit 2 naming it),
//! never a violation; every run ends within its bound. The runs shorten
//! the timeouts through their documented environment variables, except
//! `production_limits_bound_a_trickle`.

mod generator;
mod s3env;
mod schema;

use s3env::{credentials, moto, proxy, regex_escape, repo, stats, upload, walk, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BUCKET: &str = "ctv-bench-bucket";
const NOW: &str = "2026-01-01T00:00:00Z";
/// The shortened limits of these runs (docs/s3.md "Faults" documents them).
const SHORT: &[(&str, &str)] = &[
    ("CTVERIFY_S3_ATTEMPT_TIMEOUT", "2"),
    ("CTVERIFY_S3_DEADLINE", "8"),
    ("CTVERIFY_S3_BACKOFF_MS", "20"),
];
/// What a run with [`SHORT`] limits may take at most, whatever the fault.
const SHORT_BOUND: Duration = Duration::from_secs(45);

/// A 6-hour trail (6 digests, 24 logs of 2-600 KB, some above the
/// small-object threshold), made once per test binary.
fn trail() -> &'static Path {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    MADE.get_or_init(|| {
        generator::bench_data(
            "s3-faults",
            &[
                "--hours",
                "6",
                "--logs-per-digest",
                "4",
                "--realistic",
                "--size-kb",
                "2:600",
            ],
        )
    })
}

fn keys_file() -> String {
    trail().join("public-keys.json").display().to_string()
}

/// The trail's objects under `part` (`/CloudTrail/`, `/CloudTrail-Digest/`),
/// as (key, size), sorted by key.
fn objects(part: &str) -> Vec<(String, u64)> {
    let root = trail().join("bucket");
    let mut out = vec![];
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let key = p.strip_prefix(&root).unwrap().to_string_lossy().into_owned();
                if key.contains(part) && key.ends_with(".json.gz") {
                    out.push((key, e.metadata().unwrap().len()));
                }
            }
        }
    }
    out.sort();
    out
}

/// A log above the small-object threshold, a small log, and a digest in
/// the middle of the chain.
fn targets() -> [String; 3] {
    let logs = objects("/CloudTrail/");
    let big = logs
        .iter()
        .find(|(_, n)| *n > 300 * 1024)
        .expect("a log over 300 KB")
        .0
        .clone();
    let small = logs
        .iter()
        .find(|(_, n)| *n < 64 * 1024)
        .expect("a log under 64 KB")
        .0
        .clone();
    let digests = objects("/CloudTrail-Digest/");
    [big, small, digests[digests.len() / 2].0.clone()]
}

fn bucket_server() -> Server {
    let server = moto();
    upload(&server, BUCKET, &trail().join("bucket"), &[]);
    server
}

struct Run {
    code: i32,
    out: String,
    err: String,
    took: Duration,
}

impl Run {
    fn report(&self) -> Value {
        let report =
            serde_json::from_str(&self.out).unwrap_or_else(|e| panic!("no report ({e}): {}\n{}", self.out, self.err));
        schema::check(&report);
        report
    }

    /// (kind, object) of the findings that are not notices.
    fn problems(&self) -> Vec<(String, String)> {
        self.report()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["class"] != "notice")
            .map(|f| {
                (
                    f["kind"].as_str().unwrap().to_string(),
                    f["object"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }
}

/// `ctverify validate` over the trail through `px` with `env` limits.
fn validate(px: &Server, extra: &[&str], env: &[(&str, &str)]) -> Run {
    run_over(px, &["validate"], extra, env)
}

/// `ctverify COMMAND` (`validate`, `export --out DIR`) over the trail.
fn run_over(px: &Server, command: &[&str], extra: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctverify"));
    credentials(&mut cmd);
    for v in [
        "CTVERIFY_S3_ATTEMPT_TIMEOUT",
        "CTVERIFY_S3_DEADLINE",
        "CTVERIFY_S3_MIN_RATE",
        "CTVERIFY_S3_BACKOFF_MS",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd.args(command);
    cmd.args([
        "--start-time",
        "2024-03-01T00:17:28Z",
        "--end-time",
        "2024-03-01T06:17:28Z",
        "--now",
        NOW,
        "--format",
        "json",
        "--public-keys",
        &keys_file(),
        "--endpoint-url",
        &px.url,
        "--s3-bucket",
        BUCKET,
    ]);
    cmd.args(extra);
    let started = Instant::now();
    let out = cmd.output().expect("run ctverify");
    Run {
        code: out.status.code().unwrap_or(-1),
        out: String::from_utf8_lossy(&out.stdout).into_owned(),
        err: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Faults of single objects' answers, permanent: `incomplete`, `read_error`
/// on exactly the three objects hit (plus the hour the unreadable digest
/// leaves uncovered), never a violation, within the bound; transient (every
/// request once): `valid`.
fn object_faults(kinds: &[&str]) {
    let server = bucket_server();
    let targets = targets();
    let pattern = format!(
        "({})$",
        targets.iter().map(|k| regex_escape(k)).collect::<Vec<_>>().join("|")
    );
    // The kinds run side by side (each its own proxy): the stalls wait.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = kinds
            .iter()
            .map(|kind| {
                let (server, targets, pattern) = (&server, &targets, &pattern);
                scope.spawn(move || object_fault(server, targets, pattern, kind))
            })
            .collect();
        runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One kind of [`object_faults`], permanent then transient.
fn object_fault(server: &Server, targets: &[String; 3], pattern: &str, kind: &str) -> Vec<String> {
    let mut failures = vec![];
    let px = proxy(
        server,
        &[
            "--fail-always",
            pattern,
            "--fail-always-kind",
            kind,
            "--stall-seconds",
            "120",
        ],
    );
    let run = validate(&px, &[], SHORT);
    let hit = stats(&px)["faults"][kind].as_u64().unwrap_or(0);
    let problems = run.problems();
    let named = targets
        .iter()
        .filter(|t| {
            problems
                .iter()
                .any(|(k, o)| k == "read_error" && o == &format!("s3://{BUCKET}/{t}"))
        })
        .count();
    let ok = run.code == 2
        && run.report()["verdict"] == "incomplete"
        && named == 3
        && problems.iter().all(|(k, _)| k == "read_error" || k == "coverage_gap")
        && problems.iter().filter(|(k, _)| k == "read_error").count() == 3
        && run.took < SHORT_BOUND
        && hit > 0;
    if !ok {
        failures.push(format!(
            "permanent {kind}: exit {}, {:?} in {:?} ({hit} faults)\n{}",
            run.code, problems, run.took, run.err
        ));
    }
    failures.extend(transient(server, kind));
    failures
}

/// `kind` on the first try of every request: the trail stays `valid`,
/// within the bound (`None`), else what went wrong.
fn transient(server: &Server, kind: &str) -> Option<String> {
    let px = proxy(
        server,
        &["--fault-rate", "1.0", "--faults", kind, "--stall-seconds", "120"],
    );
    let run = validate(&px, &[], SHORT);
    let hit = stats(&px)["faults"][kind].as_u64().unwrap_or(0);
    (run.code != 0 || run.took >= SHORT_BOUND || hit == 0).then(|| {
        format!(
            "transient {kind}: exit {} in {:?} ({hit} faults)\n{}\n{}",
            run.code, run.took, run.out, run.err
        )
    })
}

#[test]
fn damaged_bodies_are_fetched_again_never_judged() {
    object_faults(&["corrupt", "cut-fin", "truncate", "endless"]);
}

#[test]
fn stalls_and_trickles_end_in_bounded_time() {
    object_faults(&["stall", "stall-body", "trickle"]);
}

#[test]
fn only_no_such_key_is_missing() {
    object_faults(&["404-html", "404-bucket"]);
}

/// Objects without a checksum (the proxy drops S3's): a damaged read is
/// judged only when a second read of the same bytes agrees, so damage on
/// the first read of each object leaves the trail `valid`; damage that
/// repeats byte for byte is what tampering looks like without a checksum,
/// and is reported as such (the documented limit).
#[test]
fn unvouched_damage_is_read_twice() {
    let server = bucket_server();
    let px = proxy(
        &server,
        &["--strip-checksums", "--fault-rate", "1.0", "--faults", "corrupt"],
    );
    let run = validate(&px, &[], SHORT);
    assert_eq!(run.code, 0, "{:?}\n{}", run.problems(), run.err);
    assert!(stats(&px)["faults"]["corrupt"].as_u64().unwrap_or(0) > 0);
    let [big, _, digest] = targets();
    let pattern = format!("({}|{})$", regex_escape(&big), regex_escape(&digest));
    let log = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("unvouched-{}.log", std::process::id()));
    let _ = std::fs::remove_file(&log);
    let px = proxy(
        &server,
        &[
            "--strip-checksums",
            "--fail-always",
            &pattern,
            "--fail-always-kind",
            "corrupt",
            "--log",
            log.to_str().unwrap(),
        ],
    );
    let run = validate(&px, &[], SHORT);
    assert_eq!(run.code, 1, "{:?}\n{}", run.problems(), run.err);
    // Each damaged object was read twice (and agreed) before being judged.
    let gets = |key: &str| {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(" GET ") && l.contains(key) && l.contains("fault corrupt"))
            .count()
    };
    assert!(gets(&big) >= 2, "{}", gets(&big));
}

/// Listing faults: permanent on the digest day folder's listing, the run
/// stops with exit 2 naming the listing (no report, never a finding);
/// transient, the trail is `valid`.
#[test]
fn listings_are_complete_or_the_run_stops() {
    let server = bucket_server();
    let kinds = [
        "list-no-token",
        "list-same-token",
        "list-cycle",
        "list-cut",
        "list-count",
        "endless",
        "stall",
        "404-html",
        "503",
    ];
    // The kinds run side by side (each its own proxy): the stalls wait.
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = kinds
            .iter()
            .map(|kind| {
                let server = &server;
                scope.spawn(move || listing_fault(server, kind))
            })
            .collect();
        runs.into_iter().flat_map(|r| r.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// One kind of [`listings_are_complete_or_the_run_stops`].
fn listing_fault(server: &Server, kind: &str) -> Vec<String> {
    let mut failures = vec![];
    let px = proxy(
        server,
        &[
            "--fail-list-prefix",
            "CloudTrail-Digest/us-east-1/2024/03/01/$",
            "--fail-always-kind",
            kind,
            "--stall-seconds",
            "120",
        ],
    );
    let run = validate(&px, &[], SHORT);
    let named = run.err.contains(&format!(
        "listing s3://{BUCKET}/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/"
    ));
    if run.code != 2 || !run.out.is_empty() || !named || run.took >= SHORT_BOUND {
        failures.push(format!(
            "permanent {kind}: exit {} in {:?}, stdout {:?}\n{}",
            run.code, run.took, run.out, run.err
        ));
    }
    failures.extend(transient(server, kind));
    failures
}

/// `--compat` over S3 holds the same rules: a corrupted transfer is read
/// again (aws-cli's output unchanged), a lying listing is an error.
#[test]
fn compat_holds_the_same_rules() {
    let server = bucket_server();
    let compat = |px: &Server| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctverify"));
        credentials(&mut cmd).envs(SHORT.iter().copied());
        cmd.args([
            "validate",
            "--compat",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/bench",
            "--region",
            "us-east-1",
            "--s3-bucket",
            BUCKET,
            "--start-time",
            "2024-03-01T00:17:28Z",
            "--end-time",
            "2024-03-01T06:17:28Z",
            "--now",
            NOW,
            "--public-keys",
            &keys_file(),
            "--endpoint-url",
            &px.url,
        ]);
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let clean = compat(&proxy(&server, &[]));
    assert_eq!(clean.0, 0, "{clean:?}");
    let corrupt = compat(&proxy(
        &server,
        &["--fault-rate", "1.0", "--faults", "corrupt,cut-fin,404-html"],
    ));
    assert_eq!(clean, corrupt, "--compat output changed under transient damage");
    let lying = compat(&proxy(
        &server,
        &[
            "--fail-list-prefix",
            "CloudTrail-Digest/",
            "--fail-always-kind",
            "list-same-token",
        ],
    ));
    assert_ne!(lying.0, 0, "{lying:?}");
    assert_ne!(lying.0, 1, "a lying listing is never a validation failure: {lying:?}");
}

/// Production limits (no shortening): a log trickled at 4 bytes/s costs
/// its attempts at the minimum rate, not the 10 minutes it would take.
#[test]
fn production_limits_bound_a_trickle() {
    let server = bucket_server();
    let [_, small, _] = targets();
    let px = proxy(
        &server,
        &[
            "--fail-always",
            &format!("{}$", regex_escape(&small)),
            "--fail-always-kind",
            "trickle",
        ],
    );
    let run = validate(&px, &[], &[]);
    assert_eq!(run.code, 2, "{}", run.err);
    assert_eq!(
        run.problems(),
        vec![("read_error".to_string(), format!("s3://{BUCKET}/{small}"))]
    );
    assert!(run.took < Duration::from_secs(60), "took {:?}", run.took);
}

/// Prefix discovery without `--s3-prefix` lists at most its documented
/// number of folders: a bucket with many other folders stops with exit 2
/// asking for `--s3-prefix`, which then works.
#[test]
fn prefix_discovery_is_bounded() {
    let server = moto();
    let vector = repo().join("test-vectors/vectors/prefix_valid");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("s3-wide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for f in walk(&vector.join("bucket")) {
        let dest = dir.join(f.strip_prefix(vector.join("bucket")).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
    for i in 0..300 {
        let d = dir.join(format!("lake/part-{i:04}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("data.parquet"), b"x").unwrap();
    }
    upload(&server, "ctv-test-bucket", &dir, &[]);
    let px = proxy(&server, &[]);
    let run = |extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctverify"));
        credentials(&mut cmd).envs(SHORT.iter().copied());
        cmd.args([
            "validate",
            "--start-time",
            "2024-03-01T00:17:28Z",
            "--end-time",
            "2024-03-01T05:17:28Z",
            "--now",
            NOW,
            "--public-keys",
            &vector.join("public-keys.json").display().to_string(),
            "--endpoint-url",
            &px.url,
            "--s3-bucket",
            "ctv-test-bucket",
        ]);
        let out = cmd.args(extra).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&[]);
    let requests = stats(&px)["requests"].as_u64().unwrap();
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("--s3-prefix"), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(requests <= 300, "{requests} requests");
    let (code, out, err) = run(&["--s3-prefix", "my/pfx"]);
    assert_eq!(code, 0, "{out}\n{err}");
}

/// `export` under transient damage (bodies corrupted, cut, a proxy's 404)
/// writes exactly the bucket's bytes: the export verifies offline as
/// `valid` and every exported object equals its original. Under permanent
/// damage of one log, that log is not written at all.
#[test]
fn exports_never_keep_a_damaged_file() {
    let server = bucket_server();
    let export = |px: &Server, out: &Path| {
        let run = run_over(px, &["export", "--out", out.to_str().unwrap()], &[], SHORT);
        (run.code, run.err)
    };
    let dir = |name: &str| {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("export-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    };
    let out = dir("transient");
    let px = proxy(
        &server,
        &["--fault-rate", "1.0", "--faults", "corrupt,cut-fin,truncate,404-html"],
    );
    let (code, err) = export(&px, &out);
    assert_eq!(code, 0, "{err}");
    let source = trail().join("bucket");
    for f in walk(&source)
        .into_iter()
        .filter(|f| f.to_string_lossy().ends_with(".json.gz"))
    {
        let copy = out.join(f.strip_prefix(&source).unwrap());
        assert_eq!(
            std::fs::read(&copy).ok(),
            Some(std::fs::read(&f).unwrap()),
            "{} differs from the bucket's object",
            copy.display()
        );
    }
    let out = dir("permanent");
    let [big, _, _] = targets();
    let px = proxy(
        &server,
        &[
            "--fail-always",
            &format!("{}$", regex_escape(&big)),
            "--fail-always-kind",
            "corrupt",
        ],
    );
    let (code, err) = export(&px, &out);
    assert_eq!(code, 2, "{err}");
    assert!(!out.join(&big).exists(), "a damaged log was exported");
}
