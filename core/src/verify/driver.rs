//! One driver for every front end: it owns the sequence
//! (plan → digests → analysis → logs → report) and leaves all IO to the
//! caller, which may load digests and hash logs concurrently and hand the
//! results back in any order.
//!
//! ```text
//!   front end                          Driver
//!   ---------                          ------
//!   list the bucket ──────────────▶  plan(keys)           which digests to load
//!   load each digest (parallel) ──▶  ParsedDigest::parse  (on the worker: bytes dropped)
//!                        └────────▶  add_digest           (any order; memory budget)
//!                                    analyze ──▶ jobs     signatures, chain, coverage
//!   hash each vouched log (parallel) log_result(id, ..)   (any order; findings at once)
//!                                    finish ──▶ Report
//! ```

use super::{Analysis, ChainProgress, JobId, LogJob, LogResult, Options, OptionsError, ParsedDigest, Plan, RunError};
use crate::keys::Keyring;
use crate::report::{Report, Sink};

/// Drives one verification run; see the module docs for the sequence.
pub struct Driver {
    opts: Options,
    keyring: Keyring,
    plan: Option<Plan>,
    parsed: Vec<ParsedDigest>,
    listed_logs: usize,
    analysis: Option<Analysis>,
}

impl Driver {
    /// A run with these options (checked: [`Options::checked`]) and keys.
    pub fn new(opts: Options, keyring: Keyring) -> Result<Driver, OptionsError> {
        Ok(Driver {
            opts: opts.checked()?,
            keyring,
            plan: None,
            parsed: vec![],
            listed_logs: 0,
            analysis: None,
        })
    }

    /// The run's options.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    /// Step 1: classifies the listed object keys; returns the digest keys to
    /// load (each with its S3 metadata), sorted.
    pub fn plan<I, S>(&mut self, listed: I) -> Vec<String>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let plan = Plan::new(listed, &self.opts);
        let keys = plan.digest_keys().map(str::to_string).collect();
        self.plan = Some(plan);
        keys
    }

    /// Step 2: one loaded digest, parsed by [`ParsedDigest::parse`] (on any
    /// thread), in any order. Fails once the digests list more logs than
    /// [`Options::max_listed_logs`] allows.
    pub fn add_digest(&mut self, digest: ParsedDigest, sink: &mut dyn Sink) -> Result<(), RunError> {
        self.listed_logs = self.listed_logs.saturating_add(digest.listed_logs());
        if self.listed_logs > self.opts.max_listed_logs {
            return Err(RunError::TooManyListedLogs(self.opts.max_listed_logs));
        }
        self.parsed.push(digest);
        sink.digest_loaded();
        Ok(())
    }

    /// Step 3: verifies the digests (signatures, chain, coverage), sends
    /// their findings to `sink`, and returns the log jobs. Only vouched jobs
    /// need to be read; every vouched job should get a
    /// [`log_result`](Self::log_result).
    pub fn analyze(&mut self, sink: &mut dyn Sink) -> Result<Vec<LogJob>, RunError> {
        let plan = self
            .plan
            .take()
            .unwrap_or_else(|| Plan::new(Vec::<String>::new(), &self.opts));
        let parsed = std::mem::take(&mut self.parsed);
        let analysis = Analysis::from_parsed(plan, parsed, &self.keyring, &self.opts, sink)?;
        let jobs = analysis.log_jobs().to_vec();
        sink.logs_planned(jobs.iter().filter(|j| j.vouched).count() as u64);
        self.analysis = Some(analysis);
        Ok(jobs)
    }

    /// The bucket name findings use (known after [`analyze`](Self::analyze)).
    pub fn bucket(&self) -> Option<&str> {
        self.analysis.as_ref().map(Analysis::bucket)
    }

    /// Step 4: the result of one log job, from any worker, in any order;
    /// its finding goes to `sink` at once.
    pub fn log_result(&mut self, id: JobId, result: LogResult, sink: &mut dyn Sink) {
        if let Some(a) = self.analysis.as_mut() {
            a.accept(id, result, sink);
        }
    }

    /// Step 5: the report. Jobs that never got a result are unverified
    /// (`read_error`), never valid.
    pub fn finish(self, sink: &mut dyn Sink) -> Result<Report, RunError> {
        self.finish_with_progress(sink).map(|(report, _)| report)
    }

    /// Step 5 for incremental runs: the report, and how far each selected
    /// chain is now fully verified (its new checkpoint; see
    /// [`super::ChainScope`] for resuming at it).
    pub fn finish_with_progress(mut self, sink: &mut dyn Sink) -> Result<(Report, Vec<ChainProgress>), RunError> {
        if self.analysis.is_none() {
            self.analyze(sink)?;
        }
        match self.analysis {
            Some(a) => Ok(a.report_with_progress(sink)),
            None => Err(RunError::NoDigests),
        }
    }
}
