//! The local source: a copy of the bucket on disk (`aws s3 sync` layout).
//!
//! Object `s3://B/K` is `DIR/K`; its S3 user metadata is the sidecar
//! `DIR/K.metadata.json`. A key is read only if every segment is a plain
//! name and the resolved path (after symlinks) is still inside `DIR`.
//! Only regular files are objects: a folder at a key means no object there
//! (as in S3), and a FIFO, socket or device is never opened (a read error).

use crate::run::{DigestRead, Reads, Source};
use anyhow::{Context, Result};
use ctverify_core::digest::DIGEST_READ_CAP;
use ctverify_core::layout::safe_segments;
use ctverify_core::logs::{HashedLog, LogBudget, LogHasher};
use ctverify_core::verify::{JobId, ListRequest, ListResponse, LogJob, LogResult, Metadata, ReadFailure};
use std::collections::HashMap;
use std::fs::File;
use std::future::Future;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Suffix of metadata sidecars.
pub const SIDECAR: &str = ".metadata.json";

/// A local copy of one bucket.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// Resolved directories (after symlinks), checked to be inside `root`:
    /// logs share a few date folders, so each is resolved once.
    dirs: Arc<Mutex<HashMap<PathBuf, Result<PathBuf, ReadFailure>>>>,
    /// What the strict run read (files and bytes).
    counter: Arc<Counter>,
    /// The folder as the user named it (for messages).
    shown: PathBuf,
}

/// Counts what the local store reads.
#[derive(Debug, Default)]
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

impl LocalStore {
    /// Opens `dir` (it must exist and be a directory).
    pub fn open(dir: &Path) -> Result<Self> {
        let root = dir
            .canonicalize()
            .with_context(|| format!("--local {}", dir.display()))?;
        if !root.is_dir() {
            anyhow::bail!("--local {}: not a directory", dir.display());
        }
        Ok(LocalStore {
            root,
            dirs: Arc::default(),
            counter: Arc::default(),
            shown: dir.to_path_buf(),
        })
    }

    /// Every object key under the root (regular files only; symlinks,
    /// special files and sidecars are not objects). Sorted. Only folders are
    /// opened (never followed through symlinks); entry types come from the
    /// folder listing, so a FIFO or device is never opened.
    pub fn list(&self) -> Result<Vec<String>> {
        let all = ListRequest {
            prefix: String::new(),
            delimiter: false,
            start_after: None,
            max_entries: None,
        };
        Ok(self.list_request(&all)?.keys)
    }

    /// One listing of the core's plan, with S3 `ListObjectsV2` semantics
    /// over the copy: keys under `req.prefix` (after `start_after`), folded
    /// into folder prefixes at the next `/` with a delimiter. A prefix that
    /// is not a folder of the copy lists nothing, as in S3. Only folders
    /// inside the root are opened, never followed through symlinks.
    pub fn list_request(&self, req: &ListRequest) -> Result<ListResponse> {
        let mut resp = ListResponse::default();
        let dir = if req.prefix.is_empty() {
            self.root.clone()
        } else {
            let Some(segments) = safe_segments(&req.prefix) else {
                return Ok(resp);
            };
            // Each folder on the way must be a real folder (a symlink is
            // not followed: it could lead outside the copy).
            let mut dir = self.root.clone();
            for seg in segments {
                dir.push(seg);
                if !std::fs::symlink_metadata(&dir).is_ok_and(|m| m.is_dir()) {
                    return Ok(resp);
                }
            }
            dir
        };
        let mut stack = vec![(dir, req.prefix.clone())];
        while let Some((dir, prefix)) = stack.pop() {
            let entries = std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
            for entry in entries {
                let entry = entry.with_context(|| format!("listing {}", dir.display()))?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                let kind = entry.file_type()?;
                let key = format!("{prefix}{name}");
                if kind.is_dir() {
                    if req.delimiter {
                        resp.prefixes.push(format!("{key}/"));
                    } else {
                        stack.push((entry.path(), format!("{key}/")));
                    }
                } else if kind.is_file()
                    && !name.ends_with(SIDECAR)
                    && req.start_after.as_deref().is_none_or(|a| key.as_str() > a)
                {
                    resp.keys.push(key);
                }
            }
        }
        resp.keys.sort();
        resp.prefixes.sort();
        Ok(resp)
    }

    /// The path of `key`, if it is safe to read: its directory resolves
    /// (after symlinks) inside the root, and so does the file if it is a
    /// symlink itself. With the path, its metadata (symlinks followed); it
    /// is never opened here.
    fn path(&self, key: &str) -> Result<(PathBuf, std::fs::Metadata), ReadFailure> {
        let segments = safe_segments(key).ok_or(ReadFailure::Unsafe)?;
        let (file, folders) = segments.split_last().ok_or(ReadFailure::Unsafe)?;
        let mut dir = self.root.clone();
        dir.extend(folders);
        let path = self.real_dir(dir)?.join(file);
        let meta = std::fs::symlink_metadata(&path).map_err(io_failure)?;
        if !meta.file_type().is_symlink() {
            return Ok((path, meta));
        }
        let real = self.inside(&path)?;
        let meta = std::fs::metadata(&real).map_err(io_failure)?;
        Ok((real, meta))
    }

    fn real_dir(&self, dir: PathBuf) -> Result<PathBuf, ReadFailure> {
        let mut cache = self.dirs.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(known) = cache.get(&dir) {
            return known.clone();
        }
        let resolved = self.inside(&dir);
        cache.insert(dir, resolved.clone());
        resolved
    }

    /// `path` after symlinks, if that is inside the root.
    fn inside(&self, path: &Path) -> Result<PathBuf, ReadFailure> {
        match path.canonicalize() {
            Ok(real) if real.starts_with(&self.root) => Ok(real),
            Ok(_) => Err(ReadFailure::Unsafe),
            Err(e) => Err(io_failure(e)),
        }
    }

    /// Opens `key` for streaming. Only a regular file is an object; the
    /// type is checked before opening (opening a FIFO blocks until a writer
    /// comes; a device may do anything) and again on the open file (the path
    /// may have been swapped in between).
    pub fn open_object(&self, key: &str) -> Result<File, ReadFailure> {
        let (path, meta) = self.path(key)?;
        regular(&meta)?;
        let file = open_regular(&path).map_err(io_failure)?;
        regular(&file.metadata().map_err(io_failure)?)?;
        Ok(file)
    }

    /// Reads `key` whole, refusing more than `limit` bytes (digests only;
    /// logs are streamed).
    pub fn read_object(&self, key: &str, limit: u64) -> Result<Vec<u8>, ReadFailure> {
        let file = self.open_object(key)?;
        let mut buf = Vec::new();
        file.take(limit + 1).read_to_end(&mut buf).map_err(io_failure)?;
        if buf.len() as u64 > limit {
            // Too large to be a digest: the parser reports it as malformed.
            buf.truncate(limit as usize + 1);
        }
        Ok(buf)
    }

    /// Streams `key` through gunzip + SHA-256 in 256 KiB reads (never whole
    /// in memory); stops reading at the first gzip error.
    pub fn hash_log(&self, key: &str, budget: LogBudget) -> Result<HashedLog, ReadFailure> {
        thread_local! {
            // One read buffer per worker thread, not one per log: logs are
            // often small and many.
            static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 256 * 1024]);
        }
        let mut file = self.open_object(key)?;
        BUF.with_borrow_mut(|buf| Self::hash_stream(&mut file, buf, budget))
    }

    /// Streams an open file through gunzip + SHA-256 in `buf`-sized reads,
    /// stopping at the first gzip error (also used for exported files).
    pub fn hash_stream(file: &mut File, buf: &mut [u8], budget: LogBudget) -> Result<HashedLog, ReadFailure> {
        let mut hasher = LogHasher::with_budget(budget);
        loop {
            let n = match file.read(buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(ReadFailure::Other(e.to_string())),
            };
            hasher.update(&buf[..n]);
            if hasher.failed() {
                break;
            }
        }
        Ok(hasher.finish())
    }

    /// The S3 user metadata of `key`, from its sidecar.
    pub fn metadata(&self, key: &str) -> Metadata {
        match self.read_object(&format!("{key}{SIDECAR}"), 1024 * 1024) {
            Ok(bytes) => Metadata::from_sidecar(&bytes),
            Err(ReadFailure::NotFound) => Metadata::Absent,
            Err(ReadFailure::Unsafe) => Metadata::Unreadable("sidecar resolves outside the local copy".into()),
            Err(ReadFailure::Other(e)) => Metadata::Unreadable(e),
        }
    }
}

/// How S3 would see a file of this type: a regular file is an object, a
/// folder means there is no object at that key, anything else (FIFO,
/// socket, device) cannot be read.
fn regular(meta: &std::fs::Metadata) -> Result<(), ReadFailure> {
    let kind = meta.file_type();
    if kind.is_file() {
        Ok(())
    } else if kind.is_dir() {
        Err(ReadFailure::NotFound)
    } else {
        Err(ReadFailure::Other(format!("not a regular file ({})", special(kind))))
    }
}

#[cfg(unix)]
fn special(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "fifo"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_char_device() || kind.is_block_device() {
        "device"
    } else {
        "special file"
    }
}

#[cfg(not(unix))]
fn special(_: std::fs::FileType) -> &'static str {
    "special file"
}

/// Opens a path checked to be a regular file, non-blocking (should it have
/// become a FIFO meanwhile, `open` returns at once) and without following a
/// symlink: `path` is already resolved, so a symlink there is a swap.
#[cfg(unix)]
fn open_regular(path: &Path) -> std::io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
}

#[cfg(not(unix))]
fn open_regular(path: &Path) -> std::io::Result<File> {
    File::open(path)
}

fn io_failure(e: std::io::Error) -> ReadFailure {
    match e.kind() {
        ErrorKind::NotFound => ReadFailure::NotFound,
        _ => ReadFailure::Other(e.to_string()),
    }
}

/// A strict run over the local copy `dir`, with the given keys.
pub fn run(
    config: &crate::config::Config,
    dir: &Path,
    keyring: &ctverify_core::keys::Keyring,
) -> Result<crate::run::Outcome> {
    let store = LocalStore::open(dir)?;
    let keyring = keyring.clone();
    crate::run::runtime()?.block_on(crate::run::strict(config.options.clone(), &store, |_| async move {
        Ok(keyring)
    }))
}

/// The local copy as the strict run's source: every read on the blocking
/// pool, logs in batches (one hand-over per small log would cost more than
/// hashing it), as many at once as there are cores (twice, so that no core
/// waits for a hand-over).
impl Source for LocalStore {
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListResponse>> + Send + 'static {
        let store = self.clone();
        async move {
            tokio::task::spawn_blocking(move || store.list_request(&req))
                .await
                .context("listing task failed")?
        }
    }

    fn read_digest(&self, key: String) -> impl Future<Output = Result<DigestRead>> + Send + 'static {
        let store = self.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let object = store.read_object(&key, DIGEST_READ_CAP);
                if let Ok(bytes) = &object {
                    store.counter.add(bytes.len() as u64);
                }
                let metadata = store.metadata(&key);
                DigestRead { key, object, metadata }
            })
            .await
            .context("digest loading task failed")
        }
    }

    fn hash_logs(
        &self,
        jobs: Vec<LogJob>,
        budget: LogBudget,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static {
        let store = self.clone();
        async move {
            let ids: Vec<JobId> = jobs.iter().map(|j| j.id).collect();
            let hashed = tokio::task::spawn_blocking(move || {
                jobs.iter()
                    .map(|job| (job.id, store.hash_job(job, budget)))
                    .collect::<Vec<_>>()
            })
            .await;
            // A worker that died leaves its logs unread: never valid.
            hashed.unwrap_or_else(|e| {
                ids.into_iter()
                    .map(|id| {
                        (
                            id,
                            LogResult::Failed(ReadFailure::Other(format!("hashing task failed: {e}"))),
                        )
                    })
                    .collect()
            })
        }
    }

    fn concurrency(&self) -> usize {
        2 * std::thread::available_parallelism().map_or(1, usize::from)
    }

    fn listed_size(&self, key: &str) -> Option<u64> {
        self.path(key).ok().map(|(_, meta)| meta.len())
    }

    fn logs_per_batch(&self, total: usize) -> usize {
        (total / (self.concurrency() * 16)).clamp(1, 256)
    }

    fn reads(&self) -> Reads {
        Reads {
            lists: 0,
            objects: self.counter.objects.load(Ordering::Relaxed),
            bytes: self.counter.bytes.load(Ordering::Relaxed),
        }
    }

    fn describe_reads(&self, reads: &Reads) -> String {
        format!(
            "read {} files, {:.1} MB from {}",
            reads.objects,
            reads.bytes as f64 / 1e6,
            self.shown.display()
        )
    }
}

impl LocalStore {
    /// Hashes one vouched log (streamed); unvouched logs are not read.
    fn hash_job(&self, job: &LogJob, budget: LogBudget) -> LogResult {
        if !job.vouched {
            return LogResult::Skipped;
        }
        match self.hash_log(&job.object.key, budget) {
            Ok(h) => {
                self.counter.add(h.compressed);
                LogResult::Hashed(h)
            }
            Err(f) => LogResult::Failed(f),
        }
    }
}
