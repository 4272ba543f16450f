//! `/v1/catalog/products`: the platform's read view of an account's
//! catalog, as imported. Products are addressed by the feed's own `id`.

use axum::extract::{Path, State};
use axum::Json;
use mercato_catalog::Product;
use mercato_store::catalog::{self, ProductFilter, StoredProduct};
use serde::Deserialize;
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::list::{render_list, ListOptions};
use crate::params::FormParams;
use crate::range::RangeParam;
use crate::state::AppState;

const AVAILABILITIES: &[&str] = &["in_stock", "out_of_stock", "preorder", "backorder"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFilters {
    availability: Option<String>,
    item_group_id: Option<String>,
    updated: Option<RangeParam>,
}

/// `GET /v1/catalog/products`
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    FormParams(mut params): FormParams,
) -> Result<Json<Value>, ApiError> {
    let options = ListOptions::take(&mut params)?;
    options.expand.ensure_only(&[])?;
    let filters: ListFilters = FormParams(params).into_typed()?;
    if let Some(availability) = filters
        .availability
        .as_deref()
        .filter(|value| !AVAILABILITIES.contains(value))
    {
        return Err(ApiError::invalid_param(
            "availability",
            format!(
                "Invalid availability {availability}: must be one of {}",
                AVAILABILITIES.join(", ")
            ),
        ));
    }
    let filter = ProductFilter {
        availability: filters.availability,
        item_group_id: filters.item_group_id,
        updated: filters
            .updated
            .map(|range| range.comparisons("updated"))
            .transpose()?
            .unwrap_or_default(),
    };
    let page = catalog::list(
        state.db.pool(),
        caller.account_id(),
        caller.livemode,
        &filter,
        &options.page,
    )
    .await?;
    Ok(Json(render_list("/v1/catalog/products", page, |product| {
        render(&product)
    })))
}

/// `GET /v1/catalog/products/{id}`
pub async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: FormParams,
) -> Result<Json<Value>, ApiError> {
    params.expect_no_options()?;
    let product = catalog::get(state.db.pool(), caller.account_id(), caller.livemode, &id)
        .await?
        .ok_or_else(|| ApiError::missing("catalog.product", &id))?;
    Ok(Json(render(&product)))
}

/// The `catalog.product` object: the cleaned feed fields (absent ones as
/// `null`), the current stock, then Mercato's fields.
pub fn render(product: &StoredProduct) -> Value {
    let mut rendered = product.data.clone();
    if let Value::Object(fields) = &mut rendered {
        for name in Product::field_names() {
            fields.entry(*name).or_insert(Value::Null);
        }
        fields.insert(
            "availability".into(),
            Value::from(product.availability.clone()),
        );
        fields.insert(
            "inventory_quantity".into(),
            Value::from(product.inventory_quantity),
        );
        fields.insert("object".into(), Value::from("catalog.product"));
        fields.insert("livemode".into(), Value::from(product.livemode));
        fields.insert("created".into(), Value::from(product.created));
        fields.insert("updated".into(), Value::from(product.updated));
    }
    rendered
}
