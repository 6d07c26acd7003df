//! S3 as the strict run's [`Source`]: listings through the store's one
//! listing loop, digests and logs through its one GET-with-attempts loop
//! (faults are `read_error`, never tampering), one request per task with at
//! most `--jobs` in flight. [`Exporting`] is the same source that also
//! copies everything it reads (and, at the end, everything else the listings
//! found) into an export folder.

use super::export::Exporter;
use super::store::{Fault, S3Store};
use crate::run::{pump, DigestRead, Reads, Source};
use anyhow::Result;
use ctverify_core::digest::DIGEST_READ_CAP;
use ctverify_core::layout::DigestKeyName;
use ctverify_core::logs::LogBudget;
use ctverify_core::verify::{JobId, ListRequest, ListResponse, LogJob, LogResult, Metadata};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The bucket as a source.
#[derive(Clone)]
pub struct S3Source {
    store: S3Store,
    jobs: usize,
}

impl S3Source {
    /// `store`, with at most `jobs` requests in flight.
    pub fn new(store: S3Store, jobs: usize) -> S3Source {
        S3Source {
            store,
            jobs: jobs.max(1),
        }
    }

    /// Hashes one job, copying it into `export` when given.
    fn hash_one(
        &self,
        job: LogJob,
        budget: LogBudget,
        export: Option<Exporter>,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static {
        let store = self.store.clone();
        async move {
            let result = hash_log(
                &store,
                &job.object.key,
                (job.vouched, job.expected),
                budget,
                export.as_ref(),
            )
            .await;
            vec![(job.id, result)]
        }
    }
}

impl Source for S3Source {
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListResponse>> + Send + 'static {
        let store = self.store.clone();
        async move { store.list(&req).await }
    }

    fn read_digest(&self, key: String) -> impl Future<Output = Result<DigestRead>> + Send + 'static {
        let store = self.store.clone();
        async move { Ok(read_digest(&store, key, None).await) }
    }

    fn hash_logs(
        &self,
        jobs: Vec<LogJob>,
        budget: LogBudget,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static {
        let this = self.clone();
        async move {
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                out.extend(this.hash_one(job, budget, None).await);
            }
            out
        }
    }

    fn concurrency(&self) -> usize {
        self.jobs
    }

    fn listed_size(&self, key: &str) -> Option<u64> {
        self.store.listed_size(key).and_then(|n| u64::try_from(n).ok())
    }

    fn logs_per_batch(&self, _total: usize) -> usize {
        1
    }

    fn reads(&self) -> Reads {
        let c = &self.store.counters;
        Reads {
            lists: c.lists.load(Ordering::Relaxed),
            objects: c.gets.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
        }
    }

    fn describe_reads(&self, reads: &Reads) -> String {
        format!(
            "S3 requests: {} list pages, {} GETs, {:.1} MB received",
            reads.lists,
            reads.objects,
            reads.bytes as f64 / 1e6
        )
    }
}

/// [`S3Source`] that also writes what it reads into an export folder, and
/// at the end everything else the listings found (unreferenced logs, other
/// trails' digests in the same folders): the local copy must hold what the
/// bucket held for `validate --local` to say the same.
#[derive(Clone)]
pub struct Exporting {
    inner: S3Source,
    export: Exporter,
    /// Every key the listings returned.
    listed: Arc<Mutex<BTreeSet<String>>>,
    /// Every key the run read (or found in the folder already).
    read: Arc<Mutex<BTreeSet<String>>>,
}

impl Exporting {
    /// `inner`, exporting into `export`.
    pub fn new(inner: S3Source, export: Exporter) -> Exporting {
        Exporting {
            inner,
            export,
            listed: Arc::default(),
            read: Arc::default(),
        }
    }

    fn mark_read(&self, key: &str) {
        self.read
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string());
    }
}

impl Source for Exporting {
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListResponse>> + Send + 'static {
        let (answer, listed) = (self.inner.list(req), self.listed.clone());
        async move {
            let resp = answer.await?;
            listed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(resp.keys.iter().cloned());
            Ok(resp)
        }
    }

    fn read_digest(&self, key: String) -> impl Future<Output = Result<DigestRead>> + Send + 'static {
        self.mark_read(&key);
        let (store, export) = (self.inner.store.clone(), self.export.clone());
        async move { Ok(read_digest(&store, key, Some(&export)).await) }
    }

    fn hash_logs(
        &self,
        jobs: Vec<LogJob>,
        budget: LogBudget,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static {
        for job in &jobs {
            self.mark_read(&job.object.key);
        }
        let this = self.clone();
        async move {
            let mut out = Vec::with_capacity(jobs.len());
            for job in jobs {
                out.extend(this.inner.hash_one(job, budget, Some(this.export.clone())).await);
            }
            out
        }
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn logs_per_batch(&self, total: usize) -> usize {
        self.inner.logs_per_batch(total)
    }

    fn finish(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        let this = self.clone();
        async move {
            let rest: Vec<String> = {
                let listed = this.listed.lock().unwrap_or_else(|p| p.into_inner());
                let read = this.read.lock().unwrap_or_else(|p| p.into_inner());
                listed.difference(&read).cloned().collect()
            };
            copy_objects(&this.inner.store, rest, this.inner.jobs, &this.export).await?;
            this.export.finish();
            Ok(())
        }
    }

    fn reads(&self) -> Reads {
        self.inner.reads()
    }

    fn describe_reads(&self, reads: &Reads) -> String {
        self.inner.describe_reads(reads)
    }
}

/// A digest from S3 (or the export folder), faults already retried.
async fn read_digest(store: &S3Store, key: String, export: Option<&Exporter>) -> DigestRead {
    let (object, metadata) = match fetch_or_reuse(store, &key, export).await {
        Ok((b, m)) => (Ok(b), m),
        Err(f) => (Err(f.read_failure(store.bucket(), &key)), Metadata::Absent),
    };
    DigestRead { key, object, metadata }
}

/// A digest from S3, or from the export folder when a resumed export
/// already holds it (with its sidecar) at the listed size.
async fn fetch_or_reuse(
    store: &S3Store,
    key: &str,
    export: Option<&Exporter>,
) -> std::result::Result<(Vec<u8>, Metadata), Fault> {
    if let Some(x) = export {
        if x.has(key, store.listed_size(key)) {
            if let Ok(path) = x.path_of(key) {
                let bytes = std::fs::read(&path).map_err(|e| Fault::Other(e.to_string()))?;
                let sidecar = std::fs::read(path.with_file_name(format!(
                    "{}.metadata.json",
                    path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
                )));
                let meta = sidecar.map_or(Metadata::Absent, |b| Metadata::from_sidecar(&b));
                x.kept.fetch_add(1, Ordering::Relaxed);
                return Ok((bytes, meta));
            }
        }
    }
    // Bytes that do not parse are tampering only if S3 vouched for them
    // (a checksum) or a second read gives the same bytes.
    let got = store.read_small(key, DIGEST_READ_CAP, not_a_digest).await?;
    let (bytes, meta) = (got.bytes, got.metadata);
    if let Some(x) = export {
        let map = match &meta {
            Metadata::Present(m) => Some(m),
            _ => None,
        };
        if let Err(e) = x.write_object(key, &bytes, map) {
            eprintln!("ctverify: warning: export: {e:#}");
        }
    }
    Ok((bytes, meta))
}

/// Bytes that are not a well-formed digest: a finding of tampering, so
/// judged only once S3 vouched for them or a second read agreed.
pub fn not_a_digest(bytes: &[u8]) -> bool {
    ctverify_core::digest::Digest::parse_object(bytes).is_err()
}

async fn hash_log(
    store: &S3Store,
    key: &str,
    (vouched, expected): (bool, [u8; 32]),
    budget: ctverify_core::logs::LogBudget,
    export: Option<&Exporter>,
) -> LogResult {
    let budget = vouched.then_some(budget);
    if let Some(x) = export.filter(|x| x.has(key, store.listed_size(key))) {
        // A resumed export verifies what it already holds, from the file.
        x.kept.fetch_add(1, Ordering::Relaxed);
        let Some(budget) = budget else {
            return LogResult::Skipped;
        };
        let path = match x.path_of(key) {
            Ok(p) => p,
            Err(e) => return LogResult::Failed(ctverify_core::verify::ReadFailure::Other(format!("{e:#}"))),
        };
        return tokio::task::spawn_blocking(move || hash_file(&path, budget))
            .await
            .unwrap_or_else(|e| LogResult::Failed(ctverify_core::verify::ReadFailure::Other(e.to_string())));
    }
    if budget.is_none() && export.is_none() {
        return LogResult::Skipped;
    }
    match store.hash_log(key, budget, Some(expected), export).await {
        Ok(Some(h)) => LogResult::Hashed(h),
        Ok(None) => LogResult::Skipped,
        Err(f) => LogResult::Failed(f.read_failure(store.bucket(), key)),
    }
}

/// Streams an exported file through the hasher.
fn hash_file(path: &std::path::Path, budget: ctverify_core::logs::LogBudget) -> LogResult {
    let failed = |e: std::io::Error| LogResult::Failed(ctverify_core::verify::ReadFailure::Other(e.to_string()));
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return failed(e),
    };
    let mut buf = vec![0u8; 256 * 1024];
    match crate::local::LocalStore::hash_stream(&mut file, &mut buf, budget) {
        Ok(h) => LogResult::Hashed(h),
        Err(f) => LogResult::Failed(f),
    }
}

/// Downloads `keys` into the export folder (digests with their metadata).
async fn copy_objects(store: &S3Store, keys: Vec<String>, jobs: usize, export: &Exporter) -> Result<()> {
    pump(
        keys,
        jobs,
        |key| {
            let (store, x) = (store.clone(), export.clone());
            async move {
                if x.has(&key, store.listed_size(&key)) {
                    return Ok(());
                }
                if DigestKeyName::parse(&key).is_some() {
                    fetch_or_reuse(&store, &key, Some(&x)).await.map(|_| ())
                } else {
                    store.hash_log(&key, None, None, Some(&x)).await.map(|_| ())
                }
                .map_err(|f| (key, f))
            }
        },
        |r| {
            if let Err((key, f)) = r {
                eprintln!(
                    "ctverify: warning: export: {}",
                    match f.read_failure(store.bucket(), &key) {
                        ctverify_core::verify::ReadFailure::Other(m) => m,
                        other => format!("s3://{}/{key}: {other:?}", store.bucket()),
                    }
                );
            }
            Ok(())
        },
    )
    .await
}
