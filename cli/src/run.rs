//! The one strict run of the CLI, generic over its [`Source`] (a local copy,
//! S3, or S3 while exporting): the core's [`Driver`] owns the sequence; this
//! file only answers its requests — the listings concurrently, the digests
//! and logs with at most [`Source::concurrency`] requests in flight — and
//! hands every result back as it completes. No verification rule lives
//! here, and no source-specific step: each source's setup (the bucket, its
//! keys) is in its own module (`local`, `s3::strict`).

use crate::progress::ProgressSink;
use anyhow::{Context, Result};
use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogBudget;
use ctverify_core::report::{Covered, Report};
use ctverify_core::verify::{
    ChainProgress, CheckedOptions, Driver, JobId, ListRequest, ListResponse, LogJob, LogResult, Metadata, ParsedDigest,
    ReadFailure,
};
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What a strict run reads from. Every method returns a `'static` future
/// (sources are cheap to clone), so requests run as concurrent tasks.
pub trait Source: Clone + Send + Sync + 'static {
    /// One listing of the core's plan (every page of it); an error when it
    /// could not be completed (the run cannot judge from part of it).
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListResponse>> + Send + 'static;

    /// Reads one digest with its S3 metadata (the run parses it off the
    /// async workers). Faults are in the result ([`DigestRead::object`]);
    /// an error stops the run.
    fn read_digest(&self, key: String) -> impl Future<Output = Result<DigestRead>> + Send + 'static;

    /// Hashes a batch of log jobs, streamed under `budget`. Unvouched jobs
    /// need not be read ([`LogResult::Skipped`]).
    fn hash_logs(
        &self,
        jobs: Vec<LogJob>,
        budget: LogBudget,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static;

    /// How many requests may be in flight.
    fn concurrency(&self) -> usize;

    /// How many logs one [`hash_logs`](Self::hash_logs) call takes, for a
    /// run of `total` logs.
    fn logs_per_batch(&self, total: usize) -> usize;

    /// After the logs: anything the source still has to do (an export
    /// copies what the run did not read).
    fn finish(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        async { Ok(()) }
    }

    /// The size of object `key` as the listing saw it (or the copy holds
    /// it), when known: `plan` weighs shards by it.
    fn listed_size(&self, _key: &str) -> Option<u64> {
        None
    }

    /// The keyring the run verifies with, once it is known (a sharded run
    /// records it for the merge).
    fn observe_keyring(&self, _keyring: &Keyring) {}

    /// What was read so far.
    fn reads(&self) -> Reads;

    /// `reads` in words (`--verbose`).
    fn describe_reads(&self, reads: &Reads) -> String;
}

/// A digest as a source read it.
#[derive(Debug, Clone)]
pub struct DigestRead {
    /// Its key.
    pub key: String,
    /// Its bytes (at most the digest read cap, plus one when larger), or
    /// why they could not be read.
    pub object: std::result::Result<Vec<u8>, ReadFailure>,
    /// Its S3 user metadata.
    pub metadata: Metadata,
}

impl DigestRead {
    /// Parses it (pure; call it off the async workers).
    pub fn parse(self) -> ParsedDigest {
        ParsedDigest::parse(self.key, self.object, self.metadata)
    }
}

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

/// The runtime of a run: worker threads for the requests; reading and
/// hashing run on its blocking pool.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Runs strict validation with `opts` over `source`. `keys` gives the
/// keyring once the digests to load are known (their keys).
pub async fn strict<S, K>(opts: CheckedOptions, source: &S, keys: impl FnOnce(Vec<String>) -> K) -> Result<Outcome>
where
    S: Source,
    K: Future<Output = Result<Keyring>>,
{
    let verbose = opts.verbose;
    let budget = opts.log_budget;
    let mut driver = Driver::new(opts);

    list(&mut driver, source, |_| {}).await?;
    let to_load = driver.plan()?;
    let keyring = keys(to_load.clone()).await?;
    source.observe_keyring(&keyring);
    let mut sink = ProgressSink::new(to_load.len() as u64);
    let limit = source.concurrency();

    // Digests: read and parsed concurrently, handed over as they come.
    pump(
        to_load,
        limit,
        |key| {
            let read = source.read_digest(key);
            async move {
                let read = read.await?;
                tokio::task::spawn_blocking(move || read.parse())
                    .await
                    .context("digest parsing task failed")
            }
        },
        |parsed| Ok(driver.add_digest(parsed?, &mut sink)?),
    )
    .await?;

    let jobs = driver.analyze(&keyring, &mut sink)?;
    let started = Instant::now();
    let per_batch = source.logs_per_batch(jobs.len());
    let batches = batches(jobs, per_batch);
    pump(
        batches,
        limit,
        |batch| source.hash_logs(batch, budget),
        |results| {
            for (id, result) in results {
                driver.log_result(id, result, &mut sink)?;
            }
            Ok(())
        },
    )
    .await?;
    let hashing = started.elapsed();
    source.finish().await?;
    sink.finish();
    let (report, progress) = driver.finish(&mut sink)?;
    let reads = source.reads();
    if verbose {
        eprintln!("ctverify: {}", source.describe_reads(&reads));
    }
    Ok(Outcome {
        report,
        hashing,
        progress,
        reads,
    })
}

/// `jobs` in batches of `per_batch` (at least 1), cut as they are taken:
/// only the batches in flight exist at once.
pub fn batches(jobs: Vec<LogJob>, per_batch: usize) -> impl Iterator<Item = Vec<LogJob>> {
    let per_batch = per_batch.max(1);
    let mut jobs = jobs.into_iter();
    std::iter::from_fn(move || {
        let batch: Vec<LogJob> = jobs.by_ref().take(per_batch).collect();
        (!batch.is_empty()).then_some(batch)
    })
}

/// Runs the driver's listing plan over `source`: every request the plan has
/// ready runs at once; `seen` gets every answer as it comes.
pub async fn list<S: Source>(driver: &mut Driver, source: &S, mut seen: impl FnMut(&ListResponse)) -> Result<()> {
    let mut inflight = JoinSet::new();
    loop {
        while let Some(req) = driver.next_listing()? {
            let answer = source.list(req.clone());
            inflight.spawn(async move { (req, answer.await) });
        }
        match inflight.join_next().await {
            Some(joined) => {
                let (req, resp) = joined.context("listing task failed")?;
                let resp = resp?;
                seen(&resp);
                driver.listed(&req, resp)?;
            }
            None => return Ok(()),
        }
    }
}

/// Runs `work` over `items` with at most `limit` in flight and hands each
/// result to `consume` on this task as it completes. Stops at the first
/// error `consume` returns.
pub async fn pump<T, R, F, Fut>(
    items: impl IntoIterator<Item = T>,
    limit: usize,
    work: F,
    mut consume: impl FnMut(R) -> Result<()>,
) -> Result<()>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
    R: Send + 'static,
{
    let mut set = JoinSet::new();
    let mut items = items.into_iter();
    loop {
        while set.len() < limit.max(1) {
            match items.next() {
                Some(t) => {
                    set.spawn(work(t));
                }
                None => break,
            }
        }
        match set.join_next().await {
            Some(r) => consume(r.context("worker task failed")?)?,
            None => return Ok(()),
        }
    }
}
