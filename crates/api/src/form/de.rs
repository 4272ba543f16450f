//! A serde [`Deserializer`] over [`Params`], so handlers read typed params with
//! `#[derive(Deserialize)]`.
//!
//! Scalars are text until a type asks for them: `deserialize_i64` parses an integer,
//! `deserialize_bool` accepts `true` or `false`, and unit enum variants match by name. An
//! empty scalar is "unset": `Option<T>` reads it as `None`, and a map, struct or list reads it
//! as empty. Only the form's own shapes are supported, so `#[serde(flatten)]` and untagged
//! enums see every scalar as a string.
//!
//! Errors carry the full Stripe-style param path. Errors raised inside serde visitors know at
//! most a field name, so each deserializer locates them against its own path as they pass
//! out; errors from nested values are located already and pass through unchanged.

use std::collections::{btree_map, BTreeMap};
use std::fmt::Display;
use std::iter::Enumerate;
use std::slice;
use std::str::FromStr;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, Expected, MapAccess,
    SeqAccess, Unexpected, VariantAccess, Visitor,
};

use super::{child_path, FormError, Params, Shape, Value};

/// `error.code` for invalid input without a more specific code.
pub(super) const CODE_INVALID: &str = "parameter_invalid";
/// `error.code` for a value that is not an integer.
const CODE_INVALID_INTEGER: &str = "parameter_invalid_integer";
/// `error.code` for an empty value where one is required.
const CODE_INVALID_EMPTY: &str = "parameter_invalid_empty";

/// The map an empty scalar stands for where a map or struct is expected.
static EMPTY_MAP: BTreeMap<String, Value> = BTreeMap::new();

/// Reads `params` into `T`, reporting the first problem with its param path.
pub fn from_params<T: DeserializeOwned>(params: &Params) -> Result<T, FormError> {
    let root = ValueDeserializer {
        node: Node::Map(&params.map),
        path: String::new(),
    };

    T::deserialize(root)
}

/// A borrowed view of one node; the root is a map that is not inside a [`Value`].
#[derive(Clone, Copy)]
enum Node<'de> {
    Scalar(&'de str),
    List(&'de [Value]),
    Map(&'de BTreeMap<String, Value>),
}

impl<'de> Node<'de> {
    fn of(value: &'de Value) -> Self {
        match value {
            Value::Scalar(text) => Node::Scalar(text),
            Value::List(list) => Node::List(list),
            Value::Map(map) => Node::Map(map),
        }
    }
}

/// Deserializes one node found at `path`.
struct ValueDeserializer<'de> {
    node: Node<'de>,
    path: String,
}

/// Which kind of number a scalar must hold, for parsing and for messages.
#[derive(Clone, Copy)]
enum Number {
    Integer,
    Decimal,
}

impl<'de> ValueDeserializer<'de> {
    fn new(value: &'de Value, path: String) -> Self {
        ValueDeserializer {
            node: Node::of(value),
            path,
        }
    }

    fn scalar(&self) -> Result<&'de str, FormError> {
        match self.node {
            Node::Scalar(text) => Ok(text),
            Node::List(_) | Node::Map(_) => Err(self.invalid_type(Shape::Scalar)),
        }
    }

    /// A scalar that must not be empty, because the type has no "unset" value.
    fn filled_scalar(&self) -> Result<&'de str, FormError> {
        match self.scalar()? {
            "" => Err(self.empty_value()),
            text => Ok(text),
        }
    }

    fn parse_number<T: FromStr>(&self, number: Number) -> Result<T, FormError> {
        let text = self.filled_scalar()?;
        // Rust also reads `inf` and `NaN` as floats; Stripe's decimals are digits only.
        let plain = text.bytes().all(|byte| b"0123456789+-.eE".contains(&byte));

        match text.parse() {
            Ok(parsed) if plain => Ok(parsed),
            _ => Err(self.invalid_number(number, text)),
        }
    }

    fn parse_bool(&self) -> Result<bool, FormError> {
        let text = self.filled_scalar()?;

        if text.eq_ignore_ascii_case("true") {
            Ok(true)
        } else if text.eq_ignore_ascii_case("false") {
            Ok(false)
        } else {
            Err(self.invalid_value(format!("Invalid boolean: {text}"), CODE_INVALID))
        }
    }

    fn parse_char(&self) -> Result<char, FormError> {
        let text = self.filled_scalar()?;
        let mut chars = text.chars();

        match (chars.next(), chars.next()) {
            (Some(only), None) => Ok(only),
            _ => Err(self.invalid_value(format!("Invalid character: {text}"), CODE_INVALID)),
        }
    }

    /// Gives errors from a visitor the path of this node.
    fn located<T>(&self, result: Result<T, FormError>) -> Result<T, FormError> {
        result.map_err(|error| locate(error, &self.path))
    }

    fn invalid_type(&self, expected: Shape) -> FormError {
        FormError::InvalidType {
            param: self.path.clone(),
            expected,
        }
    }

    fn invalid_value(&self, message: String, code: &'static str) -> FormError {
        FormError::InvalidValue {
            param: self.path.clone(),
            message,
            code,
        }
    }

    fn invalid_number(&self, number: Number, text: &str) -> FormError {
        match number {
            Number::Integer => {
                self.invalid_value(format!("Invalid integer: {text}"), CODE_INVALID_INTEGER)
            }
            Number::Decimal => self.invalid_value(format!("Invalid decimal: {text}"), CODE_INVALID),
        }
    }

    fn empty_value(&self) -> FormError {
        let path = &self.path;
        let message = format!(
            "Invalid {path}: an empty value unsets a parameter, but {path} cannot be unset; \
             leave it out or send a value"
        );

        self.invalid_value(message, CODE_INVALID_EMPTY)
    }

    /// Visits this node as a list; an empty scalar is an empty list.
    fn visit_list<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self.node {
            Node::List(list) => visit_elements(list, &self.path, visitor),
            Node::Scalar("") => visit_elements(&[], &self.path, visitor),
            Node::Scalar(_) | Node::Map(_) => Err(self.invalid_type(Shape::List)),
        }
    }

    /// Visits this node as a map; an empty scalar is an empty map.
    fn visit_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self.node {
            Node::Map(map) => visit_entries(map, &self.path, visitor),
            Node::Scalar("") => visit_entries(&EMPTY_MAP, &self.path, visitor),
            Node::Scalar(_) | Node::List(_) => Err(self.invalid_type(Shape::Map)),
        }
    }
}

/// Deserializer methods that parse a number and hand it to the visitor.
macro_rules! number_methods {
    ($($method:ident => $visit:ident, $number:expr;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
                let parsed = self.parse_number($number)?;
                self.located(visitor.$visit(parsed))
            }
        )*
    };
}

impl<'de> Deserializer<'de> for ValueDeserializer<'de> {
    type Error = FormError;

    number_methods! {
        deserialize_i8 => visit_i8, Number::Integer;
        deserialize_i16 => visit_i16, Number::Integer;
        deserialize_i32 => visit_i32, Number::Integer;
        deserialize_i64 => visit_i64, Number::Integer;
        deserialize_i128 => visit_i128, Number::Integer;
        deserialize_u8 => visit_u8, Number::Integer;
        deserialize_u16 => visit_u16, Number::Integer;
        deserialize_u32 => visit_u32, Number::Integer;
        deserialize_u64 => visit_u64, Number::Integer;
        deserialize_u128 => visit_u128, Number::Integer;
        deserialize_f32 => visit_f32, Number::Decimal;
        deserialize_f64 => visit_f64, Number::Decimal;
    }

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self.node {
            Node::Scalar(text) => self.located(visitor.visit_borrowed_str(text)),
            Node::List(list) => visit_elements(list, &self.path, visitor),
            Node::Map(map) => visit_entries(map, &self.path, visitor),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        let parsed = self.parse_bool()?;
        self.located(visitor.visit_bool(parsed))
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        let parsed = self.parse_char()?;
        self.located(visitor.visit_char(parsed))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        let text = self.scalar()?;
        self.located(visitor.visit_borrowed_str(text))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        let text = self.scalar()?;
        self.located(visitor.visit_borrowed_bytes(text.as_bytes()))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self.node {
            Node::Scalar("") => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        match self.scalar()? {
            "" => self.located(visitor.visit_unit()),
            _ => Err(locate(de::Error::custom("must be empty"), &self.path)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FormError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, FormError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        self.visit_list(visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, FormError> {
        self.visit_list(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, FormError> {
        self.visit_list(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        self.visit_map(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FormError> {
        self.visit_map(visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FormError> {
        let text = self.filled_scalar()?;

        visitor.visit_enum(UnitVariant {
            text,
            path: self.path,
        })
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FormError> {
        visitor.visit_unit()
    }
}

/// Visits `map` as the map or struct at `path`.
fn visit_entries<'de, V: Visitor<'de>>(
    map: &'de BTreeMap<String, Value>,
    path: &str,
    visitor: V,
) -> Result<V::Value, FormError> {
    let mut entries = Entries {
        entries: map.iter(),
        value: None,
        parent: path,
        nested_failed: false,
    };

    let result = visitor.visit_map(&mut entries);

    result.map_err(|error| {
        if entries.nested_failed {
            error
        } else {
            locate(error, path)
        }
    })
}

/// Visits `list` as the sequence at `path`.
fn visit_elements<'de, V: Visitor<'de>>(
    list: &'de [Value],
    path: &str,
    visitor: V,
) -> Result<V::Value, FormError> {
    let mut elements = Elements {
        elements: list.iter().enumerate(),
        parent: path,
        nested_failed: false,
    };

    let result = visitor.visit_seq(&mut elements);

    result.map_err(|error| {
        if elements.nested_failed {
            error
        } else {
            locate(error, path)
        }
    })
}

/// The entries of a map, keys and values each deserialized at their own path.
struct Entries<'de, 'path> {
    entries: btree_map::Iter<'de, String, Value>,
    value: Option<ValueDeserializer<'de>>,
    parent: &'path str,
    /// Whether the last key or value failed; its error is located already.
    nested_failed: bool,
}

impl<'de> MapAccess<'de> for Entries<'de, '_> {
    type Error = FormError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, FormError> {
        let Some((name, value)) = self.entries.next() else {
            return Ok(None);
        };

        let path = child_path(self.parent, name);
        self.value = Some(ValueDeserializer::new(value, path.clone()));
        let key = ValueDeserializer {
            node: Node::Scalar(name),
            path: path.clone(),
        };

        let result = seed.deserialize(key);
        self.nested_failed = result.is_err();
        result.map(Some).map_err(|error| place(error, &path))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, FormError> {
        let Some(value) = self.value.take() else {
            return Err(de::Error::custom("a map value was read before its key"));
        };

        let path = value.path.clone();
        let result = seed.deserialize(value);
        self.nested_failed = result.is_err();
        result.map_err(|error| place(error, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// The elements of a list, each deserialized at `parent[index]`.
struct Elements<'de, 'path> {
    elements: Enumerate<slice::Iter<'de, Value>>,
    parent: &'path str,
    /// Whether the last element failed; its error is located already.
    nested_failed: bool,
}

impl<'de> SeqAccess<'de> for Elements<'de, '_> {
    type Error = FormError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, FormError> {
        let Some((index, value)) = self.elements.next() else {
            return Ok(None);
        };

        let path = child_path(self.parent, &index.to_string());
        let result = seed.deserialize(ValueDeserializer::new(value, path.clone()));
        self.nested_failed = result.is_err();
        result.map(Some).map_err(|error| place(error, &path))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.elements.len())
    }
}

/// A unit enum variant named by a scalar, like `type=custom`.
struct UnitVariant<'de> {
    text: &'de str,
    path: String,
}

impl<'de> EnumAccess<'de> for UnitVariant<'de> {
    type Error = FormError;
    type Variant = UnitOnly;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, UnitOnly), FormError> {
        let name = ValueDeserializer {
            node: Node::Scalar(self.text),
            path: self.path.clone(),
        };

        let variant = seed.deserialize(name)?;
        Ok((variant, UnitOnly { path: self.path }))
    }
}

/// The content of a variant named by a scalar: there is none.
struct UnitOnly {
    path: String,
}

impl UnitOnly {
    fn needs_content(self) -> FormError {
        locate(
            de::Error::custom("this choice cannot be sent as a single value"),
            &self.path,
        )
    }
}

impl<'de> VariantAccess<'de> for UnitOnly {
    type Error = FormError;

    fn unit_variant(self) -> Result<(), FormError> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        _seed: T,
    ) -> Result<T::Value, FormError> {
        Err(self.needs_content())
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        _visitor: V,
    ) -> Result<V::Value, FormError> {
        Err(self.needs_content())
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, FormError> {
        Err(self.needs_content())
    }
}

/// Completes an error raised by a serde visitor with the path of the node it was raised at.
///
/// A missing field is named relative to its struct; an unknown field is raised while reading
/// a key, whose path is the field's own; other visitor errors get the node's path and a
/// message naming it. Errors that already have a path are returned as they are.
fn locate(error: FormError, path: &str) -> FormError {
    match error {
        FormError::MissingParameter { param } => FormError::MissingParameter {
            param: child_path(path, &param),
        },
        FormError::UnknownParameter { .. } => FormError::UnknownParameter {
            param: path.to_owned(),
        },
        other => place(other, path),
    }
}

/// Gives a value error raised without a path the path of the node it concerns.
///
/// Unlike `locate` this is safe on errors located already, so map and list access use it
/// for errors from seeds, which may come from a `deserialize_with` function after the node's
/// deserializer has finished.
fn place(error: FormError, path: &str) -> FormError {
    match error {
        FormError::InvalidValue {
            param,
            message,
            code,
        } if param.is_empty() => FormError::InvalidValue {
            message: naming(path, &message),
            param: path.to_owned(),
            code,
        },
        other => other,
    }
}

fn naming(path: &str, message: &str) -> String {
    match path {
        "" => format!("Invalid request: {message}"),
        _ => format!("Invalid {path}: {message}"),
    }
}

/// Raised by serde visitors without a path; `locate` adds it.
impl de::Error for FormError {
    fn custom<T: Display>(message: T) -> Self {
        FormError::InvalidValue {
            param: String::new(),
            message: message.to_string(),
            code: CODE_INVALID,
        }
    }

    fn invalid_type(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        de::Error::custom(format_args!("expected {expected}, received {unexpected}"))
    }

    fn invalid_value(unexpected: Unexpected<'_>, expected: &dyn Expected) -> Self {
        de::Error::custom(format_args!("expected {expected}, received {unexpected}"))
    }

    fn invalid_length(length: usize, expected: &dyn Expected) -> Self {
        de::Error::custom(format_args!(
            "expected {expected}, received {length} elements"
        ))
    }

    fn unknown_variant(_variant: &str, expected: &'static [&'static str]) -> Self {
        match expected {
            [] => de::Error::custom("no value is accepted"),
            _ => de::Error::custom(format_args!("must be one of {}", expected.join(", "))),
        }
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        FormError::UnknownParameter {
            param: field.to_owned(),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        FormError::MissingParameter {
            param: field.to_owned(),
        }
    }
}
