//! `ctverify validate --compat --local DIR`: aws-cli's `validate-logs`
//! over a local copy, reading as if the objects were in S3 (the traversal
//! and output live in `ctverify_core::compat`).

use crate::args::{Format, ValidateArgs};
use crate::local::LocalStore;
use ctverify_core::compat::{
    self, ApiPublicKey, ArnParts, AwsError, CompatArgs, CompatSource, Console, SavedKey, StreamedLog, TrailInfo,
};
use ctverify_core::digest::{MAX_DIGEST_INFLATED, MAX_DIGEST_OBJECT};
use ctverify_core::gzip::GzipDecoder;
use ctverify_core::layout::DigestKeyName;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{Metadata, ReadFailure};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::Write;

/// The local bucket copy seen through S3/CloudTrail/Organizations calls.
struct LocalSource {
    store: LocalStore,
    keys: Vec<SavedKey>,
    listing: Option<Vec<String>>,
    org_id: Option<String>,
    /// Digest keys the walk announced (`digests_ahead`), not yet fetched.
    upcoming: VecDeque<String>,
    /// Digests fetched ahead, in parallel, a window at a time.
    fetched: HashMap<String, DigestObject>,
}

/// What `GetObject` of a digest answers.
type DigestObject = Result<(Vec<u8>, BTreeMap<String, String>), AwsError>;

/// Digests read ahead at a time (bounds the memory of the prefetch).
const AHEAD: usize = 64;

fn denied(operation: &str) -> AwsError {
    AwsError {
        code: "AccessDenied".into(),
        message: "Access Denied".into(),
        operation: operation.into(),
    }
}

impl LocalSource {
    fn keys(&mut self) -> Result<&[String], AwsError> {
        if self.listing.is_none() {
            self.listing = Some(self.store.list().map_err(|_| denied("ListObjects"))?);
        }
        Ok(self.listing.as_deref().unwrap_or_default())
    }
}

impl CompatSource for LocalSource {
    /// What DescribeTrails would say, read off the copy: the bucket named by
    /// the trail's digests, their prefix, and whether they sit under an
    /// organization folder.
    fn describe_trail(&mut self, arn: &str) -> Result<TrailInfo, String> {
        let ArnParts {
            home_region: home,
            account,
            name,
        } = ArnParts::of(arn);
        let keys = self.keys().map_err(|e| e.text())?.to_vec();
        let ours: Vec<(String, DigestKeyName)> = keys
            .iter()
            .cloned()
            .filter_map(|k| DigestKeyName::parse(&k).map(|n| (k, n)))
            .filter(|(_, n)| {
                n.chain.trail == name
                    && n.chain.home_region == home
                    && (n.chain.org.is_some() || n.chain.account == account)
            })
            .collect();
        let org = ours.iter().find_map(|(_, n)| n.chain.org.clone());
        let prefix = ours
            .iter()
            .find(|(_, n)| n.chain.org == org)
            .and_then(|(_, n)| (!n.chain.prefix.is_empty()).then(|| n.chain.prefix.clone()));
        // The bucket the trail delivers to: the first of its digests that
        // still names one (leniently read: a damaged digest must not hide it).
        // Failing that, any digest of the copy: it is one bucket.
        let read_bucket = |k: &str| {
            self.store
                .read_object(k, MAX_DIGEST_OBJECT)
                .ok()
                .and_then(|b| bucket_named_in(&b))
        };
        let bucket = ours
            .iter()
            .filter(|(_, n)| n.chain.org == org)
            .find_map(|(k, _)| read_bucket(k))
            .or_else(|| {
                keys.iter()
                    .filter(|k| DigestKeyName::parse(k).is_some())
                    .find_map(|k| read_bucket(k))
            })
            .unwrap_or_else(|| "unknown-bucket".into());
        self.org_id = org.clone();
        Ok(TrailInfo {
            bucket,
            prefix,
            is_organization_trail: org.is_some(),
        })
    }

    fn organization_id(&mut self) -> Result<String, AwsError> {
        self.org_id.clone().ok_or_else(|| AwsError {
            code: "AWSOrganizationsNotInUseException".into(),
            message: "Your account is not a member of an organization.".into(),
            operation: "DescribeOrganization".into(),
        })
    }

    fn bucket_location(&mut self, _bucket: &str) -> Result<(), AwsError> {
        Ok(())
    }

    fn list(&mut self, _bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, AwsError> {
        Ok(self
            .keys()?
            .iter()
            .filter(|k| k.starts_with(prefix) && k.as_str() > marker)
            .cloned()
            .collect())
    }

    fn digests_ahead(&mut self, _bucket: &str, keys: &[String]) {
        self.upcoming = keys.iter().cloned().collect();
        self.fetched.clear();
    }

    fn get_digest(&mut self, _bucket: &str, key: &str) -> DigestObject {
        // The walk reads in the announced order (skipping a few): when the
        // key is near the front, read the next window on all cores.
        let near = self.upcoming.iter().take(4 * AHEAD).position(|k| k == key);
        if let (false, Some(skip)) = (self.fetched.contains_key(key), near) {
            use rayon::prelude::*;
            self.upcoming.drain(..skip);
            let n = self.upcoming.len().min(AHEAD);
            let window: Vec<String> = self.upcoming.drain(..n).collect();
            let store = &self.store;
            let read: Vec<(String, DigestObject)> = window
                .into_par_iter()
                .map(|k| (k.clone(), read_digest(store, &k)))
                .collect();
            // At most one window is held (anything left over is read again
            // on demand).
            self.fetched.clear();
            self.fetched.extend(read);
        }
        match self.fetched.remove(key) {
            Some(answer) => answer,
            None => read_digest(&self.store, key),
        }
    }

    fn get_log(&mut self, _bucket: &str, key: &str) -> Result<StreamedLog, AwsError> {
        stream_log(&self.store, key)
    }

    /// The logs of one digest, hashed in parallel on all cores.
    fn get_logs(&mut self, logs: &[(String, String)]) -> Vec<Result<StreamedLog, AwsError>> {
        use rayon::prelude::*;
        let store = &self.store;
        logs.par_iter().map(|(_, key)| stream_log(store, key)).collect()
    }

    fn list_public_keys(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<ApiPublicKey>, AwsError> {
        Ok(compat::in_window(&self.keys, start, end))
    }
}

/// GetObject + streaming gunzip/SHA-256 of one log in the copy.
fn stream_log(store: &LocalStore, key: &str) -> Result<StreamedLog, AwsError> {
    // aws-cli inflates whatever it gets: no ratio limit, only the old
    // 16 GiB ceiling, so that --compat judges bombs exactly as it does.
    let budget = ctverify_core::logs::LogBudget::size_only(16 * 1024 * 1024 * 1024);
    match store.hash_log(key, budget) {
        Ok(h) => Ok(StreamedLog::from_hashed(&h)),
        Err(ReadFailure::NotFound | ReadFailure::Unsafe) => Err(AwsError::no_such_key()),
        Err(ReadFailure::Other(_)) => Err(denied("GetObject")),
    }
}

/// `digestS3Bucket` of a digest object, read leniently: whatever the first
/// gzip member inflates to before any error, parsed as JSON, or else
/// scanned for the field (it comes early in every digest).
fn bucket_named_in(object: &[u8]) -> Option<String> {
    let mut decoder = GzipDecoder::new(MAX_DIGEST_INFLATED);
    let mut inflated = Vec::new();
    // An error may come after the field was inflated (a bad CRC, a flipped bit).
    let _ = decoder.update(object, &mut |piece| inflated.extend_from_slice(piece));
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&inflated) {
        return value.get("digestS3Bucket")?.as_str().map(str::to_string);
    }
    let text = String::from_utf8_lossy(&inflated);
    let after = text
        .split_once("\"digestS3Bucket\"")?
        .1
        .trim_start()
        .strip_prefix(':')?
        .trim_start();
    let mut stream = serde_json::Deserializer::from_str(after).into_iter::<serde_json::Value>();
    match stream.next() {
        Some(Ok(serde_json::Value::String(b))) => Some(b),
        _ => None,
    }
}

/// Writes straight to the process's stdout and stderr.
pub struct StdConsole;

impl Console for StdConsole {
    fn out(&mut self, text: &str) {
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
    }

    fn err(&mut self, text: &str) {
        let mut e = std::io::stderr().lock();
        let _ = e.write_all(text.as_bytes()).and_then(|()| e.flush());
    }
}

/// Runs `--compat`; returns aws-cli's exit status.
pub fn run(args: &ValidateArgs, now: Timestamp) -> u8 {
    let fail = |msg: &str| {
        eprintln!("ctverify: error: {msg}");
        2
    };
    if args.format == Format::Json || args.allow_gaps {
        return fail("--format json and --allow-gaps are not validate-logs flags; --compat prints aws-cli's text");
    }
    if args.region.len() > 1 || args.account_id.len() > 1 {
        return fail("--compat takes one --region and one --account-id, like aws-cli");
    }
    if args.local.is_some() && args.public_keys.is_empty() {
        return fail("--local needs --public-keys FILE");
    }
    let region_flag = args.region.first().cloned();
    let env_region = || {
        ["AWS_DEFAULT_REGION", "AWS_REGION"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|r| !r.is_empty()))
    };
    // S3: the SDK's chain (flag, environment, profile); a local copy: the
    // flag or the environment.
    let s3 = match &args.local {
        Some(_) => None,
        None => match crate::s3::runtime() {
            Ok(rt) => {
                let aws = rt.block_on(crate::s3::client::Aws::connect(&crate::s3::client::Connection {
                    profile: args.profile.clone(),
                    endpoint_url: args.endpoint_url.clone(),
                    region: region_flag.clone(),
                    limits: crate::config::limits(args),
                }));
                Some((rt, aws))
            }
            Err(e) => return fail(&format!("{e:#}")),
        },
    };
    let client_region = region_flag.clone().or_else(env_region).or_else(|| {
        s3.as_ref()
            .and_then(|(_, aws)| aws.configured_region().map(str::to_string))
    });
    let mut keys = Vec::new();
    for path in &args.public_keys {
        let loaded = crate::config::read_bounded(path, ctverify_core::keys::MAX_KEY_FILE as u64)
            .map_err(|e| e.to_string())
            .and_then(|b| compat::saved_keys(&b, client_region.as_deref().unwrap_or("")));
        match loaded {
            Ok(k) => keys.extend(k),
            Err(e) => return fail(&format!("reading public keys {}: {e}", path.display())),
        }
    }
    let compat_args = CompatArgs {
        trail_arn: args.trail_arn.clone(),
        start_time: args.start_time.clone(),
        end_time: args.end_time.clone(),
        s3_bucket: args.s3_bucket.clone(),
        s3_prefix: args.s3_prefix.clone(),
        account_id: args.account_id.first().cloned(),
        verbose: args.verbose,
        region_flag,
        client_region,
        now,
    };
    let rc = match (&args.local, s3) {
        (Some(dir), _) => {
            let store = match LocalStore::open(dir) {
                Ok(s) => s,
                Err(e) => return fail(&format!("{e:#}")),
            };
            let mut source = LocalSource {
                store,
                keys,
                listing: None,
                org_id: None,
                upcoming: VecDeque::new(),
                fetched: HashMap::new(),
            };
            compat::run(&compat_args, &mut source, &mut StdConsole)
        }
        (None, Some((rt, aws))) => {
            let saved = (!args.public_keys.is_empty()).then_some(keys);
            let mut source = crate::s3::compat::S3Source::new(rt.handle().clone(), aws, usize::from(args.jobs), saved);
            compat::run(&compat_args, &mut source, &mut StdConsole)
        }
        (None, None) => return fail("no source"),
    };
    u8::try_from(rc).unwrap_or(255)
}

/// `GetObject` of a digest in the copy: bytes and user metadata.
fn read_digest(store: &LocalStore, key: &str) -> DigestObject {
    let bytes = match store.read_object(key, MAX_DIGEST_OBJECT) {
        Ok(b) => b,
        Err(ReadFailure::NotFound | ReadFailure::Unsafe) => return Err(AwsError::no_such_key()),
        Err(ReadFailure::Other(_)) => return Err(denied("GetObject")),
    };
    let meta = match store.metadata(key) {
        Metadata::Present(m) => m,
        _ => BTreeMap::new(),
    };
    Ok((bytes, meta))
}
