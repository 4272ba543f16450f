//! `mercato gen-catalog`: writes a realistic `product_catalog_feed` for tests
//! and benchmarks: varied products and variants, prices in several
//! currencies, descriptions of realistic length, and a chosen share of rows
//! broken on purpose in known ways.
//!
//! **The output depends on the options alone**: the same rows, seed, error
//! rate and format give the same bytes on every machine. Rows are written
//! as they are made, through one buffer, so any size streams in constant
//! memory; a row averages about 500 bytes.
//!
//! Every row not broken on purpose passes the contract; the
//! [`GeneratedCatalog`] says which lines were broken and how, so a test can
//! compare it with what the validator finds.

use std::collections::BTreeSet;
use std::io::{self, BufWriter, Write};

use crate::client::catalog_faults::Fault;
use crate::client::catalog_rows::{Field, RowCells, RowMaker, FIELD_NAMES};
use crate::client::seeded_random::SeededRandom;

/// The output buffer.
const OUTPUT_BUFFER_BYTES: usize = 1024 * 1024;

/// The cell separator of the file written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CatalogFormat {
    /// Comma-separated, `text/csv`.
    Csv,
    /// Tab-separated, `text/tab-separated-values`.
    Tsv,
}

impl CatalogFormat {
    fn delimiter(self) -> u8 {
        match self {
            CatalogFormat::Csv => b',',
            CatalogFormat::Tsv => b'\t',
        }
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct GenCatalogOptions {
    /// Data rows, not counting the header.
    pub rows: u64,
    pub seed: u64,
    /// The share of rows broken on purpose, from 0.0 to 1.0.
    pub error_rate: f64,
    pub format: CatalogFormat,
}

/// A row broken on purpose.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokenRow {
    /// The row's line in the file; the header is line 1.
    pub line: u64,
    pub fault: Fault,
}

/// What was written.
#[derive(Clone, Debug, Default)]
pub struct GeneratedCatalog {
    /// Data rows written.
    pub rows: u64,
    /// Bytes written, header included.
    pub bytes: u64,
    /// The rows broken on purpose, in file order.
    pub broken: Vec<BrokenRow>,
}

impl GeneratedCatalog {
    /// The lines of the rows broken on purpose.
    pub fn broken_lines(&self) -> BTreeSet<u64> {
        self.broken.iter().map(|row| row.line).collect()
    }

    /// The rows that pass the contract.
    pub fn valid_rows(&self) -> u64 {
        self.rows - self.broken.len() as u64
    }
}

/// Why a catalog could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum GenCatalogError {
    #[error("the error rate must be between 0.0 and 1.0, not {0}")]
    ErrorRate(f64),
    #[error("cannot write the catalog")]
    Write(#[source] io::Error),
}

/// Writes the catalog to `output` (buffered here) and says what it holds.
pub fn write_catalog<W: Write>(
    options: &GenCatalogOptions,
    output: W,
) -> Result<GeneratedCatalog, GenCatalogError> {
    if !(0.0..=1.0).contains(&options.error_rate) {
        return Err(GenCatalogError::ErrorRate(options.error_rate));
    }
    let mut output = CountingWriter::new(BufWriter::with_capacity(OUTPUT_BUFFER_BYTES, output));
    let mut line = Vec::with_capacity(4096);
    let header: Vec<String> = FIELD_NAMES.iter().map(|name| name.to_string()).collect();
    write_line(&mut output, &mut line, &header, options.format)?;

    let mut random = SeededRandom::new(options.seed);
    let mut maker = RowMaker::new();
    let mut cells = RowCells::new();
    let mut previous_id = String::new();
    let mut catalog = GeneratedCatalog::default();
    for row_index in 0..options.rows {
        maker.fill_next_row(&mut random, &mut cells);
        if random.chance(options.error_rate) {
            let fault = Fault::draw(&mut random, row_index == 0);
            fault.apply(&mut random, &mut cells, &previous_id);
            let line = row_index + 2;
            catalog.broken.push(BrokenRow { line, fault });
        }
        write_line(&mut output, &mut line, cells.cells(), options.format)?;
        previous_id.clear();
        previous_id.push_str(cells.get(Field::Id));
    }

    output.flush().map_err(GenCatalogError::Write)?;
    catalog.rows = options.rows;
    catalog.bytes = output.written;
    Ok(catalog)
}

/// The whole catalog in memory, for tests and small files.
pub fn generate_catalog(
    options: &GenCatalogOptions,
) -> Result<(Vec<u8>, GeneratedCatalog), GenCatalogError> {
    let mut bytes = Vec::new();
    let catalog = write_catalog(options, &mut bytes)?;
    Ok((bytes, catalog))
}

/// Writes one record: cells joined by the delimiter, each quoted when it
/// holds the delimiter, a quote or a line end (RFC 4180), then `\n`.
fn write_line<W: Write>(
    output: &mut W,
    line: &mut Vec<u8>,
    cells: &[String],
    format: CatalogFormat,
) -> Result<(), GenCatalogError> {
    let delimiter = format.delimiter();
    line.clear();
    for (position, cell) in cells.iter().enumerate() {
        if position > 0 {
            line.push(delimiter);
        }
        push_cell(line, cell.as_bytes(), delimiter);
    }
    line.push(b'\n');
    output.write_all(line).map_err(GenCatalogError::Write)
}

fn push_cell(line: &mut Vec<u8>, cell: &[u8], delimiter: u8) {
    let needs_quotes = cell
        .iter()
        .any(|byte| *byte == delimiter || matches!(byte, b'"' | b'\n' | b'\r'));
    if !needs_quotes {
        line.extend_from_slice(cell);
        return;
    }
    line.push(b'"');
    for byte in cell {
        if *byte == b'"' {
            line.push(b'"');
        }
        line.push(*byte);
    }
    line.push(b'"');
}

/// A writer that counts the bytes it is given.
struct CountingWriter<W> {
    inner: W,
    written: u64,
}

impl<W> CountingWriter<W> {
    fn new(inner: W) -> CountingWriter<W> {
        CountingWriter { inner, written: 0 }
    }
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let count = self.inner.write(buffer)?;
        self.written += count as u64;
        Ok(count)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_only_when_needed() {
        let check = |cell: &str, delimiter: u8, expect: &str| {
            let mut line = Vec::new();
            push_cell(&mut line, cell.as_bytes(), delimiter);
            assert_eq!(String::from_utf8(line).expect("utf-8"), expect);
        };
        check("plain", b',', "plain");
        check("a, b", b',', "\"a, b\"");
        check("a, b", b'\t', "a, b");
        check("a\tb", b'\t', "\"a\tb\"");
        check("15\" screen", b',', "\"15\"\" screen\"");
    }

    #[test]
    fn an_error_rate_outside_zero_to_one_is_refused() {
        let options = GenCatalogOptions {
            rows: 1,
            seed: 1,
            error_rate: 1.5,
            format: CatalogFormat::Csv,
        };
        assert!(matches!(
            generate_catalog(&options),
            Err(GenCatalogError::ErrorRate(_))
        ));
    }
}
