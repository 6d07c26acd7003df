//! `ctverify`: the command-line front end. Glue only: flags, the local
//! source, parallel log hashing and output; the checks live in
//! `ctverify-core`.
//!
//! Exit status (strict): 0 valid, 1 invalid, 2 incomplete or could not run.
#![forbid(unsafe_code)]

mod args;
mod compat;
mod config;
mod local;
mod output;
mod progress;
mod run;
mod s3;

use args::{Cli, Command};
use clap::Parser;
use config::Source;
use ctverify_core::time::Timestamp;
use std::io::Write;
use std::process::ExitCode;

/// Exit status for "could not run" (strict mode).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate(&args, None),
        Command::Export(args) => {
            if args.validate.local.is_some() || args.validate.compat {
                return fail(&anyhow::anyhow!("export reads S3: --local and --compat do not apply"));
            }
            validate(&args.validate, Some(&args.out))
        }
    }
}

/// `validate` (and `export`, which is a validation over S3 that also
/// writes what it reads into `export`).
fn validate(args: &args::ValidateArgs, export: Option<&std::path::Path>) -> ExitCode {
    let now = match args.now.as_deref().map(Timestamp::parse_user) {
        Some(Ok(t)) => t,
        Some(Err(e)) => return fail(&e.into()),
        None => system_now(),
    };
    if args.compat {
        return ExitCode::from(compat::run(args, now));
    }
    let config = match config::resolve(args, now) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    if let Some(keyring) = &config.keyring {
        for warning in keyring.rejected() {
            eprintln!("ctverify: warning: public key skipped: {warning}");
        }
        if keyring.is_empty() {
            eprintln!("ctverify: warning: no usable public key: no digest can be verified (digest_key_unknown)");
        }
    }
    let result = match (&config.source, &config.keyring) {
        (Source::Local(dir), Some(keyring)) => run::run(&config, dir, keyring),
        (Source::Local(_), None) => Err(anyhow::anyhow!("--local needs --public-keys FILE")),
        (Source::S3(s3), _) => run_s3(&config, s3, export),
    };
    let outcome = match result {
        Ok(o) => o,
        Err(e) => return fail(&e),
    };
    let rendered = output::render(&outcome, config.format, config.options.verbose);
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(rendered.as_bytes())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return ExitCode::from(EXIT_ERROR);
    }
    ExitCode::from(outcome.report.verdict.exit_code())
}

/// A strict run over S3 (exporting when `export` names a folder).
fn run_s3(
    config: &config::Config,
    s3: &config::S3Settings,
    export: Option<&std::path::Path>,
) -> anyhow::Result<run::Outcome> {
    let exporter = export.map(s3::export::Exporter::create).transpose()?;
    let outcome = s3::runtime()?.block_on(s3::strict::run(config, s3, exporter.as_ref()))?;
    if let Some(x) = &exporter {
        use std::sync::atomic::Ordering;
        eprintln!(
            "ctverify: exported to {}: {} objects written, {} already present",
            x.dir().display(),
            x.written.load(Ordering::Relaxed),
            x.kept.load(Ordering::Relaxed)
        );
    }
    Ok(outcome)
}

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("ctverify: error: {e:#}");
    ExitCode::from(EXIT_ERROR)
}

/// The current time from the system clock.
pub fn system_now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}
