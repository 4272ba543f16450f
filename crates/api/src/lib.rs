//! Mercato's HTTP layer. **Only this crate knows HTTP**: it turns requests in
//! Stripe's wire format into calls on the store and renders Stripe-shaped
//! JSON back.
//!
//! A request to `/v1` passes, in order: [`observe`] (request id, span,
//! `Stripe-Version`, metrics), [`auth`] (key, account, mode), the rate
//! limit, [`idempotency`], and then its handler in [`resources`]. Handlers
//! read parameters with [`params::FormParams`] and fail with
//! [`error::ApiError`], the one place that maps failures to statuses.

pub mod auth;
pub mod error;
pub mod events;
pub mod expand;
pub mod form;
pub mod idempotency;
pub mod list;
pub mod metadata;
pub mod observe;
pub mod params;
pub mod range;
pub mod rate_limit;
pub mod resources;
pub mod state;

use axum::extract::{DefaultBodyLimit, OriginalUri, Request, State};
use axum::http::Method;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::auth::Caller;
use crate::error::ApiError;
pub use crate::state::AppState;
use axum::routing::post;
use resources::{
    accounts, catalog_products, events as event_routes, files, health, import_sets,
    webhook_endpoints,
};

/// The whole application.
pub fn router(state: AppState) -> Router {
    observe::metrics_handle();
    let v1 = Router::new()
        .route("/accounts", get(accounts::list).post(accounts::create))
        .route(
            "/accounts/{id}",
            get(accounts::retrieve).post(accounts::update),
        )
        .route("/account", get(accounts::retrieve_own))
        .route("/files", get(files::list).post(files::create))
        .route("/files/{id}", get(files::retrieve))
        .route("/files/{id}/contents", get(files::contents))
        .route(
            "/data_management/import_sets",
            get(import_sets::list).post(import_sets::create),
        )
        .route(
            "/data_management/import_sets/{id}",
            get(import_sets::retrieve),
        )
        .route(
            "/data_management/import_sets/{id}/archive",
            post(import_sets::archive),
        )
        .route("/catalog/products", get(catalog_products::list))
        .route("/catalog/products/{id}", get(catalog_products::retrieve))
        .route("/events", get(event_routes::list))
        .route("/events/stream", get(event_routes::stream))
        .route("/events/{id}", get(event_routes::retrieve))
        .route("/events/{id}/resend", post(event_routes::resend))
        .route(
            "/webhook_endpoints",
            get(webhook_endpoints::list).post(webhook_endpoints::create),
        )
        .route(
            "/webhook_endpoints/{id}",
            get(webhook_endpoints::retrieve)
                .post(webhook_endpoints::update)
                .delete(webhook_endpoints::delete),
        )
        .route(
            "/webhook_endpoints/{id}/roll_secret",
            post(webhook_endpoints::roll_secret),
        )
        .route(
            "/webhook_endpoints/{id}/attempts",
            get(webhook_endpoints::attempts),
        )
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotent,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limited))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(health::metrics))
        .nest("/v1", v1)
        .fallback(unknown_route)
        .layer(middleware::from_fn(observe::observe))
        .layer(DefaultBodyLimit::disable())
        .with_state(state)
}

async fn rate_limited(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(limiter) = &state.rate_limiter {
        limiter
            .check(caller.account_id().as_str(), caller.livemode)
            .map_err(ApiError::rate_limited)?;
    }
    Ok(next.run(request).await)
}

async fn unknown_route(method: Method, request: Request) -> Response {
    ApiError::unknown_route(method.as_str(), request.uri().path()).into_response()
}

async fn method_not_allowed(method: Method, OriginalUri(uri): OriginalUri) -> Response {
    ApiError::method_not_allowed(method.as_str(), uri.path()).into_response()
}
