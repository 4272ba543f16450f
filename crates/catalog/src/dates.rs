//! A small, strict ISO 8601 reader for the dates a feed carries:
//! `2025-03-01`, `2025-03-01T09:30`, `2025-03-01T09:30:00.250+02:00`, and
//! intervals `start/end` of two of those.
//!
//! Only the extended calendar forms are accepted (no week dates, ordinal
//! dates, durations or basic forms without separators). A date-time without
//! an offset and a bare date are read as UTC. A date keeps the text it was
//! written as; its Unix time is what intervals are compared by.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A date or date-time as the feed wrote it, with its instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedDate {
    text: String,
    unix_seconds: i64,
}

impl FeedDate {
    /// Reads a date or date-time; `None` when it is not one.
    pub fn parse(text: &str) -> Option<FeedDate> {
        let unix_seconds = parse_unix_seconds(text.as_bytes())?;
        Some(FeedDate {
            text: text.to_owned(),
            unix_seconds,
        })
    }

    /// The text as written in the feed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since 1970-01-01T00:00:00Z (midnight UTC for a bare date).
    pub fn unix_seconds(&self) -> i64 {
        self.unix_seconds
    }
}

impl Serialize for FeedDate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for FeedDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        FeedDate::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("not an ISO 8601 date: {text:?}")))
    }
}

/// A `start/end` interval whose start is before its end.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateInterval {
    pub start: FeedDate,
    pub end: FeedDate,
}

/// Why an interval cell is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalProblem {
    NotInterval,
    NotOrdered,
}

impl DateInterval {
    /// Reads `start/end` and checks that the start comes first.
    pub fn parse(text: &str) -> Result<DateInterval, IntervalProblem> {
        let (start_text, end_text) = text.split_once('/').ok_or(IntervalProblem::NotInterval)?;
        let start = FeedDate::parse(start_text.trim()).ok_or(IntervalProblem::NotInterval)?;
        let end = FeedDate::parse(end_text.trim()).ok_or(IntervalProblem::NotInterval)?;
        if start.unix_seconds >= end.unix_seconds {
            return Err(IntervalProblem::NotOrdered);
        }
        Ok(DateInterval { start, end })
    }
}

fn parse_unix_seconds(text: &[u8]) -> Option<i64> {
    let days = parse_calendar_date(text.get(..10)?)?;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(days * 86_400);
    }

    let after_t = rest.strip_prefix(b"T")?;
    let (seconds_of_day, zone) = parse_time_of_day(after_t)?;
    let offset_seconds = parse_offset(zone)?;
    Some(days * 86_400 + seconds_of_day - offset_seconds)
}

/// `YYYY-MM-DD` to days since 1970-01-01.
fn parse_calendar_date(text: &[u8]) -> Option<i64> {
    if text[4] != b'-' || text[7] != b'-' {
        return None;
    }
    let year = digits_value(&text[0..4])?;
    let month = digits_value(&text[5..7])?;
    let day = digits_value(&text[8..10])?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    Some(days_since_unix_epoch(year, month, day))
}

/// `HH:MM[:SS[.fraction]]` and what follows it.
fn parse_time_of_day(text: &[u8]) -> Option<(i64, &[u8])> {
    let hour = digits_value(text.get(0..2)?)?;
    let minute = digits_value(text.get(3..5)?).filter(|_| text[2] == b':')?;
    let mut rest = &text[5..];
    let mut second = 0;
    if let Some(after_colon) = rest.strip_prefix(b":") {
        second = digits_value(after_colon.get(0..2)?)?;
        rest = skip_fraction(&after_colon[2..])?;
    }
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some((hour * 3600 + minute * 60 + second, rest))
}

/// Skips `.digits` (one to nine of them) when present.
fn skip_fraction(text: &[u8]) -> Option<&[u8]> {
    let Some(after_dot) = text.strip_prefix(b".") else {
        return Some(text);
    };
    let digit_count = after_dot
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if !(1..=9).contains(&digit_count) {
        return None;
    }
    Some(&after_dot[digit_count..])
}

/// Nothing (UTC), `Z`, or `+HH:MM` / `-HH:MM`, to seconds east of UTC.
fn parse_offset(text: &[u8]) -> Option<i64> {
    match text {
        b"" | b"Z" => Some(0),
        [sign @ (b'+' | b'-'), hour_tens, hour_units, b':', minute_tens, minute_units] => {
            let hours = digits_value(&[*hour_tens, *hour_units])?;
            let minutes = digits_value(&[*minute_tens, *minute_units])?;
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = hours * 3600 + minutes * 60;
            Some(if *sign == b'-' { -seconds } else { seconds })
        }
        _ => None,
    }
}

fn digits_value(digits: &[u8]) -> Option<i64> {
    digits.iter().try_fold(0_i64, |value, byte| {
        byte.is_ascii_digit()
            .then(|| value * 10 + i64::from(byte - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Days from 1970-01-01 to a proleptic Gregorian date, counting in 400-year
/// eras that start on March 1st so that the leap day falls last.
fn days_since_unix_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year_from_march = if month <= 2 { year - 1 } else { year };
    let era = year_from_march.div_euclid(400);
    let year_of_era = year_from_march - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Option<i64>) {
        let actual = FeedDate::parse(text).map(|date| date.unix_seconds());
        assert_eq!(actual, expect, "date {text:?}");
    }

    #[test]
    fn dates_and_date_times() {
        check("1970-01-01", Some(0));
        check("2025-03-01", Some(1_740_787_200));
        check("2024-02-29", Some(1_709_164_800));
        check("2000-02-29", Some(951_782_400));
        check("1969-12-31", Some(-86_400));
        check("2025-03-01T09:30", Some(1_740_821_400));
        check("2025-03-01T09:30:15", Some(1_740_821_415));
        check("2025-03-01T09:30:15Z", Some(1_740_821_415));
        check("2025-03-01T09:30:15.250Z", Some(1_740_821_415));
        check("2025-03-01T11:30:15+02:00", Some(1_740_821_415));
        check("2025-03-01T04:00:15-05:30", Some(1_740_821_415));
        check("2025-03-01T23:59:59Z", Some(1_740_873_599));
    }

    #[test]
    fn malformed_dates_are_refused() {
        check("", None);
        check("2025-3-1", None);
        check("2025/03/01", None);
        check("20250301", None);
        check("2025-13-01", None);
        check("2025-00-10", None);
        check("2025-02-29", None);
        check("1900-02-29", None);
        check("2025-04-31", None);
        check("2025-03-00", None);
        check("2025-03-01 09:30", None);
        check("2025-03-01t09:30", None);
        check("2025-03-01T24:00", None);
        check("2025-03-01T09:60", None);
        check("2025-03-01T09:30:60", None);
        check("2025-03-01T09", None);
        check("2025-03-01T09:30:15.", None);
        check("2025-03-01T09:30:15.1234567890Z", None);
        check("2025-03-01T09:30:15+0200", None);
        check("2025-03-01T09:30:15+24:00", None);
        check("2025-03-01Z", None);
        check("2025-03-01T09:30Zjunk", None);
        check("March 1, 2025", None);
        check("२०२५-०३-०१", None);
    }

    #[test]
    fn intervals() {
        let parse = |text: &str| DateInterval::parse(text).map(|_| ());
        assert_eq!(parse("2025-03-01/2025-03-31"), Ok(()));
        assert_eq!(parse("2025-03-01T00:00:00Z/2025-03-31T23:59:59Z"), Ok(()));
        assert_eq!(
            parse("2025-03-01T10:00:00+02:00/2025-03-01T09:00:00Z"),
            Ok(())
        );
        assert_eq!(
            parse("2025-03-31/2025-03-01"),
            Err(IntervalProblem::NotOrdered)
        );
        assert_eq!(
            parse("2025-03-01/2025-03-01"),
            Err(IntervalProblem::NotOrdered)
        );
        assert_eq!(parse("2025-03-01"), Err(IntervalProblem::NotInterval));
        assert_eq!(parse("2025-03-01/P1M"), Err(IntervalProblem::NotInterval));
        assert_eq!(
            parse("2025-03-01/2025-03-31/2025-04-30"),
            Err(IntervalProblem::NotInterval)
        );
    }
}
