//! `mercato keys create|list|revoke`: the operator's key management, done
//! directly on the store.

use anyhow::{bail, Context};
use mercato_core::ids::AccountId;
use mercato_core::time::now_unix;
use mercato_store::keys::{self, KeyKind, KeyShape};
use mercato_store::{accounts, Db};

/// Which keys to make.
#[derive(Clone, Debug)]
pub struct CreateKey {
    /// The account; `None` means the platform.
    pub account: Option<String>,
    pub livemode: bool,
    pub kind: KeyKind,
}

/// Makes a key and returns `(key id, secret)`; the secret is not stored.
pub async fn create(db: &Db, request: &CreateKey) -> anyhow::Result<(String, String)> {
    let account = resolve_account(db, request.account.as_deref()).await?;
    if !account.is_platform() && account.livemode != request.livemode {
        bail!(
            "account {} is a {} account; its keys must be {} keys",
            account.id,
            if account.livemode { "live" } else { "test" },
            if account.livemode { "live" } else { "test" }
        );
    }
    let shape = KeyShape {
        kind: request.kind,
        livemode: request.livemode,
    };
    let secret = keys::generate_secret(shape);

    let mut tx = db.write().await?;
    let key = keys::insert(tx.conn(), &account.id, &secret, shape, now_unix()).await?;
    tx.commit().await?;
    Ok((key.id.to_string(), secret))
}

/// A table of keys, one line each.
pub async fn list(db: &Db, account: Option<&str>) -> anyhow::Result<String> {
    let keys = keys::list(db.pool(), account).await?;
    let mut table = format!(
        "{:<30} {:<30} {:<12} {:<5} {:<22} {}\n",
        "ID", "ACCOUNT", "KIND", "MODE", "KEY", "STATUS"
    );
    for key in keys {
        let status = if key.revoked_at.is_some() {
            "revoked"
        } else {
            "active"
        };
        table.push_str(&format!(
            "{:<30} {:<30} {:<12} {:<5} {:<22} {status}\n",
            key.id,
            key.account_id,
            key.kind.as_str(),
            if key.livemode { "live" } else { "test" },
            key.redacted,
        ));
    }
    Ok(table)
}

/// Revokes a key by its id.
pub async fn revoke(db: &Db, key_id: &str) -> anyhow::Result<()> {
    let mut tx = db.write().await?;
    let revoked = keys::revoke(tx.conn(), key_id, now_unix()).await?;
    tx.commit().await?;
    if !revoked {
        bail!("no active key has the id {key_id}");
    }
    Ok(())
}

async fn resolve_account(db: &Db, given: Option<&str>) -> anyhow::Result<accounts::Account> {
    match given {
        None => accounts::platform(db.pool())
            .await?
            .context("the store has no platform account yet: run `mercato serve` once"),
        Some(id) => {
            AccountId::parse(id)
                .with_context(|| format!("{id} is not an account id (acct_...)"))?;
            accounts::get(db.pool(), id)
                .await?
                .with_context(|| format!("no account {id}"))
        }
    }
}
