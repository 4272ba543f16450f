//! Every text a merchant reads about a feed: why a file failed, why a row
//! failed, and what cleaning changed. Tests state these texts exactly, so
//! they live here and nowhere else.
//!
//! A row message names the column, the value and the rule. Several messages
//! for one row are joined by `; ` (see [`join_messages`]).

use std::fmt;

use crate::columns::{Column, FeedFormat};

/// The longest value, in characters, quoted whole in a message.
const QUOTED_VALUE_MAX_CHARS: usize = 80;

/// How many characters of a longer value are quoted before `...`.
const QUOTED_VALUE_PREFIX_CHARS: usize = 60;

/// A cell value as a message quotes it: in double quotes, with control
/// characters escaped, and shortened when long so that a 1 MB cell does not
/// make a 1 MB message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Quoted(String);

impl Quoted {
    pub fn new(value: &str) -> Quoted {
        if value.len() <= QUOTED_VALUE_MAX_CHARS || value.chars().count() <= QUOTED_VALUE_MAX_CHARS
        {
            return Quoted(value.to_owned());
        }
        let prefix_end = value
            .char_indices()
            .nth(QUOTED_VALUE_PREFIX_CHARS)
            .map_or(value.len(), |(position, _)| position);
        Quoted(format!("{}...", &value[..prefix_end]))
    }
}

impl fmt::Display for Quoted {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{:?}", self.0)
    }
}

/// Why a whole file cannot be imported; the ImportSet's `failed_reason`.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Zero bytes, or nothing but a byte order mark and blank lines.
    #[error("the file is empty")]
    Empty,

    /// A header row and nothing after it.
    #[error("the file has a header row but no data rows")]
    HeaderOnly,

    /// The file starts with bytes no text file has.
    #[error("the file is not CSV or TSV text: {problem}")]
    NotText { problem: NotTextProblem },

    /// No line end within the first megabyte.
    #[error("the header row is longer than {limit_bytes} bytes")]
    HeaderTooLong { limit_bytes: usize },

    /// A column the format requires is absent from the header.
    #[error("the header is missing the required {}: {}", column_word(.columns), ColumnList(.columns))]
    MissingColumns { columns: Vec<Column> },

    /// Two header cells name the same column once aliases are mapped.
    #[error("the column {column:?} appears twice in the header, as {first:?} and {second:?}")]
    DuplicateColumn {
        column: String,
        first: String,
        second: String,
    },

    /// Reading the file's bytes failed.
    #[error("the file could not be read")]
    Read(#[source] std::io::Error),

    /// The CSV reader failed for a reason other than reading.
    #[error("the file could not be parsed")]
    Parse(#[source] csv::Error),
}

/// What shows that a file is not text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotTextProblem {
    /// A NUL byte within the first 8 KiB.
    NulBytes,
    /// The header row is not UTF-8.
    HeaderNotUtf8,
    /// The header row holds a control character other than tab and line ends.
    HeaderControlCharacter,
}

impl fmt::Display for NotTextProblem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            NotTextProblem::NulBytes => "it contains NUL bytes",
            NotTextProblem::HeaderNotUtf8 => "its header row is not valid UTF-8",
            NotTextProblem::HeaderControlCharacter => "its header row contains control characters",
        })
    }
}

fn column_word(columns: &[Column]) -> &'static str {
    if columns.len() == 1 {
        "column"
    } else {
        "columns"
    }
}

struct ColumnList<'a>(&'a [Column]);

impl fmt::Display for ColumnList<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|column| column.name()).collect();
        formatter.write_str(&names.join(", "))
    }
}

/// Something about the whole file that did not stop the import.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileWarning {
    /// Header names the format does not know, as written; their cells are ignored.
    UnknownColumns {
        format: FeedFormat,
        names: Vec<String>,
    },
}

impl fmt::Display for FileWarning {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileWarning::UnknownColumns { format, names } => {
                let quoted: Vec<String> = names.iter().map(|name| format!("{name:?}")).collect();
                write!(
                    formatter,
                    "columns that {format} does not define are ignored: {}",
                    quoted.join(", ")
                )
            }
        }
    }
}

/// Why a row fails. A failing row leaves the earlier version of its product
/// untouched.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RowError {
    #[error("row has {found} cells but the header has {expected} columns")]
    CellCount { found: usize, expected: usize },

    #[error("row has a quote that is never closed, so it runs to the end of the file")]
    UnclosedQuote,

    #[error("{column}: the cell is not valid UTF-8 text; save the file as UTF-8")]
    CellNotUtf8 { column: String },

    #[error("{column}: the cell contains a NUL byte")]
    CellHasNul { column: String },

    #[error("{column}: a value is required")]
    Required { column: Column },

    #[error("{first} or {second}: at least one of them is required")]
    OneOfRequired { first: Column, second: Column },

    #[error("inventory_quantity: a value is required unless inventory_not_tracked is true")]
    QuantityRequiredWhenTracked,

    #[error("availability_date: a value is required when availability is preorder")]
    AvailabilityDateRequiredForPreorder,

    #[error("sale_price_effective_date: a value is required when sale_price is set")]
    SaleDatesRequiredForSalePrice,

    #[error("{column}: {value} is {length} characters long; at most {max} are allowed")]
    TooLong {
        column: Column,
        value: Quoted,
        length: usize,
        max: usize,
    },

    #[error("id: {value} contains a control character")]
    IdHasControlCharacter { value: Quoted },

    #[error(
        "id: {value} repeats the id of the row on line {first_line}; the first row with an id wins"
    )]
    DuplicateId { value: Quoted, first_line: u64 },

    #[error("id: {value} is not a product in this catalog")]
    NotInCatalog { value: Quoted },

    #[error("{column}: {value} is not one of {allowed}")]
    NotOneOf {
        column: Column,
        value: Quoted,
        allowed: &'static str,
    },

    #[error("{column}: {value} is not a boolean; write true or false")]
    NotBoolean { column: Column, value: Quoted },

    #[error("{column}: {value} is not an absolute http or https URL, such as \"https://example.com/mug\"")]
    NotUrl { column: Column, value: Quoted },

    #[error("{column}: {value} is not a price; write a decimal with a dot and a currency code, such as \"15.00 EUR\"")]
    NotPrice { column: Column, value: Quoted },

    #[error("{column}: {value} has an unknown currency code {code:?}; use an ISO 4217 code, such as \"USD\"")]
    UnknownCurrency {
        column: Column,
        value: Quoted,
        code: String,
    },

    #[error("{column}: {value} has too many decimals: {code} allows at most {allowed}; amounts are never rounded")]
    TooManyDecimals {
        column: Column,
        value: Quoted,
        code: &'static str,
        allowed: u8,
    },

    #[error("{column}: {value} is negative; a price must be 0 or more")]
    NegativePrice { column: Column, value: Quoted },

    #[error("{column}: {value} is too large")]
    PriceTooLarge { column: Column, value: Quoted },

    #[error(
        "sale_price: {value} is in {sale_code} but price is in {price_code}; use the same currency"
    )]
    SalePriceCurrency {
        value: Quoted,
        sale_code: &'static str,
        price_code: &'static str,
    },

    #[error("sale_price: {value} is above price {price}")]
    SalePriceAbovePrice { value: Quoted, price: Quoted },

    #[error("gtin: {value} is not a GTIN; write 8, 12, 13 or 14 digits")]
    NotGtin { value: Quoted },

    #[error("gtin: {value} has a wrong check digit; the last digit should be {expected}")]
    GtinCheckDigit { value: Quoted, expected: u8 },

    #[error("{column}: {value} has an empty level; separate levels with \" > \", such as \"Home > Kitchen > Mugs\"")]
    EmptyCategoryLevel { column: Column, value: Quoted },

    #[error("{column}: {value} is not a whole number of 0 or more")]
    NotCount { column: Column, value: Quoted },

    #[error("{column}: {value} is not a number from 0 to {max}")]
    NotInRange {
        column: Column,
        value: Quoted,
        max: u32,
    },

    #[error("{column}: {value} is not an ISO 8601 date or date-time, such as \"2025-03-01\" or \"2025-03-01T09:00:00Z\"")]
    NotDate { column: Column, value: Quoted },

    #[error("sale_price_effective_date: {value} is not an ISO 8601 interval; write start/end, such as \"2025-03-01T00:00:00Z/2025-03-31T23:59:59Z\"")]
    NotInterval { value: Quoted },

    #[error("sale_price_effective_date: {value} does not start before it ends")]
    IntervalNotOrdered { value: Quoted },

    #[error("{column}: {value} is not a length; write a number and cm or in, such as \"20 cm\"")]
    NotDimension { column: Column, value: Quoted },

    #[error(
        "weight: {value} is not a weight; write a number and g, kg, oz or lb, such as \"1.5 kg\""
    )]
    NotWeight { value: Quoted },

    #[error("shipping: {value} is not a shipping rate; write country:region:service:price, such as \"US:CA:Overnight:16.00 USD\", several separated by \";\"")]
    NotShipping { value: Quoted },

    #[error("product_tax_code: {value} is not a Stripe tax code, such as \"txcd_99999999\"")]
    NotTaxCode { value: Quoted },

    #[error("description: {value} has no text once HTML is removed")]
    NoTextAfterHtml { value: Quoted },

    #[error("enable_checkout: {value} is not allowed when enable_search is false")]
    CheckoutWithoutSearch { value: Quoted },
}

/// What cleaning changed in a row that was imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RowWarning {
    /// Leading or trailing whitespace was removed.
    Trimmed { column: Column },
    /// A value was rewritten to its canonical spelling.
    ReadAs {
        column: Column,
        value: Quoted,
        canonical: String,
    },
    /// HTML tags were removed and entities decoded.
    HtmlRemoved,
}

impl fmt::Display for RowWarning {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RowWarning::Trimmed { column } => {
                write!(formatter, "{column}: spaces around the value were removed")
            }
            RowWarning::ReadAs {
                column,
                value,
                canonical,
            } => write!(formatter, "{column}: {value} was read as {canonical:?}"),
            RowWarning::HtmlRemoved => {
                formatter.write_str("description: HTML was converted to plain text")
            }
        }
    }
}

/// Several messages for one row, joined as the reports write them.
pub fn join_messages<T: fmt::Display>(messages: &[T]) -> String {
    let texts: Vec<String> = messages.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, expect: &str) {
        assert_eq!(Quoted::new(value).to_string(), expect);
    }

    #[rustfmt::skip]
    #[test]
    fn values_are_quoted_escaped_and_shortened() {
        check("15,00 EUR", r#""15,00 EUR""#);
        check("say \"hi\"", r#""say \"hi\"""#);
        check("two\nlines", r#""two\nlines""#);
        check("café", r#""café""#);
        check(&"a".repeat(80), &format!("{:?}", "a".repeat(80)));
        check(&"a".repeat(81), &format!("\"{}...\"", "a".repeat(60)));
        check(&"é".repeat(1_000_000), &format!("\"{}...\"", "é".repeat(60)));
    }

    #[test]
    fn the_store_names_ids_missing_from_the_catalog() {
        let error = RowError::NotInCatalog {
            value: Quoted::new("sku-9"),
        };
        assert_eq!(
            error.to_string(),
            r#"id: "sku-9" is not a product in this catalog"#
        );
    }

    #[test]
    fn file_messages_name_the_problem() {
        let missing_one = FileError::MissingColumns {
            columns: vec![Column::Price],
        };
        let missing_two = FileError::MissingColumns {
            columns: vec![Column::Id, Column::Price],
        };
        assert_eq!(
            missing_one.to_string(),
            "the header is missing the required column: price"
        );
        assert_eq!(
            missing_two.to_string(),
            "the header is missing the required columns: id, price"
        );
    }
}
