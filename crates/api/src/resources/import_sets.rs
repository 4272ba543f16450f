//! `/v1/data_management/import_sets`: a platform asks Mercato to import a
//! catalog file it uploaded. Creating one only queues it; the import worker
//! (`mercato-imports`) does the work, and `status` and `result` show how far
//! it got.

use axum::extract::{Path, State};
use axum::Json;
use mercato_core::ids::ImportSetId;
use mercato_core::time::{now_unix, now_unix_millis};
use mercato_imports::render;
use mercato_store::import_sets::{self, ImportSet, ImportSetFilter, ARCHIVED, PENDING};
use mercato_store::{files, jobs};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::events;
use crate::expand::refuse_expansion;
use crate::list::{render_list, ListOptions};
use crate::params::FormParams;
use crate::state::AppState;

/// The purpose an imported file must have.
const IMPORT_PURPOSE: &str = "data_management_manual_upload";
const FORMATS: &[&str] = &["product_catalog_feed", "inventory_feed"];
const STATUSES: &[&str] = &[
    "pending",
    "succeeded",
    "succeeded_with_errors",
    "failed",
    "pending_archive",
    "archived",
];

#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
enum ImportMode {
    Upsert,
    Replace,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateParams {
    file: String,
    standard_data_format: String,
    mode: Option<ImportMode>,
    #[serde(default)]
    validate_only: bool,
    expand: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFilters {
    status: Option<String>,
    standard_data_format: Option<String>,
}

/// `POST /v1/data_management/import_sets`
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: CreateParams = params.into_typed()?;
    refuse_expansion(params.expand.clone())?;
    let format = checked_format(&params.standard_data_format)?;
    let file = files::get(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &params.file,
    )
    .await?
    .ok_or_else(|| ApiError::missing("file", &params.file).with_param("file"))?;
    if file.purpose != IMPORT_PURPOSE {
        return Err(ApiError::invalid_param(
            "file",
            format!(
                "The file {} has purpose {}; catalogs must be uploaded with purpose {IMPORT_PURPOSE}.",
                file.id, file.purpose
            ),
        ));
    }
    check_cadence(&state, &caller, format).await?;

    let now = now_unix();
    let import_set = ImportSet {
        seq: 0,
        id: ImportSetId::generate(),
        account_id: caller.account.id.clone(),
        livemode: caller.livemode,
        file_id: file.id.to_string(),
        standard_data_format: format.to_owned(),
        mode: if params.mode == Some(ImportMode::Replace) {
            "replace"
        } else {
            "upsert"
        }
        .to_owned(),
        validate_only: params.validate_only,
        status: PENDING.to_owned(),
        failed_reason: None,
        result: render::empty_result(),
        created: now,
        updated: now,
    };
    let mut tx = state.db.write().await?;
    let import_set = import_sets::insert(tx.conn(), &import_set).await?;
    let payload = json!({ "import_set_id": import_set.id });
    jobs::enqueue(
        &mut tx,
        import_sets::IMPORT_JOB,
        &payload,
        now_unix_millis(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(target: "mercato::imports", import_set = %import_set.id, format, "import queued");
    Ok(Json(render::import_set(&import_set)))
}

fn checked_format(given: &str) -> Result<&'static str, ApiError> {
    FORMATS
        .iter()
        .copied()
        .find(|format| *format == given)
        .ok_or_else(|| {
            ApiError::invalid_param(
                "standard_data_format",
                format!(
                    "Invalid standard_data_format: must be one of {}",
                    FORMATS.join(", ")
                ),
            )
        })
}

/// Live mode accepts one ImportSet per account and format per cadence.
async fn check_cadence(state: &AppState, caller: &Caller, format: &str) -> Result<(), ApiError> {
    let cadence = i64::try_from(state.config.import_live_cadence_minutes.saturating_mul(60))
        .unwrap_or(i64::MAX);
    if !caller.livemode || cadence == 0 {
        return Ok(());
    }
    let Some(last) =
        import_sets::latest_created(state.db.pool(), caller.account_id(), true, format).await?
    else {
        return Ok(());
    };
    let next_allowed = last + cadence;
    let now = now_unix();
    if now >= next_allowed {
        return Ok(());
    }
    let mut error = ApiError::rate_limited(u64::try_from(next_allowed - now).unwrap_or(1));
    error.message = format!(
        "Live mode accepts one {format} import per account every {} minutes; the next one is allowed \
         at {next_allowed} (Unix time), in {} seconds.",
        state.config.import_live_cadence_minutes,
        next_allowed - now
    );
    Err(error)
}

/// `GET /v1/data_management/import_sets/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let import_set = owned(&state, &caller, &id).await?;
    Ok(Json(render::import_set(&with_live_progress(
        &state, import_set,
    ))))
}

/// A pending ImportSet with the progress its import published in this
/// process, which may be newer than the stored one (on SQLite the import's
/// transaction holds the only writer turn while it runs).
fn with_live_progress(state: &AppState, mut import_set: ImportSet) -> ImportSet {
    if import_set.status == PENDING {
        if let Some(progress) = state.db.live_progress_of(import_set.id.as_str()) {
            import_set.result = progress;
        }
    }
    import_set
}

/// `GET /v1/data_management/import_sets`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    let filters: ListFilters = FormParams(params).into_typed()?;
    if let Some(status) = filters
        .status
        .as_deref()
        .filter(|status| !STATUSES.contains(status))
    {
        return Err(ApiError::invalid_param(
            "status",
            format!(
                "Invalid status {status}: must be one of {}",
                STATUSES.join(", ")
            ),
        ));
    }
    if let Some(format) = &filters.standard_data_format {
        checked_format(format)?;
    }
    let filter = ImportSetFilter {
        status: filters.status,
        standard_data_format: filters.standard_data_format,
    };
    let page = import_sets::list(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &filter,
        &options.page,
    )
    .await?;
    Ok(Json(render_list(
        "/v1/data_management/import_sets",
        page,
        |import_set| render::import_set(&with_live_progress(&state, import_set)),
    )))
}

/// `POST /v1/data_management/import_sets/{id}/archive`: deletes the reports;
/// the record and the catalog stay.
pub async fn archive(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let mut import_set = owned(&state, &caller, &id).await?;
    if import_set.status == PENDING {
        return Err(ApiError::invalid(
            "This ImportSet is still being processed; archive it once it has finished.",
        ));
    }
    if import_set.status == ARCHIVED {
        return Ok(Json(render::import_set(&import_set)));
    }

    let report_ids: Vec<String> = ["errors", "warnings"]
        .iter()
        .filter_map(|kind| import_set.result[kind]["file"].as_str().map(str::to_owned))
        .collect();
    let before = render::import_set(&import_set);
    import_set.status = ARCHIVED.to_owned();
    import_set.updated = now_unix();
    for kind in ["errors", "warnings"] {
        import_set.result[kind]["file"] = Value::Null;
    }
    let after = render::import_set(&import_set);

    let mut tx = state.db.write().await?;
    let mut blob_keys = Vec::new();
    for report_id in &report_ids {
        if let Some(key) = files::delete(tx.conn(), caller.account_id(), report_id).await? {
            blob_keys.push(key);
        }
    }
    import_sets::update_outcome(
        tx.conn(),
        &import_set.id,
        ARCHIVED,
        import_set.failed_reason.as_deref(),
        &import_set.result,
        import_set.updated,
    )
    .await?;
    let previous = events::previous_attributes(&before, &after);
    events::emit(
        &mut tx,
        &caller,
        &caller.account,
        "data_management.import_set.archived",
        after.clone(),
        previous,
    )
    .await?;
    tx.commit().await?;
    for key in blob_keys {
        state.blobs.delete(&key).await.ok();
    }
    Ok(Json(after))
}

async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<ImportSet, ApiError> {
    import_sets::get(state.db.pool(), caller.account_id(), caller.livemode, id)
        .await?
        .ok_or_else(|| ApiError::missing("data_management.import_set", id))
}
