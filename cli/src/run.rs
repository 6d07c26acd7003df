//! A strict-mode run over a local copy, driven by the core
//! ([`ctverify_core::verify::Driver`]): this file only does the IO — it runs
//! the core's listing plan over the folder, loads and parses digests on
//! worker threads, and streams each vouched log through the hasher on all
//! cores, handing every result back to the driver as it completes.

use crate::config::Config;
use crate::local::LocalStore;
use crate::progress::ProgressSink;
use anyhow::Result;
use ctverify_core::digest::DIGEST_READ_CAP;
use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogBudget;
use ctverify_core::report::Covered;
use ctverify_core::report::{Report, Sink};
use ctverify_core::verify::ChainProgress;
use ctverify_core::verify::{Driver, Listing, LogJob, LogResult, ParsedDigest};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

/// Batches of results waiting between the workers and the driver.
const IN_FLIGHT: usize = 256;

/// The outcome of a run.
pub struct Outcome {
    /// The report.
    pub report: Report,
    /// Wall time spent hashing logs.
    pub hashing: Duration,
    /// How far each selected chain is now fully verified.
    pub progress: Vec<ChainProgress>,
    /// What was read from the source.
    pub reads: Reads,
}

/// What a run read from its source (shown with `--verbose`, in metrics).
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    /// Listing requests (S3 list pages; 0 for a local copy).
    pub lists: u64,
    /// Objects read (digests, metadata, logs: S3 GETs or files).
    pub objects: u64,
    /// Bytes read from the source.
    pub bytes: u64,
}

impl Outcome {
    /// Adds a re-verification pass of the same run ([`Report::absorb`]).
    pub fn absorb(&mut self, other: Outcome, periods: Vec<Covered>, allow_gaps: bool) {
        self.report.absorb(other.report, periods, allow_gaps);
        self.hashing += other.hashing;
        self.reads.lists += other.reads.lists;
        self.reads.objects += other.reads.objects;
        self.reads.bytes += other.reads.bytes;
    }
}

/// Counts what the local store reads.
#[derive(Default)]
struct Counter {
    objects: AtomicU64,
    bytes: AtomicU64,
}

impl Counter {
    fn add(&self, bytes: u64) {
        self.objects.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// The keys of a finished listing plan; a plan that stopped is a
/// could-not-run error (`main` adds how to narrow it).
pub fn listed(listing: Listing) -> Result<Vec<String>> {
    Ok(listing.into_keys().map_err(ctverify_core::verify::RunError::from)?)
}

/// Runs strict validation of `config`.
pub fn run(config: &Config, local: &std::path::Path, keyring: &Keyring) -> Result<Outcome> {
    let store = LocalStore::open(local)?;
    let mut listing = Listing::new(&config.options);
    while let Some(req) = listing.next_request() {
        let resp = store.list_request(&req)?;
        listing.accept(&req, resp);
    }
    let mut driver = Driver::new(config.options.clone(), keyring.clone())?;
    let to_load = driver.plan(listed(listing)?);
    let mut sink = ProgressSink::new(to_load.len() as u64);
    let counter = Counter::default();
    load_digests(&store, &to_load, &mut driver, &mut sink, &counter)?;
    let jobs = driver.analyze(&mut sink)?;
    let started = Instant::now();
    hash_logs(
        &store,
        &jobs,
        config.options.log_budget,
        &mut driver,
        &mut sink,
        &counter,
    )?;
    let hashing = started.elapsed();
    sink.finish();
    let (report, progress) = driver.finish_with_progress(&mut sink)?;
    let reads = Reads {
        lists: 0,
        objects: counter.objects.load(Ordering::Relaxed),
        bytes: counter.bytes.load(Ordering::Relaxed),
    };
    if config.options.verbose {
        eprintln!(
            "ctverify: read {} files, {:.1} MB from {}",
            reads.objects,
            reads.bytes as f64 / 1e6,
            local.display()
        );
    }
    Ok(Outcome {
        report,
        hashing,
        progress,
        reads,
    })
}

/// Reads and parses the digests on worker threads (object bytes are dropped
/// there) and hands them to the driver as they come. Stops at the first
/// error (the listed-logs budget).
fn load_digests(
    store: &LocalStore,
    keys: &[String],
    driver: &mut Driver,
    sink: &mut dyn Sink,
    counter: &Counter,
) -> Result<()> {
    pump(
        keys,
        1,
        |key| {
            let object = store.read_object(key, DIGEST_READ_CAP);
            if let Ok(bytes) = &object {
                counter.add(bytes.len() as u64);
            }
            ParsedDigest::parse(key.clone(), object, store.metadata(key))
        },
        |parsed| Ok(driver.add_digest(parsed, sink)?),
    )
}

/// Streams every vouched log through gunzip + SHA-256 on all cores; the
/// results go to the driver as they complete, in small batches (one
/// hand-over per log would cost more than hashing a small log).
fn hash_logs(
    store: &LocalStore,
    jobs: &[LogJob],
    budget: LogBudget,
    driver: &mut Driver,
    sink: &mut dyn Sink,
    counter: &Counter,
) -> Result<()> {
    let per_batch = (jobs.len() / (rayon::current_num_threads() * 32)).clamp(1, 256);
    pump(
        jobs,
        per_batch,
        |job| {
            let result = hash_log(store, job, budget);
            if let LogResult::Hashed(h) = &result {
                counter.add(h.compressed);
            }
            (job.id, result)
        },
        |(id, result)| {
            driver.log_result(id, result, sink);
            Ok(())
        },
    )
}

/// Runs `work` over `items` on all cores, `per_batch` items at a time, and
/// hands every result to `consume` on this thread as its batch completes
/// (at most [`IN_FLIGHT`] batches waiting). Stops early when `consume`
/// fails, and returns that error.
fn pump<T: Sync, R: Send>(
    items: &[T],
    per_batch: usize,
    work: impl Fn(&T) -> R + Sync,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()> {
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Vec<R>>(IN_FLIGHT);
        let (stop, work) = (&stop, &work);
        s.spawn(move || {
            items.par_chunks(per_batch.max(1)).for_each_with(tx, |tx, batch| {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if tx.send(batch.iter().map(work).collect()).is_err() {
                    stop.store(true, Ordering::Relaxed);
                }
            });
        });
        for batch in rx {
            for result in batch {
                if let Err(e) = consume(result) {
                    stop.store(true, Ordering::Relaxed);
                    return Err(e);
                }
            }
        }
        Ok(())
    })
}

/// Hashes one vouched log (streamed); unvouched logs are not read.
fn hash_log(store: &LocalStore, job: &LogJob, budget: LogBudget) -> LogResult {
    if !job.vouched {
        return LogResult::Skipped;
    }
    match store.hash_log(&job.object.key, budget) {
        Ok(h) => LogResult::Hashed(h),
        Err(f) => LogResult::Failed(f),
    }
}
