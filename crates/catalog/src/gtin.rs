//! GS1 trade item numbers (GTIN-8, -12, -13 and -14) and their check digit.

/// Why a GTIN (already cleaned of spaces and dashes) is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GtinProblem {
    /// Not 8, 12, 13 or 14 ASCII digits.
    NotGtin,
    /// The last digit is not the GS1 check digit of the others.
    WrongCheckDigit { expected: u8 },
}

/// Checks a GTIN's length, digits and check digit.
pub fn check_gtin(digits: &str) -> Result<(), GtinProblem> {
    let length_is_valid = matches!(digits.len(), 8 | 12 | 13 | 14);
    if !length_is_valid || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(GtinProblem::NotGtin);
    }

    let (body, last) = digits.split_at(digits.len() - 1);
    let expected = gs1_check_digit(body);
    let found = last.as_bytes()[0] - b'0';
    if found != expected {
        return Err(GtinProblem::WrongCheckDigit { expected });
    }
    Ok(())
}

/// Removes the spaces and dashes merchants write inside a GTIN.
pub fn remove_gtin_separators(text: &str) -> String {
    text.chars()
        .filter(|character| *character != ' ' && *character != '-')
        .collect()
}

/// The GS1 check digit: digits weighted 3, 1, 3, ... from the right, and the
/// amount that brings their sum up to a multiple of ten.
fn gs1_check_digit(body_digits: &str) -> u8 {
    let weighted_sum: u32 = body_digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, byte)| {
            let weight = if position % 2 == 0 { 3 } else { 1 };
            u32::from(byte - b'0') * weight
        })
        .sum();
    let check_digit = (10 - weighted_sum % 10) % 10;
    u8::try_from(check_digit).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(digits: &str, expect: Result<(), GtinProblem>) {
        assert_eq!(check_gtin(digits), expect, "gtin {digits:?}");
    }

    #[rustfmt::skip]
    #[test]
    fn check_digits() {
        check("96385074", Ok(()));
        check("12345670", Ok(()));
        check("036000291452", Ok(()));
        check("4006381333931", Ok(()));
        check("5901234123457", Ok(()));
        check("00012345600012", Ok(()));
        check("00614141000418", Ok(()));
        check("96385075", Err(GtinProblem::WrongCheckDigit { expected: 4 }));
        check("036000291453", Err(GtinProblem::WrongCheckDigit { expected: 2 }));
        check("4006381333932", Err(GtinProblem::WrongCheckDigit { expected: 1 }));
        check("00012345600013", Err(GtinProblem::WrongCheckDigit { expected: 2 }));
        check("1234567", Err(GtinProblem::NotGtin));
        check("12345678901", Err(GtinProblem::NotGtin));
        check("123456789012345", Err(GtinProblem::NotGtin));
        check("40063813339X1", Err(GtinProblem::NotGtin));
        check("", Err(GtinProblem::NotGtin));
    }

    #[test]
    fn separators_are_removed() {
        assert_eq!(remove_gtin_separators("4006-381 333931"), "4006381333931");
    }
}
