//! The HTTP client the client commands share: one API base and key, form
//! and multipart requests, and Stripe-shaped error bodies read back into an
//! [`ApiError`] whose message is the server's own.

use std::time::Duration;

use reqwest::multipart::Form;
use reqwest::{Client, Method, RequestBuilder, Response, Url};
use serde_json::Value;

/// The server `--api-base` points at when neither it nor `MERCATO_API_BASE`
/// is given.
pub const DEFAULT_API_BASE: &str = "http://127.0.0.1:4242";
/// How long reaching the server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an ordinary API call may take (not the event stream).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an API call failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `--api-base` is not an http(s) URL.
    #[error("the API base {base:?} is not an http(s) URL")]
    BadBase { base: String },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The server could not be reached, or its answer not read.
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        url: String,
        reason: String,
        #[source]
        source: reqwest::Error,
    },
    /// The server refused the API key.
    #[error("the server refused the API key (401 Unauthorized): {message}")]
    Unauthorized { message: String },
    /// Any other answer outside 2xx.
    #[error("{method} {path} failed with status {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        message: String,
    },
    /// A 2xx answer whose body is not the JSON expected.
    #[error("{method} {path} answered with a body that is not the expected JSON")]
    BadBody { method: Method, path: String },
}

impl ApiError {
    /// Whether trying again later cannot help: the request itself is wrong.
    pub fn is_permanent(&self) -> bool {
        match self {
            ApiError::BadBase { .. } | ApiError::Client(_) | ApiError::Unauthorized { .. } => true,
            ApiError::Status { status, .. } => (400..500).contains(status) && *status != 429,
            ApiError::Unreachable { .. } | ApiError::BadBody { .. } => false,
        }
    }
}

/// A client for one server and one API key.
#[derive(Clone, Debug)]
pub struct ApiClient {
    http: Client,
    base: String,
    key: String,
}

impl ApiClient {
    pub fn new(base: &str, key: &str) -> Result<ApiClient, ApiError> {
        let base = base.trim_end_matches('/').to_owned();
        let parsed = Url::parse(&base).map_err(|_| ApiError::BadBase { base: base.clone() })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(ApiError::BadBase { base });
        }

        let http = Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("mercato-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(ApiError::Client)?;
        Ok(ApiClient {
            http,
            base,
            key: key.to_owned(),
        })
    }

    /// A request to `path` (from `/v1`), as `account` when given
    /// (`Stripe-Account`). It has no overall timeout, for the event stream.
    pub fn request(&self, method: Method, path: &str, account: Option<&str>) -> RequestBuilder {
        let request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.key);
        match account {
            Some(account) => request.header("Stripe-Account", account),
            None => request,
        }
    }

    /// `POST` of form pairs; the answer's JSON.
    pub async fn post_form(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        account: Option<&str>,
    ) -> Result<Value, ApiError> {
        let request = self.request(Method::POST, path, account).form(pairs);
        self.call(Method::POST, path, request).await
    }

    /// `POST` of a multipart body; the answer's JSON.
    pub async fn post_multipart(
        &self,
        path: &str,
        form: Form,
        account: Option<&str>,
    ) -> Result<Value, ApiError> {
        let request = self.request(Method::POST, path, account).multipart(form);
        self.call(Method::POST, path, request).await
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        request: RequestBuilder,
    ) -> Result<Value, ApiError> {
        let response = self.send(request.timeout(CALL_TIMEOUT), path).await?;
        let response = checked(response, &method, path).await?;
        response.json().await.map_err(|_| ApiError::BadBody {
            method,
            path: path.to_owned(),
        })
    }

    /// Sends `request`, mapping a failure to reach the server.
    pub async fn send(&self, request: RequestBuilder, path: &str) -> Result<Response, ApiError> {
        request
            .send()
            .await
            .map_err(|source| ApiError::Unreachable {
                url: format!("{}{path}", self.base),
                reason: error_reason(&source),
                source,
            })
    }
}

/// The response when its status is 2xx, else the server's error.
pub async fn checked(
    response: Response,
    method: &Method,
    path: &str,
) -> Result<Response, ApiError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }

    let body: Value = response.json().await.unwrap_or(Value::Null);
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("(no error message)")
        .to_owned();
    if status.as_u16() == 401 {
        return Err(ApiError::Unauthorized { message });
    }
    Err(ApiError::Status {
        method: method.clone(),
        path: path.to_owned(),
        status: status.as_u16(),
        message,
    })
}

/// A short reason for a failed request: `connection refused`, `timed out`,
/// or the innermost cause's own words.
pub fn error_reason(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_owned();
    }

    let mut innermost: &dyn std::error::Error = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let refused = innermost
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused);
    if refused {
        return "connection refused".to_owned();
    }
    innermost.to_string()
}
