//! `/v1/files`: uploads streamed to the blob store, and their contents
//! streamed back.
//!
//! An upload is checked while it streams: its size against its purpose's
//! limit, and its first bytes against the type it declares (a ZIP sent as
//! `text/csv` is refused). Nothing is stored unless every check passes; the
//! partial blob is deleted otherwise.

use axum::body::Body;
use axum::extract::multipart::{Field, Multipart, MultipartError};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mercato_core::ids::FileId;
use mercato_core::time::now_unix;
use mercato_store::blobs::{BlobWriter, FinishedBlob};
use mercato_store::files::{self, StoredFile};
use serde::Deserialize;
use serde_json::{json, Value};
use tokio_util::io::ReaderStream;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::events;
use crate::list::{render_list, ListOptions};
use crate::params::FormParams;
use crate::state::AppState;

mod sniff;

use sniff::FileKind;

const MB: u64 = 1024 * 1024;

/// What a purpose accepts; limits as in Stripe's file upload guide.
struct Purpose {
    name: &'static str,
    max_bytes: u64,
    kinds: &'static [FileKind],
}

const PURPOSES: &[Purpose] = &[
    Purpose {
        name: "data_management_manual_upload",
        max_bytes: 200 * MB,
        kinds: &[FileKind::Csv, FileKind::Tsv],
    },
    Purpose {
        name: "dispute_evidence",
        max_bytes: 5 * MB,
        kinds: &[FileKind::Pdf, FileKind::Jpeg, FileKind::Png],
    },
    Purpose {
        name: "business_logo",
        max_bytes: 512 * 1024,
        kinds: &[FileKind::Jpeg, FileKind::Png, FileKind::Gif],
    },
    Purpose {
        name: "business_icon",
        max_bytes: 512 * 1024,
        kinds: &[FileKind::Jpeg, FileKind::Png, FileKind::Gif],
    },
];

/// The largest limit of any purpose: the cap while the purpose is unknown.
const MAX_UPLOAD: u64 = 200 * MB;

/// Longest text field (`purpose`) read from a multipart body.
const MAX_TEXT_FIELD: usize = 1024;

fn purpose_named(name: &str) -> Result<&'static Purpose, ApiError> {
    PURPOSES
        .iter()
        .find(|purpose| purpose.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = PURPOSES.iter().map(|purpose| purpose.name).collect();
            ApiError::invalid_param(
                "purpose",
                format!("Invalid purpose: must be one of {}", names.join(", ")),
            )
        })
}

/// The file part of an upload, written to a committed blob.
struct UploadedPart {
    blob: FinishedBlob,
    kind: FileKind,
    filename: Option<String>,
}

/// `POST /v1/files`
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<Value>, ApiError> {
    let mut multipart = multipart.map_err(|_| {
        ApiError::invalid(
            "Invalid request: file uploads must be sent as multipart/form-data with the fields \
             `purpose` and `file` (curl -F purpose=... -F file=@path).",
        )
    })?;
    let (purpose, part) = read_upload(&state, &mut multipart).await?;

    let file = StoredFile {
        id: FileId::generate(),
        account_id: caller.account.id.clone(),
        livemode: caller.livemode,
        purpose: purpose.name.to_owned(),
        filename: part.filename,
        title: None,
        file_type: part.kind.short_name().to_owned(),
        mime_type: part.kind.mime().to_owned(),
        size: i64::try_from(part.blob.size).unwrap_or(i64::MAX),
        sha256: part.blob.sha256.clone(),
        blob_key: part.blob.key.clone(),
        created: now_unix(),
        expires_at: None,
    };
    let rendered = render(&file, &base_url(&state, &headers));
    if let Err(error) = insert_file(&state, &caller, &file, &rendered).await {
        state.blobs.delete(&part.blob.key).await.ok();
        return Err(error);
    }
    tracing::info!(
        target: "mercato::files",
        file = %file.id,
        purpose = purpose.name,
        size = file.size,
        "file uploaded"
    );
    Ok(Json(rendered))
}

/// Stores the file's row and its `file.created` event together.
async fn insert_file(
    state: &AppState,
    caller: &Caller,
    file: &StoredFile,
    rendered: &Value,
) -> Result<(), ApiError> {
    let mut tx = state.db.write().await?;
    files::insert(tx.conn(), file).await?;
    events::emit(
        &mut tx,
        caller,
        &caller.account,
        "file.created",
        rendered.clone(),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Reads every field; the file part is streamed into a blob. On any error
/// the blob is removed before returning.
async fn read_upload(
    state: &AppState,
    multipart: &mut Multipart,
) -> Result<(&'static Purpose, UploadedPart), ApiError> {
    let mut purpose: Option<&'static Purpose> = None;
    let mut part: Option<UploadedPart> = None;

    let outcome = read_fields(state, multipart, &mut purpose, &mut part).await;
    let checked = outcome.and_then(|()| check_complete(purpose, part.as_ref()));
    match (checked, part) {
        (Ok(purpose), Some(part)) => Ok((purpose, part)),
        (Err(error), Some(part)) => {
            state.blobs.delete(&part.blob.key).await.ok();
            Err(error)
        }
        (Ok(_), None) => Err(ApiError::internal()),
        (Err(error), None) => Err(error),
    }
}

async fn read_fields(
    state: &AppState,
    multipart: &mut Multipart,
    purpose: &mut Option<&'static Purpose>,
    part: &mut Option<UploadedPart>,
) -> Result<(), ApiError> {
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "purpose" => *purpose = Some(purpose_named(read_text(field).await?.trim())?),
            "file" if part.is_some() => {
                return Err(ApiError::invalid_param(
                    "file",
                    "Only one file may be uploaded per request.",
                ))
            }
            "file" => *part = Some(stream_file(state, field, *purpose).await?),
            "" => {
                return Err(ApiError::invalid(
                    "Invalid multipart body: a part has no name.",
                ))
            }
            _ => {
                return Err(
                    ApiError::invalid(format!("Received unknown parameter: {name}"))
                        .with_param(name)
                        .with_code("parameter_unknown"),
                )
            }
        }
    }
    Ok(())
}

fn check_complete(
    purpose: Option<&'static Purpose>,
    part: Option<&UploadedPart>,
) -> Result<&'static Purpose, ApiError> {
    let purpose = purpose.ok_or_else(|| {
        ApiError::invalid("Missing required param: purpose.")
            .with_param("purpose")
            .with_code("parameter_missing")
    })?;
    let part = part.ok_or_else(|| {
        ApiError::invalid("Missing required param: file.")
            .with_param("file")
            .with_code("parameter_missing")
    })?;
    check_size(purpose, part.blob.size)?;
    check_kind(purpose, part.kind)?;
    Ok(purpose)
}

async fn read_text(mut field: Field<'_>) -> Result<String, ApiError> {
    let name = field.name().unwrap_or_default().to_owned();
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_TEXT_FIELD {
            return Err(ApiError::invalid_param(
                &name,
                format!("Invalid {name}: the value is too long."),
            ));
        }
    }
    String::from_utf8(bytes)
        .map_err(|_| ApiError::invalid_param(&name, format!("Invalid {name}: not UTF-8.")))
}

/// Streams the file part into a new blob, sniffing its head and counting
/// its size as it goes.
async fn stream_file(
    state: &AppState,
    mut field: Field<'_>,
    purpose: Option<&'static Purpose>,
) -> Result<UploadedPart, ApiError> {
    let filename = field.file_name().map(sanitize_filename);
    let declared = field.content_type().map(str::to_owned);
    let limit = purpose.map_or(MAX_UPLOAD, |purpose| purpose.max_bytes);
    let mut writer = state.blobs.writer().await?;

    let result = copy_field(
        &mut field,
        &mut writer,
        limit,
        purpose,
        declared.as_deref(),
        filename.as_deref(),
    )
    .await;
    match result {
        Ok(kind) => {
            let blob = writer.commit().await?;
            Ok(UploadedPart {
                blob,
                kind,
                filename,
            })
        }
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

async fn copy_field(
    field: &mut Field<'_>,
    writer: &mut BlobWriter,
    limit: u64,
    purpose: Option<&'static Purpose>,
    declared: Option<&str>,
    filename: Option<&str>,
) -> Result<FileKind, ApiError> {
    let mut head = Vec::with_capacity(sniff::HEAD_LEN);
    let mut kind = None;
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if writer.size() + chunk.len() as u64 > limit {
            return Err(too_large(purpose, limit));
        }
        if kind.is_none() {
            head.extend_from_slice(&chunk);
            if head.len() >= sniff::HEAD_LEN {
                kind = Some(sniff::identify(declared, filename, &head, false)?);
            }
        }
        writer.write(&chunk).await?;
    }
    if writer.size() == 0 {
        return Err(
            ApiError::invalid_param("file", "The uploaded file is empty.").with_code("file_empty"),
        );
    }
    match kind {
        Some(kind) => Ok(kind),
        None => sniff::identify(declared, filename, &head, true),
    }
}

fn check_size(purpose: &Purpose, size: u64) -> Result<(), ApiError> {
    if size > purpose.max_bytes {
        Err(too_large(Some(purpose), purpose.max_bytes))
    } else {
        Ok(())
    }
}

fn check_kind(purpose: &Purpose, kind: FileKind) -> Result<(), ApiError> {
    if purpose.kinds.contains(&kind) {
        return Ok(());
    }
    let accepted: Vec<&str> = purpose.kinds.iter().map(|kind| kind.mime()).collect();
    Err(ApiError::invalid_param(
        "file",
        format!(
            "Files of type {} are not accepted for purpose {}; send one of: {}.",
            kind.mime(),
            purpose.name,
            accepted.join(", ")
        ),
    )
    .with_code("file_type_invalid"))
}

fn too_large(purpose: Option<&Purpose>, limit: u64) -> ApiError {
    let which = purpose.map_or("any purpose".to_owned(), |purpose| {
        format!("purpose {}", purpose.name)
    });
    ApiError::invalid_param(
        "file",
        format!(
            "The file is too large: files for {which} may be at most {} bytes.",
            limit
        ),
    )
    .with_code("file_too_large")
}

fn multipart_error(error: MultipartError) -> ApiError {
    ApiError::invalid(format!("Invalid multipart body: {}", error.body_text()))
}

fn sanitize_filename(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    last.chars().filter(|c| !c.is_control()).take(255).collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFilters {
    purpose: Option<String>,
}

/// `GET /v1/files/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let file = owned_file(&state, &caller, &id).await?;
    Ok(Json(render(&file, &base_url(&state, &headers))))
}

/// `GET /v1/files`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    let filters: ListFilters = FormParams(params).into_typed()?;
    if let Some(purpose) = &filters.purpose {
        purpose_named(purpose)?;
    }

    let page = files::list(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        filters.purpose.as_deref(),
        &options.page,
    )
    .await?;
    let base = base_url(&state, &headers);
    Ok(Json(render_list("/v1/files", page, |file| {
        render(&file, &base)
    })))
}

/// `GET /v1/files/{id}/contents`: the bytes, streamed.
pub async fn contents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let file = owned_file(&state, &caller, &id).await?;
    let blob = state.blobs.open_blob(&file.blob_key).await?;

    let mut response =
        Body::from_stream(ReaderStream::with_capacity(blob, 64 * 1024)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&file.mime_type) {
        headers.insert(header::CONTENT_TYPE, value);
    }
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(file.size));
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file.filename
            .as_deref()
            .unwrap_or(file.id.as_str())
            .replace(['"', '\\'], "_")
    );
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

async fn owned_file(state: &AppState, caller: &Caller, id: &str) -> Result<StoredFile, ApiError> {
    files::get(state.db.pool(), caller.account_id(), caller.livemode, id)
        .await?
        .ok_or_else(|| ApiError::missing("file", id))
}

/// The base URL for absolute links: the configured one, or the request's host.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .map_or_else(|| state.config.listen.to_string(), str::to_owned);
    format!("http://{host}")
}

/// Stripe's File object.
pub fn render(file: &StoredFile, base_url: &str) -> Value {
    json!({
        "id": file.id,
        "object": "file",
        "created": file.created,
        "expires_at": file.expires_at,
        "filename": file.filename,
        "links": {
            "object": "list",
            "data": [],
            "has_more": false,
            "url": format!("/v1/file_links?file={}", file.id),
        },
        "purpose": file.purpose,
        "size": file.size,
        "title": file.title,
        "type": file.file_type,
        "url": format!("{base_url}/v1/files/{}/contents", file.id),
    })
}
