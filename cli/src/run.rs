//! A strict-mode run over a local copy: list, load digests, verify, hash
//! every log (streamed, in parallel on all cores), report.

use crate::config::Config;
use crate::local::LocalStore;
use crate::progress::Progress;
use anyhow::Result;
use ctverify_core::digest::MAX_DIGEST_OBJECT;
use ctverify_core::report::{Finding, Report, Sink};
use ctverify_core::verify::{Analysis, LoadedDigest, LogJob, LogResult, Plan};
use rayon::prelude::*;
use std::time::{Duration, Instant};

/// The outcome of a run.
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// Wall time spent hashing logs.
    pub hashing: Duration,
}

/// Collects nothing: findings are printed from the report, sorted. The
/// progress bar is driven directly by the workers.
struct Quiet;

impl Sink for Quiet {
    fn finding(&mut self, _finding: &Finding) {}
}

/// Runs strict validation of `config`.
pub fn run(config: &Config) -> Result<Outcome> {
    let store = LocalStore::open(&config.local)?;
    // The listing and the plan hold every key: both are dropped as soon as
    // they are no longer needed, so that they do not add to the peak memory
    // of the analysis and of the hashing, which grow with the number of logs.
    let plan = Plan::new(&store.list()?, &config.options);
    let digest_keys: Vec<&str> = plan.digest_keys().collect();
    let loaded: Vec<LoadedDigest> = digest_keys
        .par_iter()
        .map(|key| LoadedDigest {
            key: key.to_string(),
            object: store.read_object(key, MAX_DIGEST_OBJECT),
            metadata: store.metadata(key),
        })
        .collect();
    let mut sink = Quiet;
    let analysis = Analysis::new(&plan, loaded, &config.keyring, &config.options, &mut sink)?;
    drop(digest_keys);
    drop(plan);
    let jobs = analysis.log_jobs();
    let progress = Progress::new(jobs.iter().filter(|j| j.vouched).count() as u64);
    let started = Instant::now();
    let results: Vec<LogResult> = jobs.par_iter().map(|job| hash_log(&store, job, &progress)).collect();
    let hashing = started.elapsed();
    progress.finish();
    let report = analysis.finish(results, &mut sink);
    Ok(Outcome { report, hashing })
}

/// Hashes one vouched log (streamed), ticking the progress bar.
fn hash_log(store: &LocalStore, job: &LogJob, progress: &Progress) -> LogResult {
    if !job.vouched {
        return LogResult::Skipped;
    }
    let result = store.hash_log(&job.object.key);
    progress.inc();
    match result {
        Ok(h) => LogResult::Hashed(h),
        Err(f) => LogResult::Failed(f),
    }
}
