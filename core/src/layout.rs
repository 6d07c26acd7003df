//! Object-key vocabulary: where CloudTrail puts digests and logs, and which
//! keys are safe to map onto a local directory.
//!
//! Layout (AWS CloudTrail User Guide, "CloudTrail digest file structure"):
//! `[prefix/]AWSLogs/[o-orgid/]ACCOUNT/CloudTrail-Digest/REGION/YYYY/MM/DD/`
//! `ACCOUNT_CloudTrail-Digest_REGION_TRAIL_HOMEREGION_YYYYMMDDTHHMMSSZ[_backfill].json.gz`
//!
//! Trail names may contain `_`, so a name is split from the fixed parts at
//! both ends rather than by a loose pattern: a trail named
//! `audit_us-east-1_x` is never taken for `audit` (aws-cli's regex does
//! exactly that, see `awscli-validate-logs.md` §11.4).

use crate::time::{Timestamp, HOUR};
use std::fmt;

/// `s3://bucket/key`: the name every finding uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    /// Bucket name.
    pub bucket: String,
    /// Object key.
    pub key: String,
}

impl ObjectRef {
    /// An object reference.
    pub fn new(bucket: impl Into<String>, key: impl Into<String>) -> Self {
        ObjectRef {
            bucket: bucket.into(),
            key: key.into(),
        }
    }
}

impl From<&ObjectRef> for ObjectRef {
    fn from(o: &ObjectRef) -> Self {
        o.clone()
    }
}

/// Rendered as `s3://bucket/key` (the JSON report's `object`).
impl serde::Serialize for ObjectRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

/// The identity of one digest chain: one trail, delivering for one account
/// into one region's digest folder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
pub struct ChainId {
    /// Key prefix before `AWSLogs/` (without the trailing `/`), or empty.
    pub prefix: String,
    /// Organization id (`o-…`) for organization trails.
    pub org: Option<String>,
    /// Account the digests are delivered for.
    pub account: String,
    /// Delivery region (the digest folder's region).
    pub region: String,
    /// Trail name.
    pub trail: String,
    /// The trail's home region.
    pub home_region: String,
}

impl ChainId {
    /// `[prefix/]AWSLogs/[org/]ACCOUNT/`.
    fn account_root(&self) -> String {
        let mut s = String::new();
        if !self.prefix.is_empty() {
            s.push_str(&self.prefix);
            s.push('/');
        }
        s.push_str("AWSLogs/");
        if let Some(org) = &self.org {
            s.push_str(org);
            s.push('/');
        }
        s.push_str(&self.account);
        s.push('/');
        s
    }

    /// The digest folder: `[prefix/]AWSLogs/[org/]ACCOUNT/CloudTrail-Digest/REGION/`.
    pub fn digest_folder(&self) -> String {
        format!("{}CloudTrail-Digest/{}/", self.account_root(), self.region)
    }

    /// The log folder: `[prefix/]AWSLogs/[org/]ACCOUNT/CloudTrail/REGION/`.
    pub fn log_folder(&self) -> String {
        format!("{}CloudTrail/{}/", self.account_root(), self.region)
    }

    /// The key a standard digest ending at `end` has in this chain.
    pub fn digest_key(&self, end: Timestamp) -> String {
        format!(
            "{}{}/{}_CloudTrail-Digest_{}_{}_{}_{}.json.gz",
            self.digest_folder(),
            end.date_folders(),
            self.account,
            self.region,
            self.trail,
            self.home_region,
            end.key_form()
        )
    }

    /// The folder that holds this chain's digests plus what ties them to the
    /// trail, for messages: `…/CloudTrail-Digest/REGION/ (trail T, home H)`.
    pub fn describe(&self) -> String {
        format!(
            "{} (trail {}, home region {})",
            self.digest_folder(),
            self.trail,
            self.home_region
        )
    }
}

/// A digest object key, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestKeyName {
    /// The chain the key belongs to.
    pub chain: ChainId,
    /// The timestamp in the file name (the digest end time).
    pub time: Timestamp,
    /// `_backfill` suffix present.
    pub backfill: bool,
}

/// Splits `key` into (account root parts, kind folder, rest) where the key is
/// `[prefix/]AWSLogs/[org/]ACCOUNT/{kind}/REGION/YYYY/MM/DD/FILE`.
fn split_layout<'a>(key: &'a str, kind: &str) -> Option<(String, Option<String>, &'a str, &'a str, &'a str)> {
    let parts: Vec<&str> = key.split('/').collect();
    let n = parts.len();
    if n < 8 || parts[n - 6] != kind {
        return None;
    }
    let (region, y, m, d, file) = (parts[n - 5], parts[n - 4], parts[n - 3], parts[n - 2], parts[n - 1]);
    if !is_region(region) || !all_digits(y, 4) || !all_digits(m, 2) || !all_digits(d, 2) {
        return None;
    }
    let account = parts[n - 7];
    if !all_digits(account, 12) {
        return None;
    }
    let (org, logs_at) = if parts[n - 8] == "AWSLogs" {
        (None, n - 8)
    } else if n >= 9 && parts[n - 9] == "AWSLogs" && is_org_id(parts[n - 8]) {
        (Some(parts[n - 8].to_string()), n - 9)
    } else {
        return None;
    };
    let prefix = parts[..logs_at].join("/");
    Some((prefix, org, account, region, file))
}

impl DigestKeyName {
    /// Parses a digest key; `None` when the key is not in the digest layout.
    pub fn parse(key: &str) -> Option<Self> {
        let (prefix, org, account, region, file) = split_layout(key, "CloudTrail-Digest")?;
        let head = format!("{account}_CloudTrail-Digest_{region}_");
        let rest = file.strip_prefix(head.as_str())?;
        let (rest, backfill) = match rest.strip_suffix("_backfill.json.gz") {
            Some(r) => (r, true),
            None => (rest.strip_suffix(".json.gz")?, false),
        };
        // rest = TRAIL_HOME_YYYYMMDDTHHMMSSZ
        let (middle, ts) = rest.rsplit_once('_')?;
        let time = Timestamp::parse_key_form(ts)?;
        let (trail, home) = middle.rsplit_once('_')?;
        if trail.is_empty() || !is_region(home) {
            return None;
        }
        Some(DigestKeyName {
            chain: ChainId {
                prefix,
                org,
                account: account.to_string(),
                region: region.to_string(),
                trail: trail.to_string(),
                home_region: home.to_string(),
            },
            time,
            backfill,
        })
    }
}

/// A log object key, parsed (only what ctverify needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogKeyName {
    /// `[prefix/]AWSLogs/[org/]ACCOUNT/CloudTrail/REGION/`.
    pub folder: String,
    /// The minute-precision timestamp in the file name.
    pub time: Timestamp,
}

impl LogKeyName {
    /// Parses `…/CloudTrail/REGION/YYYY/MM/DD/ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`.
    pub fn parse(key: &str) -> Option<Self> {
        let (prefix, org, account, region, file) = split_layout(key, "CloudTrail")?;
        let head = format!("{account}_CloudTrail_{region}_");
        let rest = file.strip_prefix(head.as_str())?.strip_suffix(".json.gz")?;
        let (ts, unique) = rest.split_once('_')?;
        if unique.is_empty() {
            return None;
        }
        let time = Timestamp::parse_log_key_form(ts)?;
        let chain = ChainId {
            prefix,
            org,
            account: account.to_string(),
            region: region.to_string(),
            trail: String::new(),
            home_region: String::new(),
        };
        Some(LogKeyName {
            folder: chain.log_folder(),
            time,
        })
    }
}

/// Where an object in a trail's log folder falls in time, as far as its key
/// says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogPlace {
    /// A well-formed log name: its minute-precision timestamp.
    Named(Timestamp),
    /// An off-pattern name in a `YYYY/MM/DD/` date folder: that day's start.
    Day(Timestamp),
    /// An off-pattern object with no date folder.
    Undated,
}

/// The log folders (`…/CloudTrail/REGION/`) that `key` could lie in: one per
/// `CloudTrail` segment followed by a further segment and more of the key.
pub fn candidate_log_folders(key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(pos) = key[from..].find("CloudTrail/") {
        let at = from + pos;
        from = at + "CloudTrail/".len();
        if at != 0 && !key[..at].ends_with('/') {
            continue;
        }
        if let Some(slash) = key[from..].find('/') {
            let end = from + slash + 1;
            if slash > 0 && end < key.len() {
                out.push(&key[..end]);
            }
        }
    }
    out
}

/// Where an object `key` inside the log folder `folder` falls in time.
/// `folder` must be a prefix of `key`.
pub fn log_place(key: &str, folder: &str) -> LogPlace {
    let rest = key.get(folder.len()..).unwrap_or_default();
    // CloudTrail writes each log into the date folder of its name's
    // timestamp: a well-formed name in another day's folder is off-pattern
    // (judged by its folder's day, where it was put).
    if let Some(n) = LogKeyName::parse(key).filter(|n| n.folder == folder) {
        if rest.starts_with(&format!("{}/", n.time.date_folders())) {
            return LogPlace::Named(n.time);
        }
    }
    let mut parts = rest.splitn(4, '/');
    let (Some(y), Some(m), Some(d), Some(_)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return LogPlace::Undated;
    };
    if !(all_digits(y, 4) && all_digits(m, 2) && all_digits(d, 2)) {
        return LogPlace::Undated;
    }
    match Timestamp::parse_key_form(&format!("{y}{m}{d}T000000Z")) {
        Some(t) => LogPlace::Day(t),
        None => LogPlace::Undated,
    }
}

/// The path segments of `key` when it is safe to map onto a local copy of
/// the bucket: no `.`/`..` segments, no NUL or backslash. Empty segments
/// (`a//b`, a leading `/`) are dropped, as `aws s3 sync` writes `a//b` to
/// `a/b`. `None` means the key must never be read from disk.
pub fn safe_segments(key: &str) -> Option<Vec<&str>> {
    if key.contains('\0') || key.contains('\\') {
        return None;
    }
    let segs: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() || segs.iter().any(|s| *s == "." || *s == "..") {
        return None;
    }
    Some(segs)
}

/// `key` with runs of `/` collapsed and leading/trailing `/` dropped: the
/// name a local copy can represent.
pub fn collapse_slashes(key: &str) -> String {
    key.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>().join("/")
}

/// The form in which two keys are compared: as they are (S3), or with empty
/// segments collapsed (a local copy, see [`collapse_slashes`]).
pub fn key_form(key: &str, local_copy: bool) -> std::borrow::Cow<'_, str> {
    if local_copy {
        std::borrow::Cow::Owned(collapse_slashes(key))
    } else {
        std::borrow::Cow::Borrowed(key)
    }
}

/// Timestamps one digest period apart, stepping back from `from` while
/// strictly after `after` (at most `cap` of them).
pub fn hourly_back(from: Timestamp, after: Timestamp, cap: usize) -> Vec<Timestamp> {
    let mut out = Vec::new();
    let mut t = from;
    while t > after && out.len() < cap {
        out.push(t);
        t = t.add_secs(-HOUR);
    }
    out
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// `xx-name-N` style region names (`us-east-1`, `us-gov-west-1`, `eu-central-2`).
fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
        && parts.last().is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

fn is_org_id(s: &str) -> bool {
    s.len() > 2 && s.starts_with("o-") && s[2..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_org_prefix_and_backfill_keys() {
        let k = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T011728Z.json.gz";
        let d = DigestKeyName::parse(k).unwrap();
        assert_eq!(d.chain.trail, "demo");
        assert_eq!(d.chain.prefix, "");
        assert!(!d.backfill);
        assert_eq!(d.chain.digest_key(d.time), k);

        let k = "my/pfx/AWSLogs/o-abc123def4/444455556666/CloudTrail-Digest/eu-west-1/2024/03/01/444455556666_CloudTrail-Digest_eu-west-1_org.trail-1_us-east-1_20240301T011728Z_backfill.json.gz";
        let d = DigestKeyName::parse(k).unwrap();
        assert_eq!(d.chain.prefix, "my/pfx");
        assert_eq!(d.chain.org.as_deref(), Some("o-abc123def4"));
        assert_eq!(d.chain.trail, "org.trail-1");
        assert_eq!(d.chain.home_region, "us-east-1");
        assert!(d.backfill);
    }

    #[test]
    fn trail_names_with_underscores_are_exact() {
        let k = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_audit_us-east-1_x_us-east-1_20240301T011728Z.json.gz";
        let d = DigestKeyName::parse(k).unwrap();
        assert_eq!(d.chain.trail, "audit_us-east-1_x");
        assert_eq!(d.chain.home_region, "us-east-1");
    }

    #[test]
    fn rejects_foreign_keys() {
        for k in [
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T0115Z_abcdefghijklmnop.json.gz",
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/111122223333_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T011728Z.json.gz.metadata.json",
            "AWSLogs/1111/CloudTrail-Digest/us-east-1/2024/03/01/1111_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T011728Z.json.gz",
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/03/01/222233334444_CloudTrail-Digest_us-east-1_demo_us-east-1_20240301T011728Z.json.gz",
        ] {
            assert_eq!(DigestKeyName::parse(k), None, "{k}");
        }
    }

    #[test]
    fn log_keys() {
        let k = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/03/01/111122223333_CloudTrail_us-east-1_20240301T0115Z_abcdefghijklmnop.json.gz";
        let l = LogKeyName::parse(k).unwrap();
        assert_eq!(l.folder, "AWSLogs/111122223333/CloudTrail/us-east-1/");
        assert_eq!(l.time.to_string(), "2024-03-01T01:15:00Z");
    }

    #[test]
    fn unsafe_keys() {
        assert!(safe_segments("AWSLogs/a/b.json.gz").is_some());
        assert_eq!(safe_segments("p//AWSLogs/x").unwrap(), ["p", "AWSLogs", "x"]);
        for k in [
            "",
            "/",
            "AWSLogs/../../x",
            "/../etc/passwd",
            "./a",
            "a/..",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(safe_segments(k).is_none(), "{k}");
        }
    }
}
