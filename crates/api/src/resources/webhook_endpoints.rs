//! `/v1/webhook_endpoints`: where an account's events are sent. The signing
//! secret is returned only when made (at creation and by `roll_secret`, an
//! extension) and kept sealed.

use axum::extract::{Path, State};
use axum::Json;
use mercato_core::ids::WebhookEndpointId;
use mercato_core::time::now_unix;
use mercato_events::outbound::{check_url, TargetPolicy};
use mercato_events::{render, signing};
use mercato_store::accounts::Metadata;
use mercato_store::webhooks::{self, WebhookEndpoint, DISABLED, ENABLED};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::expand::refuse_expansion;
use crate::form::Update;
use crate::list::{render_list, ListOptions};
use crate::metadata;
use crate::params::FormParams;
use crate::state::AppState;

/// Longest time a rolled secret stays valid beside the new one.
const MAX_ROLL_OVERLAP_SECONDS: i64 = 24 * 3600;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateParams {
    url: String,
    enabled_events: Vec<String>,
    #[serde(default)]
    connect: bool,
    description: Option<String>,
    metadata: Option<Metadata>,
    api_version: Option<String>,
    expand: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateParams {
    url: Option<String>,
    enabled_events: Option<Vec<String>>,
    #[serde(default)]
    description: Update<String>,
    #[serde(default)]
    metadata: Update<Metadata>,
    disabled: Option<bool>,
    expand: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RollParams {
    /// Seconds the old secret stays valid (0 to 86400).
    expires_in: Option<i64>,
}

/// `POST /v1/webhook_endpoints`
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: CreateParams = params.into_typed()?;
    refuse_expansion(params.expand.clone())?;
    if params.connect && !caller.is_platform() {
        return Err(ApiError::invalid_param(
            "connect",
            "Only a platform can make a connect endpoint (one that receives its connected accounts' events).",
        ));
    }
    let now = now_unix();
    let secret = signing::generate_secret();
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::generate(),
        account_id: caller.account.id.clone(),
        livemode: caller.livemode,
        url: checked_url(&state, caller.livemode, &params.url)?,
        description: params.description.filter(|text| !text.is_empty()),
        enabled_events: checked_events(params.enabled_events)?,
        connect: params.connect,
        api_version: checked_api_version(params.api_version)?,
        metadata: metadata::for_create(params.metadata)?,
        status: ENABLED.to_owned(),
        secret_sealed: state.secrets.seal(&secret),
        previous_secret_sealed: None,
        previous_secret_expires_at: None,
        failing_since: None,
        disabled_reason: None,
        created: now,
        updated: now,
    };

    let mut tx = state.db.write().await?;
    webhooks::insert(tx.conn(), &endpoint).await?;
    tx.commit().await?;
    tracing::info!(target: "mercato::webhooks", endpoint = %endpoint.id, connect = endpoint.connect, "webhook endpoint created");
    Ok(Json(render::endpoint(&endpoint, Some(&secret))))
}

/// `GET /v1/webhook_endpoints/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let endpoint = owned_endpoint(&state, &caller, &id).await?;
    Ok(Json(render::endpoint(&endpoint, None)))
}

/// `GET /v1/webhook_endpoints`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    FormParams(params).expect_no_options()?;
    let page = webhooks::list(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &options.page,
    )
    .await?;
    Ok(Json(render_list(
        "/v1/webhook_endpoints",
        page,
        |endpoint| render::endpoint(&endpoint, None),
    )))
}

/// `POST /v1/webhook_endpoints/{id}`
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: UpdateParams = params.into_typed()?;
    refuse_expansion(params.expand.clone())?;
    let mut endpoint = owned_endpoint(&state, &caller, &id).await?;

    if let Some(url) = &params.url {
        endpoint.url = checked_url(&state, caller.livemode, url)?;
    }
    if let Some(enabled_events) = params.enabled_events {
        endpoint.enabled_events = checked_events(enabled_events)?;
    }
    endpoint.description = params
        .description
        .apply(endpoint.description.take())
        .filter(|text| !text.is_empty());
    endpoint.metadata = metadata::apply_update(&endpoint.metadata, params.metadata)?;
    match params.disabled {
        Some(true) => endpoint.status = DISABLED.to_owned(),
        Some(false) => {
            endpoint.status = ENABLED.to_owned();
            endpoint.failing_since = None;
            endpoint.disabled_reason = None;
        }
        None => {}
    }
    endpoint.updated = now_unix();

    let mut tx = state.db.write().await?;
    webhooks::update(tx.conn(), &endpoint).await?;
    tx.commit().await?;
    Ok(Json(render::endpoint(&endpoint, None)))
}

/// `DELETE /v1/webhook_endpoints/{id}`
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let endpoint = owned_endpoint(&state, &caller, &id).await?;
    let mut tx = state.db.write().await?;
    webhooks::delete(tx.conn(), &endpoint.id, now_unix()).await?;
    tx.commit().await?;
    Ok(Json(
        json!({ "id": endpoint.id, "object": "webhook_endpoint", "deleted": true }),
    ))
}

/// `POST /v1/webhook_endpoints/{id}/roll_secret` (an extension): a new
/// secret; the old one keeps signing for `expires_in` seconds (at most 24 h).
pub async fn roll_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: RollParams = params.into_typed()?;
    let overlap = params.expires_in.unwrap_or(0);
    if !(0..=MAX_ROLL_OVERLAP_SECONDS).contains(&overlap) {
        return Err(ApiError::invalid_param(
            "expires_in",
            format!("Invalid expires_in: the old secret may stay valid from 0 to {MAX_ROLL_OVERLAP_SECONDS} seconds."),
        ));
    }
    let mut endpoint = owned_endpoint(&state, &caller, &id).await?;
    let now = now_unix();
    let secret = signing::generate_secret();
    endpoint.previous_secret_sealed = Some(endpoint.secret_sealed.clone());
    endpoint.previous_secret_expires_at = Some(now + overlap);
    endpoint.secret_sealed = state.secrets.seal(&secret);
    endpoint.updated = now;

    let mut tx = state.db.write().await?;
    webhooks::update(tx.conn(), &endpoint).await?;
    tx.commit().await?;
    tracing::info!(target: "mercato::webhooks", endpoint = %endpoint.id, overlap, "webhook secret rolled");
    Ok(Json(render::endpoint(&endpoint, Some(&secret))))
}

/// `GET /v1/webhook_endpoints/{id}/attempts` (an extension)
pub async fn attempts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    FormParams(params).expect_no_options()?;
    let endpoint = owned_endpoint(&state, &caller, &id).await?;
    let page = webhooks::list_attempts(state.db.pool(), &endpoint.id, &options.page).await?;
    let url = format!("/v1/webhook_endpoints/{}/attempts", endpoint.id);
    Ok(Json(render_list(&url, page, |attempt| {
        render::attempt(&attempt)
    })))
}

async fn owned_endpoint(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<WebhookEndpoint, ApiError> {
    webhooks::get(state.db.pool(), caller.account_id(), caller.livemode, id)
        .await?
        .ok_or_else(|| ApiError::missing("webhook_endpoint", id))
}

fn checked_url(state: &AppState, livemode: bool, url: &str) -> Result<String, ApiError> {
    let policy = TargetPolicy::for_mode(livemode, state.config.webhook_allow_private_targets);
    check_url(url, policy)
        .map(|_| url.to_owned())
        .map_err(|error| {
            ApiError::invalid_param("url", format!("Invalid URL: {error}."))
                .with_code("url_invalid")
        })
}

fn checked_events(enabled_events: Vec<String>) -> Result<Vec<String>, ApiError> {
    if enabled_events.is_empty() {
        return Err(ApiError::invalid_param(
            "enabled_events",
            "enabled_events must name at least one event type, or '*' for all.",
        ));
    }
    for event_type in &enabled_events {
        let well_formed = event_type == "*"
            || (event_type.contains('.')
                && event_type.split('.').all(|part| {
                    !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                }));
        if !well_formed {
            return Err(ApiError::invalid_param(
                "enabled_events",
                format!(
                    "Invalid event type '{event_type}': use names such as account.updated, or '*'."
                ),
            ));
        }
    }
    Ok(enabled_events)
}

fn checked_api_version(given: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(version) = given.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let date = version.split('.').next().unwrap_or_default();
    let shaped = date.len() == 10
        && date.bytes().enumerate().all(|(index, byte)| {
            if index == 4 || index == 7 {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        });
    if shaped {
        Ok(Some(version))
    } else {
        Err(ApiError::invalid_param(
            "api_version",
            format!("Invalid API version: {version}"),
        ))
    }
}
