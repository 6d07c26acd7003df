//! Command-line flags (stage 1: raw values, exactly as typed). Each flag is
//! defined once here with its help text; [`crate::config`] resolves them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Verify the integrity of AWS CloudTrail logs: the digest-file chain
/// (RSA signatures, hash links) and the SHA-256 of every log file.
#[derive(Debug, Parser)]
#[command(name = "ctverify", version, about, long_about = None)]
#[command(
    after_help = "Exit status (strict mode): 0 valid, 1 invalid (tampering found), 2 incomplete or could not run.\n\
With --compat: aws-cli's codes (0, 1, 255; usage errors 2)."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate CloudTrail log files and digest files (like `aws cloudtrail validate-logs`).
    Validate(ValidateArgs),
    /// Download a trail's digests (with their metadata), the logs they list
    /// and the public keys into a local copy (the `--local` layout), verifying as
    /// it goes; verify it later with `validate --local DIR --public-keys
    /// DIR/public-keys.json`. Resumable: objects already there with the
    /// right size are not fetched again.
    Export(ExportArgs),
    /// Print a shell completion script: `source <(ctverify completions bash)`,
    /// or save it where the shell looks (bash-completion's
    /// completions/ctverify, zsh's $fpath/_ctverify, fish's
    /// completions/ctverify.fish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `ctverify man > ctverify.1; man -l ctverify.1`.
    Man,
    /// Cut a run into shards for an array job (AWS Batch, Kubernetes Indexed
    /// Job, Slurm, Step Functions): lists the selected chains and writes a
    /// plan of N shards balanced by listed work (SPEC §10). Run each shard
    /// with `validate --shard-plan`, then `merge`.
    Plan(PlanArgs),
    /// Join the partial reports of a sharded run into the report one
    /// `validate` over the plan's scope would give, after checking that
    /// every shard reported exactly once. Exit 0 valid, 1 invalid, 2
    /// incomplete or could not run.
    Merge(MergeArgs),
}

/// Flags of `ctverify plan`: `validate`'s source, scope and report flags,
/// `--shards` and `--out`.
#[derive(Debug, Args)]
#[command(
    mut_arg("compat", |a| a.conflicts_with("shards").hide(true)),
    mut_arg("state", |a| a.conflicts_with("shards").hide(true)),
    mut_arg("state_reset", |a| a.hide(true)),
    mut_arg("recheck", |a| a.hide(true)),
    mut_arg("shard_plan", |a| a.conflicts_with("shards").hide(true)),
    mut_arg("shard", |a| a.conflicts_with("shards").hide(true)),
    mut_arg("partials", |a| a.conflicts_with("shards").hide(true))
)]
pub struct PlanArgs {
    /// How many shards (the plan has min(N, digests in scope), none empty).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub shards: u32,

    /// Write the plan to FILE (atomically) instead of stdout.
    #[arg(long = "out", value_name = "FILE")]
    pub plan_out: Option<PathBuf>,

    /// The run to cut: same flags and meanings as `validate`.
    #[command(flatten)]
    pub validate: ValidateArgs,
}

/// Flags of `ctverify merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The plan the shards ran (from `ctverify plan`).
    #[arg(long, value_name = "FILE")]
    pub shard_plan: PathBuf,

    /// Where the shards wrote their partial reports (a folder or
    /// s3://BUCKET/PREFIX); only `LOC/<plan_id>/` is read.
    #[arg(long, value_name = "LOC")]
    pub partials: String,

    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also write the JSON report to FILE, atomically.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write Prometheus metrics to FILE, atomically (as `validate`).
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
}

/// Flags of `ctverify export`: the S3 flags of `validate`, and `--out`.
/// The flags of `validate` that do not apply to an export (`--local`,
/// `--compat`, `--state` and the flags that need it) are refused when the
/// command line is parsed.
#[derive(Debug, Args)]
#[command(
    mut_arg("local", |a| a.conflicts_with("out").hide(true)),
    mut_arg("compat", |a| a.conflicts_with("out").hide(true)),
    mut_arg("state", |a| a.conflicts_with("out").hide(true)),
    mut_arg("state_reset", |a| a.hide(true)),
    mut_arg("recheck", |a| a.hide(true)),
    mut_arg("shard_plan", |a| a.conflicts_with("out").hide(true)),
    mut_arg("shard", |a| a.hide(true)),
    mut_arg("partials", |a| a.hide(true))
)]
pub struct ExportArgs {
    /// Folder to write the local copy into (created when missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// The run: same flags and meanings as `validate` over S3 (`--local`
    /// and `--compat` do not apply).
    #[command(flatten)]
    pub validate: ValidateArgs,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per finding, then a summary.
    Text,
    /// One JSON object: the report (docs/usage.md; schema in docs/report.schema.json).
    Json,
}

/// Flags of `ctverify validate`.
#[derive(Debug, Clone, Args)]
pub struct ValidateArgs {
    /// Trail to validate, `arn:aws:cloudtrail:HOME-REGION:ACCOUNT:trail/NAME`.
    /// Required for S3. With --local it is optional and restricts the run to
    /// that trail (exact name, home region and account); without it every
    /// trail chain found is validated.
    #[arg(long, value_name = "ARN")]
    pub trail_arn: Option<String>,

    /// Validate a local copy of the bucket (as `aws s3 sync s3://BUCKET DIR`
    /// makes it) instead of S3. Object s3://B/K is the file DIR/K; its S3
    /// metadata is read from DIR/K.metadata.json when present. Nothing
    /// outside DIR is ever read.
    #[arg(long, value_name = "DIR")]
    pub local: Option<PathBuf>,

    /// Public keys: `aws cloudtrail list-public-keys` JSON output, or PEM /
    /// DER key files. Repeat for several files. Required with --local.
    #[arg(long = "public-keys", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,

    /// Start of the range to validate (RFC 3339, e.g. 2024-01-01T00:00:00Z
    /// or 2024-01-01; an offset is converted to UTC). Relative to now for
    /// schedules: `now`, `-26h`, `-2d`, `-90m`, `-1d6h` (units d, h, m).
    /// Local default: the oldest digest's digestStartTime (per chain).
    /// Required for S3.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub start_time: Option<String>,

    /// End of the range (same forms as --start-time, e.g. `-1h`). Local
    /// default: the newest digest's digestEndTime (per chain) — give it to
    /// require coverage up to a time. S3 default: now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub end_time: Option<String>,

    /// Bucket name. Local: the name findings use (default: digestS3Bucket of
    /// the digests). S3: the bucket to read instead of the trail's.
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,

    /// Key prefix the trail delivers under (only chains under it are validated).
    #[arg(long, value_name = "PREFIX")]
    pub s3_prefix: Option<String>,

    /// Account(s) to validate: member accounts of an organization trail, or
    /// the account in key paths. Repeatable.
    #[arg(long = "account-id", value_name = "ACCOUNT")]
    pub account_id: Vec<String>,

    /// Delivery region(s) to validate. Repeatable. Default: every region the
    /// trail delivered digests for.
    #[arg(long, value_name = "REGION")]
    pub region: Vec<String>,

    /// AWS profile (S3 mode).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,

    /// S3-compatible endpoint URL (S3 mode): used for S3 (path-style
    /// addressing) and CloudTrail calls.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// S3 mode: requests in flight at most (listings, digests, logs).
    /// Memory is bounded by it, not by the trail's size.
    #[arg(long, value_name = "N", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub jobs: u16,

    /// S3 mode: how long one attempt of a request waits for its answer (a
    /// GET's headers; a whole listing page or API answer), in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 20, env = "CTVERIFY_S3_ATTEMPT_TIMEOUT",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub s3_attempt_timeout: u64,

    /// S3 mode: how long one object, listing page or API call may take over
    /// all its attempts and backoff, in seconds (an object also gets its
    /// listed size at --s3-min-rate). Past it: read_error (a listing: exit 2).
    #[arg(long, value_name = "SECS", default_value_t = 60, env = "CTVERIFY_S3_DEADLINE",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub s3_deadline: u64,

    /// S3 mode: the slowest body accepted, in bytes per second averaged
    /// after its first 5 s; a slower body is fetched again.
    #[arg(long, value_name = "BYTES", default_value_t = 8192, env = "CTVERIFY_S3_MIN_RATE",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub s3_min_rate: u64,

    /// S3 mode: backoff before the first retry of a request, in
    /// milliseconds (it doubles, with jitter, up to 20 times this).
    #[arg(long, value_name = "MS", default_value_t = 1000, env = "CTVERIFY_S3_BACKOFF_MS",
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub s3_backoff_ms: u64,

    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,

    /// List valid objects too, and print throughput (MB/s of log data).
    #[arg(long)]
    pub verbose: bool,

    /// Behave exactly like `aws cloudtrail validate-logs` (aws-cli 1.46.3):
    /// same checks, output and exit codes, quirks included.
    #[arg(long)]
    pub compat: bool,

    /// Coverage gaps (periods no digest vouches for) do not make the verdict
    /// incomplete; they are still reported.
    #[arg(long)]
    pub allow_gaps: bool,

    /// Largest uncompressed size of one log, in bytes. A log that inflates
    /// beyond it (or beyond --max-log-ratio) is not judged: it is reported as
    /// read_error (unverifiable, exit 2), never as valid or tampered.
    #[arg(long, value_name = "BYTES", default_value_t = ctverify_core::logs::MAX_LOG_INFLATED)]
    pub max_log_bytes: u64,

    /// Largest ratio of uncompressed to compressed size of one log (plus
    /// 64 KiB). CloudTrail logs compress about 10:1; decompression bombs
    /// about 1000:1. Bounds the work a hostile folder can cause.
    #[arg(long, value_name = "RATIO", default_value_t = ctverify_core::logs::MAX_LOG_RATIO)]
    pub max_log_ratio: u64,

    /// Largest number of log files all loaded digests may list together
    /// (bounds memory on a hostile bucket); beyond it the run stops (exit 2).
    #[arg(long, value_name = "N", default_value_t = ctverify_core::verify::MAX_LISTED_LOGS)]
    pub max_listed_logs: usize,

    /// Scheduled runs: the state file. Each chain resumes at its
    /// checkpoint (the last digest of its longest fully verified prefix):
    /// the first new digest must link to it, and it is read again (one
    /// object) to catch a replaced or deleted checkpoint. The checkpoint
    /// never moves past a violation, read error, gap or unsigned digest.
    /// Locked (`FILE.lock`) for the run; written atomically when the run
    /// completes. It is a trust anchor: keep it where the bucket's writers
    /// cannot write. The first run needs --start-time (S3 mode); later runs
    /// use it only for chains first seen then.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,

    /// Ignore the --state file's content and start over (from
    /// --start-time), deliberately; it is replaced when the run completes.
    #[arg(long, requires = "state")]
    pub state_reset: bool,

    /// With --state: also re-verify N earlier hours per chain per run
    /// (oldest-checked first, from where the last run stopped, wrapping
    /// around), so every verified hour is checked again every
    /// (history hours / N) runs.
    #[arg(long, value_name = "N", default_value_t = 0, requires = "state")]
    pub recheck: u32,

    /// Also write the JSON report (as --format json) to FILE, atomically, whatever
    /// --format prints.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// Write Prometheus metrics (text format, for node_exporter's textfile
    /// collector) to FILE, atomically: last run time, duration, verdict,
    /// findings by kind and class, objects checked, bytes hashed, the
    /// checkpoint age of each chain. Written for runs that fail too.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,

    /// Pin "now" (tests and reproducible reports), RFC 3339.
    #[arg(long, value_name = "TIME", hide = true)]
    pub now: Option<String>,

    /// Run one shard of a plan (from `ctverify plan`): scope and options come
    /// from the plan; the partial report goes to `--partials`. Exit 0 once the
    /// shard is checked and its partial written, whatever it found; 2 when it
    /// could not run.
    #[arg(long, value_name = "FILE", requires = "partials", conflicts_with_all = ["compat", "state"])]
    pub shard_plan: Option<PathBuf>,

    /// The shard's index (0-based); default: the first set of
    /// AWS_BATCH_JOB_ARRAY_INDEX, JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID.
    #[arg(long, value_name = "I", requires = "shard_plan")]
    pub shard: Option<usize>,

    /// Where shards write their partial reports: a folder or
    /// s3://BUCKET/PREFIX (the partial goes to LOC/<plan_id>/shard-<I>.json).
    /// A trust anchor, like a state file.
    #[arg(long, value_name = "LOC", requires = "shard_plan")]
    pub partials: Option<String>,
}

impl ValidateArgs {
    /// `validate` with no flag given (every default).
    pub fn defaults() -> ValidateArgs {
        use clap::FromArgMatches;
        let cmd = <ValidateArgs as clap::Args>::augment_args(clap::Command::new("validate"));
        let matches = cmd.get_matches_from(["validate"]);
        // Every flag has a default: parsing nothing cannot fail.
        ValidateArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn repeated_flags() {
        let cli = Cli::try_parse_from([
            "ctverify",
            "validate",
            "--local",
            "d",
            "--public-keys",
            "a.json",
            "--public-keys",
            "b.pem",
            "--region",
            "us-east-1",
            "--region",
            "eu-west-1",
            "--format",
            "json",
        ])
        .unwrap();
        let Command::Validate(v) = cli.command else {
            panic!("validate");
        };
        assert_eq!(v.public_keys.len(), 2);
        assert_eq!(v.region, ["us-east-1", "eu-west-1"]);
        assert_eq!(v.format, Format::Json);
    }

    #[test]
    fn bad_format_is_a_usage_error() {
        let err = Cli::try_parse_from(["ctverify", "validate", "--format", "xml"]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
    }
}
