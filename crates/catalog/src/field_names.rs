//! The field names of a struct as serde sees them, read from its
//! `Deserialize` implementation: serde passes them to
//! `Deserializer::deserialize_struct`, and this deserializer keeps them and
//! stops there.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::forward_to_deserialize_any;

/// The names of `T`'s fields, or none when `T` does not deserialize as a
/// struct.
pub(crate) fn of<T: Deserialize<'static>>() -> &'static [&'static str] {
    let mut reader = FieldNames::default();
    let _ = T::deserialize(&mut reader);
    reader.names
}

#[derive(Default)]
struct FieldNames {
    names: &'static [&'static str],
}

impl<'de> Deserializer<'de> for &mut FieldNames {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.names = fields;
        Err(de::Error::custom("field names read"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Sample {
        first: String,
        #[serde(rename = "second_name")]
        second: Option<i64>,
    }

    #[test]
    fn reads_the_serialized_names_of_a_struct() {
        assert_eq!(super::of::<Sample>(), ["first", "second_name"]);
    }

    #[test]
    fn a_non_struct_has_none() {
        assert!(super::of::<String>().is_empty());
    }
}
