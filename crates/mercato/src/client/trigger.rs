//! `mercato trigger EVENT`: fires a sandbox event by making the API calls
//! that cause it, as a platform's own code would, so the event is real and
//! reaches webhook endpoints and `mercato listen` like any other.
//!
//! Only secret test keys (`sk_test_...`) are accepted. Every supported event
//! is one row of [`TRIGGERS`]: a later capability adds its event with a row
//! and the function that causes it.

use std::future::Future;
use std::pin::Pin;

use anyhow::Context;
use mercato_core::time::now_unix_millis;
use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::client::api::ApiClient;

/// The only key prefix `trigger` accepts.
const TEST_SECRET_KEY_PREFIX: &str = "sk_test_";
/// The file `file.created` uploads.
const SAMPLE_CATALOG_CSV: &[u8] = b"id,title\nsku-1,Mug\n";
const SAMPLE_CATALOG_NAME: &str = "mercato-trigger.csv";
const CATALOG_UPLOAD_PURPOSE: &str = "data_management_manual_upload";

/// What `mercato trigger` was given besides the event.
#[derive(Clone, Debug)]
pub struct TriggerOptions {
    pub api_base: String,
    pub api_key: String,
    /// Act on this connected account (`--stripe-account`).
    pub stripe_account: Option<String>,
}

/// What a trigger did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fired {
    /// The event type fired.
    pub event: &'static str,
    /// The account the event belongs to; `None` is the platform.
    pub account: Option<String>,
    /// One sentence per API call made, naming the objects.
    pub steps: Vec<String>,
}

impl Fired {
    /// The lines to print: each step, then the event.
    pub fn lines(&self) -> Vec<String> {
        let owner = match &self.account {
            Some(account) => format!("account {account}"),
            None => "the platform".to_owned(),
        };
        let mut lines = self.steps.clone();
        lines.push(format!("Trigger succeeded: {} for {owner}", self.event));
        lines
    }
}

/// Why a trigger was refused before any API call.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("unknown event {name:?}; supported events: {}", supported_events().join(", "))]
    UnknownEvent { name: String },
    #[error(
        "trigger fires sandbox events only: use a secret test key (sk_test_...), not a live key"
    )]
    LiveKey,
    #[error("trigger needs a secret test key (sk_test_...)")]
    NotSecretTestKey,
    #[error("--stripe-account {0:?} is not an account id (acct_...)")]
    BadAccount(String),
}

/// The future a trigger's function returns.
type FireFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Fired>> + Send + 'a>>;

/// One supported event: its type, a line of help, and how to cause it.
pub struct Trigger {
    pub event: &'static str,
    pub summary: &'static str,
    fire: for<'a> fn(&'a ApiClient, Option<&'a str>) -> FireFuture<'a>,
}

/// Every event `trigger` can fire.
pub const TRIGGERS: &[Trigger] = &[
    Trigger {
        event: "account.updated",
        summary: "creates a connected account and updates its metadata \
                  (with --stripe-account, updates that account)",
        fire: |api, account| Box::pin(account_updated(api, account)),
    },
    Trigger {
        event: "file.created",
        summary: "uploads a two-line catalog CSV (data_management_manual_upload)",
        fire: |api, account| Box::pin(file_created(api, account)),
    },
];

/// The supported event types, in table order.
pub fn supported_events() -> Vec<&'static str> {
    TRIGGERS.iter().map(|trigger| trigger.event).collect()
}

/// A help paragraph listing the supported events.
pub fn supported_events_help() -> String {
    let mut help = String::from("Supported events:\n");
    for trigger in TRIGGERS {
        help.push_str(&format!("  {:<18} {}\n", trigger.event, trigger.summary));
    }
    help
}

/// Fires `event` with the API calls that cause it.
pub async fn trigger(options: &TriggerOptions, event: &str) -> anyhow::Result<Fired> {
    check_test_key(&options.api_key)?;
    let trigger = TRIGGERS
        .iter()
        .find(|trigger| trigger.event == event)
        .ok_or_else(|| TriggerError::UnknownEvent {
            name: event.to_owned(),
        })?;
    if let Some(account) = &options.stripe_account {
        if !account.starts_with("acct_") {
            return Err(TriggerError::BadAccount(account.clone()).into());
        }
    }

    let api = ApiClient::new(&options.api_base, &options.api_key)?;
    (trigger.fire)(&api, options.stripe_account.as_deref()).await
}

fn check_test_key(api_key: &str) -> Result<(), TriggerError> {
    if api_key.starts_with(TEST_SECRET_KEY_PREFIX) {
        return Ok(());
    }
    if api_key.contains("_live_") {
        return Err(TriggerError::LiveKey);
    }
    Err(TriggerError::NotSecretTestKey)
}

/// `account.updated`: a metadata change on a new connected account, or on
/// `account` when given.
async fn account_updated(api: &ApiClient, account: Option<&str>) -> anyhow::Result<Fired> {
    let mut steps = Vec::new();
    let account_id = match account {
        Some(account) => account.to_owned(),
        None => {
            let created = api
                .post_form(
                    "/v1/accounts",
                    &[
                        ("type", "custom"),
                        ("business_profile[name]", "Triggered test account"),
                    ],
                    None,
                )
                .await
                .context("creating a connected account")?;
            let id = string_field(&created, "id")?;
            steps.push(format!("Created connected account {id}"));
            id
        }
    };

    let marker = now_unix_millis().to_string();
    api.post_form(
        &format!("/v1/accounts/{account_id}"),
        &[("metadata[mercato_trigger]", &marker)],
        None,
    )
    .await
    .with_context(|| format!("updating account {account_id}"))?;
    steps.push(format!(
        "Updated account {account_id}: metadata[mercato_trigger]={marker}"
    ));
    Ok(Fired {
        event: "account.updated",
        account: Some(account_id),
        steps,
    })
}

/// `file.created`: an upload of a small catalog CSV, as `account` when given.
async fn file_created(api: &ApiClient, account: Option<&str>) -> anyhow::Result<Fired> {
    let file = Part::bytes(SAMPLE_CATALOG_CSV)
        .file_name(SAMPLE_CATALOG_NAME)
        .mime_str("text/csv")
        .context("the CSV content type")?;
    let form = Form::new()
        .text("purpose", CATALOG_UPLOAD_PURPOSE)
        .part("file", file);

    let uploaded = api
        .post_multipart("/v1/files", form, account)
        .await
        .context("uploading a file")?;
    let id = string_field(&uploaded, "id")?;
    let size = SAMPLE_CATALOG_CSV.len();
    let step = format!(
        "Uploaded file {id} ({SAMPLE_CATALOG_NAME}, {size} bytes, \
         purpose {CATALOG_UPLOAD_PURPOSE})"
    );
    Ok(Fired {
        event: "file.created",
        account: account.map(str::to_owned),
        steps: vec![step],
    })
}

fn string_field(object: &Value, field: &str) -> anyhow::Result<String> {
    object[field]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("the server's answer has no {field}: {object}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_test_keys_are_accepted() {
        let cases = [
            ("sk_test_abc", true),
            ("sk_live_abc", false),
            ("rk_live_abc", false),
            ("rk_test_abc", false),
            ("pk_test_abc", false),
            ("", false),
        ];
        for (key, accepted) in cases {
            assert_eq!(check_test_key(key).is_ok(), accepted, "{key}");
        }
        assert!(matches!(
            check_test_key("sk_live_x"),
            Err(TriggerError::LiveKey)
        ));
    }

    #[test]
    fn the_table_names_each_event_once() {
        let mut events = supported_events();
        events.sort_unstable();
        events.dedup();

        assert_eq!(events.len(), TRIGGERS.len());
        for trigger in TRIGGERS {
            assert!(supported_events_help().contains(trigger.event));
        }
    }
}
