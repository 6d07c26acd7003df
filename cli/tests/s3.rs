//! S3 mode against a real S3-compatible server (moto, on loopback) with a
//! fault-injecting proxy in front: every vector gives the same results from
//! S3 as from its local copy (strict and `--compat`), transient faults never
//! change a verdict, permanent ones are `read_error` (never `invalid`),
//! public keys come from `ListPublicKeys`, the trail from `DescribeTrails`,
//! and `export` writes a copy that verifies offline to the same report.

mod generator;
mod s3env;
mod schema;

use s3env::{ctverify, moto, proxy, regex_escape, repo, stats, upload, walk, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};

const NOW: &str = "2026-01-01T00:00:00Z";

/// One committed vector.
struct Vector {
    name: String,
    dir: PathBuf,
    exp: Value,
}

impl Vector {
    fn load(dir: PathBuf) -> Vector {
        let exp = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        Vector {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            dir,
            exp,
        }
    }

    fn named(name: &str) -> Vector {
        Vector::load(repo().join("test-vectors/vectors").join(name))
    }

    fn s(&self, path: &[&str]) -> String {
        let mut v = &self.exp;
        for p in path {
            v = &v[*p];
        }
        v.as_str().unwrap_or_default().to_string()
    }

    fn strs(&self, path: &[&str]) -> Vec<String> {
        let mut v = &self.exp;
        for p in path {
            v = &v[*p];
        }
        v.as_array()
            .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    }

    fn bucket(&self) -> String {
        self.s(&["compat", "bucket"])
    }

    fn keys(&self) -> Vec<String> {
        self.strs(&["public_keys"])
            .iter()
            .flat_map(|k| ["--public-keys".to_string(), self.dir.join(k).display().to_string()])
            .collect()
    }

    /// Strict flags shared by the local and the S3 run: the vector's own
    /// arguments with an explicit range (S3 mode needs a start).
    fn strict_args(&self) -> Vec<String> {
        let own = self.strs(&["args"]);
        let mut a: Vec<String> = vec!["--now".into(), NOW.into(), "--format".into(), "json".into()];
        for (flag, value) in [("--start-time", "start"), ("--end-time", "end")] {
            if !own.iter().any(|x| x == flag) {
                a.extend([flag.to_string(), self.s(&["compat", value])]);
            }
        }
        a.extend(own);
        a
    }

    /// `--compat` flags (aws-cli's), with `--s3-bucket` unless the vector
    /// gives one (DescribeTrails is tested on its own).
    fn compat_args(&self) -> Vec<String> {
        let extra = self.strs(&["compat", "extra_args"]);
        let mut a: Vec<String> = vec![
            "validate".into(),
            "--compat".into(),
            "--trail-arn".into(),
            self.s(&["compat", "trail_arn"]),
            "--region".into(),
            self.s(&["compat", "region"]),
            "--start-time".into(),
            self.s(&["compat", "start"]),
            "--end-time".into(),
            self.s(&["compat", "end"]),
            "--now".into(),
            NOW.into(),
            "--verbose".into(),
        ];
        if !extra.iter().any(|x| x == "--s3-bucket") {
            a.extend(["--s3-bucket".into(), self.bucket()]);
        }
        a.extend(extra);
        a.extend(self.keys());
        a
    }

    fn local(&self) -> Vec<String> {
        vec!["--local".into(), self.dir.join("bucket").display().to_string()]
    }
}

fn s3(server: &Server, bucket: &str) -> Vec<String> {
    vec![
        "--endpoint-url".into(),
        server.url.clone(),
        "--s3-bucket".into(),
        bucket.into(),
    ]
}

fn cat(parts: &[&[String]]) -> Vec<String> {
    parts.iter().flat_map(|p| p.iter().cloned()).collect()
}

fn all_vectors() -> Vec<Vector> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(repo().join("test-vectors/vectors"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().map(Vector::load).collect()
}

/// The report with what may legitimately differ between sources removed:
/// bytes hashed (a log over budget stops at a source-dependent chunk) and
/// the wording of read errors.
fn comparable(json: &str) -> Value {
    let mut v: Value = schema::parse(json);
    if let Some(o) = v.as_object_mut() {
        o.remove("log_bytes_hashed");
    }
    if let Some(list) = v["findings"].as_array_mut() {
        for f in list.iter_mut() {
            if f["kind"] == "read_error" {
                f["message"] = Value::Null;
            }
        }
        list.sort_by_key(|f| f.to_string());
    }
    v
}

/// Keys that a local copy refuses to read (`..`) are plain keys in S3:
/// absent from the bucket, so `log_missing` there (SPEC §3: never read
/// outside DIR applies to the local copy only).
const LOCAL_ONLY_RULE: &[&str] = &["log_key_dotdot_read_error"];

/// Every vector from S3 (through the proxy, which also serves
/// `ListPublicKeys`) and from its local copy: same exit code, verdict,
/// findings, summary and coverage; `--compat` byte-identical.
fn vectors_equal(part: usize, parts: usize) {
    let server = moto();
    let px = proxy(&server, &[]);
    let mut failures = vec![];
    for v in all_vectors().into_iter().skip(part).step_by(parts) {
        upload(&server, &v.bucket(), &v.dir.join("bucket"), &[]);
        let strict = cat(&[&["validate".to_string()], &v.strict_args(), &v.keys()]);
        let (lc, lo, le) = ctverify(&cat(&[&strict, &v.local()]));
        let (sc, so, se) = ctverify(&cat(&[&strict, &s3(&px, &v.bucket())]));
        assert!(
            !lo.is_empty() && !so.is_empty(),
            "{}: no report\nlocal: {le}\nS3: {se}",
            v.name
        );
        if LOCAL_ONLY_RULE.contains(&v.name.as_str()) {
            assert_eq!((lc, sc), (2, 1), "{}: {le}\n{se}", v.name);
            assert!(
                so.contains("\"log_missing\"") && so.contains("AWSLogs/../../escape.json.gz"),
                "{so}"
            );
        } else if lc != sc || comparable(&lo) != comparable(&so) {
            failures.push(format!(
                "{}: strict differs: local exit {lc}, S3 exit {sc}\nlocal: {lo}\n{le}\nS3: {so}\n{se}",
                v.name
            ));
        }
        let compat = v.compat_args();
        let local = ctverify(&cat(&[&compat, &v.local()]));
        let remote = ctverify(&cat(&[&compat, &["--endpoint-url".to_string(), px.url.clone()]]));
        if local != remote {
            failures.push(format!(
                "{}: --compat differs:\nlocal: {local:?}\nS3: {remote:?}",
                v.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn vectors_s3_equal_local_part_1() {
    vectors_equal(0, 2);
}

#[test]
fn vectors_s3_equal_local_part_2() {
    vectors_equal(1, 2);
}

/// An intact 24-hour trail (24 digests, 192 logs of 2-40 KB) from the
/// deterministic generator, made once per test binary.
struct Trail {
    dir: PathBuf,
}

const TRAIL_BUCKET: &str = "ctv-bench-bucket";

fn trail() -> Trail {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = MADE.get_or_init(|| {
        generator::bench_data(
            "s3-trail",
            &[
                "--hours",
                "24",
                "--logs-per-digest",
                "8",
                "--realistic",
                "--size-kb",
                "2:40",
            ],
        )
    });
    Trail { dir: dir.clone() }
}

impl Trail {
    fn keys_file(&self) -> String {
        self.dir.join("public-keys.json").display().to_string()
    }

    /// Strict flags of a run over the whole trail.
    fn args(&self) -> Vec<String> {
        [
            "validate",
            "--start-time",
            "2024-03-01T00:17:28Z",
            "--end-time",
            "2024-03-02T00:17:28Z",
            "--now",
            NOW,
            "--format",
            "json",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    }

    fn s3(&self, px: &Server) -> Vec<String> {
        cat(&[&self.args(), &s3(px, TRAIL_BUCKET)])
    }

    fn local(&self) -> Vec<String> {
        vec!["--local".into(), self.dir.join("bucket").display().to_string()]
    }

    fn compat(&self) -> Vec<String> {
        [
            "validate",
            "--compat",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/bench",
            "--region",
            "us-east-1",
            "--s3-bucket",
            TRAIL_BUCKET,
            "--start-time",
            "2024-03-01T00:17:28Z",
            "--end-time",
            "2024-03-02T00:17:28Z",
            "--now",
            NOW,
            "--verbose",
            "--public-keys",
            &self.keys_file(),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect()
    }
}

fn verdict(code: i32, out: &str, err: &str) -> (i32, String) {
    let report: Value = serde_json::from_str(out).unwrap_or_else(|_| panic!("no report: {out}\n{err}"));
    schema::check(&report);
    (code, report["verdict"].as_str().unwrap_or_default().to_string())
}

/// Every request fails once (503 SlowDown, connection reset, body cut
/// short): the intact trail is still `valid`, and `--compat` prints what it
/// prints without faults.
#[test]
fn transient_faults_never_change_the_verdict() {
    let server = moto();
    let t = trail();
    upload(&server, TRAIL_BUCKET, &t.dir.join("bucket"), &[]);
    for rate in ["0.2", "1.0"] {
        let px = proxy(
            &server,
            &[
                "--fault-rate",
                rate,
                "--faults",
                "503,reset,truncate",
                "--public-keys",
                &t.keys_file(),
            ],
        );
        let (code, out, err) = ctverify(&t.s3(&px));
        assert_eq!(
            verdict(code, &out, &err),
            (0, "valid".into()),
            "rate {rate}: {out}\n{err}"
        );
        let faults = &stats(&px)["faults"];
        for kind in ["503", "reset", "truncate"] {
            assert!(
                faults[kind].as_u64().unwrap_or(0) > 0,
                "rate {rate}: no {kind} fault injected: {faults}"
            );
        }
        let clean = ctverify(&cat(&[&t.compat(), &t.local()]));
        assert_eq!(clean.0, 0, "{clean:?}");
        let faulty = ctverify(&cat(&[&t.compat(), &["--endpoint-url".to_string(), px.url.clone()]]));
        assert_eq!(
            clean, faulty,
            "rate {rate}: --compat output changed under transient faults"
        );
    }
}

/// Objects that always fail (503 after every retry, 403 AccessDenied, a
/// reset or a cut body every time): `incomplete` with `read_error` naming
/// exactly them — never `invalid`, never `log_missing` / `digest_missing`.
#[test]
fn permanent_faults_are_read_errors() {
    let server = moto();
    let t = trail();
    upload(&server, TRAIL_BUCKET, &t.dir.join("bucket"), &[]);
    let keys = ["--public-keys".to_string(), t.keys_file()];
    let (code, verbose, err) = ctverify(&cat(&[&t.args(), &["--verbose".to_string()], &keys, &t.local()]));
    assert_eq!(verdict(code, &verbose, &err), (0, "valid".into()));
    let verbose: Value = serde_json::from_str(&verbose).unwrap();
    let objects: Vec<String> = verbose["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "valid")
        .map(|f| f["object"].as_str().unwrap().to_string())
        .collect();
    // A log, and a digest in the middle of the chain (its successor
    // vouches for it, so only its read fails).
    let log = objects.iter().find(|o| o.contains("/CloudTrail/")).unwrap().clone();
    let digests: Vec<&String> = objects.iter().filter(|o| o.contains("/CloudTrail-Digest/")).collect();
    let digest = digests[digests.len() / 2].clone();
    let key = |o: &str| o.splitn(4, '/').nth(3).unwrap().to_string();
    let pattern = format!("({}|{})$", regex_escape(&key(&log)), regex_escape(&key(&digest)));
    for kind in ["503", "403", "reset", "truncate"] {
        let px = proxy(&server, &["--fail-always", &pattern, "--fail-always-kind", kind]);
        let (code, out, err) = ctverify(&cat(&[&t.s3(&px), &keys]));
        assert_eq!(
            verdict(code, &out, &err),
            (2, "incomplete".into()),
            "{kind}: {out}\n{err}"
        );
        let report: Value = serde_json::from_str(&out).unwrap();
        let bad: Vec<(&str, &str)> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["class"] != "notice")
            .map(|f| (f["kind"].as_str().unwrap(), f["object"].as_str().unwrap()))
            .collect();
        assert!(bad.contains(&("read_error", log.as_str())), "{kind}: {bad:?}");
        assert!(bad.contains(&("read_error", digest.as_str())), "{kind}: {bad:?}");
        assert!(
            bad.iter().all(|(k, _)| *k == "read_error" || *k == "coverage_gap"),
            "{kind}: only read errors (and the hour the unreadable digest would cover): {bad:?}"
        );
        assert!(out.contains("\"class\": \"unverifiable\""));
    }
}

/// No `--public-keys`: `ListPublicKeys` for each delivery region, every
/// page (the proxy answers one key per page); no `--s3-bucket`: the trail
/// is looked up with `DescribeTrails` (bucket and prefix).
#[test]
fn keys_and_trail_from_the_apis() {
    let server = moto();
    let v = Vector::named("prefix_valid");
    let prefix = v.s(&["compat", "prefix"]);
    let arn = v.s(&["compat", "trail_arn"]);
    let name = arn.rsplit('/').next().unwrap().to_string();
    upload(
        &server,
        &v.bucket(),
        &v.dir.join("bucket"),
        &["--trail", &name, "--s3-prefix", &prefix],
    );
    // The vector's key listed three times: three pages of one key.
    let listed: Value =
        serde_json::from_slice(&std::fs::read(v.dir.join(&v.strs(&["public_keys"])[0])).unwrap()).unwrap();
    let entry = listed["PublicKeyList"][0].clone();
    let keys = tempdir("keys-paged").with_extension("json");
    std::fs::write(
        &keys,
        serde_json::json!({"PublicKeyList": [entry.clone(), entry.clone(), entry]}).to_string(),
    )
    .unwrap();
    let px = proxy(
        &server,
        &["--public-keys", keys.to_str().unwrap(), "--keys-page-size", "1"],
    );
    let (lc, lo, _) = ctverify(&cat(&[
        &["validate".to_string()],
        &v.strict_args(),
        &v.keys(),
        &v.local(),
    ]));
    let args = cat(&[
        &["validate".to_string(), "--trail-arn".into(), arn.clone()],
        &v.strict_args(),
        &["--endpoint-url".to_string(), px.url.clone()],
    ]);
    let (sc, so, se) = ctverify(&args);
    assert_eq!((lc, comparable(&lo)), (sc, comparable(&so)), "{se}");
    assert_eq!(comparable(&so)["verdict"], "valid", "{so}");
    assert_eq!(
        stats(&px)["list_public_keys"].as_u64(),
        Some(3),
        "ListPublicKeys: every page"
    );
    // --compat: DescribeTrails and one ListPublicKeys call, as aws-cli.
    let compat = |source: &[String]| {
        ctverify(&cat(&[
            &[
                "validate".to_string(),
                "--compat".into(),
                "--trail-arn".into(),
                arn.clone(),
                "--region".into(),
                v.s(&["compat", "region"]),
                "--start-time".into(),
                v.s(&["compat", "start"]),
                "--end-time".into(),
                v.s(&["compat", "end"]),
                "--now".into(),
                NOW.into(),
            ],
            source,
        ]))
    };
    let local = compat(&cat(&[&v.local(), &v.keys()]));
    let remote = compat(&["--endpoint-url".to_string(), px.url.clone()]);
    assert_eq!(local.0, 0, "{local:?}");
    // aws-cli ignores NextToken: it sees the first page only (here the
    // same key), so the output is the same.
    assert_eq!(local, remote);
    assert_eq!(
        stats(&px)["list_public_keys"].as_u64(),
        Some(4),
        "--compat: one ListPublicKeys call"
    );
}

/// `export` writes the local layout (objects, metadata sidecars, public
/// keys) and verifies as it goes; `validate --local` on the export gives the
/// same report; a second export fetches nothing again.
#[test]
fn export_verifies_offline_and_resumes() {
    let server = moto();
    let t = trail();
    upload(&server, TRAIL_BUCKET, &t.dir.join("bucket"), &[]);
    let px = proxy(&server, &["--public-keys", &t.keys_file()]);
    let out = tempdir("trail");
    let export = cat(&[
        &["export".to_string(), "--out".into(), out.display().to_string()],
        &t.s3(&px)[1..],
    ]);
    let (ec, eo, ee) = ctverify(&export);
    assert_eq!(verdict(ec, &eo, &ee), (0, "valid".into()), "{ee}");
    let offline = cat(&[
        &t.args(),
        &["--local".to_string(), out.display().to_string()],
        &[
            "--public-keys".to_string(),
            out.join("public-keys.json").display().to_string(),
        ],
    ]);
    let (lc, lo, le) = ctverify(&offline);
    assert_eq!(
        (ec, comparable(&eo)),
        (lc, comparable(&lo)),
        "export vs offline\n{ee}\n{le}"
    );
    assert!(!out.join(".ctverify-partial").exists(), "temporary folder left behind");
    // Resumed: nothing fetched again, same report.
    let before = stats(&px)["requests"].as_u64().unwrap();
    let (ec2, eo2, ee2) = ctverify(&export);
    assert_eq!((ec, comparable(&eo)), (ec2, comparable(&eo2)), "{ee2}");
    assert!(ee2.contains(" 0 objects written"), "resumed export wrote again: {ee2}");
    let again = stats(&px)["requests"].as_u64().unwrap() - before;
    assert!(again < 20, "resumed export made {again} requests");
    // A file cut short (an interrupted download of an older version) is
    // fetched again; tampering after export is found offline.
    let log = walk(&out)
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/CloudTrail/"))
        .unwrap();
    let bytes = std::fs::read(&log).unwrap();
    std::fs::write(&log, &bytes[..bytes.len() / 2]).unwrap();
    let (ec3, eo3, ee3) = ctverify(&export);
    assert_eq!((ec3, comparable(&eo3)), (ec, comparable(&eo)), "{ee3}");
    assert_eq!(std::fs::read(&log).unwrap(), bytes);
    std::fs::write(&log, b"not the log").unwrap();
    let (lc4, lo4, _) = ctverify(&offline);
    assert_eq!(verdict(lc4, &lo4, ""), (1, "invalid".into()));
}

/// An export of a tampered trail reports what validate reports, and the
/// export verifies offline to the same report.
#[test]
fn export_of_tampered_vectors() {
    let server = moto();
    for name in ["log_modified_detected", "log_unreferenced_notice", "org_trail_valid"] {
        let v = Vector::named(name);
        upload(&server, &v.bucket(), &v.dir.join("bucket"), &[]);
        let keys = v.dir.join(&v.strs(&["public_keys"])[0]);
        let px = proxy(&server, &["--public-keys", keys.to_str().unwrap()]);
        let out = tempdir(name);
        let (ec, eo, ee) = ctverify(&cat(&[
            &["export".to_string(), "--out".into(), out.display().to_string()],
            &v.strict_args(),
            &s3(&px, &v.bucket()),
        ]));
        let (lc, lo, le) = ctverify(&cat(&[
            &["validate".to_string(), "--local".into(), out.display().to_string()],
            &[
                "--public-keys".to_string(),
                out.join("public-keys.json").display().to_string(),
            ],
            &v.strict_args(),
        ]));
        assert_eq!(
            (ec, comparable(&eo)),
            (lc, comparable(&lo)),
            "{name}: export vs offline\n{ee}\n{le}"
        );
        let (dc, direct, _) = ctverify(&cat(&[
            &["validate".to_string()],
            &v.strict_args(),
            &v.keys(),
            &v.local(),
        ]));
        assert_eq!(
            (ec, comparable(&eo)),
            (dc, comparable(&direct)),
            "{name}: export vs the vector's own copy"
        );
    }
}

fn tempdir(name: &str) -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("export-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// `GetTrailStatus`: the trail delivered a digest a few minutes ago, the
/// newest digest is gone: `digest_missing` (a violation) even though the
/// hour is not yet due and no `--end-time` asks for it. Without the
/// trail's word (moto knows no such trail: skipped quietly) the same
/// bucket is `valid`.
#[test]
fn trail_status_names_a_deleted_newest_digest() {
    let server = moto();
    let t = trail();
    let copy = tempdir("trail-newest-deleted");
    copy_tree(&t.dir.join("bucket"), &copy);
    let digests: Vec<PathBuf> = walk(&copy)
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".json.gz") && p.to_string_lossy().contains("CloudTrail-Digest"))
        .collect();
    let newest = digests.last().unwrap();
    std::fs::remove_file(newest).unwrap();
    let _ = std::fs::remove_file(format!("{}.metadata.json", newest.display()));
    upload(&server, TRAIL_BUCKET, &copy, &[]);
    // 2024-03-02T00:17:28Z is the newest digest's end time.
    let delivered = 1_709_338_648 + 600;
    let args = |px: &Server| {
        cat(&[
            &[
                "validate",
                "--trail-arn",
                "arn:aws:cloudtrail:us-east-1:111122223333:trail/bench",
                "--start-time",
                "2024-03-01T00:17:28Z",
                "--now",
                "2024-03-02T00:27:28Z",
                "--format",
                "json",
                "--public-keys",
                &t.keys_file(),
            ]
            .map(String::from),
            &s3(px, TRAIL_BUCKET),
        ])
    };
    let px = proxy(&server, &["--latest-digest-delivery", &delivered.to_string()]);
    let (code, out, err) = ctverify(&args(&px));
    assert_eq!(verdict(code, &out, &err), (1, "invalid".into()), "{out}\n{err}");
    let key = newest.strip_prefix(&copy).unwrap().display().to_string();
    assert!(
        out.contains(&format!("\"object\": \"s3://{TRAIL_BUCKET}/{key}\"")) && out.contains("\"digest_missing\""),
        "{out}"
    );
    let quiet = proxy(&server, &[]);
    let (code, out, err) = ctverify(&args(&quiet));
    assert_eq!(verdict(code, &out, &err), (0, "valid".into()), "{out}\n{err}");
}

fn copy_tree(from: &Path, to: &Path) {
    for f in walk(from) {
        let dest = to.join(f.strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(&f, dest).unwrap();
    }
}

/// `--verbose`'s "S3 requests: L list pages, G GETs" line: G.
fn gets(err: &str) -> u64 {
    let line = err
        .lines()
        .find(|l| l.contains("S3 requests:"))
        .unwrap_or_else(|| panic!("no request line: {err}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let i = words.iter().position(|w| w.starts_with("GETs")).expect("GETs");
    words[i - 1].parse().expect("a count")
}

/// Scheduled runs over S3 (`--state`): the second run reads only the new
/// hours and the checkpoint digest (GETs counted with `--verbose`); a run
/// killed with SIGKILL mid-run leaves the state exactly as it was and the
/// lock free.
#[test]
fn scheduled_runs_read_only_new_hours_and_survive_kill() {
    let server = moto();
    let t = trail();
    upload(&server, TRAIL_BUCKET, &t.dir.join("bucket"), &[]);
    let dir = tempdir("scheduled");
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("s.json");
    let args = |px: &Server, extra: &[&str]| {
        cat(&[
            &[
                "validate",
                "--now",
                NOW,
                "--format",
                "json",
                "--verbose",
                "--public-keys",
                &t.keys_file(),
                "--state",
                &state.display().to_string(),
            ]
            .map(String::from),
            &s3(px, TRAIL_BUCKET),
            &extra.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ])
    };
    let px = proxy(&server, &[]);
    let first = args(
        &px,
        &[
            "--start-time",
            "2024-03-01T00:17:28Z",
            "--end-time",
            "2024-03-01T12:17:28Z",
        ],
    );
    let (code, out, err) = ctverify(&first);
    assert_eq!(verdict(code, &out, &err), (0, "valid".into()), "{err}");
    // 12 digests, 96 logs (plus digests loaded around the range edges).
    let g1 = gets(&err);
    assert!(g1 >= 12 + 96, "{err}");
    let before = std::fs::read(&state).unwrap();

    // Killed mid-run (every request takes 1.5 s): the state is untouched.
    let slow = proxy(&server, &["--latency-ms", "1500"]);
    let mut child = s3env::credentials(&mut std::process::Command::new(env!("CARGO_BIN_EXE_ctverify")))
        .args(args(&slow, &["--end-time", "2024-03-02T00:17:28Z"]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = dir.join("s.json.lock");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&lock)
        .unwrap_or_default()
        .contains(&child.id().to_string())
    {
        assert!(std::time::Instant::now() < deadline, "the run took the lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(2000));
    assert!(child.try_wait().unwrap().is_none(), "still running when killed");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert_eq!(
        std::fs::read(&state).unwrap(),
        before,
        "a killed run leaves the state as it was"
    );

    // The next run: only the 12 new hours and the checkpoint digest.
    let (code, out, err) = ctverify(&args(&px, &["--end-time", "2024-03-02T00:17:28Z"]));
    assert_eq!(verdict(code, &out, &err), (0, "valid".into()), "{err}");
    let g2 = gets(&err);
    assert!(g2 <= 12 + 96 + 1, "the second run read {g2} objects: {err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["requested"]["start"], "2024-03-01T12:17:28Z");
    assert_eq!(report["summary"]["digests"]["total"], 12);

    // Re-verification over S3: nothing new, 6 old hours checked again.
    let (code, out, err) = ctverify(&args(&px, &["--end-time", "2024-03-02T00:17:28Z", "--recheck", "6"]));
    assert_eq!(verdict(code, &out, &err), (0, "valid".into()), "{err}");
    let report: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["rechecked"][0]["start"], "2024-03-01T00:17:28Z", "{out}");
    assert_eq!(report["rechecked"][0]["end"], "2024-03-01T06:17:28Z", "{out}");
    assert_eq!(report["summary"]["digests"]["total"], 6);
    assert_eq!(report["summary"]["logs"]["valid"], 48);
}
