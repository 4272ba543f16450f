//! Around every request: a `Request-Id`, a tracing span, the
//! `Stripe-Version` check and echo, and the Prometheus metrics.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mercato_core::ids::RequestId;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

use crate::error::ApiError;

/// The API version Mercato renders, sent back in `Stripe-Version`.
pub const API_VERSION: &str = "2025-09-30.clover";

const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The process's Prometheus recorder, installed on first use.
pub fn metrics_handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(target: "mercato::api", "a metrics recorder was already installed");
        }
        handle
    })
}

/// Middleware: request id, span, version header, metrics.
pub async fn observe(mut request: Request, next: Next) -> Response {
    let request_id = RequestId::generate();
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let span = tracing::info_span!(
        target: "mercato::api",
        "request",
        request_id = request_id.as_str(),
        method = %method,
        route = %route,
        account = tracing::field::Empty,
    );
    request.extensions_mut().insert(request_id.clone());

    let mut response = match check_version(&request) {
        Ok(()) => next.run(request).instrument(span.clone()).await,
        Err(error) => error.into_response(),
    };

    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::info!(
            target: "mercato::api",
            status,
            elapsed_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    record_metrics(&method, &route, status, elapsed.as_secs_f64());
    set_headers(&mut response, &request_id);
    response
}

fn set_headers(response: &mut Response, request_id: &RequestId) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(request_id.as_str()) {
        headers.insert("request-id", value);
    }
    headers.insert("stripe-version", HeaderValue::from_static(API_VERSION));
}

fn record_metrics(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!("mercato_http_requests_total", &labels).increment(1);
    let latency_labels = [("method", method.to_owned()), ("route", route.to_owned())];
    metrics::histogram!("mercato_http_request_duration_seconds", &latency_labels).record(seconds);
}

fn check_version(request: &Request) -> Result<(), ApiError> {
    let Some(value) = request.headers().get("stripe-version") else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or_default();
    if is_valid_version(text) {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "Invalid Stripe API version: {text}. Send a version such as {API_VERSION}, \
             optionally followed by beta flags (;udap_beta=v1)."
        ))
        .with_code("api_version_invalid"))
    }
}

/// `YYYY-MM-DD`, an optional `.name`, then any `;flag=vN` betas.
fn is_valid_version(text: &str) -> bool {
    let mut parts = text.split(';');
    let base = parts.next().unwrap_or_default().trim();
    let (date, release) = base.split_once('.').unwrap_or((base, "release"));
    let date_ok = date.len() == 10
        && date.bytes().enumerate().all(|(index, byte)| {
            if index == 4 || index == 7 {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        });
    let release_ok = !release.is_empty() && release.bytes().all(|byte| byte.is_ascii_lowercase());
    let betas_ok = parts.all(|beta| {
        let Some((name, version)) = beta.trim().split_once('=') else {
            return false;
        };
        let version_ok = version
            .strip_prefix('v')
            .is_some_and(|number| !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()));
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && version_ok
    });
    date_ok && release_ok && betas_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_checked_for_shape() {
        let cases = [
            ("2025-09-30.clover", true),
            ("2025-09-30.clover;udap_beta=v1", true),
            ("2025-09-30.clover; udap_beta=v1", true),
            ("2020-08-27", true),
            ("2025-09-30.", false),
            ("2025-9-30", false),
            ("latest", false),
            ("2025-09-30.clover;udap_beta", false),
            ("2025-09-30.clover;udap_beta=1", false),
        ];
        for (text, valid) in cases {
            assert_eq!(is_valid_version(text), valid, "{text}");
        }
    }
}
