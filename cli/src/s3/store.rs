//! Reading the bucket: scoped listings, digests with their user metadata,
//! and logs streamed through the core's hasher as their bytes arrive.
//!
//! Faults: the SDK retries throttling, 5xx and connection errors with
//! backoff; a body cut short (connection dropped mid-object, fewer bytes
//! than `Content-Length`) is fetched again here. What still fails is a
//! [`ReadFailure::Other`] — `read_error`, never tampering. Only S3's
//! `NoSuchKey` (404) is [`ReadFailure::NotFound`]: a 403 may also hide a
//! missing key (without `s3:ListBucket`) and stays a read error.

use super::export::{Exporter, Partial};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use ctverify_core::logs::{HashedLog, LogBudget, LogHasher};
use ctverify_core::verify::{ListRequest, ListResponse, Metadata, ReadFailure};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};

/// Whole-object attempts when a body is cut short (each GET is itself
/// retried by the SDK).
const BODY_ATTEMPTS: u32 = 4;
/// Chunks of one log waiting for its hashing thread (back-pressure).
const CHUNKS_AHEAD: usize = 8;
/// Logs up to this size are read whole, then hashed in one hand-over to
/// the blocking pool (bounded: `--jobs` × this).
const SMALL_BODY: i64 = 256 * 1024;

/// Requests and bytes, for `--verbose` and the benchmark.
#[derive(Debug, Default)]
pub struct Counters {
    /// List requests (pages).
    pub lists: AtomicU64,
    /// GetObject requests.
    pub gets: AtomicU64,
    /// Object bytes received.
    pub bytes: AtomicU64,
}

/// One bucket, read with at most `jobs` requests in flight.
#[derive(Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    permits: Arc<Semaphore>,
    /// Request counters.
    pub counters: Arc<Counters>,
    /// Object sizes seen in listings (resumable export).
    sizes: Arc<std::sync::Mutex<BTreeMap<String, i64>>>,
}

impl S3Store {
    /// A store over `bucket` (its client must be in the bucket's region).
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, jobs: usize) -> S3Store {
        S3Store {
            client,
            bucket: bucket.to_string(),
            permits: Arc::new(Semaphore::new(jobs.max(1))),
            counters: Arc::new(Counters::default()),
            sizes: Arc::default(),
        }
    }

    /// The S3 client (in the bucket's region).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The size a listing reported for `key`, if it was listed.
    pub fn listed_size(&self, key: &str) -> Option<i64> {
        self.sizes.lock().ok()?.get(key).copied()
    }

    /// Runs one listing of the core's plan (every page). A listing that
    /// still fails after retries stops the run: what the bucket holds is
    /// then unknown, and nothing may be called missing or valid.
    pub async fn list(&self, req: &ListRequest) -> anyhow::Result<ListResponse> {
        let mut resp = ListResponse::default();
        let mut token: Option<String> = None;
        loop {
            let _permit = self.permits.acquire().await?;
            let mut call = self.client.list_objects_v2().bucket(&self.bucket).prefix(&req.prefix);
            if req.delimiter {
                call = call.delimiter("/");
            }
            if let Some(after) = &req.start_after {
                call = call.start_after(after);
            }
            if let Some(t) = &token {
                call = call.continuation_token(t);
            }
            self.counters.lists.fetch_add(1, Ordering::Relaxed);
            let page = call.send().await.map_err(|e| {
                anyhow::anyhow!(
                    "listing s3://{}/{} failed: {}",
                    self.bucket,
                    req.prefix,
                    DisplayErrorContext(e)
                )
            })?;
            if let Ok(mut sizes) = self.sizes.lock() {
                for o in page.contents() {
                    if let (Some(k), Some(s)) = (o.key(), o.size()) {
                        sizes.insert(k.to_string(), s);
                    }
                }
            }
            resp.keys
                .extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
            resp.prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(resp)
    }

    /// `GetObject` with the SDK's retries; errors classified.
    async fn get(&self, key: &str) -> Result<GetObjectOutput, Fault> {
        self.counters.gets.fetch_add(1, Ordering::Relaxed);
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(Fault::of)
    }

    /// Reads a small object whole (a digest: at most `cap` bytes are kept,
    /// one more tells the parser it is too large) and its user metadata.
    pub async fn read_small(&self, key: &str, cap: u64) -> Result<(Vec<u8>, Metadata), Fault> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Fault::Other("shutting down".into()))?;
        let mut last = String::new();
        for attempt in 0..BODY_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let out = self.get(key).await?;
            let metadata = metadata_of(&out);
            let expected = out.content_length();
            let mut body = out.body;
            let mut bytes = Vec::new();
            let mut received: i64 = 0;
            let cut = loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        received += chunk.len() as i64;
                        self.counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        let room = (cap + 1).saturating_sub(bytes.len() as u64) as usize;
                        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if bytes.len() as u64 > cap {
                            break None; // too large: the parser says so
                        }
                    }
                    Some(Err(e)) => break Some(e.to_string()),
                    None => break expected.filter(|&n| n != received).map(|n| short(n, received)),
                }
            };
            match cut {
                None => return Ok((bytes, metadata)),
                Some(why) => last = why,
            }
        }
        Err(Fault::Other(cut_short(&last)))
    }

    /// Streams a log through gunzip + SHA-256 on a blocking thread as its
    /// bytes arrive (at most [`CHUNKS_AHEAD`] chunks wait); with `export`,
    /// the bytes also go to a temporary file that becomes the object's
    /// file once the whole body arrived.
    pub async fn hash_log(
        &self,
        key: &str,
        budget: Option<LogBudget>,
        export: Option<&Exporter>,
    ) -> Result<Option<HashedLog>, Fault> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Fault::Other("shutting down".into()))?;
        let mut last = String::new();
        for attempt in 0..BODY_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let out = self.get(key).await?;
            let expected = out.content_length();
            if let (None, Some(budget), Some(n)) = (export, budget, expected.filter(|&n| n <= SMALL_BODY)) {
                // A small log: one hand-over to the blocking pool, not one
                // per chunk (most CloudTrail logs are a few KB).
                match read_all(out.body, n, &self.counters).await {
                    Ok(bytes) => {
                        return tokio::task::spawn_blocking(move || {
                            let mut h = LogHasher::with_budget(budget);
                            h.update(&bytes);
                            Some(h.finish())
                        })
                        .await
                        .map_err(|e| Fault::Other(format!("hashing thread failed: {e}")));
                    }
                    Err(why) => {
                        last = why;
                        continue;
                    }
                }
            }
            let partial = match export {
                Some(x) => Some(x.partial(key).map_err(|e| Fault::Other(format!("export: {e:#}")))?),
                None => None,
            };
            let (tx, rx) = mpsc::channel::<bytes::Bytes>(CHUNKS_AHEAD);
            let worker = tokio::task::spawn_blocking(move || consume(rx, budget, partial));
            let mut body = out.body;
            let mut received: i64 = 0;
            let mut cut = None;
            loop {
                match body.next().await {
                    Some(Ok(chunk)) => {
                        received += chunk.len() as i64;
                        self.counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        if tx.send(chunk).await.is_err() {
                            break; // the hasher stopped (gzip error): the rest is not needed
                        }
                    }
                    Some(Err(e)) => {
                        cut = Some(e.to_string());
                        break;
                    }
                    None => {
                        cut = expected.filter(|&n| n != received).map(|n| short(n, received));
                        break;
                    }
                }
            }
            drop(tx);
            let (hashed, partial) = worker
                .await
                .map_err(|e| Fault::Other(format!("hashing thread failed: {e}")))?;
            match cut {
                None => {
                    if let Some(p) = partial {
                        p.commit().map_err(|e| Fault::Other(format!("export: {e:#}")))?;
                    }
                    return Ok(hashed);
                }
                Some(why) => last = why,
            }
        }
        Err(Fault::Other(cut_short(&last)))
    }
}

/// Reads a body of `expected` bytes whole (at most [`SMALL_BODY`]).
async fn read_all(
    mut body: aws_sdk_s3::primitives::ByteStream,
    expected: i64,
    counters: &Counters,
) -> Result<Vec<u8>, String> {
    let limit = usize::try_from(expected).unwrap_or(0);
    let mut bytes = Vec::with_capacity(limit);
    loop {
        match body.next().await {
            Some(Ok(chunk)) => {
                counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if bytes.len() + chunk.len() > limit {
                    return Err(format!("body longer than its Content-Length {expected}"));
                }
                bytes.extend_from_slice(&chunk);
            }
            Some(Err(e)) => return Err(e.to_string()),
            None if bytes.len() as i64 == expected => return Ok(bytes),
            None => return Err(short(expected, bytes.len() as i64)),
        }
    }
}

/// The blocking side of [`S3Store::hash_log`]: feeds the hasher (when
/// hashing) and the export file (when exporting) until the body ends.
fn consume(
    mut rx: mpsc::Receiver<bytes::Bytes>,
    budget: Option<LogBudget>,
    mut partial: Option<Partial>,
) -> (Option<HashedLog>, Option<Partial>) {
    let mut hasher = budget.map(LogHasher::with_budget);
    while let Some(chunk) = rx.blocking_recv() {
        if let Some(h) = hasher.as_mut().filter(|h| !h.failed()) {
            h.update(&chunk);
        }
        if let Some(p) = partial.as_mut() {
            if p.write(&chunk).is_err() {
                partial = None;
            }
        }
        if partial.is_none() && hasher.as_ref().is_none_or(LogHasher::failed) {
            break;
        }
    }
    (hasher.map(LogHasher::finish), partial)
}

fn short(expected: i64, received: i64) -> String {
    format!("body cut short: {received} of {expected} bytes")
}

fn cut_short(why: &str) -> String {
    format!("body incomplete after {BODY_ATTEMPTS} attempts ({why})")
}

async fn backoff(attempt: u32) {
    tokio::time::sleep(Duration::from_millis(100 << attempt.min(6))).await;
}

/// The user metadata of a GetObject answer (`None` or empty: absent).
fn metadata_of(out: &GetObjectOutput) -> Metadata {
    match out.metadata() {
        Some(m) if !m.is_empty() => {
            Metadata::Present(m.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect())
        }
        _ => Metadata::Absent,
    }
}

/// Why a GetObject failed (after the SDK's retries and ours).
#[derive(Debug, Clone)]
pub enum Fault {
    /// `NoSuchKey` / 404: the object does not exist.
    NotFound,
    /// An S3 error answer other than "not found" (403 `AccessDenied`,
    /// 503 `SlowDown` after retries, ...).
    Service {
        /// S3's error code.
        code: String,
        /// S3's error message.
        message: String,
    },
    /// Anything else (network, timeouts, a body cut short every time).
    Other(String),
}

impl Fault {
    /// Classifies an SDK error: only `NoSuchKey` / 404 is "not found".
    fn of(e: SdkError<GetObjectError>) -> Fault {
        let status = e.raw_response().map(|r| r.status().as_u16());
        if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) || status == Some(404) {
            return Fault::NotFound;
        }
        match e.code() {
            Some(code) => Fault::Service {
                code: code.to_string(),
                message: e.message().unwrap_or_default().to_string(),
            },
            None => Fault::Other(DisplayErrorContext(&e).to_string()),
        }
    }

    /// The core's view: `read_error` for everything but "not found".
    pub fn read_failure(self, bucket: &str, key: &str) -> ReadFailure {
        match self {
            Fault::NotFound => ReadFailure::NotFound,
            Fault::Service { code, message } => {
                ReadFailure::Other(format!("GetObject s3://{bucket}/{key} failed: {code}: {message}"))
            }
            Fault::Other(why) => ReadFailure::Other(format!("GetObject s3://{bucket}/{key} failed: {why}")),
        }
    }
}
