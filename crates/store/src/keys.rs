//! The `api_keys` table. A key's secret is shown once, when it is made; the
//! store keeps only its SHA-256 and a redacted hint (`sk_test_****abcd`).
//!
//! Keys carry about 190 bits of randomness, so a plain SHA-256 is enough to
//! make the stored hash useless to whoever reads the database, and it lets a
//! request find its key with one indexed lookup.

use std::fmt;

use mercato_core::ids::{random_token, AccountId, ApiKeyId};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::StoreError;

/// Random characters in a generated key, after its prefix.
const SECRET_LEN: usize = 32;

/// What a key may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_`: the whole API.
    Secret,
    /// `rk_`: the API, as restricted keys are (treated like secret keys for
    /// the resources that exist so far).
    Restricted,
    /// `pk_`: only the embedded components.
    Publishable,
}

impl KeyKind {
    pub fn prefix(self) -> &'static str {
        match self {
            KeyKind::Secret => "sk",
            KeyKind::Restricted => "rk",
            KeyKind::Publishable => "pk",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Secret => "secret",
            KeyKind::Restricted => "restricted",
            KeyKind::Publishable => "publishable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "secret" => Some(KeyKind::Secret),
            "restricted" => Some(KeyKind::Restricted),
            "publishable" => Some(KeyKind::Publishable),
            _ => None,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The shape of a key's text: its kind and mode, read from its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyShape {
    pub kind: KeyKind,
    pub livemode: bool,
}

impl KeyShape {
    /// Reads `sk_test_...`, `rk_live_...` and the like.
    pub fn of(secret: &str) -> Option<Self> {
        let (kind, rest) = match secret.split_at_checked(3)? {
            ("sk_", rest) => (KeyKind::Secret, rest),
            ("rk_", rest) => (KeyKind::Restricted, rest),
            ("pk_", rest) => (KeyKind::Publishable, rest),
            _ => return None,
        };
        let livemode = if rest.starts_with("live_") {
            true
        } else if rest.starts_with("test_") {
            false
        } else {
            return None;
        };
        let body = &rest[5..];
        let plausible = !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric());
        plausible.then_some(Self { kind, livemode })
    }

    fn prefix(self) -> String {
        let mode = if self.livemode { "live" } else { "test" };
        format!("{}_{mode}_", self.kind.prefix())
    }
}

/// A key's record; never its secret.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub account_id: AccountId,
    pub livemode: bool,
    pub kind: KeyKind,
    pub redacted: String,
    pub created: i64,
    pub revoked_at: Option<i64>,
}

#[derive(FromRow)]
struct ApiKeyRow {
    id: String,
    account_id: String,
    livemode: i64,
    kind: String,
    redacted: String,
    created: i64,
    revoked_at: Option<i64>,
}

impl From<ApiKeyRow> for ApiKey {
    fn from(row: ApiKeyRow) -> Self {
        Self {
            id: ApiKeyId::from_stored(row.id),
            account_id: AccountId::from_stored(row.account_id),
            livemode: row.livemode != 0,
            kind: KeyKind::parse(&row.kind).unwrap_or(KeyKind::Restricted),
            redacted: row.redacted,
            created: row.created,
            revoked_at: row.revoked_at,
        }
    }
}

const COLUMNS: &str = "id, account_id, livemode, kind, redacted, created, revoked_at";

/// A new random secret of this shape.
pub fn generate_secret(shape: KeyShape) -> String {
    format!("{}{}", shape.prefix(), random_token(SECRET_LEN))
}

/// The hex SHA-256 under which a secret is stored.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The secret with all but its last four characters masked, as error
/// messages and listings show it: `sk_test_****abcd`.
pub fn redact(secret: &str) -> String {
    let prefix_len = recognizable_prefix_len(secret);
    let last4_start = secret.len().saturating_sub(4).max(prefix_len);
    let prefix = secret.get(..prefix_len).unwrap_or_default();
    let last4 = secret.get(last4_start..).unwrap_or_default();
    format!("{prefix}****{last4}")
}

/// The length of a `sk_test_`-like prefix at the start of `secret`, or 0.
fn recognizable_prefix_len(secret: &str) -> usize {
    let kind_known = matches!(secret.get(..3), Some("sk_" | "rk_" | "pk_"));
    let mode_known = matches!(secret.get(3..8), Some("test_" | "live_"));
    if kind_known && mode_known {
        8
    } else {
        0
    }
}

/// Stores a key for `account_id` and returns its record. The secret must have
/// a valid shape (see [`KeyShape::of`]).
pub async fn insert(
    conn: &mut AnyConnection,
    account_id: &AccountId,
    secret: &str,
    shape: KeyShape,
    now: i64,
) -> Result<ApiKey, StoreError> {
    let key = ApiKey {
        id: ApiKeyId::generate(),
        account_id: account_id.clone(),
        livemode: shape.livemode,
        kind: shape.kind,
        redacted: redact(secret),
        created: now,
        revoked_at: None,
    };
    let inserted = sqlx::query(
        "INSERT INTO api_keys (id, account_id, livemode, kind, secret_hash, redacted, created) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(key.id.as_str().to_owned())
    .bind(account_id.as_str().to_owned())
    .bind(i64::from(key.livemode))
    .bind(key.kind.as_str())
    .bind(hash_secret(secret))
    .bind(key.redacted.clone())
    .bind(now)
    .execute(conn)
    .await;
    match inserted {
        Ok(_) => Ok(key),
        Err(error) if StoreError::is_unique_violation(&error) => {
            Err(StoreError::AlreadyExists { what: "key" })
        }
        Err(error) => Err(error.into()),
    }
}

/// The key whose secret this is, revoked or not.
pub async fn find_by_secret(pool: &AnyPool, secret: &str) -> Result<Option<ApiKey>, StoreError> {
    let row: Option<ApiKeyRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM api_keys WHERE secret_hash = $1"
    ))
    .bind(hash_secret(secret))
    .fetch_optional(pool)
    .await?;
    Ok(row.map(ApiKey::from))
}

/// Every key, or every key of one account, oldest first.
pub async fn list(pool: &AnyPool, account_id: Option<&str>) -> Result<Vec<ApiKey>, StoreError> {
    let rows: Vec<ApiKeyRow> = match account_id {
        Some(account_id) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY seq"
            ))
            .bind(account_id.to_owned())
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY seq"))
                .fetch_all(pool)
                .await?
        }
    };
    Ok(rows.into_iter().map(ApiKey::from).collect())
}

/// Marks a key revoked; false when no live key has this id.
pub async fn revoke(conn: &mut AnyConnection, id: &str, now: i64) -> Result<bool, StoreError> {
    let result =
        sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(id.to_owned())
            .execute(conn)
            .await?;
    Ok(result.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_shapes_are_read_from_prefixes() {
        let cases = [
            ("sk_test_abc123", Some((KeyKind::Secret, false))),
            ("sk_live_abc123", Some((KeyKind::Secret, true))),
            ("rk_live_abc", Some((KeyKind::Restricted, true))),
            ("pk_test_abc", Some((KeyKind::Publishable, false))),
            ("sk_prod_abc", None),
            ("sk_test_", None),
            ("sk_test_ab-c", None),
            ("whsec_abc", None),
            ("", None),
        ];
        for (secret, expected) in cases {
            let shape = KeyShape::of(secret).map(|shape| (shape.kind, shape.livemode));
            assert_eq!(shape, expected, "{secret}");
        }
    }

    #[test]
    fn redaction_keeps_prefix_and_last_four() {
        assert_eq!(redact("sk_test_abcdefgh1234"), "sk_test_****1234");
        assert_eq!(redact("sk_test_ab"), "sk_test_****ab");
        assert_eq!(redact("garbage-key-9876"), "****9876");
        assert_eq!(redact("sk_live_with-dash-9876"), "sk_live_****9876");
    }

    #[test]
    fn generated_secrets_have_their_shape() {
        let shape = KeyShape {
            kind: KeyKind::Secret,
            livemode: true,
        };
        let secret = generate_secret(shape);

        assert_eq!(KeyShape::of(&secret), Some(shape));
        assert_eq!(secret.len(), "sk_live_".len() + SECRET_LEN);
    }
}
