//! `/healthz` for load balancers and `/metrics` for Prometheus; neither needs
//! a key.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use mercato_store::jobs;
use serde_json::json;

use crate::observe::metrics_handle;
use crate::state::AppState;

/// `GET /healthz`: 200 when the database answers.
pub async fn healthz(State(state): State<AppState>) -> Response {
    match sqlx_ping(&state).await {
        Ok(()) => Json(json!({ "status": "ok" })).into_response(),
        Err(error) => {
            tracing::warn!(target: "mercato::api", %error, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}

async fn sqlx_ping(state: &AppState) -> Result<(), mercato_store::StoreError> {
    jobs::depth(state.db.pool()).await.map(|_| ())
}

/// `GET /metrics`: Prometheus text, with the job queue's depth read fresh.
pub async fn metrics(State(state): State<AppState>) -> Response {
    match jobs::depth(state.db.pool()).await {
        Ok((queued, running)) => {
            metrics::gauge!("mercato_jobs", "state" => "queued").set(queued as f64);
            metrics::gauge!("mercato_jobs", "state" => "running").set(running as f64);
        }
        Err(error) => {
            tracing::warn!(target: "mercato::api", %error, "could not read the job queue depth")
        }
    }
    let body = metrics_handle().render();
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
}
