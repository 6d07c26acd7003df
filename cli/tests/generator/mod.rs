//! The test-vector generator (`ctverify-test-vectors`) as the tests run it:
//! the binary the same `cargo test` built (its own integration test makes
//! cargo build it next to this test's), else `cargo run` in this build's
//! profile, so that no second dependency graph is compiled.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The generator, ready for its arguments.
pub fn generator() -> Command {
    let exe = std::env::current_exe().expect("test executable");
    // target/PROFILE/deps/TEST-HASH
    let profile_dir: PathBuf = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/PROFILE")
        .to_path_buf();
    let built = profile_dir.join(format!("ctverify-test-vectors{}", std::env::consts::EXE_SUFFIX));
    if built.is_file() {
        return Command::new(built);
    }
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(other) => other.to_string(),
    };
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["run", "-q", "--profile", &profile, "-p", "ctverify-test-vectors", "--"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    cmd
}

/// Writes a generated trail (`bench-data --out DIR ARGS`) into a fresh
/// `DIR` (`name` under this build's temporary folder) and returns it.
pub fn bench_data(name: &str, args: &[&str]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = generator()
        .args(["bench-data", "--out"])
        .arg(&dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run the generator");
    assert!(status.success(), "the generator failed");
    dir
}
