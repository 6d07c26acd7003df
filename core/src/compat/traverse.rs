//! The aws-cli traversal (`DigestProvider`, `DigestTraverser`,
//! `CloudTrailValidateLogs`), ported step by step. Comments name the Python
//! they follow; where Python raises, the same text reaches the same branch.

use super::pydate::{self, display};
use super::pyjson::{py_str, type_name};
use super::pyrsa::{b64decode, unhexlify, PyPublicKey, PyRsaError};
use super::{usage_error, AwsError, CompatArgs, CompatSource, Console};
use crate::gzip::{gunzip, GzipEnd};
use crate::time::{Timestamp, HOUR};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Inflated-size bound for digests (aws-cli has none; real digests are KB).
const DIGEST_LIMIT: u64 = 64 * 1024 * 1024;
const REQUIRED_KEYS: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// An exception that ends the command (rc 255): clidriver prints
/// `\n{text}\n` on stderr.
struct Fatal(String);

impl From<AwsError> for Fatal {
    fn from(e: AwsError) -> Self {
        Fatal(e.text())
    }
}

/// Exceptions inside the traversal's `try` block.
enum DigestFailure {
    /// botocore `ClientError`.
    Aws(AwsError),
    /// `DigestError`: the full status line.
    Digest(String),
    /// Any other exception: Python's `str(e)`.
    Other(String),
}

/// A `ValueError` raised while parsing a date (`str(e)`).
struct PyErr(String);

/// Which callback `_find_next_digest` invokes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Callback {
    Gap,
    Missing,
    Invalid,
}

struct Listing {
    id: (String, Option<String>, Timestamp, Timestamp),
    standard: Vec<String>,
    backfill: Vec<String>,
}

/// `DigestProvider`'s naming.
struct Provider {
    account: String,
    name: String,
    home: String,
    source: String,
    org: Option<String>,
}

impl Provider {
    fn root(&self) -> String {
        match &self.org {
            Some(org) => format!("AWSLogs/{org}/{}/CloudTrail-Digest/{}", self.account, self.source),
            None => format!("AWSLogs/{}/CloudTrail-Digest/{}", self.account, self.source),
        }
    }

    fn with_prefix(prefix: Option<&str>, key: String) -> String {
        match prefix {
            Some(p) if !p.is_empty() => format!("{p}/{key}"),
            _ => key,
        }
    }

    /// `_create_digest_key(start, prefix)`: the ListObjects marker.
    fn marker(&self, start: Timestamp, prefix: Option<&str>) -> String {
        let date = start.add_secs(-60);
        let key = format!(
            "{}/{}/{}_CloudTrail-Digest_{}_{}_{}_{}.json.gz",
            self.root(),
            date.date_folders(),
            self.account,
            self.source,
            self.name,
            self.home,
            date.key_form()
        );
        Self::with_prefix(prefix, key)
    }

    /// `_create_digest_prefix`.
    fn list_prefix(&self, prefix: Option<&str>) -> String {
        Self::with_prefix(prefix, self.root())
    }

    /// `_create_digest_key_regex(prefix)` matched against `key`:
    /// `^[prefix/]ROOT/\d+/\d+/\d+/ACCOUNT_CloudTrail-Digest_SRC_NAME_HOME_.+(?:_backfill)?\.json\.gz$`
    fn matches(&self, key: &str, prefix: Option<&str>) -> bool {
        // `$` also matches before one final newline.
        let key = key.strip_suffix('\n').unwrap_or(key);
        let head = format!("{}/", Self::with_prefix(prefix, self.root()));
        let Some(rest) = key.strip_prefix(&head) else {
            return false;
        };
        let mut parts = rest.splitn(4, '/');
        for _ in 0..3 {
            match parts.next() {
                Some(p) if !p.is_empty() && p.chars().all(|c| c.is_numeric()) => {}
                _ => return false,
            }
        }
        let Some(file) = parts.next() else { return false };
        let name_head = format!(
            "{}_CloudTrail-Digest_{}_{}_{}_",
            self.account, self.source, self.name, self.home
        );
        let Some(tail) = file.strip_prefix(&name_head) else {
            return false;
        };
        // `.+\.json\.gz`: at least one character, no newline.
        !tail.contains('\n') && tail.len() > ".json.gz".len() && tail.ends_with(".json.gz")
    }
}

/// `extract_digest_key_date`: `key[-24:-8]`, or `key[-33:-17]` for backfill.
fn key_date(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    let (a, b) = if key.ends_with("_backfill.json.gz") {
        (33, 17)
    } else {
        (24, 8)
    };
    let n = chars.len();
    let (start, end) = (n.saturating_sub(a), n.saturating_sub(b));
    if start >= end {
        return String::new();
    }
    chars[start..end].iter().collect()
}

fn is_backfill(key: &str) -> bool {
    key.ends_with("_backfill.json.gz")
}

/// `re.match(r'arn:.+:cloudtrail:.+:\d{12}:trail/.+', arn)`.
fn arn_is_valid(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let no_nl = |s: &str| !s.is_empty() && !s.contains('\n');
    rest.match_indices(":cloudtrail:").any(|(i, m)| {
        no_nl(&rest[..i]) && {
            let after = &rest[i + m.len()..];
            after.match_indices(":trail/").any(|(j, _)| {
                let before = &after[..j];
                let tail = &after[j + ":trail/".len()..];
                let bytes = before.as_bytes();
                // `.+:\d{12}` at the end of `before`, checked on bytes first so
                // that the split falls on the ASCII ':'.
                bytes.len() >= 14
                    && tail.chars().next().is_some_and(|c| c != '\n')
                    && bytes[bytes.len() - 13] == b':'
                    && bytes[bytes.len() - 12..].iter().all(u8::is_ascii_digit)
                    && no_nl(&before[..before.len() - 13])
            })
        }
    })
}

/// Python's `dict[key]` on a decoded JSON value: the exception text on failure.
fn index<'v>(v: &'v Value, key: &str) -> Result<&'v Value, String> {
    match v {
        Value::Object(m) => m.get(key).ok_or_else(|| format!("'{key}'")),
        Value::Array(_) => Err("list indices must be integers or slices, not str".into()),
        Value::String(_) => Err("string indices must be integers, not 'str'".into()),
        other => Err(format!("'{}' object is not subscriptable", type_name(other))),
    }
}

/// `parse_date(value)` then `normalize_date`.
fn parse_value_date(v: &Value, now: Timestamp) -> Result<Timestamp, String> {
    match v {
        Value::String(s) => pydate::parse(s, now).ok_or_else(|| format!("Unable to parse date value: {s}")),
        other => Err(format!(
            "Parser must be a string or character stream, not {}",
            type_name(other)
        )),
    }
}

struct Run<'a> {
    src: &'a mut dyn CompatSource,
    con: &'a mut dyn Console,
    verbose: bool,
    double: bool,
    now: Timestamp,
    start: Timestamp,
    end: Timestamp,
    provider: Provider,
    starting_bucket: String,
    starting_prefix: Option<String>,
    cache: Vec<Listing>,
    located: BTreeSet<String>,
    valid_digests: u64,
    invalid_digests: u64,
    valid_backfill: u64,
    invalid_backfill: u64,
    valid_logs: u64,
    invalid_logs: u64,
    found_start: Option<Timestamp>,
    found_end: Option<Timestamp>,
}

/// Runs `aws cloudtrail validate-logs` with `args`; returns the exit status.
pub fn run(args: &CompatArgs, src: &mut dyn CompatSource, con: &mut dyn Console) -> i32 {
    // argparse: required arguments.
    let mut missing = vec![];
    if args.trail_arn.is_none() {
        missing.push("--trail-arn");
    }
    if args.start_time.is_none() {
        missing.push("--start-time");
    }
    if !missing.is_empty() {
        con.err(&usage_error(&format!(
            "the following arguments are required: {}",
            missing.join(", ")
        )));
        return 2;
    }
    match setup_and_run(args, src, con) {
        Ok(rc) => rc,
        Err(Fatal(text)) => {
            con.err(&format!("\n{text}\n"));
            255
        }
    }
}

fn setup_and_run(args: &CompatArgs, src: &mut dyn CompatSource, con: &mut dyn Console) -> Result<i32, Fatal> {
    let (Some(arn), Some(start_text)) = (&args.trail_arn, &args.start_time) else {
        return Ok(2);
    };
    // handle_args
    let parse = |s: &str| pydate::parse(s, args.now).ok_or_else(|| Fatal(format!("Unable to parse date value: {s}")));
    let start = parse(start_text)?;
    let end = match &args.end_time {
        Some(e) if !e.is_empty() => parse(e)?,
        _ => args.now,
    };
    if start > end {
        return Err(Fatal(
            "Invalid time range specified: start-time must occur before end-time".into(),
        ));
    }
    // setup_services: clients need a region.
    if args.client_region.is_none() {
        con.err("You must specify a region. You can also configure your region by running \"aws configure\".\n");
        return Ok(255);
    }
    // create_digest_traverser
    if !arn_is_valid(arn) {
        return Err(Fatal(format!("Invalid trail ARN provided: {arn}")));
    }
    let mut org = None;
    let (bucket, prefix) = match &args.s3_bucket {
        Some(b) => (b.clone(), args.s3_prefix.clone()),
        None => {
            let info = src.describe_trail(arn).map_err(Fatal)?;
            if info.is_organization_trail {
                if args.account_id.as_deref().unwrap_or("").is_empty() {
                    return Err(Fatal(
                        "Missing required parameter for organization trail: '--account-id'".into(),
                    ));
                }
                org = Some(src.organization_id()?);
            }
            (info.bucket, info.prefix)
        }
    };
    let fields: Vec<&str> = arn.split(':').collect();
    let home = fields.get(3).copied().unwrap_or_default().to_string();
    let name = arn.rsplit('/').next().unwrap_or_default().to_string();
    let account = match args.account_id.as_deref() {
        Some(a) if !a.is_empty() => a.to_string(),
        _ => fields.get(4).copied().unwrap_or_default().to_string(),
    };
    let source = args.region_flag.clone().unwrap_or_else(|| home.clone());
    let mut run = Run {
        src,
        con,
        verbose: args.verbose,
        double: true,
        now: args.now,
        start,
        end,
        provider: Provider {
            account,
            name,
            home,
            source,
            org,
        },
        starting_bucket: bucket,
        starting_prefix: prefix,
        cache: vec![],
        located: BTreeSet::new(),
        valid_digests: 0,
        invalid_digests: 0,
        valid_backfill: 0,
        invalid_backfill: 0,
        valid_logs: 0,
        invalid_logs: 0,
        found_start: None,
        found_end: None,
    };
    // _write_startup_text
    run.con.out(&format!(
        "Validating log files for trail {arn} between {} and {}\n\n",
        display(start),
        display(end)
    ));
    run.traverse(false)?;
    run.traverse(true)?;
    run.summary();
    Ok(
        if run.invalid_digests + run.invalid_backfill > 0 || run.invalid_logs > 0 {
            1
        } else {
            0
        },
    )
}

impl Run<'_> {
    /// `_write_status`.
    fn status(&mut self, msg: &str, is_error: bool) {
        if is_error {
            if self.double {
                self.con.err(&format!("{msg}\n\n"));
            } else {
                self.con.err(&format!("\n{msg}\n\n"));
            }
            self.double = true;
        } else if self.verbose {
            self.double = false;
            self.con.out(&format!("{msg}\n"));
        }
    }

    /// `S3ClientProvider.get_client` (GetBucketLocation once per bucket).
    fn locate(&mut self, bucket: &str) -> Result<(), AwsError> {
        if !self.located.contains(bucket) {
            self.src.bucket_location(bucket)?;
            self.located.insert(bucket.to_string());
        }
        Ok(())
    }

    /// `load_digest_keys_in_range` (cached per (bucket, prefix, start, end)).
    fn listing(&mut self, bucket: &str, prefix: Option<&str>, end: Timestamp) -> Result<usize, AwsError> {
        let id = (bucket.to_string(), prefix.map(str::to_string), self.start, end);
        if let Some(i) = self.cache.iter().position(|l| l.id == id) {
            return Ok(i);
        }
        self.locate(bucket)?;
        let keys = self.src.list(
            bucket,
            &self.provider.list_prefix(prefix),
            &self.provider.marker(self.start, prefix),
        )?;
        let target_start = self.start.key_form();
        let target_end = end.add_secs(HOUR).key_form();
        let (mut standard, mut backfill) = (vec![], vec![]);
        for key in keys {
            if !self.provider.matches(&key, prefix) {
                continue;
            }
            let date = key_date(&key);
            if date > target_end {
                break;
            }
            if date < target_start {
                continue;
            }
            if is_backfill(&key) {
                backfill.push(key);
            } else {
                standard.push(key);
            }
        }
        // The walk reads these newest first, one at a time: an async front
        // end may start fetching them now; the output order is unchanged.
        let ahead: Vec<String> = standard.iter().rev().chain(backfill.iter().rev()).cloned().collect();
        self.src.digests_ahead(bucket, &ahead);
        self.cache.push(Listing { id, standard, backfill });
        Ok(self.cache.len() - 1)
    }

    fn list_mut(&mut self, idx: usize, backfill: bool) -> &mut Vec<String> {
        let l = &mut self.cache[idx];
        if backfill {
            &mut l.backfill
        } else {
            &mut l.standard
        }
    }

    /// `_get_last_digest(digests, before_key)`.
    fn last_digest(
        &mut self,
        idx: usize,
        backfill: bool,
        before: Option<&str>,
    ) -> Result<Option<(String, Timestamp)>, PyErr> {
        let now = self.now;
        let date_of = |k: &str| {
            let d = key_date(k);
            pydate::parse(&d, now).ok_or_else(|| PyErr(format!("Unable to parse date value: {d}")))
        };
        let before_date = before.map(date_of).transpose()?;
        let list = self.list_mut(idx, backfill);
        while let Some(k) = list.pop() {
            let d = date_of(&k)?;
            match before_date {
                None => return Ok(Some((k, d))),
                Some(b) if d < b => return Ok(Some((k, d))),
                Some(_) => {}
            }
        }
        Ok(None)
    }

    /// `_find_next_digest`, with the callbacks of `CloudTrailValidateLogs`.
    #[allow(clippy::too_many_arguments)]
    fn find_next(
        &mut self,
        idx: usize,
        backfill: bool,
        bucket: &str,
        last_key: &str,
        last_start: Timestamp,
        cb: Callback,
        message: Option<String>,
    ) -> Result<Option<(String, Timestamp)>, PyErr> {
        let next = self.last_digest(idx, backfill, Some(last_key))?;
        let p = if backfill { "(backfill) " } else { "" };
        match cb {
            Callback::Gap => {
                if let Some((_, next_end)) = &next {
                    let msg = format!(
                        "{p}No log files were delivered by CloudTrail between {} and {}",
                        display(*next_end),
                        display(last_start)
                    );
                    self.status(&msg, true);
                }
            }
            Callback::Missing => {
                self.count_invalid_digest(backfill);
                self.status(
                    &format!("{p}Digest file\ts3://{bucket}/{last_key}\tINVALID: not found"),
                    true,
                );
            }
            Callback::Invalid => {
                self.count_invalid_digest(backfill);
                self.status(&format!("{p}{}", message.unwrap_or_default()), true);
            }
        }
        Ok(next)
    }

    fn count_invalid_digest(&mut self, backfill: bool) {
        if backfill {
            self.invalid_backfill += 1;
        } else {
            self.invalid_digests += 1;
        }
    }

    /// `_load_public_keys`.
    fn public_keys(
        &mut self,
        start: Timestamp,
        end: Timestamp,
    ) -> Result<Result<BTreeMap<String, String>, String>, AwsError> {
        let keys = self.src.list_public_keys(start, end)?;
        if keys.is_empty() {
            return Ok(Err(format!(
                "No public keys found between {} and {}",
                display(start),
                display(end)
            )));
        }
        Ok(Ok(keys.into_iter().map(|k| (k.fingerprint, k.value)).collect()))
    }

    /// `traverse_digests` + `_traverse_digest_chain`, consuming each yielded
    /// digest as `_call` does.
    fn traverse(&mut self, backfill: bool) -> Result<(), Fatal> {
        let mut bucket = self.starting_bucket.clone();
        let prefix = self.starting_prefix.clone();
        let mut idx = self.listing(&bucket, prefix.as_deref(), self.end)?;
        let mut keys = if backfill {
            BTreeMap::new()
        } else {
            self.public_keys(self.start, self.end.add_secs(2 * HOUR))?
                .map_err(Fatal)?
        };
        let first = self.last_digest(idx, backfill, None).map_err(|PyErr(e)| Fatal(e))?;
        // `last_start_date` starts as the newest listed key's date.
        let mut last_start = first.as_ref().map_or(self.start, |f| f.1);
        let mut key = first.map(|f| f.0);
        while let Some(k) = key.take() {
            if self.start > last_start {
                break;
            }
            let failure = match self.load_and_validate(&mut keys, &bucket, &k, backfill) {
                Ok((digest, d_end)) => {
                    match self.after_load(
                        &digest,
                        d_end,
                        backfill,
                        &mut bucket,
                        prefix.as_deref(),
                        &mut idx,
                        &k,
                        &mut last_start,
                    )? {
                        Ok(next) => {
                            key = next;
                            continue;
                        }
                        Err(f) => f,
                    }
                }
                Err(f) => f,
            };
            // The `except` clauses; `last_start` keeps its stale value.
            let next = match failure {
                DigestFailure::Aws(e) if !e.is_no_such_key() => return Err(e.into()),
                DigestFailure::Aws(_) => {
                    self.find_next(idx, backfill, &bucket, &k, last_start, Callback::Missing, None)
                }
                DigestFailure::Digest(msg) => {
                    self.find_next(idx, backfill, &bucket, &k, last_start, Callback::Invalid, Some(msg))
                }
                DigestFailure::Other(text) => {
                    let msg = format!("Digest file\ts3://{bucket}/{k}\tINVALID: {text}");
                    self.find_next(idx, backfill, &bucket, &k, last_start, Callback::Invalid, Some(msg))
                }
            }
            .map_err(|PyErr(e)| Fatal(e))?;
            key = next.map(|n| n.0);
        }
        Ok(())
    }

    /// The rest of the `try` body once a digest validated: parse its start,
    /// yield it, then follow its pointer or look for the next listed key.
    /// Returns the next (key, end date) or the failure for the `except`s.
    #[allow(clippy::too_many_arguments)]
    fn after_load(
        &mut self,
        digest: &Map<String, Value>,
        d_end: Timestamp,
        backfill: bool,
        bucket: &mut String,
        prefix: Option<&str>,
        idx: &mut usize,
        key: &str,
        last_start: &mut Timestamp,
    ) -> Result<Result<Option<String>, DigestFailure>, Fatal> {
        let start_value = digest.get("digestStartTime").cloned().unwrap_or(Value::Null);
        match parse_value_date(&start_value, self.now) {
            Ok(t) => *last_start = t,
            Err(e) => return Ok(Err(DigestFailure::Other(e))),
        }
        let prev_bucket = digest.get("previousDigestS3Bucket").filter(|v| !v.is_null()).cloned();
        let prev_key = digest.get("previousDigestS3Object").filter(|v| !v.is_null()).cloned();
        self.consume(digest, backfill)?;
        match (prev_bucket, prev_key) {
            (Some(pb), Some(pk)) => {
                let next_key = match pk {
                    Value::String(s) => s,
                    other => {
                        return Ok(Err(DigestFailure::Other(format!(
                            "Parameter validation failed:\nInvalid type for parameter Key, value: {}, type: <class '{}'>, valid types: <class 'str'>",
                            py_str(&other),
                            type_name(&other)
                        ))))
                    }
                };
                let pb = py_str(&pb);
                if pb != *bucket {
                    *bucket = pb;
                    match self.listing(bucket, prefix, d_end) {
                        Ok(i) => *idx = i,
                        Err(e) => return Ok(Err(DigestFailure::Aws(e))),
                    }
                }
                Ok(Ok(Some(next_key)))
            }
            _ => match self.find_next(*idx, backfill, bucket, key, *last_start, Callback::Gap, None) {
                Ok(next) => Ok(Ok(next.map(|n| n.0))),
                Err(PyErr(e)) => Ok(Err(DigestFailure::Other(e))),
            },
        }
    }

    /// `fetch_digest` + `_load_and_validate_digest` + the validator.
    fn load_and_validate(
        &mut self,
        keys: &mut BTreeMap<String, String>,
        bucket: &str,
        key: &str,
        backfill: bool,
    ) -> Result<(Map<String, Value>, Timestamp), DigestFailure> {
        let invalid_format =
            || DigestFailure::Digest(format!("Digest file\ts3://{bucket}/{key}\tINVALID: invalid format"));
        let sig_failed = || {
            DigestFailure::Digest(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: signature verification failed"
            ))
        };
        let (object, meta) = self.src.get_digest(bucket, key).map_err(DigestFailure::Aws)?;
        // zlib.decompress(body, MAX_WBITS | 16): a complete member; anything after it is ignored.
        let inflated = match gunzip(&object, DIGEST_LIMIT) {
            Ok((bytes, GzipEnd::Complete { .. })) => bytes,
            _ => return Err(invalid_format()),
        };
        let value: Value = serde_json::from_slice(&inflated).map_err(|_| invalid_format())?;
        let (Some(signature), Some(_)) = (meta.get("signature"), meta.get("signature-algorithm")) else {
            return Err(sig_failed());
        };
        let obj = match value {
            Value::Object(m) => m,
            Value::Array(_) => {
                return Err(DigestFailure::Other(
                    "list indices must be integers or slices, not str".into(),
                ))
            }
            other => {
                return Err(DigestFailure::Other(format!(
                    "'{}' object does not support item assignment",
                    type_name(&other)
                )))
            }
        };
        if is_backfill(key) && !meta.contains_key("backfill-generation-timestamp") {
            return Err(invalid_format());
        }
        if REQUIRED_KEYS.iter().any(|k| !obj.contains_key(*k)) {
            return Err(invalid_format());
        }
        if obj["digestS3Bucket"] != Value::String(bucket.into()) || obj["digestS3Object"] != Value::String(key.into()) {
            return Err(DigestFailure::Digest(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: has been moved from its original location"
            )));
        }
        let fingerprint = &obj["digestPublicKeyFingerprint"];
        if matches!(fingerprint, Value::Array(_) | Value::Object(_)) {
            return Err(DigestFailure::Other(format!(
                "unhashable type: '{}'",
                type_name(fingerprint)
            )));
        }
        let fp = fingerprint.as_str().map(str::to_string);
        let known = |keys: &BTreeMap<String, String>| fp.as_ref().is_some_and(|f| keys.contains_key(f));
        if !known(keys) && backfill {
            let ts_text = meta.get("backfill-generation-timestamp").cloned().unwrap_or_default();
            let ts = pydate::parse(&ts_text, self.now)
                .ok_or_else(|| DigestFailure::Other(format!("Unable to parse date value: {ts_text}")))?;
            match self
                .public_keys(ts.add_secs(-HOUR), ts.add_secs(HOUR))
                .map_err(DigestFailure::Aws)?
            {
                Ok(more) => keys.extend(more),
                Err(e) => return Err(DigestFailure::Other(e)),
            }
        }
        let Some(value) = fp.as_ref().and_then(|f| keys.get(f)) else {
            return Err(DigestFailure::Digest(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: public key not found in region {} for fingerprint {}",
                self.provider.home,
                py_str(fingerprint)
            )));
        };
        // Sha256RSADigestValidator.validate
        let der = b64decode(value).map_err(DigestFailure::Other)?;
        let public_key = PyPublicKey::load_pkcs1(&der).map_err(|_| {
            DigestFailure::Digest(format!(
                "Digest file\ts3://{bucket}/{key}\tINVALID: Unable to load PKCS #1 key with fingerprint {}",
                py_str(fingerprint)
            ))
        })?;
        let previous = match &obj["previousDigestSignature"] {
            Value::Null => "null".to_string(),
            other => py_str(other),
        };
        let to_sign = format!(
            "{}\n{}/{}\n{}\n{}",
            py_str(&obj["digestEndTime"]),
            py_str(&obj["digestS3Bucket"]),
            py_str(&obj["digestS3Object"]),
            hex::encode(Sha256::digest(&inflated)),
            previous
        );
        let signature = unhexlify(signature).map_err(DigestFailure::Other)?;
        match public_key.verify(to_sign.as_bytes(), &signature) {
            Ok(()) => {}
            Err(PyRsaError::VerificationFailed) => return Err(sig_failed()),
            Err(PyRsaError::NotPkcs1) => return Err(sig_failed()),
            Err(PyRsaError::Other(text)) => return Err(DigestFailure::Other(text)),
        }
        let end = parse_value_date(&obj["digestEndTime"], self.now).map_err(DigestFailure::Other)?;
        Ok((obj, end))
    }

    /// The body of `_call`'s loop for one yielded digest.
    fn consume(&mut self, digest: &Map<String, Value>, backfill: bool) -> Result<(), Fatal> {
        // _track_found_times
        let get = |k: &str| digest.get(k).cloned().unwrap_or(Value::Null);
        let ds = parse_value_date(&get("digestStartTime"), self.now).map_err(Fatal)?;
        let de = parse_value_date(&get("digestEndTime"), self.now).map_err(Fatal)?;
        let earliest = ds.max(self.start);
        if self.found_start.is_none_or(|f| earliest < f) {
            self.found_start = Some(earliest);
        }
        let latest = de.min(self.end);
        if self.found_end.is_none_or(|f| latest > f) {
            self.found_end = Some(latest);
        }
        let p = if backfill {
            self.valid_backfill += 1;
            "(backfill) "
        } else {
            self.valid_digests += 1;
            ""
        };
        let line = format!(
            "{p}Digest file\ts3://{}/{}\tvalid",
            py_str(&get("digestS3Bucket")),
            py_str(&get("digestS3Object"))
        );
        self.status(&line, false);
        let logs = digest.get("logFiles").ok_or_else(|| Fatal("'logFiles'".into()))?;
        let items: Vec<Value> = match logs {
            Value::Null | Value::Bool(false) => return Ok(()),
            Value::Array(a) if a.is_empty() => return Ok(()),
            Value::Object(m) if m.is_empty() => return Ok(()),
            Value::String(s) if s.is_empty() => return Ok(()),
            Value::Number(n) if n.as_f64() == Some(0.0) => return Ok(()),
            Value::Array(a) => a.clone(),
            Value::Object(m) => m.keys().map(|k| Value::String(k.clone())).collect(),
            Value::String(s) => s.chars().map(|c| Value::String(c.to_string())).collect(),
            other => return Err(Fatal(format!("'{}' object is not iterable", type_name(other)))),
        };
        // Fetch the well-formed entries up front (possibly concurrently);
        // judge every entry in order, as aws-cli does one at a time.
        let wanted: Vec<(String, String)> = items
            .iter()
            .filter_map(|log| match (index(log, "s3Bucket"), index(log, "s3Object")) {
                (Ok(Value::String(b)), Ok(Value::String(k))) => Some((b.clone(), k.clone())),
                _ => None,
            })
            .collect();
        let mut fetched = self.src.get_logs(&wanted).into_iter();
        for log in &items {
            let well_formed = matches!(
                (index(log, "s3Bucket"), index(log, "s3Object")),
                (Ok(Value::String(_)), Ok(Value::String(_)))
            );
            let result = if well_formed { fetched.next() } else { None };
            self.download_log(log, result)?;
        }
        Ok(())
    }

    /// `_download_log`, given the GetObject result for well-formed entries.
    fn download_log(
        &mut self,
        log: &Value,
        fetched: Option<Result<super::StreamedLog, AwsError>>,
    ) -> Result<(), Fatal> {
        let bucket = match index(log, "s3Bucket") {
            Ok(Value::String(b)) => b.clone(),
            _ => return self.invalid_log_format(log),
        };
        self.locate(&bucket)?;
        let key = match index(log, "s3Object") {
            Ok(Value::String(k)) => k.clone(),
            _ => return self.invalid_log_format(log),
        };
        let Some(fetched) = fetched else {
            return self.invalid_log_format(log);
        };
        let streamed = match fetched {
            Ok(s) => s,
            Err(e) if e.is_no_such_key() => {
                self.invalid_logs += 1;
                self.status(&format!("Log file\ts3://{bucket}/{key}\tINVALID: not found"), true);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        if streamed.corrupt {
            return self.invalid_log_format(log);
        }
        if streamed.trailing {
            self.invalid_logs += 1;
            self.status(
                &format!("Log file\ts3://{bucket}/{key}\tINVALID: unexpected data after end of compressed stream"),
                true,
            );
            return Ok(());
        }
        let Ok(expected) = index(log, "hashValue") else {
            return self.invalid_log_format(log);
        };
        if *expected != Value::String(hex::encode(streamed.sha256)) {
            self.invalid_logs += 1;
            self.status(
                &format!("Log file\ts3://{bucket}/{key}\tINVALID: hash value doesn't match"),
                true,
            );
        } else {
            self.valid_logs += 1;
            self.status(&format!("Log file\ts3://{bucket}/{key}\tvalid"), false);
        }
        Ok(())
    }

    /// `_on_invalid_log_format` (whose own indexing may raise: fatal).
    fn invalid_log_format(&mut self, log: &Value) -> Result<(), Fatal> {
        let bucket = py_str(index(log, "s3Bucket").map_err(Fatal)?);
        let key = py_str(index(log, "s3Object").map_err(Fatal)?);
        self.invalid_logs += 1;
        self.status(&format!("Log file\ts3://{bucket}/{key}\tINVALID: invalid format"), true);
        Ok(())
    }

    /// `_write_summary_text`.
    fn summary(&mut self) {
        let mut out = String::new();
        if !self.double {
            out.push('\n');
        }
        out.push_str(&format!(
            "Results requested for {} to {}\n",
            display(self.start),
            display(self.end)
        ));
        let valid = self.valid_digests + self.valid_backfill;
        let invalid = self.invalid_digests + self.invalid_backfill;
        if valid == 0 && invalid == 0 {
            out.push_str("No digests found\n");
            self.con.out(&out);
            return;
        }
        match (self.found_start, self.found_end) {
            (Some(s), Some(e)) => out.push_str(&format!("Results found for {} to {}:\n", display(s), display(e))),
            _ => out.push_str("No valid digests found in range\n"),
        }
        for (v, i, name) in [
            (self.valid_digests, self.invalid_digests, "digest"),
            (self.valid_backfill, self.invalid_backfill, "backfill digest"),
            (self.valid_logs, self.invalid_logs, "log"),
        ] {
            let total = v + i;
            if total > 0 {
                out.push_str(&format!("\n{v}/{total} {name} files valid"));
                if i > 0 {
                    out.push_str(&format!(", {i}/{total} {name} files INVALID"));
                }
            }
        }
        out.push('\n');
        self.con.out(&out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arn_regex() {
        assert!(arn_is_valid("arn:aws:cloudtrail:us-east-1:111122223333:trail/demo"));
        assert!(arn_is_valid("arn:aws:cloudtrail:us-east-1:111122223333:trail/x/y"));
        assert!(!arn_is_valid("arn:aws:cloudtrail:us-east-1:11112222333:trail/demo"));
        assert!(!arn_is_valid("arn:aws:s3:::bucket"));
        assert!(!arn_is_valid("arn:aws:cloudtrail:us-east-1:111122223333:trail/"));
        assert!(!arn_is_valid("xarn:aws:cloudtrail:us-east-1:111122223333:trail/demo"));
        assert!(!arn_is_valid("arn:aws:cloudtrail:us-east-1:11112222333é:trail/demo"));
        assert!(!arn_is_valid("arn:é:cloudtrail:éééééééééééééé:trail/x"));
    }

    #[test]
    fn key_dates() {
        let k = "AWSLogs/1/CloudTrail-Digest/r/2024/03/01/1_CloudTrail-Digest_r_demo_r_20240301T011728Z.json.gz";
        assert_eq!(key_date(k), "20240301T011728Z");
        let b = "AWSLogs/1/x_demo_r_20240301T011728Z_backfill.json.gz";
        assert_eq!(key_date(b), "20240301T011728Z");
        assert_eq!(key_date("short"), "");
    }

    #[test]
    fn loose_regex_matches_foreign_trail() {
        let p = Provider {
            account: "1".into(),
            name: "audit".into(),
            home: "r-1".into(),
            source: "r-1".into(),
            org: None,
        };
        let ours =
            "AWSLogs/1/CloudTrail-Digest/r-1/2024/03/01/1_CloudTrail-Digest_r-1_audit_r-1_20240301T011728Z.json.gz";
        let foreign = "AWSLogs/1/CloudTrail-Digest/r-1/2024/03/01/1_CloudTrail-Digest_r-1_audit_r-1_x_r-1_20240301T011728Z.json.gz";
        assert!(p.matches(ours, None));
        assert!(p.matches(foreign, None), "aws-cli's regex quirk");
        assert!(!p.matches(
            "AWSLogs/1/CloudTrail-Digest/r-1/2024/03/01/1_CloudTrail-Digest_r-1_audit_r-1_.json.gz",
            None
        ));
    }
}
