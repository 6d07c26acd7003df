//! Runs the `ctverify` binary on every committed test vector
//! (`test-vectors/vectors/*/expected.json`) and checks exit code, verdict
//! and the complete multiset of findings.

mod schema;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const NOW: &str = "2026-01-01T00:00:00Z";

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors")
}

/// Every vector directory, sorted.
fn vectors() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(vectors_dir())
        .expect("test-vectors/vectors exists (run the generator)")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    v.sort();
    v
}

fn expected(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("expected.json")).unwrap()).unwrap()
}

fn run(dir: &Path, exp: &Value, format: &str) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ctverify"));
    cmd.arg("validate")
        .arg("--local")
        .arg(dir.join("bucket"))
        .args(["--now", NOW, "--format", format]);
    for k in exp["public_keys"].as_array().unwrap() {
        cmd.arg("--public-keys").arg(dir.join(k.as_str().unwrap()));
    }
    for a in exp["args"].as_array().unwrap() {
        cmd.arg(a.as_str().unwrap());
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn finding_tuples(list: &Value) -> Vec<String> {
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

/// The differences between two multisets of findings, readable: each
/// finding `got` has more often than `want` is unexpected, each it has less
/// often is missing (with the counts when a finding occurs more than once).
/// Empty exactly when the sorted lists are equal.
fn multiset_diff(got: &[String], want: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for g in got {
        counts.entry(g).or_default().0 += 1;
    }
    for w in want {
        counts.entry(w).or_default().1 += 1;
    }
    let mut problems = Vec::new();
    for (finding, (g, w)) in counts {
        let times = if g.max(w) > 1 {
            format!(" (got {g}, expected {w})")
        } else {
            String::new()
        };
        if g > w {
            problems.push(format!("unexpected finding {finding}{times}"));
        } else if g < w {
            problems.push(format!("missing finding {finding}{times}"));
        }
    }
    let (mut sorted_got, mut sorted_want) = (got.to_vec(), want.to_vec());
    sorted_got.sort();
    sorted_want.sort();
    assert_eq!(problems.is_empty(), sorted_got == sorted_want);
    problems
}

#[test]
fn findings_are_compared_as_multisets() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(multiset_diff(&s(&["b", "a"]), &s(&["a", "b"])).is_empty());
    assert_eq!(
        multiset_diff(&s(&["a", "a", "b"]), &s(&["a", "b"])),
        ["unexpected finding a (got 2, expected 1)"]
    );
    assert_eq!(
        multiset_diff(&s(&["a"]), &s(&["a", "a", "c"])),
        ["missing finding a (got 1, expected 2)", "missing finding c"]
    );
    assert_eq!(multiset_diff(&s(&["x"]), &s(&[])), ["unexpected finding x"]);
}

/// The schema is not a formality: a report that breaks it is refused.
#[test]
fn the_schema_refuses_what_is_not_a_report() {
    let dir = vectors()
        .into_iter()
        .find(|d| d.ends_with("log_modified_detected"))
        .unwrap();
    let exp = expected(&dir);
    let (_, stdout, _) = run(&dir, &exp, "json");
    let good: Value = serde_json::from_str(&stdout).unwrap();
    assert!(schema::errors(&good).is_empty());
    let bad = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        assert!(!schema::errors(&v).is_empty(), "accepted: {v:#}");
    };
    bad(&|v| v["verdict"] = "ok".into());
    bad(&|v| v["schema"] = 2.into());
    bad(&|v| {
        for f in v["findings"].as_array_mut().unwrap() {
            if f["kind"] == "log_modified" {
                f["class"] = "notice".into();
            }
        }
    });
    bad(&|v| v["findings"][0]["kind"] = "log_tampered".into());
    bad(&|v| v["requested"]["start"] = "2024-03-01 00:00".into());
    bad(&|v| v["summary"]["logs"]["valid"] = (-1).into());
    bad(&|v| {
        v.as_object_mut().unwrap().remove("covered");
    });
}

/// The report schema and the docs' table of finding kinds list exactly the
/// core's kinds (`Kind::ALL`), each under its class.
#[test]
fn the_schema_and_the_docs_list_every_kind() {
    use ctverify_core::report::Kind;
    let want: Vec<(String, String)> = Kind::ALL
        .iter()
        .map(|k| (k.name().to_string(), k.class().name().to_string()))
        .collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let schema: Value = serde_json::from_slice(&std::fs::read(root.join("docs/report.schema.json")).unwrap()).unwrap();
    let mut in_schema = vec![];
    for branch in schema["$defs"]["finding"]["oneOf"].as_array().unwrap() {
        let class = branch["properties"]["class"]["const"].as_str().unwrap().to_string();
        let kinds = &branch["properties"]["kind"];
        let names: Vec<&Value> = match kinds["enum"].as_array() {
            Some(list) => list.iter().collect(),
            None => vec![&kinds["const"]],
        };
        for n in names {
            in_schema.push((n.as_str().unwrap().to_string(), class.clone()));
        }
    }
    let docs = std::fs::read_to_string(root.join("docs/usage.md")).unwrap();
    let in_docs: Vec<(String, String)> = docs
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let kind = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let class = cells.get(2)?;
            want.iter()
                .any(|(k, _)| k == kind)
                .then(|| (kind.to_string(), class.to_string()))
        })
        .collect();
    let sorted = |mut v: Vec<(String, String)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(in_schema), sorted(want.clone()), "docs/report.schema.json");
    assert_eq!(sorted(in_docs), sorted(want), "docs/usage.md, Finding kinds");
}

#[test]
fn at_least_thirty_vectors() {
    assert!(vectors().len() >= 30, "only {} vectors", vectors().len());
}

#[test]
fn every_vector_gives_the_expected_report() {
    let mut failures = Vec::new();
    for dir in vectors() {
        let exp = expected(&dir);
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let (code, stdout, stderr) = run(&dir, &exp, "json");
        let report: Value = match serde_json::from_str(&stdout) {
            Ok(v) => {
                schema::check(&v);
                v
            }
            Err(e) => {
                failures.push(format!("{name}: no JSON report ({e}); exit {code}; stderr: {stderr}"));
                continue;
            }
        };
        let mut problems = Vec::new();
        if i64::from(code) != exp["exit_code"].as_i64().unwrap() {
            problems.push(format!("exit {code}, expected {}", exp["exit_code"]));
        }
        if report["verdict"] != exp["verdict"] {
            problems.push(format!("verdict {}, expected {}", report["verdict"], exp["verdict"]));
        }
        let (got, want) = (finding_tuples(&report["findings"]), finding_tuples(&exp["findings"]));
        problems.extend(multiset_diff(&got, &want));
        if !problems.is_empty() {
            failures.push(format!("{name}:\n    {}", problems.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} vector(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn text_output_has_the_same_exit_code_and_names_each_finding() {
    for dir in vectors() {
        let exp = expected(&dir);
        let (code, stdout, _) = run(&dir, &exp, "text");
        assert_eq!(i64::from(code), exp["exit_code"].as_i64().unwrap(), "{}", dir.display());
        assert!(
            stdout.contains(&format!("Verdict: {}", exp["verdict"].as_str().unwrap())),
            "{}",
            dir.display()
        );
        for f in exp["findings"].as_array().unwrap() {
            let line = format!("{}\t", f["kind"].as_str().unwrap());
            assert!(stdout.contains(&line), "{}: text output lacks {line}", dir.display());
        }
    }
}
