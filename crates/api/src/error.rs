//! The one place where every failure becomes Stripe's error JSON and status.
//!
//! `{"error": {"type", "code", "message", "param"}}` with the statuses the
//! official SDKs map to their exception classes: 400 invalid request, 401
//! authentication, 403 permission, 404 missing object, 409 conflict, 413 body
//! too large, 429 rate limit, 500 internal. Bad input is answered, not logged
//! as an error; an internal failure is logged with its cause and answered
//! without it.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use mercato_store::StoreError;
use serde_json::{json, Map, Value};

use crate::form::FormError;

/// Stripe's `error.type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorType {
    InvalidRequest,
    Idempotency,
    RateLimit,
    Api,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            ErrorType::InvalidRequest => "invalid_request_error",
            ErrorType::Idempotency => "idempotency_error",
            ErrorType::RateLimit => "rate_limit_error",
            ErrorType::Api => "api_error",
        }
    }
}

/// A failed request, ready to be rendered.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// Seconds to wait before retrying (429).
    pub retry_after: Option<u64>,
    /// Sent as `Stripe-Should-Retry`.
    pub should_retry: Option<bool>,
}

impl ApiError {
    fn new(status: StatusCode, kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            retry_after: None,
            should_retry: None,
        }
    }

    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    /// 400: the request is wrong in a way the message explains.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message)
    }

    /// 400 naming the parameter at fault.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid(message)
            .with_param(param)
            .with_code("parameter_invalid")
    }

    /// 401: no key, or a key that does not work.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::InvalidRequest, message)
    }

    /// 403: the key works but may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, ErrorType::InvalidRequest, message)
    }

    /// 404 `resource_missing`: "No such account: 'acct_123'".
    pub fn missing(resource: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("No such {resource}: '{id}'"),
        )
        .with_code("resource_missing")
        .with_param("id")
    }

    /// 404 for a path that names no endpoint.
    pub fn unknown_route(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("Unrecognized request URL ({method}: {path})."),
        )
    }

    /// 405 for a known path with the wrong method.
    pub fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorType::InvalidRequest,
            format!(
                "Unrecognized request URL ({method}: {path}). This path does not accept {method}."
            ),
        )
    }

    /// 413: the body is larger than this endpoint accepts.
    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorType::InvalidRequest,
            format!("Request body too large: form bodies may be at most {limit} bytes"),
        )
        .with_code("request_too_large")
    }

    /// 400 `idempotency_error`: the key was used with other parameters.
    pub fn idempotency_mismatch(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::Idempotency,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were \
                 first used with. Try using a key other than '{key}' if you meant to execute a \
                 different request."
            ),
        )
    }

    /// 409: a request with this key is still running.
    pub fn idempotency_in_flight() -> Self {
        Self::new(
            StatusCode::CONFLICT,
            ErrorType::InvalidRequest,
            "There is currently another in-progress request using this Idempotent Key (that \
             probably means you submitted twice, and the other request is still going through). \
             Please try again later.",
        )
        .with_code("idempotency_key_in_use")
    }

    /// 429 with `Retry-After`.
    pub fn rate_limited(retry_after_seconds: u64) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::RateLimit,
            "Too many requests hit the API too quickly for this account. Slow down and retry \
             with exponential backoff.",
        )
        .with_code("rate_limit");
        error.retry_after = Some(retry_after_seconds);
        error
    }

    /// 500: something broke inside; the cause is logged, not sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::Api,
            "An internal error occurred; the request may be retried.",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind.as_str()));
        error.insert("message".into(), json!(self.message));
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
        }
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(target: "mercato::api", status = self.status.as_u16(), "request failed");
        }
        let mut response = (self.status, axum::Json(self.body())).into_response();
        let headers = response.headers_mut();
        if let Some(seconds) = self.retry_after {
            headers.insert("retry-after", HeaderValue::from(seconds));
        }
        if let Some(retry) = self.should_retry {
            let value = if retry { "true" } else { "false" };
            headers.insert("stripe-should-retry", HeaderValue::from_static(value));
        }
        response
    }
}

impl From<FormError> for ApiError {
    fn from(error: FormError) -> Self {
        let mut api_error = ApiError::invalid(error.to_string()).with_code(error.code());
        api_error.param = error.param();
        api_error
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::CursorNotFound { id } => {
                ApiError::invalid(format!("No such object for pagination: '{id}'"))
                    .with_code("resource_missing")
            }
            other => {
                tracing::error!(target: "mercato::api", error = %other, cause = ?other, "storage failed");
                ApiError::internal()
            }
        }
    }
}
