//! First start: the platform account and its four keys.
//!
//! Runs in one transaction. When two processes start together on one
//! PostgreSQL, the unique index on the platform row lets exactly one of them
//! create it; the other finds it made.

use mercato_core::ids::AccountId;
use mercato_core::time::now_unix;

use crate::accounts::{self, Account, BusinessProfile, Metadata, PLATFORM_TYPE};
use crate::keys::{self, KeyKind, KeyShape};
use crate::{Db, StoreError};

/// Secrets chosen by the operator instead of random ones.
#[derive(Clone, Debug, Default)]
pub struct BootstrapKeys {
    pub test_secret: Option<String>,
    pub live_secret: Option<String>,
}

/// What a first start created; the secrets are shown once and then dropped.
#[derive(Debug)]
pub struct Bootstrapped {
    pub platform: Account,
    /// `(kind and mode, secret, generated here)` for each key made.
    pub keys: Vec<(KeyShape, String, bool)>,
}

/// Creates the platform and its keys unless they exist. `None` when the
/// store was already set up.
pub async fn ensure_platform(
    db: &Db,
    chosen: &BootstrapKeys,
) -> Result<Option<Bootstrapped>, StoreError> {
    if accounts::platform(db.pool()).await?.is_some() {
        return Ok(None);
    }

    let now = now_unix();
    let platform = platform_account(now);
    let mut tx = db.write().await?;
    match accounts::insert(tx.conn(), &platform).await {
        Ok(()) => {}
        Err(StoreError::Database(error)) if StoreError::is_unique_violation(&error) => {
            return Ok(None);
        }
        Err(error) => return Err(error),
    }

    let mut made = Vec::new();
    for shape in bootstrap_shapes() {
        let chosen_secret = match (shape.kind, shape.livemode) {
            (KeyKind::Secret, false) => chosen.test_secret.clone(),
            (KeyKind::Secret, true) => chosen.live_secret.clone(),
            _ => None,
        };
        let generated = chosen_secret.is_none();
        let secret = chosen_secret.unwrap_or_else(|| keys::generate_secret(shape));
        keys::insert(tx.conn(), &platform.id, &secret, shape, now).await?;
        made.push((shape, secret, generated));
    }
    tx.commit().await?;

    Ok(Some(Bootstrapped {
        platform,
        keys: made,
    }))
}

fn platform_account(now: i64) -> Account {
    Account {
        id: AccountId::generate(),
        platform_id: None,
        livemode: false,
        account_type: PLATFORM_TYPE.to_owned(),
        country: "US".to_owned(),
        email: None,
        default_currency: "usd".to_owned(),
        business_profile: BusinessProfile::default(),
        metadata: Metadata::new(),
        created: now,
        updated: now,
    }
}

fn bootstrap_shapes() -> [KeyShape; 4] {
    [
        (KeyKind::Secret, false),
        (KeyKind::Secret, true),
        (KeyKind::Publishable, false),
        (KeyKind::Publishable, true),
    ]
    .map(|(kind, livemode)| KeyShape { kind, livemode })
}
