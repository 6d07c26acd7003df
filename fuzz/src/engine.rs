//! The one place the fuzz harness drives the verification engine.
//!
//! It runs the core's one in-memory runner (the `Driver`'s sequence, as
//! every front end runs it): adapt [`verify_in_memory`] only when that API
//! changes.

use ctverify_core::keys::Keyring;
use ctverify_core::report::{NullSink, Report};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{run_in_memory, MemoryBucket, MemoryRun, Options, RunError};
use std::collections::BTreeMap;

/// Suffix of the metadata sidecar of object `K`: `K.metadata.json`.
pub use ctverify_core::verify::SIDECAR;

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
    /// Size of the pieces each log is fed to the log hasher in (at least 1).
    pub chunk: usize,
}

/// Verifies a bucket held in memory (key -> bytes; `K.metadata.json` is the
/// S3 metadata of `K`, as in a local copy) through the core's one in-memory
/// runner ([`run_in_memory`]): the sequence every front end runs.
pub fn verify_in_memory(objects: &BTreeMap<String, Vec<u8>>, keyring: &Keyring, run: &Run) -> Result<Report, RunError> {
    let mut opts = Options::new(run.now);
    opts.start = run.start;
    opts.end = run.end;
    opts.verbose = run.verbose;
    let Ok(opts) = opts.checked() else {
        return Err(RunError::NoDigests);
    };
    let memory = MemoryRun {
        chunk: run.chunk.max(1),
        ..MemoryRun::default()
    };
    let bucket = MemoryBucket::new(objects.clone());
    run_in_memory(opts, keyring, &bucket, memory, |r| r, &mut NullSink).map(|(report, _)| report)
}
