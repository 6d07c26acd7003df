//! The committed vectors are exactly what the generator produces: it is run
//! into a fresh folder and every file compared byte for byte (and no file
//! added or missing). This test also makes `cargo test` build the generator's
//! binary, which the other crates' tests run (`cli/tests/generator`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn committed_vectors_are_reproducible() {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("vectors-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_ctverify-test-vectors"))
        .arg("--out")
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("run the generator");
    assert!(status.success());
    let committed = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors"));
    let generated = files(&out);
    let differ: Vec<&PathBuf> = committed
        .keys()
        .chain(generated.keys())
        .filter(|p| committed.get(*p) != generated.get(*p))
        .collect();
    assert!(
        differ.is_empty(),
        "test-vectors/vectors differs from what the generator produces \
         (regenerate: cargo run -p ctverify-test-vectors): {differ:?}"
    );
    let _ = std::fs::remove_dir_all(&out);
}
