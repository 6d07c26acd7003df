//! Differential test: `ctverify validate --compat --local` against the real
//! aws-cli 1.46.3 `validate-logs`, run offline (`compat/awscli_offline.py`)
//! on every test vector, with and without `--verbose`, with ranges that
//! cover, cut and overrun each chain, without `--end-time`, and on error
//! paths. stdout, stderr and the exit status must be identical byte for
//! byte, except for the cases listed with a reason in
//! `compat/exceptions.json`.
//!
//! `CTVERIFY_EXTRA_VECTORS=DIR` adds the scenarios in DIR (for example
//! random ones from `ctverify-test-vectors random`).
//!
//! aws-cli is found at `$CTVERIFY_AWSCLI_PYTHON` or `.venv/awscli/bin/python`
//! (`scripts/test.sh` installs it). Without it the test is skipped with a
//! note, unless `CTVERIFY_REQUIRE_AWSCLI` is set (CI sets it).

use ctverify_core::time::Timestamp;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-01-01T00:00:00Z";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn python() -> Option<PathBuf> {
    let p = std::env::var_os("CTVERIFY_AWSCLI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".venv/awscli/bin/python"));
    if p.exists() {
        return Some(p);
    }
    assert!(
        std::env::var_os("CTVERIFY_REQUIRE_AWSCLI").is_none(),
        "aws-cli not found at {} (run scripts/test.sh)",
        p.display()
    );
    eprintln!(
        "note: aws-cli not installed at {}; differential test skipped",
        p.display()
    );
    None
}

struct Case {
    name: String,
    dir: PathBuf,
    public_keys: Vec<PathBuf>,
    trail: Value,
    args: Vec<String>,
    env_region: Option<String>,
}

#[derive(PartialEq, Debug)]
struct Output {
    rc: i32,
    stdout: String,
    stderr: String,
}

fn output(mut cmd: Command, region: &Option<String>) -> Output {
    cmd.env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_REGION")
        .env_remove("AWS_PROFILE");
    if let Some(r) = region {
        cmd.env("AWS_DEFAULT_REGION", r);
    }
    let out = cmd.output().unwrap();
    Output {
        rc: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run_awscli(python: &Path, case: &Case, scratch: &Path) -> Output {
    let job = json!({
        "bucket_dir": case.dir.join("bucket"),
        "public_keys": case.public_keys,
        "trail": case.trail,
        "now": NOW,
        "args": case.args,
    });
    let file = scratch.join(format!("{}.json", case.name.replace('/', "_")));
    std::fs::write(&file, serde_json::to_vec(&job).unwrap()).unwrap();
    let mut cmd = Command::new(python);
    cmd.arg(repo().join("compat/awscli_offline.py")).arg(&file);
    output(cmd, &case.env_region)
}

fn run_ctverify(case: &Case) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctverify"));
    cmd.args(["validate", "--compat", "--now", NOW, "--local"])
        .arg(case.dir.join("bucket"));
    for k in &case.public_keys {
        cmd.arg("--public-keys").arg(k);
    }
    cmd.args(&case.args);
    output(cmd, &case.env_region)
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse_user(s).unwrap()
}

/// Every case: vectors × range/verbosity variants, plus error paths.
fn cases() -> Vec<Case> {
    // The committed vectors, plus `$CTVERIFY_EXTRA_VECTORS` (e.g. random
    // scenarios from `ctverify-test-vectors random`) when set.
    let mut roots = vec![repo().join("test-vectors/vectors")];
    roots.extend(std::env::var_os("CTVERIFY_EXTRA_VECTORS").map(PathBuf::from));
    let mut dirs: Vec<PathBuf> = roots
        .iter()
        .flat_map(|r| std::fs::read_dir(r).unwrap().filter_map(|e| e.ok().map(|e| e.path())))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    let mut out = vec![];
    for dir in dirs {
        let exp: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let c = &exp["compat"];
        let vector = dir.file_name().unwrap().to_string_lossy().into_owned();
        let public_keys: Vec<PathBuf> = exp["public_keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| dir.join(k.as_str().unwrap()))
            .collect();
        let trail = json!({"arn": c["trail_arn"], "bucket": c["bucket"], "prefix": c["prefix"], "org_id": c["org_id"]});
        let (s, e) = (t(c["start"].as_str().unwrap()), t(c["end"].as_str().unwrap()));
        let base: Vec<String> = [
            "--trail-arn",
            c["trail_arn"].as_str().unwrap(),
            "--region",
            c["region"].as_str().unwrap(),
        ]
        .iter()
        .map(|x| x.to_string())
        .chain(
            c["extra_args"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap().to_string()),
        )
        .collect();
        let mut variants: Vec<(&str, Vec<String>)> = vec![
            (
                "full",
                vec!["--start-time".into(), s.to_string(), "--end-time".into(), e.to_string()],
            ),
            (
                "full-verbose",
                vec![
                    "--start-time".into(),
                    s.to_string(),
                    "--end-time".into(),
                    e.to_string(),
                    "--verbose".into(),
                ],
            ),
            ("no-end-time", vec!["--start-time".into(), s.to_string()]),
            (
                "overrun-verbose",
                vec![
                    "--start-time".into(),
                    s.add_secs(-7200).to_string(),
                    "--end-time".into(),
                    e.add_secs(7200).to_string(),
                    "--verbose".into(),
                ],
            ),
        ];
        if e.unix() - s.unix() >= 4 * 3600 {
            let (cs, ce) = (s.add_secs(5400), e.add_secs(-5400));
            variants.push((
                "cut",
                vec![
                    "--start-time".into(),
                    cs.to_string(),
                    "--end-time".into(),
                    ce.to_string(),
                ],
            ));
            variants.push((
                "cut-verbose",
                vec![
                    "--start-time".into(),
                    cs.to_string(),
                    "--end-time".into(),
                    ce.to_string(),
                    "--verbose".into(),
                ],
            ));
        }
        for (variant, range) in variants {
            out.push(Case {
                name: format!("{vector}/{variant}"),
                dir: dir.clone(),
                public_keys: public_keys.clone(),
                trail: trail.clone(),
                args: base.iter().cloned().chain(range).collect(),
                env_region: None,
            });
        }
    }
    // Error paths and argument handling, on the clean vector. `ARN` in an
    // argument line stands for the trail's ARN.
    let dir = repo().join("test-vectors/vectors/clean_chain_valid");
    let org_dir = repo().join("test-vectors/vectors/org_trail_valid");
    let arn = "arn:aws:cloudtrail:us-east-1:111122223333:trail/demo";
    let trail = json!({"arn": arn, "bucket": "ctv-test-bucket", "prefix": null, "org_id": null});
    let org_trail = json!({"arn": arn, "bucket": "ctv-test-bucket", "prefix": null, "org_id": "o-abc123def4"});
    let errors: [(&str, &Path, &Value, &str, Option<&str>); 14] = [
        // An organization trail (digests under AWSLogs/o-…/) without --account-id.
        ("org-without-account", &org_dir, &org_trail, "--trail-arn ARN --start-time 2024-03-01 --region us-east-1", None),
        ("missing-start", &dir, &trail, "--trail-arn ARN --region us-east-1", None),
        ("missing-both", &dir, &trail, "--region us-east-1", None),
        ("bad-date", &dir, &trail, "--trail-arn ARN --start-time yesterday-ish --region us-east-1", None),
        ("reversed", &dir, &trail, "--trail-arn ARN --start-time 2024-03-02 --end-time 2024-03-01 --region us-east-1", None),
        ("no-region", &dir, &trail, "--trail-arn ARN --start-time 2024-03-01", None),
        ("env-region", &dir, &trail, "--trail-arn ARN --start-time 2024-03-01 --end-time 2024-03-01T06:00:00Z", Some("us-east-1")),
        ("bad-arn", &dir, &trail, "--trail-arn arn:aws:s3:::bucket --start-time 2024-03-01 --region us-east-1", None),
        (
            "offset-discarded",
            &dir,
            &trail,
            "--trail-arn ARN --start-time 2024-03-01T01:17:28+05:00 --end-time 2024-03-01T04:00:00 --region us-east-1 --verbose",
            None,
        ),
        ("date-only", &dir, &trail, "--trail-arn ARN --start-time 2024-03-01 --end-time 2024-03-02 --region us-east-1", None),
        ("empty-range", &dir, &trail, "--trail-arn ARN --start-time 2024-02-01 --end-time 2024-02-02 --region us-east-1", None),
        ("no-keys-in-window", &dir, &trail, "--trail-arn ARN --start-time 2020-01-01 --end-time 2020-01-02 --region us-east-1", None),
        ("other-region", &dir, &trail, "--trail-arn ARN --start-time 2024-03-01 --end-time 2024-03-02 --region eu-west-1", None),
        ("equal-times", &dir, &trail, "--trail-arn ARN --start-time 2024-03-01T02:17:28Z --end-time 2024-03-01T02:17:28Z --region us-east-1 --verbose", None),
    ];
    for (name, dir, trail, line, region) in errors {
        out.push(Case {
            name: format!("errors/{name}"),
            dir: dir.to_path_buf(),
            public_keys: vec![dir.join("public-keys.json")],
            trail: trail.clone(),
            args: line
                .split_whitespace()
                .map(|a| if a == "ARN" { arn.to_string() } else { a.to_string() })
                .collect(),
            env_region: region.map(str::to_string),
        });
    }
    out
}

fn exceptions() -> Vec<String> {
    let doc: Value = serde_json::from_slice(&std::fs::read(repo().join("compat/exceptions.json")).unwrap()).unwrap();
    doc["exceptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["case"].as_str().unwrap().to_string())
        .collect()
}

fn first_difference(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.split_inclusive('\n').collect(), b.split_inclusive('\n').collect());
    for i in 0..la.len().max(lb.len()) {
        if la.get(i) != lb.get(i) {
            return format!(
                "line {}:\n      aws-cli : {:?}\n      ctverify: {:?}",
                i + 1,
                la.get(i),
                lb.get(i)
            );
        }
    }
    "no difference".into()
}

#[test]
fn compat_output_is_byte_identical_to_aws_cli() {
    let Some(python) = python() else { return };
    let scratch = std::env::temp_dir().join(format!("ctverify-compat-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let cases = cases();
    let allowed = exceptions();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get()).min(4);
    let mut failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut bad = vec![];
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(case) = cases.get(i) else { return bad };
                        let (want, got) = (run_awscli(&python, case, &scratch), run_ctverify(case));
                        if want == got || allowed.contains(&case.name) {
                            continue;
                        }
                        let mut why = format!("{}: ", case.name);
                        if want.rc != got.rc {
                            why.push_str(&format!("exit {} vs aws-cli {}; ", got.rc, want.rc));
                        }
                        if want.stdout != got.stdout {
                            why.push_str(&format!("\n    stdout {}", first_difference(&want.stdout, &got.stdout)));
                        }
                        if want.stderr != got.stderr {
                            why.push_str(&format!("\n    stderr {}", first_difference(&want.stderr, &got.stderr)));
                        }
                        bad.push(why);
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let _ = std::fs::remove_dir_all(&scratch);
    failures.sort();
    assert!(cases.len() > 200, "only {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} of {} cases differ from aws-cli:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
