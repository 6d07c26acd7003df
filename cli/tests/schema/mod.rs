//! Every report a test parses is checked against the published JSON Schema
//! of the report (`docs/report.schema.json`), so the schema users ingest
//! reports with cannot drift from what ctverify prints.

use serde_json::Value;
use std::sync::OnceLock;

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/report.schema.json");
        let schema: Value =
            serde_json::from_slice(&std::fs::read(path).expect("docs/report.schema.json")).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema compiles")
    })
}

#[allow(dead_code)]
/// What makes `report` not a valid report (empty: it is one).
pub fn errors(report: &Value) -> Vec<String> {
    validator()
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

/// Panics (naming every violation) unless `report` is a valid report.
pub fn check(report: &Value) {
    let errors = errors(report);
    assert!(
        errors.is_empty(),
        "the report does not match docs/report.schema.json:\n{}\n{report:#}",
        errors.join("\n")
    );
}

/// Parses `json` as a report and checks it.
#[allow(dead_code)]
pub fn parse(json: &str) -> Value {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("not JSON ({e}): {json}"));
    check(&v);
    v
}
