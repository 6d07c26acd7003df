//! Hostile input and usage: the CLI never reads outside `--local DIR`, stays
//! bounded on bombs, and uses exit code 2 for usage errors.

mod schema;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A run that takes longer than this is blocked (on a FIFO, say): it is
/// killed and the test fails.
const TIME_LIMIT: Duration = Duration::from_secs(20);

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A scratch copy of the clean sample vector.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ctverify-hostile-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy_dir(&sample(), &dir);
    dir
}

fn files(dir: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(pattern) && p.to_string_lossy().ends_with(".json.gz") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn ctverify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ctverify"))
        .args(args)
        .output()
        .unwrap()
}

fn validate_json(dir: &Path) -> (i32, Value) {
    validate_json_with(dir, &[])
}

/// `ctverify validate --local DIR/bucket --public-keys DIR/public-keys.json
/// --format json EXTRA...`: exit code and report. The run must end within
/// `TIME_LIMIT`, else it is killed and the test fails.
fn validate_json_with(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let bucket = dir.join("bucket");
    let keys = dir.join("public-keys.json");
    let base = [
        "validate",
        "--local",
        bucket.to_str().unwrap(),
        "--public-keys",
        keys.to_str().unwrap(),
        "--format",
        "json",
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_ctverify"))
        .args([&base[..], extra].concat())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            pipe.read_to_end(&mut bytes).unwrap();
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "ctverify did not finish within {TIME_LIMIT:?}: killed (blocked on {})",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let report =
        serde_json::from_slice(&stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&stderr)));
    schema::check(&report);
    (status.code().unwrap(), report)
}

fn kinds_for(report: &Value, needle: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"].as_str().is_some_and(|o| o.ends_with(needle)))
        .map(|f| f["kind"].as_str().unwrap().to_string())
        .collect()
}

/// (kind, message) of each finding whose object ends with `needle`.
fn findings_for(report: &Value, needle: &str) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["object"].as_str().is_some_and(|o| o.ends_with(needle)))
        .map(|f| {
            (
                f["kind"].as_str().unwrap().into(),
                f["message"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn file_name(path: &Path) -> &str {
    path.file_name().unwrap().to_str().unwrap()
}

#[test]
fn sample_is_valid() {
    let (code, report) = validate_json(&sample());
    assert_eq!((code, report["verdict"].as_str()), (0, Some("valid")));
}

#[test]
fn a_symlink_out_of_the_copy_is_never_followed() {
    let dir = scratch("symlink");
    let log = files(&dir.join("bucket"), "_CloudTrail_")[0].clone();
    // The file outside holds the genuine bytes: if it were read, the log would verify.
    let outside = dir.join("outside.json.gz");
    std::fs::rename(&log, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &log).unwrap();
    let (code, report) = validate_json(&dir);
    let name = log.file_name().unwrap().to_str().unwrap();
    assert_eq!(kinds_for(&report, name), ["read_error"]);
    assert_eq!((code, report["verdict"].as_str()), (2, Some("incomplete")));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_digest_gzip_bomb_is_malformed_not_inflated() {
    let dir = scratch("bomb");
    let digest = files(&dir.join("bucket"), "_CloudTrail-Digest_")[1].clone();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![b' '; 1 << 20];
    for _ in 0..80 {
        enc.write_all(&zeros).unwrap(); // 80 MiB inflated, over the 64 MiB limit
    }
    std::fs::write(&digest, enc.finish().unwrap()).unwrap();
    let (code, report) = validate_json(&dir);
    let name = digest.file_name().unwrap().to_str().unwrap();
    assert!(
        kinds_for(&report, name).contains(&"digest_malformed".to_string()),
        "{report}"
    );
    assert_eq!(code, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn deeply_nested_digest_json_is_malformed() {
    let dir = scratch("deep");
    let digest = files(&dir.join("bucket"), "_CloudTrail-Digest_")[1].clone();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all("[".repeat(1_000_000).as_bytes()).unwrap();
    std::fs::write(&digest, enc.finish().unwrap()).unwrap();
    let (code, report) = validate_json(&dir);
    let name = digest.file_name().unwrap().to_str().unwrap();
    assert!(
        kinds_for(&report, name).contains(&"digest_malformed".to_string()),
        "{report}"
    );
    assert_eq!(code, 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn usage_errors_exit_2() {
    let bucket = sample().join("bucket");
    let keys = sample().join("public-keys.json");
    let (b, k) = (bucket.to_str().unwrap(), keys.to_str().unwrap());
    for args in [
        vec!["validate", "--local", b],
        vec![
            "validate",
            "--local",
            b,
            "--public-keys",
            k,
            "--start-time",
            "not a time",
        ],
        vec![
            "validate",
            "--local",
            b,
            "--public-keys",
            k,
            "--start-time",
            "2024-03-02",
            "--end-time",
            "2024-03-01",
        ],
        vec![
            "validate",
            "--local",
            b,
            "--public-keys",
            k,
            "--trail-arn",
            "arn:aws:s3:::bucket",
        ],
        vec!["validate", "--local", b, "--public-keys", k, "--format", "xml"],
        vec!["validate", "--local", "/nonexistent/dir", "--public-keys", k],
        vec!["validate", "--local", b, "--public-keys", "/nonexistent/keys.json"],
        vec!["validate", "--bogus-flag"],
    ] {
        let out = ctverify(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

#[test]
fn help_explains_every_flag() {
    let out = ctverify(&["validate", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--trail-arn",
        "--local",
        "--public-keys",
        "--start-time",
        "--end-time",
        "--s3-bucket",
        "--s3-prefix",
        "--account-id",
        "--region",
        "--profile",
        "--endpoint-url",
        "--format",
        "--verbose",
        "--compat",
        "--allow-gaps",
    ] {
        assert!(help.contains(flag), "help lacks {flag}");
    }
    assert!(!help.contains("--now"), "--now is for tests only");
}

#[test]
fn a_requested_region_without_digests_is_a_gap_not_valid() {
    let regions = ["--region", "us-east-1", "--region", "eu-west-1"];
    let (code, report) = validate_json_with(&sample(), &regions);
    assert_eq!((code, report["verdict"].as_str()), (2, Some("incomplete")), "{report}");
    let gaps: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "coverage_gap")
        .collect();
    assert_eq!(gaps.len(), 1, "{report}");
    assert!(gaps[0]["object"]
        .as_str()
        .unwrap()
        .ends_with("/AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/"));
    assert_eq!(gaps[0]["start"], report["requested"]["start"]);
    // --allow-gaps still reports it, but the verdict is valid.
    let (code, report) = validate_json_with(&sample(), &[&regions[..], &["--allow-gaps"][..]].concat());
    assert_eq!((code, report["verdict"].as_str()), (0, Some("valid")));
    // Only the region that exists: valid.
    assert_eq!(validate_json_with(&sample(), &["--region", "us-east-1"]).0, 0);
}

#[test]
fn a_chain_with_no_digest_near_an_explicit_range_is_a_gap() {
    // Two chains whose digests all end hours before the requested range:
    // each chain reports the range as uncovered (none is skipped silently).
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/multi_region_valid");
    let range = [
        "--start-time",
        "2024-03-01T09:30:00Z",
        "--end-time",
        "2024-03-01T10:00:00Z",
    ];
    let (code, report) = validate_json_with(&dir, &range);
    let gaps: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "coverage_gap")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert!(
        gaps.iter().any(|o| o.ends_with("/CloudTrail-Digest/us-east-1/")),
        "{report}"
    );
    assert!(
        gaps.iter().any(|o| o.ends_with("/CloudTrail-Digest/us-west-2/")),
        "{report}"
    );
    assert_eq!(code, 2, "{report}");
}

#[test]
fn a_symlinked_folder_out_of_the_copy_is_never_followed() {
    let dir = scratch("dirlink");
    let log = files(&dir.join("bucket"), "_CloudTrail_")[0].clone();
    let folder = log.parent().unwrap().to_path_buf();
    // The folder outside holds the genuine logs: if followed, they would verify.
    let outside = dir.join("outside-folder");
    std::fs::rename(&folder, &outside).unwrap();
    std::os::unix::fs::symlink(&outside, &folder).unwrap();
    let (code, report) = validate_json(&dir);
    let name = log.file_name().unwrap().to_str().unwrap();
    assert_eq!(kinds_for(&report, name), ["read_error"], "{report}");
    assert_eq!(report["summary"]["logs"]["valid"], 0, "{report}");
    assert_eq!(code, 2);
    std::fs::remove_dir_all(dir).unwrap();
}

// Objects that are not regular files never block and are judged as S3
// would: a folder means no object at that key, anything else (FIFO, socket,
// device) cannot be read.

/// The first log of a scratch copy, deleted: the caller puts something else
/// at its path.
fn scratch_without_log(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(name);
    let log = files(&dir.join("bucket"), "_CloudTrail_")[0].clone();
    std::fs::remove_file(&log).unwrap();
    (dir, log)
}

/// The run finishes; the log gets exactly one `read_error` naming `what`.
fn assert_unreadable_log(dir: &Path, log: &Path, what: &str) {
    let (code, report) = validate_json(dir);
    let found = findings_for(&report, file_name(log));
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, "read_error", "{report}");
    assert!(found[0].1.contains(&format!("not a regular file ({what})")), "{report}");
    assert_eq!((code, report["verdict"].as_str()), (2, Some("incomplete")), "{report}");
    assert_eq!(report["summary"]["logs"]["valid"], 9, "{report}");
}

/// The run finishes; the log is `log_missing`, as in S3 where a folder is
/// no object.
fn assert_missing_log(dir: &Path, log: &Path) {
    let (code, report) = validate_json(dir);
    assert_eq!(kinds_for(&report, file_name(log)), ["log_missing"], "{report}");
    let mut all: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    all.sort();
    assert_eq!(all, ["chain_restart", "log_missing"], "{report}"); // nothing else, no key under the folder
    assert_eq!((code, report["verdict"].as_str()), (1, Some("invalid")), "{report}");
}

#[test]
fn a_fifo_at_a_log_path_is_a_read_error_not_a_hang() {
    let (dir, log) = scratch_without_log("fifo-log");
    mkfifo(&log);
    assert_unreadable_log(&dir, &log, "fifo");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_symlink_to_a_fifo_at_a_log_path_is_a_read_error_not_a_hang() {
    let (dir, log) = scratch_without_log("fifo-link");
    let fifo = dir.join("bucket/a-fifo");
    mkfifo(&fifo);
    std::os::unix::fs::symlink(&fifo, &log).unwrap();
    assert_unreadable_log(&dir, &log, "fifo");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_socket_at_a_log_path_is_a_read_error() {
    let (dir, log) = scratch_without_log("socket-log");
    // A socket path is limited to ~108 bytes: bind short, then move it in place.
    let short = dir.join("s");
    let _listener = std::os::unix::net::UnixListener::bind(&short).unwrap();
    std::fs::rename(&short, &log).unwrap();
    assert_unreadable_log(&dir, &log, "socket");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_folder_at_a_log_path_is_a_missing_log() {
    let (dir, log) = scratch_without_log("folder-log");
    std::fs::create_dir(&log).unwrap();
    assert_missing_log(&dir, &log);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_symlink_to_a_folder_at_a_log_path_is_a_missing_log() {
    let (dir, log) = scratch_without_log("folder-link");
    let folder = dir.join("bucket/a-folder");
    std::fs::create_dir(&folder).unwrap();
    std::os::unix::fs::symlink(&folder, &log).unwrap();
    assert_missing_log(&dir, &log);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_fifo_as_a_metadata_sidecar_is_unusable_metadata_not_a_hang() {
    let tuples = |report: &Value| -> Vec<String> {
        let list = report["findings"].as_array().unwrap().iter();
        list.map(|f| format!("{} {} {} {}", f["kind"], f["object"], f["start"], f["end"]))
            .collect()
    };
    // Baseline: the newest digest's sidecar deleted (a plain sync copy).
    let plain = scratch("no-sidecar");
    let newest = files(&plain.join("bucket"), "_CloudTrail-Digest_").pop().unwrap();
    std::fs::remove_file(format!("{}.metadata.json", newest.display())).unwrap();
    let (plain_code, plain_report) = validate_json(&plain);
    // The same sidecar replaced by a FIFO: judged exactly the same.
    let dir = scratch("fifo-sidecar");
    let newest = files(&dir.join("bucket"), "_CloudTrail-Digest_").pop().unwrap();
    let sidecar = PathBuf::from(format!("{}.metadata.json", newest.display()));
    std::fs::remove_file(&sidecar).unwrap();
    mkfifo(&sidecar);
    let (code, report) = validate_json(&dir);
    let found = findings_for(&report, file_name(&newest));
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0].0, "digest_unsigned", "{report}");
    assert!(found[0].1.contains("not a regular file (fifo)"), "{report}");
    assert_eq!(tuples(&report), tuples(&plain_report), "{report}");
    assert_eq!((code, report["verdict"].as_str()), (plain_code, Some("incomplete")));
    std::fs::remove_dir_all(plain).unwrap();
    std::fs::remove_dir_all(dir).unwrap();
}

/// Issue 6 rule 5: the run's budget of listed logs stops the run (exit 2,
/// a clear error), never a partial verdict.
#[test]
fn the_listed_logs_budget_stops_the_run_with_exit_2() {
    let dir = sample();
    let out = ctverify(&[
        "validate",
        "--local",
        dir.join("bucket").to_str().unwrap(),
        "--public-keys",
        dir.join("public-keys.json").to_str().unwrap(),
        "--max-listed-logs",
        "3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-listed-logs"));
}
