//! Phases 2 and 3: the digests (authenticity, chain, anchor, coverage),
//! then the log results, one at a time and in any order, into the report.

use super::bounds::NOT_YET_DUE;
use super::entry::{Bucket, Entry, ParsedDigest, ReadFailure};
use super::error::RunError;
use super::index::ChainIndex;
use super::options::Options;
use super::plan::Plan;
use super::resume::{ChainProgress, Checkpoint, Track};
use super::trust::{authenticate, Authenticated};
use super::{anchor, bucket, chain, coverage, unreferenced};
use crate::keys::Keyring;
use crate::layout::{ChainId, DigestKeyName, LogPlace, ObjectRef};
use crate::logs::{HashedLog, LogJudgement};
use crate::report::{Class, Counts, Covered, Finding, Hint, Interval, Kind, Report, Sink, Summary};
use crate::time::{Timestamp, HOUR};
use std::collections::{BTreeMap, BTreeSet};

/// One log object to hash: the front end streams it through a
/// [`crate::logs::LogHasher`] unless `vouched` is false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogJob {
    /// Its id: give it back with the result ([`super::Driver::log_result`]).
    pub id: JobId,
    /// The log object.
    pub object: ObjectRef,
    /// `hashValue` from the digest.
    pub expected: [u8; 32],
    /// True when an authenticated digest lists it. Unvouched logs need not
    /// be read: they are counted `unverified` whatever their content.
    pub vouched: bool,
}

/// Identifies one [`LogJob`] of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub usize);

/// What the front end found for one [`LogJob`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogResult {
    /// The object was hashed.
    Hashed(HashedLog),
    /// The object could not be read.
    Failed(ReadFailure),
    /// Not read (the job was not vouched for).
    Skipped,
}

/// Phase 2 result: digest findings so far and the log jobs.
pub(super) struct Analysis {
    bucket: String,
    findings: Vec<Finding>,
    digest_counts: Counts,
    jobs: Vec<LogJob>,
    /// Keys (in the report's bucket) that an authenticated digest lists.
    referenced: unreferenced::Referenced,
    covered: Vec<(ChainId, Vec<Interval>)>,
    requested: Option<Interval>,
    log_keys: Vec<(String, std::sync::Arc<str>, LogPlace)>,
    allow_gaps: bool,
    verbose: bool,
    /// Which jobs got a result ([`Analysis::accept`]).
    done: Vec<bool>,
    log_counts: Counts,
    log_bytes: u64,
    /// The end of what is due: `now` minus [`NOT_YET_DUE`], or no limit when
    /// a digest ends after `now` (the clock is wrong, so "not yet due"
    /// cannot be trusted).
    due_end: Timestamp,
    /// Per selected chain: what the checkpoint rule needs
    /// ([`super::resume`]).
    tracks: Vec<Track>,
    /// Per job: the chains (indices into `tracks`) whose digests list it,
    /// with the start of the listing digest's period.
    job_places: Vec<Vec<(usize, Timestamp)>>,
}

/// Log jobs as they are gathered: (object, expected hash) → (vouched, the
/// chains and periods that list it).
type JobMap = BTreeMap<(ObjectRef, [u8; 32]), (bool, Vec<(usize, Timestamp)>)>;

/// A range that contains every digest (for chains checked only to learn
/// which logs they vouch for).
const EVERYTHING: Interval = Interval {
    start: Timestamp::from_unix(i64::MIN / 4),
    end: Timestamp::from_unix(i64::MAX / 4),
};

impl Analysis {
    /// Phase 2, from digests parsed as they were loaded
    /// ([`ParsedDigest::parse`], e.g. on the loading worker, so that no
    /// object bytes are kept). Every digest is one the plan asked for (the
    /// driver checks it).
    pub(super) fn from_parsed(
        mut plan: Plan,
        parsed: Vec<ParsedDigest>,
        keyring: &Keyring,
        opts: &Options,
        sink: &mut dyn Sink,
    ) -> Result<Analysis, RunError> {
        let names: BTreeMap<&str, &DigestKeyName> = plan.digests.iter().map(|(k, n)| (k.as_str(), n)).collect();
        let mut entries: Vec<Entry> = parsed
            .into_iter()
            .filter_map(|p| {
                let name = names.get(p.key.as_str()).map(|n| (*n).clone())?;
                Some(Entry {
                    key: p.key,
                    name,
                    state: p.state,
                    metadata: p.metadata,
                })
            })
            .collect();
        entries.sort_by(|a, b| (a.name.time, a.name.backfill, &a.key).cmp(&(b.name.time, b.name.backfill, &b.key)));

        let mut by_chain: BTreeMap<&ChainId, Vec<usize>> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_chain.entry(&e.name.chain).or_default().push(i);
        }
        // Step 1, for every loaded chain: which digests are authentic. The
        // chains that are not selected but share a folder with a selected
        // one are checked only to know which logs they vouch for.
        let mut checks: BTreeMap<&ChainId, (ChainIndex, Authenticated)> = BTreeMap::new();
        for (chain, idx) in &by_chain {
            let range = if plan.selected.contains(*chain) {
                chain_range(idx, &entries, opts)
            } else {
                EVERYTHING
            };
            let ix = ChainIndex::new(chain, idx, &entries, range, opts.local_copy)
                .with_delivery(opts.delivered_until(chain))
                .with_anchor(opts.scopes.get(*chain).and_then(|s| s.anchor.as_ref()));
            let auth = authenticate(&ix, keyring, opts.now);
            checks.insert(chain, (ix, auth));
        }
        let bucket = bucket::decide(opts, &entries, &checks, &plan.selected);
        // A digest that ends after "now" means the clock (or the evidence)
        // is wrong: then nothing is "not yet due".
        let clock_contradicted = by_chain
            .iter()
            .filter(|(c, _)| plan.selected.contains(**c))
            .flat_map(|(_, idx)| idx.iter())
            .any(|&i| entries[i].digest().is_some_and(|d| d.end > opts.now));
        let due_end = if clock_contradicted {
            EVERYTHING.end
        } else {
            opts.now.add_secs(-NOT_YET_DUE)
        };
        let mut a = Analysis {
            bucket: bucket.name.clone(),
            findings: vec![],
            digest_counts: Counts::default(),
            jobs: vec![],
            referenced: unreferenced::Referenced::new(),
            covered: vec![],
            requested: None,
            log_keys: std::mem::take(&mut plan.log_keys),
            allow_gaps: opts.allow_gaps,
            verbose: opts.verbose,
            done: vec![],
            log_counts: Counts::default(),
            log_bytes: 0,
            due_end,
            tracks: vec![],
            job_places: vec![],
        };
        // A log is referenced only when an authenticated digest lists it:
        // one of a selected chain (whose logs are checked), or one of
        // another trail sharing the folder that sits where it says it
        // belongs (an authentic digest copied here from elsewhere does not
        // vouch for this folder).
        for (chain, (_, auth)) in &checks {
            let selected = plan.selected.contains(*chain);
            for v in auth.iter().filter(|v| selected || v.entry().in_place(opts.local_copy)) {
                for (object, _) in v.vouched_logs() {
                    if object.bucket == a.bucket {
                        a.referenced.insert(unreferenced::key_id(&object.key));
                    }
                }
            }
        }
        let mut jobs: JobMap = BTreeMap::new();
        let mut any_chain = false;
        for chain in &plan.selected {
            let Some((ix, auth)) = checks.get(chain) else {
                if let Some(anchor) = opts.scopes.get(chain).and_then(|s| s.anchor.as_ref()) {
                    any_chain = true;
                    a.lost_checkpoint(chain, anchor, &bucket, opts, sink);
                }
                // Digests exist, but none near the explicit range: nothing
                // vouches for it in this chain.
                if let (Some(start), Some(end)) = opts.window_of(chain) {
                    any_chain = true;
                    a.requested = Some(Interval { start, end });
                    let message = format!("no digest of {} in or near the requested range", chain.describe());
                    a.range_gap(chain.digest_folder(), Interval { start, end }, message, None, sink);
                }
                continue;
            };
            any_chain = true;
            a.chain(ix, &bucket, auth, &mut jobs, opts.allow_gaps, sink);
        }
        if !any_chain {
            let (Some(start), Some(end)) = (opts.start, opts.end) else {
                return Err(RunError::NoDigests);
            };
            a.requested = Some(Interval { start, end });
            let message = "no digest of the selected trails was found: nothing vouches for this period".to_string();
            a.range_gap(String::new(), Interval { start, end }, message, None, sink);
        } else {
            a.absent_regions(&plan, opts, sink);
        }
        let (jobs, places): (Vec<LogJob>, Vec<Vec<(usize, Timestamp)>>) = jobs
            .into_iter()
            .enumerate()
            .map(|(i, ((object, expected), (vouched, places)))| {
                let job = LogJob {
                    id: JobId(i),
                    object,
                    expected,
                    vouched,
                };
                (job, places)
            })
            .unzip();
        a.jobs = jobs;
        a.job_places = places;
        a.done = vec![false; a.jobs.len()];
        // Coverage and references are complete: judge the unreferenced
        // objects now, and hold neither the listed log keys nor the
        // references while the logs are hashed.
        let log_keys = std::mem::take(&mut a.log_keys);
        let referenced = std::mem::take(&mut a.referenced);
        for f in unreferenced::findings(&a.bucket, &log_keys, &a.covered, &referenced) {
            a.emit(f, sink);
        }
        Ok(a)
    }

    /// A chain that resumes at `anchor` but has no digest left near its
    /// range: the checkpoint digest is gone. The checkpoint stays.
    fn lost_checkpoint(
        &mut self,
        chain: &ChainId,
        anchor: &Checkpoint,
        bucket: &Bucket,
        opts: &Options,
        sink: &mut dyn Sink,
    ) {
        let (start, end) = opts.window_of(chain);
        let start = start.unwrap_or(anchor.end);
        let end = end.unwrap_or(start).max(start);
        let range = Interval { start, end };
        self.requested = Some(self.requested.map_or(range, |r| Interval {
            start: r.start.min(start),
            end: r.end.max(end),
        }));
        self.emit(anchor::gone(&bucket.name, &anchor.key), sink);
        let mut track = Track {
            chain: chain.clone(),
            start,
            end,
            anchor: Some(anchor.clone()),
            candidates: vec![],
            held_at: None,
        };
        track.hold(EVERYTHING.start);
        self.tracks.push(track);
    }

    /// Regions the options ask for that a validated account root has no
    /// digest for: nothing vouches for them, so the whole requested range is
    /// a coverage gap there (never a silent `valid`).
    fn absent_regions(&mut self, plan: &Plan, opts: &Options, sink: &mut dyn Sink) {
        let Some(range) = self.requested else { return };
        let roots: BTreeSet<(&str, Option<&str>, &str)> = plan
            .selected
            .iter()
            .map(|c| (c.prefix.as_str(), c.org.as_deref(), c.account.as_str()))
            .collect();
        for (prefix, org, account) in roots {
            for region in &opts.regions {
                let delivered = plan.selected.iter().any(|c| {
                    (c.prefix.as_str(), c.org.as_deref(), c.account.as_str()) == (prefix, org, account)
                        && &c.region == region
                });
                if delivered {
                    continue;
                }
                let chain = ChainId {
                    prefix: prefix.to_string(),
                    org: org.map(str::to_string),
                    account: account.to_string(),
                    region: region.clone(),
                    trail: opts
                        .trail
                        .as_ref()
                        .map_or_else(|| "(any)".to_string(), |t| t.name.clone()),
                    home_region: opts
                        .trail
                        .as_ref()
                        .map_or_else(|| "(any)".to_string(), |t| t.home_region.clone()),
                };
                let message = format!(
                    "region {region} was requested but no digest of {} was found",
                    chain.describe()
                );
                self.range_gap(chain.digest_folder(), range, message, Some(Hint::RequestedRegion), sink);
            }
        }
    }

    /// A coverage gap over the whole of `range` (up to what is due by `now`)
    /// for `folder` (a digest folder, or empty for the whole bucket).
    fn range_gap(&mut self, folder: String, range: Interval, message: String, hint: Option<Hint>, sink: &mut dyn Sink) {
        let due = range.end.min(self.due_end);
        if range.start < due {
            let object = ObjectRef::new(&self.bucket, folder);
            self.emit(
                Finding::interval(Kind::CoverageGap, object, range.start, due, message).with_hint(hint),
                sink,
            );
        }
    }

    /// The bucket name findings use.
    pub(super) fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The logs to hash, in a stable order.
    pub(super) fn log_jobs(&self) -> &[LogJob] {
        &self.jobs
    }

    /// True when job `id` exists and has no result yet.
    pub(super) fn awaits(&self, id: JobId) -> bool {
        self.done.get(id.0).is_some_and(|d| !d)
    }

    fn emit(&mut self, f: Finding, sink: &mut dyn Sink) {
        sink.finding(&f);
        self.findings.push(f);
    }

    /// Everything about one selected chain: its digests, links, anchor and
    /// coverage findings, its counts and checkpoint track, and the log jobs
    /// of its digests in range (vouched only by authenticated ones).
    fn chain(
        &mut self,
        ix: &ChainIndex,
        bucket: &Bucket,
        auth: &Authenticated,
        jobs: &mut JobMap,
        allow_gaps: bool,
        sink: &mut dyn Sink,
    ) {
        let range = ix.range();
        self.requested = Some(match self.requested {
            None => range,
            Some(r) => Interval {
                start: r.start.min(range.start),
                end: r.end.max(range.end),
            },
        });
        let (mut findings, vacated) = chain::digests(ix, bucket, auth);
        let (links, missing) = chain::links(ix, bucket, auth, vacated);
        findings.extend(links);
        findings.extend(anchor::check(ix, bucket, auth));
        let (covered, gaps) = coverage::coverage(ix, bucket, auth, self.due_end);
        findings.extend(gaps);
        let obj = |key: &str| ObjectRef::new(&bucket.name, key);
        let track = self.track(ix, &bucket.name, auth, &findings, allow_gaps);

        // Counts, verbose listing and log jobs for digests in range.
        let mut worst: BTreeMap<ObjectRef, Class> = BTreeMap::new();
        for f in &findings {
            if let Some(o) = &f.object {
                let w = worst.entry(o.clone()).or_insert(Class::Valid);
                if f.class < *w {
                    *w = f.class;
                }
            }
        }
        for (i, e) in ix.digests() {
            if !ix.in_range(e.window()) {
                continue;
            }
            let here = obj(&e.key);
            let verified = auth.get(i);
            self.digest_counts.total += 1;
            match worst.get(&here) {
                Some(Class::Violation) => self.digest_counts.invalid += 1,
                Some(Class::Unverifiable) => self.digest_counts.unverified += 1,
                _ if verified.is_some() => {
                    self.digest_counts.valid += 1;
                    if self.verbose {
                        findings.push(Finding::object(Kind::Valid, &here, "digest verified"));
                    }
                }
                _ => self.digest_counts.unverified += 1,
            }
            let start = e.window().start;
            match verified {
                // Only an authenticated digest vouches for its logs.
                Some(v) => {
                    for listed in v.vouched_logs() {
                        let job = jobs.entry(listed).or_default();
                        job.0 = true;
                        job.1.push((track, start));
                    }
                }
                // An unauthenticated one only says they exist (unverified).
                None => {
                    for l in e.digest().map(|d| d.log_files.as_slice()).unwrap_or_default() {
                        let job = jobs.entry((ObjectRef::new(&l.bucket, &l.object), l.hash)).or_default();
                        job.1.push((track, start));
                    }
                }
            }
        }
        self.digest_counts.total += missing.len() as u64;
        self.digest_counts.invalid += missing.len() as u64;
        self.covered.push((ix.chain().clone(), covered));
        for f in findings {
            self.emit(f, sink);
        }
    }

    /// Records what the checkpoint rule needs for one chain (see
    /// [`super::resume`]): the authenticated regular digests in range, and
    /// where its first problem lies among `findings` (the chain's digest,
    /// link, anchor and coverage findings). Returns the track's index.
    fn track(
        &mut self,
        ix: &ChainIndex,
        bucket: &str,
        auth: &Authenticated,
        findings: &[Finding],
        allow_gaps: bool,
    ) -> usize {
        let range = ix.range();
        let mut track = Track {
            chain: ix.chain().clone(),
            start: range.start,
            end: range.end,
            anchor: ix.anchor().cloned(),
            candidates: vec![],
            held_at: None,
        };
        let mut starts: BTreeMap<&str, Timestamp> = BTreeMap::new();
        for (i, e) in ix.digests() {
            if !ix.in_range(e.window()) {
                continue;
            }
            starts.insert(e.key.as_str(), e.window().start);
            match auth.get(i) {
                Some(v) => track.candidates.extend(v.checkpoint(bucket)),
                None => track.hold(e.window().start),
            }
        }
        let before_everything = EVERYTHING.start;
        for f in findings {
            let holds = matches!(f.class, Class::Violation | Class::Unverifiable)
                && !(allow_gaps && f.kind == Kind::CoverageGap);
            if !holds {
                continue;
            }
            let key = f.object.as_ref().map(|o| o.key.as_str());
            let at = if f.kind == Kind::CoverageGap {
                f.start.unwrap_or(before_everything)
            } else if key.is_some() && key == track.anchor.as_ref().map(|a| a.key.as_str()) {
                before_everything
            } else if let Some(t) = key.and_then(|k| starts.get(k)) {
                *t
            } else if let Some(n) = key.and_then(DigestKeyName::parse) {
                n.time.add_secs(-HOUR)
            } else {
                // Cannot be placed: hold the whole chain (fail closed).
                before_everything
            };
            track.hold(at);
        }
        self.tracks.push(track);
        self.tracks.len() - 1
    }

    /// Phase 3: judges the result of job `id` at once, in any order, and
    /// sends its finding (if any) and a progress event to `sink`. A second
    /// result for the same job, or an unknown id, is ignored (the first
    /// result stands).
    pub(super) fn accept(&mut self, id: JobId, result: LogResult, sink: &mut dyn Sink) {
        let Some(done) = self.done.get_mut(id.0) else { return };
        if std::mem::replace(done, true) {
            return;
        }
        let Some(job) = self.jobs.get(id.0) else { return };
        let counts = &mut self.log_counts;
        counts.total += 1;
        if !job.vouched {
            // Not read: unverified whatever its content (and no progress
            // event: `logs_planned` counted vouched logs only).
            counts.unverified += 1;
            return;
        }
        let bytes = match &result {
            LogResult::Hashed(h) => h.inflated,
            _ => 0,
        };
        self.log_bytes += bytes;
        sink.log_done(bytes);
        let here = job.object.clone();
        let finding = match result {
            LogResult::Skipped => Finding::object(Kind::ReadError, &here, "log was not read"),
            LogResult::Failed(ReadFailure::NotFound) => Finding::object(
                Kind::LogMissing,
                &here,
                "log file listed by a verified digest does not exist (deleted?)",
            ),
            LogResult::Failed(ReadFailure::Unsafe) => Finding::object(
                Kind::ReadError,
                &here,
                "log key cannot be read safely from this source (it resolves outside the copy); not read",
            ),
            LogResult::Failed(ReadFailure::Other(why)) => {
                Finding::object(Kind::ReadError, &here, format!("log could not be read: {why}"))
            }
            LogResult::Hashed(h) => match h.judge(&job.expected) {
                LogJudgement::Valid => {
                    counts.valid += 1;
                    if self.verbose {
                        self.emit(Finding::object(Kind::Valid, &here, "log verified"), sink);
                    }
                    return;
                }
                LogJudgement::OverBudget(why) => {
                    Finding::object(Kind::ReadError, &here, format!("log not verified: {why}"))
                }
                LogJudgement::Malformed(why) => {
                    Finding::object(Kind::LogMalformed, &here, format!("log is malformed: {why}"))
                }
                LogJudgement::Modified { actual } => Finding::object(
                    Kind::LogModified,
                    &here,
                    format!(
                        "SHA-256 of the uncompressed log is {} but the digest records {}",
                        hex::encode(actual),
                        hex::encode(job.expected)
                    ),
                ),
            },
        };
        match finding.class {
            Class::Violation => counts.invalid += 1,
            _ => counts.unverified += 1,
        }
        if let Some(places) = self.job_places.get(id.0) {
            for &(t, at) in places {
                if let Some(track) = self.tracks.get_mut(t) {
                    track.hold(at);
                }
            }
        }
        self.emit(finding, sink);
    }

    /// Ends phase 3 and assembles the report. A vouched job that never got
    /// a result is not skipped silently: it is `read_error` (unverified).
    /// With it, how far each selected chain is now fully verified (its
    /// checkpoint, [`super::resume`]).
    pub(super) fn report_with_progress(mut self, sink: &mut dyn Sink) -> (Report, Vec<ChainProgress>) {
        let pending: Vec<JobId> = self.jobs.iter().filter(|j| !self.done[j.id.0]).map(|j| j.id).collect();
        for id in pending {
            self.accept(
                id,
                LogResult::Failed(ReadFailure::Other("no result was delivered for this log".into())),
                sink,
            );
        }
        let covered = self
            .covered
            .iter()
            .flat_map(|(c, spans)| {
                spans.iter().map(move |s| Covered {
                    start: s.start,
                    end: s.end,
                    chain: c.describe(),
                })
            })
            .collect();
        let summary = Summary {
            digests: self.digest_counts,
            logs: self.log_counts,
        };
        let report = Report::new(
            self.requested,
            covered,
            summary,
            self.findings,
            self.allow_gaps,
            self.log_bytes,
        );
        (report, self.tracks.into_iter().map(Track::progress).collect())
    }
}

/// The requested range of one selected chain: explicit, or the chain's own
/// extent (every digest found, backfill included: a backfill for an hour
/// whose regular digest is gone still shows the hour was due).
fn chain_range(idx: &[usize], entries: &[Entry], opts: &Options) -> Interval {
    let windows = || idx.iter().map(|&i| entries[i].window());
    let (start, end) = idx
        .first()
        .map_or((opts.start, opts.end), |&i| opts.window_of(&entries[i].name.chain));
    let start = start.unwrap_or_else(|| windows().map(|w| w.start).min().unwrap_or(opts.now));
    let end = end.unwrap_or_else(|| windows().map(|w| w.end).max().unwrap_or(opts.now));
    Interval {
        start,
        end: end.max(start),
    }
}
