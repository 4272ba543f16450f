//! The header row: which column each position holds, and the checks that
//! fail a whole file (a required column missing, a column named twice).
//! Unknown columns are kept out of the product and reported once.

use std::collections::HashMap;

use csv::ByteRecord;

use crate::columns::{Column, FeedFormat};
use crate::messages::{FileError, FileWarning, NotTextProblem, RowError};

/// The header of a feed, as read and as mapped.
#[derive(Clone, Debug)]
pub struct FeedHeader {
    record: ByteRecord,
    names: Vec<String>,
    columns: Vec<Option<Column>>,
}

impl FeedHeader {
    /// Maps a header record; fails on a missing required or a duplicated column.
    pub(crate) fn read(
        record: ByteRecord,
        format: FeedFormat,
    ) -> Result<(FeedHeader, Vec<FileWarning>), FileError> {
        let names = header_names(&record)?;
        let columns: Vec<Option<Column>> = names
            .iter()
            .map(|name| format.column_for_header_name(name))
            .collect();

        check_no_duplicates(&names, &columns)?;

        check_required_columns(format, &columns)?;

        let warnings = unknown_columns_warning(format, &names, &columns);
        let header = FeedHeader {
            record,
            names,
            columns,
        };
        Ok((header, warnings))
    }

    /// The header record exactly as read (without a byte order mark).
    pub fn record(&self) -> &ByteRecord {
        &self.record
    }

    /// How many cells the header has, and so every row should have.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the header has no cells (never true for a header that was read).
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The canonical column at `position`, if the format knows its name.
    pub fn column_at(&self, position: usize) -> Option<Column> {
        self.columns.get(position).copied().flatten()
    }

    /// How messages name the column at `position`: its canonical name, or
    /// the name as written when the format does not know it.
    pub(crate) fn label_at(&self, position: usize) -> String {
        match (self.column_at(position), self.names.get(position)) {
            (Some(column), _) => column.name().to_owned(),
            (None, Some(name)) if !name.trim().is_empty() => name.trim().to_owned(),
            _ => format!("column {}", position + 1),
        }
    }
}

fn header_names(record: &ByteRecord) -> Result<Vec<String>, FileError> {
    record
        .iter()
        .map(|field| {
            std::str::from_utf8(field)
                .map(str::to_owned)
                .map_err(|_| FileError::NotText {
                    problem: NotTextProblem::HeaderNotUtf8,
                })
        })
        .collect()
}

/// Two cells that name the same column, after aliases, fail the file. Blank
/// names are not compared: they name nothing.
fn check_no_duplicates(names: &[String], columns: &[Option<Column>]) -> Result<(), FileError> {
    let mut first_name_by_key: HashMap<String, &str> = HashMap::new();
    for (name, column) in names.iter().zip(columns) {
        let key = match column {
            Some(column) => column.name().to_owned(),
            None => name.trim().to_lowercase(),
        };
        if key.is_empty() {
            continue;
        }
        if let Some(first_name) = first_name_by_key.get(&key) {
            return Err(FileError::DuplicateColumn {
                column: key,
                first: first_name.trim().to_owned(),
                second: name.trim().to_owned(),
            });
        }
        first_name_by_key.insert(key, name);
    }
    Ok(())
}

fn check_required_columns(format: FeedFormat, columns: &[Option<Column>]) -> Result<(), FileError> {
    let missing: Vec<Column> = format
        .required_columns()
        .iter()
        .filter(|required| !columns.contains(&Some(**required)))
        .copied()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(FileError::MissingColumns { columns: missing })
}

fn unknown_columns_warning(
    format: FeedFormat,
    names: &[String],
    columns: &[Option<Column>],
) -> Vec<FileWarning> {
    let unknown_names: Vec<String> = names
        .iter()
        .zip(columns)
        .filter(|(_, column)| column.is_none())
        .map(|(name, _)| name.trim().to_owned())
        .collect();
    if unknown_names.is_empty() {
        return Vec::new();
    }
    vec![FileWarning::UnknownColumns {
        format,
        names: unknown_names,
    }]
}

/// A row's cells by column: trimmed later, borrowed from the record.
pub(crate) struct Cells<'r> {
    values: [&'r str; Column::COUNT],
}

impl<'r> Cells<'r> {
    /// The cell of `column`, as written; empty when the header lacks the column.
    pub(crate) fn get(&self, column: Column) -> &'r str {
        self.values[column.index()]
    }

    /// Decodes every cell of `record` as UTF-8 text without NUL bytes and
    /// files it under its column. The record must have the header's length.
    pub(crate) fn decode(
        record: &'r ByteRecord,
        header: &FeedHeader,
    ) -> Result<Cells<'r>, Vec<RowError>> {
        let mut values = [""; Column::COUNT];
        let mut errors = Vec::new();
        let may_hold_nul = record.as_slice().contains(&0);
        for (position, field) in record.iter().enumerate() {
            match decode_cell(field, may_hold_nul) {
                Ok(text) => {
                    if let Some(column) = header.column_at(position) {
                        values[column.index()] = text;
                    }
                }
                Err(problem) => errors.push(problem.into_row_error(header.label_at(position))),
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Cells { values })
    }

    /// Cells for tests and callers that already hold text.
    #[cfg(test)]
    pub(crate) fn from_pairs(pairs: &[(Column, &'r str)]) -> Cells<'r> {
        let mut values = [""; Column::COUNT];
        for (column, value) in pairs {
            values[column.index()] = value;
        }
        Cells { values }
    }
}

enum CellProblem {
    NotUtf8,
    HasNul,
}

impl CellProblem {
    fn into_row_error(self, column: String) -> RowError {
        match self {
            CellProblem::NotUtf8 => RowError::CellNotUtf8 { column },
            CellProblem::HasNul => RowError::CellHasNul { column },
        }
    }
}

fn decode_cell(field: &[u8], may_hold_nul: bool) -> Result<&str, CellProblem> {
    let text = std::str::from_utf8(field).map_err(|_| CellProblem::NotUtf8)?;
    if may_hold_nul && field.contains(&0) {
        return Err(CellProblem::HasNul);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: FeedFormat, names: &[&str], expect: &str) {
        let record = ByteRecord::from(names.to_vec());
        let actual = match FeedHeader::read(record, format) {
            Ok((header, warnings)) => {
                let columns: Vec<String> =
                    (0..header.len()).map(|at| header.label_at(at)).collect();
                let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
                format!(
                    "columns {}; warnings [{}]",
                    columns.join(","),
                    warnings.join("; ")
                )
            }
            Err(error) => format!("failed: {error}"),
        };
        assert_eq!(actual, expect, "header {names:?}");
    }

    const REQUIRED: [&str; 8] = [
        "id",
        "title",
        "description",
        "link",
        "brand",
        "image_link",
        "availability",
        "price",
    ];

    fn with_required(extra: &[&'static str]) -> Vec<&'static str> {
        REQUIRED
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect()
    }

    #[rustfmt::skip]
    #[test]
    fn product_headers() {
        let product = FeedFormat::ProductCatalog;
        check(product, &with_required(&[]), "columns id,title,description,link,brand,image_link,availability,price; warnings []");
        check(product, &["Item_ID", " TITLE ", "description", "url", "brand", "image_url", "availability", "price"], "columns id,title,description,link,brand,image_link,availability,price; warnings []");
        check(product, &with_required(&["colour", "Notes", ""]), r#"columns id,title,description,link,brand,image_link,availability,price,colour,Notes,column 11; warnings [columns that product_catalog_feed does not define are ignored: "colour", "Notes", ""]"#);
        check(product, &with_required(&["", ""]), r#"columns id,title,description,link,brand,image_link,availability,price,column 9,column 10; warnings [columns that product_catalog_feed does not define are ignored: "", ""]"#);
        check(product, &["id", "title"], "failed: the header is missing the required columns: description, link, brand, image_link, availability, price");
        check(product, &REQUIRED[..7], "failed: the header is missing the required column: price");
        check(product, &with_required(&["item_id"]), r#"failed: the column "id" appears twice in the header, as "id" and "item_id""#);
        check(product, &with_required(&["Price"]), r#"failed: the column "price" appears twice in the header, as "price" and "Price""#);
        check(product, &with_required(&["notes", "NOTES "]), r#"failed: the column "notes" appears twice in the header, as "notes" and "NOTES""#);
    }

    #[rustfmt::skip]
    #[test]
    fn inventory_headers() {
        let inventory = FeedFormat::Inventory;
        check(inventory, &["sku_id", "inventory_quantity"], "columns id,inventory_quantity; warnings []");
        check(inventory, &["id", "inventory_quantity", "title"], r#"columns id,inventory_quantity,title; warnings [columns that inventory_feed does not define are ignored: "title"]"#);
        check(inventory, &["id"], "failed: the header is missing the required column: inventory_quantity");
        check(inventory, &["sku_id", "item_id", "inventory_quantity"], r#"failed: the column "id" appears twice in the header, as "sku_id" and "item_id""#);
    }
}
