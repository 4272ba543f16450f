//! The rules shared by every column of one kind (text with a length limit,
//! URL, enum, boolean, price, count, score, date) and the cleaning they do.
//!
//! A [`RowCheck`] reads one row: each reader trims its cell, records an error
//! or a warning, and returns the cleaned value. Every error is collected, so
//! one report line lists everything wrong with the row.

use crate::columns::Column;
use crate::dates::FeedDate;
use crate::header::Cells;
use crate::links::is_web_url;
use crate::messages::{Quoted, RowError, RowWarning};
use crate::money::{parse_price, Money};
use crate::product::FeedEnum;

/// The errors and warnings of one row, while it is being read.
pub(crate) struct RowCheck<'r> {
    cells: Cells<'r>,
    errors: Vec<RowError>,
    warnings: Vec<RowWarning>,
}

impl<'r> RowCheck<'r> {
    pub(crate) fn new(cells: Cells<'r>) -> RowCheck<'r> {
        RowCheck {
            cells,
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub(crate) fn fail(&mut self, error: RowError) {
        self.errors.push(error);
    }

    pub(crate) fn warn(&mut self, warning: RowWarning) {
        self.warnings.push(warning);
    }

    pub(crate) fn into_messages(self) -> (Vec<RowError>, Vec<RowWarning>) {
        (self.errors, self.warnings)
    }

    /// Whether the cell of `column` is empty or only whitespace.
    pub(crate) fn is_blank(&self, column: Column) -> bool {
        self.cells.get(column).trim().is_empty()
    }

    /// The trimmed cell as written, without any warning; for quoting in messages.
    pub(crate) fn written(&self, column: Column) -> &'r str {
        self.cells.get(column).trim()
    }

    /// The trimmed cell, `None` when blank. Trimming warns. Read each column once.
    pub(crate) fn value(&mut self, column: Column) -> Option<&'r str> {
        let written = self.cells.get(column);
        let trimmed = written.trim();
        if trimmed.is_empty() {
            return None;
        }
        if trimmed.len() != written.len() {
            self.warn(RowWarning::Trimmed { column });
        }
        Some(trimmed)
    }

    /// Like [`RowCheck::value`], and a blank cell is an error.
    pub(crate) fn required(&mut self, column: Column) -> Option<&'r str> {
        let value = self.value(column);
        if value.is_none() {
            self.fail(RowError::Required { column });
        }
        value
    }

    pub(crate) fn text(&mut self, column: Column, max_chars: usize) -> Option<String> {
        let value = self.value(column)?;
        self.check_length(column, value, max_chars)
            .then(|| value.to_owned())
    }

    pub(crate) fn required_text(&mut self, column: Column, max_chars: usize) -> Option<String> {
        let value = self.required(column)?;
        self.check_length(column, value, max_chars)
            .then(|| value.to_owned())
    }

    /// Whether `value` has at most `max_chars` characters; fails the row if not.
    pub(crate) fn check_length(&mut self, column: Column, value: &str, max_chars: usize) -> bool {
        if value.len() <= max_chars {
            return true;
        }
        let length = value.chars().count();
        if length <= max_chars {
            return true;
        }
        self.fail(RowError::TooLong {
            column,
            value: Quoted::new(value),
            length,
            max: max_chars,
        });
        false
    }

    pub(crate) fn url(&mut self, column: Column) -> Option<String> {
        let value = self.value(column)?;
        self.check_url(column, value)
    }

    pub(crate) fn required_url(&mut self, column: Column) -> Option<String> {
        let value = self.required(column)?;
        self.check_url(column, value)
    }

    pub(crate) fn check_url(&mut self, column: Column, value: &str) -> Option<String> {
        if is_web_url(value) {
            return Some(value.to_owned());
        }
        self.fail(RowError::NotUrl {
            column,
            value: Quoted::new(value),
        });
        None
    }

    pub(crate) fn choice<T: FeedEnum>(&mut self, column: Column) -> Option<T> {
        let value = self.value(column)?;
        self.read_choice(column, value)
    }

    pub(crate) fn required_choice<T: FeedEnum>(&mut self, column: Column) -> Option<T> {
        let value = self.required(column)?;
        self.read_choice(column, value)
    }

    /// Matches `value` to one of `T`'s spellings, in any letter case and
    /// ignoring spaces, `_` and `-`; anything but the canonical spelling warns.
    pub(crate) fn read_choice<T: FeedEnum>(&mut self, column: Column, value: &str) -> Option<T> {
        let matched = T::VARIANTS
            .iter()
            .find(|(spelling, _)| *spelling == value)
            .or_else(|| {
                T::VARIANTS
                    .iter()
                    .find(|(spelling, _)| same_enum_key(spelling, value))
            });
        let Some((spelling, choice)) = matched else {
            self.fail(RowError::NotOneOf {
                column,
                value: Quoted::new(value),
                allowed: T::ALLOWED,
            });
            return None;
        };
        self.warn_if_rewritten(column, value, spelling);
        Some(*choice)
    }

    /// Warns that `value` was read as `canonical` when they differ.
    pub(crate) fn warn_if_rewritten(&mut self, column: Column, value: &str, canonical: &str) {
        if value != canonical {
            self.warn(RowWarning::ReadAs {
                column,
                value: Quoted::new(value),
                canonical: canonical.to_owned(),
            });
        }
    }

    /// `true` or `false` in any letter case.
    pub(crate) fn boolean(&mut self, column: Column) -> Option<bool> {
        let value = self.value(column)?;
        let parsed = if value.eq_ignore_ascii_case("true") {
            true
        } else if value.eq_ignore_ascii_case("false") {
            false
        } else {
            self.fail(RowError::NotBoolean {
                column,
                value: Quoted::new(value),
            });
            return None;
        };
        self.warn_if_rewritten(column, value, if parsed { "true" } else { "false" });
        Some(parsed)
    }

    pub(crate) fn price(&mut self, column: Column) -> Option<Money> {
        let value = self.value(column)?;
        self.read_price(column, value)
    }

    pub(crate) fn required_price(&mut self, column: Column) -> Option<Money> {
        let value = self.required(column)?;
        self.read_price(column, value)
    }

    pub(crate) fn read_price(&mut self, column: Column, value: &str) -> Option<Money> {
        match parse_price(value) {
            Ok(money) => Some(money),
            Err(problem) => {
                self.fail(problem.into_row_error(column, value));
                None
            }
        }
    }

    /// A whole number of 0 or more.
    pub(crate) fn count(&mut self, column: Column) -> Option<i64> {
        let value = self.value(column)?;
        self.read_count(column, value)
    }

    pub(crate) fn required_count(&mut self, column: Column) -> Option<i64> {
        let value = self.required(column)?;
        self.read_count(column, value)
    }

    fn read_count(&mut self, column: Column, value: &str) -> Option<i64> {
        let parsed = value
            .bytes()
            .all(|byte| byte.is_ascii_digit())
            .then(|| value.parse::<i64>().ok())
            .flatten();
        if parsed.is_none() {
            self.fail(RowError::NotCount {
                column,
                value: Quoted::new(value),
            });
        }
        parsed
    }

    /// A decimal number from 0 to `max`.
    pub(crate) fn score(&mut self, column: Column, max: u32) -> Option<f64> {
        let value = self.value(column)?;
        let parsed = parse_plain_decimal(value).filter(|number| *number <= f64::from(max));
        if parsed.is_none() {
            self.fail(RowError::NotInRange {
                column,
                value: Quoted::new(value),
                max,
            });
        }
        parsed
    }

    pub(crate) fn date(&mut self, column: Column) -> Option<FeedDate> {
        let value = self.value(column)?;
        let parsed = FeedDate::parse(value);
        if parsed.is_none() {
            self.fail(RowError::NotDate {
                column,
                value: Quoted::new(value),
            });
        }
        parsed
    }
}

/// Whether `spelling` and `value` are equal once letter case, spaces, `_`
/// and `-` are ignored: `in_stock`, `In Stock` and `IN-STOCK` all are.
fn same_enum_key(spelling: &str, value: &str) -> bool {
    fn key(text: &str) -> impl Iterator<Item = u8> + '_ {
        text.bytes()
            .filter(|byte| !matches!(byte, b' ' | b'_' | b'-'))
            .map(|byte| byte.to_ascii_lowercase())
    }
    key(spelling).eq(key(value))
}

/// A non-negative decimal written with digits and at most one dot, with
/// digits on both sides of it: `4`, `4.5`. No sign, exponent or comma.
pub(crate) fn parse_plain_decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, "0"));
    let all_digits =
        |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    text.parse::<f64>().ok()
}
