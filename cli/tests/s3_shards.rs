//! Sharded runs over S3 (SPEC §10) against moto: shards that read the trail
//! from S3 and write their partials to `s3://BUCKET/PREFIX`, and a merge that
//! reads them from there, give exactly the report of one S3 `validate` (at 3
//! shards and at one shard per digest); a missing partial in the bucket is
//! exit 2 naming it.

mod s3env;

use s3env::{credentials, moto, python, repo, upload, Server};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-01-01T00:00:00Z";
const PARTIALS: &str = "ctv-partials";

fn run(server: &Server, args: &[String]) -> Output {
    credentials(&mut Command::new(env!("CARGO_BIN_EXE_ctverify")))
        .env("CTVERIFY_S3_BACKOFF_MS", "20")
        .env("AWS_ENDPOINT_URL", &server.url)
        .args(args)
        .output()
        .expect("run ctverify")
}

/// Creates the (empty) partials bucket without clearing the server.
fn partials_bucket(server: &Server, empty: &Path) {
    std::fs::create_dir_all(empty).unwrap();
    let out = credentials(&mut Command::new(python()))
        .arg(repo().join("test-support/s3/upload.py"))
        .args(["--endpoint", &server.url, "--bucket", PARTIALS])
        .arg(empty)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[test]
fn sharded_s3_runs_with_s3_partials_equal_the_single_s3_run() {
    let server = moto();
    let scratch = std::env::temp_dir().join(format!("ctverify-s3-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).unwrap();
    let mut failures = vec![];
    for name in [
        "clean_chain_valid",
        "log_modified_detected",
        "digest_missing_middle_detected",
        "chain_hash_mismatch_resigned",
        "no_metadata_sync_copy_incomplete",
        "multi_region_valid",
    ] {
        let dir: PathBuf = repo().join("test-vectors/vectors").join(name);
        let exp: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
        let bucket = exp["compat"]["bucket"].as_str().unwrap().to_string();
        upload(&server, &bucket, &dir.join("bucket"), &[]);
        partials_bucket(&server, &scratch.join("empty"));
        let keys: Vec<String> = strings(&exp["public_keys"])
            .iter()
            .flat_map(|k| ["--public-keys".to_string(), dir.join(k).display().to_string()])
            .collect();
        let source: Vec<String> = [
            vec![
                "--endpoint-url".to_string(),
                server.url.clone(),
                "--s3-bucket".into(),
                bucket.clone(),
            ],
            keys,
        ]
        .concat();
        let mut scope = vec![];
        let own = strings(&exp["args"]);
        for (flag, value) in [("--start-time", "start"), ("--end-time", "end")] {
            if !own.iter().any(|x| x == flag) {
                scope.extend([flag.to_string(), exp["compat"][value].as_str().unwrap().to_string()]);
            }
        }
        scope.extend(own.into_iter().filter(|a| a != "--s3-bucket" && *a != bucket));
        let single = run(
            &server,
            &[
                vec![
                    "validate".into(),
                    "--now".into(),
                    NOW.into(),
                    "--format".into(),
                    "json".into(),
                ],
                source.clone(),
                scope.clone(),
            ]
            .concat(),
        );
        assert!(
            single.stdout.starts_with(b"{"),
            "{name}: the single S3 run gave no report: {}",
            String::from_utf8_lossy(&single.stderr)
        );
        for n in ["3", "100000"] {
            let plan = scratch.join(format!("{name}-{n}.json"));
            let out = run(
                &server,
                &[
                    vec![
                        "plan".into(),
                        "--now".into(),
                        NOW.into(),
                        "--shards".into(),
                        n.into(),
                        "--out".into(),
                        plan.display().to_string(),
                    ],
                    source.clone(),
                    scope.clone(),
                ]
                .concat(),
            );
            assert!(
                out.status.success(),
                "{name}: plan: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let p: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
            let location = format!("s3://{PARTIALS}/runs/{name}");
            for i in 0..p["shards"].as_array().unwrap().len() {
                let out = run(
                    &server,
                    &[
                        vec![
                            "validate".into(),
                            "--shard-plan".into(),
                            plan.display().to_string(),
                            "--shard".into(),
                            i.to_string(),
                            "--partials".into(),
                            location.clone(),
                        ],
                        source.clone(),
                    ]
                    .concat(),
                );
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{name}: shard {i}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let merged = run(
                &server,
                &[
                    "merge".into(),
                    "--format".into(),
                    "json".into(),
                    "--shard-plan".into(),
                    plan.display().to_string(),
                    "--partials".into(),
                    location.clone(),
                ],
            );
            if merged.stdout != single.stdout || merged.status.code() != single.status.code() {
                failures.push(format!(
                    "{name} at {n} shards: exit {:?} vs {:?}: {}",
                    merged.status.code(),
                    single.status.code(),
                    String::from_utf8_lossy(&merged.stderr)
                ));
            }
            if name == "clean_chain_valid" && n == "3" {
                // A partial deleted from the bucket: merge names it.
                let id = p["plan_id"].as_str().unwrap();
                let out = credentials(&mut Command::new(python()))
                    .args([
                        "-c",
                        "import boto3,sys; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1').delete_object(Bucket=sys.argv[2], Key=sys.argv[3])",
                    ])
                    .args([&server.url, PARTIALS, &format!("runs/{name}/{id}/shard-1.json")])
                    .output()
                    .unwrap();
                assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                let again = run(
                    &server,
                    &[
                        "merge".into(),
                        "--shard-plan".into(),
                        plan.display().to_string(),
                        "--partials".into(),
                        location.clone(),
                    ],
                );
                assert_eq!(again.status.code(), Some(2));
                assert!(String::from_utf8_lossy(&again.stderr).contains("shard-1.json"));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
