//! Whole files through the reader, one case per line: the bytes, and what
//! comes out (the file's failure, or each row's line and result).

use std::io::{self, Read};

use super::{Delimiter, FeedReader};
use crate::columns::FeedFormat;
use crate::messages::join_messages;
use crate::row::RowOutcome;

const HEADER: &str =
    "id,title,description,link,brand,image_link,availability,price,gtin,product_category,inventory_quantity";

fn row(id: &str) -> String {
    format!(
        "{id},Blue mug,A blue mug.,https://example.com/mug,Acme,https://example.com/mug.jpg,in_stock,15.00 USD,4006381333931,Home > Kitchen,7"
    )
}

fn render<R: Read>(read: R, format: FeedFormat) -> Vec<String> {
    let reader = match FeedReader::open(read, format) {
        Ok(reader) => reader,
        Err(error) => return vec![format!("failed: {error}")],
    };
    let mut lines: Vec<String> = reader
        .file_warnings()
        .iter()
        .map(|warning| format!("file warning: {warning}"))
        .collect();
    for item in reader {
        let line = match item {
            Ok(row) => format!("{}: {}", row.line, render_outcome(&row.outcome)),
            Err(error) => format!("read failed: {error}"),
        };
        lines.push(line);
    }
    lines
}

fn render_outcome(outcome: &RowOutcome) -> String {
    match outcome {
        RowOutcome::Valid { warnings, .. } if warnings.is_empty() => "ok".to_owned(),
        RowOutcome::Valid { warnings, .. } => format!("ok; warnings: {}", join_messages(warnings)),
        RowOutcome::Invalid { errors } => format!("error: {}", join_messages(errors)),
    }
}

fn check(bytes: impl AsRef<[u8]>, expect: &[&str]) {
    let bytes = bytes.as_ref();
    let actual = render(bytes, FeedFormat::ProductCatalog);
    assert_eq!(actual, expect, "file {:?}", String::from_utf8_lossy(bytes));
}

fn check_inventory(bytes: &str, expect: &[&str]) {
    let actual = render(bytes.as_bytes(), FeedFormat::Inventory);
    assert_eq!(actual, expect, "file {bytes:?}");
}

#[rustfmt::skip]
#[test]
fn empty_and_header_only_files_fail() {
    check("", &["failed: the file is empty"]);
    check(b"\xEF\xBB\xBF", &["failed: the file is empty"]);
    check("\n\r\n  \n", &["failed: the file is empty"]);
    check(HEADER, &["failed: the file has a header row but no data rows"]);
    check(format!("{HEADER}\n"), &["failed: the file has a header row but no data rows"]);
    check(format!("{HEADER}\r\n\r\n\r\n"), &["failed: the file has a header row but no data rows"]);
}

#[rustfmt::skip]
#[test]
fn header_problems_fail_the_file() {
    check("id,title,price\nsku-1,Mug,1.00 USD\n", &["failed: the header is missing the required columns: description, link, brand, image_link, availability"]);
    check(format!("{HEADER},ID\n{},x\n", row("sku-1")), &[r#"failed: the column "id" appears twice in the header, as "id" and "ID""#]);
    check(format!("{HEADER},url\n{},x\n", row("sku-1")), &[r#"failed: the column "link" appears twice in the header, as "link" and "url""#]);
}

#[rustfmt::skip]
#[test]
fn files_that_are_not_text_fail() {
    check(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", &["failed: the file is not CSV or TSV text: it contains NUL bytes"]);
    check(b"\x89PNG-like header\n", &["failed: the file is not CSV or TSV text: its header row is not valid UTF-8"]);
    check(b"PK\x03\x04\x14\x06\x08\nmore", &["failed: the file is not CSV or TSV text: its header row contains control characters"]);
    check(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj\x00", &["failed: the file is not CSV or TSV text: it contains NUL bytes"]);
    check(vec![b'a'; 1024 * 1024 + 1], &["failed: the header row is longer than 1048576 bytes"]);
}

#[rustfmt::skip]
#[test]
fn unknown_columns_are_reported_once() {
    check(format!("{HEADER},colour,Notes\n{},blue,x\n{},red,y\n", row("sku-1"), row("sku-2")), &[r#"file warning: columns that product_catalog_feed does not define are ignored: "colour", "Notes""#, "2: ok", "3: ok"]);
}

#[rustfmt::skip]
#[test]
fn encodings_line_ends_and_delimiters() {
    check(format!("\u{feff}{HEADER}\n{}\n", row("sku-1")), &["2: ok"]);
    check(format!("{HEADER}\r\n{}\r\n{}", row("sku-1"), row("sku-2")), &["2: ok", "3: ok"]);
    check(format!("\n\n{HEADER}\n{}\n", row("sku-1")), &["4: ok"]);
    check(format!("{HEADER}\r\n{}\r\n\r\n\r\n{}\r\n", row("sku-1"), row("sku-2")), &["2: ok", "5: ok"]);
    check(format!("{HEADER}\n{}\n   \n\t\n{}", row("sku-1"), row("sku-2")), &["2: ok", "5: ok"]);
    check(format!("{HEADER}\r\n{}\r\n", row("sku-1").replace(",7", ",\"7\"")), &["2: ok"]);
    check(format!("{HEADER}\r\n{}\r\n", row("sku-1").replace(",7", ",\"7\r\"")), &["2: ok; warnings: inventory_quantity: spaces around the value were removed"]);
    let tab_separated = |text: String| text.replace(',', "\t");
    check(tab_separated(format!("{HEADER}\n{}\n", row("sku-1"))), &["2: ok"]);
    check(format!("{HEADER}\n{}\n", row("sku-1")).replace("Blue mug", "Blue mug, large"), &["2: error: row has 12 cells but the header has 11 columns"]);
    check(tab_separated(format!("{HEADER}\n{}\n", row("sku-1"))).replace("Blue mug", "Blue mug, large"), &["2: ok"]);
}

#[rustfmt::skip]
#[test]
fn quoted_cells_hold_delimiters_quotes_and_line_ends() {
    let quoted = row("sku-1").replace(
        "A blue mug.",
        "\"A blue mug,\nlarge, \"\"classic\"\".\r\nDishwasher safe.\"",
    );
    check(format!("{HEADER}\n{quoted}\n{}\n", row("sku-2")), &["2: ok", "5: ok"]);
    check(format!("{HEADER}\r\n{quoted}\r\n{}\r\n", row("sku-2")), &["2: ok", "5: ok"]);
    let tab_quoted = quoted
        .replace(',', "\t")
        .replace("mug\tlarge", "mug,\tlarge");
    check(format!("{}\n{tab_quoted}\n", HEADER.replace(',', "\t")), &["2: ok"]);
}

#[rustfmt::skip]
#[test]
fn a_bad_row_fails_alone() {
    let with_marker = format!(
        "{HEADER}\n{}\n{}\n",
        row("sku-1").replace("Blue mug", "Blue @"),
        row("sku-2")
    );
    let bytes: Vec<u8> = with_marker
        .bytes()
        .map(|byte| if byte == b'@' { 0xFF } else { byte })
        .collect();
    check(&bytes, &["2: error: title: the cell is not valid UTF-8 text; save the file as UTF-8", "3: ok"]);
    check(format!("{HEADER}\n{},extra\n{}\n", row("sku-1"), row("sku-2")), &["2: error: row has 12 cells but the header has 11 columns", "3: ok"]);
    check(format!("{HEADER}\nsku-1,Blue mug\n{}\n", row("sku-2")), &["2: error: row has 2 cells but the header has 11 columns", "3: ok"]);
    check(format!("{HEADER}\n{}\n{}\n{}\n", row("sku-1"), row("sku-2"), row("sku-1")), &["2: ok", "3: ok", r#"4: error: id: "sku-1" repeats the id of the row on line 2; the first row with an id wins"#]);
    check(format!("{HEADER}\n{}\n{}\n", row(" sku-1"), row("sku-1")), &["2: ok; warnings: id: spaces around the value were removed", r#"3: error: id: "sku-1" repeats the id of the row on line 2; the first row with an id wins"#]);
    check(format!("{HEADER}\n{}\n{}\n", row("sku-1").replace("15.00 USD", "x"), row("sku-1")), &[r#"2: error: price: "x" is not a price; write a decimal with a dot and a currency code, such as "15.00 EUR""#, r#"3: error: id: "sku-1" repeats the id of the row on line 2; the first row with an id wins"#]);
    check(format!("{HEADER}\n{}\nsku-2,\"Blue mug\n", row("sku-1")), &["2: ok", "3: error: row has a quote that is never closed, so it runs to the end of the file"]);
    check(format!("{HEADER}\n{}\nsku-2,\"Blue mug\n{}\n", row("sku-1"), row("sku-3")), &["2: ok", "3: error: row has a quote that is never closed, so it runs to the end of the file"]);
    check(format!("{HEADER}\n{}\nsku-2,\"Blue mug", row("sku-1")), &["2: ok", "3: error: row has a quote that is never closed, so it runs to the end of the file"]);
    check(format!("{HEADER}\n{}\nsku-2,Blue \"mug\" 12\" wide,x\n", row("sku-1")), &["2: ok", "3: error: row has 3 cells but the header has 11 columns"]);
}

#[test]
fn a_nul_byte_after_the_first_bytes_fails_its_row() {
    let filler: Vec<String> = (0..100)
        .map(|number| row(&format!("sku-{number}")))
        .collect();
    let bad_row = row("sku-bad").replace("Blue mug", "Blue\0mug");
    let file = format!("{HEADER}\n{}\n{bad_row}\n", filler.join("\n"));
    let lines = render(file.as_bytes(), FeedFormat::ProductCatalog);
    assert_eq!(lines.len(), 101);
    assert_eq!(
        lines[100],
        "102: error: title: the cell contains a NUL byte"
    );
}

#[rustfmt::skip]
#[test]
fn a_one_megabyte_cell_fails_its_rule() {
    let huge_description = "x".repeat(1024 * 1024);
    let huge_row = row("sku-1").replace("A blue mug.", &huge_description);
    let expect = format!(
        "2: error: description: \"{}...\" is 1048576 characters long; at most 5000 are allowed",
        "x".repeat(60)
    );
    check(format!("{HEADER}\n{huge_row}\n{}\n", row("sku-2")), &[&expect, "3: ok"]);
}

#[rustfmt::skip]
#[test]
fn inventory_feeds() {
    check_inventory("sku_id,inventory_quantity\nsku-1,3\nsku-2,0\n", &["2: ok", "3: ok"]);
    check_inventory("item_id,inventory_quantity,availability\nsku-1,3,In Stock\n", &[r#"2: ok; warnings: availability: "In Stock" was read as "in_stock""#]);
    check_inventory("id,inventory_quantity,title\nsku-1,-3,Mug\nsku-1,4,Mug\n", &[r#"file warning: columns that inventory_feed does not define are ignored: "title""#, r#"2: error: inventory_quantity: "-3" is not a whole number of 0 or more"#, r#"3: error: id: "sku-1" repeats the id of the row on line 2; the first row with an id wins"#]);
    check_inventory("id,availability\nsku-1,in_stock\n", &["failed: the header is missing the required column: inventory_quantity"]);
}

#[test]
fn the_delimiter_is_detected_from_the_header() {
    let delimiter = |file: String| {
        let reader = FeedReader::open(file.as_bytes(), FeedFormat::ProductCatalog);
        reader.map(|reader| reader.delimiter()).ok()
    };
    let comma_separated = format!("{HEADER}\n{}\n", row("a"));
    assert_eq!(delimiter(comma_separated.clone()), Some(Delimiter::Comma));
    assert_eq!(
        delimiter(comma_separated.replace(',', "\t")),
        Some(Delimiter::Tab)
    );
}

#[test]
fn progress_counts_rows_and_bytes() {
    let file = format!(
        "\u{feff}{HEADER}\n{}\n{}\n{}\n",
        row("sku-1"),
        row("sku-1"),
        row("sku-2 ")
    );
    let Ok(mut reader) = FeedReader::open(file.as_bytes(), FeedFormat::ProductCatalog) else {
        panic!("the file should open");
    };
    let rows = reader.by_ref().count();
    let progress = reader.progress();
    assert_eq!(rows, 3);
    assert_eq!(
        (
            progress.rows_processed,
            progress.rows_valid,
            progress.rows_invalid,
            progress.rows_with_warnings
        ),
        (3, 2, 1, 1)
    );
    assert_eq!(progress.bytes_read, file.len() as u64);
}

/// A stream that fails after giving some bytes.
struct FailingRead<'a> {
    bytes: &'a [u8],
}

impl Read for FailingRead<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        if self.bytes.is_empty() {
            return Err(io::Error::other("disk gone"));
        }
        let count = self.bytes.read(buffer)?;
        Ok(count)
    }
}

#[test]
fn a_read_failure_midway_ends_the_feed() {
    let file = format!("{HEADER}\n{}\n{}\n", row("sku-1"), row("sku-2"));
    let lines = render(
        FailingRead {
            bytes: file.as_bytes(),
        },
        FeedFormat::ProductCatalog,
    );
    assert_eq!(
        lines,
        ["2: ok", "3: ok", "read failed: the file could not be read"]
    );
}
