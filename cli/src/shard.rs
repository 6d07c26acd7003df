//! Sharded runs (SPEC §10): `plan` cuts a run into shards of digest-key-time
//! windows, `validate --shard-plan` runs one shard and writes its partial
//! report, `merge` joins the partials into the report of one run.
//!
//! How the merged report equals the single run's: a shard does the costly
//! part (its listings, its digests' GETs, every log its digests list hashed)
//! and records what it read — the listed keys, each digest's bytes and
//! metadata (or why it could not be read), each log's hash result and the
//! keyring. The merge then runs the core's one [`Driver`] over the union of
//! the records, exactly as one run over the plan's scope at the plan's `now`:
//! the same listing answers, the same digests, the same log results, so the
//! same rules decide every link, gap and checkpoint across window edges.
//! A shard's own judgement of its windows is not used (it cannot see across
//! its edges). The partials are evidence, so their location is a trust
//! anchor, like a state file.

use crate::args::{MergeArgs, PlanArgs, ValidateArgs};
use crate::config::{self, Config, Source as ConfigSource};
use crate::local::LocalStore;
use crate::run::{self, DigestRead, Outcome, Reads, Source};
use anyhow::{bail, Context, Result};
use base64::Engine;
use ctverify_core::keys::{Keyring, ListedKey};
use ctverify_core::layout::{candidate_log_folders, log_place, ChainId, DigestKeyName, LogPlace};
use ctverify_core::logs::{HashedLog, LogBudget};
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{
    ChainScope, CheckedOptions, Driver, JobId, ListRequest, ListResponse, LogJob, LogResult, Metadata, ReadFailure,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// The plan and partial format version.
const SCHEMA: u32 = 1;
/// The environment variables array engines give a child its index in, in
/// the order they are consulted.
const INDEX_VARIABLES: [&str; 3] = [
    "AWS_BATCH_JOB_ARRAY_INDEX",
    "JOB_COMPLETION_INDEX",
    "SLURM_ARRAY_TASK_ID",
];

/// A plan (SPEC §10).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Always 1.
    pub schema: u32,
    /// First 16 hex digits of the SHA-256 of the plan's canonical JSON
    /// without `plan_id`.
    pub plan_id: String,
    /// The instant every shard and the merge use.
    pub now: Timestamp,
    /// The scope (null: the default).
    pub scope: Scope,
    /// `--allow-gaps`.
    pub allow_gaps: bool,
    /// `--max-log-bytes`.
    pub max_log_bytes: u64,
    /// `--max-log-ratio`.
    pub max_log_ratio: u64,
    /// `--max-listed-logs`.
    pub max_listed_logs: usize,
    /// `--verbose` (valid objects listed in the report).
    pub verbose: bool,
    /// `"local"` (a copy made by `aws s3 sync`: keys compared as it stores
    /// them) or `"s3"`.
    pub source: String,
    /// The keys given with `--public-keys` ([`keys_id`]), which every shard
    /// must be given too; null: none given (S3's `ListPublicKeys`).
    pub public_keys: Option<String>,
    /// S3: the trail's last digest delivery, read before the plan's listing.
    pub latest_digest_delivery: Option<Timestamp>,
    /// The shards.
    pub shards: Vec<Shard>,
}

/// The scope of a plan.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// `--trail-arn`.
    pub trail_arn: Option<String>,
    /// The bucket (S3: the trail's, when not given).
    pub bucket: Option<String>,
    /// The prefix (S3: the trail's, when not given).
    pub prefix: Option<String>,
    /// `--account-id`.
    pub accounts: Option<Vec<String>>,
    /// `--region`.
    pub regions: Option<Vec<String>>,
    /// `--start-time`, resolved.
    pub start: Option<Timestamp>,
    /// `--end-time`, resolved.
    pub end: Option<Timestamp>,
}

/// One shard: its windows.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Shard {
    /// Its index (0-based).
    pub index: usize,
    /// Its windows.
    pub windows: Vec<Window>,
}

/// A half-open window `[start, end)` of one chain, on the time in a
/// digest's key (null: unbounded).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// The chain.
    pub chain: ChainId,
    /// Start (inclusive).
    pub start: Option<Timestamp>,
    /// End (exclusive).
    pub end: Option<Timestamp>,
}

/// What one shard read: the evidence the merge judges.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Partial {
    schema: u32,
    plan_id: String,
    index: usize,
    listed: BTreeSet<String>,
    digests: Vec<RecordedDigest>,
    logs: Vec<RecordedLog>,
    keys: Vec<RecordedKey>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedDigest {
    key: String,
    /// Base64 of the bytes read.
    bytes: Option<String>,
    failure: Option<Failure>,
    metadata: RecordedMetadata,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Failure {
    NotFound,
    Unsafe,
    Other(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RecordedMetadata {
    Absent,
    Present(BTreeMap<String, String>),
    Unreadable(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedLog {
    bucket: String,
    key: String,
    /// Hex of the hash the digest records.
    expected: String,
    result: RecordedResult,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum RecordedResult {
    Hashed(HashedLog),
    Failed(Failure),
    Skipped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordedKey {
    fingerprint: String,
    /// Base64 DER.
    der: String,
    valid_from: Option<Timestamp>,
    valid_to: Option<Timestamp>,
    region: Option<String>,
}

impl From<&ReadFailure> for Failure {
    fn from(f: &ReadFailure) -> Failure {
        match f {
            ReadFailure::NotFound => Failure::NotFound,
            ReadFailure::Unsafe => Failure::Unsafe,
            ReadFailure::Other(s) => Failure::Other(s.clone()),
        }
    }
}

impl From<Failure> for ReadFailure {
    fn from(f: Failure) -> ReadFailure {
        match f {
            Failure::NotFound => ReadFailure::NotFound,
            Failure::Unsafe => ReadFailure::Unsafe,
            Failure::Other(s) => ReadFailure::Other(s),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str, what: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .with_context(|| format!("{what} is not base64"))
}

impl Plan {
    /// The plan's id: the first 16 hex digits of the SHA-256 of its
    /// canonical JSON (sorted keys, no whitespace) without `plan_id`.
    fn id(&self) -> Result<String> {
        use sha2::Digest as _;
        let mut value = serde_json::to_value(self)?;
        if let Some(map) = value.as_object_mut() {
            map.remove("plan_id");
        }
        let canonical = serde_json::to_string(&value)?;
        Ok(hex::encode(sha2::Sha256::digest(canonical.as_bytes()))[..16].to_string())
    }

    /// Reads and checks a plan file.
    pub fn read(path: &Path) -> Result<Plan> {
        let bytes = config::read_bounded(path, 256 * 1024 * 1024)
            .with_context(|| format!("--shard-plan {}", path.display()))?;
        // Strict JSON first (no duplicate keys), then the plan's shape.
        let value = ctverify_core::strict_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("--shard-plan {}: not a plan: {e}", path.display()))?;
        let plan: Plan = serde_json::from_value(value)
            .map_err(|e| anyhow::anyhow!("--shard-plan {}: not a plan: {e}", path.display()))?;
        if plan.schema != SCHEMA {
            bail!(
                "--shard-plan {}: schema {} (this ctverify reads {SCHEMA})",
                path.display(),
                plan.schema
            );
        }
        if plan.id()? != plan.plan_id {
            bail!(
                "--shard-plan {}: plan_id {} does not match its content (altered?)",
                path.display(),
                plan.plan_id
            );
        }
        for (i, s) in plan.shards.iter().enumerate() {
            if s.index != i || (s.windows.is_empty() && plan.shards.len() > 1) {
                bail!("--shard-plan {}: shard {i} is out of order or empty", path.display());
            }
        }
        Ok(plan)
    }

    /// `args` with the plan's scope and options; a scope flag given that
    /// disagrees with the plan is a usage error.
    fn apply(&self, args: &ValidateArgs) -> Result<ValidateArgs> {
        let s = &self.scope;
        let mut out = args.clone();
        let differs =
            |flag: &str| anyhow::anyhow!("{flag} disagrees with the plan (the plan's scope is used: omit it)");
        if args.trail_arn.is_some() && args.trail_arn != s.trail_arn {
            return Err(differs("--trail-arn"));
        }
        if args.s3_bucket.is_some() && args.s3_bucket != s.bucket {
            return Err(differs("--s3-bucket"));
        }
        let trimmed = |p: &Option<String>| p.as_deref().map(|p| p.trim_end_matches('/').to_string());
        if args.s3_prefix.is_some() && trimmed(&args.s3_prefix) != trimmed(&s.prefix) {
            return Err(differs("--s3-prefix"));
        }
        let sorted = config::sorted_unique;
        if !args.account_id.is_empty() && Some(sorted(&args.account_id)) != s.accounts.as_deref().map(sorted) {
            return Err(differs("--account-id"));
        }
        if !args.region.is_empty() && Some(sorted(&args.region)) != s.regions.as_deref().map(sorted) {
            return Err(differs("--region"));
        }
        for (flag, given, planned) in [
            ("--start-time", &args.start_time, s.start),
            ("--end-time", &args.end_time, s.end),
        ] {
            if let Some(text) = given {
                if Some(config::parse_time(text, self.now)?) != planned {
                    return Err(differs(flag));
                }
            }
        }
        out.trail_arn = s.trail_arn.clone();
        out.s3_bucket = s.bucket.clone();
        out.s3_prefix = s.prefix.clone();
        out.account_id = s.accounts.clone().unwrap_or_default();
        out.region = s.regions.clone().unwrap_or_default();
        out.start_time = s.start.map(|t| t.to_string());
        out.end_time = s.end.map(|t| t.to_string());
        out.allow_gaps = self.allow_gaps;
        out.max_log_bytes = self.max_log_bytes;
        out.max_log_ratio = self.max_log_ratio;
        out.max_listed_logs = self.max_listed_logs;
        out.verbose = self.verbose;
        out.now = Some(self.now.to_string());
        Ok(out)
    }

    /// The core options of one run over the plan's whole scope (what the
    /// merge replays), from `base` (resolved from [`apply`](Self::apply)).
    fn options(&self, base: CheckedOptions) -> Result<CheckedOptions> {
        let delivered = self.latest_digest_delivery;
        Ok(base.amend(|o| o.latest_digest_delivery = delivered)?)
    }
}

/// The source a run reads (both kinds of the CLI).
enum AnySource {
    Local(LocalStore),
    S3(crate::s3::source::S3Source, Box<crate::s3::client::Aws>),
}

/// Opens the source of `config` and completes its options (S3: the trail's
/// bucket and prefix, its last digest delivery).
async fn open(config: &Config) -> Result<(AnySource, CheckedOptions)> {
    match &config.source {
        ConfigSource::Local(dir) => Ok((AnySource::Local(LocalStore::open(dir)?), config.options.clone())),
        ConfigSource::S3(s3) => {
            let (source, options, aws) = crate::s3::strict::prepare(config, s3).await?;
            Ok((AnySource::S3(source, Box::new(aws)), options))
        }
    }
}

/// `ctverify plan`.
pub fn plan_command(args: &PlanArgs, now: Timestamp) -> Result<()> {
    let config = config::resolve(&args.validate, now)?;
    let plan = run::runtime()?.block_on(async {
        let (source, options) = open(&config).await?;
        match &source {
            AnySource::Local(s) => make_plan(args, &config, options, s).await,
            AnySource::S3(s, _) => make_plan(args, &config, options, s).await,
        }
    })?;
    let mut json = serde_json::to_string_pretty(&plan)?;
    json.push('\n');
    match &args.plan_out {
        Some(path) => crate::atomic::write(path, json.as_bytes(), 0o644)?,
        None => {
            use std::io::Write;
            std::io::stdout().write_all(json.as_bytes())?;
        }
    }
    Ok(())
}

/// Lists the selected chains and cuts them into shards.
async fn make_plan<S: Source>(args: &PlanArgs, config: &Config, options: CheckedOptions, source: &S) -> Result<Plan> {
    let mut driver = Driver::new(options.clone());
    let mut listed: BTreeSet<String> = BTreeSet::new();
    run::list(&mut driver, source, |resp| listed.extend(resp.keys.iter().cloned())).await?;
    driver.plan()?;
    // Every selected chain gets windows; only digests in the scope (not
    // those of the load margins) are cut at and counted.
    let in_scope = |t: Timestamp| {
        options.start.is_none_or(|s| t >= s) && options.end.is_none_or(|e| t < e.add_secs(ctverify_core::time::HOUR))
    };
    let mut chains: BTreeMap<ChainId, Vec<Timestamp>> = BTreeMap::new();
    for key in &listed {
        if let Some(n) = DigestKeyName::parse(key) {
            if options.selects(&n.chain) {
                let times = chains.entry(n.chain).or_default();
                if in_scope(n.time) {
                    times.push(n.time);
                }
            }
        }
    }
    for times in chains.values_mut() {
        times.sort();
        times.dedup();
    }
    let weights = work(&chains, &listed, |key| source.listed_size(key));
    let shards = cut(&chains, &weights, args.shards as usize);
    let v = &args.validate;
    let scope = Scope {
        trail_arn: v.trail_arn.clone(),
        bucket: options.bucket.clone(),
        prefix: options.prefix.clone(),
        accounts: (!v.account_id.is_empty()).then(|| config::sorted_unique(&v.account_id)),
        regions: (!v.region.is_empty()).then(|| config::sorted_unique(&v.region)),
        start: options.start,
        end: options.end,
    };
    let mut plan = Plan {
        schema: SCHEMA,
        plan_id: String::new(),
        now: options.now,
        scope,
        allow_gaps: options.allow_gaps,
        max_log_bytes: options.log_budget.max_inflated,
        max_log_ratio: options.log_budget.max_ratio,
        max_listed_logs: options.max_listed_logs,
        verbose: options.verbose,
        source: match config.source {
            ConfigSource::Local(_) => "local".into(),
            ConfigSource::S3(_) => "s3".into(),
        },
        latest_digest_delivery: options.latest_digest_delivery,
        public_keys: config.keyring.as_ref().map(keys_id),
        shards,
    };
    plan.plan_id = plan.id()?;
    Ok(plan)
}

/// The id of a keyring: the SHA-256 of its entries (fingerprint, key,
/// validity, region), sorted. Shards verify with exactly the plan's keys,
/// so that the merge judges with the keys one run would have.
fn keys_id(keyring: &Keyring) -> String {
    use sha2::Digest as _;
    let mut entries: Vec<String> = keyring
        .entries()
        .map(|e| {
            format!(
                "{} {} {:?} {:?} {:?}",
                e.fingerprint,
                b64(&e.der),
                e.valid_from.map(|t| t.to_string()),
                e.valid_to.map(|t| t.to_string()),
                e.region
            )
        })
        .collect();
    entries.sort();
    entries.dedup();
    hex::encode(sha2::Sha256::digest(entries.join("\n").as_bytes()))
}

/// Work units of one listed object: a fixed cost (its request, its
/// listing entry) plus its size; one object costs as much as 1 MiB.
fn object_work(size: Option<u64>) -> u64 {
    1024 + size.unwrap_or(0) / 1024
}

/// The listed work of each digest: itself, and the log objects of its
/// chain's log folder named for its hour (after the chain's previous digest,
/// up to it), by objects and bytes ([`object_work`]).
fn work(
    chains: &BTreeMap<ChainId, Vec<Timestamp>>,
    listed: &BTreeSet<String>,
    size: impl Fn(&str) -> Option<u64>,
) -> BTreeMap<ChainId, Vec<u64>> {
    let mut by_folder: BTreeMap<String, Vec<&ChainId>> = BTreeMap::new();
    for chain in chains.keys() {
        by_folder.entry(chain.log_folder()).or_default().push(chain);
    }
    let mut weights: BTreeMap<ChainId, Vec<u64>> = chains
        .iter()
        .map(|(c, t)| (c.clone(), vec![object_work(None); t.len()]))
        .collect();
    for key in listed {
        if let Some(n) = DigestKeyName::parse(key) {
            let at = chains.get(&n.chain).and_then(|times| times.binary_search(&n.time).ok());
            if let (Some(i), Some(w)) = (at, weights.get_mut(&n.chain)) {
                w[i] += size(key).unwrap_or(0) / 1024;
            }
            continue;
        }
        let Some(folder) = candidate_log_folders(key)
            .into_iter()
            .find(|f| by_folder.contains_key(*f))
        else {
            continue;
        };
        let LogPlace::Named(t) = log_place(key, folder) else {
            continue;
        };
        for chain in &by_folder[folder] {
            let times = &chains[*chain];
            // The first digest at or after the log's time lists it.
            let i = times.partition_point(|d| *d < t).min(times.len().saturating_sub(1));
            if let Some(w) = weights.get_mut(*chain).and_then(|w| w.get_mut(i)) {
                *w += object_work(size(key));
            }
        }
    }
    weights
}

/// Cuts the chains' digests (chain by chain, oldest first) into
/// min(`n`, digests) contiguous parts of about equal work, none empty, and
/// gives each part its windows.
fn cut(chains: &BTreeMap<ChainId, Vec<Timestamp>>, weights: &BTreeMap<ChainId, Vec<u64>>, n: usize) -> Vec<Shard> {
    let items: Vec<(&ChainId, usize, u64)> = chains
        .iter()
        .flat_map(|(c, times)| {
            (0..times.len()).map(move |i| (c, i, weights.get(c).and_then(|w| w.get(i)).copied().unwrap_or(1)))
        })
        .collect();
    if items.is_empty() {
        // Nothing listed: one shard with every chain's whole window (the
        // run still reports what it must, a gap or "no digests").
        return vec![Shard {
            index: 0,
            windows: chains
                .keys()
                .map(|c| Window {
                    chain: c.clone(),
                    start: None,
                    end: None,
                })
                .collect(),
        }];
    }
    let k = n.clamp(1, items.len());
    let total: u64 = items.iter().map(|x| x.2).sum();
    // Part p starts at the first item where the work before it reaches
    // p/k of the total, at least one item after the previous part's start
    // and leaving one item for every later part.
    let mut starts = vec![0usize];
    let mut before = 0u64;
    let mut i = 0usize;
    for p in 1..k {
        let target = (total as u128 * p as u128 / k as u128) as u64;
        let min = starts[p - 1] + 1;
        let max = items.len() - (k - p);
        while i < items.len() && (i < min || (before < target && i < max)) {
            before += items[i].2;
            i += 1;
        }
        let start = i.clamp(min, max);
        while i < start {
            before += items[i].2;
            i += 1;
        }
        starts.push(start);
    }
    starts.push(items.len());
    let mut shards = Vec::with_capacity(k);
    for p in 0..k {
        let part = &items[starts[p]..starts[p + 1]];
        let mut windows: Vec<Window> = vec![];
        for &(chain, at, _) in part {
            let times = &chains[chain];
            let start = (at > 0).then(|| times[at]);
            let end = times.get(at + 1).copied();
            match windows.last_mut() {
                Some(w) if &w.chain == chain => w.end = end,
                _ => windows.push(Window {
                    chain: chain.clone(),
                    start,
                    end,
                }),
            }
        }
        shards.push(Shard { index: p, windows });
    }
    // A selected chain with no digest in the scope is still checked (a
    // coverage gap, other trails' digests in its folder): shard 0 takes it.
    for (chain, times) in chains {
        if times.is_empty() {
            shards[0].windows.push(Window {
                chain: chain.clone(),
                start: None,
                end: None,
            });
        }
    }
    shards
}

/// The shard index: `--shard`, else the first engine variable that is set.
fn shard_index(args: &ValidateArgs) -> Result<usize> {
    if let Some(i) = args.shard {
        return Ok(i);
    }
    for var in INDEX_VARIABLES {
        if let Ok(v) = std::env::var(var) {
            return v
                .trim()
                .parse()
                .with_context(|| format!("{var}={v:?} is not a shard index"));
        }
    }
    bail!(
        "no shard index: give --shard I, or run as an array job ({})",
        INDEX_VARIABLES.join(", ")
    )
}

/// Where partials go: `--partials LOC`, a folder or `s3://bucket/prefix`.
enum Location {
    /// `LOC/<plan_id>/shard-<I>.json` on a (shared) file system.
    Dir(PathBuf),
    /// `s3://BUCKET/PREFIX/<plan_id>/shard-<I>.json`.
    S3 {
        /// The bucket.
        bucket: String,
        /// The prefix (no leading or trailing `/`; may be empty).
        prefix: String,
    },
}

/// A partial at most this large is read (a bound on hostile storage).
const MAX_PARTIAL: u64 = 4 * 1024 * 1024 * 1024;

impl Location {
    fn parse(loc: &str) -> Result<Location> {
        match loc.strip_prefix("s3://") {
            None => Ok(Location::Dir(PathBuf::from(loc))),
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    bail!("--partials {loc}: no bucket (s3://BUCKET/PREFIX)");
                }
                Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_matches('/').to_string(),
                })
            }
        }
    }

    /// The folder (or key prefix) of `plan_id`, for messages.
    fn folder(&self, plan_id: &str) -> String {
        match self {
            Location::Dir(d) => d.join(plan_id).display().to_string(),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{}", self.key_prefix(prefix, plan_id)),
        }
    }

    fn key_prefix(&self, prefix: &str, plan_id: &str) -> String {
        if prefix.is_empty() {
            format!("{plan_id}/")
        } else {
            format!("{prefix}/{plan_id}/")
        }
    }

    /// Writes `bytes` as shard `index`'s partial, atomically (a rename, or
    /// one PutObject).
    async fn write(&self, plan_id: &str, index: usize, bytes: Vec<u8>, s3: &S3Access) -> Result<String> {
        let name = format!("shard-{index}.json");
        match self {
            Location::Dir(d) => {
                let dir = d.join(plan_id);
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                let path = dir.join(&name);
                crate::atomic::write(&path, &bytes, 0o644)
                    .with_context(|| format!("writing the partial {}", path.display()))?;
                Ok(path.display().to_string())
            }
            Location::S3 { bucket, prefix } => {
                let key = format!("{}{name}", self.key_prefix(prefix, plan_id));
                let client = s3.client(bucket).await?;
                client
                    .put_object()
                    .bucket(bucket)
                    .key(&key)
                    .content_type("application/json")
                    .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Sha256)
                    .body(bytes.into())
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "writing the partial s3://{bucket}/{key}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                Ok(format!("s3://{bucket}/{key}"))
            }
        }
    }

    /// Every `shard-*.json` of `plan_id`: (where, file name, bytes).
    async fn read_all(&self, plan_id: &str, s3: &S3Access) -> Result<Vec<(String, String, Vec<u8>)>> {
        let mut out = vec![];
        match self {
            Location::Dir(d) => {
                let dir = d.join(plan_id);
                let entries =
                    std::fs::read_dir(&dir).with_context(|| format!("--partials: reading {}", dir.display()))?;
                for entry in entries {
                    let entry = entry.with_context(|| format!("--partials: reading {}", dir.display()))?;
                    let name = entry.file_name().to_string_lossy().into_owned();
                    if !name.starts_with("shard-") {
                        continue;
                    }
                    let path = entry.path();
                    let bytes = config::read_bounded(&path, MAX_PARTIAL)
                        .with_context(|| format!("partial {}", path.display()))?;
                    out.push((path.display().to_string(), name, bytes));
                }
            }
            Location::S3 { bucket, prefix } => {
                let client = s3.client(bucket).await?;
                let key_prefix = self.key_prefix(prefix, plan_id);
                let mut pages = client
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(&key_prefix)
                    .delimiter("/")
                    .into_paginator()
                    .send();
                let mut keys = vec![];
                while let Some(page) = pages.next().await {
                    let page = page.map_err(|e| {
                        anyhow::anyhow!(
                            "--partials: listing s3://{bucket}/{key_prefix}: {}",
                            aws_sdk_s3::error::DisplayErrorContext(&e)
                        )
                    })?;
                    keys.extend(page.contents().iter().filter_map(|o| o.key().map(str::to_string)));
                    if keys.len() > 1_000_000 {
                        bail!("--partials: more than a million objects under s3://{bucket}/{key_prefix}");
                    }
                }
                for key in keys {
                    let name = key.rsplit('/').next().unwrap_or_default().to_string();
                    if !name.starts_with("shard-") {
                        continue;
                    }
                    let got = client
                        .get_object()
                        .bucket(bucket)
                        .key(&key)
                        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
                        .send()
                        .await
                        .map_err(|e| {
                            anyhow::anyhow!(
                                "partial s3://{bucket}/{key}: {}",
                                aws_sdk_s3::error::DisplayErrorContext(&e)
                            )
                        })?;
                    if got.content_length().unwrap_or(0) as u64 > MAX_PARTIAL {
                        bail!("partial s3://{bucket}/{key}: larger than {MAX_PARTIAL} bytes");
                    }
                    let bytes = got
                        .body
                        .collect()
                        .await
                        .with_context(|| format!("partial s3://{bucket}/{key}: reading"))?
                        .into_bytes()
                        .to_vec();
                    out.push((format!("s3://{bucket}/{key}"), name, bytes));
                }
            }
        }
        Ok(out)
    }
}

/// How to reach S3 for partials: the run's `--profile` and
/// `--endpoint-url` when it has them, else the standard configuration
/// (`AWS_PROFILE`, `AWS_ENDPOINT_URL` for an S3-compatible store).
struct S3Access {
    profile: Option<String>,
    endpoint_url: Option<String>,
}

impl S3Access {
    fn of(args: Option<&ValidateArgs>) -> S3Access {
        let env = |v: &str| std::env::var(v).ok().filter(|s| !s.is_empty());
        S3Access {
            profile: args.and_then(|a| a.profile.clone()),
            endpoint_url: args
                .and_then(|a| a.endpoint_url.clone())
                .or_else(|| env("AWS_ENDPOINT_URL")),
        }
    }

    async fn client(&self, bucket: &str) -> Result<aws_sdk_s3::Client> {
        let aws = crate::s3::client::Aws::connect(&crate::s3::client::Connection {
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            region: None,
            limits: crate::s3::limits::Limits::default(),
        })
        .await;
        let region = aws.bucket_region(bucket).await?;
        Ok(aws.s3(Some(&region)))
    }
}

/// `validate --shard-plan`: runs one shard and writes its partial.
pub fn shard_command(args: &ValidateArgs) -> Result<()> {
    let plan_path = args.shard_plan.as_ref().context("--shard-plan")?;
    let plan = Plan::read(plan_path)?;
    let index = shard_index(args)?;
    let Some(shard) = plan.shards.get(index) else {
        bail!("shard {index} is not in the plan ({} shards)", plan.shards.len());
    };
    let loc = Location::parse(args.partials.as_deref().context("--partials")?)?;
    let effective = plan.apply(args)?;
    let config = config::resolve(&effective, plan.now)?;
    if (plan.source == "local") != matches!(config.source, ConfigSource::Local(_)) {
        bail!(
            "the plan was made over {} but this shard reads another source",
            plan.source
        );
    }
    if config.keyring.as_ref().map(keys_id) != plan.public_keys {
        bail!("--public-keys: this shard's keys are not the plan's (give every shard the files `plan` was given, or none when it was given none)");
    }
    let scopes: BTreeMap<ChainId, ChainScope> = shard
        .windows
        .iter()
        .map(|w| {
            (
                w.chain.clone(),
                ChainScope {
                    // The chain's first and last windows are unbounded in
                    // the plan; the scope bounds them.
                    start: w.start.or(plan.scope.start),
                    end: w.end.or(plan.scope.end),
                    anchor: None,
                },
            )
        })
        .collect();
    let runtime = run::runtime()?;
    let partial = runtime.block_on(async {
        let (source, options) = open(&config).await?;
        let options = options.amend(|o| {
            o.scopes = scopes;
            o.only_scoped = true;
        })?;
        match source {
            AnySource::Local(s) => {
                let keyring = config.keyring.clone().unwrap_or_default();
                record(options, Windows::only(&plan, index), s, |_| async move { Ok(keyring) }).await
            }
            AnySource::S3(s, aws) => {
                let keys = crate::s3::strict::keyring(*aws, options.clone(), config.keyring.clone(), None);
                record(options, Windows::only(&plan, index), s, keys).await
            }
        }
    })?;
    let partial = Partial {
        schema: SCHEMA,
        plan_id: plan.plan_id.clone(),
        index,
        ..partial
    };
    let bytes = serde_json::to_vec(&partial)?;
    let written = runtime.block_on(loc.write(&plan.plan_id, index, bytes, &S3Access::of(Some(args))))?;
    eprintln!(
        "ctverify: shard {index} of plan {}: partial written to {written}",
        plan.plan_id
    );
    Ok(())
}

/// Runs the shard over `inner`, recording what it read.
async fn record<S, K>(
    options: CheckedOptions,
    owned: Windows,
    inner: S,
    keys: impl FnOnce(Vec<String>) -> K,
) -> Result<Partial>
where
    S: Source,
    K: Future<Output = Result<Keyring>>,
{
    let recording = Recording {
        inner,
        log: Arc::default(),
        owned: Arc::new(owned),
        budget: options.log_budget,
    };
    match run::strict(options, &recording, keys).await {
        Ok(_) => {}
        // Nothing of the shard's windows is left (deleted since the plan):
        // what it listed is the evidence; the merge judges it.
        Err(e)
            if matches!(
                e.downcast_ref::<ctverify_core::verify::RunError>(),
                Some(ctverify_core::verify::RunError::NoDigests)
            ) => {}
        Err(e) => return Err(e),
    }
    let log = std::mem::take(&mut *recording.log.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(log)
}

/// A source that records what it answers (the shard's partial).
#[derive(Clone)]
struct Recording<S> {
    inner: S,
    log: Arc<Mutex<Partial>>,
    /// The shard's windows: the digests it owns.
    owned: Arc<Windows>,
    budget: LogBudget,
}

/// One window of a chain: start, end (half-open, null unbounded), shard.
type Owned = (Option<Timestamp>, Option<Timestamp>, usize);

/// Which shard owns a digest: its chain's window that holds its key time.
#[derive(Debug, Default)]
struct Windows(BTreeMap<ChainId, Vec<Owned>>);

impl Windows {
    fn of(plan: &Plan) -> Windows {
        let mut w: BTreeMap<ChainId, Vec<Owned>> = BTreeMap::new();
        for shard in &plan.shards {
            for win in &shard.windows {
                w.entry(win.chain.clone())
                    .or_default()
                    .push((win.start, win.end, shard.index));
            }
        }
        Windows(w)
    }

    fn only(plan: &Plan, index: usize) -> Windows {
        let mut all = Windows::of(plan);
        for list in all.0.values_mut() {
            list.retain(|(_, _, i)| *i == index);
        }
        all.0.retain(|_, list| !list.is_empty());
        all
    }

    /// The shard that owns digest `key`: `Some(None)` when the key is not a
    /// digest of a planned chain (anyone may record it), `Some(Some(i))`
    /// for shard `i`, `None` when no window holds it (not the plan's).
    fn owner(&self, key: &str) -> Option<Option<usize>> {
        let Some(n) = DigestKeyName::parse(key) else {
            return Some(None);
        };
        let Some(list) = self.0.get(&n.chain) else {
            return Some(None);
        };
        list.iter()
            .find(|(s, e, _)| s.is_none_or(|s| n.time >= s) && e.is_none_or(|e| n.time < e))
            .map(|(_, _, i)| Some(*i))
    }
}

impl<S> Recording<S> {
    fn with<T>(log: &Mutex<Partial>, f: impl FnOnce(&mut Partial) -> T) -> T {
        f(&mut log.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// This shard owns digest `key` (a window of its holds its key time).
    fn owns(&self, key: &str) -> bool {
        matches!(self.owned.owner(key), Some(Some(_)))
    }
}

impl<S: Source> Source for Recording<S> {
    fn list(&self, req: ListRequest) -> impl Future<Output = Result<ListResponse>> + Send + 'static {
        let (answer, log) = (self.inner.list(req), self.log.clone());
        async move {
            let resp = answer.await?;
            Self::with(&log, |p| p.listed.extend(resp.keys.iter().cloned()));
            Ok(resp)
        }
    }

    fn read_digest(&self, key: String) -> impl Future<Output = Result<DigestRead>> + Send + 'static {
        let (read, log) = (self.inner.read_digest(key), self.log.clone());
        async move {
            let read = read.await?;
            let recorded = RecordedDigest {
                key: read.key.clone(),
                bytes: read.object.as_ref().ok().map(|b| b64(b)),
                failure: read.object.as_ref().err().map(Failure::from),
                metadata: match &read.metadata {
                    Metadata::Absent => RecordedMetadata::Absent,
                    Metadata::Present(m) => RecordedMetadata::Present(m.clone()),
                    Metadata::Unreadable(why) => RecordedMetadata::Unreadable(why.clone()),
                },
            };
            Self::with(&log, |p| p.digests.push(recorded));
            Ok(read)
        }
    }

    fn hash_logs(
        &self,
        jobs: Vec<LogJob>,
        budget: LogBudget,
    ) -> impl Future<Output = Vec<(JobId, LogResult)>> + Send + 'static {
        // Every listed log is hashed: whether its digest is authentic may
        // depend on a successor in the next shard, which only the merge sees.
        let forced: Vec<LogJob> = jobs.iter().cloned().map(|j| LogJob { vouched: true, ..j }).collect();
        let (hashed, log) = (self.inner.hash_logs(forced, budget), self.log.clone());
        async move {
            let results = hashed.await;
            let by_id: BTreeMap<JobId, &LogJob> = jobs.iter().map(|j| (j.id, j)).collect();
            Self::with(&log, |p| {
                for (id, result) in &results {
                    let Some(job) = by_id.get(id) else { continue };
                    p.logs.push(RecordedLog {
                        bucket: job.object.bucket.clone(),
                        key: job.object.key.clone(),
                        expected: hex::encode(job.expected),
                        result: match result {
                            LogResult::Hashed(h) => RecordedResult::Hashed(h.clone()),
                            LogResult::Failed(f) => RecordedResult::Failed(f.into()),
                            LogResult::Skipped => RecordedResult::Skipped,
                        },
                    });
                }
            });
            results
        }
    }

    fn concurrency(&self) -> usize {
        self.inner.concurrency()
    }

    fn logs_per_batch(&self, total: usize) -> usize {
        self.inner.logs_per_batch(total)
    }

    fn finish(&self) -> impl Future<Output = Result<()>> + Send + 'static {
        // Every log of every digest the shard owns is hashed, whatever the
        // period the digest covers (a backfill digest keyed days later, a
        // digest moved elsewhere): the merge may need any of them.
        let this = self.clone();
        async move {
            let jobs: Vec<LogJob> = Self::with(&this.log, |p| {
                let done: BTreeSet<(String, String, String)> = p
                    .logs
                    .iter()
                    .map(|l| (l.bucket.clone(), l.key.clone(), l.expected.clone()))
                    .collect();
                let mut seen = BTreeSet::new();
                let mut jobs = vec![];
                for d in &p.digests {
                    if !this.owns(&d.key) {
                        continue;
                    }
                    let Some(bytes) = d.bytes.as_deref().and_then(|b| unb64(b, "digest").ok()) else {
                        continue;
                    };
                    let Ok(digest) = ctverify_core::digest::Digest::parse_object(&bytes) else {
                        continue;
                    };
                    for l in &digest.log_files {
                        let at = (l.bucket.clone(), l.object.clone(), hex::encode(l.hash));
                        if done.contains(&at) || !seen.insert(at) {
                            continue;
                        }
                        jobs.push(LogJob {
                            id: JobId(usize::MAX - jobs.len()),
                            object: ctverify_core::layout::ObjectRef::new(&l.bucket, &l.object),
                            expected: l.hash,
                            vouched: true,
                        });
                    }
                }
                jobs
            });
            let limit = this.inner.concurrency();
            let per_batch = this.inner.logs_per_batch(jobs.len());
            let batches = run::batches(jobs, per_batch);
            run::pump(batches, limit, |b| this.hash_logs(b, this.budget), |_| Ok(())).await?;
            this.inner.finish().await
        }
    }

    fn observe_keyring(&self, keyring: &Keyring) {
        let keys: Vec<RecordedKey> = keyring
            .entries()
            .map(|e| RecordedKey {
                fingerprint: e.fingerprint.clone(),
                der: b64(&e.der),
                valid_from: e.valid_from,
                valid_to: e.valid_to,
                region: e.region.clone(),
            })
            .collect();
        Self::with(&self.log, |p| p.keys = keys);
    }

    fn reads(&self) -> Reads {
        self.inner.reads()
    }

    fn describe_reads(&self, reads: &Reads) -> String {
        self.inner.describe_reads(reads)
    }
}

/// The plan's `--verbose` (text output of the merge), false when the
/// plan cannot be read (the merge then reports why).
pub fn plan_verbose(path: &Path) -> bool {
    Plan::read(path).is_ok_and(|p| p.verbose)
}

/// `ctverify merge`: the report, or an error naming what is missing or
/// wrong among the partials.
pub fn merge_command(args: &MergeArgs) -> Result<Outcome> {
    let plan = Plan::read(&args.shard_plan)?;
    let loc = Location::parse(&args.partials)?;
    let files = run::runtime()?.block_on(loc.read_all(&plan.plan_id, &S3Access::of(None)))?;
    let partials = read_partials(&plan, &loc.folder(&plan.plan_id), files)?;
    // The options of one run over the plan's scope, resolved as `validate`
    // resolves them (a local copy's or S3's defaults).
    let flags = plan.apply(&ValidateArgs::defaults())?;
    let options = plan.options(config::options_of(&flags, plan.now, plan.source == "local")?)?;

    let owners = Windows::of(&plan);
    let mut keyring = Keyring::new();
    let mut keys_seen = BTreeSet::new();
    let mut listed: BTreeSet<&str> = BTreeSet::new();
    let mut digests: BTreeMap<&str, &RecordedDigest> = BTreeMap::new();
    let mut logs: BTreeMap<(&str, &str, &str), &RecordedResult> = BTreeMap::new();
    for (i, p) in &partials {
        for k in &p.keys {
            let der = unb64(&k.der, &format!("shard-{i}.json: a key"))?;
            if !keys_seen.insert((der.clone(), k.region.clone(), k.valid_from, k.valid_to)) {
                continue;
            }
            let _ = keyring.add_listed(ListedKey {
                fingerprint: k.fingerprint.clone(),
                der,
                valid_from: k.valid_from,
                valid_to: k.valid_to,
                region: k.region.clone(),
                source: format!("shard-{i}.json"),
            });
        }
        // A digest of a planned chain counts as listed, and as read, only
        // from the shard whose window holds its key time: shards list at
        // different times, and one run lists once.
        let mine = |key: &str| match owners.owner(key) {
            Some(None) => true,
            Some(Some(owner)) => owner == *i,
            None => false,
        };
        listed.extend(p.listed.iter().map(String::as_str).filter(|k| mine(k)));
        for d in p.digests.iter().filter(|d| mine(&d.key)) {
            match digests.get(d.key.as_str()) {
                None => {
                    digests.insert(&d.key, d);
                }
                // Bytes read outrank a failure to read (a fault in one
                // shard); two different contents mean the bucket changed
                // between the shards' reads.
                Some(old) => match (&old.bytes, &d.bytes) {
                    (None, Some(_)) => {
                        digests.insert(&d.key, d);
                    }
                    (Some(a), Some(b)) if a != b => bail!(
                        "the partials disagree about digest {}: the bucket changed while the shards ran; run the plan again",
                        d.key
                    ),
                    _ => {}
                },
            }
        }
        for l in &p.logs {
            let at = (l.bucket.as_str(), l.key.as_str(), l.expected.as_str());
            match (logs.get(&at), &l.result) {
                (None, _) => {
                    logs.insert(at, &l.result);
                }
                (Some(RecordedResult::Hashed(a)), RecordedResult::Hashed(b)) if a != b => bail!(
                    "the partials disagree about log s3://{}/{}: the bucket changed while the shards ran; run the plan again",
                    l.bucket,
                    l.key
                ),
                (Some(old), RecordedResult::Hashed(_)) if !matches!(old, RecordedResult::Hashed(_)) => {
                    logs.insert(at, &l.result);
                }
                _ => {}
            }
        }
    }
    let mut sink = ctverify_core::report::NullSink;
    let mut driver = Driver::new(options);
    while let Some(req) = driver.next_listing()? {
        let under = listed
            .range::<str, _>((
                std::ops::Bound::Included(req.prefix.as_str()),
                std::ops::Bound::Unbounded,
            ))
            .copied()
            .take_while(|k| k.starts_with(req.prefix.as_str()));
        let resp = req.answer(under);
        driver.listed(&req, resp)?;
    }
    for key in driver.plan()? {
        let Some(d) = digests.get(key.as_str()) else {
            bail!("digest {key} is in the plan's scope but no partial read it: the partials are incomplete");
        };
        let object = match (&d.bytes, &d.failure) {
            (Some(b), _) => Ok(unb64(b, &format!("digest {key}"))?),
            (None, Some(f)) => Err(ReadFailure::from(f.clone())),
            (None, None) => Err(ReadFailure::Other(
                "the partial records neither bytes nor a failure".into(),
            )),
        };
        let metadata = match &d.metadata {
            RecordedMetadata::Absent => Metadata::Absent,
            RecordedMetadata::Present(m) => Metadata::Present(m.clone()),
            RecordedMetadata::Unreadable(why) => Metadata::Unreadable(why.clone()),
        };
        driver.add_digest(
            ctverify_core::verify::ParsedDigest::parse(key, object, metadata),
            &mut sink,
        )?;
    }
    for job in driver.analyze(&keyring, &mut sink)? {
        let at = (
            job.object.bucket.as_str(),
            job.object.key.as_str(),
            hex::encode(job.expected),
        );
        let result = match logs.get(&(at.0, at.1, at.2.as_str())) {
            Some(RecordedResult::Hashed(h)) => LogResult::Hashed(h.clone()),
            Some(RecordedResult::Failed(f)) => LogResult::Failed(f.clone().into()),
            Some(RecordedResult::Skipped) | None if !job.vouched => LogResult::Skipped,
            _ => bail!(
                "log s3://{}/{} is listed by a digest of the plan's scope but no partial hashed it: the partials are incomplete",
                job.object.bucket,
                job.object.key
            ),
        };
        driver.log_result(job.id, result, &mut sink)?;
    }
    let (mut report, progress) = driver.finish(&mut sink)?;
    report.render_hints(crate::cli_hint);
    Ok(Outcome {
        report,
        hashing: std::time::Duration::ZERO,
        progress,
        reads: Reads::default(),
    })
}

/// Every partial of the plan, by index: exactly one per shard.
fn read_partials(plan: &Plan, folder: &str, files: Vec<(String, String, Vec<u8>)>) -> Result<BTreeMap<usize, Partial>> {
    let mut found: BTreeMap<usize, Partial> = BTreeMap::new();
    for (path, name, bytes) in files {
        let Some(index) = name.strip_prefix("shard-").and_then(|n| n.strip_suffix(".json")) else {
            continue;
        };
        let Some(index) = index
            .parse::<usize>()
            .ok()
            .filter(|i| name == format!("shard-{i}.json"))
        else {
            bail!("partial {path}: not a shard index");
        };
        if found.contains_key(&index) {
            bail!("partial {path}: shard {index} reported twice");
        }
        if index >= plan.shards.len() {
            bail!(
                "partial {path}: shard {index} is outside the plan ({} shards)",
                plan.shards.len()
            );
        }
        let partial: Partial =
            serde_json::from_slice(&bytes).map_err(|e| anyhow::anyhow!("partial {path}: not a partial report: {e}"))?;
        if partial.schema != SCHEMA {
            bail!("partial {path}: schema {}", partial.schema);
        }
        if partial.plan_id != plan.plan_id {
            bail!(
                "partial {path}: written for plan {}, not {}",
                partial.plan_id,
                plan.plan_id
            );
        }
        if partial.index != index {
            bail!("partial {path}: carries shard index {}, not {index}", partial.index);
        }
        found.insert(index, partial);
    }
    let missing: Vec<String> = (0..plan.shards.len())
        .filter(|i| !found.contains_key(i))
        .map(|i| format!("shard-{i}.json"))
        .collect();
    if !missing.is_empty() {
        bail!("partials missing in {folder}: {}", missing.join(", "));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(region: &str) -> ChainId {
        ChainId {
            prefix: String::new(),
            org: None,
            account: "111122223333".into(),
            region: region.into(),
            trail: "t".into(),
            home_region: "us-east-1".into(),
        }
    }

    fn hours(n: i64) -> Vec<Timestamp> {
        (0..n).map(|h| Timestamp::from_unix(1_700_000_000 + h * 3600)).collect()
    }

    #[test]
    fn cut_balances_work_and_covers_every_digest_once() {
        let mut chains = BTreeMap::new();
        chains.insert(chain("us-east-1"), hours(4));
        // The last hour holds as much work as the three before it.
        let mut weights = BTreeMap::new();
        weights.insert(chain("us-east-1"), vec![1, 1, 1, 3]);
        let shards = cut(&chains, &weights, 2);
        assert_eq!(shards.len(), 2);
        let t = &chains[&chain("us-east-1")];
        assert_eq!(
            shards[0].windows,
            vec![Window {
                chain: chain("us-east-1"),
                start: None,
                end: Some(t[3])
            }]
        );
        assert_eq!(
            shards[1].windows,
            vec![Window {
                chain: chain("us-east-1"),
                start: Some(t[3]),
                end: None
            }]
        );
        // More shards than digests: one each, none empty.
        let shards = cut(&chains, &weights, 10);
        assert_eq!(shards.len(), 4);
        assert!(shards.iter().all(|s| s.windows.len() == 1));
    }

    #[test]
    fn cut_gives_a_chain_without_digests_in_scope_a_whole_window() {
        let mut chains = BTreeMap::new();
        chains.insert(chain("us-east-1"), hours(3));
        chains.insert(chain("eu-west-1"), vec![]);
        let weights = work(&chains, &BTreeSet::new(), |_| None);
        let shards = cut(&chains, &weights, 3);
        let whole: Vec<&Window> = shards
            .iter()
            .flat_map(|s| &s.windows)
            .filter(|w| w.chain == chain("eu-west-1"))
            .collect();
        assert_eq!(
            whole,
            vec![&Window {
                chain: chain("eu-west-1"),
                start: None,
                end: None
            }]
        );
    }

    #[test]
    fn a_big_log_weighs_like_many_small_ones() {
        assert_eq!(object_work(None), 1024);
        assert_eq!(object_work(Some(1024 * 1024)), 2048);
    }
}
