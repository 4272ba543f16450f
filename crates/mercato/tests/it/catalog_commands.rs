//! `mercato gen-catalog` and `mercato import`.
//!
//! The generator is checked against the feed validator itself
//! (`mercato-catalog`): it must refuse exactly the rows the generator says
//! it broke. The import runs in-process against the real server, with a
//! generated catalog, and once through the built binary as a user would.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mercato::client::catalog_faults::Fault;
use mercato::client::gen_catalog::{
    generate_catalog, CatalogFormat, GenCatalogOptions, GeneratedCatalog,
};
use mercato::client::import::{self, ImportMode, ImportOptions, ImportOutcome};
use mercato::client::import_progress::ProgressDisplay;
use mercato_catalog::{Delimiter, FeedFormat, FeedReader, RowOutcome};

use crate::support::TestServer;

const MERCATO: &str = env!("CARGO_BIN_EXE_mercato");
/// The longest an import of a small file may take.
const PATIENCE: Duration = Duration::from_secs(60);
/// The columns every generated file has.
const COLUMN_COUNT: usize = 24;

fn generate(rows: u64, seed: u64, error_rate: f64, format: CatalogFormat) -> Generated {
    let options = GenCatalogOptions {
        rows,
        seed,
        error_rate,
        format,
    };
    let (bytes, catalog) = generate_catalog(&options).expect("the catalog is generated");
    Generated { bytes, catalog }
}

struct Generated {
    bytes: Vec<u8>,
    catalog: GeneratedCatalog,
}

/// What the validator makes of a feed.
struct Validated {
    delimiter: Delimiter,
    rows: u64,
    invalid_lines: BTreeSet<u64>,
    /// The first error message of each invalid line, for failure output.
    messages: Vec<(u64, String)>,
}

fn validate(bytes: &[u8]) -> Validated {
    let reader = FeedReader::open(bytes, FeedFormat::ProductCatalog).expect("the feed opens");
    let delimiter = reader.delimiter();
    let mut validated = Validated {
        delimiter,
        rows: 0,
        invalid_lines: BTreeSet::new(),
        messages: Vec::new(),
    };
    for row in reader {
        let row = row.expect("the feed reads to its end");
        validated.rows += 1;
        if let RowOutcome::Invalid { .. } = row.outcome {
            validated.invalid_lines.insert(row.line);
            let message = row.outcome.error_message().unwrap_or_default();
            validated.messages.push((row.line, message));
        }
    }
    validated
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_others() {
    let first = generate(2_000, 42, 0.1, CatalogFormat::Csv);
    let again = generate(2_000, 42, 0.1, CatalogFormat::Csv);
    let other = generate(2_000, 43, 0.1, CatalogFormat::Csv);

    assert!(
        first.bytes == again.bytes,
        "the same seed wrote other bytes"
    );
    assert_eq!(first.catalog.broken, again.catalog.broken);
    assert!(
        first.bytes != other.bytes,
        "another seed wrote the same bytes"
    );
}

#[test]
fn rows_average_about_five_hundred_bytes() {
    let generated = generate(2_000, 1, 0.1, CatalogFormat::Csv);

    let size = generated.bytes.len();
    assert_eq!(generated.catalog.bytes, size as u64);
    assert!(
        (800_000..=1_200_000).contains(&size),
        "2,000 rows took {size} bytes, {} a row",
        size / 2_000
    );
}

#[test]
fn the_validator_refuses_exactly_the_rows_broken_on_purpose() {
    for seed in [1, 2, 3] {
        let generated = generate(2_000, seed, 0.1, CatalogFormat::Csv);
        let validated = validate(&generated.bytes);

        assert_eq!(validated.rows, 2_000);
        let broken = generated.catalog.broken_lines();
        let unexpected: Vec<_> = validated
            .messages
            .iter()
            .filter(|(line, _)| !broken.contains(line))
            .collect();
        assert!(unexpected.is_empty(), "seed {seed}: {unexpected:#?}");
        let accepted: Vec<_> = generated
            .catalog
            .broken
            .iter()
            .filter(|row| !validated.invalid_lines.contains(&row.line))
            .collect();
        assert!(accepted.is_empty(), "seed {seed}: accepted {accepted:#?}");
        assert!(
            (120..=280).contains(&broken.len()),
            "seed {seed}: {} rows broken at rate 0.1",
            broken.len()
        );
    }
}

#[test]
fn every_kind_of_fault_is_drawn() {
    let generated = generate(2_000, 1, 0.1, CatalogFormat::Csv);

    let drawn: Vec<Fault> = generated
        .catalog
        .broken
        .iter()
        .map(|row| row.fault)
        .collect();
    for fault in Fault::ALL {
        assert!(drawn.contains(fault), "{fault:?} never drawn");
    }
}

#[test]
fn error_rates_of_zero_and_one_break_no_row_and_every_row() {
    let clean = generate(300, 9, 0.0, CatalogFormat::Csv);
    let broken = generate(300, 9, 1.0, CatalogFormat::Csv);

    assert!(clean.catalog.broken.is_empty());
    assert!(validate(&clean.bytes).invalid_lines.is_empty());
    assert_eq!(broken.catalog.broken.len(), 300);
    assert_eq!(validate(&broken.bytes).invalid_lines.len(), 300);
}

#[test]
fn tsv_output_parses_as_tsv() {
    let generated = generate(2_000, 5, 0.0, CatalogFormat::Tsv);

    let validated = validate(&generated.bytes);
    assert_eq!(validated.delimiter, Delimiter::Tab);
    assert_eq!(validated.rows, 2_000);
    assert!(
        validated.invalid_lines.is_empty(),
        "{:#?}",
        validated.messages
    );

    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .from_reader(&generated.bytes[..]);
    let header = reader.headers().expect("a header").clone();
    assert_eq!(header.len(), COLUMN_COUNT);
    assert_eq!(&header[0], "id");
    let records: Vec<_> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("every record reads as TSV");
    assert_eq!(records.len(), 2_000);
    assert!(records.iter().all(|record| record.len() == COLUMN_COUNT));
}

#[test]
fn the_binary_writes_a_catalog_to_stdout() {
    let output = std::process::Command::new(MERCATO)
        .args(["gen-catalog", "--rows", "10", "--seed", "1"])
        .args(["--error-rate", "0"])
        .output()
        .expect("mercato runs");

    assert!(output.status.success(), "{output:?}");
    let written = String::from_utf8(output.stdout).expect("UTF-8");
    assert_eq!(written.lines().count(), 11, "{written}");
    assert!(written.starts_with("id,title,description,"), "{written}");
    let expected = generate(10, 1, 0.0, CatalogFormat::Csv);
    assert_eq!(written.as_bytes(), expected.bytes);
}

#[test]
fn the_binary_writes_a_tsv_file_with_output() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("catalog.tsv");

    let output = std::process::Command::new(MERCATO)
        .args([
            "gen-catalog",
            "--rows",
            "50",
            "--seed",
            "2",
            "--format",
            "tsv",
        ])
        .args(["--error-rate", "0.5", "--output"])
        .arg(&path)
        .output()
        .expect("mercato runs");

    assert!(output.status.success(), "{output:?}");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.starts_with("Wrote 50 rows ("), "{summary}");
    let written = std::fs::read(&path).expect("the file is written");
    assert_eq!(written, generate(50, 2, 0.5, CatalogFormat::Tsv).bytes);
}

#[test]
fn the_binary_refuses_an_error_rate_above_one() {
    let output = std::process::Command::new(MERCATO)
        .args(["gen-catalog", "--rows", "10", "--error-rate", "1.5"])
        .output()
        .expect("mercato runs");

    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("between 0.0 and 1.0"), "{message}");
}

/// A generated catalog saved as `catalog.csv` in `dir`.
fn save_catalog(dir: &Path, rows: u64, error_rate: f64) -> (PathBuf, Generated) {
    let generated = generate(rows, 7, error_rate, CatalogFormat::Csv);
    let path = dir.join("catalog.csv");
    std::fs::write(&path, &generated.bytes).expect("the catalog is saved");
    (path, generated)
}

fn import_options(server: &TestServer, account: &str, file: &Path, dir: &Path) -> ImportOptions {
    ImportOptions {
        api_base: server.base.clone(),
        api_key: server.test_key.clone(),
        file: file.to_owned(),
        account: account.to_owned(),
        format: FeedFormat::ProductCatalog,
        mode: ImportMode::Upsert,
        validate_only: false,
        report_dir: dir.join("reports"),
        progress: ProgressDisplay::Hidden,
    }
}

async fn run_import(options: ImportOptions) -> anyhow::Result<ImportOutcome> {
    tokio::time::timeout(PATIENCE, import::import(options))
        .await
        .expect("the import ends in time")
}

/// The records of a CSV report: its header, then its rows.
fn read_report(path: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut reader = csv::Reader::from_path(path).expect("the report opens");
    let header = reader.headers().expect("a header").clone();
    let rows = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("the report reads");
    (header, rows)
}

#[tokio::test]
async fn an_import_reports_the_rows_broken_on_purpose() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, generated) = save_catalog(dir.path(), 500, 0.1);

    let options = import_options(&server, &account, &file, dir.path());
    let outcome = run_import(options).await.expect("the import runs");

    let broken = generated.catalog.broken.len() as u64;
    let counts = outcome.import_set.counts;
    assert_eq!(outcome.import_set.status, "succeeded_with_errors");
    assert_eq!(outcome.exit_code(), 0);
    assert_eq!(counts.rows_processed, 500);
    assert_eq!(counts.errors, broken);
    assert_eq!(counts.successes, 500 - broken);
    assert_eq!(counts.objects_created, 500 - broken);

    let report = outcome.error_report.clone().expect("an error report");
    let expected_path = dir
        .path()
        .join("reports")
        .join(format!("{}-errors.csv", outcome.import_set.id));
    assert_eq!(report, expected_path);
    let (header, rows) = read_report(&report);
    assert_eq!(&header[0], "stripe_error_message");
    assert_eq!(header.len(), COLUMN_COUNT + 1);
    assert_eq!(rows.len() as u64, broken);
    assert!(rows.iter().all(|row| !row[0].is_empty()));
}

#[tokio::test]
async fn an_import_saves_the_warnings_report_when_rows_were_cleaned() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, _) = save_catalog(dir.path(), 500, 0.0);

    let options = import_options(&server, &account, &file, dir.path());
    let outcome = run_import(options).await.expect("the import runs");

    assert_eq!(outcome.import_set.status, "succeeded");
    assert_eq!(outcome.error_report, None);
    let warned = outcome.import_set.counts.warnings;
    assert!(warned > 0, "HTML descriptions are cleaned with a warning");
    let report = outcome.warning_report.clone().expect("a warnings report");
    let (header, rows) = read_report(&report);
    assert_eq!(&header[0], "warning_message");
    assert_eq!(rows.len() as u64, warned);
}

#[tokio::test]
async fn a_validate_only_import_changes_no_product() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, _) = save_catalog(dir.path(), 100, 0.1);

    let mut options = import_options(&server, &account, &file, dir.path());
    options.validate_only = true;
    let outcome = run_import(options).await.expect("the import runs");

    assert_eq!(outcome.import_set.status, "succeeded_with_errors");
    let products = server
        .request(reqwest::Method::GET, "/v1/catalog/products")
        .header("Stripe-Account", &account)
        .send()
        .await
        .expect("request sent");
    let body: serde_json::Value = products.json().await.expect("JSON");
    assert_eq!(body["data"].as_array().map(Vec::len), Some(0), "{body}");
}

#[tokio::test]
async fn a_file_with_only_a_header_fails_with_its_reason() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("empty.csv");
    std::fs::write(
        &file,
        "id,title,description,link,brand,image_link,availability,price\n",
    )
    .expect("the file is saved");

    let options = import_options(&server, &account, &file, dir.path());
    let outcome = run_import(options).await.expect("the import runs");

    assert_eq!(outcome.import_set.status, "failed");
    assert_eq!(outcome.exit_code(), 1);
    let reason = outcome.import_set.failed_reason.clone().unwrap_or_default();
    assert!(!reason.is_empty());
    let summary = outcome.summary_lines().join("\n");
    assert!(summary.contains(&format!("Failed: {reason}")), "{summary}");
}

#[tokio::test]
async fn an_unknown_account_is_a_request_error_with_the_server_message() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, _) = save_catalog(dir.path(), 10, 0.0);

    let options = import_options(&server, "acct_doesnotexist", &file, dir.path());
    let error = run_import(options)
        .await
        .expect_err("the upload is refused");

    let message = format!("{error:#}");
    assert!(message.contains("/v1/files"), "{message}");
    assert!(message.contains("404"), "{message}");
}

#[tokio::test]
async fn the_binary_imports_and_prints_a_summary() {
    let server = TestServer::start().await;
    let account = server.connected_account("Shop").await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, generated) = save_catalog(dir.path(), 200, 0.1);

    let output = tokio::process::Command::new(MERCATO)
        .arg("import")
        .arg(&file)
        .args(["--account", &account, "--report-dir"])
        .arg(dir.path())
        .env("MERCATO_API_KEY", &server.test_key)
        .env("MERCATO_API_BASE", &server.base)
        .output();
    let output = tokio::time::timeout(PATIENCE, output)
        .await
        .expect("the import ends in time")
        .expect("mercato runs");

    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(printed.contains("succeeded_with_errors"), "{printed}");
    let broken = generated.catalog.broken.len();
    assert!(
        printed.contains(&format!("{} succeeded, {broken} with errors", 200 - broken)),
        "{printed}"
    );
    let report_line = printed
        .lines()
        .find(|line| line.starts_with("Error report: "))
        .expect("the report's path is printed");
    let report = report_line.trim_start_matches("Error report: ");
    assert!(Path::new(report).is_file(), "{report}");
}

#[tokio::test]
async fn the_binary_exits_2_when_a_request_fails() {
    let server = TestServer::start().await;
    let dir = tempfile::tempdir().expect("temporary directory");
    let (file, _) = save_catalog(dir.path(), 10, 0.0);

    let output = tokio::process::Command::new(MERCATO)
        .arg("import")
        .arg(&file)
        .args(["--account", "acct_doesnotexist"])
        .args(["--api-key", &server.test_key, "--api-base", &server.base])
        .output()
        .await
        .expect("mercato runs");

    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.starts_with("Error: uploading "), "{message}");
}
