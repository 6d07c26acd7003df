//! The one place the fuzz harness drives the verification engine.
//!
//! It runs the core's `Driver`, like every front end: adapt
//! [`verify_in_memory`] only when that API changes.

use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogHasher;
use ctverify_core::report::{NullSink, Report};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{
    Driver, ListRequest, ListResponse, Listing, LogResult, Metadata, Options, ParsedDigest, ReadFailure, RunError,
};
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
/// S3 metadata of `K`, as in a local copy) through the core's `Driver`, the
/// sequence every front end runs: the listing plan over the keys, each
/// digest parsed and handed over, the analysis, each log job streamed
/// through a [`LogHasher`] and handed back, the report.
pub fn verify_in_memory(objects: &BTreeMap<String, Vec<u8>>, keyring: &Keyring, run: &Run) -> Result<Report, RunError> {
    let mut opts = Options::new(run.now);
    opts.start = run.start;
    opts.end = run.end;
    opts.verbose = run.verbose;
    let mut sink = NullSink;
    let Ok(mut driver) = Driver::new(opts.clone(), keyring.clone()) else {
        return Err(RunError::NoDigests);
    };
    let mut listing = Listing::new(&opts);
    while let Some(req) = listing.next_request() {
        let resp = list(objects, &req);
        listing.accept(&req, resp);
    }
    for key in driver.plan(listing.into_keys()?) {
        let object = objects.get(&key).cloned().ok_or(ReadFailure::NotFound);
        let metadata = objects
            .get(&format!("{key}{SIDECAR}"))
            .map_or(Metadata::Absent, |b| Metadata::from_sidecar(b));
        driver.add_digest(ParsedDigest::parse(key, object, metadata), &mut sink)?;
    }
    for job in driver.analyze(&mut sink)? {
        let result = match objects.get(&job.object.key) {
            None => LogResult::Failed(ReadFailure::NotFound),
            Some(bytes) => {
                let mut h = LogHasher::new();
                for piece in bytes.chunks(run.chunk.max(1)) {
                    h.update(piece);
                }
                LogResult::Hashed(h.finish())
            }
        };
        driver.log_result(job.id, result, &mut sink);
    }
    driver.finish(&mut sink)
}

/// ListObjectsV2 over the in-memory keys (sidecars are not objects).
fn list(objects: &BTreeMap<String, Vec<u8>>, req: &ListRequest) -> ListResponse {
    let from = (
        std::ops::Bound::Included(req.prefix.as_str()),
        std::ops::Bound::Unbounded,
    );
    req.answer(
        objects
            .range::<str, _>(from)
            .map(|(k, _)| k.as_str())
            .take_while(|k| k.starts_with(req.prefix.as_str()))
            .filter(|k| !k.ends_with(SIDECAR)),
    )
}
