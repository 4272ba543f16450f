//! The progress bars of `mercato import`: bytes while the file uploads,
//! then rows processed and rows per second while the ImportSet runs.
//!
//! Bars draw on stderr, so the summary on stdout stays clean, and indicatif
//! hides them when stderr is not a terminal (a pipe, a log file, a test).

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How often a spinner moves while nothing new arrives.
const SPINNER_TICK: Duration = Duration::from_millis(120);

const UPLOAD_TEMPLATE: &str =
    "{prefix:>9} [{bar:32.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}";
const IMPORT_TEMPLATE: &str = "{prefix:>9} {spinner:.green} {msg} [{elapsed}]";

/// Where the bars go: stderr (hidden off a terminal), or nowhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProgressDisplay {
    Stderr,
    Hidden,
}

impl ProgressDisplay {
    fn target(self) -> ProgressDrawTarget {
        match self {
            ProgressDisplay::Stderr => ProgressDrawTarget::stderr(),
            ProgressDisplay::Hidden => ProgressDrawTarget::hidden(),
        }
    }
}

/// A bar of the bytes sent, out of `total_bytes`.
pub fn upload_bar(display: ProgressDisplay, total_bytes: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total_bytes), display.target());
    bar.set_style(style(UPLOAD_TEMPLATE).progress_chars("=> "));
    bar.set_prefix("uploading");
    bar
}

/// A spinner that reports an ImportSet's rows as they are processed.
pub struct ImportSpinner {
    bar: ProgressBar,
    started: Instant,
}

impl ImportSpinner {
    pub fn start(display: ProgressDisplay, import_set_id: &str) -> ImportSpinner {
        let bar = ProgressBar::with_draw_target(None, display.target());
        bar.set_style(style(IMPORT_TEMPLATE));
        bar.set_prefix("importing");
        bar.set_message(format!("{import_set_id}: waiting for a worker"));
        bar.enable_steady_tick(SPINNER_TICK);
        ImportSpinner {
            bar,
            started: Instant::now(),
        }
    }

    /// Shows the rows processed so far and the rate since the start.
    pub fn update(&self, import_set_id: &str, rows_processed: u64) {
        let rate = rows_per_second(rows_processed, self.started.elapsed());
        self.bar.set_message(format!(
            "{import_set_id}: {} rows processed, {} rows/s",
            group_thousands(rows_processed),
            group_thousands(rate),
        ));
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// Rows per second over `elapsed`, 0 before any time has passed.
pub fn rows_per_second(rows: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0;
    }
    (rows as f64 / seconds).round() as u64
}

/// `1234567` as `1,234,567`.
pub fn group_thousands(number: u64) -> String {
    let digits = number.to_string();
    let first_group = match digits.len() % 3 {
        0 => 3.min(digits.len()),
        remainder => remainder,
    };
    let (head, rest) = digits.split_at(first_group);
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    grouped.push_str(head);
    for group in rest.as_bytes().chunks(3) {
        grouped.push(',');
        grouped.push_str(std::str::from_utf8(group).unwrap_or_default());
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        assert!(ProgressStyle::with_template(UPLOAD_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(IMPORT_TEMPLATE).is_ok());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1_000), "1,000");
        assert_eq!(group_thousands(1_234_567), "1,234,567");
        assert_eq!(group_thousands(12_345), "12,345");
    }

    #[test]
    fn rates_are_per_second() {
        assert_eq!(rows_per_second(500, Duration::from_millis(250)), 2_000);
        assert_eq!(rows_per_second(500, Duration::ZERO), 0);
    }
}
