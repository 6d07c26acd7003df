//! Scheduled runs (`--state`, `--state-reset`, `--recheck`): each run
//! verifies only what is new since the last one, continuing the verified
//! chain from its checkpoint (the rules are the core's:
//! [`ctverify_core::verify::ChainScope`]), plus a rolling window of earlier
//! hours re-verified, and records where every chain stands.

use crate::args::ValidateArgs;
use crate::config::Config;
use crate::run::Outcome;
use crate::state::{Scope, State, StateFile};
use anyhow::{bail, Result};
use ctverify_core::report::Covered;
use ctverify_core::time::{Timestamp, HOUR};
use ctverify_core::verify::{ChainProgress, ChainScope};
use std::collections::BTreeMap;

/// Each chain of the state and the end of its checkpoint (Unix seconds),
/// for the metrics.
pub type Checkpoints = Vec<(String, Option<i64>)>;

/// A run with `--state`: the locked file and the state being advanced.
pub struct Session {
    file: StateFile,
    state: State,
    /// The state as loaded (re-verification windows come from it).
    before: State,
    recheck_hours: u32,
}

/// The scope of `args` (what a state file is about); the prefix as the
/// options normalized it.
fn scope_of(args: &ValidateArgs, config: &Config) -> Scope {
    let sorted = crate::config::sorted_unique;
    Scope {
        trail_arn: args.trail_arn.clone(),
        bucket: args.s3_bucket.clone(),
        prefix: config.options.prefix.clone().filter(|p| !p.is_empty()),
        regions: sorted(&args.region),
        accounts: sorted(&args.account_id),
    }
}

impl Session {
    /// Opens (locks, reads, checks) the state of `args`, if `--state` is
    /// given, and sets the chains' ranges in `config`: a chain with a
    /// checkpoint resumes there; a chain with a place but no checkpoint
    /// starts where it began; a chain first seen now starts at
    /// `--start-time`, or where the state's chains resume.
    pub fn open(args: &ValidateArgs, config: &mut Config) -> Result<Option<Session>> {
        // clap makes --state-reset and --recheck require --state; main
        // refuses --state with --compat and export.
        let Some(path) = &args.state else {
            return Ok(None);
        };
        let file = StateFile::lock(path)?;
        let scope = scope_of(args, config);
        let opts = &config.options;
        let loaded = if args.state_reset { None } else { file.load()? };
        let state = match loaded {
            Some(s) => {
                let diff = s.scope.differences(&scope);
                if !diff.is_empty() {
                    bail!(
                        "--state {}: the file was written for another scope: {}; use another state file, or --state-reset to start over deliberately",
                        path.display(),
                        diff.join("; ")
                    );
                }
                s
            }
            None => {
                if opts.start.is_none() && config.source.is_s3() {
                    bail!("the first run with --state needs --start-time (S3 mode): where the verified history begins");
                }
                State::new(scope, opts.start, opts.now)
            }
        };
        let chains = state.chains.clone();
        let origin = state.origin;
        config.options = config.options.clone().amend(|opts| {
            for c in &chains {
                let scope = match &c.checkpoint {
                    Some(cp) => ChainScope::resume(cp.clone()),
                    None => ChainScope {
                        start: Some(c.since),
                        end: None,
                        anchor: None,
                    },
                };
                opts.scopes.insert(c.chain.clone(), scope);
            }
            if opts.start.is_none() {
                // Chains first seen now: where the known ones resume.
                opts.start = opts.scopes.values().filter_map(|s| s.start).min().or(origin);
                if let (Some(s), Some(e)) = (opts.start, opts.end) {
                    opts.start = Some(s.min(e));
                }
            }
        })?;
        Ok(Some(Session {
            file,
            before: state.clone(),
            state,
            recheck_hours: args.recheck,
        }))
    }

    /// Records the main pass: each chain's new checkpoint.
    pub fn advance(&mut self, progress: &[ChainProgress]) {
        for p in progress {
            let c = self.state.chain_mut(&p.chain, p.start);
            c.checkpoint = p.checkpoint.clone();
        }
    }

    /// The configuration of the re-verification pass (`--recheck N`): for
    /// each chain with a checkpoint, the next N hours of its verified
    /// history, oldest-checked first; `None` when there is nothing to do.
    pub fn recheck_config(&self, config: &Config) -> Result<Option<(Config, Vec<Covered>)>> {
        if self.recheck_hours == 0 {
            return Ok(None);
        }
        let mut windows = BTreeMap::new();
        let mut periods = vec![];
        for c in &self.before.chains {
            let Some(cp) = &c.checkpoint else { continue };
            let (from, to) = recheck_window(c.since, cp.end, c.recheck_next, self.recheck_hours);
            if from >= to {
                continue;
            }
            windows.insert(
                c.chain.clone(),
                ChainScope {
                    start: Some(from),
                    end: Some(to),
                    anchor: None,
                },
            );
            periods.push(Covered {
                start: from,
                end: to,
                chain: c.chain.describe(),
            });
        }
        if windows.is_empty() {
            return Ok(None);
        }
        let mut rc = config.clone();
        rc.options = rc.options.amend(|o| {
            o.start = windows.values().filter_map(|s| s.start).min();
            o.end = windows.values().filter_map(|s| s.end).max();
            o.scopes = windows;
            o.only_scoped = true;
            o.latest_digest_delivery = None;
        })?;
        Ok(Some((rc, periods)))
    }

    /// Records the re-verification pass: a window verified to its end moves
    /// the chain's re-verification on (back to the beginning after the
    /// checkpoint); a problem holds it there, so the next run looks again.
    pub fn rechecked(&mut self, progress: &[ChainProgress]) {
        for p in progress {
            let Some(before) = self.before.chains.iter().find(|c| c.chain == p.chain) else {
                continue;
            };
            let Some(cp) = &before.checkpoint else { continue };
            let (from, _) = recheck_window(before.since, cp.end, before.recheck_next, self.recheck_hours);
            let next = match p.held_at {
                None => p.end,
                Some(_) => p.checkpoint.as_ref().map_or(from, |c| c.end.max(from)),
            };
            let c = self.state.chain_mut(&p.chain, before.since);
            if next >= cp.end {
                c.recheck_next = Some(c.since);
                c.recheck_rounds += 1;
            } else {
                c.recheck_next = Some(next);
            }
        }
    }

    /// Writes the state (the run completed).
    pub fn save(mut self, now: Timestamp) -> Result<()> {
        self.state.updated = now;
        self.state.runs += 1;
        self.file.save(&self.state)
    }

    /// Each chain of the state and the end of its checkpoint (metrics).
    pub fn checkpoints(&self) -> Checkpoints {
        self.state
            .chains
            .iter()
            .map(|c| (c.chain.describe(), c.checkpoint.as_ref().map(|cp| cp.end.unix())))
            .collect()
    }
}

/// The re-verification window of a chain verified from `since` to
/// `checkpoint`: `hours` from where the last one stopped (from `since`
/// once it reached the checkpoint).
fn recheck_window(
    since: Timestamp,
    checkpoint: Timestamp,
    next: Option<Timestamp>,
    hours: u32,
) -> (Timestamp, Timestamp) {
    let from = next.filter(|n| *n >= since && *n < checkpoint).unwrap_or(since);
    let to = from.add_secs(i64::from(hours) * HOUR).min(checkpoint);
    (from, to)
}

/// Runs the main pass and, with `--recheck`, the re-verification pass, and
/// records both in the state (written only when everything completed).
pub fn run(
    session: Option<Session>,
    config: &Config,
    mut pass: impl FnMut(&Config) -> Result<Outcome>,
) -> Result<(Outcome, Checkpoints)> {
    let mut outcome = pass(config)?;
    let Some(mut session) = session else {
        return Ok((outcome, vec![]));
    };
    session.advance(&outcome.progress);
    if let Some((rc, periods)) = session.recheck_config(config)? {
        let again = pass(&rc)?;
        session.rechecked(&again.progress);
        outcome.absorb(again, periods, config.options.allow_gaps);
    }
    let checkpoints = session.checkpoints();
    if config.options.verbose {
        eprintln!(
            "ctverify: state {}: {} chain(s)",
            session.file.path().display(),
            checkpoints.len()
        );
    }
    session.save(config.options.now)?;
    Ok((outcome, checkpoints))
}

#[cfg(test)]
mod tests {
    use super::recheck_window;
    use ctverify_core::time::Timestamp;

    #[test]
    fn recheck_windows_roll_and_wrap() {
        let t = |h: i64| Timestamp::from_unix(1_700_000_000 + h * 3600);
        assert_eq!(recheck_window(t(0), t(10), None, 4), (t(0), t(4)));
        assert_eq!(recheck_window(t(0), t(10), Some(t(4)), 4), (t(4), t(8)));
        assert_eq!(recheck_window(t(0), t(10), Some(t(8)), 4), (t(8), t(10)));
        assert_eq!(recheck_window(t(0), t(10), Some(t(10)), 4), (t(0), t(4)));
        assert_eq!(recheck_window(t(0), t(10), Some(t(-5)), 4), (t(0), t(4)));
    }
}
