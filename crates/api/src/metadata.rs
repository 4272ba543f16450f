//! `metadata` parameters: limits, and the update rule that an empty value
//! removes a key and an empty `metadata=` removes them all.

use mercato_store::accounts::Metadata;

use crate::error::ApiError;
use crate::form::Update;

const MAX_KEYS: usize = 50;
const MAX_KEY_CHARS: usize = 40;
const MAX_VALUE_CHARS: usize = 500;

/// Metadata for a new object: empty values are dropped, limits enforced.
pub fn for_create(given: Option<Metadata>) -> Result<Metadata, ApiError> {
    let metadata: Metadata = given
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
    check(&metadata)?;
    Ok(metadata)
}

/// Metadata after an update of `current`.
pub fn apply_update(current: &Metadata, update: Update<Metadata>) -> Result<Metadata, ApiError> {
    let merged = match update {
        Update::Keep => return Ok(current.clone()),
        Update::Clear => Metadata::new(),
        Update::Set(changes) => {
            let mut merged = current.clone();
            for (key, value) in changes {
                if value.is_empty() {
                    merged.remove(&key);
                } else {
                    merged.insert(key, value);
                }
            }
            merged
        }
    };
    check(&merged)?;
    Ok(merged)
}

fn check(metadata: &Metadata) -> Result<(), ApiError> {
    if metadata.len() > MAX_KEYS {
        return Err(ApiError::invalid_param(
            "metadata",
            format!(
                "Invalid metadata: metadata can have up to {MAX_KEYS} keys, but you passed in {} keys.",
                metadata.len()
            ),
        ));
    }
    for (key, value) in metadata {
        let key_chars = key.chars().count();
        if key_chars > MAX_KEY_CHARS {
            return Err(ApiError::invalid_param(
                format!("metadata[{key}]"),
                format!(
                    "Metadata keys can have up to {MAX_KEY_CHARS} characters, but you passed in a key with {key_chars} characters."
                ),
            ));
        }
        let value_chars = value.chars().count();
        if value_chars > MAX_VALUE_CHARS {
            return Err(ApiError::invalid_param(
                format!("metadata[{key}]"),
                format!(
                    "Metadata values can have up to {MAX_VALUE_CHARS} characters, but you passed in a value with {value_chars} characters."
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> Metadata {
        pairs
            .iter()
            .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
            .collect()
    }

    #[test]
    fn updates_merge_remove_and_clear() {
        let current = metadata(&[("a", "1"), ("b", "2")]);
        let cases = [
            (Update::Keep, metadata(&[("a", "1"), ("b", "2")])),
            (Update::Clear, metadata(&[])),
            (
                Update::Set(metadata(&[("a", ""), ("c", "3")])),
                metadata(&[("b", "2"), ("c", "3")]),
            ),
        ];
        for (update, expected) in cases {
            assert_eq!(apply_update(&current, update).ok(), Some(expected));
        }
    }

    #[test]
    fn limits_are_enforced_with_specific_messages() {
        let too_many: Metadata = (0..51)
            .map(|index| (format!("k{index}"), "v".to_owned()))
            .collect();
        let long_key = metadata(&[(&"k".repeat(41), "v")]);
        let long_value = metadata(&[("k", &"v".repeat(501))]);
        let cases = [
            (too_many, "up to 50 keys, but you passed in 51"),
            (long_key, "a key with 41 characters"),
            (long_value, "a value with 501 characters"),
        ];
        for (given, fragment) in cases {
            let error = for_create(Some(given)).expect_err(fragment);
            assert!(error.message.contains(fragment), "{}", error.message);
        }
    }
}
