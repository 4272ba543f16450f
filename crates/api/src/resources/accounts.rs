//! `/v1/accounts` and `/v1/account`: the platform creates and manages its
//! connected accounts, each a business that sells through agents.

use axum::extract::{Path, State};
use axum::Json;
use mercato_core::ids::AccountId;
use mercato_core::time::now_unix;
use mercato_store::accounts::{self, Account, BusinessProfile, Metadata};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::events;
use crate::expand::refuse_expansion;
use crate::form::Update;
use crate::list::{render_list, ListOptions};
use crate::metadata;
use crate::params::FormParams;
use crate::state::AppState;

/// The kinds of connected account Stripe's API names.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum AccountType {
    Custom,
    Express,
    Standard,
    None,
}

impl AccountType {
    fn as_str(self) -> &'static str {
        match self {
            AccountType::Custom => "custom",
            AccountType::Express => "express",
            AccountType::Standard => "standard",
            AccountType::None => "none",
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BusinessProfileParams {
    name: Option<String>,
    url: Option<String>,
    support_email: Option<String>,
    product_description: Option<String>,
    mcc: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateAccountParams {
    #[serde(rename = "type")]
    account_type: Option<AccountType>,
    country: Option<String>,
    email: Option<String>,
    default_currency: Option<String>,
    business_profile: Option<BusinessProfileParams>,
    metadata: Option<Metadata>,
    expand: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct BusinessProfileUpdate {
    #[serde(default)]
    name: Update<String>,
    #[serde(default)]
    url: Update<String>,
    #[serde(default)]
    support_email: Update<String>,
    #[serde(default)]
    product_description: Update<String>,
    #[serde(default)]
    mcc: Update<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateAccountParams {
    #[serde(default)]
    email: Update<String>,
    default_currency: Option<String>,
    business_profile: Option<BusinessProfileUpdate>,
    #[serde(default)]
    metadata: Update<Metadata>,
    expand: Option<Vec<String>>,
}

/// `POST /v1/accounts`
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    require_platform(&caller)?;
    let params: CreateAccountParams = params.into_typed()?;
    refuse_expansion(params.expand)?;

    let now = now_unix();
    let profile = params.business_profile.unwrap_or_default();
    let account = Account {
        id: AccountId::generate(),
        platform_id: Some(caller.account.id.clone()),
        livemode: caller.livemode,
        account_type: params
            .account_type
            .unwrap_or(AccountType::Custom)
            .as_str()
            .to_owned(),
        country: country(params.country.as_deref())?,
        email: optional_email("email", params.email)?,
        default_currency: currency(params.default_currency.as_deref())?,
        business_profile: BusinessProfile {
            name: checked_text("business_profile[name]", profile.name, 200)?,
            url: checked_url("business_profile[url]", profile.url)?,
            support_email: optional_email(
                "business_profile[support_email]",
                profile.support_email,
            )?,
            product_description: checked_text(
                "business_profile[product_description]",
                profile.product_description,
                5000,
            )?,
            mcc: checked_mcc(profile.mcc)?,
        },
        metadata: metadata::for_create(params.metadata)?,
        created: now,
        updated: now,
    };

    let mut tx = state.db.write().await?;
    accounts::insert(tx.conn(), &account).await?;
    tx.commit().await?;
    tracing::info!(target: "mercato::accounts", account = %account.id, "connected account created");
    Ok(Json(render(&account)))
}

/// `GET /v1/accounts/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let account = visible_account(&state, &caller, &id).await?;
    Ok(Json(render(&account)))
}

/// `GET /v1/account`: the account the key acts on.
pub async fn retrieve_own(caller: Caller, params: FormParams) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    Ok(Json(render(&caller.account)))
}

/// `GET /v1/accounts`: the platform's connected accounts in this mode.
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    require_platform(&caller)?;
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    FormParams(params).expect_no_options()?;

    let page = accounts::list_connected(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &options.page,
    )
    .await?;
    Ok(Json(render_list("/v1/accounts", page, |account| {
        render(&account)
    })))
}

/// `POST /v1/accounts/{id}`
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    let params: UpdateAccountParams = params.into_typed()?;
    refuse_expansion(params.expand.clone())?;
    let mut account = visible_account(&state, &caller, &id).await?;
    let before = render(&account);

    apply_update(&mut account, params)?;
    account.updated = now_unix();
    let after = render(&account);
    let mut tx = state.db.write().await?;
    accounts::update(tx.conn(), &account).await?;
    if let Some(previous) = events::previous_attributes(&before, &after) {
        events::emit(
            &mut tx,
            &caller,
            &account,
            "account.updated",
            after.clone(),
            Some(previous),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Json(after))
}

fn apply_update(account: &mut Account, params: UpdateAccountParams) -> Result<(), ApiError> {
    account.email = optional_email("email", params.email.apply(account.email.take()))?;
    if let Some(currency_code) = params.default_currency {
        account.default_currency = currency(Some(&currency_code))?;
    }
    if let Some(changes) = params.business_profile {
        let profile = &mut account.business_profile;
        profile.name = checked_text(
            "business_profile[name]",
            changes.name.apply(profile.name.take()),
            200,
        )?;
        profile.url = checked_url(
            "business_profile[url]",
            changes.url.apply(profile.url.take()),
        )?;
        profile.support_email = optional_email(
            "business_profile[support_email]",
            changes.support_email.apply(profile.support_email.take()),
        )?;
        profile.product_description = checked_text(
            "business_profile[product_description]",
            changes
                .product_description
                .apply(profile.product_description.take()),
            5000,
        )?;
        profile.mcc = checked_mcc(changes.mcc.apply(profile.mcc.take()))?;
    }
    account.metadata = metadata::apply_update(&account.metadata, params.metadata)?;
    Ok(())
}

/// The account `id` if the caller may see it: itself, or (for the platform)
/// one of its connected accounts in the same mode. Anything else is missing.
async fn visible_account(state: &AppState, caller: &Caller, id: &str) -> Result<Account, ApiError> {
    if id == caller.account_id().as_str() {
        return Ok(caller.account.clone());
    }
    let missing = || ApiError::missing("account", id);
    if !caller.is_platform() || AccountId::parse(id).is_none() {
        return Err(missing());
    }
    let account = accounts::get(state.db.pool(), id)
        .await?
        .ok_or_else(missing)?;
    let owned = account.platform_id.as_ref() == Some(caller.account_id())
        && account.livemode == caller.livemode;
    if owned {
        Ok(account)
    } else {
        Err(missing())
    }
}

fn require_platform(caller: &Caller) -> Result<(), ApiError> {
    if caller.is_platform() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Only the platform can create and list connected accounts; this request acts as a connected account.",
        ))
    }
}

fn country(given: Option<&str>) -> Result<String, ApiError> {
    let code = given.unwrap_or("US").trim().to_ascii_uppercase();
    if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(code)
    } else {
        Err(ApiError::invalid_param(
            "country",
            format!(
                "Invalid country: '{code}' is not a two-letter ISO 3166-1 code such as US or FR."
            ),
        ))
    }
}

fn currency(given: Option<&str>) -> Result<String, ApiError> {
    let code = given.unwrap_or("usd").trim().to_ascii_lowercase();
    if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(code)
    } else {
        Err(ApiError::invalid_param(
            "default_currency",
            format!("Invalid currency: '{code}' is not a three-letter ISO 4217 code such as usd."),
        ))
    }
}

fn optional_email(param: &str, given: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(email) = given
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty())
    else {
        return Ok(None);
    };
    let (local, domain) = email.split_once('@').unwrap_or_default();
    let plausible =
        !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace);
    if plausible && email.len() <= 254 {
        Ok(Some(email))
    } else {
        Err(
            ApiError::invalid_param(param, format!("Invalid email address: {email}"))
                .with_code("email_invalid"),
        )
    }
}

fn checked_text(
    param: &str,
    given: Option<String>,
    max_chars: usize,
) -> Result<Option<String>, ApiError> {
    let Some(text) = given.filter(|text| !text.is_empty()) else {
        return Ok(None);
    };
    let chars = text.chars().count();
    if chars > max_chars {
        return Err(ApiError::invalid_param(
            param,
            format!("Invalid {param}: it may have up to {max_chars} characters, but has {chars}."),
        ));
    }
    Ok(Some(text))
}

fn checked_url(param: &str, given: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(url) = checked_text(param, given, 2048)? else {
        return Ok(None);
    };
    let has_host = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
    if has_host && !url.contains(char::is_whitespace) {
        Ok(Some(url))
    } else {
        Err(
            ApiError::invalid_param(param, format!("Not a valid URL: {url}"))
                .with_code("url_invalid"),
        )
    }
}

fn checked_mcc(given: Option<String>) -> Result<Option<String>, ApiError> {
    match given.filter(|text| !text.is_empty()) {
        None => Ok(None),
        Some(mcc) if mcc.len() == 4 && mcc.bytes().all(|b| b.is_ascii_digit()) => Ok(Some(mcc)),
        Some(mcc) => Err(ApiError::invalid_param(
            "business_profile[mcc]",
            format!("Invalid merchant category code: '{mcc}' must be four digits."),
        )),
    }
}

/// Stripe's Account object, as far as it applies to Mercato.
pub fn render(account: &Account) -> Value {
    let enabled = !account.is_platform() || account.account_type == accounts::PLATFORM_TYPE;
    let profile = &account.business_profile;
    let controller = if account.is_platform() {
        json!({ "type": "account" })
    } else {
        json!({
            "type": "application",
            "is_controller": true,
            "fees": { "payer": "application" },
            "losses": { "payments": "application" },
            "requirement_collection": "application",
            "stripe_dashboard": { "type": "none" },
        })
    };
    json!({
        "id": account.id,
        "object": "account",
        "business_profile": {
            "mcc": profile.mcc,
            "name": profile.name,
            "product_description": profile.product_description,
            "support_email": profile.support_email,
            "support_phone": null,
            "support_url": null,
            "url": profile.url,
        },
        "business_type": null,
        "capabilities": { "card_payments": "active", "transfers": "active" },
        "charges_enabled": enabled,
        "controller": controller,
        "country": account.country,
        "created": account.created,
        "default_currency": account.default_currency,
        "details_submitted": true,
        "email": account.email,
        "external_accounts": {
            "object": "list",
            "data": [],
            "has_more": false,
            "url": format!("/v1/accounts/{}/external_accounts", account.id),
        },
        "metadata": account.metadata,
        "payouts_enabled": enabled,
        "requirements": {
            "currently_due": [],
            "eventually_due": [],
            "past_due": [],
            "pending_verification": [],
            "disabled_reason": null,
        },
        "settings": { "dashboard": { "display_name": profile.name, "timezone": "Etc/UTC" } },
        "type": if account.is_platform() { "standard" } else { account.account_type.as_str() },
    })
}
