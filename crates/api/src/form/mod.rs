//! Stripe-style form bodies and query strings, parsed into a tree and read into typed params.
//!
//! Stripe's API takes `application/x-www-form-urlencoded` bodies, and GET and DELETE requests
//! carry the same syntax in the query string. Keys nest with brackets: `metadata[order]=7` is a
//! map, `expand[0]=a&expand[1]=b` (what the SDKs send) and `expand[]=a&expand[]=b` (what curl
//! users write) are lists, and `items[0][price]=p1&items[0][quantity]=2` is a list of maps.
//!
//! Reading a request takes two steps. [`Params::parse`] checks the grammar and builds a tree of
//! [`Value`]s, rejecting anything ambiguous (duplicate keys, out-of-order indexes, a name used
//! both as a value and as a map). [`from_params`] then deserializes the tree into a handler's
//! params struct through serde. Values stay text until that step, so numbers and booleans are
//! parsed against the type the handler asks for.
//!
//! An empty value means "unset" in Stripe's API: `email=` clears an email and `metadata=`
//! clears all metadata. The tree keeps such values as `Scalar("")`; `Option<T>` reads them as
//! `None` and [`Update<T>`] as [`Update::Clear`].
//!
//! Every [`FormError`] names the offending param Stripe-style (`items[0][price]`) and maps to
//! Stripe's error `code` and `param`, so the HTTP layer can answer with Stripe's error shape.

mod de;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

pub use de::from_params;

/// How many bracketed segments a key may have after its top-level name (`a[1][2]...[8]`).
pub const MAX_DEPTH: usize = 8;

/// One node of a parsed form: text, a list or a map, before any typing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A value as sent, percent-decoded; an empty string means "unset".
    Scalar(String),
    /// Elements from `name[0]=...` or `name[]=...`, in index order.
    List(Vec<Value>),
    /// Entries from `name[key]=...`.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// The text of a scalar, or `None` for a list or map.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Scalar(text) => Some(text),
            Value::List(_) | Value::Map(_) => None,
        }
    }
}

/// The top-level params of one request body or query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, Value>,
}

impl Params {
    /// Parses a form body or query string (without the leading `?`); empty input gives empty
    /// params.
    pub fn parse(input: &[u8]) -> Result<Params, FormError> {
        parse::parse(input).map(|map| Params { map })
    }

    /// Whether no param was sent.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The top-level param `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Takes the top-level param `name` out, for example `expand` before reading the rest.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.map.remove(name)
    }

    /// The top-level param names, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

/// A field of an update request: left alone, cleared with an empty value, or set.
///
/// Use it with `#[serde(default)]` so that an absent field is [`Update::Keep`]: `email=x` is
/// `Set("x")`, `email=` is `Clear` and no `email` at all is `Keep`. For maps, `metadata=` is
/// `Clear` while `metadata[k]=` is `Set` with `k` mapped to an empty string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Update<T> {
    /// The param was not sent: keep the stored value.
    #[default]
    Keep,
    /// The param was sent empty: remove the stored value.
    Clear,
    /// The param was sent with a value.
    Set(T),
}

impl<T> Update<T> {
    /// Whether the param was absent.
    pub fn is_keep(&self) -> bool {
        matches!(self, Update::Keep)
    }

    /// Whether the param was sent empty.
    pub fn is_clear(&self) -> bool {
        matches!(self, Update::Clear)
    }

    /// The new value, if one was sent.
    pub fn as_set(&self) -> Option<&T> {
        match self {
            Update::Set(value) => Some(value),
            Update::Keep | Update::Clear => None,
        }
    }

    /// The new value, if one was sent.
    pub fn into_set(self) -> Option<T> {
        match self {
            Update::Set(value) => Some(value),
            Update::Keep | Update::Clear => None,
        }
    }

    /// The stored value after this update: `current` for `Keep`, `None` for `Clear`.
    pub fn apply(self, current: Option<T>) -> Option<T> {
        match self {
            Update::Keep => current,
            Update::Clear => None,
            Update::Set(value) => Some(value),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Update<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Option::<T>::deserialize(deserializer)?;

        Ok(value.map_or(Update::Clear, Update::Set))
    }
}

/// The form a param was expected to take, in [`FormError::InvalidType`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A single value: `name=...`.
    Scalar,
    /// An array: `name[]=...` or `name[0]=...`.
    List,
    /// An object: `name[key]=...`.
    Map,
}

/// Why a form body, query string or param could not be read.
///
/// Messages go to API clients verbatim as Stripe's `error.message`, so they are sentences in
/// Stripe's style (and reuse Stripe's wording where clients may match on it) rather than the
/// lower-case messages of internal errors. [`FormError::param`] gives `error.param` and
/// [`FormError::code`] gives `error.code`:
///
/// - `UnknownParameter`: `parameter_unknown`;
/// - `MissingParameter`: `parameter_missing`;
/// - `InvalidValue`: its own `code`, `parameter_invalid_integer` for a bad integer,
///   `parameter_invalid_empty` for an empty value where one is required, else
///   `parameter_invalid`;
/// - every other variant, all about the syntax or shape of the form: `parameter_invalid`.
///
/// Every variant is bad input: the HTTP layer answers 400 and does not log it as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    /// A key or value is not UTF-8 once percent-decoded; `key` is set when only the value is.
    #[error("{}", invalid_utf8_message(key.as_deref()))]
    InvalidUtf8 { key: Option<String> },

    /// A key breaks the grammar `name([segment])*`; `reason` says how.
    #[error("Malformed parameter name '{key}': {reason}")]
    MalformedKey { key: String, reason: &'static str },

    /// A key has more than [`MAX_DEPTH`] bracketed segments.
    #[error("Parameter {key} nests deeper than {max} levels", max = MAX_DEPTH)]
    TooDeep { key: String },

    /// An array index does not continue the last element or start the next one.
    #[error(
        "Invalid array index in {key}: indexes start at 0 and go up by one, \
         and all fields of an element come before the next element"
    )]
    NonSequentialIndex { key: String },

    /// One name is used as more than one of a value, an object, an indexed array and a `[]`
    /// array; `key` is that name's path.
    #[error(
        "Conflicting types for {key}: send it as a single value ({key}=...), an object \
         ({key}[name]=...) or an array ({key}[]=... or {key}[0]=...), in one form only"
    )]
    ConflictingTypes { key: String },

    /// The same value was sent twice.
    #[error("Duplicate parameter {key}: send each parameter once")]
    DuplicateKey { key: String },

    /// A param was sent in another form than the handler takes.
    #[error("{}", invalid_type_message(param, *expected))]
    InvalidType { param: String, expected: Shape },

    /// A value does not parse as the type the handler takes.
    #[error("{message}")]
    InvalidValue {
        param: String,
        message: String,
        code: &'static str,
    },

    /// A param the handler does not know.
    #[error("Received unknown parameter: {param}")]
    UnknownParameter { param: String },

    /// A required param was not sent.
    #[error("Missing required param: {param}.")]
    MissingParameter { param: String },
}

impl FormError {
    /// The Stripe-style path of the offending param, when there is one.
    pub fn param(&self) -> Option<String> {
        let param = match self {
            FormError::InvalidUtf8 { key } => return key.clone(),
            FormError::MalformedKey { key, .. }
            | FormError::TooDeep { key }
            | FormError::NonSequentialIndex { key }
            | FormError::ConflictingTypes { key }
            | FormError::DuplicateKey { key } => key,
            FormError::InvalidType { param, .. }
            | FormError::InvalidValue { param, .. }
            | FormError::UnknownParameter { param }
            | FormError::MissingParameter { param } => param,
        };

        (!param.is_empty()).then(|| param.clone())
    }

    /// Stripe's `error.code` for this error; see the table on [`FormError`].
    pub fn code(&self) -> &'static str {
        match self {
            FormError::InvalidValue { code, .. } => code,
            FormError::UnknownParameter { .. } => "parameter_unknown",
            FormError::MissingParameter { .. } => "parameter_missing",
            FormError::InvalidUtf8 { .. }
            | FormError::MalformedKey { .. }
            | FormError::TooDeep { .. }
            | FormError::NonSequentialIndex { .. }
            | FormError::ConflictingTypes { .. }
            | FormError::DuplicateKey { .. }
            | FormError::InvalidType { .. } => de::CODE_INVALID,
        }
    }
}

fn invalid_utf8_message(key: Option<&str>) -> String {
    match key {
        Some(key) => format!("Invalid encoding: the value of {key} is not UTF-8 once decoded"),
        None => "Invalid encoding: parameters must be UTF-8 once percent-decoded".to_owned(),
    }
}

fn invalid_type_message(param: &str, expected: Shape) -> String {
    match expected {
        Shape::Scalar => format!(
            "Invalid value: {param} must be a single value ({param}=...), \
             not an object or array"
        ),
        Shape::List => {
            format!("Invalid array: {param} must be sent as {param}[]=... or {param}[0]=...")
        }
        Shape::Map => format!("Invalid object: {param} must be sent as {param}[name]=..."),
    }
}

/// The Stripe-style path of `segment` under `parent`: `parent[segment]`, or `segment` at the
/// top level.
fn child_path(parent: &str, segment: &str) -> String {
    if parent.is_empty() {
        segment.to_owned()
    } else {
        format!("{parent}[{segment}]")
    }
}
