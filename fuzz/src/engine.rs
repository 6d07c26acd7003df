//! The one place the fuzz harness drives the verification engine.
//!
//! The core's API may gain parameters (`Plan::new`, `Analysis::new`,
//! `Analysis::finish` keep their names): adapt [`verify_in_memory`] only.

use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogHasher;
use ctverify_core::report::{NullSink, Report};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{Analysis, LoadedDigest, LogResult, Metadata, Options, Plan, ReadFailure, RunError};
use std::collections::BTreeMap;

/// Suffix of the metadata sidecar of object `K`: `K.metadata.json`.
pub const SIDECAR: &str = ".metadata.json";

/// How one in-memory run is configured.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// "Now" (the core reads no clock).
    pub now: Timestamp,
    /// `--start-time`.
    pub start: Option<Timestamp>,
    /// `--end-time`.
    pub end: Option<Timestamp>,
    /// `--verbose`.
    pub verbose: bool,
    /// Size of the pieces each log is fed to the [`LogHasher`] in (at least 1).
    pub chunk: usize,
}

/// Verifies a bucket held in memory (key -> bytes; `K.metadata.json` is the
/// S3 metadata of `K`, as in a local copy), the same sequence as the core's
/// `tests/in_memory.rs` and the browser front end: `Plan::new` over the
/// listed keys, `Analysis::new` over the loaded digests and their metadata,
/// each log job streamed through a [`LogHasher`], then `Analysis::finish`.
pub fn verify_in_memory(objects: &BTreeMap<String, Vec<u8>>, keyring: &Keyring, run: &Run) -> Result<Report, RunError> {
    let mut opts = Options::new(run.now);
    opts.start = run.start;
    opts.end = run.end;
    opts.verbose = run.verbose;
    let listed: Vec<&String> = objects.keys().filter(|k| !k.ends_with(SIDECAR)).collect();
    let plan = Plan::new(&listed, &opts);
    let loaded = plan
        .digest_keys()
        .map(|k| LoadedDigest {
            key: k.to_string(),
            object: objects.get(k).cloned().ok_or(ReadFailure::NotFound),
            metadata: objects
                .get(&format!("{k}{SIDECAR}"))
                .map_or(Metadata::Absent, |b| Metadata::from_sidecar(b)),
        })
        .collect();
    let analysis = Analysis::new(&plan, loaded, keyring, &opts, &mut NullSink)?;
    let results = analysis
        .log_jobs()
        .iter()
        .map(|job| match objects.get(&job.object.key) {
            None => LogResult::Failed(ReadFailure::NotFound),
            Some(bytes) => {
                let mut h = LogHasher::new();
                for piece in bytes.chunks(run.chunk.max(1)) {
                    h.update(piece);
                }
                LogResult::Hashed(h.finish())
            }
        })
        .collect();
    Ok(analysis.finish(results, &mut NullSink))
}
