//! Wall-clock time as the wire and the store use it: Unix seconds and
//! milliseconds in `i64`.

use std::time::{SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, the unit of every `created` field.
pub fn now_unix() -> i64 {
    now_unix_millis() / 1000
}

/// Milliseconds since the Unix epoch, the unit of job schedules and leases.
pub fn now_unix_millis() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}
