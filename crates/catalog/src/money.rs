//! Money as an integer number of the currency's minor unit, and the parser
//! for a feed's `15.00 USD` price notation.
//!
//! **An amount is never rounded**: a value with more decimals than its
//! currency allows is refused, and so is a comma used as the decimal mark.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::columns::Column;
use crate::currencies::CURRENCY_MINOR_UNITS;
use crate::messages::{Quoted, RowError};

/// An ISO 4217 currency known to [`CURRENCY_MINOR_UNITS`]. Serialized as its
/// lower-case code, as the API renders it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    table_index: u16,
}

impl Currency {
    /// The currency with this three-letter code, in any letter case.
    pub fn from_code(code: &str) -> Option<Currency> {
        let code_bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        let upper_case_code = code_bytes.map(|byte| byte.to_ascii_uppercase());
        let table_index = CURRENCY_MINOR_UNITS
            .binary_search_by(|(known_code, _, _)| known_code.as_bytes().cmp(&upper_case_code))
            .ok()?;
        let table_index = u16::try_from(table_index).ok()?;
        Some(Currency { table_index })
    }

    /// The upper-case code, `USD`.
    pub fn code(self) -> &'static str {
        CURRENCY_MINOR_UNITS[usize::from(self.table_index)].0
    }

    /// The lower-case code, `usd`, as the API renders it.
    pub fn lower_case_code(self) -> &'static str {
        CURRENCY_MINOR_UNITS[usize::from(self.table_index)].1
    }

    /// A stand-in for a product whose price is still being read; it is
    /// replaced or the row fails.
    pub(crate) const fn placeholder() -> Currency {
        Currency { table_index: 0 }
    }

    /// How many decimals an amount in this currency may have (JPY 0, USD 2, KWD 3).
    pub fn minor_unit_digits(self) -> u8 {
        CURRENCY_MINOR_UNITS[usize::from(self.table_index)].2
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.lower_case_code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.lower_case_code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Currency::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown currency {code:?}")))
    }
}

/// An amount in the currency's minor unit: `15.00 USD` is 1500 `usd`.
/// Serialized as `{"amount": 1500, "currency": "usd"}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(rename = "amount")]
    pub amount_minor: i64,
    pub currency: Currency,
}

impl fmt::Display for Money {
    /// The feed notation, `15.00 USD`.
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = u32::from(self.currency.minor_unit_digits());
        let scale = 10_u64.pow(digits);
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let magnitude = self.amount_minor.unsigned_abs();
        let (whole, fraction) = (magnitude / scale, magnitude % scale);
        let code = self.currency.code();
        if digits == 0 {
            return write!(formatter, "{sign}{whole} {code}");
        }
        let width = digits as usize;
        write!(formatter, "{sign}{whole}.{fraction:0width$} {code}")
    }
}

/// Why a price cell is not a price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PriceProblem {
    /// Not `<decimal> <code>`: a comma, a missing code, letters in the amount.
    Malformed,
    UnknownCurrency {
        code: String,
    },
    TooManyDecimals {
        currency: Currency,
    },
    Negative,
    TooLarge,
}

impl PriceProblem {
    /// The row message for this problem in `column`, quoting `value`.
    pub fn into_row_error(self, column: Column, value: &str) -> RowError {
        let value = Quoted::new(value);
        match self {
            PriceProblem::Malformed => RowError::NotPrice { column, value },
            PriceProblem::UnknownCurrency { code } => RowError::UnknownCurrency {
                column,
                value,
                code,
            },
            PriceProblem::TooManyDecimals { currency } => RowError::TooManyDecimals {
                column,
                value,
                code: currency.code(),
                allowed: currency.minor_unit_digits(),
            },
            PriceProblem::Negative => RowError::NegativePrice { column, value },
            PriceProblem::TooLarge => RowError::PriceTooLarge { column, value },
        }
    }
}

/// Parses `15.00 USD`: a non-negative decimal with a dot, whitespace, and an
/// ISO 4217 code in any letter case.
pub fn parse_price(text: &str) -> Result<Money, PriceProblem> {
    let mut parts = text.split_ascii_whitespace();
    let (Some(amount_text), Some(code), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(PriceProblem::Malformed);
    };

    let (is_negative, digits_text) = match amount_text.strip_prefix('-') {
        Some(unsigned_text) => (true, unsigned_text),
        None => (false, amount_text),
    };
    let (whole_digits, fraction_digits) = split_decimal(digits_text)?;

    if code.len() != 3 || !code.bytes().all(|byte| byte.is_ascii_alphabetic()) {
        return Err(PriceProblem::Malformed);
    }
    let currency = Currency::from_code(code).ok_or_else(|| PriceProblem::UnknownCurrency {
        code: code.to_owned(),
    })?;

    if is_negative {
        return Err(PriceProblem::Negative);
    }
    if fraction_digits.len() > usize::from(currency.minor_unit_digits()) {
        return Err(PriceProblem::TooManyDecimals { currency });
    }

    let amount_minor = minor_units(whole_digits, fraction_digits, currency.minor_unit_digits())
        .ok_or(PriceProblem::TooLarge)?;
    Ok(Money {
        amount_minor,
        currency,
    })
}

/// Splits `12.345` into `("12", "345")`; both sides must be ASCII digits and
/// the whole part must not be empty; a dot needs digits after it.
fn split_decimal(text: &str) -> Result<(&str, &str), PriceProblem> {
    let (whole_digits, fraction_digits) = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() => (whole, fraction),
        Some(_) => return Err(PriceProblem::Malformed),
        None => (text, ""),
    };
    let all_digits = |part: &str| part.bytes().all(|byte| byte.is_ascii_digit());
    if whole_digits.is_empty() || !all_digits(whole_digits) || !all_digits(fraction_digits) {
        return Err(PriceProblem::Malformed);
    }
    Ok((whole_digits, fraction_digits))
}

fn minor_units(whole_digits: &str, fraction_digits: &str, minor_unit_digits: u8) -> Option<i64> {
    let mut amount: i64 = 0;
    for byte in whole_digits.bytes() {
        amount = amount
            .checked_mul(10)?
            .checked_add(i64::from(byte - b'0'))?;
    }
    let padding = usize::from(minor_unit_digits) - fraction_digits.len();
    let padded_fraction = fraction_digits
        .bytes()
        .chain(std::iter::repeat_n(b'0', padding));
    for byte in padded_fraction {
        amount = amount
            .checked_mul(10)?
            .checked_add(i64::from(byte - b'0'))?;
    }
    Some(amount)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        let actual = match parse_price(text) {
            Ok(money) => serde_json::to_string(&money).unwrap_or_default(),
            Err(problem) => problem.into_row_error(Column::Price, text).to_string(),
        };
        assert_eq!(actual, expect, "price {text:?}");
    }

    #[rustfmt::skip]
    #[test]
    fn prices_become_minor_units() {
        check("15.00 USD", r#"{"amount":1500,"currency":"usd"}"#);
        check("15 USD", r#"{"amount":1500,"currency":"usd"}"#);
        check("15.5 usd", r#"{"amount":1550,"currency":"usd"}"#);
        check("0.01 USD", r#"{"amount":1,"currency":"usd"}"#);
        check("0 EUR", r#"{"amount":0,"currency":"eur"}"#);
        check("1500 JPY", r#"{"amount":1500,"currency":"jpy"}"#);
        check("1.500 KWD", r#"{"amount":1500,"currency":"kwd"}"#);
        check("1.5 KWD", r#"{"amount":1500,"currency":"kwd"}"#);
        check("2.125 BHD", r#"{"amount":2125,"currency":"bhd"}"#);
        check("1.0001 CLF", r#"{"amount":10001,"currency":"clf"}"#);
        check("  15.00   USD ", r#"{"amount":1500,"currency":"usd"}"#);
        check("92233720368547758.07 USD", r#"{"amount":9223372036854775807,"currency":"usd"}"#);
    }

    #[rustfmt::skip]
    #[test]
    fn malformed_prices_are_refused_with_their_rule() {
        check("15,00 EUR", r#"price: "15,00 EUR" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("1,500.00 USD", r#"price: "1,500.00 USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15.00", r#"price: "15.00" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("USD 15.00", r#"price: "USD 15.00" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15.00USD", r#"price: "15.00USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check(".50 USD", r#"price: ".50 USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15. USD", r#"price: "15. USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("1e3 USD", r#"price: "1e3 USD" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15.00 US$", r#"price: "15.00 US$" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15.00 USD extra", r#"price: "15.00 USD extra" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#);
        check("15.00 XYZ", r#"price: "15.00 XYZ" has an unknown currency code "XYZ"; use an ISO 4217 code, such as "USD""#);
        check("15.001 USD", r#"price: "15.001 USD" has too many decimals: USD allows at most 2; amounts are never rounded"#);
        check("1500.5 JPY", r#"price: "1500.5 JPY" has too many decimals: JPY allows at most 0; amounts are never rounded"#);
        check("1500.00 JPY", r#"price: "1500.00 JPY" has too many decimals: JPY allows at most 0; amounts are never rounded"#);
        check("1.5000 KWD", r#"price: "1.5000 KWD" has too many decimals: KWD allows at most 3; amounts are never rounded"#);
        check("-1.00 USD", r#"price: "-1.00 USD" is negative; a price must be 0 or more"#);
        check("92233720368547758.08 USD", r#"price: "92233720368547758.08 USD" is too large"#);
    }

    #[test]
    fn money_prints_in_feed_notation() {
        let cases = [
            ("15.00 USD", "15.00 USD"),
            ("7 jpy", "7 JPY"),
            ("0.5 KWD", "0.500 KWD"),
        ];
        for (text, expect) in cases {
            let money = parse_price(text).map(|money| money.to_string());
            assert_eq!(money.as_deref(), Ok(expect), "price {text:?}");
        }
    }

    #[test]
    fn currencies_cover_the_minor_unit_classes() {
        let cases = [
            ("JPY", 0),
            ("USD", 2),
            ("EUR", 2),
            ("KWD", 3),
            ("BHD", 3),
            ("JOD", 3),
        ];
        for (code, digits) in cases {
            let currency = Currency::from_code(code).map(Currency::minor_unit_digits);
            assert_eq!(currency, Some(digits), "currency {code}");
        }
        for code in ["OMR", "TND"] {
            assert_eq!(
                Currency::from_code(code).map(Currency::minor_unit_digits),
                Some(3)
            );
        }
        assert_eq!(Currency::from_code("XAU"), None);
        assert_eq!(Currency::from_code("US"), None);
    }
}
