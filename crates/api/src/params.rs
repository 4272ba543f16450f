//! The request parameters of a form endpoint: the query string of a GET or
//! DELETE, the `application/x-www-form-urlencoded` body of a POST.

use axum::body::Body;
use axum::extract::{FromRef, FromRequest, Request};
use axum::http::{header, Method};
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::form::{self, Params};
use crate::state::AppState;

/// Parsed, not yet typed, parameters.
#[derive(Clone, Debug, Default)]
pub struct FormParams(pub Params);

impl FormParams {
    /// Types the parameters; unknown ones are refused by the target's
    /// `deny_unknown_fields`.
    pub fn into_typed<T: DeserializeOwned>(self) -> Result<T, ApiError> {
        Ok(form::from_params(&self.0)?)
    }
}

impl<S> FromRequest<S> for FormParams
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let limit = AppState::from_ref(state).config.max_form_body_bytes;
        if request.method() == Method::GET || request.method() == Method::DELETE {
            let query = request.uri().query().unwrap_or_default();
            return Ok(Self(Params::parse(query.as_bytes())?));
        }

        check_form_content_type(request.headers().get(header::CONTENT_TYPE))?;
        let bytes = read_body(request.into_body(), limit).await?;
        Ok(Self(Params::parse(&bytes)?))
    }
}

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body(body: Body, limit: usize) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|error| {
        let too_large = std::error::Error::source(&error)
            .is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
        if too_large {
            ApiError::body_too_large(limit)
        } else {
            ApiError::invalid("The request body could not be read in full.")
        }
    })
}

fn check_form_content_type(value: Option<&header::HeaderValue>) -> Result<(), ApiError> {
    let Some(value) = value else {
        return Ok(());
    };
    let media_type = value
        .to_str()
        .unwrap_or_default()
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/x-www-form-urlencoded" {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "Invalid request: unsupported Content-Type {media_type}. Send parameters as \
         application/x-www-form-urlencoded (curl -d key=value)."
    )))
}
