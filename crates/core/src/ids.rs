//! Typed, prefixed, unguessable object ids (`acct_...`, `file_...`).
//!
//! Every id is its prefix, an underscore and 24 characters drawn from a
//! cryptographic generator over `[0-9A-Za-z]` (about 143 bits), so knowing one
//! id tells nothing about any other. Each object kind has its own type, so an
//! `AccountId` cannot be passed where a `FileId` is expected.

use rand::distr::{Alphanumeric, SampleString};
use serde::{Deserialize, Serialize};

/// Number of random characters after the prefix.
pub const RANDOM_ID_LEN: usize = 24;

/// Random `[0-9A-Za-z]` characters from the thread-local CSPRNG.
pub fn random_token(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::rng(), len)
}

macro_rules! define_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with, underscore included.
            pub const PREFIX: &'static str = concat!($prefix, "_");

            /// A fresh random id.
            pub fn generate() -> Self {
                Self(format!("{}{}", Self::PREFIX, random_token(RANDOM_ID_LEN)))
            }

            /// Accepts `text` when it has this kind's prefix and a plausible body.
            pub fn parse(text: &str) -> Option<Self> {
                let body = text.strip_prefix(Self::PREFIX)?;
                let plausible = !body.is_empty()
                    && body.len() <= 64
                    && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
                plausible.then(|| Self(text.to_owned()))
            }

            /// Wraps a value read back from the store, which only holds valid ids.
            pub fn from_stored(text: String) -> Self {
                Self(text)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

define_id!(
    /// A platform or connected account.
    AccountId,
    "acct"
);
define_id!(
    /// An API key's own record (the key itself is a secret and never an id).
    ApiKeyId,
    "key"
);
define_id!(
    /// An uploaded file.
    FileId,
    "file"
);
define_id!(
    /// A request, echoed in the `Request-Id` header.
    RequestId,
    "req"
);
define_id!(
    /// A durable background job.
    JobId,
    "job"
);
define_id!(
    /// A catalog import.
    ImportSetId,
    "impset"
);
define_id!(
    /// An event: something that happened to an account's objects.
    EventId,
    "evt"
);
define_id!(
    /// A webhook endpoint.
    WebhookEndpointId,
    "we"
);
define_id!(
    /// One attempt to deliver an event to a webhook endpoint.
    WebhookAttemptId,
    "wha"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_carry_their_prefix_and_differ() {
        let first = AccountId::generate();
        let second = AccountId::generate();

        assert!(first.as_str().starts_with("acct_"));
        assert_eq!(first.as_str().len(), "acct_".len() + RANDOM_ID_LEN);
        assert_ne!(first, second);
    }

    #[test]
    fn parse_checks_prefix_and_body() {
        let cases = [
            ("acct_1a2B3c", true),
            ("acct_", false),
            ("file_123", false),
            ("acct_abc def", false),
            ("acct_ab'--", false),
        ];
        for (text, ok) in cases {
            assert_eq!(AccountId::parse(text).is_some(), ok, "{text}");
        }
    }
}
