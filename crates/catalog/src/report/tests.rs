//! The reports: their exact bytes, and the round trip (import a file with
//! errors, take the error report without its message column, fix the rows,
//! import them, and every product is there).

use csv::ByteRecord;

use super::{strip_message_column, FeedReports, ReportKind, ReportWriter};
use crate::columns::{Column, FeedFormat};
use crate::feed::FeedReader;
use crate::messages::{Quoted, RowError};
use crate::row::{RowChange, RowOutcome};

const HEADER: &str = "id,title,description,link,brand,image_link,availability,price,gtin,product_category,inventory_quantity,notes";

fn row(id: &str, title: &str, price: &str, gtin: &str, notes: &str) -> String {
    format!(
        "{id},{title},A mug.,https://example.com/{id},Acme,https://example.com/{id}.jpg,in_stock,{price},{gtin},Home > Kitchen,7,{notes}"
    )
}

/// Runs a feed through the reader and both reports.
fn import(bytes: &[u8]) -> (Vec<String>, Vec<u8>, Vec<u8>) {
    let Ok(reader) = FeedReader::open(bytes, FeedFormat::ProductCatalog) else {
        panic!("the file should open");
    };
    let reports = FeedReports::new(
        Vec::new(),
        Vec::new(),
        reader.header(),
        reader.file_warnings(),
    );
    let Ok(mut reports) = reports else {
        panic!("the reports should start");
    };
    let mut ids = Vec::new();
    for row in reader.flatten() {
        if let RowOutcome::Valid {
            change: RowChange::Upsert(product),
            ..
        } = &row.outcome
        {
            ids.push(product.id.clone());
        }
        assert!(reports.record(&row).is_ok());
    }
    let Ok((errors, warnings)) = reports.finish() else {
        panic!("the reports should finish");
    };
    (ids, errors.out, warnings.out)
}

fn strip(report: &[u8]) -> Vec<u8> {
    let mut stripped = Vec::new();
    assert!(strip_message_column(report, &mut stripped).is_ok());
    stripped
}

#[test]
fn the_contract_example_is_reproduced_exactly() {
    let header = ByteRecord::from(vec!["id", "title", "price"]);
    let record = ByteRecord::from(vec!["sku-17", "Blue mug", "15,00 EUR"]);
    let error = RowError::NotPrice {
        column: Column::Price,
        value: Quoted::new("15,00 EUR"),
    };
    let Ok(mut writer) = ReportWriter::new(Vec::new(), ReportKind::Errors, &header) else {
        panic!("the report should start");
    };
    assert!(writer.write_row(&error.to_string(), &record).is_ok());
    let report = writer.finish().ok().map(String::from_utf8);
    let expect = concat!(
        "stripe_error_message,id,title,price\n",
        r#""price: ""15,00 EUR"" is not a price; write a decimal with a dot and a currency code, such as ""15.00 EUR""",sku-17,Blue mug,"15,00 EUR""#,
        "\n",
    );
    assert_eq!(report, Some(Ok(expect.to_owned())));
}

/// A file with one row of every kind: valid, cleaned, and failing in ways
/// that test the byte-exact copy (a comma in quotes, bad UTF-8, an embedded
/// line end and doubled quotes, spaces kept, too few cells).
fn file_with_errors() -> Vec<u8> {
    let lines = [
        HEADER.to_owned(),
        row("sku-1", "Blue mug", "15.00 USD", "4006381333931", "fine"),
        row(
            "sku-2",
            "Red mug",
            "\"15,00 EUR\"",
            "4006381333931",
            "  spaces kept  ",
        ),
        row("sku-3", " Green mug", "15.00 USD", "4006381333931", ""),
        row("sku-4", "Caf@ mug", "15.00 USD", "4006381333931", ""),
        row(
            "sku-5",
            "\"Big mug, \"\"tall\"\"\nand wide\"",
            "15.00 USD",
            "4006381333932",
            "",
        ),
        "sku-6,Short row".to_owned(),
    ];
    let text = format!("{}\n", lines.join("\n"));
    text.bytes()
        .map(|byte| if byte == b'@' { 0xE9 } else { byte })
        .collect()
}

#[test]
fn reports_hold_the_original_rows_untouched() {
    let file = file_with_errors();
    let (ids, errors, warnings) = import(&file);
    assert_eq!(ids, ["sku-1", "sku-3"]);

    let original_lines: Vec<&[u8]> = file.split(|byte| *byte == b'\n').collect();
    let mut expect_errors = b"stripe_error_message,".to_vec();
    for (message, line_numbers) in [
        ("", &[0][..]),
        ("\"price: \"\"15,00 EUR\"\" is not a price; write a decimal with a dot and a currency code, such as \"\"15.00 EUR\"\"\",", &[2]),
        ("title: the cell is not valid UTF-8 text; save the file as UTF-8,", &[4]),
        ("\"gtin: \"\"4006381333932\"\" has a wrong check digit; the last digit should be 1\",", &[5, 6]),
        ("row has 2 cells but the header has 12 columns,", &[7]),
    ] {
        expect_errors.extend_from_slice(message.as_bytes());
        let original: Vec<&[u8]> = line_numbers.iter().map(|at| original_lines[*at]).collect();
        expect_errors.extend_from_slice(&original.join(&b'\n'));
        expect_errors.push(b'\n');
    }
    assert_eq!(
        String::from_utf8_lossy(&errors),
        String::from_utf8_lossy(&expect_errors)
    );
    assert_eq!(errors, expect_errors);

    let expect_warnings = format!(
        "warning_message,{HEADER}\n{}\ntitle: spaces around the value were removed,{}\n",
        r#""columns that product_catalog_feed does not define are ignored: ""notes""""#,
        row("sku-3", " Green mug", "15.00 USD", "4006381333931", ""),
    );
    assert_eq!(String::from_utf8_lossy(&warnings), expect_warnings);
}

#[test]
fn the_error_report_without_its_message_column_is_the_failing_rows() {
    let file = file_with_errors();
    let (_, errors, warnings) = import(&file);

    let original_lines: Vec<&[u8]> = file.split(|byte| *byte == b'\n').collect();
    let mut expect = [0, 2, 4, 5, 6, 7].map(|at| original_lines[at]).join(&b'\n');
    expect.push(b'\n');
    assert_eq!(strip(&errors), expect);

    let expect_warnings = format!(
        "{HEADER}\n{}\n",
        row("sku-3", " Green mug", "15.00 USD", "4006381333931", "")
    );
    assert_eq!(String::from_utf8_lossy(&strip(&warnings)), expect_warnings);
}

#[test]
fn fixed_rows_from_the_error_report_import() {
    let (_, errors, _) = import(&file_with_errors());
    let stripped = String::from_utf8_lossy(&strip(&errors)).into_owned();

    let fixed = stripped
        .replace("15,00 EUR", "15.00 EUR")
        .replace('\u{FFFD}', "é")
        .replace("4006381333932", "4006381333931")
        .replace(
            "sku-6,Short row",
            &row("sku-6", "Short row", "15.00 USD", "4006381333931", ""),
        );
    let (ids, fixed_errors, _) = import(fixed.as_bytes());

    assert_eq!(ids, ["sku-2", "sku-4", "sku-5", "sku-6"]);
    assert_eq!(
        String::from_utf8_lossy(&fixed_errors),
        format!("stripe_error_message,{HEADER}\n")
    );
}

#[test]
fn a_tab_separated_feed_reports_as_csv_and_round_trips() {
    let file = format!(
        "{}\n{}\n",
        HEADER.replace(',', "\t"),
        row(
            "sku-1",
            "Mug, blue",
            "15,00 EUR",
            "4006381333931",
            "a \"quoted\" note"
        )
        .replace(',', "\t")
        .replace("Mug\t blue", "Mug, blue")
        .replace("15\t00", "15,00")
    );
    let (ids, errors, _) = import(file.as_bytes());
    assert!(ids.is_empty());

    let stripped = String::from_utf8_lossy(&strip(&errors)).into_owned();
    let expect = format!(
        "{HEADER}\n{}\n",
        row(
            "sku-1",
            "\"Mug, blue\"",
            "\"15,00 EUR\"",
            "4006381333931",
            "\"a \"\"quoted\"\" note\""
        )
    );
    assert_eq!(stripped, expect);

    let (ids, _, _) = import(stripped.replace("15,00 EUR", "15.00 EUR").as_bytes());
    assert_eq!(ids, ["sku-1"]);
}

#[test]
fn only_reports_can_be_stripped() {
    let mut out = Vec::new();
    let result = strip_message_column(&b"id,title\nsku-1,Mug\n"[..], &mut out);
    assert_eq!(
        result.map_err(|error| error.to_string()),
        Err("the file is not a report: its first column is neither stripe_error_message nor warning_message".to_owned())
    );
}

#[test]
fn crlf_line_ends_do_not_reach_the_report() {
    let file = file_with_errors();
    let crlf_file: Vec<u8> = file
        .split(|byte| *byte == b'\n')
        .collect::<Vec<_>>()
        .join(&b"\r\n"[..]);
    let (_, lf_errors, _) = import(&file);
    let (_, crlf_errors, _) = import(&crlf_file);
    let lf_without_embedded_line_end =
        String::from_utf8_lossy(&lf_errors).replace("tall\"\"\nand", "tall\"\"\r\nand");
    assert_eq!(
        String::from_utf8_lossy(&crlf_errors),
        lf_without_embedded_line_end
    );
}
