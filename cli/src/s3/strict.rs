//! A strict-mode run over S3, driven by the same core driver as a local
//! copy ([`ctverify_core::verify::Driver`]): the core's listing plan runs as
//! concurrent `ListObjectsV2` calls, digests and logs are fetched with at
//! most `--jobs` requests in flight, and each result goes back to the
//! driver as it completes. No verification rule lives here.

use super::client::{Aws, Connection};
use super::export::Exporter;
use super::store::{Fault, S3Store};
use super::trail;
use crate::config::{Config, S3Settings};
use crate::progress::ProgressSink;
use crate::run::{Outcome, Reads};
use anyhow::{bail, Context, Result};
use ctverify_core::compat::ArnParts;
use ctverify_core::digest::DIGEST_READ_CAP;
use ctverify_core::keys::{Keyring, ListedKey};
use ctverify_core::layout::DigestKeyName;
use ctverify_core::time::HOUR;
use ctverify_core::verify::{Driver, Listing, LogResult, Metadata, Options, ParsedDigest, LOAD_MARGIN};
use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::Ordering;
use std::time::Instant;
use tokio::task::JoinSet;

/// The bucket a run reads and the options completed from the trail.
pub struct Target {
    /// The clients.
    pub aws: Aws,
    /// The bucket, in its region.
    pub store: S3Store,
    /// Core options with bucket and prefix set.
    pub options: Options,
}

/// Connects, looks the trail up (unless `--s3-bucket`), finds the bucket's
/// region.
pub async fn target(config: &Config, s3: &S3Settings) -> Result<Target> {
    let home = s3.trail_arn.as_deref().map(|a| ArnParts::of(a).home_region.to_string());
    let aws = Aws::connect(&Connection {
        profile: s3.profile.clone(),
        endpoint_url: s3.endpoint_url.clone(),
        region: home,
        limits: s3.limits,
    })
    .await;
    let mut options = config.options.clone();
    if options.bucket.is_none() {
        let Some(arn) = s3.trail_arn.as_deref() else {
            bail!("S3 mode needs --trail-arn (or --s3-bucket)");
        };
        let info = trail::describe_trail(&aws, arn).await?;
        if options.prefix.is_some() && options.prefix != info.prefix {
            eprintln!("ctverify: warning: --s3-prefix is ignored without --s3-bucket (the trail's prefix is used, as aws-cli does)");
        }
        if config.options.verbose {
            eprintln!(
                "ctverify: trail {arn}: s3://{}/{}{}{}",
                info.bucket,
                info.prefix.as_deref().map(|p| format!("{p}/")).unwrap_or_default(),
                if info.multi_region { ", multi-region" } else { "" },
                if info.organization { ", organization trail" } else { "" }
            );
        }
        options.bucket = Some(info.bucket);
        options.prefix = info.prefix;
    }
    let bucket = options.bucket.clone().unwrap_or_default();
    let region = aws.bucket_region(&bucket).await?;
    let store = S3Store::new(aws.s3(Some(&region)), &bucket, s3.jobs, s3.limits);
    Ok(Target { aws, store, options })
}

/// Runs strict validation of `config` over S3; with `export`, every object
/// read is also written into the export folder.
pub async fn run(config: &Config, s3: &S3Settings, export: Option<&Exporter>) -> Result<Outcome> {
    let Target {
        aws,
        store,
        mut options,
    } = target(config, s3).await?;
    if let Some(arn) = &s3.trail_arn {
        // Before the listing: every digest delivered by then is listed.
        options.latest_digest_delivery = trail::latest_digest_delivery(&aws, arn).await;
    }
    let keys = list(&store, &options).await?;
    let keyring = match &config.keyring {
        Some(k) => k.clone(),
        None => {
            let listed = fetch_keys(&aws, &keys, &options).await?;
            if let Some(x) = export {
                x.write_file("public-keys.json", trail::keys_json(&listed).as_bytes())?;
            }
            let mut ring = Keyring::new();
            for k in listed {
                if let Err(e) = ring.add_listed(k) {
                    eprintln!("ctverify: warning: public key skipped: {e}");
                }
            }
            ring
        }
    };
    if keyring.is_empty() {
        eprintln!("ctverify: warning: no usable public key: no digest can be verified (digest_key_unknown)");
    }
    let mut driver = Driver::new(options.clone(), keyring)?;
    let to_load = driver.plan(keys.iter().cloned());
    let mut sink = ProgressSink::new(to_load.len() as u64);
    let jobs = s3.jobs.max(1);

    // Digests: fetched concurrently, parsed on the blocking pool.
    let loaded: BTreeSet<String> = to_load.iter().cloned().collect();
    pump(
        to_load,
        jobs,
        |key| {
            let (store, export) = (store.clone(), export.cloned());
            async move { load_digest(&store, key, export.as_ref()).await }
        },
        |parsed| Ok(driver.add_digest(parsed?, &mut sink)?),
    )
    .await?;

    let log_jobs = driver.analyze(&mut sink)?;
    let started = Instant::now();
    let budget = options.log_budget;
    let mut exported_logs = BTreeSet::new();
    let work: Vec<_> = log_jobs
        .iter()
        .map(|j| {
            if export.is_some() {
                exported_logs.insert(j.object.key.clone());
            }
            (j.id, j.object.key.clone(), (j.vouched, j.expected))
        })
        .collect();
    pump(
        work,
        jobs,
        |(id, key, vouched)| {
            let (store, export) = (store.clone(), export.cloned());
            async move { (id, hash_log(&store, &key, vouched, budget, export.as_ref()).await) }
        },
        |(id, result)| {
            driver.log_result(id, result, &mut sink);
            Ok(())
        },
    )
    .await?;
    let hashing = started.elapsed();
    if let Some(x) = export {
        // Everything else the listings found (unreferenced logs, other
        // trails' digests in the same folders): the local copy must hold
        // what the bucket held for `validate --local` to say the same.
        let rest: Vec<String> = keys
            .into_iter()
            .filter(|k| !loaded.contains(k) && !exported_logs.contains(k))
            .collect();
        copy_objects(&store, rest, jobs, x).await?;
        x.finish();
    }
    sink.finish();
    let (report, progress) = driver.finish_with_progress(&mut sink)?;
    let c = &store.counters;
    let reads = Reads {
        lists: c.lists.load(Ordering::Relaxed),
        objects: c.gets.load(Ordering::Relaxed),
        bytes: c.bytes.load(Ordering::Relaxed),
    };
    if config.options.verbose {
        eprintln!(
            "ctverify: S3 requests: {} list pages, {} GETs, {:.1} MB received",
            reads.lists,
            reads.objects,
            reads.bytes as f64 / 1e6
        );
    }
    Ok(Outcome {
        report,
        hashing,
        progress,
        reads,
    })
}

/// Runs the core's listing plan: every request it has ready runs
/// concurrently; answers go back as they come.
pub async fn list(store: &S3Store, options: &Options) -> Result<Vec<String>> {
    let mut listing = Listing::new(options);
    let mut inflight = JoinSet::new();
    loop {
        while let Some(req) = listing.next_request() {
            let store = store.clone();
            inflight.spawn(async move {
                let resp = store.list(&req).await;
                (req, resp)
            });
        }
        match inflight.join_next().await {
            Some(joined) => {
                let (req, resp) = joined.context("listing task failed")?;
                listing.accept(&req, resp?);
            }
            None => break,
        }
    }
    crate::run::listed(listing)
}

/// The delivery regions of the listed digests, and their keys from
/// `ListPublicKeys` over the run's window (with margin: a backfill digest
/// may have been signed up to now), before any log work starts.
async fn fetch_keys(aws: &Aws, keys: &[String], options: &Options) -> Result<Vec<ListedKey>> {
    let regions: BTreeSet<String> = keys
        .iter()
        .filter_map(|k| DigestKeyName::parse(k))
        .map(|n| n.chain.region)
        .collect();
    let start = options
        .listing_window()
        .0
        .unwrap_or(options.now)
        .add_secs(-LOAD_MARGIN - HOUR);
    let end = options.end.unwrap_or(options.now).max(options.now).add_secs(2 * HOUR);
    let mut set = JoinSet::new();
    for r in regions {
        let aws = aws.clone();
        set.spawn(async move { trail::public_keys(&aws, &r, start, end).await });
    }
    let mut all = Vec::new();
    while let Some(res) = set.join_next().await {
        all.extend(res.context("ListPublicKeys task failed")??);
    }
    Ok(all)
}

async fn load_digest(store: &S3Store, key: String, export: Option<&Exporter>) -> Result<ParsedDigest> {
    let (bytes, metadata) = match fetch_or_reuse(store, &key, export).await {
        Ok((b, m)) => (Ok(b), m),
        Err(f) => (Err(f.read_failure(store.bucket(), &key)), Metadata::Absent),
    };
    tokio::task::spawn_blocking(move || ParsedDigest::parse(key, bytes, metadata))
        .await
        .context("digest parsing task failed")
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
