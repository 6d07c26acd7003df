//! The trail/chain builder: an in-memory S3 bucket that scenarios fill with
//! signed digest chains and log files, then tamper with.
//!
//! Everything is built in memory first (objects in a `BTreeMap`, so the
//! output order is stable) and written to disk by [`crate::output`].

use std::collections::BTreeMap;

use anyhow::{anyhow, bail, Result};

use crate::crypto::{gzip, sha256_hex, KeyEncoding, Keys};
use crate::expect::{Args, Finding, Kind};
use crate::json::Json;
use crate::prng::SplitMix64;
use crate::time::{self, Time, DAY, HOUR};

/// The bucket every scenario delivers to.
pub const BUCKET: &str = "ctv-test-bucket";
/// The default (and management) account.
pub const ACCOUNT: &str = "111122223333";
/// The default delivery and home region.
pub const REGION: &str = "us-east-1";
/// `digestStartTime` of the first digest of a default chain.
pub const FIRST_START: &str = "2024-03-01T00:17:28Z";
/// Signature algorithm written in digests and metadata.
const SIG_ALG: &str = "SHA256withRSA";
/// Hash algorithm written in digests.
const HASH_ALG: &str = "SHA-256";

/// One trail's delivery into one region: the identity of a digest chain
/// (account + delivery region + trail + home region, under a prefix and
/// organization).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trail {
    /// Bucket the trail delivers to.
    pub bucket: String,
    /// Optional S3 key prefix (without trailing `/`).
    pub prefix: Option<String>,
    /// Organization ID (`o-…`) for organization trails.
    pub org: Option<String>,
    /// Account that owns the trail (the account in its ARN).
    pub owner: String,
    /// Account the digests and logs are delivered for.
    pub account: String,
    /// Delivery region.
    pub region: String,
    /// Home region of the trail.
    pub home_region: String,
    /// Trail name.
    pub name: String,
}

impl Default for Trail {
    /// The default trail `demo` of account 111122223333, home and delivery
    /// region us-east-1.
    fn default() -> Self {
        Trail {
            bucket: BUCKET.to_owned(),
            prefix: None,
            org: None,
            owner: ACCOUNT.to_owned(),
            account: ACCOUNT.to_owned(),
            region: REGION.to_owned(),
            home_region: REGION.to_owned(),
            name: "demo".to_owned(),
        }
    }
}

impl Trail {
    /// The same trail delivering into `region`.
    pub fn in_region(mut self, region: &str) -> Self {
        self.region = region.to_owned();
        self
    }

    /// The same trail under the organization `org` for member `account`
    /// (the owner stays the management account).
    pub fn org_member(mut self, org: &str, account: &str) -> Self {
        self.org = Some(org.to_owned());
        self.account = account.to_owned();
        self
    }

    /// The same trail under an S3 key prefix.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = Some(prefix.to_owned());
        self
    }

    /// The same settings for a trail called `name`.
    pub fn named(mut self, name: &str) -> Self {
        self.name = name.to_owned();
        self
    }

    /// `[prefix/]AWSLogs/[org/]ACCOUNT`.
    fn root(&self) -> String {
        let mut root = String::new();
        if let Some(p) = &self.prefix {
            root.push_str(p);
            root.push('/');
        }
        root.push_str("AWSLogs/");
        if let Some(o) = &self.org {
            root.push_str(o);
            root.push('/');
        }
        root.push_str(&self.account);
        root
    }

    /// The digest folder of this chain, with a trailing `/`.
    pub fn digest_folder(&self) -> String {
        format!("{}/CloudTrail-Digest/{}/", self.root(), self.region)
    }

    /// The key of the digest ending at `end`.
    pub fn digest_key(&self, end: Time, backfill: bool) -> String {
        self.digest_key_at(end, &time::digest_stamp(end), backfill)
    }

    /// A digest key in the date folder of `folder_time` with the timestamp
    /// `stamp` (lets a scenario name a key whose stamp is not a digest end).
    pub fn digest_key_at(&self, folder_time: Time, stamp: &str, backfill: bool) -> String {
        format!(
            "{}{}/{}_CloudTrail-Digest_{}_{}_{}_{}{}.json.gz",
            self.digest_folder(),
            time::date_path(folder_time),
            self.account,
            self.region,
            self.name,
            self.home_region,
            stamp,
            if backfill { "_backfill" } else { "" }
        )
    }

    /// The key of a log file delivered at `t` with unique string `unique`.
    pub fn log_key(&self, t: Time, unique: &str) -> String {
        format!(
            "{}/CloudTrail/{}/{}/{}_CloudTrail_{}_{}_{}.json.gz",
            self.root(),
            self.region,
            time::date_path(t),
            self.account,
            self.region,
            time::log_stamp(t),
            unique
        )
    }

    /// The trail ARN (`arn:aws:cloudtrail:HOME:OWNER:trail/NAME`).
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:cloudtrail:{}:{}:trail/{}",
            self.home_region, self.owner, self.name
        )
    }
}

/// A change to a digest's JSON applied before it is signed.
#[derive(Clone, Debug)]
pub enum Edit {
    /// Replace (or append) a top-level field.
    #[allow(dead_code)] // builder API; no current scenario needs a literal value
    Set(&'static str, Json),
    /// Remove a top-level field.
    Remove(&'static str),
    /// Replace a top-level string field by a function of its value (e.g. a
    /// wrong `previousDigestSignature` that is still well-formed hex).
    Map(&'static str, fn(&str) -> String),
    /// Any other change to the whole JSON (e.g. inside `logFiles`).
    Apply(fn(&mut Json)),
}

/// The hash of the RSASSA-PKCS1-v1_5 digest signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigHash {
    /// SHA-256, what CloudTrail uses.
    Sha256,
    /// SHA-1, which python-rsa (aws-cli v1) also accepts.
    Sha1,
}

/// One entry of a digest's `logFiles`.
#[derive(Clone, Debug)]
pub struct LogEntry {
    /// `s3Object`.
    pub key: String,
    /// `hashValue`: SHA-256 hex of the uncompressed log.
    pub hash: String,
    /// `newestEventTime`.
    pub newest: Time,
    /// `oldestEventTime`.
    pub oldest: Time,
}

/// What to write for one digest.
#[derive(Clone, Debug)]
pub struct DigestPlan {
    /// `digestStartTime`.
    pub start: Time,
    /// `digestEndTime` (also the key timestamp).
    pub end: Time,
    /// Number of log files generated for the window.
    pub logs: usize,
    /// Name of the key whose fingerprint the digest names (and that signs it
    /// unless `signer` is set).
    pub key: String,
    /// Name of the key that actually signs (a forgery when it differs).
    pub signer: Option<String>,
    /// Start a new chain here (all `previous*` null).
    pub restart: bool,
    /// Field edits applied before signing.
    pub edits: Vec<Edit>,
    /// Write every `/` as `\/`.
    pub escape_slashes: bool,
    /// Extra `logFiles` entries listed after the generated logs (their
    /// objects are not written by the builder).
    pub extra_logs: Vec<LogEntry>,
    /// Backfill digest generated at this time (key suffix `_backfill`).
    pub backfill: Option<Time>,
    /// Hash of the signature (the metadata still says `SHA256withRSA`).
    pub sig_hash: SigHash,
}

impl DigestPlan {
    /// A digest for `[start, end]` with 2 logs signed by key `a`.
    pub fn new(start: Time, end: Time) -> Self {
        DigestPlan {
            start,
            end,
            logs: 2,
            key: "a".to_owned(),
            signer: None,
            restart: false,
            edits: Vec::new(),
            escape_slashes: false,
            extra_logs: Vec::new(),
            backfill: None,
            sig_hash: SigHash::Sha256,
        }
    }
}

/// `n` consecutive one-hour digests starting at `start`.
pub fn hourly(start: Time, n: usize) -> Vec<DigestPlan> {
    (0..n as i64)
        .map(|i| DigestPlan::new(start + i * HOUR, start + (i + 1) * HOUR))
        .collect()
}

/// `digestStartTime` of the first default digest.
pub fn first_start() -> Result<Time> {
    time::parse(FIRST_START)
}

/// A digest as written, plus what the expectations need to know about it.
#[derive(Clone, Debug)]
pub struct DigestRecord {
    /// The chain it belongs to.
    pub trail: Trail,
    /// Where the object is now (changes when moved).
    pub key: String,
    /// `digestStartTime`.
    pub start: Time,
    /// `digestEndTime`.
    pub end: Time,
    /// A starting digest (`previous*` null, not backfill).
    pub starting: bool,
    /// A backfill digest.
    pub backfill: bool,
    /// The JSON as written.
    pub json: Json,
    /// Whether `/` was escaped.
    pub escape_slashes: bool,
    /// The uncompressed bytes as written.
    pub raw: Vec<u8>,
    /// The signature it was signed with (hex).
    pub signature: String,
    /// The `s3Object`s it lists.
    pub logs: Vec<String>,
    /// The object still exists.
    pub present: bool,
    /// The object can be parsed (for the default requested range).
    pub parseable: bool,
    /// A correct verifier authenticates its content (counts for coverage).
    pub authenticated: bool,
}

/// Which keys go into the key list and how it is written.
#[derive(Clone, Debug, Default)]
pub struct KeyList {
    /// Key names listed; default: every key named by a digest, sorted.
    pub names: Option<Vec<String>>,
    /// Validity per key name; default: 30 days around the digests.
    pub validity: BTreeMap<String, (Time, Time)>,
    /// Write validity times as ISO strings instead of epoch numbers.
    pub iso_times: bool,
    /// Write a single PEM file `key.pem` instead of `public-keys.json`.
    pub pem_file: bool,
    /// Key name -> name of the key whose `Fingerprint` is written for it (a
    /// mislisted fingerprint); default: its own.
    pub fingerprint_as: BTreeMap<String, String>,
}

/// One scenario under construction: bucket contents, digest records and the
/// expected findings planted so far.
pub struct Scenario<'k> {
    /// Directory name; states the expected outcome.
    pub name: &'static str,
    /// One sentence: what was planted and what must be found.
    pub description: String,
    /// Extra CLI arguments (and the filters they imply).
    pub args: Args,
    /// Public key encoding (decides the fingerprints in digests).
    pub key_encoding: KeyEncoding,
    /// How the key list is written.
    pub key_list: KeyList,
    /// The trail that `compat` describes; default: the first one written.
    pub main_trail: Option<Trail>,
    /// Every digest written, in writing order.
    pub digests: Vec<DigestRecord>,
    /// Findings planted explicitly (chain restarts and gaps are derived).
    pub findings: Vec<Finding>,
    /// Object bytes by key.
    pub(crate) objects: BTreeMap<String, Vec<u8>>,
    /// S3 user metadata by object key.
    pub(crate) sidecars: BTreeMap<String, Json>,
    /// Files outside `bucket/`, by path relative to the scenario directory.
    pub(crate) outside: BTreeMap<String, Vec<u8>>,
    /// Uncompressed log JSON by key, for later edits.
    logs: BTreeMap<String, Json>,
    keys: &'k Keys,
    rng: SplitMix64,
}

impl<'k> Scenario<'k> {
    /// An empty scenario with a PRNG seeded from its name.
    pub fn new(name: &'static str, keys: &'k Keys) -> Self {
        Scenario {
            name,
            description: String::new(),
            args: Args::default(),
            key_encoding: KeyEncoding::Pkcs1,
            key_list: KeyList::default(),
            main_trail: None,
            digests: Vec::new(),
            findings: Vec::new(),
            objects: BTreeMap::new(),
            sidecars: BTreeMap::new(),
            outside: BTreeMap::new(),
            logs: BTreeMap::new(),
            keys,
            rng: SplitMix64::from_label(name),
        }
    }

    /// Reseeds the PRNG that fills log files (and their unique key
    /// strings) from `label`, for scenarios whose name does not determine
    /// their content (the random ones).
    pub fn reseed(&mut self, label: &str) {
        self.rng = SplitMix64::from_label(label);
    }

    /// The test keys.
    pub fn keys(&self) -> &'k Keys {
        self.keys
    }

    /// Sets the description.
    pub fn describe(&mut self, text: &str) {
        self.description = text.to_owned();
    }

    /// Writes a chain: each plan links to the one before unless it
    /// restarts. Returns the indices of the new records.
    pub fn write_chain(&mut self, trail: &Trail, plans: &[DigestPlan]) -> Result<Vec<usize>> {
        let mut prev: Option<usize> = None;
        let mut out = Vec::new();
        for plan in plans {
            if plan.restart {
                prev = None;
            }
            let idx = self.write_digest(trail, plan, prev)?;
            if plan.backfill.is_none() {
                prev = Some(idx);
            }
            out.push(idx);
        }
        Ok(out)
    }

    /// Writes a default chain of `n` hourly digests from [`FIRST_START`].
    pub fn write_default_chain(&mut self, trail: &Trail, n: usize) -> Result<Vec<usize>> {
        self.write_chain(trail, &hourly(first_start()?, n))
    }

    /// Writes a standalone backfill digest for `[start, end]` listing `logs`
    /// new log files, generated at `generated`.
    pub fn write_backfill(
        &mut self,
        trail: &Trail,
        start: Time,
        end: Time,
        logs: usize,
        generated: Time,
    ) -> Result<usize> {
        let mut plan = DigestPlan::new(start, end);
        plan.logs = logs;
        plan.backfill = Some(generated);
        self.write_digest(trail, &plan, None)
    }

    /// Builds, signs and stores one digest (and its logs) whose `previous*`
    /// fields point to digest `prev` (none: a starting digest).
    pub fn write_digest(&mut self, trail: &Trail, plan: &DigestPlan, prev: Option<usize>) -> Result<usize> {
        let mut entries = self.make_logs(trail, plan)?;
        entries.extend(plan.extra_logs.iter().cloned());
        let key = trail.digest_key(plan.end, plan.backfill.is_some());
        let fingerprint = self.keys.get(&plan.key)?.fingerprint(self.key_encoding);
        let newest = entries.iter().map(|e| e.newest).max();
        let oldest = entries.iter().map(|e| e.oldest).min();
        let prev_info = prev.map(|p| {
            let r = &self.digests[p];
            (
                r.trail.bucket.clone(),
                r.key.clone(),
                sha256_hex(&r.raw),
                r.signature.clone(),
            )
        });
        let log_files = entries
            .iter()
            .map(|e| {
                Json::obj([
                    ("s3Bucket", Json::str(&trail.bucket)),
                    ("s3Object", Json::str(&e.key)),
                    ("hashValue", Json::str(&e.hash)),
                    ("hashAlgorithm", Json::str(HASH_ALG)),
                    ("newestEventTime", Json::str(time::iso(e.newest))),
                    ("oldestEventTime", Json::str(time::iso(e.oldest))),
                ])
            })
            .collect();
        let p = prev_info.as_ref();
        let mut json = Json::obj([
            ("awsAccountId", Json::str(&trail.account)),
            ("digestStartTime", Json::str(time::iso(plan.start))),
            ("digestEndTime", Json::str(time::iso(plan.end))),
            ("digestS3Bucket", Json::str(&trail.bucket)),
            ("digestS3Object", Json::str(&key)),
            ("digestPublicKeyFingerprint", Json::str(fingerprint)),
            ("digestSignatureAlgorithm", Json::str(SIG_ALG)),
            ("newestEventTime", Json::opt_str(newest.map(time::iso))),
            ("oldestEventTime", Json::opt_str(oldest.map(time::iso))),
            ("previousDigestS3Bucket", Json::opt_str(p.map(|p| &p.0))),
            ("previousDigestS3Object", Json::opt_str(p.map(|p| &p.1))),
            ("previousDigestHashValue", Json::opt_str(p.map(|p| &p.2))),
            ("previousDigestHashAlgorithm", Json::opt_str(p.map(|_| HASH_ALG))),
            ("previousDigestSignature", Json::opt_str(p.map(|p| &p.3))),
            ("logFiles", Json::Arr(log_files)),
        ]);
        for edit in &plan.edits {
            match edit {
                Edit::Set(k, v) => json.set(k, v.clone()),
                Edit::Remove(k) => json.remove(k),
                Edit::Map(k, f) => {
                    if let Some(v) = json.get(k).and_then(Json::as_str) {
                        let mapped = f(v);
                        json.set(k, Json::str(mapped));
                    }
                }
                Edit::Apply(f) => f(&mut json),
            }
        }
        let raw = json.to_compact(plan.escape_slashes).into_bytes();
        // The string to sign uses the decoded field values as written (an
        // edit that removes a field falls back to the planned value).
        let field = |name: &str, default: &str| -> String {
            json.get(name).and_then(Json::as_str).unwrap_or(default).to_owned()
        };
        let to_sign = format!(
            "{}\n{}/{}\n{}\n{}",
            field("digestEndTime", &time::iso(plan.end)),
            field("digestS3Bucket", &trail.bucket),
            field("digestS3Object", &key),
            sha256_hex(&raw),
            field("previousDigestSignature", "null"),
        );
        let signer = plan.signer.as_deref().unwrap_or(&plan.key);
        let signer = self.keys.get(signer)?;
        let signature = match plan.sig_hash {
            SigHash::Sha256 => signer.sign_hex(to_sign.as_bytes())?,
            SigHash::Sha1 => signer.sign_sha1_hex(to_sign.as_bytes())?,
        };
        self.put_object(&key, gzip(&raw)?)?;
        let mut meta = vec![
            ("signature".to_owned(), Json::str(&signature)),
            ("signature-algorithm".to_owned(), Json::str(SIG_ALG)),
        ];
        if let Some(g) = plan.backfill {
            meta.push(("backfill-generation-timestamp".to_owned(), Json::str(time::iso(g))));
        }
        self.sidecars.insert(key.clone(), Json::Obj(meta));
        self.digests.push(DigestRecord {
            trail: trail.clone(),
            key,
            start: plan.start,
            end: plan.end,
            starting: prev.is_none() && plan.backfill.is_none(),
            backfill: plan.backfill.is_some(),
            json,
            escape_slashes: plan.escape_slashes,
            raw,
            signature,
            logs: entries.into_iter().map(|e| e.key).collect(),
            present: true,
            parseable: true,
            authenticated: true,
        });
        Ok(self.digests.len() - 1)
    }

    /// The plan's log files, spread evenly over its window.
    fn make_logs(&mut self, trail: &Trail, plan: &DigestPlan) -> Result<Vec<LogEntry>> {
        let n = plan.logs as i64;
        (0..n)
            .map(|j| {
                let t = plan.start + (plan.end - plan.start) * (j + 1) / (n + 1);
                self.add_log(trail, t)
            })
            .collect()
    }

    /// Writes a log file delivered at `t` into the trail's log folder and
    /// returns its `logFiles` entry.
    pub fn add_log(&mut self, trail: &Trail, t: Time) -> Result<LogEntry> {
        let key = trail.log_key(t, &self.rng.alnum(16));
        let (json, newest, oldest) = self.log_records(trail, t);
        let raw = json.to_compact(false).into_bytes();
        self.put_object(&key, gzip(&raw)?)?;
        self.logs.insert(key.clone(), json);
        Ok(LogEntry {
            key,
            hash: sha256_hex(&raw),
            newest,
            oldest,
        })
    }

    /// A log file delivered at `t` that is not stored in the bucket: its
    /// `logFiles` entry under `key`, and its gzip bytes.
    pub fn detached_log(&mut self, trail: &Trail, t: Time, key: &str) -> Result<(LogEntry, Vec<u8>)> {
        let (json, newest, oldest) = self.log_records(trail, t);
        let raw = json.to_compact(false).into_bytes();
        let entry = LogEntry {
            key: key.to_owned(),
            hash: sha256_hex(&raw),
            newest,
            oldest,
        };
        Ok((entry, gzip(&raw)?))
    }

    /// `{"Records":[…]}` with 1–3 records whose events lie 30 s apart before
    /// `t`; returns it with its newest and oldest event time.
    fn log_records(&mut self, trail: &Trail, t: Time) -> (Json, Time, Time) {
        const EVENTS: [(&str, &str); 5] = [
            ("s3.amazonaws.com", "GetObject"),
            ("s3.amazonaws.com", "PutObject"),
            ("iam.amazonaws.com", "ListRoles"),
            ("ec2.amazonaws.com", "DescribeInstances"),
            ("sts.amazonaws.com", "AssumeRole"),
        ];
        let count = 1 + self.rng.below(3) as i64;
        let mut records = Vec::new();
        for r in 0..count {
            let (source, name) = EVENTS[self.rng.below(EVENTS.len() as u64) as usize];
            let ip = format!("192.0.2.{}", 1 + self.rng.below(254));
            records.push(Json::obj([
                ("eventVersion", Json::str("1.09")),
                ("eventTime", Json::str(time::iso(t - 30 * (count - r)))),
                ("eventSource", Json::str(source)),
                ("eventName", Json::str(name)),
                ("awsRegion", Json::str(&trail.region)),
                ("sourceIPAddress", Json::str(ip)),
                ("requestID", Json::str(self.rng.uuid())),
                ("eventID", Json::str(self.rng.uuid())),
                ("eventType", Json::str("AwsApiCall")),
                ("recipientAccountId", Json::str(&trail.account)),
            ]));
        }
        let json = Json::obj([("Records", Json::Arr(records))]);
        (json, t - 30, t - 30 * count)
    }

    /// Stores an object, refusing keys that would leave `bucket/`.
    /// Stores an arbitrary object (an injection) at `key`.
    pub fn put_raw(&mut self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.put_object(key, bytes)
    }

    fn put_object(&mut self, key: &str, bytes: Vec<u8>) -> Result<()> {
        if key.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            bail!("refusing object key {key:?}");
        }
        self.objects.insert(key.to_owned(), bytes);
        Ok(())
    }

    // ----- tampering after writing -------------------------------------

    /// The digest record `idx`.
    pub fn digest(&self, idx: usize) -> &DigestRecord {
        &self.digests[idx]
    }

    /// The bytes of object `key`.
    pub fn object(&self, key: &str) -> Result<&[u8]> {
        self.objects
            .get(key)
            .map(Vec::as_slice)
            .ok_or_else(|| anyhow!("no object {key}"))
    }

    /// Replaces the bytes of an existing object (metadata untouched).
    pub fn replace_object(&mut self, key: &str, bytes: Vec<u8>) -> Result<()> {
        self.object(key)?;
        self.objects.insert(key.to_owned(), bytes);
        Ok(())
    }

    /// Deletes an object and its metadata sidecar.
    pub fn delete_object(&mut self, key: &str) -> Result<()> {
        self.objects.remove(key).ok_or_else(|| anyhow!("no object {key}"))?;
        self.sidecars.remove(key);
        Ok(())
    }

    /// Deletes digest `idx` (object and metadata).
    pub fn delete_digest(&mut self, idx: usize) -> Result<()> {
        let key = self.digests[idx].key.clone();
        self.delete_object(&key)?;
        let d = &mut self.digests[idx];
        d.present = false;
        d.parseable = false;
        d.authenticated = false;
        Ok(())
    }

    /// Drops the metadata sidecar of `key`.
    pub fn delete_sidecar(&mut self, key: &str) -> Result<()> {
        self.sidecars
            .remove(key)
            .map(|_| ())
            .ok_or_else(|| anyhow!("no metadata for {key}"))
    }

    /// Replaces the metadata `signature` of `key` with a different but
    /// well-formed hex value (one nibble flipped in the middle).
    pub fn corrupt_metadata_signature(&mut self, key: &str) -> Result<()> {
        self.map_metadata_signature(key, flip_hex)
    }

    /// Replaces the metadata `signature` of `key` by `f` of its value.
    pub fn map_metadata_signature(&mut self, key: &str, f: impl FnOnce(&str) -> String) -> Result<()> {
        let meta = self
            .sidecars
            .get_mut(key)
            .ok_or_else(|| anyhow!("no metadata for {key}"))?;
        let sig = meta
            .get("signature")
            .and_then(Json::as_str)
            .ok_or_else(|| anyhow!("no signature for {key}"))?;
        let mapped = f(sig);
        meta.set("signature", Json::str(mapped));
        Ok(())
    }

    /// Moves digest `idx` (object and metadata) to `new_key`.
    pub fn move_digest(&mut self, idx: usize, new_key: &str) -> Result<()> {
        let old = self.digests[idx].key.clone();
        let bytes = self.objects.remove(&old).ok_or_else(|| anyhow!("no object {old}"))?;
        self.put_object(new_key, bytes)?;
        if let Some(meta) = self.sidecars.remove(&old) {
            self.sidecars.insert(new_key.to_owned(), meta);
        }
        self.digests[idx].key = new_key.to_owned();
        Ok(())
    }

    /// Rewrites digest `idx` after signing: `edit` changes its JSON, the
    /// object is re-serialized and re-gzipped, and nothing is re-signed.
    pub fn rewrite_digest(&mut self, idx: usize, edit: impl FnOnce(&mut Json)) -> Result<()> {
        let mut json = self.digests[idx].json.clone();
        edit(&mut json);
        let raw = json.to_compact(self.digests[idx].escape_slashes).into_bytes();
        let key = self.digests[idx].key.clone();
        self.replace_object(&key, gzip(&raw)?)?;
        let d = &mut self.digests[idx];
        d.json = json;
        d.raw = raw;
        Ok(())
    }

    /// Changes the first record of log `key` (an attacker hiding an event)
    /// and re-gzips it. Returns the SHA-256 of the new uncompressed content.
    pub fn modify_log(&mut self, key: &str) -> Result<String> {
        let json = self.logs.get_mut(key).ok_or_else(|| anyhow!("no log {key}"))?;
        let first = json
            .get_mut("Records")
            .and_then(Json::as_array_mut)
            .and_then(|r| r.first_mut())
            .ok_or_else(|| anyhow!("log {key} has no records"))?;
        first.set("eventSource", Json::str("cloudtrail.amazonaws.com"));
        first.set("eventName", Json::str("DescribeTrails"));
        let raw = json.to_compact(false).into_bytes();
        self.replace_object(key, gzip(&raw)?)?;
        Ok(sha256_hex(&raw))
    }

    /// The uncompressed bytes of log `key` as last written.
    pub fn log_raw(&self, key: &str) -> Result<Vec<u8>> {
        Ok(self
            .logs
            .get(key)
            .ok_or_else(|| anyhow!("no log {key}"))?
            .to_compact(false)
            .into_bytes())
    }

    /// Writes a file outside `bucket/`, relative to the scenario directory.
    pub fn put_outside(&mut self, path: &str, bytes: Vec<u8>) {
        self.outside.insert(path.to_owned(), bytes);
    }

    /// Marks digest `idx` as not authenticated by a correct verifier.
    pub fn mark_unauthenticated(&mut self, idx: usize) {
        self.digests[idx].authenticated = false;
    }

    /// Marks digest `idx` as unparseable (and so not authenticated).
    pub fn mark_malformed(&mut self, idx: usize) {
        self.digests[idx].parseable = false;
        self.digests[idx].authenticated = false;
    }

    /// Plants an expected finding on object `key` of the bucket.
    pub fn expect(&mut self, kind: Kind, key: &str) {
        self.findings.push(Finding::on(kind, key));
    }

    /// The default validity of listed keys: 30 days before the first digest
    /// to 30 days after the last.
    pub fn default_validity(&self) -> (Time, Time) {
        let first = self.digests.iter().map(|d| d.start).min().unwrap_or(0);
        let last = self.digests.iter().map(|d| d.end).max().unwrap_or(0);
        (first - 30 * DAY, last + 30 * DAY)
    }
}

/// Flips one hex nibble in the middle of `sig` (stays valid hex).
pub fn flip_hex(sig: &str) -> String {
    let mut chars: Vec<char> = sig.chars().collect();
    let i = chars.len() / 2;
    if let Some(c) = chars.get_mut(i) {
        *c = if *c == '0' { '1' } else { '0' };
    }
    chars.into_iter().collect()
}
