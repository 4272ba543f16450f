//! `mercato import FILE --account acct_...`: imports a catalog feed into a
//! connected account the way a platform's own code would, over the public
//! API:
//!
//! 1. `POST /v1/files` (multipart, `purpose=data_management_manual_upload`),
//!    the file streamed from disk, never read whole into memory;
//! 2. `POST /v1/data_management/import_sets` with `file`,
//!    `standard_data_format`, and the extensions `mode=replace` and
//!    `validate_only=true` when asked for;
//! 3. `GET /v1/data_management/import_sets/{id}` every 250 ms until the
//!    status is no longer `pending`, showing the rows processed;
//! 4. the error and warning reports, when the ImportSet has them,
//!    downloaded from `/v1/files/{id}/contents` as
//!    `<impset id>-errors.csv` and `<impset id>-warnings.csv`.
//!
//! Every call carries `Stripe-Account`; the ImportSet calls also carry the
//! `Stripe-Version` of the data management beta. The command exits 0 when
//! the ImportSet succeeded (with or without row errors), 1 when it failed,
//! and 2 when a request could not be made or was refused.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use futures_util::{StreamExt, TryStreamExt};
use mercato_catalog::FeedFormat;
use reqwest::multipart::{Form, Part};
use reqwest::{Body, Method, RequestBuilder};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use crate::client::api::{checked, ApiClient, ApiError};
use crate::client::import_progress::{
    group_thousands, rows_per_second, upload_bar, ImportSpinner, ProgressDisplay,
};

/// The ImportSet endpoints (a Stripe beta).
pub const IMPORT_SETS_PATH: &str = "/v1/data_management/import_sets";
/// The API version the data management beta asks for.
pub const STRIPE_VERSION: &str = "2025-09-30.clover;udap_beta=v1";
const UPLOAD_PATH: &str = "/v1/files";
const UPLOAD_PURPOSE: &str = "data_management_manual_upload";
/// How often the ImportSet is looked at while it is pending.
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// How many failed looks in a row, each one retrying could fix, are borne.
const POLL_RETRIES: u32 = 8;
/// How long one ordinary call (not the upload) may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// The size of the chunks the file is read and sent in.
const UPLOAD_CHUNK_BYTES: usize = 256 * 1024;

/// What the ImportSet does with products the file does not name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportMode {
    /// Leave them as they are.
    Upsert,
    /// Withdraw them (`mode=replace`).
    Replace,
}

/// What `mercato import` was asked to do.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    pub api_base: String,
    pub api_key: String,
    /// The feed, CSV or TSV.
    pub file: PathBuf,
    /// The connected account the catalog belongs to (`acct_...`).
    pub account: String,
    pub format: FeedFormat,
    pub mode: ImportMode,
    /// Check every row and write the reports, change nothing.
    pub validate_only: bool,
    /// Where the reports are saved.
    pub report_dir: PathBuf,
    pub progress: ProgressDisplay,
}

/// An ImportSet's counts, from its `result`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub rows_processed: u64,
    pub successes: u64,
    pub errors: u64,
    pub warnings: u64,
    pub objects_created: u64,
    pub objects_updated: u64,
    pub objects_deleted: u64,
}

/// An ImportSet as last seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportSetState {
    pub id: String,
    /// `pending`, `succeeded`, `succeeded_with_errors` or `failed`.
    pub status: String,
    pub failed_reason: Option<String>,
    pub counts: ImportCounts,
    pub errors_file: Option<String>,
    pub warnings_file: Option<String>,
}

/// How an import ended.
#[derive(Clone, Debug)]
pub struct ImportOutcome {
    /// The uploaded file (`file_...`).
    pub file_id: String,
    pub import_set: ImportSetState,
    pub validate_only: bool,
    /// Where the error report was saved, when there is one.
    pub error_report: Option<PathBuf>,
    pub warning_report: Option<PathBuf>,
    /// From the creation of the ImportSet to its end.
    pub elapsed: Duration,
}

impl ImportOutcome {
    /// 0 when the ImportSet succeeded, with or without row errors; 1 when it
    /// failed (or ended in a status this client does not know).
    pub fn exit_code(&self) -> i32 {
        match self.import_set.status.as_str() {
            "succeeded" | "succeeded_with_errors" => 0,
            _ => 1,
        }
    }

    /// The lines printed at the end: status, counts, report paths.
    pub fn summary_lines(&self) -> Vec<String> {
        let import_set = &self.import_set;
        let counts = &import_set.counts;
        let mut lines = vec![format!(
            "ImportSet {} {} (file {})",
            import_set.id, import_set.status, self.file_id
        )];
        if let Some(reason) = &import_set.failed_reason {
            lines.push(format!("Failed: {reason}"));
        }
        lines.push(format!(
            "Rows: {} processed, {} succeeded, {} with errors, {} with warnings ({} rows/s)",
            group_thousands(counts.rows_processed),
            group_thousands(counts.successes),
            group_thousands(counts.errors),
            group_thousands(counts.warnings),
            group_thousands(rows_per_second(counts.rows_processed, self.elapsed)),
        ));
        lines.push(self.objects_line());
        if let Some(path) = &self.error_report {
            lines.push(format!("Error report: {}", path.display()));
        }
        if let Some(path) = &self.warning_report {
            lines.push(format!("Warnings report: {}", path.display()));
        }
        lines
    }

    fn objects_line(&self) -> String {
        let counts = &self.import_set.counts;
        let changes = format!(
            "{} created, {} updated, {} deleted",
            group_thousands(counts.objects_created),
            group_thousands(counts.objects_updated),
            group_thousands(counts.objects_deleted),
        );
        if self.validate_only {
            return format!("Products: none changed (validate only; would be {changes})");
        }
        format!("Products: {changes}")
    }
}

/// Why the import could not start.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("--account {0:?} is not an account id (acct_...)")]
    BadAccount(String),
    #[error("the ImportSet {id} answered without the field {field:?}")]
    MissingField { id: String, field: &'static str },
}

/// Uploads the file, creates the ImportSet, follows it to its end and
/// downloads its reports. An `Err` is a request that could not be made or
/// was refused; a failed ImportSet is an `Ok` with status `failed`.
pub async fn import(options: ImportOptions) -> anyhow::Result<ImportOutcome> {
    if !options.account.starts_with("acct_") {
        return Err(ImportError::BadAccount(options.account.clone()).into());
    }
    let api = ApiClient::new(&options.api_base, &options.api_key)?;

    let file_id = upload(&api, &options)
        .await
        .with_context(|| format!("uploading {}", options.file.display()))?;
    let created = create_import_set(&api, &options, &file_id)
        .await
        .context("creating the ImportSet")?;
    let spinner = ImportSpinner::start(options.progress, &created.id);
    let finished = follow(&api, &options.account, created, &spinner).await;
    let elapsed = spinner.elapsed();
    spinner.finish();
    let import_set = finished.context("following the ImportSet")?;

    let error_report = save_report(&api, &options, &import_set, ReportKind::Errors).await?;
    let warning_report = save_report(&api, &options, &import_set, ReportKind::Warnings).await?;
    Ok(ImportOutcome {
        file_id,
        import_set,
        validate_only: options.validate_only,
        error_report,
        warning_report,
        elapsed,
    })
}

/// `POST /v1/files`, the file streamed from disk behind a progress bar.
async fn upload(api: &ApiClient, options: &ImportOptions) -> anyhow::Result<String> {
    let file = tokio::fs::File::open(&options.file)
        .await
        .context("cannot open the file")?;
    let length = file.metadata().await.context("cannot read the file")?.len();

    let bar = upload_bar(options.progress, length);
    let counted_bar = bar.clone();
    let chunks = ReaderStream::with_capacity(file, UPLOAD_CHUNK_BYTES)
        .inspect_ok(move |chunk| counted_bar.inc(chunk.len() as u64));
    let part = Part::stream_with_length(Body::wrap_stream(chunks), length)
        .file_name(file_name(&options.file))
        .mime_str(content_type(&options.file))?;
    let form = Form::new()
        .text("purpose", UPLOAD_PURPOSE)
        .part("file", part);

    let request = api
        .request(Method::POST, UPLOAD_PATH, Some(&options.account))
        .multipart(form);
    let uploaded = send_for_json(api, Method::POST, UPLOAD_PATH, request).await;
    bar.finish_and_clear();
    string_field(&uploaded?, "id", UPLOAD_PATH)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "catalog.csv".to_owned())
}

/// `text/tab-separated-values` for a `.tsv` or `.tab` file, else `text/csv`.
pub fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .map(|extension| extension.to_string_lossy().to_ascii_lowercase());
    match extension.as_deref() {
        Some("tsv" | "tab") => "text/tab-separated-values",
        _ => "text/csv",
    }
}

/// `POST /v1/data_management/import_sets`.
async fn create_import_set(
    api: &ApiClient,
    options: &ImportOptions,
    file_id: &str,
) -> anyhow::Result<ImportSetState> {
    let mut pairs = vec![
        ("file", file_id),
        ("standard_data_format", options.format.as_str()),
    ];
    if options.mode == ImportMode::Replace {
        pairs.push(("mode", "replace"));
    }
    if options.validate_only {
        pairs.push(("validate_only", "true"));
    }

    let request = beta_request(api, Method::POST, IMPORT_SETS_PATH, &options.account).form(&pairs);
    let created = send_for_json(api, Method::POST, IMPORT_SETS_PATH, request).await?;
    ImportSetState::from_json(&created)
}

/// Looks at the ImportSet every [`POLL_INTERVAL`] until it is no longer
/// pending. A look that fails in a way retrying can fix is retried.
async fn follow(
    api: &ApiClient,
    account: &str,
    mut import_set: ImportSetState,
    spinner: &ImportSpinner,
) -> anyhow::Result<ImportSetState> {
    let path = format!("{IMPORT_SETS_PATH}/{}", import_set.id);
    let mut failed_looks = 0;
    while import_set.status == "pending" {
        spinner.update(&import_set.id, import_set.counts.rows_processed);
        tokio::time::sleep(POLL_INTERVAL).await;

        let request = beta_request(api, Method::GET, &path, account);
        match send_for_json(api, Method::GET, &path, request).await {
            Ok(body) => {
                import_set = ImportSetState::from_json(&body)?;
                failed_looks = 0;
            }
            Err(error) if !error.is_permanent() && failed_looks < POLL_RETRIES => {
                failed_looks += 1;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok(import_set)
}

/// A request as `account` with the beta's `Stripe-Version`.
fn beta_request(api: &ApiClient, method: Method, path: &str, account: &str) -> RequestBuilder {
    api.request(method, path, Some(account))
        .header("Stripe-Version", STRIPE_VERSION)
}

/// Sends `request`; the answer's JSON, or the server's error.
async fn send_for_json(
    api: &ApiClient,
    method: Method,
    path: &str,
    request: RequestBuilder,
) -> Result<Value, ApiError> {
    let response = api.send(request, path).await?;
    let response = checked(response, &method, path).await?;
    response.json().await.map_err(|_| ApiError::BadBody {
        method,
        path: path.to_owned(),
    })
}

fn string_field(body: &Value, field: &'static str, path: &str) -> anyhow::Result<String> {
    body[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the answer to {path} has no {field:?}"))
}

impl ImportSetState {
    /// Reads a `data_management.import_set` object.
    pub fn from_json(body: &Value) -> anyhow::Result<ImportSetState> {
        let id = string_field(body, "id", IMPORT_SETS_PATH)?;
        let Some(status) = body["status"].as_str() else {
            return Err(ImportError::MissingField {
                id,
                field: "status",
            }
            .into());
        };
        let result = &body["result"];
        let count = |pointer: &str| result.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
        let file = |pointer: &str| {
            result
                .pointer(pointer)
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(ImportSetState {
            status: status.to_owned(),
            failed_reason: body["failed_reason"].as_str().map(str::to_owned),
            counts: ImportCounts {
                rows_processed: count("/rows_processed"),
                successes: count("/successes/row_count"),
                errors: count("/errors/row_count"),
                warnings: count("/warnings/row_count"),
                objects_created: count("/objects_created"),
                objects_updated: count("/objects_updated"),
                objects_deleted: count("/objects_deleted"),
            },
            errors_file: file("/errors/file"),
            warnings_file: file("/warnings/file"),
            id,
        })
    }
}

/// The two reports an ImportSet can have.
#[derive(Clone, Copy, Debug)]
enum ReportKind {
    Errors,
    Warnings,
}

/// Downloads one report into the report directory; its path, or `None`
/// when the ImportSet has no such report.
async fn save_report(
    api: &ApiClient,
    options: &ImportOptions,
    import_set: &ImportSetState,
    kind: ReportKind,
) -> anyhow::Result<Option<PathBuf>> {
    let (file_id, suffix) = match kind {
        ReportKind::Errors => (&import_set.errors_file, "errors"),
        ReportKind::Warnings => (&import_set.warnings_file, "warnings"),
    };
    let Some(file_id) = file_id else {
        return Ok(None);
    };

    tokio::fs::create_dir_all(&options.report_dir)
        .await
        .with_context(|| format!("cannot create {}", options.report_dir.display()))?;
    let path = options
        .report_dir
        .join(format!("{}-{suffix}.csv", import_set.id));
    download(api, &options.account, file_id, &path)
        .await
        .with_context(|| format!("downloading the {suffix} report {file_id}"))?;
    Ok(Some(path))
}

/// `GET /v1/files/{id}/contents`, streamed into `path`.
async fn download(
    api: &ApiClient,
    account: &str,
    file_id: &str,
    path: &Path,
) -> anyhow::Result<()> {
    let contents_path = format!("{UPLOAD_PATH}/{file_id}/contents");
    let request = api
        .request(Method::GET, &contents_path, Some(account))
        .timeout(CALL_TIMEOUT);
    let response = api.send(request, &contents_path).await?;
    let response = checked(response, &Method::GET, &contents_path).await?;

    let mut file = tokio::fs::File::create(path)
        .await
        .with_context(|| format!("cannot create {}", path.display()))?;
    let mut chunks = response.bytes_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.context("the download broke off")?;
        file.write_all(&chunk)
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    file.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type(Path::new("feed.csv")), "text/csv");
        assert_eq!(
            content_type(Path::new("feed.TSV")),
            "text/tab-separated-values"
        );
        assert_eq!(
            content_type(Path::new("feed.tab")),
            "text/tab-separated-values"
        );
        assert_eq!(content_type(Path::new("feed")), "text/csv");
    }

    #[test]
    fn an_import_set_is_read_from_its_json() {
        let body = json!({
            "id": "impset_1",
            "object": "data_management.import_set",
            "status": "succeeded_with_errors",
            "failed_reason": null,
            "result": {
                "rows_processed": 10,
                "successes": {"row_count": 8},
                "errors": {"row_count": 2, "file": "file_e"},
                "warnings": {"row_count": 1, "file": null},
                "objects_created": 7,
                "objects_updated": 1,
                "objects_deleted": 0
            }
        });
        let state = ImportSetState::from_json(&body).expect("an import set");
        assert_eq!(state.status, "succeeded_with_errors");
        assert_eq!(state.counts.successes, 8);
        assert_eq!(state.counts.errors, 2);
        assert_eq!(state.errors_file.as_deref(), Some("file_e"));
        assert_eq!(state.warnings_file, None);
    }

    #[test]
    fn a_pending_import_set_without_result_counts_zero() {
        let body = json!({"id": "impset_2", "status": "pending", "result": null});
        let state = ImportSetState::from_json(&body).expect("an import set");
        assert_eq!(state.counts, ImportCounts::default());
    }
}
