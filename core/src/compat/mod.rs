//! `--compat`: the exact behaviour of `aws cloudtrail validate-logs`
//! (aws-cli 1.46.3, `awscli/customizations/cloudtrail/validation.py`),
//! quirks included — same traversal, same checks in the same order, same
//! stdout/stderr bytes and exit codes — so scripts written against aws-cli
//! keep working. See `awscli-validate-logs.md` for the reference behaviour.
//!
//! The traversal is interactive (each digest names the next object to
//! fetch), so the front end supplies the objects through [`CompatSource`]
//! and receives the output through [`Console`]; this module does no IO.
//! It reuses the core's gzip decoder ([`crate::gzip`]) but none of the
//! strict verdict logic: each aws-cli check is decided here, once.

mod keyfile;
mod pydate;
mod pyjson;
mod pyrsa;
mod traverse;

use crate::time::Timestamp;
use std::collections::BTreeMap;

pub use keyfile::{in_window, saved_keys, SavedKey};
pub use pydate::parse as parse_py_date;
pub use traverse::run;

/// A trail ARN as aws-cli takes it apart (its semantics, not the strict
/// [`crate::verify::TrailFilter`]): home region and account are the 4th and
/// 5th `:`-fields, the name what follows the last `/`. Used by the local
/// stand-in for DescribeTrails; an ARN that fails aws-cli's regex never
/// gets here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnParts<'a> {
    /// Home region.
    pub home_region: &'a str,
    /// Account.
    pub account: &'a str,
    /// Trail name.
    pub name: &'a str,
}

impl<'a> ArnParts<'a> {
    /// Splits `arn` the way aws-cli does.
    pub fn of(arn: &'a str) -> ArnParts<'a> {
        let mut fields = arn.split(':');
        ArnParts {
            home_region: fields.nth(3).unwrap_or(""),
            account: fields.next().unwrap_or(""),
            name: arn.rsplit('/').next().unwrap_or(""),
        }
    }
}

/// An AWS API error, as botocore's `ClientError` would carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// Error code (`NoSuchKey`, `AccessDenied`, ...).
    pub code: String,
    /// Error message.
    pub message: String,
    /// Operation (`GetObject`, `ListObjects`, ...).
    pub operation: String,
}

impl AwsError {
    /// `NoSuchKey` from GetObject.
    pub fn no_such_key() -> Self {
        AwsError {
            code: "NoSuchKey".into(),
            message: "The specified key does not exist.".into(),
            operation: "GetObject".into(),
        }
    }

    /// True for `NoSuchKey`, the only error aws-cli does not abort on.
    pub fn is_no_such_key(&self) -> bool {
        self.code == "NoSuchKey"
    }

    /// botocore's text: `An error occurred (CODE) when calling the OP operation: MESSAGE`.
    pub fn text(&self) -> String {
        format!(
            "An error occurred ({}) when calling the {} operation: {}",
            self.code, self.operation, self.message
        )
    }
}

/// What `DescribeTrails` says of the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailInfo {
    /// `S3BucketName`.
    pub bucket: String,
    /// `S3KeyPrefix`.
    pub prefix: Option<String>,
    /// `IsOrganizationTrail`.
    pub is_organization_trail: bool,
}

/// One `ListPublicKeys` entry, as aws-cli sees it (`Value` is the base64
/// text from the wire; nothing is checked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPublicKey {
    /// `Fingerprint`.
    pub fingerprint: String,
    /// `Value` (base64 text).
    pub value: String,
}

/// The gzip outcome of streaming one log, for the aws-cli log check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedLog {
    /// SHA-256 of the bytes inflated.
    pub sha256: [u8; 32],
    /// The stream was rejected (not gzip, corrupt, CRC/length mismatch).
    pub corrupt: bool,
    /// Bytes followed the end of the gzip member (`unused_data`).
    pub trailing: bool,
}

impl StreamedLog {
    /// Builds the outcome from the core's log hasher result.
    pub fn from_hashed(h: &crate::logs::HashedLog) -> Self {
        use crate::gzip::GzipEnd;
        StreamedLog {
            sha256: h.sha256,
            corrupt: h.end.is_err(),
            trailing: matches!(h.end, Ok(GzipEnd::Complete { trailing }) if trailing > 0),
        }
    }
}

/// The AWS side of a compat run: S3, CloudTrail and Organizations calls.
pub trait CompatSource {
    /// `DescribeTrails` for the ARN (`Err(message)`: the run stops with it).
    fn describe_trail(&mut self, arn: &str) -> Result<TrailInfo, String>;
    /// `DescribeOrganization` → organization id.
    fn organization_id(&mut self) -> Result<String, AwsError>;
    /// `GetBucketLocation` (its errors abort the run).
    fn bucket_location(&mut self, bucket: &str) -> Result<(), AwsError>;
    /// `ListObjects` (all pages): keys after `marker` that start with
    /// `prefix`, in UTF-8 binary order.
    fn list(&mut self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, AwsError>;
    /// A hint, after each listing: the digest keys the walk will read next,
    /// in the order it will read them (newest first, then backfill). An
    /// async front end may start fetching them concurrently and answer
    /// [`get_digest`](Self::get_digest) from what it fetched: the walk, its
    /// checks and its output stay aws-cli's, in aws-cli's order. The
    /// default ignores it (a local copy is read on demand).
    fn digests_ahead(&mut self, _bucket: &str, _keys: &[String]) {}
    /// `GetObject` of a digest: bytes and user metadata.
    fn get_digest(&mut self, bucket: &str, key: &str) -> Result<(Vec<u8>, BTreeMap<String, String>), AwsError>;
    /// `GetObject` of a log, streamed through gunzip and SHA-256.
    fn get_log(&mut self, bucket: &str, key: &str) -> Result<StreamedLog, AwsError>;
    /// Several `GetObject`s of logs (those of one digest, in order). The
    /// default fetches them one by one; a front end may fetch and hash them
    /// concurrently: results are consumed in order, so the output is the same.
    fn get_logs(&mut self, logs: &[(String, String)]) -> Vec<Result<StreamedLog, AwsError>> {
        logs.iter().map(|(b, k)| self.get_log(b, k)).collect()
    }
    /// `ListPublicKeys(StartTime, EndTime)` in the client region.
    fn list_public_keys(&mut self, start: Timestamp, end: Timestamp) -> Result<Vec<ApiPublicKey>, AwsError>;
}

/// Where output goes: stdout and stderr, in order.
pub trait Console {
    /// Writes to stdout.
    fn out(&mut self, text: &str);
    /// Writes to stderr.
    fn err(&mut self, text: &str);
}

/// The `validate-logs` arguments (aws-cli names and meanings).
#[derive(Debug, Clone, Default)]
pub struct CompatArgs {
    /// `--trail-arn` (required).
    pub trail_arn: Option<String>,
    /// `--start-time` (required).
    pub start_time: Option<String>,
    /// `--end-time`.
    pub end_time: Option<String>,
    /// `--s3-bucket`.
    pub s3_bucket: Option<String>,
    /// `--s3-prefix`.
    pub s3_prefix: Option<String>,
    /// `--account-id`.
    pub account_id: Option<String>,
    /// `--verbose`.
    pub verbose: bool,
    /// The global `--region` flag (only the flag: aws-cli's source region).
    pub region_flag: Option<String>,
    /// The client region: `--region`, else the configured region.
    pub client_region: Option<String>,
    /// The current time (the default `--end-time`).
    pub now: Timestamp,
}

/// aws-cli's argparse usage error (exit status 2), for missing required
/// arguments: the text written to stderr.
pub fn usage_error(message: &str) -> String {
    format!(
        "usage: \rNote: AWS CLI version 2, the latest major version of the AWS CLI, is now stable and recommended for general use. For more information, see the AWS CLI version 2 installation instructions at: https://docs.aws.amazon.com/cli/latest/userguide/install-cliv2.html\n\n\
usage: aws [options] <command> <subcommand> [<subcommand> ...] [parameters]\n\
To see help text, you can run:\n\n  aws help\n  aws <command> help\n  aws <command> <subcommand> help\n\
aws: error: {message}\n"
    )
}

#[cfg(test)]
mod arn_tests {
    use super::ArnParts;

    #[test]
    fn parts_as_aws_cli_takes_them() {
        let p = ArnParts::of("arn:aws:cloudtrail:us-east-1:111122223333:trail/x/demo");
        assert_eq!(
            (p.home_region, p.account, p.name),
            ("us-east-1", "111122223333", "demo")
        );
        let p = ArnParts::of("arn:aws");
        assert_eq!((p.home_region, p.account, p.name), ("", "", "arn:aws"));
    }
}
