//! When a failed delivery is tried again: exponential backoff with jitter.
//! Live mode keeps trying until the event is `live_window_ms` old (three
//! days by default); sandbox makes a fixed number of attempts over a few
//! hours. Both schedules are settings.

use rand::Rng;

/// The retry rules.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    pub live_base_ms: u64,
    pub live_window_ms: i64,
    pub sandbox_base_ms: u64,
    pub sandbox_max_attempts: u32,
    pub max_delay_ms: u64,
}

impl RetryPolicy {
    /// When to try again after `attempts` failed attempts, or `None` to
    /// give up. `event_age_ms` is how old the event is now.
    pub fn next_attempt_in_ms(
        &self,
        livemode: bool,
        attempts: u32,
        event_age_ms: i64,
    ) -> Option<u64> {
        let base = if livemode {
            self.live_base_ms
        } else {
            if attempts >= self.sandbox_max_attempts {
                return None;
            }
            self.sandbox_base_ms
        };
        let exponent = attempts.saturating_sub(1).min(30);
        let nominal = base.saturating_mul(1u64 << exponent).min(self.max_delay_ms);
        let jittered = jitter(nominal);
        if livemode && event_age_ms.saturating_add(jittered as i64) > self.live_window_ms {
            return None;
        }
        Some(jittered)
    }
}

/// A delay drawn uniformly from half to one and a half times `nominal`, so
/// that deliveries failed together do not all come back at once.
fn jitter(nominal: u64) -> u64 {
    if nominal < 2 {
        return nominal;
    }
    rand::rng().random_range(nominal / 2..=nominal + nominal / 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        live_base_ms: 60_000,
        live_window_ms: 72 * 3_600_000,
        sandbox_base_ms: 1_800_000,
        sandbox_max_attempts: 4,
        max_delay_ms: 6 * 3_600_000,
    };

    #[test]
    fn delays_double_within_jitter_and_are_capped() {
        let cases = [(1, 60_000), (2, 120_000), (3, 240_000), (20, 6 * 3_600_000)];
        for (attempts, nominal) in cases {
            let delay = POLICY
                .next_attempt_in_ms(true, attempts, 0)
                .expect("retried");
            assert!(
                (nominal / 2..=nominal * 3 / 2).contains(&delay),
                "{attempts}: {delay}"
            );
        }
    }

    #[test]
    fn live_gives_up_after_the_window_and_sandbox_after_its_attempts() {
        assert!(POLICY.next_attempt_in_ms(true, 5, 71 * 3_600_000).is_some());
        assert!(POLICY.next_attempt_in_ms(true, 5, 72 * 3_600_000).is_none());
        assert!(POLICY.next_attempt_in_ms(false, 3, 0).is_some());
        assert!(POLICY.next_attempt_in_ms(false, 4, 0).is_none());
    }

    #[test]
    fn the_sandbox_schedule_spans_a_few_hours() {
        let total: u64 = (1..4).map(|attempts| 1_800_000u64 << (attempts - 1)).sum();

        assert_eq!(
            total, 12_600_000,
            "three retries over 3.5 hours, before jitter"
        );
    }
}
