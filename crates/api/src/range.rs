//! Time range filters such as `created=1700000000` or
//! `created[gte]=...&created[lt]=...`, shared by the list endpoints.

use std::collections::BTreeMap;

use mercato_store::list::Op;
use serde::Deserialize;

use crate::error::ApiError;

/// A range parameter as sent: one exact value, or bounds by operator.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum RangeParam {
    Exact(String),
    Bounds(BTreeMap<String, String>),
}

impl RangeParam {
    /// The comparisons the parameter `name` asks for, in Unix seconds.
    pub fn comparisons(self, name: &str) -> Result<Vec<(Op, i64)>, ApiError> {
        let bounds = match self {
            RangeParam::Exact(text) => return Ok(vec![(Op::Eq, unix_seconds(name, &text)?)]),
            RangeParam::Bounds(bounds) => bounds,
        };
        bounds
            .into_iter()
            .map(|(bound, text)| {
                let param = format!("{name}[{bound}]");
                let op = operator(&bound).ok_or_else(|| {
                    ApiError::invalid(format!("Received unknown parameter: {param}"))
                        .with_param(param.clone())
                        .with_code("parameter_unknown")
                })?;
                Ok((op, unix_seconds(&param, &text)?))
            })
            .collect()
    }
}

fn operator(bound: &str) -> Option<Op> {
    match bound {
        "gt" => Some(Op::Gt),
        "gte" => Some(Op::Gte),
        "lt" => Some(Op::Lt),
        "lte" => Some(Op::Lte),
        _ => None,
    }
}

fn unix_seconds(param: &str, text: &str) -> Result<i64, ApiError> {
    text.parse().map_err(|_| {
        ApiError::invalid_param(param, format!("Invalid integer: {text}"))
            .with_code("parameter_invalid_integer")
    })
}
