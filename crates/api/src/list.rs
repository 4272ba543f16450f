//! List endpoints: `limit`, `starting_after`, `ending_before` and `expand`
//! read from the request, and the `{"object": "list", ...}` envelope.

use mercato_store::list::{Cursor, Page, PageRequest};
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::expand::Expand;
use crate::form::{Params, Value as FormValue};

/// The paging options every list endpoint shares.
#[derive(Clone, Debug)]
pub struct ListOptions {
    pub page: PageRequest,
    pub expand: Expand,
}

impl ListOptions {
    /// Removes the shared options from `params`, leaving the endpoint's own
    /// filters to be read by the caller.
    pub fn take(params: &mut Params) -> Result<Self, ApiError> {
        let limit = match take_scalar(params, "limit")?.filter(|text| !text.is_empty()) {
            None => 10,
            Some(text) => parse_limit(&text)?,
        };
        let starting_after = take_scalar(params, "starting_after")?.filter(|id| !id.is_empty());
        let ending_before = take_scalar(params, "ending_before")?.filter(|id| !id.is_empty());
        let cursor =
            match (starting_after, ending_before) {
                (Some(_), Some(_)) => return Err(ApiError::invalid(
                    "You may only specify one of these parameters: ending_before, starting_after.",
                )),
                (Some(id), None) => Cursor::StartingAfter(id),
                (None, Some(id)) => Cursor::EndingBefore(id),
                (None, None) => Cursor::Newest,
            };
        let expand = Expand::parse(take_expand(params)?, true)?;

        Ok(Self {
            page: PageRequest { limit, cursor },
            expand,
        })
    }
}

/// Reads `expand` (either array style) out of `params`.
pub fn take_expand(params: &mut Params) -> Result<Vec<String>, ApiError> {
    match params.remove("expand") {
        None => Ok(Vec::new()),
        Some(FormValue::Scalar(text)) if text.is_empty() => Ok(Vec::new()),
        Some(FormValue::List(items)) => items
            .into_iter()
            .map(|item| match item {
                FormValue::Scalar(text) => Ok(text),
                _ => Err(ApiError::invalid_param(
                    "expand",
                    "Invalid array: expand items must be strings",
                )),
            })
            .collect(),
        Some(_) => Err(ApiError::invalid_param(
            "expand",
            "Invalid array: expand must be sent as expand[]=... or expand[0]=...",
        )),
    }
}

fn take_scalar(params: &mut Params, name: &str) -> Result<Option<String>, ApiError> {
    match params.remove(name) {
        None => Ok(None),
        Some(FormValue::Scalar(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::invalid_param(
            name,
            format!("Invalid {name}: must be a single value"),
        )),
    }
}

fn parse_limit(text: &str) -> Result<u32, ApiError> {
    let limit: i64 = text.parse().map_err(|_| {
        ApiError::invalid_param("limit", format!("Invalid integer: {text}"))
            .with_code("parameter_invalid_integer")
    })?;
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_param(
            "limit",
            "This value must be greater than or equal to 1 and less than or equal to 100.",
        ));
    }
    Ok(limit as u32)
}

/// The list envelope around a page of rendered objects.
pub fn render_list<T>(url: &str, page: Page<T>, render: impl FnMut(T) -> Value) -> Value {
    let data: Vec<Value> = page.items.into_iter().map(render).collect();
    json!({
        "object": "list",
        "url": url,
        "has_more": page.has_more,
        "data": data,
    })
}
