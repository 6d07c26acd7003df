//! What to validate and how: the resolved command line, checked once.

use crate::layout::ChainId;
use crate::logs::LogBudget;
use crate::time::Timestamp;

use super::bounds::MAX_LISTED_LOGS;
use super::error::OptionsError;
use super::resume::ChainScope;
use std::collections::BTreeMap;

/// `--trail-arn`, resolved: which trail to validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailFilter {
    /// Trail name (exact match).
    pub name: String,
    /// Home region from the ARN.
    pub home_region: String,
    /// Account from the ARN.
    pub account: String,
}

impl TrailFilter {
    /// Parses `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    pub fn from_arn(arn: &str) -> Option<TrailFilter> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" {
            return None;
        }
        let name = parts[5].strip_prefix("trail/")?;
        let account = parts[4];
        if name.is_empty()
            || name.contains('/')
            || parts[3].is_empty()
            || account.len() != 12
            || !account.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(TrailFilter {
            name: name.to_string(),
            home_region: parts[3].to_string(),
            account: account.to_string(),
        })
    }
}

/// What to validate and how (the resolved command line).
#[derive(Debug, Clone)]
pub struct Options {
    /// `--start-time`; `None`: each chain's oldest digestStartTime.
    pub start: Option<Timestamp>,
    /// `--end-time`; `None`: each chain's newest digestEndTime.
    pub end: Option<Timestamp>,
    /// The current time, passed in (the core reads no clock).
    pub now: Timestamp,
    /// `--allow-gaps`: coverage gaps do not make the verdict incomplete.
    pub allow_gaps: bool,
    /// `--verbose`: list valid objects too.
    pub verbose: bool,
    /// `--trail-arn`.
    pub trail: Option<TrailFilter>,
    /// `--region` (empty: all).
    pub regions: Vec<String>,
    /// `--account-id` (empty: the ARN's account, or all for org trails).
    pub accounts: Vec<String>,
    /// `--s3-bucket`: the bucket name findings use.
    pub bucket: Option<String>,
    /// `--s3-prefix` (without trailing `/`): only chains under it.
    pub prefix: Option<String>,
    /// What hashing one log may cost (front ends build their
    /// [`crate::logs::LogHasher`]s with it).
    pub log_budget: LogBudget,
    /// The source is a local copy made by `aws s3 sync`, which writes the
    /// key `a//b` to the file `a/b`: keys are then compared with empty
    /// segments collapsed. Off for S3, where `a//b` and `a/b` differ.
    pub local_copy: bool,
    /// At most this many `logFiles` entries over all loaded digests
    /// (else [`super::RunError::TooManyListedLogs`]).
    pub max_listed_logs: usize,
    /// When the trail last delivered a digest (S3 mode: `GetTrailStatus`'s
    /// `LatestDigestDeliveryTime`, read before the listing). The hourly
    /// digests of the trail's own chain (its account, home region, not an
    /// organization member) up to that time must exist: a deleted newest
    /// digest is then `digest_missing`, not only a coverage gap.
    pub latest_digest_delivery: Option<Timestamp>,
    /// Chains with their own range (a checkpoint to resume at, or a window
    /// to re-verify): it replaces `start`/`end` for them.
    pub scopes: BTreeMap<ChainId, ChainScope>,
    /// Only the chains in [`scopes`](Self::scopes) are validated (a
    /// re-verification pass).
    pub only_scoped: bool,
}

impl Options {
    /// Options with defaults: no range, no filters.
    pub fn new(now: Timestamp) -> Self {
        Options {
            start: None,
            end: None,
            now,
            allow_gaps: false,
            verbose: false,
            trail: None,
            regions: vec![],
            accounts: vec![],
            bucket: None,
            prefix: None,
            log_budget: LogBudget::default(),
            local_copy: false,
            max_listed_logs: MAX_LISTED_LOGS,
            latest_digest_delivery: None,
            scopes: BTreeMap::new(),
            only_scoped: false,
        }
    }

    /// Checks and normalizes the options: the range must not be reversed,
    /// the prefix loses its trailing `/` (else [`selects`](Self::selects)
    /// would silently match nothing), and the budgets must allow some work.
    /// Only checked options make a [`super::Driver`].
    pub fn checked(mut self) -> Result<CheckedOptions, OptionsError> {
        if let (Some(s), Some(e)) = (self.start, self.end) {
            if s > e {
                return Err(OptionsError::ReversedRange { start: s, end: e });
            }
        }
        if let Some(p) = &mut self.prefix {
            let trimmed = p.trim_end_matches('/').to_string();
            *p = trimmed;
        }
        if self.log_budget.max_inflated == 0 || self.log_budget.max_ratio == 0 || self.max_listed_logs == 0 {
            return Err(OptionsError::ZeroBudget);
        }
        Ok(CheckedOptions(self))
    }

    /// Sets the trail from `--trail-arn` (parsed once, here).
    pub fn with_trail_arn(mut self, arn: &str) -> Result<Options, OptionsError> {
        self.trail = Some(TrailFilter::from_arn(arn).ok_or_else(|| OptionsError::BadArn(arn.to_string()))?);
        Ok(self)
    }

    /// The latest digest delivery time when `chain` is the trail's own
    /// chain (see [`Options::latest_digest_delivery`]).
    pub fn delivered_until(&self, chain: &ChainId) -> Option<Timestamp> {
        let t = self.trail.as_ref()?;
        let own = chain.org.is_none()
            && chain.trail == t.name
            && chain.account == t.account
            && chain.region == t.home_region
            && chain.home_region == t.home_region;
        self.latest_digest_delivery.filter(|_| own)
    }

    /// The range of `chain` (`start`, `end`): its scope's, else the run's.
    /// A scope whose start lies after the end gets an empty range.
    pub fn window_of(&self, chain: &ChainId) -> (Option<Timestamp>, Option<Timestamp>) {
        match self.scopes.get(chain) {
            Some(s) => {
                let end = s.end.or(self.end).map(|e| s.start.map_or(e, |start| e.max(start)));
                (s.start, end)
            }
            None if self.only_scoped => self.listing_window(),
            None => (self.start, self.end),
        }
    }

    /// The period to list: every chain's range (`None`: unbounded).
    pub fn listing_window(&self) -> (Option<Timestamp>, Option<Timestamp>) {
        let scopes = self.scopes.values();
        let starts = scopes.clone().map(|s| s.start);
        let ends = scopes.map(|s| s.end.or(self.end).map(|e| s.start.map_or(e, |start| e.max(start))));
        let (start, end) = if self.only_scoped {
            (starts.collect::<Vec<_>>(), ends.collect::<Vec<_>>())
        } else {
            (
                starts.chain([self.start]).collect::<Vec<_>>(),
                ends.chain([self.end]).collect::<Vec<_>>(),
            )
        };
        let min = start
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().min());
        let max = end
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
            .and_then(|v| v.into_iter().max());
        (min, max)
    }

    /// True when `chain` is to be validated.
    pub fn selects(&self, chain: &ChainId) -> bool {
        if self.only_scoped && !self.scopes.contains_key(chain) {
            return false;
        }
        if !self.regions.is_empty() && !self.regions.contains(&chain.region) {
            return false;
        }
        if !self.accounts.is_empty() && !self.accounts.contains(&chain.account) {
            return false;
        }
        if self.prefix.as_ref().is_some_and(|p| p != &chain.prefix) {
            return false;
        }
        match &self.trail {
            None => true,
            Some(t) => {
                // Organization trails deliver under each member account; the
                // ARN names the management account.
                let account_ok = chain.org.is_some() || !self.accounts.is_empty() || chain.account == t.account;
                chain.trail == t.name && chain.home_region == t.home_region && account_ok
            }
        }
    }
}

/// Options that passed [`Options::checked`]: what [`super::Driver::new`]
/// requires. Read-only (it dereferences to [`Options`]); the one way to
/// change them is [`amend`](Self::amend), which checks them again.
#[derive(Debug, Clone)]
pub struct CheckedOptions(Options);

impl CheckedOptions {
    /// The options changed by `change`, checked again.
    pub fn amend(self, change: impl FnOnce(&mut Options)) -> Result<CheckedOptions, OptionsError> {
        let mut o = self.0;
        change(&mut o);
        o.checked()
    }
}

impl std::ops::Deref for CheckedOptions {
    type Target = Options;
    fn deref(&self) -> &Options {
        &self.0
    }
}
