//! Bounds on every S3 and CloudTrail request, so that a stuck or hostile
//! server costs a bounded time per object and bounded memory per response
//! (docs/s3.md "Faults"): an attempt timeout, an overall deadline per object or
//! listing page, a minimum transfer rate for every body, and size caps on
//! the responses that are buffered whole.

use std::time::Duration;

/// Default time one attempt may wait for an answer (a GET's headers; a
/// whole listing page or API answer).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// Default time one object (or one listing page, or one API call) may take
/// over all its attempts and backoff, plus its size at the minimum rate.
pub const DEADLINE: Duration = Duration::from_secs(60);
/// Default slowest body accepted, in bytes per second, averaged from the
/// start of the body after [`RATE_GRACE`].
pub const MIN_RATE: u64 = 8 * 1024;
/// The start of a body that the minimum rate does not count.
pub const RATE_GRACE: Duration = Duration::from_secs(5);
/// Default backoff before the first retry (the SDK's: it doubles, with
/// jitter, up to 20 times this).
pub const BACKOFF: Duration = Duration::from_secs(1);

/// Largest ListObjectsV2 page kept (1,000 keys of up to 1,024 bytes, XML
/// escaped, fit well below it).
pub const LIST_PAGE_CAP: usize = 16 * 1024 * 1024;
/// Largest answer of the other buffered calls (DescribeTrails,
/// ListPublicKeys, GetTrailStatus, HeadBucket, GetBucketLocation).
pub const API_ANSWER_CAP: usize = 4 * 1024 * 1024;

/// The bounds of one run (`--s3-attempt-timeout`, `--s3-deadline`,
/// `--s3-min-rate`, `--s3-backoff`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// One attempt's wait for an answer.
    pub attempt_timeout: Duration,
    /// One object's (page's, call's) time over all attempts, on top of
    /// its size at `min_rate`.
    pub deadline: Duration,
    /// Slowest body accepted (bytes per second, after [`RATE_GRACE`]).
    pub min_rate: u64,
    /// Backoff before the first retry.
    pub backoff: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            attempt_timeout: ATTEMPT_TIMEOUT,
            deadline: DEADLINE,
            min_rate: MIN_RATE,
            backoff: BACKOFF,
        }
    }
}

impl Limits {
    /// The time reading an object of `size` bytes (as listed) may take over
    /// all its attempts: the deadline plus the size at the minimum rate, so
    /// that a large object on a slow but honest link is not cut off.
    pub fn object_deadline(&self, size: Option<i64>) -> Duration {
        let size = u64::try_from(size.unwrap_or(0)).unwrap_or(0);
        self.deadline + Duration::from_secs(size / self.min_rate.max(1))
    }

    /// The pause before whole-object attempt `attempt` (1, 2, ...).
    pub fn retry_pause(&self, attempt: u32) -> Duration {
        (self.backoff / 10).saturating_mul(1 << attempt.min(6))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_deadline_grows_with_the_size() {
        let l = Limits::default();
        assert_eq!(l.object_deadline(None), DEADLINE);
        assert_eq!(l.object_deadline(Some(-5)), DEADLINE);
        assert_eq!(
            l.object_deadline(Some(10 * MIN_RATE as i64)),
            DEADLINE + Duration::from_secs(10)
        );
        assert!(l.retry_pause(1) < l.retry_pause(2));
    }
}
