//! AWS clients: the standard credential chain (`--profile`), the client
//! region, `--endpoint-url` for S3-compatible servers (path-style
//! addressing), retries with backoff, and the bucket's own region
//! (discovered with `HeadBucket`, never assumed).

use super::body::Buffered;
use super::limits::Limits;
use anyhow::Result;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use std::time::Duration;

/// Attempts per request (the SDK's standard retry mode: exponential backoff
/// with jitter on throttling, 5xx, timeouts and connection errors).
pub const MAX_ATTEMPTS: u32 = 6;

/// How to reach AWS (or an S3-compatible server).
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url` (S3 and CloudTrail).
    pub endpoint_url: Option<String>,
    /// Region of the CloudTrail calls (and of the first S3 call): the
    /// trail's home region, else the configured one.
    pub region: Option<String>,
    /// Timeouts, deadlines and backoff.
    pub limits: Limits,
}

/// The loaded SDK configuration and the clients built from it.
#[derive(Clone)]
pub struct Aws {
    sdk: SdkConfig,
    configured: Option<String>,
    endpoint_url: Option<String>,
    limits: Limits,
}

impl Aws {
    /// Loads the standard chain (environment, shared profiles, SSO, web
    /// identity, IMDS). The region falls back to `us-east-1` when neither
    /// the ARN nor the configuration names one (S3 tells the bucket's own).
    pub async fn connect(conn: &Connection) -> Aws {
        let limits = conn.limits;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(limits.backoff)
                    .with_max_backoff(limits.backoff * 20),
            )
            .timeout_config(
                // An attempt waits at most `attempt_timeout` for its answer
                // (a GET's headers, a whole listing page); all attempts of
                // one call end within the deadline. Bodies read as streams
                // are paced in `store`.
                TimeoutConfig::builder()
                    .connect_timeout(limits.attempt_timeout.min(Duration::from_secs(10)))
                    .read_timeout(limits.attempt_timeout)
                    .operation_attempt_timeout(limits.attempt_timeout)
                    .operation_timeout(limits.deadline)
                    .build(),
            );
        if let Some(p) = &conn.profile {
            loader = loader.profile_name(p);
        }
        if let Some(r) = &conn.region {
            loader = loader.region(Region::new(r.clone()));
        }
        let mut sdk = loader.load().await;
        let configured = sdk.region().map(|r| r.to_string());
        if sdk.region().is_none() {
            sdk = sdk.into_builder().region(Region::from_static("us-east-1")).build();
        }
        Aws {
            sdk,
            configured,
            endpoint_url: conn.endpoint_url.clone(),
            limits,
        }
    }

    /// The run's timeouts, deadlines and backoff.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The region given or configured (`None`: none was, `us-east-1` is used).
    pub fn configured_region(&self) -> Option<&str> {
        self.configured.as_deref()
    }

    /// The client region.
    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map_or_else(|| "us-east-1".to_string(), |r| r.to_string())
    }

    /// An S3 client for `region` (`None`: the client region).
    pub fn s3(&self, region: Option<&str>) -> aws_sdk_s3::Client {
        let mut b = aws_sdk_s3::config::Builder::from(&self.sdk);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_string()));
        }
        if let Some(u) = &self.endpoint_url {
            b = b.endpoint_url(u).force_path_style(true);
        }
        // Each request keeps its own attempts under heavy throttling: the
        // default shared retry budget (token bucket) would stop retrying
        // after a few hundred faults and turn a throttled run into read errors.
        use aws_sdk_s3::config::retry::{RetryPartition, TokenBucket};
        b = b.retry_partition(
            RetryPartition::custom("ctverify-s3")
                .token_bucket(TokenBucket::unlimited())
                .build(),
        );
        aws_sdk_s3::Client::from_conf(b.build())
    }

    /// A CloudTrail client for `region` (`None`: the client region).
    pub fn cloudtrail(&self, region: Option<&str>) -> aws_sdk_cloudtrail::Client {
        let mut b = aws_sdk_cloudtrail::config::Builder::from(&self.sdk);
        if let Some(r) = region {
            b = b.region(Region::new(r.to_string()));
        }
        if let Some(u) = &self.endpoint_url {
            b = b.endpoint_url(u);
        }
        // Every CloudTrail answer is read whole by the SDK: capped.
        b = b.interceptor(Buffered::answer());
        aws_sdk_cloudtrail::Client::from_conf(b.build())
    }

    /// The region `bucket` lives in: `HeadBucket` answers it in
    /// `x-amz-bucket-region`, also on the redirect or 403 a client in the
    /// wrong region gets. Asked up to three times (a proxy's 404 or a
    /// misrouted request may pass); errors then stop the run.
    pub async fn bucket_region(&self, bucket: &str) -> Result<String> {
        let client = self.s3(None);
        let mut last = String::new();
        let deadline = tokio::time::Instant::now() + self.limits.deadline;
        for attempt in 0..3u32 {
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            if attempt > 0 {
                tokio::time::sleep(self.limits.retry_pause(attempt)).await;
            }
            let capped = Buffered::answer();
            let call = client
                .head_bucket()
                .bucket(bucket)
                .customize()
                .interceptor(capped)
                .send();
            let Ok(answer) = tokio::time::timeout_at(deadline, call).await else {
                last = format!("no answer within {} s", self.limits.deadline.as_secs());
                break;
            };
            match answer {
                Ok(out) => return Ok(out.bucket_region().map_or_else(|| self.region(), str::to_string)),
                Err(e) => {
                    let told = e
                        .raw_response()
                        .and_then(|r| r.headers().get("x-amz-bucket-region"))
                        .map(str::to_string);
                    if let Some(r) = told {
                        return Ok(r);
                    }
                    last = aws_sdk_s3::error::DisplayErrorContext(e).to_string();
                }
            }
        }
        Err(anyhow::anyhow!("HeadBucket s3://{bucket} failed: {last}"))
    }
}
