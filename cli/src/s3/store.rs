//! Reading the bucket: scoped listings, digests with their user metadata,
//! and logs streamed through the core's hasher as their bytes arrive.
//!
//! Faults (docs/s3.md "Faults"): the SDK retries throttling, 5xx, timeouts and
//! connection errors with backoff; every request has an attempt timeout,
//! every object and listing page a deadline, every body a minimum rate
//! ([`Limits`]). A body is always read to its end, so that its
//! Content-Length and S3's checksum (requested with checksum mode) are
//! checked before anything is judged; a body cut short, slow or failing its
//! checksum is fetched again. A result that would be tampering is handed
//! over only when a checksum vouched for the bytes or a second read gave
//! the same result. What still fails is a [`Fault::Other`] — `read_error`,
//! never tampering. Only S3's `NoSuchKey` is [`Fault::NotFound`]: any other
//! 404 (`NoSuchBucket`, a proxy's page) and a 403 (which may also hide a
//! missing key without `s3:ListBucket`) stay read errors.
//!
//! A listing is complete or an error: every page must parse completely
//! (closing tag), agree with its `KeyCount`, stay under its prefix and
//! after the previous page, and a truncated page must carry a fresh
//! continuation token; a page that does not is requested again, then the
//! listing fails.

use super::body::{Buffered, Paced};
use super::export::{Exporter, Partial};
use super::limits::Limits;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::types::ChecksumMode;
use ctverify_core::logs::{HashedLog, LogBudget, LogHasher};
use ctverify_core::verify::{ListRequest, ListResponse, Metadata, ReadFailure};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Semaphore};

/// Whole-object attempts (each GET is itself retried by the SDK) when a
/// body is cut short, slow, fails its checksum, or must be confirmed.
const BODY_ATTEMPTS: u32 = 4;
/// Requests of one listing page that is incomplete or inconsistent.
const PAGE_ATTEMPTS: u32 = 4;
/// Entries one listing may return (keys and folders) unless the plan says
/// fewer: far more than any day folder of any trail holds.
const MAX_LIST_ENTRIES: usize = 5_000_000;
/// Times a listing starts over when a page contradicts an earlier one.
const LIST_RESTARTS: u32 = 2;
/// Truncated pages in a row without a single entry: past it the server's
/// pagination is taken to be lying.
const MAX_EMPTY_PAGES: u32 = 16;
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
    limits: Limits,
    /// Request counters.
    pub counters: Arc<Counters>,
    /// Object sizes seen in listings (resumable export, deadlines).
    sizes: Arc<std::sync::Mutex<BTreeMap<String, i64>>>,
}

/// A small object read whole.
#[derive(Debug)]
pub struct SmallObject {
    /// Its bytes (at most the cap asked for, plus one when larger).
    pub bytes: Vec<u8>,
    /// Its user metadata.
    pub metadata: Metadata,
}

/// Why a listing failed: S3's error code (`RequestError` for transport
/// faults and incomplete or inconsistent answers) and message.
#[derive(Debug, Clone)]
pub struct ListFailure {
    /// S3's error code, or `RequestError`.
    pub code: String,
    /// What happened.
    pub message: String,
    /// The page contradicts an earlier one (a token seen before, entries
    /// not after the previous page): the listing starts over.
    restart: bool,
}

impl ListFailure {
    fn request(message: impl Into<String>) -> ListFailure {
        ListFailure {
            code: "RequestError".into(),
            message: message.into(),
            restart: false,
        }
    }
}

impl std::fmt::Display for ListFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// What one whole-object attempt came to.
enum Attempt<T> {
    /// The body arrived whole and consistent: the result.
    Done(T),
    /// Try again (the body broke, was slow, or needs a second read).
    Again(String),
}

impl S3Store {
    /// A store over `bucket` (its client must be in the bucket's region).
    pub fn new(client: aws_sdk_s3::Client, bucket: &str, jobs: usize, limits: Limits) -> S3Store {
        S3Store {
            client,
            bucket: bucket.to_string(),
            permits: Arc::new(Semaphore::new(jobs.max(1))),
            limits,
            counters: Arc::new(Counters::default()),
            sizes: Arc::default(),
        }
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
        self.list_all(&req.prefix, req.delimiter, req.start_after.as_deref(), req.max_entries)
            .await
            .map_err(|e| {
                let hint = if req.max_entries.is_some() {
                    " (a folder searched for AWSLogs/: give --s3-prefix P, the folder that holds AWSLogs/)"
                } else {
                    ""
                };
                anyhow::anyhow!("listing s3://{}/{} failed: {e}{hint}", self.bucket, req.prefix)
            })
    }

    /// Every page of `ListObjectsV2` under `prefix` (see the module docs
    /// for what makes a page acceptable). A page that contradicts an
    /// earlier one makes the listing start over (an earlier page may have
    /// been the lie), at most [`LIST_RESTARTS`] times. More than
    /// `max_entries` entries (default [`MAX_LIST_ENTRIES`]) is an error.
    pub async fn list_all(
        &self,
        prefix: &str,
        delimiter: bool,
        start_after: Option<&str>,
        max_entries: Option<usize>,
    ) -> Result<ListResponse, ListFailure> {
        let max_entries = max_entries.unwrap_or(MAX_LIST_ENTRIES);
        let mut n = 0;
        loop {
            match self.list_once(prefix, delimiter, start_after, max_entries).await {
                Err(e) if e.restart && n < LIST_RESTARTS => n += 1,
                Err(mut e) if e.restart => {
                    e.message = format!("{} (the listing was started over {LIST_RESTARTS} times)", e.message);
                    return Err(e);
                }
                other => return other,
            }
        }
    }

    async fn list_once(
        &self,
        prefix: &str,
        delimiter: bool,
        start_after: Option<&str>,
        max_entries: usize,
    ) -> Result<ListResponse, ListFailure> {
        let mut resp = ListResponse::default();
        let mut token: Option<String> = None;
        let mut tokens = HashSet::new();
        // Every entry must sort after this one (S3 lists in key order).
        let mut floor: Option<String> = start_after.map(str::to_string);
        let mut empty = 0;
        loop {
            let page = self
                .page(
                    prefix,
                    delimiter,
                    start_after,
                    token.as_deref(),
                    floor.as_deref(),
                    &tokens,
                )
                .await?;
            let keys: Vec<String> = page
                .contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_string))
                .collect();
            let prefixes: Vec<String> = page
                .common_prefixes()
                .iter()
                .filter_map(|p| p.prefix().map(str::to_string))
                .collect();
            if let Ok(mut sizes) = self.sizes.lock() {
                for o in page.contents() {
                    if let (Some(k), Some(s)) = (o.key(), o.size()) {
                        sizes.insert(k.to_string(), s);
                    }
                }
            }
            if keys.is_empty() && prefixes.is_empty() {
                empty += 1;
            } else {
                empty = 0;
            }
            floor = keys.iter().chain(&prefixes).max().cloned().or(floor);
            resp.keys.extend(keys);
            resp.prefixes.extend(prefixes);
            if resp.keys.len() + resp.prefixes.len() > max_entries {
                return Err(ListFailure::request(format!(
                    "more than {max_entries} keys and folders (more than a run can use)"
                )));
            }
            if page.is_truncated() != Some(true) {
                break;
            }
            if empty > MAX_EMPTY_PAGES {
                return Err(ListFailure::request(format!(
                    "{MAX_EMPTY_PAGES} truncated pages in a row listed nothing (pagination that never ends)"
                )));
            }
            let next = page.next_continuation_token().unwrap_or_default().to_string();
            tokens.insert(next.clone());
            token = Some(next);
        }
        resp.keys.sort();
        resp.prefixes.sort();
        Ok(resp)
    }

    /// One page, requested again (within the deadline) until it is
    /// complete and consistent.
    async fn page(
        &self,
        prefix: &str,
        delimiter: bool,
        start_after: Option<&str>,
        token: Option<&str>,
        floor: Option<&str>,
        tokens: &HashSet<String>,
    ) -> Result<ListObjectsV2Output, ListFailure> {
        let limits = self.limits;
        // The deadline starts once the request may run, not while it waits
        // behind the others.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ListFailure::request("shutting down"))?;
        let work = async {
            let mut last = ListFailure::request("no attempt");
            for attempt in 0..PAGE_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(limits.retry_pause(attempt)).await;
                }
                let mut call = self.client.list_objects_v2().bucket(&self.bucket).prefix(prefix);
                if delimiter {
                    call = call.delimiter("/");
                }
                if let Some(after) = start_after {
                    call = call.start_after(after);
                }
                if let Some(t) = token {
                    call = call.continuation_token(t);
                }
                self.counters.lists.fetch_add(1, Ordering::Relaxed);
                let sent = call.customize().interceptor(Buffered::listing()).send().await;
                match sent {
                    Ok(page) => match page_problem(&page, prefix, floor, tokens) {
                        None => return Ok(page),
                        Some((why, false)) => last = ListFailure::request(why),
                        Some((why, true)) => {
                            return Err(ListFailure {
                                restart: true,
                                ..ListFailure::request(why)
                            })
                        }
                    },
                    Err(e) => {
                        let failure = match e.code() {
                            Some(code) => ListFailure {
                                code: code.to_string(),
                                message: e.message().unwrap_or_default().to_string(),
                                restart: false,
                            },
                            None => ListFailure::request(DisplayErrorContext(&e).to_string()),
                        };
                        last = failure;
                    }
                }
            }
            Err(ListFailure {
                message: format!("{} (after {PAGE_ATTEMPTS} requests of the page)", last.message),
                ..last
            })
        };
        tokio::time::timeout(limits.deadline, work).await.unwrap_or_else(|_| {
            Err(ListFailure::request(format!(
                "no complete page within {} s",
                limits.deadline.as_secs()
            )))
        })
    }

    /// `GetObject` (checksum mode on, the SDK's retries); errors classified.
    async fn get(&self, key: &str) -> Result<GetObjectOutput, Fault> {
        self.counters.gets.fetch_add(1, Ordering::Relaxed);
        self.client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .checksum_mode(ChecksumMode::Enabled)
            .customize()
            .interceptor(Buffered::errors())
            .send()
            .await
            .map_err(Fault::of)
    }

    /// Runs whole-object attempts of `key` (one request permit, at most
    /// [`BODY_ATTEMPTS`], within the object's deadline). Every fault but
    /// `NoSuchKey` is tried again: a 403 or a 404 from a proxy may pass.
    async fn attempts<T, F, Fut>(&self, key: &str, mut attempt: F) -> Result<T, Fault>
    where
        F: FnMut(GetObjectOutput) -> Fut,
        Fut: Future<Output = Result<Attempt<T>, Fault>>,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Fault::Other("shutting down".into()))?;
        let deadline = self.limits.object_deadline(self.listed_size(key));
        let last = std::sync::Mutex::new(None::<Fault>);
        let note = |f: Fault| {
            if let Ok(mut l) = last.lock() {
                *l = Some(f);
            }
        };
        let work = async {
            for n in 0..BODY_ATTEMPTS {
                if n > 0 {
                    tokio::time::sleep(self.limits.retry_pause(n)).await;
                }
                let step = match self.get(key).await {
                    Ok(out) => attempt(out).await,
                    Err(f) => Err(f),
                };
                match step {
                    Ok(Attempt::Done(t)) => return Ok(t),
                    Ok(Attempt::Again(why)) => note(Fault::Other(why)),
                    Err(Fault::NotFound) => return Err(Fault::NotFound),
                    Err(f) => note(f),
                }
            }
            Err(Fault::Other("attempts used up".into()))
        };
        let outcome = tokio::time::timeout(deadline, work).await;
        let last = last.lock().ok().and_then(|mut l| l.take());
        match outcome {
            Ok(Ok(t)) => Ok(t),
            Ok(Err(Fault::NotFound)) => Err(Fault::NotFound),
            Ok(Err(_)) | Err(_) => Err(match (outcome.is_err(), last) {
                (false, Some(f @ Fault::Service { .. })) => f,
                (false, Some(Fault::Other(why))) => Fault::Other(format!(
                    "no whole, consistent body after {BODY_ATTEMPTS} attempts ({why})"
                )),
                (_, last) => Fault::Other(format!(
                    "no whole, consistent body within {} s{}",
                    deadline.as_secs(),
                    match last {
                        Some(Fault::Service { code, message }) => format!(" ({code}: {message})"),
                        Some(Fault::Other(why)) => format!(" ({why})"),
                        _ => String::new(),
                    }
                )),
            }),
        }
    }

    /// Reads a small object whole (a digest: at most `cap` bytes are kept,
    /// one more tells the parser it is too large) and its user metadata.
    /// The body is read to its end unless S3 says it is larger than `cap`.
    /// When the bytes are not vouched for by a checksum and `judged_bad`
    /// says they would be a finding of tampering, the object is read again
    /// (within the same attempts and deadline): the bytes stand only when
    /// two reads agree.
    pub async fn read_small(
        &self,
        key: &str,
        cap: u64,
        judged_bad: impl Fn(&[u8]) -> bool,
    ) -> Result<SmallObject, Fault> {
        let counters = &self.counters;
        let min_rate = self.limits.min_rate;
        let listed = self.listed_size(key);
        let judged_bad = &judged_bad;
        // The SHA-256 of a read that would be tampering, not yet confirmed.
        let unconfirmed = std::sync::Mutex::new(None::<[u8; 32]>);
        let unconfirmed = &unconfirmed;
        self.attempts(key, |out| async move {
            let metadata = metadata_of(&out);
            let mut vouched = checksummed(&out);
            let length = out.content_length();
            let declared_large = length.is_some_and(|n| n as u64 > cap);
            let mut body = Paced::new(out.body, min_rate);
            let mut bytes = Vec::new();
            loop {
                match body.next().await {
                    Ok(Some(chunk)) => {
                        counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        let room = (cap + 1).saturating_sub(bytes.len() as u64) as usize;
                        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
                        if bytes.len() as u64 > cap {
                            if !declared_large {
                                return Ok(Attempt::Again(format!(
                                    "body larger than {cap} bytes but its Content-Length says {length:?}"
                                )));
                            }
                            // S3 says it is larger than any digest: the
                            // parser says so; the rest is not needed (and
                            // no checksum was checked).
                            vouched = false;
                            break;
                        }
                    }
                    Ok(None) => match size_problem(length, listed, body.received()) {
                        Some(why) => return Ok(Attempt::Again(why)),
                        None => break,
                    },
                    Err(why) => return Ok(Attempt::Again(why)),
                }
            }
            if !vouched && judged_bad(&bytes) {
                let sha: [u8; 32] = Sha256::digest(&bytes).into();
                let mut previous = unconfirmed.lock().map_err(|_| Fault::Other("lock poisoned".into()))?;
                if *previous != Some(sha) {
                    *previous = Some(sha);
                    return Ok(Attempt::Again(
                        "a read without a checksum gave bytes that do not parse".into(),
                    ));
                }
            }
            Ok(Attempt::Done(SmallObject { bytes, metadata }))
        })
        .await
    }

    /// Streams a log through gunzip + SHA-256 (with `budget`; without one
    /// it is only copied) as its bytes arrive, reading every body to its
    /// end. A result that would be tampering (malformed; with `expected`,
    /// also a hash that differs) stands only when S3's checksum vouched for
    /// the bytes or a second read of the same bytes (SHA-256 of the body)
    /// gives it. With `export`, the bytes also go to a temporary file that
    /// becomes the object's file once the whole body arrived; a key that
    /// cannot be exported safely is verified and not written (a warning).
    pub async fn hash_log(
        &self,
        key: &str,
        budget: Option<LogBudget>,
        expected: Option<[u8; 32]>,
        export: Option<&Exporter>,
    ) -> Result<Option<HashedLog>, Fault> {
        let export = export.filter(|x| match x.path_of(key) {
            Ok(_) => true,
            Err(e) => {
                eprintln!("ctverify: warning: export: {e:#}; verified, not written");
                false
            }
        });
        // The SHA-256 of a body whose result would be tampering, read once
        // without a checksum.
        let unconfirmed = std::sync::Mutex::new(None::<[u8; 32]>);
        let unconfirmed = &unconfirmed;
        let min_rate = self.limits.min_rate;
        let counters = &self.counters;
        let listed = self.listed_size(key);
        self.attempts(key, |out| async move {
            let vouched = checksummed(&out);
            let length = out.content_length();
            let body = Paced::new(out.body, min_rate);
            let small = length.filter(|&n| (0..=SMALL_BODY).contains(&n));
            let (hashed, partial, raw) = match (export, budget, small) {
                // A small log: one hand-over to the blocking pool, not one
                // per chunk (most CloudTrail logs are a few KB).
                (None, Some(budget), Some(n)) => match read_all(body, n, counters).await {
                    Ok(bytes) => {
                        let (hashed, raw) = tokio::task::spawn_blocking(move || {
                            let mut h = LogHasher::with_budget(budget);
                            h.update(&bytes);
                            let h = h.finish();
                            // The body's own hash only when a second read
                            // may have to confirm it.
                            let raw =
                                (!vouched && tampered(&h, expected.as_ref())).then(|| Sha256::digest(&bytes).into());
                            (h, raw)
                        })
                        .await
                        .map_err(|e| Fault::Other(format!("hashing thread failed: {e}")))?;
                        (Some(hashed), None, raw)
                    }
                    Err(why) => return Ok(Attempt::Again(why)),
                },
                _ => {
                    let partial = match export {
                        Some(x) => Some(x.partial(key).map_err(|e| Fault::Other(format!("export: {e:#}")))?),
                        None => None,
                    };
                    match stream(body, length, listed, budget, partial, !vouched, counters).await? {
                        Ok(done) => done,
                        Err(why) => return Ok(Attempt::Again(why)),
                    }
                }
            };
            if !vouched && hashed.as_ref().is_some_and(|h| tampered(h, expected.as_ref())) {
                let mut previous = unconfirmed.lock().map_err(|_| Fault::Other("lock poisoned".into()))?;
                if *previous != raw {
                    // Not vouched for by a checksum: judged only when a
                    // second read gives the same bytes.
                    *previous = raw;
                    return Ok(Attempt::Again("a read without a checksum gave a damaged log".into()));
                }
            }
            if let Some(p) = partial {
                p.commit().map_err(|e| Fault::Other(format!("export: {e:#}")))?;
            }
            Ok(Attempt::Done(hashed))
        })
        .await
    }
}

/// Feeds a body to the hasher and the export file on a blocking thread and
/// reads it to its end whatever the hasher thinks of it (the transport
/// checks run at the end); with `raw`, also the SHA-256 of the body.
/// `Ok(Err(why))`: the transfer failed (or the export file could not be
/// written).
async fn stream(
    mut body: Paced,
    length: Option<i64>,
    listed: Option<i64>,
    budget: Option<LogBudget>,
    partial: Option<Partial>,
    raw: bool,
    counters: &Counters,
) -> StreamResult {
    let (tx, rx) = mpsc::channel::<bytes::Bytes>(CHUNKS_AHEAD);
    let exporting = partial.is_some();
    let worker = tokio::task::spawn_blocking(move || consume(rx, budget, partial));
    let mut tx = Some(tx);
    let mut sha = raw.then(Sha256::new);
    let cut = loop {
        match body.next().await {
            Ok(Some(chunk)) => {
                counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                // Without a Content-Length (which the transport enforces),
                // a body longer than the listing said is not the object.
                if let (None, Some(max)) = (length, listed) {
                    if body.received() > u64::try_from(max).unwrap_or(0) {
                        break Some(format!("body longer than the {max} bytes listed"));
                    }
                }
                if let Some(h) = sha.as_mut() {
                    h.update(&chunk);
                }
                if let Some(t) = &tx {
                    if t.send(chunk).await.is_err() {
                        tx = None; // the hasher is done (a gzip error): drain the rest
                    }
                }
            }
            Ok(None) => break size_problem(length, listed, body.received()),
            Err(why) => break Some(why),
        }
    };
    drop(tx);
    let (hashed, partial) = worker
        .await
        .map_err(|e| Fault::Other(format!("hashing thread failed: {e}")))?;
    Ok(match cut {
        Some(why) => Err(why),
        None if exporting && partial.is_none() => Err("export: the file could not be written".into()),
        None => Ok((hashed, partial, sha.map(|h| h.finalize().into()))),
    })
}

/// A result of tampering: malformed, or (with the digest's `expected` hash)
/// a hash that differs. Judged against its own hash, a log is only ever
/// malformed or valid.
fn tampered(h: &HashedLog, expected: Option<&[u8; 32]>) -> bool {
    h.judge(expected.unwrap_or(&h.sha256)).is_violation()
}

/// What [`stream`] gives: the hash, the export file, the body's SHA-256.
type StreamResult = Result<Result<(Option<HashedLog>, Option<Partial>, Option<[u8; 32]>), String>, Fault>;

/// Reads a body of `expected` bytes whole (at most [`SMALL_BODY`]).
async fn read_all(mut body: Paced, expected: i64, counters: &Counters) -> Result<Vec<u8>, String> {
    let limit = usize::try_from(expected).unwrap_or(0);
    let mut bytes = Vec::with_capacity(limit);
    loop {
        match body.next().await? {
            Some(chunk) => {
                counters.bytes.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                if bytes.len() + chunk.len() > limit {
                    return Err(format!("body longer than its Content-Length {expected}"));
                }
                bytes.extend_from_slice(&chunk);
            }
            None => return size_problem(Some(expected), None, bytes.len() as u64).map_or(Ok(bytes), Err),
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

/// How a body that ended after `received` bytes disagrees with its
/// `Content-Length` (else, without one, with the size the listing gave).
fn size_problem(length: Option<i64>, listed: Option<i64>, received: u64) -> Option<String> {
    let received = i64::try_from(received).unwrap_or(i64::MAX);
    match (length, listed) {
        (Some(n), _) if n != received => Some(format!("body cut short: {received} of {n} bytes")),
        (None, Some(n)) if n != received => Some(format!("body of {received} bytes, {n} listed")),
        _ => None,
    }
}

/// S3 sent a whole-object checksum that the SDK checks once the body has
/// been read to its end. The SDK looks at the first checksum header present
/// in its priority order (CRC64NVME, CRC32C, CRC32, SHA-1, SHA-256) and
/// checks nothing when that one is a multipart object's part-level checksum
/// (`…-N`) or not base64: the same choice is made here, so that "vouched"
/// never means more than what was checked.
fn checksummed(out: &GetObjectOutput) -> bool {
    let first = [
        out.checksum_crc64_nvme(),
        out.checksum_crc32_c(),
        out.checksum_crc32(),
        out.checksum_sha1(),
        out.checksum_sha256(),
    ]
    .into_iter()
    .flatten()
    .next();
    first.is_some_and(|c| {
        use base64::Engine;
        !is_part_level(c)
            && base64::engine::general_purpose::STANDARD
                .decode(c)
                .is_ok_and(|d| !d.is_empty())
    })
}

/// `BASE64-N`: a checksum of checksums of N parts.
fn is_part_level(checksum: &str) -> bool {
    checksum
        .rsplit_once('-')
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// What makes a listing page unacceptable, if anything, and whether it
/// contradicts an earlier page (`true`: entries not after the previous
/// page, a continuation token seen before) rather than being cut or
/// inconsistent in itself (`KeyCount`, entries outside the prefix or out
/// of order, truncated without a token).
fn page_problem(
    page: &ListObjectsV2Output,
    prefix: &str,
    floor: Option<&str>,
    tokens: &HashSet<String>,
) -> Option<(String, bool)> {
    let keys: Vec<&str> = page.contents().iter().map(|o| o.key().unwrap_or_default()).collect();
    let prefixes: Vec<&str> = page
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap_or_default())
        .collect();
    let Some(truncated) = page.is_truncated() else {
        return Some(("the page has no IsTruncated (an incomplete answer)".into(), false));
    };
    if let Some(count) = page.key_count() {
        if usize::try_from(count).ok() != Some(keys.len() + prefixes.len()) {
            return Some((
                format!(
                    "KeyCount {count} but {} keys and {} prefixes",
                    keys.len(),
                    prefixes.len()
                ),
                false,
            ));
        }
    }
    for list in [&keys, &prefixes] {
        if list.windows(2).any(|w| w[0] >= w[1]) {
            return Some(("entries out of key order".into(), false));
        }
        for entry in list.iter() {
            if entry.is_empty() || !entry.starts_with(prefix) {
                return Some((format!("entry {entry:?} outside the prefix {prefix:?}"), false));
            }
            if floor.is_some_and(|f| *entry <= f) {
                return Some((format!("entry {entry:?} not after the previous page's {floor:?}"), true));
            }
        }
    }
    if truncated {
        match page.next_continuation_token() {
            None | Some("") => return Some(("IsTruncated without a NextContinuationToken".into(), false)),
            Some(t) if tokens.contains(t) => {
                return Some((
                    "a continuation token seen before (pagination that never ends)".into(),
                    true,
                ))
            }
            Some(_) => {}
        }
    }
    None
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
    /// `NoSuchKey`: the object does not exist.
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
    /// Classifies an SDK error: only S3's `NoSuchKey` is "not found"; a
    /// 404 with another code (`NoSuchBucket`) or none (a proxy's page) is
    /// not.
    fn of(e: SdkError<GetObjectError>) -> Fault {
        if matches!(e.as_service_error(), Some(GetObjectError::NoSuchKey(_))) {
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
