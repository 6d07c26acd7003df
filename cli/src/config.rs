//! Stage 2 of argument handling: raw flags resolved into a validated
//! configuration (times parsed, ARN checked, files read).

use crate::args::ValidateArgs;
use anyhow::{bail, Context, Result};
use ctverify_core::keys::Keyring;
use ctverify_core::logs::LogBudget;
use ctverify_core::time::Timestamp;
use ctverify_core::verify::{CheckedOptions, Options};
use std::path::PathBuf;

/// Where the objects come from.
#[derive(Clone)]
pub enum Source {
    /// A local copy of the bucket.
    Local(PathBuf),
    /// S3 (or an S3-compatible server).
    S3(S3Settings),
}

impl Source {
    /// S3 (not a local copy).
    pub fn is_s3(&self) -> bool {
        matches!(self, Source::S3(_))
    }
}

/// How an S3 run reaches the bucket.
#[derive(Debug, Clone)]
pub struct S3Settings {
    /// `--trail-arn` (its home region is the client region).
    pub trail_arn: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--endpoint-url`.
    pub endpoint_url: Option<String>,
    /// `--jobs`: requests in flight.
    pub jobs: usize,
    /// `--s3-attempt-timeout`, `--s3-deadline`, `--s3-min-rate`, `--s3-backoff-ms`.
    pub limits: crate::s3::limits::Limits,
}

/// A resolved `validate` run.
#[derive(Clone)]
pub struct Config {
    /// The source.
    pub source: Source,
    /// Public keys (`None`: S3 mode fetches them with `ListPublicKeys`).
    pub keyring: Option<Keyring>,
    /// Core options, checked (change them only with
    /// [`CheckedOptions::amend`], which checks them again).
    pub options: CheckedOptions,
}

/// The S3 bounds the flags give (`--s3-attempt-timeout`, `--s3-deadline`,
/// `--s3-min-rate`, `--s3-backoff-ms`), for strict and `--compat` runs alike.
pub fn limits(args: &ValidateArgs) -> crate::s3::limits::Limits {
    use std::time::Duration;
    crate::s3::limits::Limits {
        attempt_timeout: Duration::from_secs(args.s3_attempt_timeout),
        deadline: Duration::from_secs(args.s3_deadline),
        min_rate: args.s3_min_rate,
        backoff: Duration::from_millis(args.s3_backoff_ms),
    }
}

/// The flag combinations a `--compat` run refuses (the strict run's are in
/// [`resolve`]; `export`'s are refused by clap, `args::ExportArgs`).
pub fn check_compat(args: &ValidateArgs) -> Result<()> {
    if args.state.is_some() || args.report.is_some() || args.metrics.is_some() {
        bail!("--state, --report and --metrics do not apply with --compat (aws-cli's output and exit codes)");
    }
    Ok(())
}

/// Resolves the flags of a strict-mode run. Errors are usage errors (exit 2).
pub fn resolve(args: &ValidateArgs, now: Timestamp) -> Result<Config> {
    let source = match &args.local {
        Some(dir) => {
            if args.public_keys.is_empty() {
                bail!("--local needs --public-keys FILE (save `aws cloudtrail list-public-keys --start-time ... --end-time ...` output)");
            }
            if args.profile.is_some() || args.endpoint_url.is_some() {
                bail!("--profile and --endpoint-url are S3 flags: they do not apply with --local");
            }
            Source::Local(dir.clone())
        }
        None => {
            if args.trail_arn.is_none() && args.s3_bucket.is_none() {
                bail!("S3 mode needs --trail-arn ARN (or --s3-bucket B); to validate a local copy use --local DIR");
            }
            if args.start_time.is_none() && args.state.is_none() {
                bail!("S3 mode needs --start-time (aws-cli's rule: a whole bucket is never read by default)");
            }
            Source::S3(S3Settings {
                trail_arn: args.trail_arn.clone(),
                profile: args.profile.clone(),
                endpoint_url: args.endpoint_url.clone(),
                jobs: usize::from(args.jobs),
                limits: limits(args),
            })
        }
    };
    let keyring = if args.public_keys.is_empty() {
        None
    } else {
        let mut keyring = Keyring::new();
        for path in &args.public_keys {
            let bytes = read_bounded(path, ctverify_core::keys::MAX_KEY_FILE as u64)
                .with_context(|| format!("reading public keys {}", path.display()))?;
            keyring.add_file(&path.display().to_string(), &bytes)?;
        }
        Some(keyring)
    };
    let options = options_of(args, now, matches!(source, Source::Local(_)))?;
    Ok(Config {
        source,
        keyring,
        options,
    })
}

/// The core options of `args` (a local copy's when `local`, else S3's
/// defaults), checked.
pub fn options_of(args: &ValidateArgs, now: Timestamp, local: bool) -> Result<CheckedOptions> {
    let mut options = Options::new(now);
    options.start = args
        .start_time
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()
        .context("--start-time")?;
    options.end = args
        .end_time
        .as_deref()
        .map(|t| parse_time(t, now))
        .transpose()
        .context("--end-time")?;
    if let Some(arn) = &args.trail_arn {
        options = options.with_trail_arn(arn)?;
    }
    options.allow_gaps = args.allow_gaps;
    options.log_budget = LogBudget {
        max_inflated: args.max_log_bytes,
        max_ratio: args.max_log_ratio,
    };
    options.max_listed_logs = args.max_listed_logs;
    options.verbose = args.verbose;
    options.regions = args.region.clone();
    options.accounts = args.account_id.clone();
    options.bucket = args.s3_bucket.clone();
    options.prefix = args.s3_prefix.clone();
    if !local {
        // SPEC §4: S3 mode's end defaults to now.
        options.end = options.end.or(Some(now));
    } else {
        // A copy made by `aws s3 sync`: `a//b` was written to `a/b`.
        options.local_copy = true;
    }
    Ok(options.checked()?)
}

/// `v` sorted, without repeats: flag lists that name a scope (`--region`,
/// `--account-id`) compare and record the same whatever their order.
pub fn sorted_unique(v: &[String]) -> Vec<String> {
    let mut v = v.to_vec();
    v.sort();
    v.dedup();
    v
}

/// A time flag: RFC 3339 / a date, or relative to `now` for schedules:
/// `now`, or a signed run of `N` + unit (`d`, `h`, `m`): `-26h`, `-1d6h`,
/// `+30m`.
pub fn parse_time(s: &str, now: Timestamp) -> Result<Timestamp> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    if let Some((sign, rest)) = t
        .strip_prefix('-')
        .map(|r| (-1, r))
        .or_else(|| t.strip_prefix('+').map(|r| (1, r)))
    {
        let mut total: i64 = 0;
        let mut digits = String::new();
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            let unit = match c {
                'd' => 86_400,
                'h' => 3_600,
                'm' => 60,
                _ => bail!("{s:?}: a relative time is a run of N + unit (d, h, m), e.g. -26h or -1d6h"),
            };
            let n: i64 = digits
                .parse()
                .ok()
                .filter(|n| *n <= 100 * 365)
                .with_context(|| format!("{s:?}: expected a number before {c:?}"))?;
            total += n * unit;
            digits.clear();
        }
        if !digits.is_empty() || rest.is_empty() {
            bail!("{s:?}: a relative time needs a unit (d, h, m), e.g. -26h");
        }
        return Ok(now.add_secs(sign * total));
    }
    Ok(Timestamp::parse_user(t)?)
}

/// Reads a whole file, refusing anything larger than `limit`.
pub fn read_bounded(path: &std::path::Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    file.take(limit + 1).read_to_end(&mut buf)?;
    if buf.len() as u64 > limit {
        bail!("{} is larger than {limit} bytes", path.display());
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::parse_time;
    use ctverify_core::time::Timestamp;

    #[test]
    fn relative_times() {
        let now = Timestamp::parse_user("2026-01-02T03:04:05Z").unwrap();
        let t = |s: &str| parse_time(s, now).map(|t| t.to_string()).map_err(|e| e.to_string());
        assert_eq!(t("now").unwrap(), "2026-01-02T03:04:05Z");
        assert_eq!(t("-26h").unwrap(), "2026-01-01T01:04:05Z");
        assert_eq!(t("-1d6h").unwrap(), "2025-12-31T21:04:05Z");
        assert_eq!(t("-90m").unwrap(), "2026-01-02T01:34:05Z");
        assert_eq!(t("+1h").unwrap(), "2026-01-02T04:04:05Z");
        assert_eq!(t("2024-03-01").unwrap(), "2024-03-01T00:00:00Z");
        for bad in ["-26", "-h", "-26x", "-", "-99999999999d"] {
            assert!(t(bad).is_err(), "{bad}");
        }
    }
}
