//! Sharded runs (SPEC §10): for every committed vector (and the scenarios
//! in `$CTVERIFY_EXTRA_VECTORS`, e.g. random ones), `plan` + every shard +
//! `merge` give exactly the report of one `validate` — at 2 shards, at 3,
//! and with every digest in its own shard (every link an edge). Shards exit
//! 0 whatever they find; a missing, foreign, corrupt or misnamed partial
//! makes merge exit 2 naming it.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NOW: &str = "2026-01-01T00:00:00Z";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ctverify"))
}

fn vectors() -> Vec<PathBuf> {
    let mut roots = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors")];
    roots.extend(std::env::var_os("CTVERIFY_EXTRA_VECTORS").map(PathBuf::from));
    let mut dirs: Vec<PathBuf> = roots
        .iter()
        .flat_map(|r| std::fs::read_dir(r).unwrap().filter_map(|e| e.ok().map(|e| e.path())))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

struct Vector {
    dir: PathBuf,
    args: Vec<String>,
    keys: Vec<PathBuf>,
}

fn vector(dir: &Path) -> Vector {
    let exp: Value = serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    Vector {
        dir: dir.to_path_buf(),
        args: strings(&exp["args"]),
        keys: strings(&exp["public_keys"]).into_iter().map(|k| dir.join(k)).collect(),
    }
}

impl Vector {
    /// `--local BUCKET --public-keys K...`.
    fn source(&self, cmd: &mut Command) {
        cmd.arg("--local").arg(self.dir.join("bucket"));
        for k in &self.keys {
            cmd.arg("--public-keys").arg(k);
        }
    }

    fn single(&self) -> Output {
        let mut cmd = bin();
        cmd.args(["validate", "--now", NOW, "--format", "json"]);
        self.source(&mut cmd);
        cmd.args(&self.args);
        cmd.output().unwrap()
    }

    /// plan (N shards) + every shard + merge: (merge's output, shard count).
    fn sharded(&self, work: &Path, n: usize) -> (Output, usize) {
        let plan = work.join("plan.json");
        let partials = work.join("partials");
        let mut cmd = bin();
        cmd.args(["plan", "--now", NOW, "--shards", &n.to_string(), "--out"])
            .arg(&plan);
        self.source(&mut cmd);
        cmd.args(&self.args);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{}: plan: {}",
            self.dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let shards = shard_count(&plan);
        for i in 0..shards {
            let mut cmd = bin();
            cmd.args(["validate", "--shard-plan"])
                .arg(&plan)
                .arg("--shard")
                .arg(i.to_string());
            cmd.arg("--partials").arg(&partials);
            self.source(&mut cmd);
            let out = cmd.output().unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: shard {i}: {}",
                self.dir.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        (merge(&plan, &partials), shards)
    }
}

/// A fresh scratch folder (removed when dropped).
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ctverify-shards-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn shard_count(plan: &Path) -> usize {
    let plan: Value = serde_json::from_slice(&std::fs::read(plan).unwrap()).unwrap();
    plan["shards"].as_array().unwrap().len()
}

fn merge(plan: &Path, partials: &Path) -> Output {
    bin()
        .args(["merge", "--format", "json", "--shard-plan"])
        .arg(plan)
        .arg("--partials")
        .arg(partials)
        .output()
        .unwrap()
}

#[test]
fn merged_reports_equal_the_single_run_on_every_vector_and_split() {
    let mut failures = vec![];
    let mut checked = 0;
    for dir in vectors() {
        let v = vector(&dir);
        let single = v.single();
        for n in [2, 3, 100_000] {
            let work = Scratch::new();
            let (merged, shards) = v.sharded(work.path(), n);
            checked += 1;
            if merged.stdout != single.stdout || merged.status.code() != single.status.code() {
                failures.push(format!(
                    "{} at {n} shards ({shards} in the plan): exit {:?} vs {:?}; merge stderr: {}",
                    dir.display(),
                    merged.status.code(),
                    single.status.code(),
                    String::from_utf8_lossy(&merged.stderr)
                ));
            }
        }
    }
    assert!(checked > 100, "only {checked} splits checked");
    assert!(
        failures.is_empty(),
        "{} of {checked} splits differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_plan_is_deterministic_and_balanced_into_nonempty_shards() {
    let v = vector(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/multi_region_valid"));
    let plan = |n: &str| {
        let mut cmd = bin();
        cmd.args(["plan", "--now", NOW, "--shards", n]);
        v.source(&mut cmd);
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    assert_eq!(plan("3"), plan("3"), "same listing and options, same plan");
    let p: Value = serde_json::from_slice(&plan("3")).unwrap();
    assert_eq!(p["schema"], 1);
    assert_eq!(p["plan_id"].as_str().unwrap().len(), 16);
    let shards = p["shards"].as_array().unwrap();
    assert_eq!(shards.len(), 3);
    for (i, s) in shards.iter().enumerate() {
        assert_eq!(s["index"], i);
        assert!(!s["windows"].as_array().unwrap().is_empty());
    }
    // More shards than digests: one per digest.
    let p: Value = serde_json::from_slice(&plan("100000")).unwrap();
    let digests = walk(&v.dir.join("bucket"))
        .iter()
        .filter(|k| k.contains("CloudTrail-Digest") && k.ends_with(".json.gz"))
        .count();
    assert_eq!(p["shards"].as_array().unwrap().len(), digests);
}

fn walk(root: &Path) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}

#[test]
fn a_shard_exits_0_on_tampering_and_2_when_it_cannot_run() {
    let v = vector(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/log_modified_detected"));
    let work = Scratch::new();
    let (merged, _) = v.sharded(work.path(), 2);
    assert_eq!(merged.status.code(), Some(1), "the merge sets the real verdict");
    let plan = work.path().join("plan.json");
    let shard = |index: Option<&str>, env: Option<(&str, &str)>| {
        let mut cmd = bin();
        cmd.args(["validate", "--shard-plan"]).arg(&plan);
        if let Some(i) = index {
            cmd.args(["--shard", i]);
        }
        for var in [
            "AWS_BATCH_JOB_ARRAY_INDEX",
            "JOB_COMPLETION_INDEX",
            "SLURM_ARRAY_TASK_ID",
        ] {
            cmd.env_remove(var);
        }
        if let Some((k, val)) = env {
            cmd.env(k, val);
        }
        cmd.arg("--partials").arg(work.path().join("again"));
        v.source(&mut cmd);
        cmd.output().unwrap()
    };
    assert_eq!(
        shard(Some("7"), None).status.code(),
        Some(2),
        "an index outside the plan"
    );
    assert_eq!(shard(None, None).status.code(), Some(2), "no index");
    for var in [
        "AWS_BATCH_JOB_ARRAY_INDEX",
        "JOB_COMPLETION_INDEX",
        "SLURM_ARRAY_TASK_ID",
    ] {
        let out = shard(None, Some((var, "1")));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Other keys than the plan's: the merge would judge with keys no single
    // run had.
    let other_keys = work.path().join("other-keys.json");
    std::fs::write(&other_keys, br#"{"PublicKeyList": []}"#).unwrap();
    let mut cmd = bin();
    cmd.args(["validate", "--shard-plan"])
        .arg(&plan)
        .args(["--shard", "0", "--local"]);
    cmd.arg(v.dir.join("bucket")).arg("--public-keys").arg(&other_keys);
    cmd.arg("--partials").arg(work.path().join("again"));
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-keys"));
    // A scope flag that disagrees with the plan is a usage error.
    let mut cmd = bin();
    cmd.args(["validate", "--shard-plan"])
        .arg(&plan)
        .args(["--shard", "0", "--region", "eu-west-9"]);
    cmd.arg("--partials").arg(work.path().join("again"));
    v.source(&mut cmd);
    assert_eq!(cmd.output().unwrap().status.code(), Some(2));
}

#[test]
fn merge_refuses_missing_foreign_corrupt_and_misnamed_partials() {
    let v = vector(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid"));
    let work = Scratch::new();
    let (merged, shards) = v.sharded(work.path(), 3);
    assert_eq!(merged.status.code(), Some(0));
    assert_eq!(shards, 3);
    let plan = work.path().join("plan.json");
    let p: Value = serde_json::from_slice(&std::fs::read(&plan).unwrap()).unwrap();
    let dir = work.path().join("partials").join(p["plan_id"].as_str().unwrap());
    let file = |i: usize| dir.join(format!("shard-{i}.json"));
    let original = std::fs::read(file(1)).unwrap();
    let expect_refusal = |what: &str, needle: &str| {
        let out = merge(&plan, &work.path().join("partials"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.contains(needle), "{what}: {stderr} should name {needle}");
        assert!(out.stdout.is_empty(), "{what}: no report");
    };
    std::fs::remove_file(file(1)).unwrap();
    expect_refusal("missing", "shard-1.json");
    std::fs::write(file(1), b"{not json").unwrap();
    expect_refusal("corrupt", "shard-1.json");
    std::fs::write(file(1), std::fs::read(file(2)).unwrap()).unwrap();
    expect_refusal("another shard's partial under this name", "shard-1.json");
    let foreign =
        String::from_utf8(original.clone())
            .unwrap()
            .replacen(p["plan_id"].as_str().unwrap(), "0000000000000000", 1);
    std::fs::write(file(1), foreign).unwrap();
    expect_refusal("another plan's partial", "shard-1.json");
    std::fs::write(file(1), &original).unwrap();
    std::fs::write(dir.join("shard-3.json"), &original).unwrap();
    expect_refusal("an index outside the plan", "shard-3.json");
    std::fs::remove_file(dir.join("shard-3.json")).unwrap();
    // Other plans' folders are ignored.
    std::fs::create_dir_all(work.path().join("partials/ffffffffffffffff")).unwrap();
    std::fs::write(work.path().join("partials/ffffffffffffffff/shard-0.json"), b"junk").unwrap();
    assert_eq!(merge(&plan, &work.path().join("partials")).status.code(), Some(0));
    // An altered plan is refused.
    let altered = std::fs::read_to_string(&plan)
        .unwrap()
        .replace("\"allow_gaps\": false", "\"allow_gaps\": true");
    std::fs::write(&plan, altered).unwrap();
    let out = merge(&plan, &work.path().join("partials"));
    assert_eq!(out.status.code(), Some(2));
}

/// Copies `dir` (a vector) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for rel in walk(from) {
        let dst = to.join(&rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from.join(&rel), dst).unwrap();
    }
}

/// Digests whose key time lies far from the period they cover — one moved
/// ten hours away (with its metadata), as a tamperer might — are owned by
/// the shard of their key time, which hashes every log they list: the
/// merged report still equals the single run's.
#[test]
fn a_digest_moved_far_from_its_period_merges_like_the_single_run() {
    let scratch = Scratch::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid");
    copy_tree(&src, scratch.path());
    let folder = scratch
        .path()
        .join("bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01");
    let from = "111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T021728Z.json.gz";
    let to = "111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T151728Z.json.gz";
    std::fs::rename(folder.join(from), folder.join(to)).unwrap();
    std::fs::rename(
        folder.join(format!("{from}.metadata.json")),
        folder.join(format!("{to}.metadata.json")),
    )
    .unwrap();
    let v = vector(scratch.path());
    let single = v.single();
    assert_eq!(single.status.code(), Some(1), "moved and missing: invalid");
    for n in [2, 100_000] {
        let work = Scratch::new();
        let (merged, _) = v.sharded(work.path(), n);
        assert_eq!(
            (merged.status.code(), String::from_utf8_lossy(&merged.stdout)),
            (single.status.code(), String::from_utf8_lossy(&single.stdout)),
            "at {n} shards: {}",
            String::from_utf8_lossy(&merged.stderr)
        );
    }
}

/// With an explicit range, the first shard lists from the range's start
/// (with the load margin), never the chain's whole history; the merged
/// report equals the single run's.
#[test]
fn the_first_shard_keeps_to_the_planned_start() {
    let v = vector(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid"));
    let v = Vector {
        args: vec![
            "--start-time".into(),
            "2024-03-01T05:00:00Z".into(),
            "--end-time".into(),
            "2024-03-01T06:00:00Z".into(),
        ],
        ..v
    };
    let single = v.single();
    let work = Scratch::new();
    let (merged, shards) = v.sharded(work.path(), 2);
    assert_eq!(
        merged.stdout,
        single.stdout,
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let plan: Value = serde_json::from_slice(&std::fs::read(work.path().join("plan.json")).unwrap()).unwrap();
    let id = plan["plan_id"].as_str().unwrap();
    let partial: Value =
        serde_json::from_slice(&std::fs::read(work.path().join(format!("partials/{id}/shard-0.json"))).unwrap())
            .unwrap();
    // The load margin reaches 3 hours back from 05:00: the 01:17 digest is
    // outside it (a first window unbounded by the scope would load it).
    let keys: Vec<&str> = partial["digests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    assert!(!keys.is_empty());
    assert!(keys.iter().all(|k| !k.ends_with("T011728Z.json.gz")), "{keys:?}");
    assert!(shards >= 1);
}

/// A scope without any digest still plans (one shard), runs and merges into
/// the single run's report.
#[test]
fn an_empty_scope_plans_one_shard_and_merges_like_the_single_run() {
    let v = vector(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors/clean_chain_valid"));
    let v = Vector {
        args: vec![
            "--start-time".into(),
            "2025-06-01T00:00:00Z".into(),
            "--end-time".into(),
            "2025-06-02T00:00:00Z".into(),
        ],
        ..v
    };
    let single = v.single();
    let work = Scratch::new();
    let (merged, shards) = v.sharded(work.path(), 4);
    assert_eq!(shards, 1);
    assert_eq!(
        (merged.status.code(), String::from_utf8_lossy(&merged.stdout)),
        (single.status.code(), String::from_utf8_lossy(&single.stdout)),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
}
