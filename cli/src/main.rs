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

use args::{Cli, Command};
use clap::Parser;
use ctverify_core::time::Timestamp;
use std::io::Write;
use std::process::ExitCode;

/// Exit status for "could not run" (strict mode).
const EXIT_ERROR: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Validate(args) => validate(&args),
    }
}

fn validate(args: &args::ValidateArgs) -> ExitCode {
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
    for warning in config.keyring.rejected() {
        eprintln!("ctverify: warning: public key skipped: {warning}");
    }
    if config.keyring.is_empty() {
        eprintln!("ctverify: warning: no usable public key: no digest can be verified (digest_key_unknown)");
    }
    let outcome = match run::run(&config) {
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

fn fail(e: &anyhow::Error) -> ExitCode {
    eprintln!("ctverify: error: {e:#}");
    ExitCode::from(EXIT_ERROR)
}

fn system_now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}
