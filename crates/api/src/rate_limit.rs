//! Per-account request rate limits: a token bucket for each account and
//! mode, in memory, refilled at `rate_limit_per_second`. Off when the setting
//! is 0. Each process keeps its own buckets, so on several nodes the limit
//! applies per node.

use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// The buckets of every account.
pub struct RateLimiter {
    buckets: DefaultKeyedRateLimiter<(String, bool)>,
    clock: DefaultClock,
}

impl RateLimiter {
    /// A limiter for the configured rate, or `None` when limits are off.
    pub fn from_config(config: &mercato_core::Config) -> Option<Self> {
        let per_second = NonZeroU32::new(config.rate_limit_per_second)?;
        Some(Self {
            buckets: DefaultKeyedRateLimiter::keyed(Quota::per_second(per_second)),
            clock: DefaultClock::default(),
        })
    }

    /// Takes one request from the account's bucket; when it is empty, the
    /// number of whole seconds to wait.
    pub fn check(&self, account_id: &str, livemode: bool) -> Result<(), u64> {
        self.buckets
            .check_key(&(account_id.to_owned(), livemode))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
            })
    }
}
