//! One driver for every front end: it owns the whole sequence (listing →
//! plan → digests → analysis → logs → report) and leaves all IO to the
//! caller, which only answers its requests — list a prefix, read a digest
//! with its metadata, hash a log — concurrently if it likes, and hands the
//! results back in any order. A call out of order is an error
//! ([`SequenceError`]), never a silent fallback; after any error the run is
//! over (every later call fails).
//!
//! ```text
//!   front end                          Driver
//!   ---------                          ------
//!   run each listing (concurrently) ◀─ next_listing / listed   which prefixes (never the whole bucket)
//!                                      plan ──▶ digest keys    which digests to load
//!   load each digest (parallel) ────▶ ParsedDigest::parse     (on the worker: bytes dropped)
//!                        └──────────▶ add_digest              (any order; memory budget)
//!                                      analyze ──▶ log jobs    authenticity, chain, anchor, coverage
//!   hash each vouched log (parallel) ▶ log_result(id, ..)      (any order; findings at once)
//!                                      finish ──▶ Report, checkpoints
//! ```
//!
//! [`run_in_memory`](super::memory::run_in_memory) is this sequence over
//! objects held in memory (core tests, fuzzing, the WASM tests).

use super::analysis::{Analysis, JobId, LogJob, LogResult};
use super::entry::ParsedDigest;
use super::error::{RunError, SequenceError};
use super::listing::{ListRequest, ListResponse, Listing};
use super::options::{CheckedOptions, Options};
use super::plan::Plan;
use super::resume::ChainProgress;
use crate::keys::Keyring;
use crate::report::{Report, Sink};
use std::collections::BTreeSet;

/// Where a run is in its sequence.
enum Step {
    /// Listing the bucket.
    Listing(Box<Listing>),
    /// Loading the planned digests: those not yet delivered, and those that
    /// were.
    Loading {
        plan: Plan,
        pending: BTreeSet<String>,
        parsed: Vec<ParsedDigest>,
        listed_logs: usize,
    },
    /// Hashing the logs.
    Hashing(Box<Analysis>),
    /// An error ended the run (or it is being finished).
    Over,
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::Listing(_) => "listing",
            Step::Loading { .. } => "loading digests",
            Step::Hashing(_) => "hashing logs",
            Step::Over => "the run has ended",
        }
    }
}

/// Drives one verification run; see the module docs for the sequence.
pub struct Driver {
    opts: CheckedOptions,
    step: Step,
}

impl Driver {
    /// A run with these (checked) options.
    pub fn new(opts: CheckedOptions) -> Driver {
        let listing = Listing::new(&opts);
        Driver {
            opts,
            step: Step::Listing(Box::new(listing)),
        }
    }

    /// The run's options.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    fn out_of_order(&mut self, call: &'static str) -> RunError {
        let step = self.step.name();
        self.step = Step::Over;
        SequenceError::OutOfOrder { call, step }.into()
    }

    /// Step 1: the next listing to run, if any. Several may be taken before
    /// their answers come back; `None` with listings in flight means "wait
    /// for them", `None` with none in flight means the listing is complete
    /// (go on with [`plan`](Self::plan)).
    pub fn next_listing(&mut self) -> Result<Option<ListRequest>, RunError> {
        match &mut self.step {
            Step::Listing(l) => Ok(l.next_request()),
            _ => Err(self.out_of_order("next_listing")),
        }
    }

    /// Step 1: the answer to a request from
    /// [`next_listing`](Self::next_listing) (every page of it).
    pub fn listed(&mut self, req: &ListRequest, resp: ListResponse) -> Result<(), RunError> {
        match &mut self.step {
            Step::Listing(l) => {
                if l.accept(req, resp) {
                    Ok(())
                } else {
                    self.step = Step::Over;
                    Err(SequenceError::UnknownListing(req.prefix.clone()).into())
                }
            }
            _ => Err(self.out_of_order("listed")),
        }
    }

    /// Step 2: once every listing is answered, classifies the listed keys
    /// and returns the digest keys to load (each with its S3 metadata),
    /// sorted. An error when the listing stopped (nothing is judged from a
    /// partial listing) or is not complete.
    pub fn plan(&mut self) -> Result<Vec<String>, RunError> {
        let Step::Listing(l) = &mut self.step else {
            return Err(self.out_of_order("plan"));
        };
        if !l.is_done() {
            return Err(self.out_of_order("plan (listings still to run or in flight)"));
        }
        let Step::Listing(l) = std::mem::replace(&mut self.step, Step::Over) else {
            return Err(self.out_of_order("plan"));
        };
        let plan = Plan::new(l.into_keys()?, &self.opts);
        let keys: Vec<String> = plan.digest_keys().map(str::to_string).collect();
        self.step = Step::Loading {
            pending: keys.iter().cloned().collect(),
            plan,
            parsed: vec![],
            listed_logs: 0,
        };
        Ok(keys)
    }

    /// Step 3: one planned digest, parsed by [`ParsedDigest::parse`] (on any
    /// thread), in any order. Fails once the digests list more logs than
    /// [`Options::max_listed_logs`] allows.
    pub fn add_digest(&mut self, digest: ParsedDigest, sink: &mut dyn Sink) -> Result<(), RunError> {
        let max = self.opts.max_listed_logs;
        let Step::Loading {
            pending,
            parsed,
            listed_logs,
            ..
        } = &mut self.step
        else {
            return Err(self.out_of_order("add_digest"));
        };
        if !pending.remove(digest.key()) {
            let key = digest.key().to_string();
            self.step = Step::Over;
            return Err(SequenceError::UnexpectedDigest(key).into());
        }
        *listed_logs = listed_logs.saturating_add(digest.listed_logs());
        if *listed_logs > max {
            self.step = Step::Over;
            return Err(RunError::TooManyListedLogs(max));
        }
        parsed.push(digest);
        sink.digest_loaded();
        Ok(())
    }

    /// Step 4: once every planned digest is delivered, verifies them with
    /// `keyring` (authenticity, chain, anchor, coverage), sends their
    /// findings to `sink`, and returns the log jobs. Only vouched jobs need
    /// to be read; every job should get a [`log_result`](Self::log_result).
    pub fn analyze(&mut self, keyring: &Keyring, sink: &mut dyn Sink) -> Result<Vec<LogJob>, RunError> {
        match &self.step {
            Step::Loading { pending, .. } if !pending.is_empty() => {
                let n = pending.len();
                self.step = Step::Over;
                return Err(SequenceError::DigestsPending(n).into());
            }
            Step::Loading { .. } => {}
            _ => return Err(self.out_of_order("analyze")),
        }
        let Step::Loading { plan, parsed, .. } = std::mem::replace(&mut self.step, Step::Over) else {
            return Err(self.out_of_order("analyze"));
        };
        let analysis = Analysis::from_parsed(plan, parsed, keyring, &self.opts, sink)?;
        let jobs = analysis.log_jobs().to_vec();
        sink.logs_planned(jobs.iter().filter(|j| j.vouched).count() as u64);
        self.step = Step::Hashing(Box::new(analysis));
        Ok(jobs)
    }

    /// The bucket name findings use (known once analyzed).
    pub fn bucket(&self) -> Option<&str> {
        match &self.step {
            Step::Hashing(a) => Some(a.bucket()),
            _ => None,
        }
    }

    /// Step 5: the result of one log job, from any worker, in any order;
    /// its finding goes to `sink` at once. A result for no job, or a second
    /// one for a job, is an error.
    pub fn log_result(&mut self, id: JobId, result: LogResult, sink: &mut dyn Sink) -> Result<(), RunError> {
        let Step::Hashing(a) = &mut self.step else {
            return Err(self.out_of_order("log_result"));
        };
        if !a.awaits(id) {
            self.step = Step::Over;
            return Err(SequenceError::UnexpectedLogResult(id.0).into());
        }
        a.accept(id, result, sink);
        Ok(())
    }

    /// Step 6: the report, and how far each selected chain is now fully
    /// verified (its new checkpoint; see [`super::ChainScope`] for resuming
    /// at it). Jobs that never got a result are unverified (`read_error`),
    /// never valid.
    pub fn finish(self, sink: &mut dyn Sink) -> Result<(Report, Vec<ChainProgress>), RunError> {
        match self.step {
            Step::Hashing(a) => Ok(a.report_with_progress(sink)),
            other => Err(SequenceError::OutOfOrder {
                call: "finish",
                step: other.name(),
            }
            .into()),
        }
    }
}
