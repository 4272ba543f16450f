//! The `accounts` table: the platform account and its connected accounts.
//!
//! The platform account is the single row with `account_type = 'platform'` and
//! no `platform_id`; it exists in both modes. A connected account belongs to
//! one platform and to the mode (test or live) of the key that created it.

use std::collections::BTreeMap;

use mercato_core::ids::AccountId;
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, AnyPool, FromRow};

use crate::list::{Bind, ListQuery, Page, PageRequest};
use crate::StoreError;

/// Free-form key/value pairs a client attaches to an object.
pub type Metadata = BTreeMap<String, String>;

/// The `account_type` of the platform account.
pub const PLATFORM_TYPE: &str = "platform";

/// What the business tells its customers about itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BusinessProfile {
    pub name: Option<String>,
    pub url: Option<String>,
    pub support_email: Option<String>,
    pub product_description: Option<String>,
    pub mcc: Option<String>,
}

/// An account as the store keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct Account {
    pub id: AccountId,
    pub platform_id: Option<AccountId>,
    pub livemode: bool,
    pub account_type: String,
    pub country: String,
    pub email: Option<String>,
    pub default_currency: String,
    pub business_profile: BusinessProfile,
    pub metadata: Metadata,
    pub created: i64,
    pub updated: i64,
}

impl Account {
    pub fn is_platform(&self) -> bool {
        self.platform_id.is_none()
    }
}

const COLUMNS: &str = "id, platform_id, livemode, account_type, country, email, \
    default_currency, business_profile, metadata, created, updated";

#[derive(FromRow)]
struct AccountRow {
    id: String,
    platform_id: Option<String>,
    livemode: i64,
    account_type: String,
    country: String,
    email: Option<String>,
    default_currency: String,
    business_profile: String,
    metadata: String,
    created: i64,
    updated: i64,
}

impl TryFrom<AccountRow> for Account {
    type Error = StoreError;

    fn try_from(row: AccountRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: AccountId::from_stored(row.id),
            platform_id: row.platform_id.map(AccountId::from_stored),
            livemode: row.livemode != 0,
            account_type: row.account_type,
            country: row.country,
            email: row.email,
            default_currency: row.default_currency,
            business_profile: serde_json::from_str(&row.business_profile)?,
            metadata: serde_json::from_str(&row.metadata)?,
            created: row.created,
            updated: row.updated,
        })
    }
}

/// Adds a new account.
pub async fn insert(conn: &mut AnyConnection, account: &Account) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "INSERT INTO accounts ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(account.id.as_str().to_owned())
    .bind(
        account
            .platform_id
            .as_ref()
            .map(|id| id.as_str().to_owned()),
    )
    .bind(i64::from(account.livemode))
    .bind(account.account_type.clone())
    .bind(account.country.clone())
    .bind(account.email.clone())
    .bind(account.default_currency.clone())
    .bind(serde_json::to_string(&account.business_profile)?)
    .bind(serde_json::to_string(&account.metadata)?)
    .bind(account.created)
    .bind(account.updated)
    .execute(conn)
    .await?;
    Ok(())
}

/// Writes back the fields an update may change.
pub async fn update(conn: &mut AnyConnection, account: &Account) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE accounts SET email = $1, default_currency = $2, business_profile = $3, \
         metadata = $4, updated = $5 WHERE id = $6",
    )
    .bind(account.email.clone())
    .bind(account.default_currency.clone())
    .bind(serde_json::to_string(&account.business_profile)?)
    .bind(serde_json::to_string(&account.metadata)?)
    .bind(account.updated)
    .bind(account.id.as_str().to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

/// The account with this id, whoever owns it; callers check ownership.
pub async fn get(pool: &AnyPool, id: &str) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM accounts WHERE id = $1"))
            .bind(id.to_owned())
            .fetch_optional(pool)
            .await?;
    row.map(Account::try_from).transpose()
}

/// The platform account, once bootstrap has created it.
pub async fn platform(pool: &AnyPool) -> Result<Option<Account>, StoreError> {
    let row: Option<AccountRow> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM accounts WHERE account_type = '{PLATFORM_TYPE}'"
    ))
    .fetch_optional(pool)
    .await?;
    row.map(Account::try_from).transpose()
}

/// One page of a platform's connected accounts in one mode.
pub async fn list_connected(
    pool: &AnyPool,
    platform_id: &AccountId,
    livemode: bool,
    page: &PageRequest,
) -> Result<Page<Account>, StoreError> {
    let rows: Page<AccountRow> = ListQuery::new("accounts", COLUMNS)
        .eq("platform_id", Bind::Text(platform_id.as_str().to_owned()))
        .eq("livemode", Bind::Int(i64::from(livemode)))
        .fetch(pool, page)
        .await?;
    let items = rows
        .items
        .into_iter()
        .map(Account::try_from)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        has_more: rows.has_more,
    })
}
