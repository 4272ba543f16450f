//! Who is calling: the API key (Bearer, or Basic with the key as user name),
//! its account and mode, and the account acted on (`Stripe-Account`).
//!
//! **A key never reaches another tenant's data.** A platform key may act on
//! its own connected accounts of the same mode; any other account named in
//! `Stripe-Account` gets the same 404 as one that does not exist.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use mercato_core::ids::RequestId;
use mercato_core::ids::{AccountId, ApiKeyId};
use mercato_store::accounts::{self, Account};
use mercato_store::events::RequestInfo;
use mercato_store::keys::{self, KeyKind, KeyShape};

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub key_id: ApiKeyId,
    pub key_kind: KeyKind,
    /// The account that owns the key.
    pub key_account_id: AccountId,
    /// The account the request acts on: the key's own, or the connected
    /// account named in `Stripe-Account`.
    pub account: Account,
    pub livemode: bool,
    /// The request's id and `Idempotency-Key`, copied into the events it causes.
    pub request: RequestInfo,
}

impl Caller {
    /// The account acted on.
    pub fn account_id(&self) -> &AccountId {
        &self.account.id
    }

    /// True when the request acts as the platform itself, not for one of its
    /// connected accounts.
    pub fn is_platform(&self) -> bool {
        self.account.is_platform()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::unauthenticated(NO_KEY_MESSAGE))
    }
}

const NO_KEY_MESSAGE: &str = "You did not provide an API key. You need to provide your API key \
    in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY') \
    or Basic auth with the key as the user name (curl -u YOUR_SECRET_KEY:).";

/// Middleware: authenticates the request and stores its [`Caller`].
pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let mut caller = resolve_caller(&state, request.headers()).await?;
    caller.request = RequestInfo {
        id: request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string),
        idempotency_key: request
            .headers()
            .get("idempotency-key")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned),
    };
    tracing::Span::current().record("account", caller.account_id().as_str());
    request.extensions_mut().insert(caller);
    Ok(next.run(request).await)
}

async fn resolve_caller(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let secret = presented_key(headers)?;
    let invalid = || {
        ApiError::unauthenticated(format!(
            "Invalid API Key provided: {}",
            keys::redact(&secret)
        ))
    };

    let shape = KeyShape::of(&secret).ok_or_else(invalid)?;
    let key = keys::find_by_secret(state.db.pool(), &secret)
        .await?
        .filter(|key| key.revoked_at.is_none() && key.livemode == shape.livemode)
        .ok_or_else(invalid)?;
    if key.kind == KeyKind::Publishable {
        return Err(ApiError::forbidden(
            "This API call cannot be made with a publishable API key. Please use a secret API key.",
        ));
    }
    let key_account = accounts::get(state.db.pool(), key.account_id.as_str())
        .await?
        .ok_or_else(invalid)?;

    let account = match headers.get("stripe-account") {
        None => key_account,
        Some(value) => {
            let requested = value.to_str().unwrap_or_default().trim();
            acting_account(state, &key_account, key.livemode, requested).await?
        }
    };
    Ok(Caller {
        key_id: key.id,
        key_kind: key.kind,
        key_account_id: key.account_id,
        account,
        livemode: key.livemode,
        request: RequestInfo::default(),
    })
}

/// The account named in `Stripe-Account`, if this key may act on it.
async fn acting_account(
    state: &AppState,
    key_account: &Account,
    livemode: bool,
    requested: &str,
) -> Result<Account, ApiError> {
    if requested == key_account.id.as_str() {
        return Ok(key_account.clone());
    }
    let not_found = || ApiError::missing("account", requested).with_param("stripe_account");
    if AccountId::parse(requested).is_none() {
        return Err(not_found());
    }
    let account = accounts::get(state.db.pool(), requested)
        .await?
        .ok_or_else(not_found)?;
    let owned =
        account.platform_id.as_ref() == Some(&key_account.id) && account.livemode == livemode;
    if owned {
        Ok(account)
    } else {
        Err(not_found())
    }
}

/// The key from `Authorization: Bearer KEY` or `Basic base64(KEY:)`.
fn presented_key(headers: &HeaderMap) -> Result<String, ApiError> {
    let header = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| ApiError::unauthenticated(NO_KEY_MESSAGE))?;
    let (scheme, credentials) = header.split_once(' ').unwrap_or((header, ""));
    let credentials = credentials.trim();

    let key = if scheme.eq_ignore_ascii_case("bearer") {
        credentials.to_owned()
    } else if scheme.eq_ignore_ascii_case("basic") {
        basic_user(credentials).ok_or_else(|| {
            ApiError::unauthenticated("Invalid Basic authorization header: send the API key as the user name, with an empty password.")
        })?
    } else {
        return Err(ApiError::unauthenticated(format!(
            "Invalid authorization scheme '{scheme}': use Bearer or Basic."
        )));
    };
    if key.is_empty() {
        return Err(ApiError::unauthenticated(NO_KEY_MESSAGE));
    }
    Ok(key)
}

fn basic_user(credentials: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let user = text.split_once(':').map_or(text.as_str(), |(user, _)| user);
    Some(user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers_with(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(authorization) {
            headers.insert("authorization", value);
        }
        headers
    }

    #[test]
    fn keys_are_read_from_bearer_and_basic() {
        let basic = base64::engine::general_purpose::STANDARD.encode("sk_test_abc:");
        let cases = [
            ("Bearer sk_test_abc", Some("sk_test_abc")),
            ("bearer  sk_test_abc ", Some("sk_test_abc")),
            (&format!("Basic {basic}") as &str, Some("sk_test_abc")),
            ("Basic !!!", None),
            ("Token sk_test_abc", None),
            ("Bearer ", None),
            ("", None),
        ];
        for (header, expected) in cases {
            let key = presented_key(&headers_with(header)).ok();
            assert_eq!(key.as_deref(), expected, "{header:?}");
        }
    }
}
