//! The browser front end's WASM module: a thin `wasm-bindgen` layer over
//! the core driver ([`ctverify_core::verify::Driver`]), the same one the CLI
//! and S3 mode run. No verification rule lives here.
//!
//! The page (`wasm/www/`) holds the dropped files. It hands the object keys
//! to [`Verifier::plan`] (the core's listing plan runs over them), reads the
//! digests it names and gives them to [`Verifier::add_digest`], asks
//! [`Verifier::analyze`] for the log jobs, streams each log through a
//! [`Hasher`] (in Web Workers: one WASM instance each, `File.slice` chunks),
//! returns the results with [`Verifier::log_hashed`] / [`Verifier::log_failed`],
//! and takes the report from [`Verifier::finish`] — the JSON that
//! `ctverify validate --local DIR --format json` prints for the same files
//! and options. Errors are JS exceptions with the core's message.
#![forbid(unsafe_code)]

use ctverify_core::keys::Keyring;
use ctverify_core::logs::{HashedLog, LogBudget, LogHasher};
use ctverify_core::report::{Finding, Sink};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{CheckedOptions, Driver, LogJob, LogResult, Metadata, Options, ParsedDigest, ReadFailure};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

/// Options of a run, as the page collects them (JSON): the names and
/// meanings of the `validate` flags.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RunOptions {
    /// Current time (RFC 3339): the core reads no clock.
    now: String,
    trail_arn: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    s3_bucket: Option<String>,
    s3_prefix: Option<String>,
    regions: Vec<String>,
    accounts: Vec<String>,
    allow_gaps: bool,
    verbose: bool,
}

fn err(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

fn empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Resolves the options exactly as the CLI does for a local copy.
fn options(json: &str) -> Result<CheckedOptions, JsError> {
    let o: RunOptions = serde_json::from_str(json).map_err(|e| err(format!("options: {e}")))?;
    let now = Timestamp::parse_user(&o.now).map_err(|e| err(format!("now: {e}")))?;
    let mut opts = Options::new(now);
    opts.start = empty(&o.start_time)
        .map(Timestamp::parse_user)
        .transpose()
        .map_err(|e| err(format!("start time: {e}")))?;
    opts.end = empty(&o.end_time)
        .map(Timestamp::parse_user)
        .transpose()
        .map_err(|e| err(format!("end time: {e}")))?;
    if let Some(arn) = empty(&o.trail_arn) {
        opts = opts.with_trail_arn(arn).map_err(err)?;
    }
    opts.bucket = empty(&o.s3_bucket).map(str::to_string);
    opts.prefix = empty(&o.s3_prefix).map(str::to_string);
    opts.regions = o.regions;
    opts.accounts = o.accounts;
    opts.allow_gaps = o.allow_gaps;
    opts.verbose = o.verbose;
    // Dropped files are a copy as `aws s3 sync` (or `ctverify export`) writes it.
    opts.local_copy = true;
    opts.checked().map_err(err)
}

/// Progress counters, read by the page between calls.
#[derive(Default)]
struct Counts {
    digests_loaded: u32,
    logs_planned: u32,
    logs_done: u32,
    bytes: f64,
}

impl Sink for Counts {
    fn finding(&mut self, _finding: &Finding) {}
    fn digest_loaded(&mut self) {
        self.digests_loaded += 1;
    }
    fn logs_planned(&mut self, vouched: u64) {
        self.logs_planned = u32::try_from(vouched).unwrap_or(u32::MAX);
    }
    fn log_done(&mut self, bytes: u64) {
        self.logs_done += 1;
        self.bytes += bytes as f64;
    }
}

/// One verification run.
#[wasm_bindgen]
pub struct Verifier {
    options: CheckedOptions,
    keyring: Keyring,
    driver: Option<Driver>,
    jobs: Vec<LogJob>,
    counts: Counts,
}

#[wasm_bindgen]
impl Verifier {
    /// A run with `options_json` (`{"now": "...", "trail_arn": ...,
    /// "start_time": ..., "end_time": ..., "s3_bucket": ..., "s3_prefix":
    /// ..., "regions": [...], "accounts": [...], "allow_gaps": false,
    /// "verbose": false}`; empty strings are absent).
    #[wasm_bindgen(constructor)]
    pub fn new(options_json: &str) -> Result<Verifier, JsError> {
        Ok(Verifier {
            options: options(options_json)?,
            keyring: Keyring::new(),
            driver: None,
            jobs: Vec::new(),
            counts: Counts::default(),
        })
    }

    /// Adds a public-keys file (`list-public-keys` JSON, PEM or DER);
    /// returns the number of keys added. Call before [`plan`](Self::plan).
    pub fn add_keys(&mut self, name: &str, bytes: &[u8]) -> Result<u32, JsError> {
        let n = self.keyring.add_file(name, bytes).map_err(err)?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Warnings about skipped keys (one string each).
    pub fn key_warnings(&self) -> Vec<String> {
        self.keyring.rejected().iter().map(ToString::to_string).collect()
    }

    /// Runs the core's listing plan over every object key of the copy
    /// (`/`-separated paths relative to the copy's root; metadata sidecars
    /// are left out here) and returns the digest keys to load, in order.
    pub fn plan(&mut self, keys: Vec<String>) -> Result<Vec<String>, JsError> {
        let mut objects: Vec<String> = keys.into_iter().filter(|k| !k.ends_with(".metadata.json")).collect();
        objects.sort();
        objects.dedup();
        let mut driver = Driver::new(self.options.clone());
        while let Some(req) = driver.next_listing().map_err(err)? {
            let resp = req.answer_sorted(&objects);
            driver.listed(&req, resp).map_err(err)?;
        }
        let to_load = driver.plan().map_err(err)?;
        self.driver = Some(driver);
        Ok(to_load)
    }

    /// A digest's bytes (`undefined`: not found) and its metadata sidecar
    /// (`KEY.metadata.json`, `undefined` when absent); `error`: it could
    /// not be read.
    pub fn add_digest(
        &mut self,
        key: String,
        bytes: Option<Vec<u8>>,
        metadata: Option<Vec<u8>>,
        error: Option<String>,
    ) -> Result<(), JsError> {
        let driver = self.driver.as_mut().ok_or_else(|| err("plan() first"))?;
        let object = match (error, bytes) {
            (Some(e), _) => Err(ReadFailure::Other(e)),
            (None, Some(b)) => Ok(b),
            (None, None) => Err(ReadFailure::NotFound),
        };
        let metadata = metadata.map_or(Metadata::Absent, |m| Metadata::from_sidecar(&m));
        driver
            .add_digest(ParsedDigest::parse(key, object, metadata), &mut self.counts)
            .map_err(err)
    }

    /// Verifies the digests and returns the log jobs as JSON:
    /// `[{"id": 0, "key": "...", "vouched": true}, ...]` (ids are indices;
    /// unvouched logs need not be read: report them with
    /// [`log_skipped`](Self::log_skipped)).
    pub fn analyze(&mut self) -> Result<String, JsError> {
        let driver = self.driver.as_mut().ok_or_else(|| err("plan() first"))?;
        self.jobs = driver.analyze(&self.keyring, &mut self.counts).map_err(err)?;
        let list: Vec<serde_json::Value> = self
            .jobs
            .iter()
            .enumerate()
            .map(|(i, j)| serde_json::json!({"id": i, "key": j.object.key, "vouched": j.vouched}))
            .collect();
        serde_json::to_string(&list).map_err(err)
    }

    /// The log budget hashers must use (JSON for [`Hasher::new`]).
    pub fn log_budget(&self) -> String {
        serde_json::to_string(&self.options.log_budget).unwrap_or_default()
    }

    fn result(&mut self, id: u32, result: LogResult) -> Result<(), JsError> {
        let job = self.jobs.get(id as usize).ok_or_else(|| err("no such log job"))?;
        let driver = self.driver.as_mut().ok_or_else(|| err("plan() first"))?;
        driver.log_result(job.id, result, &mut self.counts).map_err(err)
    }

    /// Job `id` was hashed: `hashed_json` from [`Hasher::finish`].
    pub fn log_hashed(&mut self, id: u32, hashed_json: &str) -> Result<(), JsError> {
        let hashed: HashedLog = serde_json::from_str(hashed_json).map_err(err)?;
        self.result(id, LogResult::Hashed(hashed))
    }

    /// Job `id` could not be read: `kind` is `"not_found"` (no such file),
    /// `"unsafe"` (its key has no safe path: [`object_path`]) or `"error"`
    /// (`message` says why).
    pub fn log_failed(&mut self, id: u32, kind: &str, message: String) -> Result<(), JsError> {
        let f = match kind {
            "not_found" => ReadFailure::NotFound,
            "unsafe" => ReadFailure::Unsafe,
            _ => ReadFailure::Other(message),
        };
        self.result(id, LogResult::Failed(f))
    }

    /// Job `id` was not read (not vouched for).
    pub fn log_skipped(&mut self, id: u32) -> Result<(), JsError> {
        self.result(id, LogResult::Skipped)
    }

    /// Progress: `[digests loaded, logs planned, logs done, bytes hashed]`.
    pub fn progress(&self) -> Vec<f64> {
        let c = &self.counts;
        vec![
            f64::from(c.digests_loaded),
            f64::from(c.logs_planned),
            f64::from(c.logs_done),
            c.bytes,
        ]
    }

    /// Ends the run: the report, exactly as `--format json` prints it.
    pub fn finish(&mut self) -> Result<String, JsError> {
        let driver = self.driver.take().ok_or_else(|| err("plan() first"))?;
        let (report, _) = driver.finish(&mut self.counts).map_err(err)?;
        let mut json = report.to_json();
        json.push('\n');
        Ok(json)
    }
}

/// The path, relative to the copy's root, where object `key` is (as `aws
/// s3 sync` writes it: empty segments dropped); `undefined` when the key
/// must never be read (`..`, `.`, NUL or backslash segments) — report such
/// a log with `log_failed(id, "unsafe", ...)`. Its metadata sidecar is
/// `PATH.metadata.json`.
#[wasm_bindgen]
pub fn object_path(key: &str) -> Option<String> {
    ctverify_core::layout::safe_segments(key).map(|segs| segs.join("/"))
}

/// The core's version (shown on the page).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// Streams one log through gunzip + SHA-256 (one per Web Worker).
#[wasm_bindgen]
pub struct Hasher {
    inner: Option<LogHasher>,
}

#[wasm_bindgen]
impl Hasher {
    /// A hasher with the run's budget (JSON from [`Verifier::log_budget`]).
    #[wasm_bindgen(constructor)]
    pub fn new(budget_json: &str) -> Result<Hasher, JsError> {
        let budget: LogBudget = serde_json::from_str(budget_json).map_err(err)?;
        Ok(Hasher {
            inner: Some(LogHasher::with_budget(budget)),
        })
    }

    /// A hasher that only inflates (and checks framing and budget): the
    /// page hashes the inflated bytes with WebCrypto (whole buffers, several
    /// times faster than SHA-256 in WASM) and ends with
    /// [`finish_with`](Self::finish_with).
    pub fn inflate_only(budget_json: &str) -> Result<Hasher, JsError> {
        let budget: LogBudget = serde_json::from_str(budget_json).map_err(err)?;
        Ok(Hasher {
            inner: Some(LogHasher::inflate_only(budget)),
        })
    }

    /// Feeds a chunk of an [`inflate_only`](Self::inflate_only) hasher and
    /// returns the bytes it inflated to.
    pub fn update_inflated(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(h) = self.inner.as_mut() {
            h.update_inflated(chunk, &mut |piece| out.extend_from_slice(piece));
        }
        out
    }

    /// Ends an [`inflate_only`](Self::inflate_only) hasher with the SHA-256
    /// (hex) of every byte it inflated; JSON for [`Verifier::log_hashed`].
    pub fn finish_with(&mut self, sha256_hex: &str) -> Result<String, JsError> {
        let h = self.inner.take().ok_or_else(|| err("finished already"))?;
        let mut sha = [0u8; 32];
        if sha256_hex.len() != 64 || !sha256_hex.is_ascii() {
            return Err(err("SHA-256 must be 64 hex digits"));
        }
        for (i, b) in sha.iter_mut().enumerate() {
            *b = u8::from_str_radix(&sha256_hex[2 * i..2 * i + 2], 16).map_err(err)?;
        }
        serde_json::to_string(&h.finish_with(sha)).map_err(err)
    }

    /// The next chunk of the compressed file.
    pub fn update(&mut self, chunk: &[u8]) {
        if let Some(h) = self.inner.as_mut() {
            h.update(chunk);
        }
    }

    /// True once the rest of the file need not be read (a gzip error).
    pub fn failed(&self) -> bool {
        self.inner.as_ref().is_none_or(LogHasher::failed)
    }

    /// The result, as JSON for [`Verifier::log_hashed`].
    pub fn finish(&mut self) -> Result<String, JsError> {
        let h = self.inner.take().ok_or_else(|| err("finished already"))?;
        serde_json::to_string(&h.finish()).map_err(err)
    }
}
