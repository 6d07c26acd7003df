//! `ctverify`: the command-line front end. Glue only: flags, the local
//! source, parallel log hashing and output; the checks live in
//! `ctverify-core`.
//!
//! Exit status (strict): 0 valid, 1 invalid, 2 incomplete or could not run.
#![forbid(unsafe_code)]

mod args;
mod atomic;
mod compat;
mod config;
mod local;
mod metrics;
mod output;
mod progress;
mod run;
mod s3;
mod schedule;
mod shard;
mod state;

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
        // clap refuses --local, --compat and --state with export.
        Command::Export(args) => validate(&args.validate, Some(&args.out)),
        Command::Plan(args) => {
            let now = match now_of(&args.validate) {
                Ok(t) => t,
                Err(e) => return fail(&e),
            };
            match shard::plan_command(&args, now) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            }
        }
        Command::Merge(args) => {
            let started = std::time::Instant::now();
            let result = shard::merge_command(&args).map(|o| (o, vec![]));
            let outputs = Outputs {
                format: args.format,
                verbose: shard::plan_verbose(&args.shard_plan),
                report: args.report.as_deref(),
                metrics: args.metrics.as_deref(),
            };
            ExitCode::from(publish(result, &outputs, started))
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "ctverify", &mut script);
            match std::io::stdout().write_all(&script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.into()),
            }
        }
        Command::Man => {
            use clap::CommandFactory;
            match man_page(Cli::command()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e.into()),
            }
        }
    }
}

/// The manual page: `ctverify` with every subcommand's flags in one page.
fn man_page(cmd: clap::Command) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_subcommands_section(&mut out)?;
    for sub in cmd.get_subcommands().filter(|s| s.get_arguments().next().is_some()) {
        let name = sub.get_name().to_string();
        writeln!(out, ".SH \"{}\"", format!("ctverify {name}").to_uppercase())?;
        let sub_man = clap_mangen::Man::new(sub.clone());
        sub_man.render_synopsis_section(&mut out)?;
        sub_man.render_options_section(&mut out)?;
    }
    man.render_extra_section(&mut out)?;
    man.render_version_section(&mut out)?;
    man.render_authors_section(&mut out)
}

/// `validate` (and `export`, which is a validation over S3 that also
/// writes what it reads into `export`).
fn validate(args: &args::ValidateArgs, export: Option<&std::path::Path>) -> ExitCode {
    let started = std::time::Instant::now();
    let now = match now_of(args) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    if args.compat {
        if let Err(e) = config::check_compat(args) {
            return fail(&e);
        }
        return ExitCode::from(compat::run(args, now));
    }
    if args.shard_plan.is_some() {
        // SPEC §10: exit 0 once the shard is checked and its partial
        // written, whatever it found; 2 when it could not run.
        return match shard::shard_command(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        };
    }
    let result = strict(args, export, now).map(|(mut outcome, checkpoints)| {
        outcome.report.render_hints(cli_hint);
        (outcome, checkpoints)
    });
    let outputs = Outputs {
        format: args.format,
        verbose: args.verbose,
        report: args.report.as_deref(),
        metrics: args.metrics.as_deref(),
    };
    ExitCode::from(publish(result, &outputs, started))
}

/// Where a run's report goes.
struct Outputs<'a> {
    format: args::Format,
    verbose: bool,
    report: Option<&'a std::path::Path>,
    metrics: Option<&'a std::path::Path>,
}

/// Prints the report (or the error), writes `--report` and `--metrics`,
/// and returns the exit code.
fn publish(
    result: anyhow::Result<(run::Outcome, schedule::Checkpoints)>,
    outputs: &Outputs,
    started: std::time::Instant,
) -> u8 {
    let (mut code, outcome, checkpoints) = match result {
        Ok((outcome, checkpoints)) => (outcome.report.verdict.exit_code(), Some(outcome), checkpoints),
        Err(e) => {
            eprintln!("ctverify: error: {}", describe(&e));
            (EXIT_ERROR, None, vec![])
        }
    };
    // A failed write keeps "invalid" (tampering outranks it), else exit 2.
    let failed_write = |code: &mut u8, what: &str, e: &anyhow::Error| {
        eprintln!("ctverify: error: {what}: {e:#}");
        if *code != 1 {
            *code = EXIT_ERROR;
        }
    };
    if let Some(o) = &outcome {
        let rendered = output::render(o, outputs.format, outputs.verbose);
        let mut stdout = std::io::stdout().lock();
        if let Err(e) = stdout.write_all(rendered.as_bytes()).and_then(|()| stdout.flush()) {
            failed_write(&mut code, "writing the report to stdout", &e.into());
        }
        if let Some(path) = outputs.report {
            let mut json = o.report.to_json();
            json.push('\n');
            if let Err(e) = atomic::write(path, json.as_bytes(), 0o644) {
                failed_write(&mut code, "--report", &e);
            }
        }
    }
    if let Some(path) = outputs.metrics {
        let m = metrics::RunMetrics {
            finished_unix: system_now().unix(),
            duration_secs: started.elapsed().as_secs_f64(),
            report: outcome.as_ref().map(|o| &o.report),
            exit_code: code,
            checkpoints,
            objects_read: outcome.as_ref().map(|o| o.reads.objects),
            bytes_read: outcome.as_ref().map(|o| o.reads.bytes),
        };
        if let Err(e) = atomic::write(path, metrics::render(&m).as_bytes(), 0o644) {
            failed_write(&mut code, "--metrics", &e);
        }
    }
    code
}

/// A strict run: flags resolved, the state (if any) opened and locked,
/// the passes run over the source, the state advanced.
fn strict(
    args: &args::ValidateArgs,
    export: Option<&std::path::Path>,
    now: Timestamp,
) -> anyhow::Result<(run::Outcome, schedule::Checkpoints)> {
    let mut config = config::resolve(args, now)?;
    if let Some(keyring) = &config.keyring {
        for warning in keyring.rejected() {
            eprintln!("ctverify: warning: public key skipped: {warning}");
        }
        if keyring.is_empty() {
            eprintln!("ctverify: warning: no usable public key: no digest can be verified (digest_key_unknown)");
        }
    }
    let session = schedule::Session::open(args, &mut config)?;
    schedule::run(session, &config, |c| match (&c.source, &c.keyring) {
        (Source::Local(dir), Some(keyring)) => local::run(c, dir, keyring),
        (Source::Local(_), None) => Err(anyhow::anyhow!("--local needs --public-keys FILE")),
        (Source::S3(s3), _) => run_s3(c, s3, export),
    })
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
    eprintln!("ctverify: error: {}", describe(e));
    ExitCode::from(EXIT_ERROR)
}

/// A finding's message in this front end's words: the core names what
/// the user can do ([`Hint`](ctverify_core::report::Hint)), the CLI says
/// which flag does it.
fn cli_hint(hint: ctverify_core::report::Hint, message: &str) -> String {
    use ctverify_core::report::Hint;
    match hint {
        Hint::AddPublicKey => format!("{message} (add it with --public-keys)"),
        Hint::RequestedRegion => format!("--{message}"),
        _ => message.to_string(),
    }
}

/// An error in this front end's words: the core's option errors name the
/// flags here, other core errors get a hint.
fn describe(e: &anyhow::Error) -> String {
    use ctverify_core::verify::OptionsError;
    match e.downcast_ref::<OptionsError>() {
        Some(OptionsError::ReversedRange { start, end }) => {
            format!("invalid time range: --start-time {start} is after --end-time {end}")
        }
        Some(OptionsError::ZeroBudget) => {
            "--max-log-bytes, --max-log-ratio and --max-listed-logs must be at least 1".to_string()
        }
        _ => format!("{e:#}{}", hint(e)),
    }
}

/// What the user can do about a core error, in this front end's flags
/// (the core's messages name no flag; the page adds its own words).
fn hint(e: &anyhow::Error) -> &'static str {
    use ctverify_core::verify::RunError;
    match e.downcast_ref::<RunError>() {
        Some(RunError::NoDigests) => " (give --start-time and --end-time to report the range as a coverage gap)",
        Some(RunError::TooManyListedLogs(_)) => "; narrow the range or raise --max-listed-logs",
        Some(RunError::Listing(_)) => {
            ": give --s3-prefix P (the folder that holds AWSLogs/; --s3-prefix '' when it is at the top)"
        }
        _ => "",
    }
}

/// "Now": `--now` when given, else the system clock.
fn now_of(args: &args::ValidateArgs) -> anyhow::Result<Timestamp> {
    match args.now.as_deref() {
        Some(t) => Ok(Timestamp::parse_user(t)?),
        None => Ok(system_now()),
    }
}

/// The current time from the system clock.
pub fn system_now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_unix(i64::try_from(secs).unwrap_or(i64::MAX))
}
