//! The stages an import goes through and the counters that report its
//! progress: rows and bytes so far, and the time spent in each stage, so a
//! benchmark can show which stage is slow.
//!
//! The feed reader runs `parse` and `validate`; `apply` belongs to the
//! caller, which adds its own time with [`StageTimes::add`].

use std::time::Duration;

/// One stage of an import, in the order a row goes through them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Splitting the bytes into records.
    Parse,
    /// Checking and cleaning each row.
    Validate,
    /// Writing the changes to the catalog (done by the caller).
    Apply,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Parse => "parse",
            Stage::Validate => "validate",
            Stage::Apply => "apply",
        }
    }
}

/// Time spent so far in each stage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StageTimes {
    parse: Duration,
    validate: Duration,
    apply: Duration,
}

impl StageTimes {
    pub fn add(&mut self, stage: Stage, elapsed: Duration) {
        *self.slot(stage) += elapsed;
    }

    pub fn get(&self, stage: Stage) -> Duration {
        match stage {
            Stage::Parse => self.parse,
            Stage::Validate => self.validate,
            Stage::Apply => self.apply,
        }
    }

    fn slot(&mut self, stage: Stage) -> &mut Duration {
        match stage {
            Stage::Parse => &mut self.parse,
            Stage::Validate => &mut self.validate,
            Stage::Apply => &mut self.apply,
        }
    }
}

/// How far a feed has been read, for the ImportSet's `result` while pending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Data rows read, valid or not.
    pub rows_processed: u64,
    pub rows_valid: u64,
    pub rows_invalid: u64,
    /// Valid rows that cleaning changed.
    pub rows_with_warnings: u64,
    /// Bytes of the file consumed so far, byte order mark included.
    pub bytes_read: u64,
    pub stage_times: StageTimes,
}
