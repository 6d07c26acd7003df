//! The one in-memory runner: the [`Driver`]'s sequence over objects held in
//! memory (key → bytes; `KEY.metadata.json` is the S3 user metadata of
//! `KEY`, as in a local copy). The core's tests, the fuzz harness and the
//! WASM tests run it, so that they all exercise exactly the sequence every
//! front end runs.

use super::analysis::{LogJob, LogResult};
use super::driver::Driver;
use super::entry::{Metadata, ParsedDigest, ReadFailure};
use super::error::RunError;
use super::listing::{ListRequest, ListResponse};
use super::options::CheckedOptions;
use super::resume::ChainProgress;
use crate::keys::Keyring;
use crate::layout::{collapse_slashes, safe_segments};
use crate::logs::LogHasher;
use crate::report::{Report, Sink};
use std::collections::BTreeMap;

/// Suffix of the metadata sidecar of object `K`: `K.metadata.json`.
pub const SIDECAR: &str = ".metadata.json";

/// A bucket held in memory.
#[derive(Debug, Clone, Default)]
pub struct MemoryBucket {
    objects: BTreeMap<String, Vec<u8>>,
}

impl MemoryBucket {
    /// The bucket of `objects` (key → bytes, sidecars included).
    pub fn new(objects: BTreeMap<String, Vec<u8>>) -> MemoryBucket {
        MemoryBucket { objects }
    }

    /// The objects.
    pub fn objects(&self) -> &BTreeMap<String, Vec<u8>> {
        &self.objects
    }

    /// `ListObjectsV2` over the keys (sidecars are not objects).
    pub fn list(&self, req: &ListRequest) -> ListResponse {
        let from = (
            std::ops::Bound::Included(req.prefix.as_str()),
            std::ops::Bound::Unbounded,
        );
        req.answer(
            self.objects
                .range::<str, _>(from)
                .map(|(k, _)| k.as_str())
                .take_while(|k| k.starts_with(req.prefix.as_str()))
                .filter(|k| !k.ends_with(SIDECAR)),
        )
    }

    /// The object at `key`. As a local copy (`local_copy`): a key that
    /// could escape a copy is never read, and empty segments are read where
    /// `aws s3 sync` writes them; else the exact key.
    pub fn get(&self, key: &str, local_copy: bool) -> Result<&[u8], ReadFailure> {
        let found = if local_copy {
            safe_segments(key).ok_or(ReadFailure::Unsafe)?;
            self.objects.get(collapse_slashes(key).as_str())
        } else {
            self.objects.get(key)
        };
        found.map(Vec::as_slice).ok_or(ReadFailure::NotFound)
    }

    /// The S3 user metadata of `key`, from its sidecar.
    pub fn metadata(&self, key: &str, local_copy: bool) -> Metadata {
        self.get(&format!("{key}{SIDECAR}"), local_copy)
            .map_or(Metadata::Absent, Metadata::from_sidecar)
    }
}

/// How the in-memory run hands results back (to show that order and
/// chunking change nothing).
#[derive(Debug, Clone, Copy)]
pub struct MemoryRun {
    /// Logs are fed to the [`LogHasher`] in pieces of this size (≥ 1).
    pub chunk: usize,
    /// Digests are handed over newest first instead of in plan order.
    pub digests_reversed: bool,
}

impl Default for MemoryRun {
    fn default() -> Self {
        MemoryRun {
            chunk: 64 * 1024,
            digests_reversed: false,
        }
    }
}

/// Runs the whole sequence over `bucket`: the listing plan, each digest
/// parsed and handed over, the analysis, each vouched log streamed through a
/// [`LogHasher`] (with the run's budget), the results handed back in the
/// order `order` gives them (it may also drop some: they are then
/// `read_error`), the report and each chain's progress.
pub fn run_in_memory(
    opts: CheckedOptions,
    keyring: &Keyring,
    bucket: &MemoryBucket,
    run: MemoryRun,
    order: impl FnOnce(Vec<(LogJob, LogResult)>) -> Vec<(LogJob, LogResult)>,
    sink: &mut dyn Sink,
) -> Result<(Report, Vec<ChainProgress>), RunError> {
    let local_copy = opts.local_copy;
    let budget = opts.log_budget;
    let mut driver = Driver::new(opts);
    while let Some(req) = driver.next_listing()? {
        let resp = bucket.list(&req);
        driver.listed(&req, resp)?;
    }
    let mut to_load = driver.plan()?;
    if run.digests_reversed {
        to_load.reverse();
    }
    for key in to_load {
        let object = bucket.get(&key, local_copy).map(<[u8]>::to_vec);
        let metadata = bucket.metadata(&key, local_copy);
        driver.add_digest(ParsedDigest::parse(key, object, metadata), sink)?;
    }
    let jobs = driver.analyze(keyring, sink)?;
    let results = jobs
        .into_iter()
        .map(|job| {
            let result = if !job.vouched {
                LogResult::Skipped
            } else {
                match bucket.get(&job.object.key, local_copy) {
                    Err(e) => LogResult::Failed(e),
                    Ok(bytes) => {
                        let mut h = LogHasher::with_budget(budget);
                        for piece in bytes.chunks(run.chunk.max(1)) {
                            h.update(piece);
                            if h.failed() {
                                break;
                            }
                        }
                        LogResult::Hashed(h.finish())
                    }
                }
            };
            (job, result)
        })
        .collect();
    for (job, result) in order(results) {
        driver.log_result(job.id, result, sink)?;
    }
    driver.finish(sink)
}
