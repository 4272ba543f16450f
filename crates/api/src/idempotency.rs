//! `Idempotency-Key` on POST requests: the first response is saved for
//! `idempotency_key_ttl_hours` per (account, mode, key) and replayed byte for
//! byte with `Idempotent-Replayed: true`.
//!
//! The request's fingerprint is the SHA-256 of its method, path and body (for
//! a multipart upload, whose boundary changes on every retry, its length and
//! media type stand in for the body). Reusing a key with another fingerprint
//! is an `idempotency_error`; reusing it while the first request runs is a
//! 409. Responses refused before any work was done (400, 401, 403, 404, 409,
//! 413, 429) are not saved, so the key can be used again with corrected
//! parameters. The handler runs in its own task so that a client hanging up
//! cannot stop it between its commit and the saving of its response.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_core::time::now_unix;
use mercato_store::idempotency::{self, Claim, ClaimClock, KeyScope, SavedResponse};
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::params::read_body;
use crate::state::AppState;

/// Longest key accepted.
const MAX_KEY_LEN: usize = 255;

/// Largest response saved for replay; POST responses are small JSON objects.
const MAX_SAVED_RESPONSE: usize = 4 * 1024 * 1024;

/// Middleware: claim, run, save; or replay.
pub async fn idempotent(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(key) = requested_key(&request)? else {
        return Ok(next.run(request).await);
    };
    let caller = request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(ApiError::internal)?;
    let scope = KeyScope {
        account_id: caller.account.id.clone(),
        livemode: caller.livemode,
    };
    let (request, fingerprint) = fingerprint(request, state.config.max_form_body_bytes).await?;

    let claim = idempotency::claim(&state.db, &scope, &key, &fingerprint, clock(&state)).await?;
    match claim {
        Claim::Replay(saved) => Ok(replay(saved)),
        Claim::InFlight => Err(ApiError::idempotency_in_flight()),
        Claim::Mismatch => Err(ApiError::idempotency_mismatch(&key)),
        Claim::Started => run_and_save(&state, &scope, &key, request, next).await,
    }
}

fn requested_key(request: &Request) -> Result<Option<String>, ApiError> {
    if request.method() != Method::POST {
        return Ok(None);
    }
    let Some(value) = request.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        ApiError::invalid("Idempotency-Key must be printable ASCII.")
            .with_code("idempotency_key_invalid")
    })?;
    if key.is_empty() {
        return Err(ApiError::invalid("Idempotency-Key must not be empty.")
            .with_code("idempotency_key_invalid"));
    }
    if key.len() > MAX_KEY_LEN {
        return Err(ApiError::invalid(format!(
            "Idempotency-Key is {} characters long; it may be at most {MAX_KEY_LEN}.",
            key.len()
        ))
        .with_code("idempotency_key_invalid"));
    }
    Ok(Some(key.to_owned()))
}

fn clock(state: &AppState) -> ClaimClock {
    let now = now_unix();
    let ttl = state.config.idempotency_key_ttl_hours.saturating_mul(3600);
    let lock_timeout = state.config.idempotency_lock_timeout_seconds;
    ClaimClock {
        now,
        expired_before: now - i64::try_from(ttl).unwrap_or(i64::MAX / 2),
        abandoned_before: now - i64::try_from(lock_timeout).unwrap_or(i64::MAX / 2),
    }
}

/// Hashes the request; a form body is read here and put back for the handler.
async fn fingerprint(request: Request, limit: usize) -> Result<(Request, String), ApiError> {
    let mut hasher = Sha256::new();
    hasher.update(request.method().as_str());
    hasher.update(b"\n");
    hasher.update(request.uri().path());
    hasher.update(b"\n");

    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type.starts_with("multipart/") {
        let length = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("chunked");
        hasher.update(format!("multipart\n{length}"));
        return Ok((request, hex::encode(hasher.finalize())));
    }

    let (parts, body) = request.into_parts();
    let bytes = read_body(body, limit).await?;
    hasher.update(&bytes);
    let request = Request::from_parts(parts, Body::from(bytes));
    Ok((request, hex::encode(hasher.finalize())))
}

async fn run_and_save(
    state: &AppState,
    scope: &KeyScope,
    key: &str,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let outcome = tokio::spawn(next.run(request)).await;
    let Ok(response) = outcome else {
        idempotency::release(&state.db, scope, key).await?;
        return Err(ApiError::internal());
    };

    let status = response.status();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_SAVED_RESPONSE)
        .await
        .map_err(|_| ApiError::internal())?;
    if is_saved(status) {
        let saved = SavedResponse {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
        };
        idempotency::save(&state.db, scope, key, &saved).await?;
    } else {
        idempotency::release(&state.db, scope, key).await?;
    }
    Ok(Response::from_parts(parts, Body::from(bytes)))
}

/// Whether a response is kept for replay: success, card errors, and
/// failures that happened after the work began.
fn is_saved(status: StatusCode) -> bool {
    status.is_success() || status == StatusCode::PAYMENT_REQUIRED || status.is_server_error()
}

fn replay(saved: SavedResponse) -> Response {
    let status = StatusCode::from_u16(saved.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, saved.body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
