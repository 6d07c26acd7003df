//! The table in `core/src/verify/mod.rs` ("Where each finding kind is
//! raised") is true: one row per kind of [`Kind::ALL`], every function it
//! names exists in the module it names, and every vector it names exists and
//! expects that kind.

use ctverify_core::Kind;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

const MOD_RS: &str = include_str!("../src/verify/mod.rs");

/// The table's rows: (kind, raised-by cell, vectors cell).
fn rows() -> Vec<(String, String, String)> {
    MOD_RS
        .lines()
        .filter_map(|l| l.strip_prefix("//! | `"))
        .map(|l| {
            let cells: Vec<&str> = l.split(" | ").collect();
            assert_eq!(cells.len(), 3, "row {l:?}");
            (
                cells[0].trim_end_matches('`').to_string(),
                cells[1].to_string(),
                cells[2].trim_end_matches(" |").to_string(),
            )
        })
        .collect()
}

/// The `a::b` / `a::B::c` paths in a cell, as (module, function).
fn functions(cell: &str) -> Vec<(String, String)> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|path| {
            let parts: Vec<&str> = path.split("::").collect();
            assert!(parts.len() >= 2, "not a path: {path:?}");
            (parts[0].to_string(), parts[parts.len() - 1].to_string())
        })
        .collect()
}

#[test]
fn one_row_per_kind() {
    let listed: Vec<String> = rows().into_iter().map(|(k, _, _)| k).collect();
    let all: Vec<String> = Kind::ALL.iter().map(|k| k.name().to_string()).collect();
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>(),
        all.iter().collect::<BTreeSet<_>>(),
        "the table and Kind::ALL differ"
    );
    assert_eq!(listed.len(), all.len(), "a kind listed twice");
}

#[test]
fn every_named_function_exists_where_the_table_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/verify");
    for (kind, raised_by, _) in rows() {
        let found = functions(&raised_by);
        assert!(!found.is_empty(), "{kind}: no function named");
        for (module, function) in found {
            let source = std::fs::read_to_string(dir.join(format!("{module}.rs")))
                .unwrap_or_else(|e| panic!("{kind}: module {module}: {e}"));
            assert!(
                source.contains(&format!("fn {function}(")) || source.contains(&format!("fn {function}<")),
                "{kind}: no fn {function} in verify/{module}.rs"
            );
        }
    }
}

#[test]
fn every_named_vector_expects_its_kind() {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../test-vectors/vectors");
    for (kind, _, cell) in rows() {
        let names: Vec<&str> = cell.split('`').skip(1).step_by(2).collect();
        assert!(!names.is_empty(), "{kind}: no vector named");
        for name in names {
            let path = vectors.join(name).join("expected.json");
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{kind}: {name}: {e}"));
            let expected: Value = serde_json::from_str(&text).unwrap();
            if kind == "valid" {
                assert_eq!(expected["verdict"], "valid", "{kind}: {name}");
                continue;
            }
            let kinds: Vec<&str> = expected["findings"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| f["kind"].as_str())
                .collect();
            assert!(kinds.contains(&kind.as_str()), "{kind}: {name} expects {kinds:?}");
        }
    }
}
