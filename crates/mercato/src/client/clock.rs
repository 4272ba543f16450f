//! Timestamps for the lines the client commands print: UTC, to the second,
//! as `YYYY-MM-DD HH:MM:SS`. Written by hand to avoid a date crate for one
//! format.

use mercato_core::time::now_unix;

const SECONDS_PER_DAY: i64 = 86_400;

/// The current time as printed at the start of a line.
pub fn now_text() -> String {
    format_utc(now_unix())
}

/// `unix` seconds as `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_utc(unix: i64) -> String {
    let days = unix.div_euclid(SECONDS_PER_DAY);
    let seconds_of_day = unix.rem_euclid(SECONDS_PER_DAY);
    let (year, month, day) = civil_date(days);

    let hour = seconds_of_day / 3600;
    let minute = seconds_of_day % 3600 / 60;
    let second = seconds_of_day % 60;
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}")
}

/// The proleptic Gregorian date `days` after 1970-01-01, counted in
/// 400-year eras that start on March 1st so that the leap day comes last.
fn civil_date(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;

    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::format_utc;

    #[test]
    fn known_instants_format_as_utc() {
        let cases = [
            (0, "1970-01-01 00:00:00"),
            (951_782_400, "2000-02-29 00:00:00"),
            (1_709_251_199, "2024-02-29 23:59:59"),
            (1_796_316_001, "2026-12-03 16:40:01"),
            (4_107_542_400, "2100-03-01 00:00:00"),
            (-1, "1969-12-31 23:59:59"),
        ];
        for (unix, expected) in cases {
            assert_eq!(format_utc(unix), expected, "{unix}");
        }
    }
}
