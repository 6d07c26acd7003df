//! `--compat` over S3: aws-cli's `validate-logs` walk (in
//! `ctverify_core::compat`, shared with the local copy) reading the real
//! bucket. The walk is sequential, as aws-cli's is; this source fetches
//! ahead: the digests the walk announces are fetched concurrently, and the
//! logs of each digest are fetched and hashed concurrently, so the output
//! (aws-cli's, in aws-cli's order) comes many times faster.
//!
//! `DescribeOrganization` is not called: the organization id of an
//! organization trail is read off the trail bucket's `AWSLogs/o-…/` folder
//! (the id that delivered there), a documented difference from aws-cli.

use super::body::Buffered;
use super::client::Aws;
use super::store::{Fault, S3Store};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use ctverify_core::compat::{self, ApiPublicKey, AwsError, CompatSource, SavedKey, StreamedLog, TrailInfo};
use ctverify_core::digest::MAX_DIGEST_OBJECT;
use ctverify_core::logs::LogBudget;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::Metadata;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio::runtime::Handle;
use tokio::task::JoinHandle;

/// What `GetObject` of a digest answers.
type DigestObject = Result<(Vec<u8>, BTreeMap<String, String>), AwsError>;

/// Digests fetched ahead at most (bounds memory: digests are small).
const AHEAD: usize = 64;

/// The S3/CloudTrail side of a compat run.
pub struct S3Source {
    rt: Handle,
    aws: Aws,
    jobs: usize,
    /// `--public-keys` (else `ListPublicKeys` in the client region).
    saved_keys: Option<Vec<SavedKey>>,
    /// One store per bucket, in the bucket's region.
    stores: HashMap<String, S3Store>,
    /// The trail's bucket and prefix (for the organization id).
    trail: Option<TrailInfo>,
    /// Digest keys the walk announced, not yet fetched.
    upcoming: VecDeque<String>,
    /// Digests being fetched ahead.
    fetching: HashMap<String, JoinHandle<DigestObject>>,
}

impl S3Source {
    /// A source reading through `aws`; `rt` runs the requests (this source
    /// is called from a thread outside the runtime).
    pub fn new(rt: Handle, aws: Aws, jobs: usize, saved_keys: Option<Vec<SavedKey>>) -> S3Source {
        S3Source {
            rt,
            aws,
            jobs,
            saved_keys,
            stores: HashMap::new(),
            trail: None,
            upcoming: VecDeque::new(),
            fetching: HashMap::new(),
        }
    }

    fn store(&mut self, bucket: &str) -> S3Store {
        if let Some(s) = self.stores.get(bucket) {
            return s.clone();
        }
        let region = self.rt.block_on(self.aws.bucket_region(bucket)).ok();
        let store = S3Store::new(self.aws.s3(region.as_deref()), bucket, self.jobs, self.aws.limits());
        self.stores.insert(bucket.to_string(), store.clone());
        store
    }
}

/// aws-cli's view of an S3 error: `An error occurred (Code) when calling
/// the Operation operation: Message`.
fn aws_error<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    operation: &str,
    e: SdkError<E, R>,
) -> AwsError {
    AwsError {
        code: e.code().unwrap_or("RequestError").to_string(),
        message: e
            .message()
            .map_or_else(|| DisplayErrorContext(&e).to_string(), str::to_string),
        operation: operation.to_string(),
    }
}

fn fault_error(f: Fault) -> AwsError {
    match f {
        Fault::NotFound => AwsError::no_such_key(),
        Fault::Service { code, message } => AwsError {
            code,
            message,
            operation: "GetObject".into(),
        },
        Fault::Other(message) => AwsError {
            code: "RequestError".into(),
            message,
            operation: "GetObject".into(),
        },
    }
}

async fn fetch_digest(store: S3Store, key: String) -> DigestObject {
    // aws-cli's parser accepts more than the strict one: bytes the strict
    // one refuses are read a second time when no checksum vouched for them.
    let got = store
        .read_small(&key, MAX_DIGEST_OBJECT, super::strict::not_a_digest)
        .await
        .map_err(fault_error)?;
    let bytes = got.bytes;
    let map = match got.metadata {
        Metadata::Present(m) => m,
        _ => BTreeMap::new(),
    };
    Ok((bytes, map))
}

async fn fetch_log(store: S3Store, key: String) -> Result<StreamedLog, AwsError> {
    // aws-cli inflates whatever it gets: no ratio limit, only the old
    // 16 GiB ceiling (as the local compat source).
    let budget = LogBudget::size_only(16 * 1024 * 1024 * 1024);
    match store.hash_log(&key, Some(budget), None, None).await {
        Ok(Some(h)) => Ok(StreamedLog::from_hashed(&h)),
        Ok(None) => Err(fault_error(Fault::Other("not hashed".into()))),
        Err(f) => Err(fault_error(f)),
    }
}

impl CompatSource for S3Source {
    fn describe_trail(&mut self, arn: &str) -> Result<TrailInfo, String> {
        let client = self.aws.cloudtrail(None);
        let out = self
            .rt
            .block_on(client.describe_trails().send())
            .map_err(|e| aws_error("DescribeTrails", e).text())?;
        let t = out
            .trail_list()
            .iter()
            .find(|t| t.trail_arn() == Some(arn))
            .ok_or_else(|| format!("A trail could not be found for {arn}"))?;
        let info = TrailInfo {
            bucket: t.s3_bucket_name().unwrap_or_default().to_string(),
            prefix: t.s3_key_prefix().map(str::to_string),
            is_organization_trail: t.is_organization_trail() == Some(true),
        };
        self.trail = Some(info.clone());
        Ok(info)
    }

    fn organization_id(&mut self) -> Result<String, AwsError> {
        let not_in_use = || AwsError {
            code: "AWSOrganizationsNotInUseException".into(),
            message: "Your account is not a member of an organization.".into(),
            operation: "DescribeOrganization".into(),
        };
        let Some(trail) = self.trail.clone() else {
            return Err(not_in_use());
        };
        let store = self.store(&trail.bucket);
        let root = match trail.prefix.as_deref() {
            Some(p) if !p.is_empty() => format!("{p}/AWSLogs/"),
            _ => "AWSLogs/".to_string(),
        };
        // A listing that fails is that error, not "no organization".
        let listed = self
            .rt
            .block_on(store.list_all(&root, true, None, None))
            .map_err(|e| AwsError {
                code: e.code,
                message: e.message,
                operation: "ListObjects".into(),
            })?;
        listed
            .prefixes
            .iter()
            .filter_map(|p| p.strip_prefix(&root)?.strip_suffix('/'))
            .find(|id| id.starts_with("o-"))
            .map(str::to_string)
            .ok_or_else(not_in_use)
    }

    fn bucket_location(&mut self, bucket: &str) -> Result<(), AwsError> {
        let client = self.aws.s3(None);
        let out = self
            .rt
            .block_on(
                client
                    .get_bucket_location()
                    .bucket(bucket)
                    .customize()
                    .interceptor(Buffered::answer())
                    .send(),
            )
            .map_err(|e| aws_error("GetBucketLocation", e))?;
        let region = out
            .location_constraint()
            .map(|c| c.as_str().to_string())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        let store = S3Store::new(self.aws.s3(Some(&region)), bucket, self.jobs, self.aws.limits());
        self.stores.insert(bucket.to_string(), store);
        Ok(())
    }

    fn list(&mut self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, AwsError> {
        let store = self.store(bucket);
        let after = (!marker.is_empty()).then_some(marker);
        match self.rt.block_on(store.list_all(prefix, false, after, None)) {
            Ok(listed) => Ok(listed.keys),
            Err(e) => Err(AwsError {
                code: e.code,
                message: e.message,
                operation: "ListObjects".into(),
            }),
        }
    }

    fn digests_ahead(&mut self, _bucket: &str, keys: &[String]) {
        for (_, h) in self.fetching.drain() {
            h.abort();
        }
        self.upcoming = keys.iter().cloned().collect();
    }

    fn get_digest(&mut self, bucket: &str, key: &str) -> DigestObject {
        let store = self.store(bucket);
        // The walk reads in the announced order (skipping some): keep the
        // next window in flight.
        if let Some(skip) = self.upcoming.iter().take(4 * AHEAD).position(|k| k == key) {
            self.upcoming.drain(..skip);
        }
        while self.fetching.len() < AHEAD {
            let Some(next) = self.upcoming.pop_front() else { break };
            let task = self.rt.spawn(fetch_digest(store.clone(), next.clone()));
            self.fetching.insert(next, task);
        }
        let task = match self.fetching.remove(key) {
            Some(t) => t,
            None => self.rt.spawn(fetch_digest(store, key.to_string())),
        };
        self.rt
            .block_on(task)
            .unwrap_or_else(|e| Err(fault_error(Fault::Other(e.to_string()))))
    }

    fn get_log(&mut self, bucket: &str, key: &str) -> Result<StreamedLog, AwsError> {
        let store = self.store(bucket);
        self.rt.block_on(fetch_log(store, key.to_string()))
    }

    /// The logs of one digest, fetched and hashed concurrently; consumed in
    /// order by the walk.
    fn get_logs(&mut self, logs: &[(String, String)]) -> Vec<Result<StreamedLog, AwsError>> {
        let tasks: Vec<_> = logs
            .iter()
            .map(|(b, k)| {
                let store = self.store(b);
                self.rt.spawn(fetch_log(store, k.clone()))
            })
            .collect();
        self.rt.block_on(async {
            let mut out = Vec::with_capacity(tasks.len());
            for t in tasks {
                out.push(
                    t.await
                        .unwrap_or_else(|e| Err(fault_error(Fault::Other(e.to_string())))),
                );
            }
            out
        })
    }

    /// `--public-keys` when given; else one `ListPublicKeys` call in the
    /// client region, `NextToken` ignored (as aws-cli).
    fn list_public_keys(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<ApiPublicKey>, AwsError> {
        if let Some(saved) = &self.saved_keys {
            return Ok(compat::in_window(saved, start, end));
        }
        use aws_sdk_cloudtrail::primitives::DateTime;
        use base64::Engine;
        let client = self.aws.cloudtrail(None);
        let out = self
            .rt
            .block_on(
                client
                    .list_public_keys()
                    .start_time(DateTime::from_secs(start.unix()))
                    .end_time(DateTime::from_secs(end.unix()))
                    .send(),
            )
            .map_err(|e| aws_error("ListPublicKeys", e))?;
        Ok(out
            .public_key_list()
            .iter()
            .filter_map(|k| {
                Some(ApiPublicKey {
                    fingerprint: k.fingerprint()?.to_string(),
                    value: base64::engine::general_purpose::STANDARD.encode(k.value()?.as_ref()),
                })
            })
            .collect())
    }
}
