//! Every error of the verification engine, in one place: the options that
//! cannot be used, a listing plan that stopped, a run that could not run,
//! and a call out of the [`super::Driver`]'s order. Messages name no flag
//! of any front end: each front end adds its own hint (the CLI's `main`,
//! the page).

use super::bounds::{MAX_DISCOVERY_FOLDERS, MAX_PREFIX_DEPTH, MAX_TRAIL_PREFIX_LEN};
use crate::time::Timestamp;

/// Options that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// The start of the range is after its end.
    #[error("invalid time range: the start {start} is after the end {end}")]
    ReversedRange {
        /// The range's start.
        start: Timestamp,
        /// The range's end.
        end: Timestamp,
    },
    /// Not `arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/NAME`.
    #[error("invalid trail ARN {0:?} (expected arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME)")]
    BadArn(String),
    /// A budget of zero would make every object unverifiable.
    #[error("the log byte budget, the log ratio budget and the listed-log budget must be at least 1")]
    ZeroBudget,
}

/// Why a listing plan could not be completed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListingError {
    /// Prefix discovery would list more than [`MAX_DISCOVERY_FOLDERS`]
    /// folders.
    #[error(
        "the trail's key prefix was not found within {} folders of the bucket \
         (searched {} levels deep, folders of at most {} characters); \
         name the prefix before AWSLogs/ instead of searching the whole bucket",
        MAX_DISCOVERY_FOLDERS,
        MAX_PREFIX_DEPTH,
        MAX_TRAIL_PREFIX_LEN
    )]
    DiscoveryTooWide,
}

/// The verification could not run at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No digest of the selected trails was found and no range was given
    /// that could be reported as uncovered.
    #[error("no CloudTrail digest files found for the selection")]
    NoDigests,
    /// The loaded digests list more log files than the run allows.
    #[error("the digests list more than {0} log files in total")]
    TooManyListedLogs(usize),
    /// The listing plan stopped before it was complete.
    #[error(transparent)]
    Listing(#[from] ListingError),
    /// The front end called the driver out of order (a bug in the front
    /// end, never a finding about the bucket).
    #[error(transparent)]
    Sequence(#[from] SequenceError),
}

/// A call the [`super::Driver`] cannot take in its current step. Never a
/// silent fallback: the front end is wrong, and nothing is judged from it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SequenceError {
    /// The call belongs to another step of the run.
    #[error("driver: {call} called while {step}")]
    OutOfOrder {
        /// The call.
        call: &'static str,
        /// The driver's step at the time.
        step: &'static str,
    },
    /// A listing answer for a request the driver did not hand out (or
    /// answered already).
    #[error("driver: a listing answer for a request that is not in flight (prefix {0:?})")]
    UnknownListing(String),
    /// A digest the plan did not ask for, or one delivered twice.
    #[error("driver: digest {0:?} was not requested, or was delivered twice")]
    UnexpectedDigest(String),
    /// The analysis was asked for before every requested digest arrived.
    #[error("driver: {0} requested digests were not delivered before the analysis")]
    DigestsPending(usize),
    /// A log result for no job, or a second result for one job.
    #[error("driver: log job {0} does not exist or already has a result")]
    UnexpectedLogResult(usize),
}
