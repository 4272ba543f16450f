//! What every handler can reach: the store, the blob store, the settings,
//! the key that seals stored secrets, and the rate limiter.

use std::sync::Arc;

use mercato_core::secrets::SecretBox;
use mercato_core::Config;
use mercato_store::blobs::BlobStore;
use mercato_store::Db;

use crate::rate_limit::RateLimiter;

/// Shared by every request; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub blobs: BlobStore,
    pub config: Arc<Config>,
    pub secrets: SecretBox,
    pub rate_limiter: Option<Arc<RateLimiter>>,
}

impl AppState {
    pub fn new(db: Db, blobs: BlobStore, secrets: SecretBox, config: Config) -> Self {
        let rate_limiter = RateLimiter::from_config(&config).map(Arc::new);
        Self {
            db,
            blobs,
            config: Arc::new(config),
            secrets,
            rate_limiter,
        }
    }
}
