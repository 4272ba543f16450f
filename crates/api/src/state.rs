//! What every handler can reach: the store, the blob store, the settings and
//! the rate limiter.

use std::sync::Arc;

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
    pub rate_limiter: Option<Arc<RateLimiter>>,
}

impl AppState {
    pub fn new(db: Db, blobs: BlobStore, config: Config) -> Self {
        let rate_limiter = RateLimiter::from_config(&config).map(Arc::new);
        Self {
            db,
            blobs,
            config: Arc::new(config),
            rate_limiter,
        }
    }
}
